package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/payby"
)

// memJournal accepts every record but the ones refuse names.
type memJournal struct {
	lane.Journal // nil: only Record is called
	refuse       func(lane.Record) error
	got          []lane.Record
}

func (j *memJournal) Record(_ context.Context, r lane.Record) error {
	if j.refuse != nil {
		if err := j.refuse(r); err != nil {
			return err
		}
	}
	j.got = append(j.got, r)
	return nil
}

func TestJournalCounts(t *testing.T) {
	m := NewLane("GRG01", "X1")
	mem := &memJournal{refuse: func(r lane.Record) error {
		if x, ok := r.(lane.StatusRec); ok && x.No == "OTHER-1" {
			return lane.ErrUnknownOrder
		}
		return nil
	}}
	j := m.Journal(mem)
	ctx := context.Background()

	paid := lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: 2000}
	for _, r := range []lane.Record{
		lane.VisitRec{Visit: 1, Quote: lane.Quote{Fee: 2000, Due: 2000}},
		lane.OrderRec{Visit: 1, No: "A-1", Amount: 2000},
		lane.StatusRec{No: "A-1", State: lane.OrderState{Status: lane.OrderCreated}, Source: lane.SourceCreate},
		lane.StatusRec{No: "A-1", State: lane.OrderState{Status: lane.OrderCreated}, Source: lane.SourcePoll},
		lane.StatusRec{No: "A-1", State: paid, Source: lane.SourceNotification},
		lane.ExitRec{Visit: 1, Cause: lane.CausePaid, Amount: 2000, No: "A-1", Auth: "a1", Paid: &lane.StatusRec{No: "A-1", State: paid}},
		lane.StatusRec{No: "A-1", State: paid, Source: lane.SourcePoll}, // seen again: counts nothing
		lane.StatusRec{No: "OTHER-1", State: paid},                      // refused by the journal
		lane.PulseStartRec{Auth: "a1"},
		lane.PulseRec{Auth: "a1", OK: true},
		lane.VisitRec{Visit: 2, Refused: lane.NoticeForged},
		lane.VisitRec{Visit: 3, Quote: lane.Quote{Fee: 500, Due: 0, Free: lane.FreeGrace}},
		lane.ExitRec{Visit: 3, Cause: lane.CauseGrace, Auth: "a3"},
		lane.PulseRec{Auth: "a3", OK: false, Err: "relay"},
		lane.VisitRec{Visit: 4, Quote: lane.Quote{Fee: 1000, Due: 1000}},
		lane.VisitEndRec{Visit: 4, Outcome: "cancelled"},
		lane.OpenRec{Auth: "m1", Cause: lane.CauseManual, Attendant: "ali", Reason: "test"},
		lane.AuditRec{Attendant: "ali", Action: "pin_wrong"},
		lane.AuditRec{Attendant: "ali", Action: "pin_ok"},
		lane.AuditRec{Attendant: "ali", Action: "manual_open"},
		lane.RefundRec{RefundNo: "R1", No: "A-1", Amount: 500, Status: lane.RefundPending},
		lane.RefundRec{RefundNo: "R1", No: "A-1", Amount: 500, Status: lane.RefundDone},
	} {
		err := j.Record(ctx, r)
		if err != nil && !errors.Is(err, lane.ErrUnknownOrder) {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"visits paid", testutil.ToFloat64(m.visits.WithLabelValues("paid")), 1},
		{"visits grace", testutil.ToFloat64(m.visits.WithLabelValues("grace")), 1},
		{"visits forged", testutil.ToFloat64(m.visits.WithLabelValues("forged")), 1},
		{"visits cancelled", testutil.ToFloat64(m.visits.WithLabelValues("cancelled")), 1},
		{"fees", testutil.ToFloat64(m.fees), 3000},
		{"exit fils paid", testutil.ToFloat64(m.exitFils.WithLabelValues("paid")), 2000},
		{"collected", testutil.ToFloat64(m.collected), 2000},
		{"orders placed", testutil.ToFloat64(m.orders.WithLabelValues("placed")), 1},
		{"orders created", testutil.ToFloat64(m.orders.WithLabelValues("created")), 1},
		{"orders paid", testutil.ToFloat64(m.orders.WithLabelValues("paid")), 1},
		{"pulses ok", testutil.ToFloat64(m.pulses.WithLabelValues("ok")), 1},
		{"pulses failed", testutil.ToFloat64(m.pulses.WithLabelValues("failed")), 1},
		{"openings manual", testutil.ToFloat64(m.openings.WithLabelValues("manual")), 1},
		{"openings paid", testutil.ToFloat64(m.openings.WithLabelValues("paid")), 1},
		{"logins ok", testutil.ToFloat64(m.logins.WithLabelValues("ok")), 1},
		{"logins wrong", testutil.ToFloat64(m.logins.WithLabelValues("wrong_pin")), 1},
		{"audit manual_open", testutil.ToFloat64(m.audit.WithLabelValues("manual_open")), 1},
		{"refunded", testutil.ToFloat64(m.refunded), 500},
		{"refunds pending", testutil.ToFloat64(m.refunds.WithLabelValues("pending")), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if len(mem.got) != 21 {
		t.Errorf("journal got %d records, want 21 (every one but the refused)", len(mem.got))
	}
}

func TestSeenOrdersForgetsOldest(t *testing.T) {
	s := seenOrders{max: 2}
	if !s.first("a", "paid") || s.first("a", "paid") || !s.first("b", "paid") || !s.first("c", "paid") {
		t.Fatal("first")
	}
	if len(s.by) != 2 || !s.first("a", "paid") {
		t.Fatalf("oldest not forgotten: %v", s.by)
	}
}

func TestObservePayBy(t *testing.T) {
	m := NewLane("GRG01", "X1")
	if r, f := m.PayBy(); !r.IsZero() || !f.IsZero() {
		t.Fatal("times before any attempt")
	}
	m.ObservePayBy(payby.Attempt{Op: "create order", N: 1, Took: 30 * time.Millisecond, Code: "0"})
	m.ObservePayBy(payby.Attempt{Op: "get order", N: 1, Took: 20 * time.Millisecond, Code: "62004"})
	m.ObservePayBy(payby.Attempt{Op: "get order", N: 1, Took: 5 * time.Second, Code: "transport", Failed: true})
	if n := testutil.CollectAndCount(m.paybyDur); n != 3 {
		t.Errorf("%d histogram series, want 3 (create ok, get refused, get failed)", n)
	}
	if v := testutil.ToFloat64(m.paybyErr.WithLabelValues("get_order", "transport")); v != 1 {
		t.Errorf("transport errors %v", v)
	}
	if v := testutil.ToFloat64(m.paybyErr.WithLabelValues("get_order", "62004")); v != 1 {
		t.Errorf("62004 errors %v", v)
	}
	r, f := m.PayBy()
	if r.IsZero() || f.IsZero() || f.Before(r) {
		t.Errorf("reached %v failed %v", r, f)
	}
}

func TestWatchCountsTransitions(t *testing.T) {
	m := NewLane("GRG01", "X1")
	ch := make(chan lane.Snapshot, 8)
	ok := lane.Health{Scanner: lane.DeviceOK, Relay: lane.DeviceOK, Loop: lane.DeviceAbsent, PayBy: lane.DeviceOK, Ledger: lane.DeviceOK}
	down := ok
	down.Relay = lane.DeviceDown
	ch <- lane.Snapshot{State: lane.Idle, Health: ok}
	ch <- lane.Snapshot{State: lane.Fault, Notice: lane.NoticeDeviceFault, Health: down}
	ch <- lane.Snapshot{State: lane.Fault, Notice: lane.NoticeDeviceFault, Health: down} // still: counts nothing
	ch <- lane.Snapshot{State: lane.Idle, Health: ok}
	ch <- lane.Snapshot{State: lane.Fault, Notice: lane.NoticeBarrierFault, Health: ok}
	close(ch)
	m.Watch(context.Background(), ch)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"relay down", testutil.ToFloat64(m.downs.WithLabelValues("relay")), 1},
		{"device faults", testutil.ToFloat64(m.faults.WithLabelValues("device_fault")), 1},
		{"barrier faults", testutil.ToFloat64(m.faults.WithLabelValues("barrier_fault")), 1},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func TestHandlerServesSnapshotAndStore(t *testing.T) {
	m := NewLane("GRG01", "X1")
	snap := lane.Snapshot{State: lane.FeeDue, LaneOpen: true, Ready: true, Unresolved: 2,
		Health: lane.Health{Scanner: lane.DeviceOK, Relay: lane.DeviceDown, Loop: lane.DeviceAbsent, PayBy: lane.DeviceOK, Ledger: lane.DeviceOK, ClockSkew: 3 * time.Second}}
	m.Snapshots(func() lane.Snapshot { return snap })
	m.Store(func(context.Context) (Store, error) {
		return Store{Configured: true, Up: true, Backlog: 7, Lag: 90 * time.Second}, nil
	})
	relayUp := true
	h := Handler(m.Registry(), []Check{
		{Name: "ledger", Check: func(context.Context) error { return nil }},
		{Name: "relay", Check: func(context.Context) error {
			if !relayUp {
				return errors.New("relay is down")
			}
			return nil
		}},
	})
	code, body := scrape(t, h, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`exitlane_lane_state{lane="X1",site="GRG01",state="fee_due"} 1`,
		`exitlane_lane_state{lane="X1",site="GRG01",state="idle"} 0`,
		`exitlane_device_up{device="relay",lane="X1",site="GRG01"} 0`,
		`exitlane_device_up{device="scanner",lane="X1",site="GRG01"} 1`,
		`exitlane_payby_clock_skew_seconds{lane="X1",site="GRG01"} 3`,
		`exitlane_unresolved{lane="X1",site="GRG01"} 2`,
		`exitlane_store_replay_backlog{lane="X1",site="GRG01"} 7`,
		`exitlane_store_replication_lag_seconds{lane="X1",site="GRG01"} 90`,
		`exitlane_store_up{lane="X1",site="GRG01"} 1`,
		`process_start_time_seconds`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, `device="loop"`) {
		t.Error("an absent loop is reported")
	}

	code, body = scrape(t, h, "/healthz")
	if code != http.StatusOK || !strings.Contains(body, `"alive":true`) {
		t.Errorf("/healthz: %d %s", code, body)
	}
	code, body = scrape(t, h, "/readyz")
	if code != http.StatusOK {
		t.Errorf("/readyz: %d %s", code, body)
	}
	relayUp = false
	code, body = scrape(t, h, "/readyz")
	var rd Readiness
	if err := json.Unmarshal([]byte(body), &rd); err != nil {
		t.Fatal(err)
	}
	if code != http.StatusServiceUnavailable || rd.Ready || len(rd.Failing) != 1 || rd.Failing[0] != "relay" ||
		len(rd.Checks) != 2 || !rd.Checks[0].OK || rd.Checks[1].Detail != "relay is down" {
		t.Errorf("/readyz with the relay down: %d %s", code, body)
	}
	if code, _ := scrape(t, h, "/other"); code != http.StatusNotFound {
		t.Errorf("/other: %d", code)
	}
}

func TestNotificationsWrap(t *testing.T) {
	o := NewOffice("GRG01")
	h := o.Notifications.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte("SUCCESS")) // implicit 200
		case "/unsigned":
			http.Error(w, "bad signature", http.StatusUnauthorized)
		case "/fail":
			http.Error(w, "not recorded", http.StatusInternalServerError)
		}
	}))
	for _, p := range []string{"/ok", "/ok", "/unsigned", "/fail"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, p, nil))
	}
	n := o.Notifications
	if v := testutil.ToFloat64(n.received); v != 4 {
		t.Errorf("received %v", v)
	}
	if v := testutil.ToFloat64(n.rejected.WithLabelValues("bad_signature")); v != 1 {
		t.Errorf("bad signature %v", v)
	}
	if v := testutil.ToFloat64(n.rejected.WithLabelValues("not_recorded")); v != 1 {
		t.Errorf("not recorded %v", v)
	}
	if v := testutil.ToFloat64(n.rejected.WithLabelValues("malformed")); v != 0 {
		t.Errorf("malformed %v", v)
	}
}

func TestServerStops(t *testing.T) {
	s, err := Listen("127.0.0.1:0", nil, Handler(NewOffice("S").Registry(), nil))
	if err != nil {
		t.Fatal(err)
	}
	s.Serve()
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get("http://" + s.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	s.Shutdown(2 * time.Second)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get("http://" + s.Addr().String() + "/healthz"); err == nil {
		t.Fatal("still serving after shutdown")
	}
	// A server never served closes its listener.
	s2, err := Listen("127.0.0.1:0", nil, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
}
