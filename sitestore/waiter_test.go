package sitestore

import (
	"context"
	"testing"
	"time"
)

// listeners counts the store's connections listening on the finished
// commands.
func listeners(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query = 'LISTEN "' || $1 || '"'`, CommandDoneChannel).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Many waits share the waiter's one LISTEN connection, each returns
// when its own command is done, and a wait started across a lost
// connection still learns of its command's finish.
func TestCommandWaiterShared(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	w := s.NewCommandWaiter()
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()
	waitFor(t, "the waiter listening", w.Listening)

	const n = 8
	ids := make([]int64, n)
	type answer struct {
		c   Command
		err error
	}
	answers := make([]chan answer, n)
	for i := range ids {
		id, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdCloseLane, Actor: "ann", Reason: "night"})
		if err != nil {
			t.Fatal(err)
		}
		ids[i], answers[i] = id, make(chan answer, 1)
		go func() {
			c, err := w.Wait(ctx, id)
			answers[i] <- answer{c, err}
		}()
	}
	waitFor(t, "every wait registered", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.waits) == n
	})
	if got := listeners(t, s); got != 1 {
		t.Fatalf("%d waits hold %d LISTEN connections, want 1", n, got)
	}
	if _, err := s.TakeCommands(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	// Finished in reverse: each wait returns with its own command.
	for i := n - 1; i >= 0; i-- {
		if err := s.FinishCommand(ctx, ids[i], true, "closed"); err != nil {
			t.Fatal(err)
		}
		select {
		case a := <-answers[i]:
			if a.err != nil || a.c.ID != ids[i] || !a.c.OK || a.c.Done.IsZero() {
				t.Fatalf("wait %d: %+v %v", i, a.c, a.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("wait %d did not return when its command was done", i)
		}
	}
	waitFor(t, "the waits unregistered", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.waits) == 0
	})

	// The listener's connection is lost; a command finished before it
	// is back is read after the reconnection.
	id, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdOpenLane, Actor: "ann", Reason: "morning"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCommands(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	got := make(chan answer, 1)
	go func() {
		c, err := w.Wait(ctx, id)
		got <- answer{c, err}
	}()
	waitFor(t, "the wait registered", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.waits) == 1
	})
	if _, err := s.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishCommand(ctx, id, true, "opened"); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-got:
		if a.err != nil || !a.c.OK || a.c.Result != "opened" {
			t.Fatalf("wait across a reconnection: %+v %v", a.c, a.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait across a reconnection did not return")
	}
	waitFor(t, "the waiter listening again", func() bool { return w.Listening() && listeners(t, s) == 1 })

	// A command no lane takes expires, and its wait learns of it.
	down, err := s.SubmitCommand(ctx, Command{Lane: "DOWN", Kind: CmdOpenBarrier, Actor: "ann", Reason: "stuck car"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE lane_commands SET created_at = now() - interval '119 seconds' WHERE id = $1`, down); err != nil {
		t.Fatal(err)
	}
	c, err := w.Wait(ctx, down)
	if err != nil || c.OK || c.Result != ResultExpired {
		t.Fatalf("waited for a lane that is down: %+v, %v", c, err)
	}
	// A wait ends with its context.
	pending, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdCloseLane, Actor: "ann", Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	if c, err := w.Wait(wctx, pending); err == nil || c.ID != pending || !c.Done.IsZero() {
		t.Fatalf("a wait past its context: %+v %v", c, err)
	}
	cancel()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter did not stop with its context")
	}
	if w.Listening() {
		t.Error("listening after Run returned")
	}
}

// Without Run, a waiter's waits poll: slower, never stuck.
func TestCommandWaiterPollsWhenNotListening(t *testing.T) {
	s := newStore(t)
	ctx := ctxT(t)
	w := s.NewCommandWaiter()
	id, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdCloseLane, Actor: "ann", Reason: "night"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.TakeCommands(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		s.FinishCommand(context.Background(), id, true, "closed")
	}()
	start := time.Now()
	c, err := w.Wait(ctx, id)
	if err != nil || !c.OK {
		t.Fatalf("%+v %v", c, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the polling wait took %v", d)
	}
}
