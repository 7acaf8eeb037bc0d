package office_test

// The notification path end to end, against a real PostgreSQL: a payment
// at the PayBy sandbox, its notification POSTed to the office's handler,
// recorded in the site store and announced (NOTIFY), heard by the lane
// (LISTEN) and fed to its runner, which opens the barrier. Polling is
// pushed out of the way, so the barrier opens by the notification alone.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/metrics/metricstest"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/station"
)

// stamps records when each order's notification reached the office and
// when the lane's runner received it, and where the runner first learnt
// that each order was paid.
type stamps struct {
	mu       sync.Mutex
	posted   map[string]time.Time
	received map[string]time.Time
	paidBy   map[string]lane.Source
}

func (s *stamps) post(no string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.posted[no]; !ok {
		s.posted[no] = at
	}
}

func (s *stamps) trace(_ time.Time, ev lane.Event, _ []lane.Command, _ lane.State, _ error) {
	now := time.Now()
	u, ok := ev.(lane.OrderUpdate)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, seen := s.received[u.No]; !seen && u.Source == lane.SourceNotification {
		s.received[u.No] = now
	}
	if _, seen := s.paidBy[u.No]; !seen && u.State.Status == lane.OrderPaid {
		s.paidBy[u.No] = u.Source
	}
}

// paidSource is where the runner first learnt that order no was paid.
func (s *stamps) paidSource(no string) (lane.Source, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	src, ok := s.paidBy[no]
	return src, ok
}

func (s *stamps) latency(no string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok1 := s.posted[no]
	r, ok2 := s.received[no]
	return r.Sub(p), ok1 && ok2
}

func TestNotificationReachesWaitingLane(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	// A speed target is measured, not asserted (a loaded CI machine is
	// not the kiosk): by default 20 visits prove the path, each checked
	// to have been paid for the runner by the notification, not by a poll.
	// EXITLANE_MEASURE=1 runs the 200 visits the docs report
	// (docs/metrics.md).
	runs := 20
	if os.Getenv("EXITLANE_MEASURE") != "" && !raceBuild {
		runs = 200
	}
	url := pgtest.NewDB(t)
	store := migrated(t, url)
	rig := simtest.New(t, "1s")
	pub, err := payby.LoadPublicKey(filepath.Join(rig.Dir, "payby.pub"))
	if err != nil {
		t.Fatal(err)
	}
	st := &stamps{posted: map[string]time.Time{}, received: map[string]time.Time{}, paidBy: map[string]lane.Source{}}
	h := office.NotifyHandler(store, pub, office.NotifyOptions{})
	// The office's handler, with the time each notification arrived.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		raw, _ := io.ReadAll(r.Body)
		var n struct {
			AcquireOrder struct {
				MerchantOrderNo string `json:"merchantOrderNo"`
			} `json:"acquireOrder"`
		}
		json.Unmarshal(raw, &n) // unverified: only to stamp the time
		st.post(n.AcquireOrder.MerchantOrderNo, at)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SiteStore.URL = url
	cfg.PayBy.NotifyURL = srv.URL + "/payby/notify"
	// Notifications only: the lane would poll in 10 minutes. A short
	// "opened" screen keeps 200 visits quick; the barrier still keeps
	// 300 ms between pulses, so they take about 90 s.
	cfg.PayBy.PollInterval = 10 * time.Minute
	cfg.Lane.Opened = 20 * time.Millisecond
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := startLane(t, cfg, station.Options{Logger: simtest.Logger(), Trace: st.trace, MetricsListener: mln})
	simtest.WaitFor(t, "lane ready", 10*time.Second, func() bool {
		s := r.Snapshot()
		return s.Ready && s.Health.Relay == lane.DeviceOK && s.Health.Scanner == lane.DeviceOK
	})
	simtest.WaitFor(t, "listening", 10*time.Second, func() bool {
		return metricstest.Scrape(t, "http://"+mln.Addr().String()+"/metrics")["exitlane_store_listening"] == 1
	})

	var lat []time.Duration
	for i := range runs {
		serial := uint64(5000 + i)
		no := fmt.Sprintf("GRG01-X1-%d-1", serial)
		simtest.WaitFor(t, "idle", 10*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
		if err := rig.Scanner.Send(rig.Ticket(t, serial, 2*time.Hour+10*time.Minute)); err != nil {
			t.Fatal(err)
		}
		simtest.WaitFor(t, "QR "+no, 10*time.Second, func() bool {
			s := r.Snapshot()
			return s.MerchantOrderNo == no && s.TokenURL != ""
		})
		if err := rig.Sandbox.Pay(no); err != nil {
			t.Fatal(err)
		}
		simtest.WaitFor(t, "pulse "+no, 10*time.Second, func() bool { n, _ := rig.Pulses(); return n == i+1 })
		d, ok := st.latency(no)
		if !ok {
			t.Fatalf("run %d: no notification timing for %s", i, no)
		}
		// The notification, not the 10-minute poll, told the runner of
		// the payment that opened the barrier.
		if src, ok := st.paidSource(no); !ok || src != lane.SourceNotification {
			t.Fatalf("run %d: the runner learnt %s was paid from %v (%t), want the notification", i, no, src, ok)
		}
		lat = append(lat, d)
	}
	slices.Sort(lat)
	median, p99 := lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
	t.Logf("notification, office POST to the lane's runner, %d runs: median %v, p99 %v, max %v",
		runs, median.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	ns, err := store.Notifications(context.Background(), fmt.Sprintf("GRG01-X1-%d-1", 5000))
	if err != nil || len(ns) != 1 || ns[0].Status != "PAID_SUCCESS" {
		t.Errorf("stored: %+v %v", ns, err)
	}

	// The lane's connection is cut while the driver pays: the lane listens
	// again (after 200 ms) and catches up with what it missed.
	simtest.WaitFor(t, "idle", 10*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	no := "GRG01-X1-9001-1"
	rig.Scanner.Send(rig.Ticket(t, 9001, 2*time.Hour+10*time.Minute))
	// The QR (TokenURL) shows once the sandbox has the order; the number
	// alone is published while it is being placed.
	simtest.WaitFor(t, "QR "+no, 10*time.Second, func() bool {
		s := r.Snapshot()
		return s.MerchantOrderNo == no && s.TokenURL != ""
	})
	var cut int
	if err := store.Pool().QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%payby%' AND pid <> pg_backend_pid()`).Scan(&cut); err != nil || cut != 1 {
		t.Fatalf("cut %d listeners: %v", cut, err)
	}
	if err := rig.Sandbox.Pay(no); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "pulse after catching up", 10*time.Second, func() bool { n, _ := rig.Pulses(); return n == runs+1 })
	if d, ok := st.latency(no); !ok {
		t.Fatal("the missed notification did not reach the runner")
	} else {
		t.Logf("a notification missed while not listening reached the runner after %v", d.Round(time.Millisecond))
	}
}

// startLane opens and runs a station; it stops at the test's cleanup.
func startLane(t *testing.T, cfg *config.Config, o station.Options) *lane.Runner {
	t.Helper()
	s, err := station.Open(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(context.Background())
	}()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the station did not stop within 10s")
		}
	})
	return s.Runner()
}
