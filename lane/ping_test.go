package lane

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Ping answers while the runner's loop turns, times out while the loop is
// stuck inside a step, and says ErrStopped once the runner has stopped:
// the systemd watchdog is fed from it.
func TestPingFollowsTheLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := make(chan struct{})
		var stuck atomic.Bool
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, err := New(ctx, Params{Site: "S", Lane: "X1", ExitGrace: 10 * time.Minute}, Deps{
			Tickets: &fakeTickets{}, Payments: &fakePay{}, Gate: &fakeGate{}, Journal: newJournal(),
			Trace: func(time.Time, Event, []Command, State, error) {
				if stuck.Load() {
					<-hang
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ping := func() error {
			pctx, pcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer pcancel()
			return r.Ping(pctx)
		}
		if err := ping(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ping before Run: %v", err)
		}
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		if err := ping(); err != nil {
			t.Fatalf("ping of a running lane: %v", err)
		}
		stuck.Store(true)
		go r.Do(context.Background(), Cancel{}) // the loop hangs in its trace
		synctest.Wait()
		if err := ping(); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("ping of a stuck lane: %v", err)
		}
		stuck.Store(false)
		close(hang)
		if err := ping(); err != nil {
			t.Fatalf("ping after the loop moved on: %v", err)
		}
		cancel()
		<-done
		if err := ping(); !errors.Is(err, ErrStopped) {
			t.Fatalf("ping of a stopped lane: %v", err)
		}
	})
}
