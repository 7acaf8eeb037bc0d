package station_test

// End-to-end tests of the assembled lane: the real ledger, ticket checker,
// PayBy client against the PayBy sandbox on loopback, and the barrier and
// scanner code over pseudo-terminals driven by the simulators.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/station"
)

// start opens a station on cfg and runs it. stop (also run at the test's
// cleanup) closes it and waits for the lane to end.
func start(t *testing.T, cfg *config.Config, o station.Options) (r *lane.Runner, stop func()) {
	t.Helper()
	st, err := station.Open(context.Background(), cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.Run(context.Background())
	}()
	stop = sync.OnceFunc(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the station did not stop within 10s")
		}
	})
	t.Cleanup(stop)
	return st.Runner(), stop
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

func TestLaneEndToEndSandboxAndPTY(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
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
	r, stop := start(t, cfg, station.Options{Logger: simtest.Logger(), Trace: tt.trace, NotifyListener: ln})
	simtest.WaitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})
	if n, _ := rig.Pulses(); n != 0 {
		t.Fatal("pulse at start-up")
	}

	// 1. Pay by QR; the notification (or the poll) opens the barrier.
	code := rig.Ticket(t, 1001, 2*time.Hour+10*time.Minute)
	sent := time.Now()
	if err := rig.Scanner.Send(code); err != nil {
		t.Fatal(err)
	}
	no := "GRG01-X1-1001-1"
	var placed time.Time
	simtest.WaitFor(t, "order at the sandbox", 5*time.Second, func() bool {
		_, err := rig.Sandbox.Order(no)
		if err == nil {
			placed = time.Now()
		}
		return err == nil
	})
	simtest.WaitFor(t, "QR", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
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
	if err := rig.Sandbox.Pay(no); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "pulse", 5*time.Second, func() bool { n, _ := rig.Pulses(); return n == 1 })
	_, pulseAt := rig.Pulses()
	t.Logf("payment to relay pulse (notification, poll 1s): %v", pulseAt.Sub(paidAt).Round(time.Microsecond))
	simtest.WaitFor(t, "open", 2*time.Second, func() bool { return r.Snapshot().State == lane.Open })

	// 2. The same ticket again: refused, no pulse.
	simtest.WaitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	time.Sleep(1100 * time.Millisecond) // past the scanner's dedup window
	rig.Scanner.Send(code)
	simtest.WaitFor(t, "already used", 5*time.Second, func() bool { return r.Snapshot().Notice == lane.NoticeAlreadyUsed })

	// 3. Free within grace.
	simtest.WaitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	rig.Scanner.Send(rig.Ticket(t, 1002, 5*time.Minute))
	simtest.WaitFor(t, "free pulse", 5*time.Second, func() bool { n, _ := rig.Pulses(); return n == 2 })

	// 3b. Polling only (notifications lost): paid to pulse within the cadence.
	simtest.WaitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	f := rig.Sandbox.Faults()
	f.DropNotify = true
	rig.Sandbox.SetFaults(f)
	rig.Scanner.Send(rig.Ticket(t, 1005, 30*time.Minute))
	simtest.WaitFor(t, "QR 5", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	paidAt = time.Now()
	if err := rig.Sandbox.Pay("GRG01-X1-1005-1"); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "polled pulse", 5*time.Second, func() bool { n, _ := rig.Pulses(); return n == 3 })
	_, pulseAt = rig.Pulses()
	t.Logf("payment to relay pulse (polling only, cadence 1s): %v", pulseAt.Sub(paidAt).Round(time.Microsecond))
	f.DropNotify = false
	rig.Sandbox.SetFaults(f)

	// 3c. A validation stamp scanned while the fee is shown: free.
	simtest.WaitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	rig.Scanner.Send(rig.Ticket(t, 1006, 2*time.Hour+5*time.Minute))
	simtest.WaitFor(t, "QR 6", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	rig.Scanner.Send("CINEMA")
	simtest.WaitFor(t, "validated pulse", 5*time.Second, func() bool { n, _ := rig.Pulses(); return n == 4 })
	// The pulse may reach the relay before the runner publishes the
	// snapshot of the step that sent it.
	simtest.WaitFor(t, "validated exit on screen", 2*time.Second, func() bool { return r.Snapshot().Cause != lane.CauseNone })
	if s := r.Snapshot(); s.Cause != lane.CauseValidation || s.Validation != "Cinema, 2 hours" {
		t.Fatalf("after validation: cause %s validation %q", s.Cause, s.Validation)
	}
	simtest.WaitFor(t, "order 6 cancelled", 5*time.Second, func() bool {
		o, err := rig.Sandbox.Order("GRG01-X1-1006-1")
		return err == nil && o.Status == payby.StatusFailure
	})

	// 4. Cancel racing a payment: the driver cancels as the payment lands.
	simtest.WaitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	code3 := rig.Ticket(t, 1003, time.Hour+time.Minute)
	rig.Scanner.Send(code3)
	simtest.WaitFor(t, "QR 3", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	f = rig.Sandbox.Faults()
	f.PayRacesCancel = true
	rig.Sandbox.SetFaults(f)
	if err := r.Do(ctx, lane.Cancel{}); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "paid not exited", 5*time.Second, func() bool {
		u, _ := r.Unresolved(ctx)
		return len(u) == 1 && u[0].Kind == lane.UnresolvedPaidNotExited && u[0].MerchantOrderNo == "GRG01-X1-1003-1"
	})
	f.PayRacesCancel = false
	rig.Sandbox.SetFaults(f)
	// The driver scans again within exit grace: out without paying twice.
	time.Sleep(1100 * time.Millisecond)
	rig.Scanner.Send(code3)
	simtest.WaitFor(t, "exit grace pulse", 5*time.Second, func() bool { n, _ := rig.Pulses(); return n == 5 })
	if _, err := rig.Sandbox.Order("GRG01-X1-1003-2"); err == nil {
		t.Fatal("a second order was created for a paid ticket")
	}
	if u, _ := r.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved after exit: %+v", u)
	}

	// 5. Relay unplugged while a fee is due: fault, order cancelled.
	simtest.WaitFor(t, "idle", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	rig.Scanner.Send(rig.Ticket(t, 1004, 3*time.Hour))
	simtest.WaitFor(t, "QR 4", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	rig.Relay.Unplug()
	simtest.WaitFor(t, "fault", 10*time.Second, func() bool { return r.Snapshot().State == lane.Fault })
	simtest.WaitFor(t, "order 4 cancelled", 5*time.Second, func() bool {
		o, err := rig.Sandbox.Order("GRG01-X1-1004-1")
		return err == nil && o.Status == payby.StatusFailure
	})
	if err := rig.Relay.Replug(); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "relay back", 10*time.Second, func() bool { return r.Snapshot().Health.Relay == lane.DeviceOK })
	if err := r.Do(ctx, lane.ClearFault{Attendant: "a1"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := rig.Pulses(); n != 5 {
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
	if o, _ := rig.Sandbox.Order("GRG01-X1-1001-1"); o.Refunded != 500 {
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
	if n, _ := rig.Pulses(); pulsed != n || len(ev) != n {
		t.Fatalf("barrier rows %d (pulsed %d), relay pulses %d", len(ev), pulsed, n)
	}
	for _, no := range []string{"GRG01-X1-1001-1", "GRG01-X1-1003-1"} {
		o, err := db.GetOrder(ctx, no)
		sbo, _ := rig.Sandbox.Order(no)
		if err != nil || o.Status != lane.OrderPaid || !sbo.Status.IsPaid() {
			t.Fatalf("%s: ledger %+v (%v), sandbox %s", no, o, err, sbo.Status)
		}
	}
}

// TestMeasureLatencies reports the lane's timings against the sandbox and
// pty devices (it asserts nothing about speed). Run with
//
//	EXITLANE_MEASURE=1 go test -run TestMeasureLatencies -v -count=1 ./station
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
		rig := simtest.New(t, mode.poll)
		cfg, err := config.Load(rig.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		o := station.Options{Logger: slog.New(slog.DiscardHandler)}
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
			f := rig.Sandbox.Faults()
			f.DropNotify = true
			rig.Sandbox.SetFaults(f)
		}
		r, stop := start(t, cfg, o)
		simtest.WaitFor(t, "devices", 5*time.Second, func() bool {
			h := r.Snapshot().Health
			return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
		})
		var scanToStored, scanToSend, payToPulse []time.Duration
		for i := 0; i < mode.n; i++ {
			simtest.WaitFor(t, "idle", 10*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
			serial := uint64(3000 + i)
			no := fmt.Sprintf("GRG01-X1-%d-1", serial)
			code := rig.Ticket(t, serial, time.Hour)
			sent := time.Now()
			rig.Scanner.Send(code)
			simtest.WaitFor(t, "order", 5*time.Second, func() bool { _, err := rig.Sandbox.Order(no); return err == nil })
			scanToStored = append(scanToStored, time.Since(sent))
			tt.mu.Lock()
			scanToSend = append(scanToSend, tt.create.Sub(tt.scanned))
			tt.mu.Unlock()
			simtest.WaitFor(t, "QR", 5*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
			// Pay at a random point of the poll cycle.
			time.Sleep(time.Duration(i) * 317 * time.Millisecond % (2 * time.Second))
			before, _ := rig.Pulses()
			paid := time.Now()
			rig.Sandbox.Pay(no)
			simtest.WaitFor(t, "pulse", 10*time.Second, func() bool { n, _ := rig.Pulses(); return n > before })
			_, at := rig.Pulses()
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
	rig := simtest.NewWith(t, "1s", "numato", "[loop]\nport = %q\nline = \"gpio\"\ngpio = 0\ndebounce = \"50ms\"\n")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Lane.Opened = 30 * time.Second // the timer must not be what ends Open
	r, _ := start(t, cfg, station.Options{Logger: simtest.Logger()})
	simtest.WaitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})
	rig.Scanner.Send(rig.Ticket(t, 4001, 5*time.Minute)) // free: grace
	simtest.WaitFor(t, "open", 5*time.Second, func() bool { return r.Snapshot().State == lane.Open })
	rig.Relay.SetGPIO(0, true) // the car drives under the barrier
	simtest.WaitFor(t, "vehicle present", 5*time.Second, func() bool { return r.Snapshot().Health.VehiclePresent })
	if r.Snapshot().State != lane.Open {
		t.Fatal("left Open while the car is on the loop")
	}
	rig.Relay.SetGPIO(0, false) // and has passed
	simtest.WaitFor(t, "idle after the loop cleared", 5*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	if n, _ := rig.Pulses(); n != 1 {
		t.Fatalf("pulses = %d", n)
	}
}

// A code the scan filter claims (an attendant's badge, for the display)
// never reaches the lane as a ticket; the next ticket is served.
func TestScanFilterKeepsBadges(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var badges atomic.Int32
	filter := func(code string) bool {
		if code == "STAFF-A01" {
			badges.Add(1)
			return true
		}
		return false
	}
	r, _ := start(t, cfg, station.Options{Logger: simtest.Logger(), ScanFilter: filter})
	simtest.WaitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})
	before := r.Snapshot().Seq
	if err := rig.Scanner.Send("STAFF-A01"); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "badge seen by the filter", 5*time.Second, func() bool { return badges.Load() == 1 })
	// A ticket scanned after the badge is served; the badge made no visit.
	if err := rig.Scanner.Send(rig.Ticket(t, 7001, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the ticket's visit", 5*time.Second, func() bool { return r.Snapshot().Visit != 0 })
	if s := r.Snapshot(); s.Visit != 1 || s.Notice == lane.NoticeInvalid {
		t.Fatalf("after the badge: visit %d notice %s (seq %d -> %d)", s.Visit, s.Notice, before, s.Seq)
	}
}

// A station closed without running never wrote to the relay board and
// recorded no visit; it cannot run after Close.
func TestCloseWithoutRun(t *testing.T) {
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := station.Open(context.Background(), cfg, station.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if err := st.Run(context.Background()); err == nil {
		t.Fatal("run after close: no error")
	}
	if f := rig.Relay.Frames(); len(f) != 0 {
		t.Fatalf("relay frames without Run: %v", f)
	}
	// Open migrated the ledger and recorded nothing.
	db, err := ledger.Open(context.Background(), cfg.Ledger.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n, err := db.NextVisit(context.Background()); err != nil || n != 1 {
		t.Fatalf("next visit %d, %v", n, err)
	}
}

// A PayBy key that cannot be read fails Open.
func TestOpenFailsOnMissingKey(t *testing.T) {
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cfg.PayBy.PrivateKeyFile); err != nil {
		t.Fatal(err)
	}
	if _, err := station.Open(context.Background(), cfg, station.Options{}); err == nil {
		t.Fatal("open without the merchant key: no error")
	}
}

// syncBuffer is a log sink for tests.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

func offFrames(rig *simtest.Rig) int {
	n := 0
	for _, f := range rig.Relay.Frames() {
		if f.Desc == "ch1 off" {
			n++
		}
	}
	return n
}

// A stop switches the barrier relay off once more (the barrier's Halt,
// through the link before it closes its port), then closes the ledger.
func TestStopHaltsRelayAndClosesLedger(t *testing.T) {
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	st, err := station.Open(context.Background(), cfg, station.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- st.Run(context.Background()) }()
	r := st.Runner()
	simtest.WaitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})
	simtest.WaitFor(t, "the off frame at connect", 2*time.Second, func() bool { return offFrames(rig) == 1 })
	time.Sleep(100 * time.Millisecond) // no second one without a stop
	before := offFrames(rig)
	if before != 1 {
		t.Fatalf("%d off frames before the stop, want 1 (at connect)", before)
	}
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(station.StopLimit + 2*time.Second):
		t.Fatalf("Close did not return within the stop limit; log:\n%s", logs.String())
	}
	if err := <-ran; err != nil {
		t.Fatalf("run: %v", err)
	}
	simtest.WaitFor(t, "the off frame at stop", 2*time.Second, func() bool { return offFrames(rig) == before+1 })
	if on := rig.Relay.State(1); on {
		t.Fatal("relay on after the stop")
	}
	for _, want := range []string{"relay off at stop", "lane stopped"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %q in the log:\n%s", want, logs.String())
		}
	}
	if got := st.Running(); len(got) != 0 {
		t.Errorf("still running after a clean stop: %v", got)
	}
	if _, err := r.Shift(context.Background()); err == nil {
		t.Error("the ledger answers after Close")
	}
}

// blockingPort is a relay port whose writes block until released: a board
// (or USB adapter) that stopped draining its input.
type blockingPort struct {
	release chan struct{}
	once    sync.Once
}

func (p *blockingPort) Write(b []byte) (int, error) {
	<-p.release
	return 0, errors.New("port released")
}
func (p *blockingPort) Read([]byte) (int, error) {
	<-p.release
	return 0, errors.New("port released")
}
func (p *blockingPort) SetReadTimeout(time.Duration) error { return nil }
func (p *blockingPort) Close() error                       { p.unblock(); return nil }
func (p *blockingPort) unblock()                           { p.once.Do(func() { close(p.release) }) }

// A relay whose port blocks every write holds its link (and the barrier's
// Halt) forever: the stop still ends within its limit, names what it left
// running, and closes the ledger.
func TestStopBoundedWithAStuckRelay(t *testing.T) {
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	port := &blockingPort{release: make(chan struct{})}
	t.Cleanup(port.unblock) // lets the stuck goroutines end after the test
	opened := make(chan struct{}, 1)
	var logs syncBuffer
	st, err := station.Open(context.Background(), cfg, station.Options{
		Logger:    slog.New(slog.NewTextHandler(&logs, nil)),
		StopLimit: time.Second,
		RelayOpen: func() (serialport.Port, error) {
			select {
			case opened <- struct{}{}:
			default:
			}
			return port, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	go st.Run(context.Background())
	select {
	case <-opened:
	case <-time.After(5 * time.Second):
		t.Fatal("the relay port was not opened")
	}
	simtest.WaitFor(t, "the scanner", 5*time.Second, func() bool { return st.Runner().Snapshot().Health.Scanner == lane.DeviceOK })
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- st.Close() }()
	var cerr error
	select {
	case cerr = <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("Close did not return 10 s after a stop limited to 1 s; running: %v; log:\n%s", st.Running(), logs.String())
	}
	if took := time.Since(start); took < time.Second || took > 3*time.Second {
		t.Errorf("stop took %v, want the 1 s limit", took)
	}
	if cerr == nil || !strings.Contains(cerr.Error(), "relay link") || !strings.Contains(cerr.Error(), "barrier halt") {
		t.Errorf("close: %v, want still running: barrier halt, relay link", cerr)
	}
	if got := strings.Join(st.Running(), ", "); got != "barrier halt, relay link" {
		t.Errorf("Running = %q", got)
	}
	if !strings.Contains(logs.String(), "lane stop limit passed") || !strings.Contains(logs.String(), "still_running=\"[barrier halt relay link]\"") {
		t.Errorf("no stop-limit line naming the stuck parts:\n%s", logs.String())
	}
	if _, err := st.Runner().Shift(context.Background()); err == nil {
		t.Error("the ledger answers after Close")
	}
}
