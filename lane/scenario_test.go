package lane

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exitlane/exitlane/money"
)

var update = flag.Bool("update", false, "rewrite lane/testdata transcripts")

// world is a runner with fakes inside a synctest bubble; every step is
// written to a transcript compared with testdata/<name>.txt.
type world struct {
	t     *testing.T
	r     *Runner
	tk    *fakeTickets
	pay   *fakePay
	gate  *fakeGate
	j     *fakeJournal
	start time.Time
	mu    sync.Mutex
	out   strings.Builder
	stop  func()
	polls int // quiet poll cycles not yet printed
	logs  *logSink
	// rc, if set by the seed, is the receipt printer.
	rc Receipts
}

func newWorld(t *testing.T, p Params, seed func(w *world)) *world {
	w := &world{t: t, tk: &fakeTickets{}, pay: &fakePay{}, gate: &fakeGate{}, j: newJournal(), start: time.Now(), logs: &logSink{}}
	if p.Site == "" {
		p.Site, p.Lane = "S", "X1"
	}
	if p.ExitGrace == 0 {
		p.ExitGrace = 10 * time.Minute // as fakeTickets.Quote
	}
	if seed != nil {
		seed(w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r, err := New(ctx, p, Deps{Tickets: w.tk, Payments: w.pay, Gate: w.gate, Journal: w.j, Trace: w.trace, Logger: w.logs.logger(), Receipts: w.rc})
	if err != nil {
		t.Fatal(err)
	}
	w.r = r
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	var once sync.Once
	w.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(w.stop)
	synctest.Wait()
	return w
}

func (w *world) printf(format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.polls > 0 {
		fmt.Fprintf(&w.out, "          (%d quiet polls: still created)\n", w.polls)
		w.polls = 0
	}
	fmt.Fprintf(&w.out, "%6s  ", time.Since(w.start).Round(time.Millisecond))
	fmt.Fprintf(&w.out, format, args...)
	w.out.WriteByte('\n')
}

func (w *world) trace(at time.Time, ev Event, cmds []Command, st State, err error) {
	// The background PayBy probe lands at a time that races the visit's
	// own calls; it only sets Health.PayBy, so it is left out.
	if d, ok := ev.(DeviceChanged); ok && d.Device == DevPayBy {
		return
	}
	// Fold the quiet poll cycles (tick -> get_order, answer "created").
	if _, ok := ev.(Tick); ok && st == FeeDue && len(cmds) == 1 {
		if _, ok := cmds[0].(GetOrder); ok {
			return
		}
	}
	if u, ok := ev.(OrderUpdate); ok && u.Source == SourcePoll && u.Err == nil && u.State.Status == OrderCreated && st == FeeDue && len(cmds) == 0 {
		w.mu.Lock()
		w.polls++
		w.mu.Unlock()
		return
	}
	line := Describe(ev) + " -> " + st.String()
	if err != nil {
		line += " (refused: " + err.Error() + ")"
	}
	w.printf("%s", line)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, c := range cmds {
		fmt.Fprintf(&w.out, "          | %s\n", Describe(c))
	}
}

func (w *world) note(format string, args ...any) { w.printf("## "+format, args...) }

func (w *world) scan(code string) {
	w.note("driver scans %s", code)
	w.r.Scan(code)
	// Long enough for the check and a PayBy round trip, shorter than a pulse.
	time.Sleep(100 * time.Millisecond)
	synctest.Wait()
}

func (w *world) sleep(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func (w *world) do(a Action) error {
	err := w.r.Do(context.Background(), a)
	time.Sleep(100 * time.Millisecond)
	synctest.Wait()
	if err != nil {
		w.note("%s refused: %v", ActionName(a), err)
	} else {
		switch a.(type) {
		case Refund, Resolve, StartShift, EndShift:
			w.note("%s done", ActionName(a))
		}
	}
	return err
}

func (w *world) payNow(no string) {
	ok := w.pay.pay(no)
	w.note("driver pays %s on the phone (accepted=%t)", no, ok)
	synctest.Wait()
}

func (w *world) ticket(code string, ago time.Duration) { w.tk.add(code, time.Now().Add(-ago)) }

func (w *world) want(s State) {
	w.t.Helper()
	// Let async results (PayBy, pulse) land: at most one second of bubble time.
	synctest.Wait()
	for i := 0; i < 10 && w.r.Snapshot().State != s; i++ {
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
	}
	if got := w.r.Snapshot().State; got != s {
		w.t.Fatalf("state = %s, want %s\n%s", got, s, w.out.String())
	}
}

func (w *world) wantPulses(n int) {
	w.t.Helper()
	time.Sleep(pulseTime)
	synctest.Wait()
	if got := w.gate.count(); got != n {
		w.t.Fatalf("pulses = %d, want %d\n%s", got, n, w.out.String())
	}
	// Invariant 4 (lane side): every pulse was authorised by its own row.
	if a := w.j.authorisations(); a < n {
		w.t.Fatalf("%d pulses but %d authorisations", n, a)
	}
}

func (w *world) finish(name string) {
	w.t.Helper()
	w.stop()
	snap := w.r.Snapshot()
	w.printf("end state=%s pulses=%d unresolved=%d", snap.State, w.gate.count(), snap.Unresolved)
	path := filepath.Join("testdata", name+".txt")
	got := w.out.String()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			w.t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		w.t.Fatalf("%v (run with -update)\n%s", err, got)
	}
	if string(want) != got {
		gotPath := filepath.Join(os.TempDir(), "lane-"+name+".got.txt")
		os.WriteFile(gotPath, []byte(got), 0o644)
		w.t.Errorf("transcript %s differs from %s (run go test ./lane -run Scenario -update and review the diff)", path, gotPath)
	}
}

func scenario(t *testing.T, name string, f func(t *testing.T)) {
	t.Run(name, func(t *testing.T) { synctest.Test(t, f) })
}

func TestScenarios(t *testing.T) {
	scenario(t, "pay", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T100", 2*time.Hour+5*time.Minute)
		w.scan("T100")
		w.want(FeeDue)
		s := w.r.Snapshot()
		if s.Due != 3*hourly || s.TokenURL == "" || s.MerchantOrderNo != "S-X1-100-1" || s.Deadline.IsZero() {
			t.Fatalf("fee due snapshot = %+v", s)
		}
		w.sleep(5 * time.Second)
		w.payNow("S-X1-100-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.sleep(10 * time.Second)
		w.want(Idle)
		w.scan("T100") // the same ticket again: already used
		w.want(Notice)
		if w.r.Snapshot().Notice != NoticeAlreadyUsed {
			t.Fatal("re-use not refused")
		}
		w.wantPulses(1)
		w.finish("pay")
	})
	scenario(t, "pay_notification", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T101", time.Hour)
		w.scan("T101")
		w.sleep(500 * time.Millisecond)
		w.payNow("S-X1-101-1")
		if err := w.r.Notify(context.Background(), "S-X1-101-1", OrderState{Status: OrderPaid, Paid: hourly}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		w.want(Open) // before the next poll
		// The poll and a duplicate notification that follow are harmless.
		w.r.Notify(context.Background(), "S-X1-101-1", OrderState{Status: OrderPaid, Paid: hourly})
		w.sleep(3 * time.Second)
		w.wantPulses(1)
		w.finish("pay_notification")
	})
	scenario(t, "free_grace", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T102", 10*time.Minute)
		w.scan("T102")
		w.want(Open)
		w.wantPulses(1)
		for _, c := range w.pay.calls {
			if !strings.Contains(c, "PROBE") {
				t.Fatalf("PayBy called for a free exit: %v", w.pay.calls)
			}
		}
		w.finish("free_grace")
	})
	scenario(t, "free_exit_grace", func(t *testing.T) {
		// An earlier run recorded the payment but stopped before the pulse
		// (the exit became "unknown"): the re-scan opens without charging,
		// and its exit is booked as paid with the payment's amount and
		// order, so exits and PayBy agree.
		w := newWorld(t, Params{}, func(w *world) {
			w.ticket("T103", 3*time.Hour)
			w.j.seedPaid(7, "S/E1/103", "S-X1-103", "S-X1-103-1", 3*hourly, time.Now().Add(-4*time.Minute))
		})
		w.scan("T103")
		w.want(Open)
		w.wantPulses(1)
		if s := w.r.Snapshot(); s.Cause != CausePaid || s.Notice != NoticePaidNotExited {
			t.Fatalf("snapshot = %+v", s)
		}
		if e := w.j.lastExit(); e.Cause != CausePaid || e.Amount != 3*hourly || e.No != "S-X1-103-1" {
			t.Fatalf("exit = %+v, want paid %d by S-X1-103-1", e, 3*hourly)
		}
		for _, c := range w.pay.calls {
			if strings.HasPrefix(c, "create") {
				t.Fatal("charged twice")
			}
		}
		w.finish("free_exit_grace")
	})
	scenario(t, "forged", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.scan("FORGED")
		w.want(Notice)
		if w.r.Snapshot().Notice != NoticeForged {
			t.Fatal("not forged")
		}
		w.scan("garbage!")
		if w.r.Snapshot().Notice != NoticeInvalid {
			t.Fatal("not invalid")
		}
		w.sleep(8 * time.Second)
		w.want(Idle)
		w.wantPulses(0)
		w.finish("forged")
	})
	scenario(t, "reused_override", func(t *testing.T) {
		w := newWorld(t, Params{}, func(w *world) {
			w.ticket("T104", 2*time.Hour)
			w.j.seedExit(3, "S/E1/104", time.Now().Add(-time.Hour))
		})
		w.scan("T104")
		w.want(Notice)
		if w.r.Snapshot().Notice != NoticeAlreadyUsed {
			t.Fatal("not already used")
		}
		if err := w.do(Override{Attendant: "a1"}); !errors.Is(err, ErrReasonRequired) {
			t.Fatalf("override without reason: %v", err)
		}
		if err := w.do(Override{Attendant: "a1", Reason: "barrier fell on first attempt"}); err != nil {
			t.Fatal(err)
		}
		w.want(FeeDue)
		w.payNow("S-X1-104-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.finish("reused_override")
	})
	scenario(t, "override_after_notice", func(t *testing.T) {
		w := newWorld(t, Params{}, func(w *world) {
			w.ticket("T114", 2*time.Hour)
			w.ticket("T115", 5*time.Minute)
			w.j.seedExit(3, "S/E1/114", time.Now().Add(-time.Hour))
		})
		w.scan("T114")
		w.want(Notice)
		w.note("the attendant walks over; the notice is gone")
		w.sleep(time.Minute)
		w.want(Idle)
		if err := w.do(Override{Attendant: "a1", Reason: "barrier fell on first attempt"}); err != nil {
			t.Fatalf("override a minute after the refusal: %v", err)
		}
		w.want(FeeDue)
		if s := w.r.Snapshot(); s.Ticket == nil || s.Ticket.Serial != "114" {
			t.Fatalf("override served %+v", s.Ticket)
		}
		w.do(Cancel{})
		w.want(Idle)
		w.note("too late, or another ticket since: the override is refused")
		w.scan("T114")
		w.want(Notice)
		w.sleep(overrideWindow + time.Second)
		if err := w.do(Override{Attendant: "a1", Reason: "late"}); !errors.Is(err, ErrNotNow) {
			t.Fatalf("override after the window: %v", err)
		}
		w.scan("T114")
		w.want(Notice)
		w.sleep(10 * time.Second)
		w.scan("T115") // free: grace
		w.sleep(15 * time.Second)
		if err := w.do(Override{Attendant: "a1", Reason: "wrong car"}); !errors.Is(err, ErrNotNow) {
			t.Fatalf("override after another ticket: %v", err)
		}
		w.wantPulses(1)
		w.finish("override_after_notice")
	})
	scenario(t, "window_over_paid", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T105", time.Hour)
		w.scan("T105")
		w.sleep(3*time.Minute - 500*time.Millisecond)
		w.payNow("S-X1-105-1") // just before the window ends, between polls
		w.sleep(time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.finish("window_over_paid")
	})
	scenario(t, "window_over_unpaid", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T106", time.Hour)
		w.scan("T106")
		w.sleep(3*time.Minute + time.Second)
		w.want(Notice)
		if w.r.Snapshot().Notice != NoticeExpired {
			t.Fatal("not expired")
		}
		if got := w.pay.state("S-X1-106-1").Status; got != OrderFailed {
			t.Fatalf("order left %s", got)
		}
		w.wantPulses(0)
		w.finish("window_over_unpaid")
	})
	scenario(t, "cancel_race", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T107", time.Hour)
		w.scan("T107")
		w.sleep(time.Second)
		w.pay.mu.Lock()
		w.pay.payOnCancel = true // the payment completes as the cancel arrives
		w.pay.mu.Unlock()
		if err := w.do(Cancel{}); err != nil {
			t.Fatal(err)
		}
		w.want(Idle)
		w.wantPulses(0)
		u, _ := w.j.Unresolved(context.Background())
		if len(u) != 1 || u[0].Kind != UnresolvedPaidNotExited {
			t.Fatalf("late payment not listed: %+v", u)
		}
		w.pay.payOnCancel = false
		w.note("the driver comes back and scans again")
		w.scan("T107")
		w.want(Open)
		w.wantPulses(1)
		if creates := strings.Count(strings.Join(w.pay.calls, ","), "create"); creates != 1 {
			t.Fatalf("creates = %d", creates)
		}
		w.finish("cancel_race")
	})
	scenario(t, "new_qr", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T108", time.Hour)
		w.scan("T108")
		w.sleep(20 * time.Second)
		if err := w.do(NewQR{}); err != nil {
			t.Fatal(err)
		}
		s := w.r.Snapshot()
		if s.MerchantOrderNo != "S-X1-108-2" || s.TokenURL == "" {
			t.Fatalf("after new QR: %+v", s)
		}
		if left := time.Until(s.Deadline); left < 2*time.Minute+50*time.Second {
			t.Fatalf("new QR has %v left, want the whole window", left)
		}
		if w.pay.state("S-X1-108-1").Status != OrderFailed {
			t.Fatal("old order not cancelled")
		}
		if w.payNowOK("S-X1-108-1") {
			t.Fatal("old QR still payable")
		}
		w.payNow("S-X1-108-2")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.finish("new_qr")
	})
	scenario(t, "payby_down_then_up", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T109", time.Hour)
		w.pay.setDown(true)
		w.scan("T109")
		w.want(FeeDue)
		if s := w.r.Snapshot(); s.Notice != NoticePaymentUnavailable || s.TokenURL != "" || s.Health.PayBy != DeviceDown {
			t.Fatalf("snapshot = %+v", s)
		}
		w.sleep(12 * time.Second)
		w.pay.setDown(false)
		w.note("PayBy back")
		w.sleep(5 * time.Second)
		s := w.r.Snapshot()
		if s.TokenURL == "" || s.MerchantOrderNo != "S-X1-109-1" || s.Notice != NoticeNone {
			t.Fatalf("after recovery: %+v", s)
		}
		w.payNow("S-X1-109-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.finish("payby_down_then_up")
	})
	scenario(t, "payby_down_while_qr_shown", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T120", time.Hour)
		w.scan("T120")
		w.pay.setDown(true)
		w.note("PayBy unreachable while the QR is shown")
		w.sleep(5 * time.Second)
		if s := w.r.Snapshot(); s.Notice != NoticeNone || s.TokenURL == "" || s.Health.PayBy != DeviceDown {
			t.Fatalf("after 5 s of failures: %+v", s)
		}
		w.sleep(9 * time.Second)
		if s := w.r.Snapshot(); s.Notice != NoticePaymentUnavailable || s.TokenURL == "" {
			t.Fatalf("after 14 s of failures: %+v", s)
		}
		w.pay.setDown(false)
		w.note("PayBy back")
		w.sleep(2 * time.Second)
		if s := w.r.Snapshot(); s.Notice != NoticeNone || s.Health.PayBy != DeviceOK {
			t.Fatalf("after recovery: %+v", s)
		}
		w.payNow("S-X1-120-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.finish("payby_down_while_qr_shown")
	})
	scenario(t, "rescan_pays_open_order", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T121", time.Hour)
		w.scan("T121")
		w.pay.setDown(true)
		w.do(Cancel{}) // the cancel cannot reach PayBy: order 1 stays payable
		w.pay.setDown(false)
		w.payNow("S-X1-121-1") // the driver pays the QR still on the phone
		w.note("the driver scans again before the reconciler ran")
		w.scan("T121")
		w.want(Open)
		w.wantPulses(1)
		paid := 0
		w.pay.mu.Lock()
		for _, o := range w.pay.orders {
			if o.status == OrderPaid {
				paid++
			}
			if o.status == OrderCreated {
				t.Error("an order left payable")
			}
		}
		w.pay.mu.Unlock()
		if paid != 1 {
			t.Fatalf("%d orders paid", paid)
		}
		w.finish("rescan_pays_open_order")
	})
	scenario(t, "rescan_tops_up_late_payment", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T131", 50*time.Minute)
		w.scan("T131") // AED 10 for up to an hour
		w.pay.setDown(true)
		w.do(Cancel{}) // the cancel cannot reach PayBy: order 1 stays payable
		w.payNow("S-X1-131-1")
		w.note("PayBy stays unreachable from the lane; the driver comes back 75 minutes later")
		w.sleep(75 * time.Minute)
		w.pay.setDown(false)
		w.scan("T131") // 2h05m: AED 30, of which 10 paid more than 10 minutes ago
		w.want(FeeDue)
		s := w.r.Snapshot()
		if s.Due != 2*hourly || s.Paid != hourly || s.TokenURL == "" {
			t.Fatalf("top-up: due %d paid %d token %q (%s)", s.Due, s.Paid, s.TokenURL, s.MerchantOrderNo)
		}
		w.wantPulses(0)
		w.payNow(s.MerchantOrderNo)
		w.sleep(3 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		var total money.Fils
		w.pay.mu.Lock()
		for no, o := range w.pay.orders {
			if o.status == OrderPaid {
				total += o.amount
			}
			if o.status == OrderCreated {
				t.Errorf("order %s left payable", no)
			}
		}
		w.pay.mu.Unlock()
		if total != 3*hourly {
			t.Fatalf("paid %d in all, want %d", total, 3*hourly)
		}
		w.finish("rescan_tops_up_late_payment")
	})
	scenario(t, "payby_down_unable_to_collect", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T110", time.Hour)
		w.pay.setDown(true)
		w.scan("T110")
		w.do(CallAttendant{})
		if !w.r.Snapshot().AttendantCalled {
			t.Fatal("attendant not called")
		}
		if err := w.do(UnableToCollect{Attendant: "a1", Reason: "PayBy down"}); err != nil {
			t.Fatal(err)
		}
		w.want(Open)
		w.wantPulses(1)
		u, _ := w.j.Unresolved(context.Background())
		found := false
		for _, e := range u {
			found = found || (e.Kind == UnresolvedUnableToCollect && e.Amount == hourly)
		}
		if !found {
			t.Fatalf("unable to collect not listed: %+v", u)
		}
		w.pay.setDown(false)
		w.sleep(31 * time.Second) // the reconciler settles the abandoned order
		if st := w.pay.state("S-X1-110-1").Status; st == OrderCreated {
			t.Fatal("abandoned order left payable")
		}
		w.finish("payby_down_unable_to_collect")
	})
	scenario(t, "relay_gone_mid_visit", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T111", time.Hour)
		w.scan("T111")
		w.gate.fail = true
		w.r.Device(DevRelay, DeviceDown)
		w.want(Fault)
		w.sleep(100 * time.Millisecond)
		if w.pay.state("S-X1-111-1").Status != OrderFailed {
			t.Fatal("order not cancelled on fault")
		}
		if err := w.do(ClearFault{Attendant: "a1"}); !errors.Is(err, ErrNotNow) {
			t.Fatalf("clear with relay down: %v", err)
		}
		w.scan("T111") // ignored while faulted
		w.want(Fault)
		w.gate.fail = false
		w.r.Device(DevRelay, DeviceOK)
		synctest.Wait()
		if err := w.do(ClearFault{Attendant: "a1"}); err != nil {
			t.Fatal(err)
		}
		w.want(Idle)
		w.wantPulses(0)
		w.finish("relay_gone_mid_visit")
	})
	scenario(t, "pulse_fails_after_payment", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T112", time.Hour)
		w.scan("T112")
		w.gate.fail = true
		w.payNow("S-X1-112-1")
		w.sleep(2 * time.Second)
		w.want(Fault)
		u, _ := w.j.Unresolved(context.Background())
		if len(u) != 1 || u[0].Kind != UnresolvedPaidNotExited {
			t.Fatalf("paid driver without record: %+v", u)
		}
		w.gate.fail = false
		w.r.Device(DevRelay, DeviceOK)
		synctest.Wait()
		w.do(ClearFault{Attendant: "a1"})
		w.scan("T112") // within exit grace: opens without a second charge
		w.want(Open)
		w.wantPulses(1)
		w.finish("pulse_fails_after_payment")
	})
	scenario(t, "attendant", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		if err := w.do(ManualOpen{Attendant: "a1"}); !errors.Is(err, ErrReasonRequired) {
			t.Fatalf("manual open without reason: %v", err)
		}
		if err := w.do(ManualOpen{Reason: "x"}); !errors.Is(err, ErrAttendantRequired) {
			t.Fatalf("manual open without attendant: %v", err)
		}
		w.do(ManualOpen{Attendant: "a1", Reason: "ambulance"})
		w.want(Open)
		w.wantPulses(1)
		w.sleep(10 * time.Second)

		w.note("lost ticket")
		w.do(LostTicket{Attendant: "a1"})
		w.want(FeeDue)
		if s := w.r.Snapshot(); s.Due != 15000 || s.Ticket == nil || !s.Ticket.Lost {
			t.Fatalf("lost: %+v", s)
		}
		w.note("exemption of the lost-ticket visit")
		if err := w.do(Exempt{Attendant: "a1"}); !errors.Is(err, ErrReasonRequired) {
			t.Fatal(err)
		}
		w.do(Exempt{Attendant: "a1", Reason: "disabled driver"})
		w.want(Open)
		w.wantPulses(2)
		w.sleep(10 * time.Second)

		w.note("typed code")
		w.ticket("T113", time.Hour)
		w.do(EnterCode{Attendant: "a1", Code: "T113"})
		w.want(FeeDue)
		w.do(ManualOpen{Attendant: "a1", Reason: "scanner broken, paid cash"})
		w.want(Open)
		w.wantPulses(3)
		w.sleep(10 * time.Second)

		w.note("close and open the lane")
		w.do(CloseLane{Attendant: "a1", Reason: "cleaning"})
		w.want(Closed)
		w.ticket("T114", time.Minute)
		w.scan("T114")
		w.want(Closed)
		w.do(OpenLane{Attendant: "a1"})
		w.want(Idle)

		w.note("refunds")
		w.ticket("T115", time.Hour)
		w.scan("T115")
		w.payNow("S-X1-115-1")
		w.sleep(12 * time.Second)
		if err := w.do(Refund{Attendant: "a1", MerchantOrderNo: "S-X1-115-1", Amount: 20000, Reason: "too much"}); !errors.Is(err, ErrAmount) {
			t.Fatalf("refund above paid: %v", err)
		}
		if err := w.do(Refund{Attendant: "a1", MerchantOrderNo: "S-X1-115-1", Amount: 400, Reason: "validation forgotten"}); err != nil {
			t.Fatal(err)
		}
		if err := w.do(Refund{Attendant: "a1", MerchantOrderNo: "S-X1-115-1", Reason: "complaint"}); err != nil {
			t.Fatal(err)
		}
		if p, _ := w.j.Paid(context.Background(), "S-X1-115-1"); p != 0 {
			t.Fatalf("left after full refund: %v", p)
		}
		if err := w.do(StartShift{Attendant: "a1"}); err != nil {
			t.Fatal(err)
		}
		if err := w.do(Resolve{Attendant: "a1", MerchantOrderNo: "S-X1-115-1"}); !errors.Is(err, ErrReasonRequired) {
			t.Fatal(err)
		}
		if err := w.do(Cancel{}); !errors.Is(err, ErrNotNow) {
			t.Fatalf("cancel in idle: %v", err)
		}
		w.wantPulses(4)
		w.finish("attendant")
	})
	scenario(t, "validation", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T117", 2*time.Hour+10*time.Minute)
		w.scan("T117")
		if s := w.r.Snapshot(); s.Due != 3*hourly || s.MerchantOrderNo != "S-X1-117-1" {
			t.Fatalf("before validation: %+v", s)
		}
		w.scan("NOT-A-STAMP") // ignored
		w.scan("V1H")         // the cinema's stamp: one hour off
		s := w.r.Snapshot()
		if s.Due != 2*hourly || s.MerchantOrderNo != "S-X1-117-2" || s.TokenURL == "" || s.Validation != "one hour" {
			t.Fatalf("after validation: %+v", s)
		}
		if w.pay.state("S-X1-117-1").Status != OrderFailed {
			t.Fatal("the order at the old price is still payable")
		}
		w.payNow("S-X1-117-2")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.sleep(10 * time.Second)

		w.note("a validation that covers the stay, applied by the attendant")
		w.ticket("T118", time.Hour)
		w.scan("T118")
		if err := w.do(Validate{Attendant: "a1", Code: "VFREE"}); err != nil {
			t.Fatal(err)
		}
		w.want(Open)
		w.wantPulses(2)
		if s := w.r.Snapshot(); s.Cause != CauseValidation {
			t.Fatalf("cause = %s", s.Cause)
		}
		w.finish("validation")
	})
	scenario(t, "above_max_amount", func(t *testing.T) {
		w := newWorld(t, Params{MaxAmount: 2 * hourly}, nil)
		w.ticket("T119", 5*time.Hour-time.Minute)
		w.scan("T119")
		w.want(FeeDue)
		if s := w.r.Snapshot(); s.Notice != NoticeCallAttendant || s.TokenURL != "" || s.Due != 5*hourly {
			t.Fatalf("above the QR limit: %+v", s)
		}
		for _, c := range w.pay.calls {
			if strings.HasPrefix(c, "create") {
				t.Fatal("order created above the limit")
			}
		}
		w.note("a validation lowers it, still above the QR limit")
		w.do(Validate{Attendant: "a1", Code: "V1H"})
		if s := w.r.Snapshot(); s.Due != 4*hourly || s.TokenURL != "" {
			t.Fatalf("still above: %+v", s)
		}
		w.do(UnableToCollect{Attendant: "a1", Reason: "card only, driver has cash"})
		w.want(Open)
		w.wantPulses(1)
		w.finish("above_max_amount")
	})
	scenario(t, "ledger_fails", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T116", time.Hour)
		w.scan("T116")
		w.j.mu.Lock()
		w.j.fail = true
		w.j.mu.Unlock()
		w.payNow("S-X1-116-1")
		w.sleep(2 * time.Second)
		w.want(Fault)
		w.wantPulses(0) // never a pulse the ledger did not record
		w.finish("ledger_fails")
	})
}

func (w *world) payNowOK(no string) bool { return w.pay.pay(no) }

// Amounts in transcripts are plain fils; keep money imported for clarity.
var _ = money.Fils(0)
