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
