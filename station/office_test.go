package station_test

// The lane and the site office through a real PostgreSQL: the lane's
// published status, and the office's commands carried out by the lane
// (the sandbox for PayBy, the pty relay and scanner for the devices).

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/sitestore"
	"github.com/exitlane/exitlane/station"
)

// officeLane is simtest's lane X1 with a [site_store] on a fresh database.
func officeLane(t *testing.T, remoteOpen bool) (*simtest.Rig, *config.Config, *sitestore.Store) {
	t.Helper()
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.NewDB(t)
	store, err := sitestore.New(url, sitestore.Options{Site: "GRG01"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.SiteStore.URL, cfg.SiteStore.Timeout, cfg.SiteStore.RemoteOpen = url, 2*time.Second, remoteOpen
	return rig, cfg, store
}

// statusOf returns the store's status of lane X1 (State "" if none).
func statusOf(t *testing.T, s *sitestore.Store) sitestore.LaneStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sts, _, err := s.LaneStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Lane == "X1" {
			return st
		}
	}
	return sitestore.LaneStatus{}
}

// submit submits c for lane X1 and waits for the lane's answer.
func submit(t *testing.T, s *sitestore.Store, c sitestore.Command) (sitestore.Command, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.Lane = "X1"
	start := time.Now()
	id, err := s.SubmitCommand(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	done, err := s.WaitCommand(ctx, id)
	if err != nil {
		t.Fatalf("%s: %v", c.Kind, err)
	}
	return done, time.Since(start)
}

func storeCount(t *testing.T, s *sitestore.Store, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := s.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestOfficeStatusAndCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig, cfg, store := officeLane(t, false)
	// The opening's screen stays 8 s, not the rig's 2: long enough for
	// its status to reach the store on a loaded machine.
	cfg.Lane.Opened = 8 * time.Second
	// The lane looks for commands only when the store announces one: an
	// answer within submit's deadline is the announcement's doing, not a
	// poll's.
	r, _ := start(t, cfg, station.Options{Logger: simtest.Logger(), CommandPoll: time.Hour})
	simtest.WaitFor(t, "lane ready", 10*time.Second, func() bool {
		s := r.Snapshot()
		return s.Ready && s.Health.Relay == lane.DeviceOK && s.Health.Scanner == lane.DeviceOK
	})

	// The status at rest, then a heartbeat without a change.
	var idle sitestore.LaneStatus
	simtest.WaitFor(t, "idle status at the store", 10*time.Second, func() bool {
		idle = statusOf(t, store)
		return idle.State == "idle" && idle.Ready && idle.Devices[sitestore.DevRelay] == sitestore.DevUp &&
			idle.Devices[sitestore.DevScanner] == sitestore.DevUp
	})
	if idle.QR || idle.Notice != "" || idle.Cause != "" || idle.AttendantCalled || !idle.LaneOpen || idle.Version == "" || idle.Devices[sitestore.DevLoop] != sitestore.DevAbsent ||
		idle.Devices[sitestore.DevLedger] != sitestore.DevUp || idle.LaneTime.IsZero() || idle.Updated.IsZero() {
		t.Fatalf("idle status %+v", idle)
	}
	simtest.WaitFor(t, "a heartbeat", 8*time.Second, func() bool {
		st := statusOf(t, store)
		return st.Seq > idle.Seq && st.State == "idle" && st.Updated.After(idle.Updated)
	})

	// A QR on screen: the office sees the fee and the order.
	if err := rig.Scanner.Send(rig.Ticket(t, 1001, 2*time.Hour+10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	no := "GRG01-X1-1001-1"
	simtest.WaitFor(t, "QR", 10*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	// The lane publishes at most one status a statusEvery: the number
	// while the order is being placed ("Preparing your payment code"),
	// then the QR. Wait for the QR's status, not the first with the number.
	var due sitestore.LaneStatus
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		due = statusOf(t, store)
		if due.State == "fee_due" && due.OrderNo == no && due.QR {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for the QR's fee due status at the store: %+v", due)
		}
	}
	if due.Fee != 2000 || due.Due != 2000 || !due.QR || due.Notice != "" || due.Ticket != "1001" ||
		due.Visit == 0 || due.Deadline.IsZero() || due.LastVisit.IsZero() {
		t.Fatalf("fee due status %+v", due)
	}
	if err := rig.Sandbox.Pay(no); err != nil {
		t.Fatal(err)
	}
	// The barrier opening for a payment (its screen stays lane.opened):
	// the office reads the cause, and no QR.
	simtest.WaitFor(t, "a paid opening at the store", 10*time.Second, func() bool {
		st := statusOf(t, store)
		return (st.State == "opening" || st.State == "open") && st.Cause == "paid" && !st.QR
	})
	simtest.WaitFor(t, "pulse", 10*time.Second, func() bool { n, _ := rig.Pulses(); return n == 1 })
	simtest.WaitFor(t, "idle", 20*time.Second, func() bool { return r.Snapshot().State == lane.Idle })

	// Refund from the office: at PayBy, in the lane's ledger and in the
	// store, audited under the office user.
	c, _ := submit(t, store, sitestore.Command{Kind: sitestore.CmdRefund, OrderNo: no, Amount: 500, Actor: "ann", Reason: "charged for the wrong car"})
	if !c.OK || c.Result != "refunded AED 5.00" {
		t.Fatalf("refund: %+v", c)
	}
	if o, err := rig.Sandbox.Order(no); err != nil || o.Refunded != 500 {
		t.Fatalf("sandbox order after the refund: %+v, %v", o, err)
	}
	simtest.WaitFor(t, "the refund in the store", 10*time.Second, func() bool {
		return storeCount(t, store, `SELECT count(*) FROM refunds WHERE merchant_order_no = $1 AND status = 'done'
			AND amount = 500 AND attendant = 'office:ann' AND reason = 'charged for the wrong car'`, no) == 1 &&
			storeCount(t, store, `SELECT count(*) FROM audit WHERE action = 'refund' AND attendant = 'office:ann'`) == 1
	})
	// A refund beyond what was paid: the lane's words.
	if c, _ := submit(t, store, sitestore.Command{Kind: sitestore.CmdRefund, OrderNo: no, Amount: 5000, Actor: "ann", Reason: "r"}); c.OK || c.Result == "" {
		t.Fatalf("refund of too much: %+v", c)
	}

	// Close the lane from the office: closed when the answer comes (the
	// time is a figure, printed, not asserted: a loaded machine under the
	// race detector is not the lane).
	c, took := submit(t, store, sitestore.Command{Kind: sitestore.CmdCloseLane, Actor: "ann", Reason: "cleaning the lane"})
	if !c.OK || c.Result != "lane closed" || r.Snapshot().State != lane.Closed {
		t.Fatalf("close: %+v, lane %s", c, r.Snapshot().State)
	}
	t.Logf("close_lane submitted to answered: %v", took.Round(time.Millisecond))
	simtest.WaitFor(t, "closed at the store", 5*time.Second, func() bool {
		st := statusOf(t, store)
		return st.State == "closed" && !st.LaneOpen && !st.QR
	})
	simtest.WaitFor(t, "the close audited in the store", 10*time.Second, func() bool {
		return storeCount(t, store, `SELECT count(*) FROM audit WHERE action = 'close_lane' AND attendant = 'office:ann'
			AND reason = 'cleaning the lane'`) == 1
	})
	// Not possible now: the lane says why.
	if c, _ := submit(t, store, sitestore.Command{Kind: sitestore.CmdClearFault, Actor: "ann"}); c.OK || c.Result != "not possible now: closed" {
		t.Fatalf("clear fault while closed: %+v", c)
	}
	if c, _ := submit(t, store, sitestore.Command{Kind: sitestore.CmdOpenLane, Actor: "ann"}); !c.OK || r.Snapshot().State != lane.Idle {
		t.Fatalf("open lane: %+v, lane %s", c, r.Snapshot().State)
	}

	// Remote opening is off at this lane: refused, no pulse.
	c, _ = submit(t, store, sitestore.Command{Kind: sitestore.CmdOpenBarrier, Actor: "ann", Reason: "stuck car"})
	if c.OK || c.Result != "remote opening is disabled at this lane" {
		t.Fatalf("open barrier: %+v", c)
	}
	time.Sleep(300 * time.Millisecond) // a pulse would have begun
	if n, _ := rig.Pulses(); n != 1 {
		t.Fatalf("%d pulses, want only the paid one", n)
	}
}

// TestOfficeRemoteOpenAndExpiry: a command given while the lane was
// stopped expires instead of firing when it starts, one an earlier run
// took is answered as interrupted; with remote_open an open_barrier
// pulses once.
func TestOfficeRemoteOpenAndExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig, cfg, store := officeLane(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Taken by an earlier run that stopped before answering.
	cut, err := store.SubmitCommand(ctx, sitestore.Command{Lane: "X1", Kind: sitestore.CmdCloseLane, Actor: "ann", Reason: "night"})
	if err != nil {
		t.Fatal(err)
	}
	if took, err := store.TakeCommands(ctx, "X1"); err != nil || len(took) != 1 {
		t.Fatalf("took %+v, %v", took, err)
	}
	// Given while the lane was stopped, three minutes ago.
	stale, err := store.SubmitCommand(ctx, sitestore.Command{Lane: "X1", Kind: sitestore.CmdOpenBarrier, Actor: "ann", Reason: "stuck car"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Pool().Exec(ctx, `UPDATE lane_commands SET created_at = now() - interval '3 minutes' WHERE id = $1`, stale); err != nil {
		t.Fatal(err)
	}
	r, _ := start(t, cfg, station.Options{Logger: simtest.Logger()})
	simtest.WaitFor(t, "lane ready", 10*time.Second, func() bool {
		s := r.Snapshot()
		return s.Ready && s.Health.Relay == lane.DeviceOK
	})
	c, err := store.WaitCommand(ctx, stale)
	if err != nil || c.OK || c.Result != sitestore.ResultExpired {
		t.Fatalf("stale command: %+v, %v", c, err)
	}
	if c, err := store.WaitCommand(ctx, cut); err != nil || c.OK || c.Result != sitestore.ResultInterrupted {
		t.Fatalf("command of an earlier run: %+v, %v", c, err)
	}
	if st := r.Snapshot().State; st != lane.Idle {
		t.Fatalf("lane %s after start", st)
	}
	time.Sleep(300 * time.Millisecond)
	if n, _ := rig.Pulses(); n != 0 {
		t.Fatalf("%d pulses from an expired command", n)
	}

	c, _ = submit(t, store, sitestore.Command{Kind: sitestore.CmdOpenBarrier, Actor: "sam", Reason: "stuck car"})
	if !c.OK || c.Result != "barrier opened" {
		t.Fatalf("open barrier: %+v", c)
	}
	simtest.WaitFor(t, "pulse", 5*time.Second, func() bool { n, _ := rig.Pulses(); return n == 1 })
	time.Sleep(500 * time.Millisecond)
	if n, _ := rig.Pulses(); n != 1 {
		t.Fatalf("%d pulses, want 1", n)
	}
	simtest.WaitFor(t, "the opening in the store", 10*time.Second, func() bool {
		return storeCount(t, store, `SELECT count(*) FROM barrier_events WHERE actor = 'office:sam' AND cause = 'manual'
			AND reason = 'stuck car' AND state = 'pulsed'`) == 1
	})
}

// TestOfficeStatusStoreDownAndBack: with the store down the lane goes on
// (a scan is served), logs the failed status write once, not per attempt,
// and publishes again, saying so once, when the store is back.
func TestOfficeStatusStoreDownAndBack(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url, err := c.CreateDB(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	store, err := sitestore.New(url, sitestore.Options{Site: "GRG01"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cfg.SiteStore.URL, cfg.SiteStore.Timeout = url, 500*time.Millisecond
	logs := &syncBuffer{}
	r, _ := start(t, cfg, station.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	simtest.WaitFor(t, "idle status at the store", 10*time.Second, func() bool {
		st := statusOf(t, store)
		return st.State == "idle" && st.Ready && st.Devices[sitestore.DevScanner] == sitestore.DevUp
	})

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	// Changes while down: the scan is served; no write until a heartbeat.
	if err := rig.Scanner.Send(rig.Ticket(t, 2001, 2*time.Hour+10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "QR while the store is down", 10*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	time.Sleep(11 * time.Second) // two heartbeats at least
	failed := strings.Count(logs.String(), "site store: lane status failed")
	if failed != 1 {
		t.Fatalf("the failed status write logged %d times, want once:\n%s", failed, logs.String())
	}

	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "fee due at the store after it is back", 15*time.Second, func() bool {
		st := statusOf(t, store)
		return st.State == "fee_due" && st.OrderNo == "GRG01-X1-2001-1"
	})
	// The write is seen at the store a moment before the lane logs its
	// success.
	simtest.WaitFor(t, "the recovery logged", 5*time.Second, func() bool {
		return strings.Contains(logs.String(), "site store: lane status works again")
	})
	time.Sleep(6 * time.Second) // a heartbeat more: still logged only once
	if n := strings.Count(logs.String(), "site store: lane status works again"); n != 1 {
		t.Fatalf("recovery logged %d times, want once", n)
	}
	if n := strings.Count(logs.String(), "site store: lane status failed"); n != 1 {
		t.Fatalf("the failed status write logged %d times in all, want once", n)
	}
}
