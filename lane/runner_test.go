package lane

import (
	"context"
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
