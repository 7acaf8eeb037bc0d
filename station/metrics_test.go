package station_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/metrics/metricstest"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/station"
)

// readyz returns /readyz's status and body.
func readyz(t *testing.T, base string) (int, metrics.Readiness) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	res, err := c.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var rd metrics.Readiness
	if err := json.Unmarshal(b, &rd); err != nil {
		t.Fatalf("/readyz body %q: %v", b, err)
	}
	return res.StatusCode, rd
}

// TestMetricsAndReadiness scrapes a lane's /metrics after a paid visit
// and checks the counters, then unplugs the relay: /readyz says 503 and
// names it.
func TestMetricsAndReadiness(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	r, _ := start(t, cfg, station.Options{Logger: simtest.Logger(), MetricsListener: ln})
	ctx := context.Background()
	simtest.WaitFor(t, "ready", 10*time.Second, func() bool {
		code, _ := readyz(t, base)
		return code == http.StatusOK
	})
	_, rd := readyz(t, base)
	var names []string
	for _, c := range rd.Checks {
		names = append(names, c.Name)
	}
	if len(names) != 4 || names[0] != "ledger" || names[1] != "scanner" || names[2] != "relay" || names[3] != "payby" {
		t.Errorf("checks %v, want ledger scanner relay payby (no loop, no store configured)", names)
	}

	// A paid visit: 2 h 10 min is AED 20.00.
	rig.Scanner.Send(rig.Ticket(t, 2001, 2*time.Hour+10*time.Minute))
	no := "GRG01-X1-2001-1"
	simtest.WaitFor(t, "QR", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	if err := rig.Sandbox.Pay(no); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "pulse", 5*time.Second, func() bool { n, _ := rig.Pulses(); return n == 1 })
	simtest.WaitFor(t, "pulse recorded", 5*time.Second, func() bool {
		return metricstest.Scrape(t, base+"/metrics")[`exitlane_pulses_total{result="ok"}`] == 1
	})
	// An attendant logs in at the lane (the admin screen audits it).
	if err := r.Audit(ctx, "A01", "pin_wrong", "wrong PIN 1 of 5"); err != nil {
		t.Fatal(err)
	}
	if err := r.Audit(ctx, "A01", "pin_ok", ""); err != nil {
		t.Fatal(err)
	}
	m := metricstest.Scrape(t, base+"/metrics")
	m.Want(t, map[string]float64{
		`exitlane_visits_total{outcome="paid"}`:                                     1,
		`exitlane_fees_fils_total`:                                                  2000,
		`exitlane_exit_fils_total{cause="paid"}`:                                    2000,
		`exitlane_collected_fils_total`:                                             2000,
		`exitlane_openings_total{cause="paid"}`:                                     1,
		`exitlane_orders_total{status="placed"}`:                                    1,
		`exitlane_orders_total{status="created"}`:                                   1,
		`exitlane_orders_total{status="paid"}`:                                      1,
		`exitlane_pulses_total{result="ok"}`:                                        1,
		`exitlane_pulses_total{result="failed"}`:                                    0,
		`exitlane_admin_logins_total{result="ok"}`:                                  1,
		`exitlane_admin_logins_total{result="wrong_pin"}`:                           1,
		`exitlane_payby_call_duration_seconds_count{op="create_order",result="ok"}`: 1,
		`exitlane_device_up{device="relay"}`:                                        1,
		`exitlane_device_up{device="scanner"}`:                                      1,
		`exitlane_device_up{device="payby"}`:                                        1,
		`exitlane_device_up{device="ledger"}`:                                       1,
		`exitlane_lane_open`:                                                        1,
		`exitlane_lane_ready`:                                                       1,
		`exitlane_notifications_rejected_total{reason="bad_signature"}`:             0,
	})
	if m[`exitlane_payby_call_duration_seconds_count{op="get_order",result="ok"}`] < 1 {
		t.Error("no get order call counted (the lane polls every second)")
	}
	if _, ok := m["process_start_time_seconds"]; !ok {
		t.Error("no process figures")
	}
	if _, ok := m["exitlane_store_up"]; ok {
		t.Error("store figures without a site store")
	}

	// The relay is unplugged: not ready, and the body says which part.
	rig.Relay.Unplug()
	var code int
	simtest.WaitFor(t, "not ready", 10*time.Second, func() bool {
		code, rd = readyz(t, base)
		return code == http.StatusServiceUnavailable
	})
	if len(rd.Failing) != 1 || rd.Failing[0] != "relay" || rd.Ready {
		t.Fatalf("readiness with the relay unplugged: %+v", rd)
	}
	for _, c := range rd.Checks {
		if c.Name == "relay" && c.Detail != "relay is down" {
			t.Errorf("relay detail %q", c.Detail)
		}
	}
	// The transitions are counted by a watcher of the snapshots: wait for it.
	simtest.WaitFor(t, "fault counted", 5*time.Second, func() bool {
		m := metricstest.Scrape(t, base+"/metrics")
		return m[`exitlane_faults_total{kind="device_fault"}`] == 1 && m[`exitlane_device_down_total{device="relay"}`] == 1
	})
	metricstest.Scrape(t, base+"/metrics").Want(t, map[string]float64{
		`exitlane_device_up{device="relay"}`:         0,
		`exitlane_device_down_total{device="relay"}`: 1,
	})
	if err := rig.Relay.Replug(); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "ready again", 15*time.Second, func() bool {
		code, _ := readyz(t, base)
		return code == http.StatusOK
	})
	res, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", res.StatusCode)
	}

}
