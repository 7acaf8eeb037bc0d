package sitestore

// The site office and the lanes, through the store (migration 005): each
// lane publishes its status (PublishLaneStatus, at every change and at a
// heartbeat) and the office reads and hears them (LaneStatuses,
// ListenLaneStatus); the office submits attendant commands
// (SubmitCommand), the lane takes each once (TakeCommands), carries it out
// as an attendant action of its own, audited in its ledger, and finishes
// it (FinishCommand), which the office waits for (WaitCommand).
//
// The store is only the mailbox: a lane decides whether a command is
// possible, exactly as for its own admin screen, and a command a lane did
// not take in time expires rather than firing later.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// Channels of the office's NOTIFYs.
const (
	// LaneStatusChannel: a lane published its status; payload "site/lane".
	LaneStatusChannel = "exitlane_lane_status"
	// LaneCommandChannel: a command was submitted; payload the lane.
	LaneCommandChannel = "exitlane_lane_command"
	// CommandDoneChannel: a command was finished; payload its id.
	CommandDoneChannel = "exitlane_command_done"
)

// StateUnknown is the State of a lane that replicated records but never
// published its status (an older exitlane, or not started since).
const StateUnknown = "unknown"

// Device names in LaneStatus.Devices, and their states.
const (
	DevScanner = "scanner"
	DevRelay   = "relay"
	DevLoop    = "loop"
	DevPrinter = "printer"
	DevPayBy   = "payby"
	DevLedger  = "ledger"

	DevUp      = "up"
	DevDown    = "down"
	DevAbsent  = "absent"
	DevUnknown = "unknown"
)

// LaneStatus is what a lane tells the office about itself: its state and
// the facts of what its driver sees (the office words them with the
// kiosk's catalogue), its devices, and how far its records are behind in
// the store. Instants are UTC.
type LaneStatus struct {
	Lane string `json:"lane"`
	// Seq counts the lane's publications since it started (a restarted
	// lane begins again at 1).
	Seq uint64 `json:"seq"`
	// LaneTime is the lane's clock when it published, Updated the
	// store's when it was written: their difference is the lane's skew,
	// and an old Updated a lane that stopped reporting.
	LaneTime time.Time `json:"lane_time,omitzero"`
	Updated  time.Time `json:"updated,omitzero"`
	// State is the lane's (lane.State's names: idle, checking, fee_due,
	// opening, open, notice, fault, closed), or StateUnknown.
	State string `json:"state"`
	// Notice is the lane's notice kind (lane.NoticeKind's names; "" none).
	Notice string `json:"notice,omitempty"`
	// Cause is why the barrier is opening (opening, open): lane.Cause's
	// text form ("paid", "grace", "manual"...; "" none).
	Cause string `json:"cause,omitempty"`
	// QR says a payment code is on the screen (fee_due).
	QR    bool  `json:"qr"`
	Visit int64 `json:"visit,omitempty"`
	// Ticket is the serial of the ticket being served.
	Ticket string     `json:"ticket,omitempty"`
	Fee    money.Fils `json:"fee"`
	Due    money.Fils `json:"due"`
	// OrderNo is the merchant order number of the QR shown.
	OrderNo string `json:"order_no,omitempty"`
	// Deadline is when the current state times out (the payment window).
	Deadline time.Time `json:"deadline,omitzero"`
	// Devices maps DevScanner, DevRelay, DevLoop, DevPrinter, DevPayBy and
	// DevLedger to DevUp, DevDown, DevAbsent or DevUnknown.
	Devices         map[string]string `json:"devices,omitempty"`
	LaneOpen        bool              `json:"lane_open"`
	AttendantCalled bool              `json:"attendant_called"`
	Ready           bool              `json:"ready"`
	// Unresolved counts the lane's entries needing an attendant.
	Unresolved int `json:"unresolved"`
	// StoreBehind counts the lane's records not yet in the store,
	// OldestUnshipped is the time of the oldest of them.
	StoreBehind     int64     `json:"store_behind"`
	OldestUnshipped time.Time `json:"oldest_unshipped,omitzero"`
	// LastVisit is when the lane's latest visit started.
	LastVisit time.Time `json:"last_visit,omitzero"`
	Version   string    `json:"version,omitempty"`
}

// PublishLaneStatus writes st as its lane's current status (Updated: the
// store's now()) and announces it on LaneStatusChannel in the same
// transaction.
func (s *Store) PublishLaneStatus(ctx context.Context, st LaneStatus) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if st.Lane == "" {
		return errors.New("sitestore: publish lane status: no lane")
	}
	if st.LaneTime.IsZero() {
		st.LaneTime = time.Now()
	}
	utc(&st.LaneTime, &st.Deadline, &st.OldestUnshipped, &st.LastVisit)
	st.Updated = time.Time{} // the store's, set on read
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sitestore: publish lane status: %w", err)
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO lane_status (site, lane, seq, lane_time, updated_at, status)
			VALUES ($1, $2, $3, $4, now(), $5)
			ON CONFLICT (site, lane) DO UPDATE SET seq = EXCLUDED.seq, lane_time = EXCLUDED.lane_time,
				updated_at = now(), status = EXCLUDED.status`,
			s.site, st.Lane, int64(st.Seq), st.LaneTime, data); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, LaneStatusChannel, s.site+"/"+st.Lane)
		return err
	})
	if err != nil {
		return fmt.Errorf("sitestore: publish lane status of %s: %w", st.Lane, err)
	}
	return nil
}

// LaneStatuses returns every lane of the site, in lane order, with the
// store's clock (now): the lanes that published their status, and those
// that only replicated records (State StateUnknown).
func (s *Store) LaneStatuses(ctx context.Context) ([]LaneStatus, time.Time, error) {
	if err := s.ready(ctx); err != nil {
		return nil, time.Time{}, err
	}
	var out []LaneStatus
	var now time.Time
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		out = nil
		if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&now); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT l.lane, st.seq, st.lane_time, st.updated_at, st.status
			FROM (SELECT lane FROM lanes WHERE site = $1 UNION SELECT lane FROM lane_status WHERE site = $1) l
			LEFT JOIN lane_status st ON st.site = $1 AND st.lane = l.lane
			ORDER BY l.lane`, s.site)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LaneStatus, error) {
			var id string
			var seq *int64
			var laneTime, updated *time.Time
			var data []byte
			if err := r.Scan(&id, &seq, &laneTime, &updated, &data); err != nil {
				return LaneStatus{}, err
			}
			if seq == nil {
				return LaneStatus{Lane: id, State: StateUnknown}, nil
			}
			var st LaneStatus
			if err := json.Unmarshal(data, &st); err != nil {
				return st, fmt.Errorf("lane %s: %w", id, err)
			}
			st.Lane, st.Seq, st.LaneTime, st.Updated = id, uint64(*seq), utcOf(laneTime), utcOf(updated)
			if st.State == "" {
				st.State = StateUnknown
			}
			return st, nil
		})
		return err
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("sitestore: lane statuses: %w", err)
	}
	return out, now.UTC(), nil
}

// ListenLaneStatus calls f with the lane of every status published at
// this site, on its goroutine, until ctx ends (it then returns ctx's
// error). It listens on a connection of its own and, when that fails,
// connects again with backoff (200 ms doubling to 10 s); after every
// (re)connection it first calls f for every lane that has a status, since
// publications may have been missed meanwhile. It returns at once on a
// schema this exitlane does not know.
func (s *Store) ListenLaneStatus(ctx context.Context, f func(lane string)) error {
	prefix := s.site + "/"
	return s.listenLoop(ctx, LaneStatusChannel, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT lane FROM lane_status WHERE site = $1 ORDER BY lane`, s.site)
		if err != nil {
			return err
		}
		lanes, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		for _, l := range lanes {
			f(l)
		}
		return nil
	}, func(payload string) {
		if l, ok := strings.CutPrefix(payload, prefix); ok && l != "" {
			f(l)
		}
	})
}

// ListenCommands calls f with each lane a command is submitted for (a
// lane's executor filters its own), like ListenLaneStatus: until ctx
// ends, reconnecting with backoff, and after every (re)connection once
// with lane "" (take what may have been missed).
func (s *Store) ListenCommands(ctx context.Context, f func(lane string)) error {
	return s.listenLoop(ctx, LaneCommandChannel, func(context.Context) error {
		f("")
		return nil
	}, f)
}

// Backoff of the listeners' reconnections.
const (
	listenBackoffFirst = 200 * time.Millisecond
	listenBackoffMax   = 10 * time.Second
)

// listenLoop listens on channel until ctx ends, again after each failure
// with backoff: once listening it calls listening, then f for each
// payload. It returns ctx's error, or a *SchemaError at once.
func (s *Store) listenLoop(ctx context.Context, channel string, listening func(context.Context) error, f func(payload string)) error {
	backoff := listenBackoffFirst
	for {
		err := s.listenOnce(ctx, channel, func(ctx context.Context) error {
			backoff = listenBackoffFirst
			return listening(ctx)
		}, f)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var se *SchemaError
		if errors.As(err, &se) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOnce listens on channel on a connection of its own until ctx ends
// or the connection fails.
func (s *Store) listenOnce(ctx context.Context, channel string, listening func(context.Context) error, f func(payload string)) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("sitestore: listen %s: %w", channel, err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn.Close(cctx)
		cancel()
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		return fmt.Errorf("sitestore: listen %s: %w", channel, err)
	}
	if listening != nil {
		if err := listening(ctx); err != nil {
			return fmt.Errorf("sitestore: listen %s: %w", channel, err)
		}
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("sitestore: listen %s: %w", channel, err)
		}
		f(n.Payload)
	}
}

// Command kinds: the attendant actions the office may ask of a lane.
const (
	CmdRefund      = "refund"       // refund OrderNo; Amount 0: in full
	CmdResolve     = "resolve"      // resolve "paid, not exited" (OrderNo) or "unable to collect" (Visit)
	CmdCloseLane   = "close_lane"   // stop serving tickets
	CmdOpenLane    = "open_lane"    // serve tickets again
	CmdClearFault  = "clear_fault"  // leave the Fault state
	CmdOpenBarrier = "open_barrier" // pulse the barrier once (only where the lane allows remote opening)
)

// CommandKinds lists the kinds SubmitCommand accepts.
var CommandKinds = []string{CmdRefund, CmdResolve, CmdCloseLane, CmdOpenLane, CmdClearFault, CmdOpenBarrier}

// CommandExpiry is how long a command waits for its lane: one not taken
// by then is finished as expired (ResultExpired), never carried out.
const CommandExpiry = 2 * time.Minute

// ResultExpired is the result of a command its lane did not take in time.
const ResultExpired = "expired: the lane did not take it in time"

// Errors of SubmitCommand (and FinishCommand).
var (
	// ErrBadCommand: an unknown kind, a missing lane, order or visit, a
	// negative amount; or a command finished twice.
	ErrBadCommand = errors.New("sitestore: invalid command")
	// ErrActorRequired: every command names the user who gave it.
	ErrActorRequired = lane.ErrAttendantRequired
)

// Command is an attendant action the office asked a lane to carry out.
// Instants are UTC; zero Taken or Done: not yet.
type Command struct {
	ID   int64  `json:"id"`
	Lane string `json:"lane"`
	Kind string `json:"kind"`
	// OrderNo is the merchant order number (refund, resolve).
	OrderNo string `json:"order_no,omitempty"`
	// Amount is a partial refund's (0: the whole order).
	Amount money.Fils `json:"amount,omitempty"`
	// Visit is the visit of an "unable to collect" entry (resolve).
	Visit int64 `json:"visit,omitempty"`
	// Actor is the office user; the lane audits the action as
	// "office:<actor>".
	Actor   string    `json:"actor"`
	Reason  string    `json:"reason,omitempty"`
	Created time.Time `json:"created"`
	Taken   time.Time `json:"taken,omitzero"`
	Done    time.Time `json:"done,omitzero"`
	// OK and Result are the lane's answer once Done: Result says what
	// happened or why not, in words.
	OK     bool   `json:"ok"`
	Result string `json:"result,omitempty"`
}

// commandArgs is the args column.
type commandArgs struct {
	OrderNo string     `json:"order_no,omitempty"`
	Amount  money.Fils `json:"amount,omitempty"`
	Visit   int64      `json:"visit,omitempty"`
}

// validate checks a command before it is stored.
func (c Command) validate() error {
	known := false
	for _, k := range CommandKinds {
		known = known || c.Kind == k
	}
	switch {
	case !known:
		return fmt.Errorf("%w: unknown kind %q", ErrBadCommand, c.Kind)
	case c.Lane == "":
		return fmt.Errorf("%w: no lane", ErrBadCommand)
	case strings.TrimSpace(c.Actor) == "":
		return ErrActorRequired
	case strings.TrimSpace(c.Reason) == "" && c.Kind != CmdOpenLane && c.Kind != CmdClearFault:
		return ErrReasonRequired
	case c.Amount < 0:
		return fmt.Errorf("%w: negative amount", ErrBadCommand)
	case c.Kind == CmdRefund && c.OrderNo == "":
		return fmt.Errorf("%w: a refund needs the order number", ErrBadCommand)
	case c.Kind == CmdResolve && c.OrderNo == "" && c.Visit <= 0:
		return fmt.Errorf("%w: a resolution needs the order number or the visit", ErrBadCommand)
	}
	return nil
}

// SubmitCommand stores c for its lane (ID, Created, Taken, Done, OK and
// Result are the store's) and announces it on LaneCommandChannel in the
// same transaction. It returns the command's id. Refused: an unknown kind
// or no lane (ErrBadCommand), no actor (ErrActorRequired), no reason
// except to open a lane or clear a fault (ErrReasonRequired), a refund
// without its order, a resolution without order or visit.
func (s *Store) SubmitCommand(ctx context.Context, c Command) (int64, error) {
	if err := c.validate(); err != nil {
		return 0, fmt.Errorf("sitestore: submit command: %w", err)
	}
	if err := s.ready(ctx); err != nil {
		return 0, err
	}
	args, err := json.Marshal(commandArgs{OrderNo: c.OrderNo, Amount: c.Amount, Visit: c.Visit})
	if err != nil {
		return 0, fmt.Errorf("sitestore: submit command: %w", err)
	}
	var id int64
	err = s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO lane_commands (site, lane, kind, args, actor, reason)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			s.site, c.Lane, c.Kind, args, strings.TrimSpace(c.Actor), strings.TrimSpace(c.Reason)).Scan(&id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, LaneCommandChannel, c.Lane)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sitestore: submit command: %w", err)
	}
	return id, nil
}

const commandCols = `id, lane, kind, args, actor, reason, created_at, taken_at, done_at, ok, result`

func scanCommand(r pgx.CollectableRow) (Command, error) {
	var c Command
	var args []byte
	var taken, done *time.Time
	var ok *bool
	if err := r.Scan(&c.ID, &c.Lane, &c.Kind, &args, &c.Actor, &c.Reason, &c.Created, &taken, &done, &ok, &c.Result); err != nil {
		return c, err
	}
	var a commandArgs
	if err := json.Unmarshal(args, &a); err != nil {
		return c, fmt.Errorf("command %d: args: %w", c.ID, err)
	}
	c.OrderNo, c.Amount, c.Visit = a.OrderNo, a.Amount, a.Visit
	c.Created, c.Taken, c.Done = c.Created.UTC(), utcOf(taken), utcOf(done)
	c.OK = ok != nil && *ok
	return c, nil
}

// TakeCommands takes the commands waiting for laneID, oldest first: each
// is taken once, by one caller (concurrent takers get disjoint sets).
// Commands that waited longer than CommandExpiry are finished instead
// (not OK, ResultExpired) and not returned: a close or an open asked for
// minutes ago must not fire now.
func (s *Store) TakeCommands(ctx context.Context, laneID string) ([]Command, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	var out []Command
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := s.expire(ctx, tx, laneID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE lane_commands SET taken_at = now()
			WHERE id IN (SELECT id FROM lane_commands WHERE site = $1 AND lane = $2 AND taken_at IS NULL
				ORDER BY id FOR UPDATE SKIP LOCKED)
			RETURNING `+commandCols, s.site, laneID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scanCommand)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: take commands of %s: %w", laneID, err)
	}
	// UPDATE ... RETURNING keeps no order.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// expire finishes the commands of laneID ("": every lane of the site)
// that waited longer than CommandExpiry, announcing each.
func (s *Store) expire(ctx context.Context, tx pgx.Tx, laneID string) error {
	rows, err := tx.Query(ctx, `UPDATE lane_commands SET taken_at = now(), done_at = now(), ok = false, result = $3
		WHERE id IN (SELECT id FROM lane_commands WHERE site = $1 AND ($2 = '' OR lane = $2) AND taken_at IS NULL
			AND created_at < now() - $4 * interval '1 millisecond' FOR UPDATE SKIP LOCKED)
		RETURNING id`, s.site, laneID, ResultExpired, CommandExpiry.Milliseconds())
	if err != nil {
		return err
	}
	expired, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, id := range expired {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, CommandDoneChannel, strconv.FormatInt(id, 10)); err != nil {
			return err
		}
	}
	return nil
}

// expireAll finishes the site's commands that waited too long: a lane
// that is down takes none, and the office must not show them pending.
func (s *Store) expireAll(ctx context.Context) error {
	return s.tx(ctx, func(tx pgx.Tx) error { return s.expire(ctx, tx, "") })
}

// FinishCommand records the lane's answer to command id (ok, and in
// words what happened or why not) and announces it on CommandDoneChannel.
// A command finished already is refused (ErrBadCommand), an unknown id is
// ErrNotFound.
func (s *Store) FinishCommand(ctx context.Context, id int64, ok bool, result string) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var done *time.Time
		if err := tx.QueryRow(ctx, `SELECT done_at FROM lane_commands WHERE site = $1 AND id = $2 FOR UPDATE`, s.site, id).Scan(&done); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		if done != nil {
			return fmt.Errorf("%w: finished already", ErrBadCommand)
		}
		if _, err := tx.Exec(ctx, `UPDATE lane_commands SET taken_at = COALESCE(taken_at, now()), done_at = now(), ok = $2, result = $3
			WHERE id = $1`, id, ok, result); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, CommandDoneChannel, strconv.FormatInt(id, 10))
		return err
	})
	if err != nil {
		return fmt.Errorf("sitestore: finish command %d: %w", id, err)
	}
	return nil
}

// ResultInterrupted is the result of a command its lane took and never
// answered: the lane stopped while carrying it out.
const ResultInterrupted = "interrupted: the lane stopped while carrying it out; see the lane's audit"

// InterruptTaken finishes laneID's commands taken and never answered (not
// OK, ResultInterrupted) and returns their ids. A lane calls it when it
// starts, before it takes any: nothing of its own is in flight then, so
// what it finds was taken by an earlier run that stopped mid-action.
// Whether the action happened is in the lane's ledger (its audit).
func (s *Store) InterruptTaken(ctx context.Context, laneID string) ([]int64, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	var ids []int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE lane_commands SET done_at = now(), ok = false, result = $3
			WHERE site = $1 AND lane = $2 AND taken_at IS NOT NULL AND done_at IS NULL RETURNING id`, s.site, laneID, ResultInterrupted)
		if err != nil {
			return err
		}
		if ids, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, CommandDoneChannel, strconv.FormatInt(id, 10)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: interrupt taken commands of %s: %w", laneID, err)
	}
	return ids, nil
}

// Command returns command id (ErrNotFound: none at this site).
func (s *Store) Command(ctx context.Context, id int64) (Command, error) {
	if err := s.ready(ctx); err != nil {
		return Command{}, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+commandCols+` FROM lane_commands WHERE site = $1 AND id = $2`, s.site, id)
	if err != nil {
		return Command{}, fmt.Errorf("sitestore: command %d: %w", id, err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanCommand)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("sitestore: command %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sitestore: command %d: %w", id, err)
	}
	return c, nil
}

// WaitCommand returns command id once it is done (Done set), or when ctx
// ends with the command as last read and ctx's error: a CommandWaiter of
// its own, listening on a connection of its own for this one wait. A
// command its lane does not take is finished as expired when its
// CommandExpiry passes, so a wait for a lane that is down ends then. A
// process that waits often shares one CommandWaiter instead.
func (s *Store) WaitCommand(ctx context.Context, id int64) (Command, error) {
	c, err := s.Command(ctx, id)
	if err != nil || !c.Done.IsZero() {
		return c, err
	}
	w := s.NewCommandWaiter()
	lctx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		_ = w.Run(lctx) // a failure leaves the wait polling
	}()
	defer func() {
		stop()
		<-ran
	}()
	return w.Wait(ctx, id)
}

// Commands lists the commands submitted in [from, to) (zero from or to:
// unbounded), newest first, at most limit (0: 1000): the office's audit
// of what it asked of the lanes and what they answered. Commands past
// their expiry are finished as expired first.
func (s *Store) Commands(ctx context.Context, from, to time.Time, limit int) ([]Command, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	if err := s.expireAll(ctx); err != nil {
		return nil, fmt.Errorf("sitestore: commands: %w", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+commandCols+` FROM lane_commands
		WHERE site = $1 AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at < $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`, s.site, ts(from), ts(to), limit)
	if err != nil {
		return nil, fmt.Errorf("sitestore: commands: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanCommand)
	if err != nil {
		return nil, fmt.Errorf("sitestore: commands: %w", err)
	}
	return out, nil
}

// utc converts instants to UTC in place (zero stays zero).
func utc(ts ...*time.Time) {
	for _, t := range ts {
		if !t.IsZero() {
			*t = t.UTC()
		}
	}
}

// CommandWaiter is one LISTEN on CommandDoneChannel shared by many
// waits, so a wait costs no connection of its own: Run listens (with
// backoff after a failure) and wakes the waits of each finished id;
// after every (re)connection it wakes them all to read again, since a
// finish may have gone unheard meanwhile. While it is not listening its
// waits read every WaiterPoll.
type CommandWaiter struct {
	s       *Store
	mu      sync.Mutex
	waits   map[int64]map[chan struct{}]struct{}
	heard   bool // listening now
	polling time.Duration
}

// WaiterPoll is how often a CommandWaiter's waits read their command
// while it is not listening.
const WaiterPoll = 500 * time.Millisecond

// NewCommandWaiter returns a waiter on the store; Run makes it listen.
func (s *Store) NewCommandWaiter() *CommandWaiter {
	return &CommandWaiter{s: s, waits: map[int64]map[chan struct{}]struct{}{}, polling: WaiterPoll}
}

// Run listens until ctx ends and returns its error (or a *SchemaError
// at once).
func (w *CommandWaiter) Run(ctx context.Context) error {
	defer w.setListening(false)
	return w.s.listenLoop(ctx, CommandDoneChannel, func(context.Context) error {
		w.setListening(true)
		w.wake(func(int64) bool { return true })
		return nil
	}, func(payload string) {
		if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
			w.wake(func(k int64) bool { return k == id })
		}
	})
}

// Listening tells whether Run is listening now.
func (w *CommandWaiter) Listening() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.heard
}

func (w *CommandWaiter) setListening(on bool) {
	w.mu.Lock()
	w.heard = on
	w.mu.Unlock()
	if !on {
		// Waits that were waiting for a notification read again, and
		// then poll until the listener is back.
		w.wake(func(int64) bool { return true })
	}
}

// wake signals the waits whose id matches.
func (w *CommandWaiter) wake(match func(id int64) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, chs := range w.waits {
		if !match(id) {
			continue
		}
		for ch := range chs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

func (w *CommandWaiter) register(id int64) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waits[id] == nil {
		w.waits[id] = map[chan struct{}]struct{}{}
	}
	w.waits[id][ch] = struct{}{}
	return ch
}

func (w *CommandWaiter) unregister(id int64, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waits[id], ch)
	if len(w.waits[id]) == 0 {
		delete(w.waits, id)
	}
}

// Wait is Store.WaitCommand on the shared listener: it returns command
// id once it is done, or when ctx ends with the command as last read
// and ctx's error. It registers before it reads, so a finish after the
// read wakes it; one before the read is seen by the read.
func (w *CommandWaiter) Wait(ctx context.Context, id int64) (Command, error) {
	ch := w.register(id)
	defer w.unregister(id, ch)
	for {
		c, err := w.s.Command(ctx, id)
		if err != nil || !c.Done.IsZero() {
			return c, err
		}
		var timeout time.Duration = -1
		if c.Taken.IsZero() {
			// The store's clock decides the expiry; look again at least
			// every second after it is due here.
			timeout = max(time.Until(c.Created.Add(CommandExpiry)), time.Second)
		}
		if !w.Listening() && (timeout < 0 || timeout > w.polling) {
			timeout = w.polling
		}
		var due <-chan time.Time
		var t *time.Timer
		if timeout >= 0 {
			t = time.NewTimer(timeout)
			due = t.C
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-ch:
		case <-due:
			if c.Taken.IsZero() && time.Until(c.Created.Add(CommandExpiry)) <= 0 {
				err = w.s.expireAll(ctx)
			}
		}
		if t != nil {
			t.Stop()
		}
		if err != nil {
			return c, fmt.Errorf("sitestore: wait command %d: %w", id, err)
		}
	}
}
