package main

// End-to-end tests of the wired lane: the real ledger, ticket checker,
// PayBy client against the PayBy sandbox on loopback, and the barrier and
// scanner code over pseudo-terminals driven by the simulators.

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
	"github.com/exitlane/exitlane/sim"
	"github.com/exitlane/exitlane/ticket"
)

// simRig is a sandbox, a relay emulator and a scanner emulator, with a
// config file pointing the lane at them.
type simRig struct {
	dir     string
	cfgPath string
	sb      *sandbox.Server
	relay   *sim.Relay
	scanner *sim.Scanner
	issuer  *ticket.Signed
}

func newSimRig(t *testing.T, poll string) *simRig {
	t.Helper()
	return newSimRigWith(t, poll, "lcus", "")
}

// newSimRigWith uses relay board and appends extra TOML (with %[1]s for
// the relay's pty path).
func newSimRigWith(t *testing.T, poll, board, extra string) *simRig {
	t.Helper()
	dir := t.TempDir()
	merch, err := payby.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sbKey, err := payby.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mpem, _ := payby.EncodePrivateKey(merch)
	ppem, _ := payby.EncodePublicKey(&sbKey.PublicKey)
	write("merchant.key", mpem)
	write("payby.pub", ppem)
	tkey := []byte("0123456789abcdef0123456789abcdef")
	write("ticket.key", []byte(hex.EncodeToString(tkey)+"\n"))

	sb, err := sandbox.New(sandbox.Options{Key: sbKey, MerchantKey: &merch.PublicKey, NotifyScale: 3600})
	if err != nil {
		t.Fatal(err)
	}
	base, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	relay, err := sim.NewRelay(board, sim.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	sc, err := sim.NewScanner(sim.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })

	cfg := fmt.Sprintf(`
[site]
id = "GRG01"
lane = "X1"
name = "Test Garage"
merchant = "Test Parking"
timezone = "Asia/Dubai"
[ticket]
key_file = "ticket.key"
[tariff]
grace = "15m"
exit_grace = "20m"
lost_fee = "150.00"
[[tariff.tables]]
name = "all week"
first_period = "1h"
first_price = "10.00"
increment = "1h"
increment_price = "5.00"
cap = "50.00"
[[tariff.validations]]
code = "CINEMA"
name = "Cinema, 2 hours"
time = "2h"
[payby]
base_url = %q
partner_id = "200000000888"
private_key_file = "merchant.key"
public_key_file = "payby.pub"
poll_interval = %q
pay_window = "3m"
timeout = "5s"
[scanner]
port = %q
dedup = "1s"
[relay]
port = %q
board = %q
pulse = "100ms"
[ledger]
path = "lane.db"
[lane]
notice = "2s"
opened = "2s"
`, base+sandbox.APIPrefix, poll, sc.Path(), relay.Path(), board)
	if extra != "" {
		cfg += fmt.Sprintf(extra, relay.Path())
	}
	cfgPath := write("lane.toml", []byte(cfg))
	issuer, err := ticket.NewSigned("GRG01", tkey, ticket.DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	return &simRig{dir: dir, cfgPath: cfgPath, sb: sb, relay: relay, scanner: sc, issuer: issuer}
}

func (s *simRig) ticket(t *testing.T, serial uint64, ago time.Duration) string {
	t.Helper()
	code, err := s.issuer.Issue("E1", serial, time.Now().Add(-ago))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// pulses counts relay closures of channel 1.
func (s *simRig) pulses() (n int, last time.Time) {
	for _, c := range s.relay.Timeline() {
		if c.Channel == 1 && c.On {
			n++
			last = c.At
		}
	}
	return n, last
}

// traceTimes records when each kind of step happened (for latencies).
type traceTimes struct {
	mu      sync.Mutex
	scanned time.Time
	create  time.Time
}

func (tt *traceTimes) trace(at time.Time, ev lane.Event, cmds []lane.Command, st lane.State, err error) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if _, ok := ev.(lane.Scanned); ok {
		tt.scanned = time.Now()
	}
	for _, c := range cmds {
		if _, ok := c.(lane.CreateOrder); ok {
			tt.create = time.Now()
		}
	}
}

func waitFor(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func TestLaneEndToEndSandboxAndPTY(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := newSimRig(t, "1s")
	cfg, err := config.Load(rig.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// Notifications to a listener on loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.PayBy.NotifyURL = "http://" + ln.Addr().String() + "/payby/notify"
	tt := &traceTimes{}
	ctx := context.Background()
	r, stop, err := startLaneWith(ctx, cfg, testLogger(t), laneOptions{Trace: tt.trace, NotifyListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	waitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})
	if n, _ := rig.pulses(); n != 0 {
		t.Fatal("pulse at start-up")
	}

	// 1. Pay by QR; the notification (or the poll) opens the barrier.
	code := rig.ticket(t, 1001, 2*time.Hour+10*time.Minute)
	sent := time.Now()
	if err := rig.scanner.Send(code); err != nil {
		t.Fatal(err)
	}
	no := "GRG01-X1-1001-1"
	var placed time.Time
	waitFor(t, "order at the sandbox", 5*time.Second, func() bool {
		_, err := rig.sb.Order(no)
		if err == nil {
			placed = time.Now()
		}
		return err == nil
	})
	waitFor(t, "QR", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	s := r.Snapshot()
	if s.Health.ClockSkew == 0 || s.Health.ClockSkew > time.Second || s.Health.ClockSkew < -time.Second {
		t.Errorf("clock skew against the sandbox = %v, want known and under 1s", s.Health.ClockSkew)
	}
	if s.State != lane.FeeDue || s.Due != 2000 || s.MerchantOrderNo != no {
		t.Fatalf("fee due: %+v", s)
	}
	tt.mu.Lock()
	t.Logf("scan (serial write) to order stored at the sandbox: %v; scan event to placeOrder sent: %v",
		placed.Sub(sent).Round(time.Microsecond), tt.create.Sub(tt.scanned).Round(time.Microsecond))
	tt.mu.Unlock()
	paidAt := time.Now()
	if err := rig.sb.Pay(no); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "pulse", 5*time.Second, func() bool { n, _ := rig.pulses(); return n == 1 })
	_, pulseAt := rig.pulses()
	t.Logf("payment to relay pulse (notification, poll 1s): %v", pulseAt.Sub(paidAt).Round(time.Microsecond))
	waitFor(t, "open", 2*time.Second, func() bool { return r.Snapshot().State == lane.Open })

	// 2. The same ticket again: refused, no pulse.
	waitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	time.Sleep(1100 * time.Millisecond) // past the scanner's dedup window
	rig.scanner.Send(code)
	waitFor(t, "already used", 5*time.Second, func() bool { return r.Snapshot().Notice == lane.NoticeAlreadyUsed })

	// 3. Free within grace.
	waitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	rig.scanner.Send(rig.ticket(t, 1002, 5*time.Minute))
	waitFor(t, "free pulse", 5*time.Second, func() bool { n, _ := rig.pulses(); return n == 2 })

	// 3b. Polling only (notifications lost): paid to pulse within the cadence.
	waitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	f := rig.sb.Faults()
	f.DropNotify = true
	rig.sb.SetFaults(f)
	rig.scanner.Send(rig.ticket(t, 1005, 30*time.Minute))
	waitFor(t, "QR 5", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	paidAt = time.Now()
	if err := rig.sb.Pay("GRG01-X1-1005-1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "polled pulse", 5*time.Second, func() bool { n, _ := rig.pulses(); return n == 3 })
	_, pulseAt = rig.pulses()
	t.Logf("payment to relay pulse (polling only, cadence 1s): %v", pulseAt.Sub(paidAt).Round(time.Microsecond))
	f.DropNotify = false
	rig.sb.SetFaults(f)

	// 3c. A validation stamp scanned while the fee is shown: free.
	waitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	rig.scanner.Send(rig.ticket(t, 1006, 2*time.Hour+5*time.Minute))
	waitFor(t, "QR 6", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	rig.scanner.Send("CINEMA")
	waitFor(t, "validated pulse", 5*time.Second, func() bool { n, _ := rig.pulses(); return n == 4 })
	if s := r.Snapshot(); s.Cause != lane.CauseValidation || s.Validation != "Cinema, 2 hours" {
		t.Fatalf("after validation: cause %s validation %q", s.Cause, s.Validation)
	}
	waitFor(t, "order 6 cancelled", 5*time.Second, func() bool {
		o, err := rig.sb.Order("GRG01-X1-1006-1")
		return err == nil && o.Status == payby.StatusFailure
	})

	// 4. Cancel racing a payment: the driver cancels as the payment lands.
	waitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	code3 := rig.ticket(t, 1003, time.Hour+time.Minute)
	rig.scanner.Send(code3)
	waitFor(t, "QR 3", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	f = rig.sb.Faults()
	f.PayRacesCancel = true
	rig.sb.SetFaults(f)
	if err := r.Do(ctx, lane.Cancel{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "paid not exited", 5*time.Second, func() bool {
		u, _ := r.Unresolved(ctx)
		return len(u) == 1 && u[0].Kind == lane.UnresolvedPaidNotExited && u[0].MerchantOrderNo == "GRG01-X1-1003-1"
	})
	f.PayRacesCancel = false
	rig.sb.SetFaults(f)
	// The driver scans again within exit grace: out without paying twice.
	time.Sleep(1100 * time.Millisecond)
	rig.scanner.Send(code3)
	waitFor(t, "exit grace pulse", 5*time.Second, func() bool { n, _ := rig.pulses(); return n == 5 })
	if _, err := rig.sb.Order("GRG01-X1-1003-2"); err == nil {
		t.Fatal("a second order was created for a paid ticket")
	}
	if u, _ := r.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved after exit: %+v", u)
	}

	// 5. Relay unplugged while a fee is due: fault, order cancelled.
	waitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	rig.scanner.Send(rig.ticket(t, 1004, 3*time.Hour))
	waitFor(t, "QR 4", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	rig.relay.Unplug()
	waitFor(t, "fault", 10*time.Second, func() bool { return r.Snapshot().State == lane.Fault })
	waitFor(t, "order 4 cancelled", 5*time.Second, func() bool {
		o, err := rig.sb.Order("GRG01-X1-1004-1")
		return err == nil && o.Status == payby.StatusFailure
	})
	if err := rig.relay.Replug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "relay back", 10*time.Second, func() bool { return r.Snapshot().Health.Relay == lane.DeviceOK })
	if err := r.Do(ctx, lane.ClearFault{Attendant: "a1"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := rig.pulses(); n != 5 {
		t.Fatalf("pulses = %d after replug, want 5 (never a pulse on reconnect)", n)
	}

	// The admin screen's reports, through the runner.
	day := time.Now().Add(-time.Hour)
	tot, err := r.Totals(ctx, day, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The re-scan after the cancel race used the late payment: a paid exit
	// with its amount, so the paid exits agree with what PayBy collected.
	if tot.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 3, Amount: 4500}) || tot.ByCause[lane.CauseGrace].Count != 1 ||
		tot.ByCause[lane.CauseValidation].Count != 1 || tot.Collected != 4500 || tot.Exits != 5 {
		t.Errorf("totals = %+v", tot)
	}
	page, err := r.Transactions(ctx, 0, 5)
	if err != nil || len(page) != 5 || page[0].ID <= page[4].ID {
		t.Fatalf("transactions = %+v, %v", page, err)
	}
	older, err := r.Transactions(ctx, page[4].ID, 5)
	if err != nil || len(older) == 0 || older[0].ID >= page[4].ID {
		t.Fatalf("older transactions = %+v, %v", older, err)
	}
	if err := r.Do(ctx, lane.StartShift{Attendant: "a1"}); err != nil {
		t.Fatal(err)
	}
	if sh, err := r.Shift(ctx); err != nil || sh.Attendant != "a1" {
		t.Fatalf("shift = %+v, %v", sh, err)
	}
	if err := r.Do(ctx, lane.Refund{Attendant: "a1", MerchantOrderNo: "GRG01-X1-1001-1", Amount: 500, Reason: "validation forgotten"}); err != nil {
		t.Fatal(err)
	}
	if o, _ := rig.sb.Order("GRG01-X1-1001-1"); o.Refunded != 500 {
		t.Fatalf("sandbox refunded %v", o.Refunded)
	}

	// The ledger agrees with PayBy and the relay.
	stop()
	db, err := ledger.Open(ctx, cfg.Ledger.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ev, _ := db.BarrierEvents(ctx)
	pulsed := 0
	for _, e := range ev {
		if e.State == "pulsed" {
			pulsed++
		}
	}
	if n, _ := rig.pulses(); pulsed != n || len(ev) != n {
		t.Fatalf("barrier rows %d (pulsed %d), relay pulses %d", len(ev), pulsed, n)
	}
	for _, no := range []string{"GRG01-X1-1001-1", "GRG01-X1-1003-1"} {
		o, err := db.GetOrder(ctx, no)
		sbo, _ := rig.sb.Order(no)
		if err != nil || o.Status != lane.OrderPaid || !sbo.Status.IsPaid() {
			t.Fatalf("%s: ledger %+v (%v), sandbox %s", no, o, err, sbo.Status)
		}
	}
}

// TestMeasureLatencies reports the lane's timings against the sandbox and
// pty devices (it asserts nothing about speed). Run with
//
//	EXITLANE_MEASURE=1 go test -run TestMeasureLatencies -v -count=1 .
func TestMeasureLatencies(t *testing.T) {
	if os.Getenv("EXITLANE_MEASURE") == "" {
		t.Skip("set EXITLANE_MEASURE=1")
	}
	for _, mode := range []struct {
		name   string
		poll   string
		notify bool
		n      int
	}{{"notification (poll 6s)", "6s", true, 10}, {"polling only (poll 2s)", "2s", false, 6}} {
		rig := newSimRig(t, mode.poll)
		cfg, err := config.Load(rig.cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		o := laneOptions{}
		tt := &traceTimes{}
		o.Trace = tt.trace
		if mode.notify {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			cfg.PayBy.NotifyURL = "http://" + ln.Addr().String() + "/payby/notify"
			o.NotifyListener = ln
		} else {
			f := rig.sb.Faults()
			f.DropNotify = true
			rig.sb.SetFaults(f)
		}
		r, stop, err := startLaneWith(context.Background(), cfg, slog.New(slog.DiscardHandler), o)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "devices", 5*time.Second, func() bool {
			h := r.Snapshot().Health
			return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
		})
		var scanToStored, scanToSend, payToPulse []time.Duration
		for i := 0; i < mode.n; i++ {
			waitFor(t, "idle", 10*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
			serial := uint64(3000 + i)
			no := fmt.Sprintf("GRG01-X1-%d-1", serial)
			code := rig.ticket(t, serial, time.Hour)
			sent := time.Now()
			rig.scanner.Send(code)
			waitFor(t, "order", 5*time.Second, func() bool { _, err := rig.sb.Order(no); return err == nil })
			scanToStored = append(scanToStored, time.Since(sent))
			tt.mu.Lock()
			scanToSend = append(scanToSend, tt.create.Sub(tt.scanned))
			tt.mu.Unlock()
			waitFor(t, "QR", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
			// Pay at a random point of the poll cycle.
			time.Sleep(time.Duration(i) * 317 * time.Millisecond % (2 * time.Second))
			before, _ := rig.pulses()
			paid := time.Now()
			rig.sb.Pay(no)
			waitFor(t, "pulse", 10*time.Second, func() bool { n, _ := rig.pulses(); return n > before })
			_, at := rig.pulses()
			payToPulse = append(payToPulse, at.Sub(paid))
		}
		stop()
		t.Logf("%s, %d visits:", mode.name, mode.n)
		t.Logf("  scan (serial write) to order at the sandbox: %s", spread(scanToStored))
		t.Logf("  scan event to placeOrder sent:               %s", spread(scanToSend))
		t.Logf("  payment to relay pulse:                      %s", spread(payToPulse))
	}
}

func spread(ds []time.Duration) string {
	sorted := append([]time.Duration(nil), ds...)
	for i := range sorted {
		for j := i + 1; j < len(sorted); j++ {
			if sorted[j] < sorted[i] {
				sorted[i], sorted[j] = sorted[j], sorted[i]
			}
		}
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("min %v, median %v, max %v", r(sorted[0]), r(sorted[len(sorted)/2]), r(sorted[len(sorted)-1]))
}

// The vehicle loop on a Numato board's GPIO (sharing the relay's port):
// the "barrier open" screen ends when the car has passed, not on a timer.
func TestLaneLoopEndsOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := newSimRigWith(t, "1s", "numato", "[loop]\nport = %q\nline = \"gpio\"\ngpio = 0\ndebounce = \"50ms\"\n")
	cfg, err := config.Load(rig.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Lane.Opened = 30 * time.Second // the timer must not be what ends Open
	r, stop, err := startLaneWith(context.Background(), cfg, testLogger(t), laneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	waitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})
	rig.scanner.Send(rig.ticket(t, 4001, 5*time.Minute)) // free: grace
	waitFor(t, "open", 5*time.Second, func() bool { return r.Snapshot().State == lane.Open })
	rig.relay.SetGPIO(0, true) // the car drives under the barrier
	waitFor(t, "vehicle present", 5*time.Second, func() bool { return r.Snapshot().Health.VehiclePresent })
	if r.Snapshot().State != lane.Open {
		t.Fatal("left Open while the car is on the loop")
	}
	rig.relay.SetGPIO(0, false) // and has passed
	waitFor(t, "idle after the loop cleared", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	if n, _ := rig.pulses(); n != 1 {
		t.Fatalf("pulses = %d", n)
	}
}
