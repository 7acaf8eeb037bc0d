package lane

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// Subscribers get the current snapshot at once, then the latest after
// each change; a slow one skips intermediate snapshots but never the last;
// cancel closes the channel.
func TestSubscribeLatestWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		ch, cancel := w.r.Subscribe()
		first := <-ch
		if !first.Ready || first.State != Idle {
			t.Fatalf("first snapshot = %+v", first)
		}
		w.ticket("T1", time.Hour)
		w.scan("T1") // several snapshots: checking, fee due, QR shown
		time.Sleep(time.Second)
		synctest.Wait()
		s := <-ch
		if s.State != FeeDue || s.TokenURL == "" || s.Seq <= first.Seq {
			t.Fatalf("latest snapshot = %+v", s)
		}
		select {
		case extra := <-ch:
			t.Fatalf("more than the latest snapshot queued: %+v", extra)
		default:
		}
		cancel()
		cancel() // idempotent
		if _, ok := <-ch; ok {
			t.Fatal("channel not closed by cancel")
		}
		if err := w.r.Do(context.Background(), Cancel{}); err != nil {
			t.Fatal(err)
		}
		w.stop()
		if err := w.r.Do(context.Background(), Cancel{}); err != ErrStopped {
			t.Fatalf("Do after stop: %v", err)
		}
	})
}

// A refund recorded as sent whose outcome was never recorded (the lane
// stopped mid-refund) is sent again under the same number at start.
func TestPendingRefundResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, func(w *world) {
			w.j.seedPaid(3, "S/E1/9", "S-X1-9", "S-X1-9-1", 1000, time.Now().Add(-time.Hour))
			w.j.refunds["S-X1-9-1-Rx"] = RefundRec{RefundNo: "S-X1-9-1-Rx", No: "S-X1-9-1", Amount: 400,
				At: time.Now().Add(-time.Hour), Attendant: "a1", Reason: "r", Status: "pending"}
		})
		time.Sleep(time.Second)
		synctest.Wait()
		if got := w.pay.refunds["S-X1-9-1-Rx"]; got != 400 {
			t.Fatalf("refund not re-sent: %v", w.pay.refunds)
		}
		if p, _ := w.j.Paid(context.Background(), "S-X1-9-1"); p != 600 {
			t.Fatalf("refundable after the re-sent refund = %v, want 6.00", p)
		}
		w.stop()
	})
}

// A clean stop while the barrier is opening waits for the pulse and
// records it.
func TestStopRecordsPulseInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		if err := w.r.Do(context.Background(), ManualOpen{Attendant: "a1", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if w.r.Snapshot().State != Opening {
			t.Fatalf("state = %s", w.r.Snapshot().State)
		}
		w.stop() // during the 500 ms pulse
		if w.gate.count() != 1 {
			t.Fatalf("pulses = %d", w.gate.count())
		}
		w.j.mu.Lock()
		defer w.j.mu.Unlock()
		for a, st := range w.j.pulses {
			if st != "pulsed" {
				t.Fatalf("authorisation %s left %s", a, st)
			}
		}
	})
}

// InFlight names what the runner's goroutines are busy with, so that a
// stop that overruns its limit can say what it waits for.
func TestInFlightNamesThePulse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		time.Sleep(time.Second) // past the start-up reconcile pass
		synctest.Wait()
		if got := w.r.InFlight(); len(got) != 0 {
			t.Fatalf("idle: in flight %v", got)
		}
		if err := w.r.Do(context.Background(), ManualOpen{Attendant: "a1", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := strings.Join(w.r.InFlight(), ","); got != "pulse" {
			t.Fatalf("during the pulse: in flight %q, want pulse", got)
		}
		time.Sleep(pulseTime)
		synctest.Wait()
		if got := w.r.InFlight(); len(got) != 0 {
			t.Fatalf("after the pulse: in flight %v", got)
		}
		w.stop()
	})
}

// seqLog is the order in which journal writes committed and gate calls
// began and ended.
type seqLog struct {
	mu    sync.Mutex
	lines []string
}

func (s *seqLog) add(line string) {
	s.mu.Lock()
	s.lines = append(s.lines, line)
	s.mu.Unlock()
}

func (s *seqLog) get() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// seqJournal logs each record once it is committed.
type seqJournal struct {
	*fakeJournal
	seq *seqLog
}

func (j seqJournal) Record(ctx context.Context, r Record) error {
	err := j.fakeJournal.Record(ctx, r)
	if err == nil {
		line := r.recordName()
		switch x := r.(type) {
		case ExitRec:
			line += " " + x.Auth
		case OpenRec:
			line += " " + x.Auth
		case PulseStartRec:
			line += " " + x.Auth
		case PulseRec:
			line += " " + x.Auth
		}
		j.seq.add(line)
	}
	return err
}

// seqGate logs when Open begins and ends, and what the journal held for
// the pulse when the ON frame would be sent.
type seqGate struct {
	*fakeGate
	j   *fakeJournal
	seq *seqLog
}

func (g seqGate) Open(ctx context.Context, cause string) error {
	g.j.mu.Lock()
	var states []string
	for a, st := range g.j.pulses {
		states = append(states, a+"="+st)
	}
	g.j.mu.Unlock()
	sort.Strings(states)
	g.seq.add("gate open " + strings.Join(states, ","))
	err := g.fakeGate.Open(ctx, cause)
	g.seq.add("gate done")
	return err
}

// The pulse is recorded as started before the gate is called (before the
// ON frame) and as completed after it returned (after OFF), for an exit
// and for a manual open alike.
func TestPulseStartRecordedBeforeGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		seq := &seqLog{}
		j := newJournal()
		tk := &fakeTickets{}
		tk.add("T1", time.Now().Add(-5*time.Minute)) // free: entry grace
		g := &fakeGate{}
		ctx, cancel := context.WithCancel(context.Background())
		r, err := New(ctx, Params{Site: "S", Lane: "X1", Epoch: "e"}, Deps{Tickets: tk, Payments: &fakePay{},
			Gate: seqGate{fakeGate: g, j: j, seq: seq}, Journal: seqJournal{fakeJournal: j, seq: seq}})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		synctest.Wait()

		r.Scan("T1")
		time.Sleep(time.Second)
		synctest.Wait()
		if err := r.Do(context.Background(), ManualOpen{Attendant: "a1", Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		synctest.Wait()

		var got []string
		for _, l := range seq.get() {
			if !strings.HasPrefix(l, "visit") && !strings.HasPrefix(l, "audit") {
				got = append(got, l)
			}
		}
		want := []string{
			"exit e-1-1", "pulse_start e-1-1", "gate open e-1-1=started", "gate done", "pulse e-1-1",
			"open e-0-2", "pulse_start e-0-2", "gate open e-0-2=started,e-1-1=pulsed", "gate done", "pulse e-0-2",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("order around the pulses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// A pulse whose start cannot be recorded is not sent: the lane waits for
// an attendant with a ledger fault.
func TestPulseNotSentWithoutStartRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.j.mu.Lock()
		w.j.failOn = "pulse_start"
		w.j.mu.Unlock()
		w.ticket("T1", 5*time.Minute)
		w.scan("T1")
		w.sleep(time.Second)
		if n := w.gate.count(); n != 0 {
			t.Fatalf("%d pulses without a start record", n)
		}
		if s := w.r.Snapshot(); s.State != Fault || s.Notice != NoticeLedgerFault {
			t.Fatalf("state %s notice %s, want fault ledger_fault", s.State, s.Notice)
		}
		w.j.mu.Lock()
		defer w.j.mu.Unlock()
		for a, st := range w.j.pulses {
			if st != "authorised" {
				t.Fatalf("authorisation %s is %s, want authorised (never started)", a, st)
			}
		}
	})
}
