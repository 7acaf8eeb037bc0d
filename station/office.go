package station

// The lane and the site office, through the site store: the lane
// publishes its status (the facts of what its driver sees, which the
// office words with the kiosk's catalogue; its devices; how far its
// records are behind) at every change and at a heartbeat, and carries out
// the attendant actions the office asks of it, as actions of its own
// audited with "office:<user>" as the attendant. Both run on goroutines of
// their own and never hold up the runner or a scan: a store that is down
// costs the office its view of the lane, never the lane its work.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/exitlane/exitlane/internal/buildinfo"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sitestore"
)

// Status publication and command parameters.
const (
	statusEvery     = 250 * time.Millisecond // at most one status write per this
	statusHeartbeat = 5 * time.Second        // a write even without a change
	commandPoll     = 5 * time.Second        // a look for commands without a NOTIFY
	commandTimeout  = 10 * time.Second       // one take or finish at the store
	// commandRun bounds one action (a refund waits for PayBy).
	commandRun = time.Minute
)

// Attendant names the office user an office command is audited under.
func officeAttendant(actor string) string { return "office:" + actor }

// storeLog logs a part's store failures once, and its recovery once.
type storeLog struct {
	log  *slog.Logger
	what string
	down bool
}

func (l *storeLog) failed(err error) {
	if !l.down {
		l.log.Warn("site store: "+l.what+" failed; trying again", "err", err)
	}
	l.down = true
}

func (l *storeLog) ok() {
	if l.down {
		l.log.Info("site store: " + l.what + " works again")
	}
	l.down = false
}

// publishStatus publishes the lane's status until ctx ends: after every
// snapshot (coalesced to one write per statusEvery) and every
// statusHeartbeat without one. While the store is down it writes only at
// the heartbeat.
func (s *Station) publishStatus(ctx context.Context) {
	snaps, cancel := s.r.Subscribe()
	defer cancel()
	plog := &storeLog{log: s.log.With("component", "status_publisher"), what: "lane status"}
	heartbeat := time.NewTicker(statusHeartbeat)
	defer heartbeat.Stop()
	coalesce := time.NewTimer(time.Hour)
	coalesce.Stop()
	defer coalesce.Stop()
	var (
		seq     uint64
		snap    = s.r.Snapshot()
		dirty   = true // a change not yet written
		armed   = false
		written time.Time
	)
	version := buildinfo.Read().Version
	write := func() {
		seq++
		st := s.laneStatus(ctx, snap, seq, version)
		wctx, cancel := context.WithTimeout(ctx, s.storeTimeout)
		err := s.store.PublishLaneStatus(wctx, st)
		cancel()
		written = time.Now()
		if err != nil {
			if ctx.Err() == nil {
				plog.failed(err)
			}
			return
		}
		dirty = false
		plog.ok()
	}
	write()
	for {
		select {
		case <-ctx.Done():
			return
		case sn, ok := <-snaps:
			if !ok {
				return
			}
			snap, dirty = sn, true
		case <-heartbeat.C:
			write()
			continue
		case <-coalesce.C:
			armed = false
		}
		if !dirty || armed || plog.down {
			continue // a write is due already, or the heartbeat retries
		}
		if wait := statusEvery - time.Since(written); wait > 0 {
			coalesce.Reset(wait)
			armed = true
			continue
		}
		write()
	}
}

// laneStatus is the status published for snap.
func (s *Station) laneStatus(ctx context.Context, snap lane.Snapshot, seq uint64, version string) sitestore.LaneStatus {
	h := snap.Health
	st := sitestore.LaneStatus{
		Lane: s.r.Params().Lane, Seq: seq, LaneTime: time.Now(),
		State: snap.State.String(), QR: snap.TokenURL != "", Visit: snap.Visit,
		Fee: snap.Fee, Due: snap.Due, OrderNo: snap.MerchantOrderNo, Deadline: snap.Deadline,
		Devices: map[string]string{
			sitestore.DevScanner: devState(h.Scanner), sitestore.DevRelay: devState(h.Relay),
			sitestore.DevLoop: devState(h.Loop), sitestore.DevPrinter: devState(h.Printer),
			sitestore.DevPayBy: devState(h.PayBy), sitestore.DevLedger: devState(h.Ledger),
		},
		LaneOpen: snap.LaneOpen, AttendantCalled: snap.AttendantCalled, Ready: snap.Ready,
		Unresolved: snap.Unresolved, Version: version,
	}
	if snap.Notice != lane.NoticeNone {
		st.Notice = snap.Notice.String()
	}
	if snap.Cause != lane.CauseNone {
		st.Cause = snap.Cause.String()
	}
	if snap.Ticket != nil {
		st.Ticket = snap.Ticket.Serial
	}
	// The ledger's side: what the store has not received yet, and the
	// latest visit. Local SQLite reads; a failure leaves the fields zero.
	if last, err := s.db.OutboxSeq(ctx); err == nil {
		shipped := s.ship.Health().Shipped
		st.StoreBehind = max(last-shipped, 0)
		if st.StoreBehind > 0 {
			if rows, err := s.db.Outbox(ctx, shipped, 1); err == nil && len(rows) == 1 {
				st.OldestUnshipped = rows[0].At
			}
		}
	}
	st.LastVisit, _ = s.db.LastVisitAt(ctx)
	return st
}

func devState(d lane.DeviceState) string {
	switch d {
	case lane.DeviceOK:
		return sitestore.DevUp
	case lane.DeviceDown:
		return sitestore.DevDown
	case lane.DeviceAbsent:
		return sitestore.DevAbsent
	}
	return sitestore.DevUnknown
}

// runCommands carries out the office's commands for this lane until ctx
// ends: at once when the store announces one (ListenCommands), and every
// commandPoll (Options.CommandPoll) in case an announcement was missed.
// It first answers the commands an earlier run took and never answered
// (InterruptTaken).
func (s *Station) runCommands(ctx context.Context) {
	laneID := s.r.Params().Lane
	wake := make(chan struct{}, 1)
	nudge := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	s.parts.goRun(partCommandListener, func() {
		_ = s.store.ListenCommands(ctx, func(l string) {
			if l == "" || l == laneID {
				nudge()
			}
		})
	})
	clog := &storeLog{log: s.log.With("component", "office_commands"), what: "office commands"}
	var unfinished []finished // carried out, the answer not yet stored
	started := false          // InterruptTaken done
	poll := time.NewTicker(s.cmdPoll)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
		unfinished = s.finishCommands(ctx, unfinished, clog)
		if len(unfinished) > 0 {
			continue // the store is down; take nothing new meanwhile
		}
		tctx, cancel := context.WithTimeout(ctx, commandTimeout)
		if !started {
			// Before the first take: what an earlier run took and never
			// answered was interrupted by its stop.
			ids, err := s.store.InterruptTaken(tctx, laneID)
			if err != nil {
				cancel()
				if ctx.Err() == nil {
					clog.failed(err)
				}
				continue
			}
			if len(ids) > 0 {
				clog.log.Warn("office commands taken by an earlier run and never answered: answered as interrupted; the lane's audit says whether they were carried out", "commands", ids)
			}
			started = true
		}
		cmds, err := s.store.TakeCommands(tctx, laneID)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				clog.failed(err)
			}
			continue
		}
		clog.ok()
		for _, c := range cmds {
			ok, result := s.command(ctx, c)
			unfinished = s.finishCommands(ctx, append(unfinished, finished{id: c.ID, ok: ok, result: result}), clog)
		}
	}
}

// finished is a command's answer.
type finished struct {
	id     int64
	ok     bool
	result string
}

// finishCommands stores the answers, in order; it returns those the store
// did not take (to try again at the next look).
func (s *Station) finishCommands(ctx context.Context, fs []finished, clog *storeLog) []finished {
	for i, f := range fs {
		// A lane that is stopping still answers what it did, briefly.
		limit := commandTimeout
		if ctx.Err() != nil {
			limit = s.storeTimeout
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), limit)
		err := s.store.FinishCommand(fctx, f.id, f.ok, f.result)
		cancel()
		switch {
		case errors.Is(err, sitestore.ErrBadCommand), errors.Is(err, sitestore.ErrNotFound):
			clog.log.Warn("office command answer not stored", "command", f.id, "err", err)
		case err != nil:
			clog.failed(err)
			return fs[i:]
		}
	}
	return nil
}

// command carries out c as the lane's own attendant action and says how
// it went, in words.
func (s *Station) command(ctx context.Context, c sitestore.Command) (ok bool, result string) {
	who := officeAttendant(c.Actor)
	var a lane.Action
	done := "done"
	switch c.Kind {
	case sitestore.CmdRefund:
		a = lane.Refund{Attendant: who, MerchantOrderNo: c.OrderNo, Amount: c.Amount, Reason: c.Reason}
		done = "refunded in full"
		if c.Amount > 0 {
			done = "refunded " + c.Amount.String()
		}
	case sitestore.CmdResolve:
		a = lane.Resolve{Attendant: who, MerchantOrderNo: c.OrderNo, Visit: c.Visit, Reason: c.Reason}
		done = "resolved"
	case sitestore.CmdCloseLane:
		a, done = lane.CloseLane{Attendant: who, Reason: c.Reason}, "lane closed"
	case sitestore.CmdOpenLane:
		a, done = lane.OpenLane{Attendant: who}, "lane open"
	case sitestore.CmdClearFault:
		a, done = lane.ClearFault{Attendant: who}, "fault cleared"
	case sitestore.CmdOpenBarrier:
		if !s.remoteOpen {
			s.log.Warn("office command refused: remote opening is disabled", "command", c.ID, "attendant", who)
			return false, "remote opening is disabled at this lane"
		}
		a, done = lane.ManualOpen{Attendant: who, Reason: c.Reason}, "barrier opened"
	default:
		return false, fmt.Sprintf("unknown command %q", c.Kind)
	}
	actx, cancel := context.WithTimeout(ctx, commandRun)
	err := s.r.Do(actx, a)
	cancel()
	if err != nil {
		why := err.Error()
		if errors.Is(err, lane.ErrNotNow) {
			why = "not possible now: " + s.r.Snapshot().State.String()
		}
		s.log.Info("office command refused", "command", c.ID, "kind", c.Kind, "attendant", who, "err", why)
		return false, why
	}
	s.log.Info("office command done", "command", c.ID, "kind", c.Kind, "attendant", who, "reason", c.Reason)
	return true, done
}
