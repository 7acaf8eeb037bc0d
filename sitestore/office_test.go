package sitestore

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
)

// waitFor polls cond until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestLaneStatusPublishListen: a lane's status is upserted and announced;
// the office lists every lane, also one that only replicated.
func TestLaneStatusPublishListen(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	newLane(t, s, "B").write(visitRec(1, "T1", t0, 1000, 0)) // replicated, never published

	var mu sync.Mutex
	var heard []string
	done := make(chan error, 1)
	go func() {
		done <- s.ListenLaneStatus(ctx, func(l string) {
			mu.Lock()
			heard = append(heard, l)
			mu.Unlock()
		})
	}()
	heardN := func() int { mu.Lock(); defer mu.Unlock(); return len(heard) }
	// Listening: a publication is heard. Before the LISTEN it may be
	// missed, so publish until one is heard (each is an upsert).
	st := LaneStatus{Lane: "A", Seq: 1, LaneTime: t0, State: "fee_due", QR: true,
		Visit: 7, Ticket: "S-7", Fee: 1500, Due: 1500, OrderNo: "MALL1-A-7-1", Deadline: t0.Add(3 * time.Minute),
		Devices:  map[string]string{DevScanner: DevUp, DevRelay: DevUp, DevLoop: DevAbsent, DevPayBy: DevDown},
		LaneOpen: true, Ready: true, Unresolved: 2, StoreBehind: 3, OldestUnshipped: t0.Add(-time.Second),
		LastVisit: t0.Add(-time.Minute), Version: "v1.2.3"}
	waitFor(t, "the first publication heard", func() bool {
		if err := s.PublishLaneStatus(ctx, st); err != nil {
			t.Fatal(err)
		}
		return heardN() > 0
	})
	before, _, err := s.LaneStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || !before[0].QR || before[0].Cause != "" {
		t.Fatalf("the first publication %+v", before)
	}
	st.Seq, st.State, st.QR, st.Cause = 2, "open", false, "paid"
	n := heardN()
	if err := s.PublishLaneStatus(ctx, st); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second publication heard", func() bool { return heardN() > n })

	got, now, err := s.LaneStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(now) > time.Minute || now.Location() != time.UTC {
		t.Fatalf("store now %v", now)
	}
	if len(got) != 2 || got[0].Lane != "A" || got[1].Lane != "B" {
		t.Fatalf("lanes %+v", got)
	}
	a, b := got[0], got[1]
	if b.State != StateUnknown || b.Seq != 0 || !b.Updated.IsZero() {
		t.Fatalf("replicated-only lane %+v", b)
	}
	if a.Seq != 2 || a.State != "open" || a.Cause != "paid" || a.QR || a.Fee != 1500 || a.Due != 1500 ||
		a.OrderNo != "MALL1-A-7-1" || a.Visit != 7 || a.Ticket != "S-7" || !a.Deadline.Equal(t0.Add(3*time.Minute)) ||
		a.Devices[DevPayBy] != DevDown || a.Devices[DevLoop] != DevAbsent || !a.LaneOpen || !a.Ready || a.Unresolved != 2 ||
		a.StoreBehind != 3 || !a.OldestUnshipped.Equal(t0.Add(-time.Second)) || !a.LastVisit.Equal(t0.Add(-time.Minute)) ||
		a.Version != "v1.2.3" || !a.LaneTime.Equal(t0) || a.LaneTime.Location() != time.UTC {
		t.Fatalf("lane A %+v", a)
	}
	if a.Updated.IsZero() || a.Updated.After(now) || a.Updated.Before(before[0].Updated) {
		t.Fatalf("updated %v (before %v, now %v)", a.Updated, before[0].Updated, now)
	}
	if n := one[int64](t, s, `SELECT count(*) FROM lane_status`); n != 1 {
		t.Fatalf("%d status rows: an upsert adds none", n)
	}
	// Another site's lanes are not this site's.
	other, err := New(s.pool.Config().ConnString(), Options{Site: "OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.PublishLaneStatus(ctx, LaneStatus{Lane: "Z", State: "idle"}); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.LaneStatuses(ctx); len(got) != 2 {
		t.Fatalf("another site's lane listed: %+v", got)
	}
	mu.Lock()
	for _, l := range heard {
		if l != "A" {
			t.Errorf("heard lane %q", l)
		}
	}
	mu.Unlock()
	if err := s.PublishLaneStatus(ctx, LaneStatus{}); err == nil {
		t.Fatal("a status without a lane published")
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("listen ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not end with its context")
	}
}

// TestListenLaneStatusReconnects: a listener whose connection is killed
// listens again and first reports every lane (what it may have missed).
func TestListenLaneStatusReconnects(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	if err := s.PublishLaneStatus(ctx, LaneStatus{Lane: "A", State: "idle"}); err != nil {
		t.Fatal(err)
	}
	heard := make(chan string, 100)
	done := make(chan error, 1)
	go func() { done <- s.ListenLaneStatus(ctx, func(l string) { heard <- l }) }()
	next := func() string {
		select {
		case l := <-heard:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("nothing heard")
			return ""
		}
	}
	if l := next(); l != "A" {
		t.Fatalf("first heard %q", l)
	}
	if _, err := s.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%'`); err != nil {
		t.Fatal(err)
	}
	if l := next(); l != "A" {
		t.Fatalf("after a reconnection heard %q", l)
	}
	if err := s.PublishLaneStatus(ctx, LaneStatus{Lane: "C", State: "idle"}); err != nil {
		t.Fatal(err)
	}
	if l := next(); l != "C" {
		t.Fatalf("heard %q", l)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not end with its context")
	}
}

func TestSubmitCommandValidates(t *testing.T) {
	s := newStore(t)
	ctx := ctxT(t)
	for _, c := range []struct {
		cmd  Command
		want error
	}{
		{Command{Lane: "A", Kind: "explode", Actor: "ann", Reason: "r"}, ErrBadCommand},
		{Command{Kind: CmdCloseLane, Actor: "ann", Reason: "r"}, ErrBadCommand},
		{Command{Lane: "A", Kind: CmdCloseLane, Reason: "r"}, ErrActorRequired},
		{Command{Lane: "A", Kind: CmdCloseLane, Actor: "ann"}, ErrReasonRequired},
		{Command{Lane: "A", Kind: CmdOpenBarrier, Actor: "ann", Reason: "  "}, ErrReasonRequired},
		{Command{Lane: "A", Kind: CmdRefund, Actor: "ann", Reason: "r"}, ErrBadCommand},
		{Command{Lane: "A", Kind: CmdRefund, Actor: "ann", Reason: "r", OrderNo: "X", Amount: -1}, ErrBadCommand},
		{Command{Lane: "A", Kind: CmdResolve, Actor: "ann", Reason: "r"}, ErrBadCommand},
	} {
		if _, err := s.SubmitCommand(ctx, c.cmd); !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.cmd, err, c.want)
		}
	}
	if n := one[int64](t, s, `SELECT count(*) FROM lane_commands`); n != 0 {
		t.Fatalf("%d commands stored", n)
	}
	// No reason needed to open a lane or clear a fault.
	for _, k := range []string{CmdOpenLane, CmdClearFault} {
		if _, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: k, Actor: "ann"}); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if !errors.Is(ErrActorRequired, lane.ErrAttendantRequired) {
		t.Fatal("ErrActorRequired is the lane's")
	}
}

// TestCommandRoundTrip: submitted, announced, taken once, finished, waited for.
func TestCommandRoundTrip(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	lanes := make(chan string, 10)
	go s.ListenCommands(ctx, func(l string) { lanes <- l })
	select {
	case l := <-lanes:
		if l != "" {
			t.Fatalf("first call %q, want \"\" (take what was missed)", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("not listening")
	}
	id, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdRefund, OrderNo: "MALL1-A-7-1", Amount: 500,
		Actor: " ann ", Reason: "charged twice"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case l := <-lanes:
		if l != "A" {
			t.Fatalf("announced for %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the command was not announced")
	}
	c, err := s.Command(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != id || c.Lane != "A" || c.Kind != CmdRefund || c.OrderNo != "MALL1-A-7-1" || c.Amount != 500 ||
		c.Actor != "ann" || c.Reason != "charged twice" || c.Created.IsZero() || !c.Taken.IsZero() || !c.Done.IsZero() || c.OK {
		t.Fatalf("stored %+v", c)
	}
	if got, err := s.TakeCommands(ctx, "B"); err != nil || len(got) != 0 {
		t.Fatalf("lane B took %+v, %v", got, err)
	}

	waited := make(chan Command, 1)
	werr := make(chan error, 1)
	go func() {
		c, err := s.WaitCommand(ctx, id)
		waited <- c
		werr <- err
	}()
	took, err := s.TakeCommands(ctx, "A")
	if err != nil || len(took) != 1 || took[0].ID != id || took[0].Taken.IsZero() || took[0].Amount != 500 {
		t.Fatalf("took %+v, %v", took, err)
	}
	if again, err := s.TakeCommands(ctx, "A"); err != nil || len(again) != 0 {
		t.Fatalf("taken twice: %+v, %v", again, err)
	}
	if err := s.FinishCommand(ctx, id, true, "refunded AED 5.00"); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-waited:
		if err := <-werr; err != nil {
			t.Fatal(err)
		}
		if !c.OK || c.Result != "refunded AED 5.00" || c.Done.IsZero() || c.Done.Before(c.Taken) {
			t.Fatalf("waited %+v", c)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WaitCommand did not return when the command was done")
	}
	// Waiting for a finished command returns at once; finishing it twice
	// or an unknown one is refused.
	if c, err := s.WaitCommand(ctx, id); err != nil || !c.OK {
		t.Fatalf("wait again: %+v, %v", c, err)
	}
	if err := s.FinishCommand(ctx, id, false, "again"); !errors.Is(err, ErrBadCommand) {
		t.Fatalf("finished twice: %v", err)
	}
	if err := s.FinishCommand(ctx, 9999, true, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("finish unknown: %v", err)
	}
	if _, err := s.Command(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown command: %v", err)
	}
	// A wait ends with its context.
	id2, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdCloseLane, Actor: "ann", Reason: "cleaning"})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	if c, err := s.WaitCommand(wctx, id2); !errors.Is(err, context.DeadlineExceeded) || c.ID != id2 || !c.Done.IsZero() {
		t.Fatalf("wait for a command nobody takes: %+v, %v", c, err)
	}
}

// TestTakeOnce: two lanes' executors (or one lane started twice) taking
// at once: each command is taken by exactly one, in order.
func TestTakeOnce(t *testing.T) {
	s := newStore(t)
	ctx := ctxT(t)
	const n = 60
	want := map[int64]bool{}
	for i := range n {
		kind := CmdCloseLane
		if i%2 == 1 {
			kind = CmdOpenLane
		}
		id, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: kind, Actor: "ann", Reason: "r"})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	var mu sync.Mutex
	taken := map[int64]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				got, err := s.TakeCommands(ctx, "A")
				if err != nil {
					t.Error(err)
					return
				}
				for i, c := range got {
					if i > 0 && c.ID <= got[i-1].ID {
						t.Errorf("taken out of order: %d after %d", c.ID, got[i-1].ID)
					}
				}
				mu.Lock()
				for _, c := range got {
					taken[c.ID]++
				}
				mu.Unlock()
			}
		})
		// More commands arrive while they take.
		id, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdClearFault, Actor: "bob"})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	wg.Wait()
	rest, err := s.TakeCommands(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rest {
		taken[c.ID]++
	}
	if len(taken) != len(want) {
		t.Fatalf("%d commands taken, want %d", len(taken), len(want))
	}
	for id, k := range taken {
		if k != 1 || !want[id] {
			t.Fatalf("command %d taken %d times", id, k)
		}
	}
}

// TestCommandsExpire: a command its lane did not take within
// CommandExpiry is finished as expired, never handed to the lane; a
// waiter hears it; the audit list shows it.
func TestCommandsExpire(t *testing.T) {
	s := newStore(t)
	ctx := ctxT(t)
	stale, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdCloseLane, Actor: "ann", Reason: "night"})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdOpenLane, Actor: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE lane_commands SET created_at = now() - interval '121 seconds' WHERE id = $1`, stale); err != nil {
		t.Fatal(err)
	}
	got, err := s.TakeCommands(ctx, "A")
	if err != nil || len(got) != 1 || got[0].ID != fresh {
		t.Fatalf("took %+v, %v", got, err)
	}
	c, err := s.WaitCommand(ctx, stale)
	if err != nil || c.OK || c.Result != ResultExpired || c.Done.IsZero() {
		t.Fatalf("stale command %+v, %v", c, err)
	}

	// A lane that is down never takes: its waiter learns of the expiry
	// when it is due, and so does the audit list.
	down, err := s.SubmitCommand(ctx, Command{Lane: "DOWN", Kind: CmdOpenBarrier, Actor: "ann", Reason: "stuck car"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE lane_commands SET created_at = now() - interval '119 seconds' WHERE id = $1`, down); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err = s.WaitCommand(ctx, down)
	if err != nil || c.OK || c.Result != ResultExpired {
		t.Fatalf("waited for a lane that is down: %+v, %v", c, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the wait took %v", d)
	}
	late, err := s.SubmitCommand(ctx, Command{Lane: "DOWN", Kind: CmdCloseLane, Actor: "ann", Reason: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE lane_commands SET created_at = now() - interval '3 minutes' WHERE id = $1`, late); err != nil {
		t.Fatal(err)
	}
	list, err := s.Commands(ctx, time.Time{}, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 4 {
		t.Fatalf("%d commands listed", len(list))
	}
	for _, c := range list {
		if c.ID == late && (c.Done.IsZero() || c.Result != ResultExpired) {
			t.Fatalf("the audit list shows an expired command pending: %+v", c)
		}
	}
	if got, _ := s.TakeCommands(ctx, "DOWN"); len(got) != 0 {
		t.Fatalf("the lane back up took expired commands: %+v", got)
	}
}

// TestCommandsList: newest first, within [from, to), limited.
func TestCommandsList(t *testing.T) {
	s := newStore(t)
	ctx := ctxT(t)
	var ids []int64
	for i := range 3 {
		id, err := s.SubmitCommand(ctx, Command{Lane: "A", Kind: CmdResolve, Visit: int64(i + 1), Actor: "ann", Reason: "cash"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		if _, err := s.Pool().Exec(ctx, `UPDATE lane_commands SET created_at = $2 WHERE id = $1`, id, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	// (Back-dated: expired by the listing; the test is about the order.)
	all, err := s.Commands(ctx, time.Time{}, time.Time{}, 0)
	if err != nil || len(all) != 3 || all[0].ID != ids[2] || all[2].ID != ids[0] || all[0].Visit != 3 {
		t.Fatalf("all %+v, %v", all, err)
	}
	some, err := s.Commands(ctx, t0.Add(time.Minute), t0.Add(2*time.Minute), 10)
	if err != nil || len(some) != 1 || some[0].ID != ids[1] {
		t.Fatalf("range %+v, %v", some, err)
	}
	if lim, _ := s.Commands(ctx, t0, time.Time{}, 2); len(lim) != 2 || lim[0].ID != ids[2] {
		t.Fatalf("limited %+v", lim)
	}
}

// TestInterruptTaken: a lane that starts answers what an earlier run took
// and never answered; others' and answered commands are left alone.
func TestInterruptTaken(t *testing.T) {
	s := newStore(t)
	ctx := ctxT(t)
	submit := func(l string) int64 {
		id, err := s.SubmitCommand(ctx, Command{Lane: l, Kind: CmdCloseLane, Actor: "ann", Reason: "r"})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	taken, answered, taken2, other := submit("A"), submit("A"), submit("A"), submit("B")
	if got, err := s.TakeCommands(ctx, "A"); err != nil || len(got) != 3 {
		t.Fatalf("took %+v, %v", got, err)
	}
	if _, err := s.TakeCommands(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishCommand(ctx, answered, true, "lane closed"); err != nil {
		t.Fatal(err)
	}
	waiting := submit("A") // after the takes: not taken
	ids, err := s.InterruptTaken(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || !(ids[0] == taken && ids[1] == taken2 || ids[0] == taken2 && ids[1] == taken) {
		t.Fatalf("interrupted %v, want %d and %d (taken, unanswered)", ids, taken, taken2)
	}
	for _, id := range ids {
		if c, _ := s.Command(ctx, id); c.OK || c.Result != ResultInterrupted || c.Done.IsZero() {
			t.Fatalf("command %d: %+v", id, c)
		}
	}
	if c, _ := s.Command(ctx, answered); !c.OK || c.Result != "lane closed" {
		t.Fatalf("answered command changed: %+v", c)
	}
	if c, _ := s.Command(ctx, waiting); !c.Taken.IsZero() || !c.Done.IsZero() {
		t.Fatalf("waiting command changed: %+v", c)
	}
	if c, _ := s.Command(ctx, other); !c.Done.IsZero() {
		t.Fatalf("lane B's command changed: %+v", c)
	}
}
