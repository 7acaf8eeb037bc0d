package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/exitlane/exitlane/money"
)

// History is what the ledger knows about one ticket.
type History struct {
	// Exited: the ticket has a live exit (pending or completed).
	Exited        bool
	ExitedAt      time.Time
	Paid          money.Fils // paid less refunded, over all its orders
	LastPaid      time.Time
	LastPaidOrder string
	Attempts      int      // highest attempt under the order key
	Open          []string // orders of the ticket not final (new, created)
}

// Lookup returns a ticket's history (by its id) and the attempts made under
// an order key. Indexed: well under a millisecond with a million visits.
func (l *DB) Lookup(ctx context.Context, ticketID, key string) (History, error) {
	var h History
	var at sql.NullInt64
	err := l.db.QueryRowContext(ctx, `SELECT at FROM exits WHERE ticket_id = ? AND ticket_id <> '' AND state IN ('pending','completed') ORDER BY at DESC LIMIT 1`, ticketID).Scan(&at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return h, fmt.Errorf("ledger: lookup: %w", err)
	default:
		h.Exited, h.ExitedAt = true, fromMS(at)
	}
	if ticketID != "" {
		var paid int64
		var last sql.NullInt64
		if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(paid - refunded), 0), MAX(paid_at) FROM orders WHERE ticket_id = ? AND ticket_id <> '' AND paid > 0`, ticketID).Scan(&paid, &last); err != nil {
			return h, fmt.Errorf("ledger: lookup: %w", err)
		}
		h.Paid, h.LastPaid = money.Fils(paid), fromMS(last)
		if last.Valid {
			if err := l.db.QueryRowContext(ctx, `SELECT merchant_order_no FROM orders WHERE ticket_id = ? AND ticket_id <> '' AND paid > 0 ORDER BY paid_at DESC LIMIT 1`, ticketID).Scan(&h.LastPaidOrder); err != nil {
				return h, fmt.Errorf("ledger: lookup: %w", err)
			}
		}
	}
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(attempt), 0) FROM orders WHERE order_key = ?`, key).Scan(&h.Attempts); err != nil {
		return h, fmt.Errorf("ledger: lookup: %w", err)
	}
	if ticketID != "" {
		rows, err := l.db.QueryContext(ctx, `SELECT merchant_order_no FROM orders WHERE ticket_id = ? AND ticket_id <> '' AND status IN ('new','created') ORDER BY created_at`, ticketID)
		if err != nil {
			return h, fmt.Errorf("ledger: lookup: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var no string
			if err := rows.Scan(&no); err != nil {
				return h, err
			}
			h.Open = append(h.Open, no)
		}
		if err := rows.Err(); err != nil {
			return h, err
		}
	}
	return h, nil
}

// NextVisit is one more than the highest visit id recorded.
func (l *DB) NextVisit(ctx context.Context) (int64, error) {
	var n int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM visits`).Scan(&n); err != nil {
		return 0, fmt.Errorf("ledger: next visit: %w", err)
	}
	return n, nil
}

// Reconcilable lists orders not final that no running visit waits for:
// abandoned ones, and all of those of visits before beforeVisit (an
// earlier run of the lane).
func (l *DB) Reconcilable(ctx context.Context, beforeVisit int64) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT merchant_order_no FROM orders WHERE status IN ('new','created')
		AND (abandoned_at IS NOT NULL OR visit_id < ?) ORDER BY created_at`, beforeVisit)
	if err != nil {
		return nil, fmt.Errorf("ledger: reconcilable: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// OrderInfo is an order as stored.
type OrderInfo struct {
	Order
	Status      string
	PayByStatus string
	Paid        money.Fils
	PaidAt      time.Time
	Refunded    money.Fils
	ExitID      int64
	Abandoned   bool
}

// GetOrder returns a stored order.
func (l *DB) GetOrder(ctx context.Context, no string) (OrderInfo, error) {
	var o OrderInfo
	var paidAt, exitID, aband sql.NullInt64
	var at, exp int64
	var paid, ref, amount int64
	err := l.db.QueryRowContext(ctx, `SELECT merchant_order_no, visit_id, ticket_id, order_key, attempt, amount, created_at, expire_at,
		status, payby_status, paid, paid_at, refunded, exit_id, abandoned_at FROM orders WHERE merchant_order_no = ?`, no).Scan(
		&o.No, &o.Visit, &o.TicketID, &o.Key, &o.Attempt, &amount, &at, &exp, &o.Status, &o.PayByStatus, &paid, &paidAt, &ref, &exitID, &aband)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("%w: order %s", ErrNotFound, no)
	}
	if err != nil {
		return o, fmt.Errorf("ledger: get order: %w", err)
	}
	o.Amount, o.Paid, o.Refunded = money.Fils(amount), money.Fils(paid), money.Fils(ref)
	o.At, o.Expire = time.UnixMilli(at).UTC(), time.UnixMilli(exp).UTC()
	o.PaidAt, o.ExitID, o.Abandoned = fromMS(paidAt), exitID.Int64, aband.Valid
	return o, nil
}

// Pending is one entry needing an attendant.
type Pending struct {
	Kind   string // not_final, paid_not_exited, unable_to_collect
	Visit  int64
	Ticket string
	No     string
	Status string
	Amount money.Fils
	Since  time.Time
}

// Unresolved lists orders not final, paid orders without a live exit, and
// unable-to-collect exits not yet resolved. All three use partial indexes.
func (l *DB) Unresolved(ctx context.Context) ([]Pending, error) {
	var out []Pending
	q := func(kind, query string) error {
		rows, err := l.db.QueryContext(ctx, query)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			p := Pending{Kind: kind}
			var amount int64
			var since sql.NullInt64
			var no sql.NullString
			if err := rows.Scan(&p.Visit, &p.Ticket, &no, &p.Status, &amount, &since); err != nil {
				return err
			}
			p.No, p.Amount, p.Since = no.String, money.Fils(amount), fromMS(since)
			out = append(out, p)
		}
		return rows.Err()
	}
	if err := q("not_final", `SELECT o.visit_id, v.serial, o.merchant_order_no, o.status, o.amount, o.created_at
		FROM orders o JOIN visits v ON v.id = o.visit_id WHERE o.status IN ('new','created') ORDER BY o.created_at`); err != nil {
		return nil, fmt.Errorf("ledger: unresolved: %w", err)
	}
	if err := q("paid_not_exited", `SELECT o.visit_id, v.serial, o.merchant_order_no, o.payby_status, o.paid - o.refunded, o.paid_at
		FROM orders o JOIN visits v ON v.id = o.visit_id
		WHERE o.paid > 0 AND o.exit_id IS NULL AND o.resolved_at IS NULL AND o.paid > o.refunded ORDER BY o.paid_at`); err != nil {
		return nil, fmt.Errorf("ledger: unresolved: %w", err)
	}
	if err := q("unable_to_collect", `SELECT e.visit_id, v.serial, e.merchant_order_no, e.state, e.amount, e.at
		FROM exits e JOIN visits v ON v.id = e.visit_id
		WHERE e.cause = 'unable_to_collect' AND e.resolved_at IS NULL AND e.state <> 'void' ORDER BY e.at`); err != nil {
		return nil, fmt.Errorf("ledger: unresolved: %w", err)
	}
	return out, nil
}

// Paid returns what remains refundable on an order (paid less refunded).
func (l *DB) Paid(ctx context.Context, no string) (money.Fils, error) {
	var paid, ref int64
	err := l.db.QueryRowContext(ctx, `SELECT paid, refunded FROM orders WHERE merchant_order_no = ?`, no).Scan(&paid, &ref)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%w: order %s", ErrNotFound, no)
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: paid: %w", err)
	}
	return money.Fils(paid - ref), nil
}

// PendingRefunds lists refunds recorded "pending" (sent, outcome not recorded).
func (l *DB) PendingRefunds(ctx context.Context) ([]Refund, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT refund_no, merchant_order_no, amount, at, attendant, reason, status
		FROM refunds WHERE status = 'pending' ORDER BY at`)
	if err != nil {
		return nil, fmt.Errorf("ledger: pending refunds: %w", err)
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		var r Refund
		var amount, at int64
		if err := rows.Scan(&r.RefundNo, &r.No, &amount, &at, &r.Attendant, &r.Reason, &r.Status); err != nil {
			return nil, err
		}
		r.Amount, r.At = money.Fils(amount), time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// CauseTotal is one line of Totals.ByCause.
type CauseTotal struct {
	Count  int
	Amount money.Fils
}

// Totals are counts and sums over [From, To).
type Totals struct {
	From, To  time.Time
	Visits    int
	Exits     int
	ByCause   map[string]CauseTotal
	Collected money.Fils
	Refunded  money.Fils
	Owed      money.Fils
	// Openings counts barrier openings that are no vehicle's exit
	// (manual opens: a barrier test, an emergency), pulsed or not known.
	Openings int
}

// Totals sums visits, exits by cause, money collected, refunded and owed in [from, to).
func (l *DB) Totals(ctx context.Context, from, to time.Time) (Totals, error) {
	t := Totals{From: from, To: to, ByCause: map[string]CauseTotal{}}
	f, e := ms(from), ms(to)
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM visits WHERE started_at >= ? AND started_at < ? AND refused = ''`, f, e).Scan(&t.Visits); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT cause, count(*), COALESCE(SUM(amount), 0) FROM exits WHERE at >= ? AND at < ? AND state <> 'void' GROUP BY cause`, f, e)
	if err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	for rows.Next() {
		var c string
		var n int
		var a int64
		if err := rows.Scan(&c, &n, &a); err != nil {
			rows.Close()
			return t, err
		}
		t.ByCause[c] = CauseTotal{Count: n, Amount: money.Fils(a)}
		t.Exits += n
		if c == "unable_to_collect" {
			t.Owed += money.Fils(a)
		}
	}
	rows.Close()
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM barrier_events
		WHERE exit_id IS NULL AND at >= ? AND at < ? AND state <> 'failed'`, f, e).Scan(&t.Openings); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	var collected, refunded int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(paid), 0) FROM orders WHERE paid > 0 AND paid_at >= ? AND paid_at < ?`, f, e).Scan(&collected); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE status = 'done' AND at >= ? AND at < ?`, f, e).Scan(&refunded); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	t.Collected, t.Refunded = money.Fils(collected), money.Fils(refunded)
	return t, nil
}

// Shift is one attendant shift.
type Shift struct {
	ID         int64
	Attendant  string
	Start, End time.Time
}

// CurrentShift returns the open shift, or the last one; ErrNotFound if none.
func (l *DB) CurrentShift(ctx context.Context) (Shift, error) {
	var s Shift
	var start int64
	var end sql.NullInt64
	err := l.db.QueryRowContext(ctx, `SELECT id, attendant, started_at, ended_at FROM shifts ORDER BY (ended_at IS NULL) DESC, id DESC LIMIT 1`).Scan(&s.ID, &s.Attendant, &start, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("ledger: shift: %w", err)
	}
	s.Start, s.End = time.UnixMilli(start).UTC(), fromMS(end)
	return s, nil
}

// Entry is one line of the history.
type Entry struct {
	ID        int64
	At        time.Time
	Kind      string
	Visit     int64
	Ticket    string
	Cause     string
	Amount    money.Fils
	No        string
	Status    string
	Attendant string
	Reason    string
}

// Entries lists history lines newest first with id < before (0: newest), at most limit.
func (l *DB) Entries(ctx context.Context, before int64, limit int) ([]Entry, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id, at, kind, visit_id, ticket, cause, amount, merchant_order_no, status, attendant, reason
		FROM entries WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: entries: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at, amount int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Visit, &e.Ticket, &e.Cause, &amount, &e.No, &e.Status, &e.Attendant, &e.Reason); err != nil {
			return nil, err
		}
		e.At, e.Amount = time.UnixMilli(at).UTC(), money.Fils(amount)
		out = append(out, e)
	}
	return out, rows.Err()
}

// BarrierEvent is one authorised pulse.
type BarrierEvent struct {
	Auth, Cause, Actor, Reason, No, State string
	Visit                                 int64
}

// BarrierEvents lists all barrier events (tests and tools).
func (l *DB) BarrierEvents(ctx context.Context) ([]BarrierEvent, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT auth, cause, actor, reason, merchant_order_no, state, COALESCE(visit_id, 0) FROM barrier_events ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BarrierEvent
	for rows.Next() {
		var b BarrierEvent
		if err := rows.Scan(&b.Auth, &b.Cause, &b.Actor, &b.Reason, &b.No, &b.State, &b.Visit); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
