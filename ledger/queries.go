package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// Lookup returns a ticket's history (by its id) and the attempts made under
// an order key: Exited if it has a live exit (pending or completed), Paid
// less refunded over all its orders, Open its orders not final. Indexed:
// well under a millisecond with a million visits.
func (l *DB) Lookup(ctx context.Context, ticketID, key string) (lane.History, error) {
	var h lane.History
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
			// The payments the next exit uses (the same rows authoriseExit
			// links to it).
			var unused int64
			var order sql.NullString
			if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(paid - refunded), 0),
				(SELECT merchant_order_no FROM orders WHERE ticket_id = ?1 AND exit_id IS NULL AND resolved_at IS NULL AND paid > refunded ORDER BY paid_at DESC LIMIT 1)
				FROM orders WHERE ticket_id = ?1 AND ticket_id <> '' AND exit_id IS NULL AND resolved_at IS NULL AND paid > refunded`, ticketID).Scan(&unused, &order); err != nil {
				return h, fmt.Errorf("ledger: lookup: %w", err)
			}
			h.Unused, h.UnusedOrder = money.Fils(unused), order.String
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

// LastExit finds the latest exit of a ticket carrying q.Plate or
// numbered q.Serial (other than q.NotTicket), between q.Since and
// q.Before, for a re-entry. Its Entry is the first entry of the stay it belongs to (a
// visit that itself continued one keeps that stay's entry) and its Paid
// everything that stay paid (less refunds).
func (l *DB) LastExit(ctx context.Context, q lane.ExitQuery) (lane.Previous, bool, error) {
	var p lane.Previous
	cond, arg := `v.serial = ? AND v.ticket_id <> ?`, []any{q.Serial, q.NotTicket}
	switch {
	case q.Plate != "":
		cond, arg = `v.plate = ? AND v.ticket_id <> ?`, []any{q.Plate, q.NotTicket}
	case q.Serial == "":
		return p, false, nil
	}
	since, before := int64(math.MinInt64), int64(math.MaxInt64)
	if !q.Since.IsZero() {
		since = ms(q.Since)
	}
	if !q.Before.IsZero() {
		before = ms(q.Before)
	}
	var entry, session sql.NullInt64
	var exit, previousPaid int64
	err := l.db.QueryRowContext(ctx, `SELECT v.ticket_id, v.serial, v.entry_at, v.session_entry, v.previous_paid, e.at
		FROM exits e JOIN visits v ON v.id = e.visit_id
		WHERE `+cond+` AND e.ticket_id <> '' AND e.state IN ('pending','completed') AND e.at >= ? AND e.at <= ?
		ORDER BY e.at DESC, e.id DESC LIMIT 1`, append(arg, since, before)...).Scan(&p.TicketID, &p.Serial, &entry, &session, &previousPaid, &exit)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return p, false, nil
	case err != nil:
		return p, false, fmt.Errorf("ledger: last exit: %w", err)
	}
	p.Entry, p.Exit = fromMS(entry), fromMS(sql.NullInt64{Int64: exit, Valid: true})
	if session.Valid {
		p.Entry = fromMS(session)
	}
	var paid int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(paid - refunded), 0) FROM orders WHERE ticket_id = ? AND paid > 0`, p.TicketID).Scan(&paid); err != nil {
		return p, false, fmt.Errorf("ledger: last exit: %w", err)
	}
	p.Paid = money.Fils(paid + previousPaid)
	return p, true, nil
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

// OrderInfo is an order as stored, for tests and tools.
type OrderInfo struct {
	lane.OrderRec
	Status      lane.OrderStatus // OrderUnknown: stored, placeOrder not answered ("new")
	PayByStatus string
	Paid        money.Fils
	PaidAt      time.Time
	// VAT is the VAT included in Paid, at OrderRec.VATRate.
	VAT       money.Fils
	Refunded  money.Fils
	ExitID    int64
	Abandoned bool
}

// GetOrder returns a stored order; lane.ErrNotFound if there is none.
func (l *DB) GetOrder(ctx context.Context, no string) (OrderInfo, error) {
	var o OrderInfo
	var paidAt, exitID, aband sql.NullInt64
	var at, exp int64
	var paid, ref, amount, vat int64
	err := l.db.QueryRowContext(ctx, `SELECT merchant_order_no, visit_id, ticket_id, order_key, attempt, amount, created_at, expire_at,
		status, payby_status, paid, paid_at, refunded, exit_id, abandoned_at, vat_rate, vat FROM orders WHERE merchant_order_no = ?`, no).Scan(
		&o.No, &o.Visit, &o.TicketID, &o.Key, &o.Attempt, &amount, &at, &exp, scanText(&o.Status), &o.PayByStatus, &paid, &paidAt, &ref, &exitID, &aband,
		&o.VATRate, &vat)
	if errors.Is(err, sql.ErrNoRows) {
		return o, fmt.Errorf("ledger: %w: order %s", lane.ErrNotFound, no)
	}
	if err != nil {
		return o, fmt.Errorf("ledger: get order: %w", err)
	}
	o.Amount, o.Paid, o.Refunded, o.VAT = money.Fils(amount), money.Fils(paid), money.Fils(ref), money.Fils(vat)
	o.At, o.Expire = time.UnixMilli(at).UTC(), time.UnixMilli(exp).UTC()
	o.PaidAt, o.ExitID, o.Abandoned = fromMS(paidAt), exitID.Int64, aband.Valid
	return o, nil
}

// Unresolved lists orders not final, paid orders without a live exit, and
// unable-to-collect exits not yet resolved. All three use partial indexes.
// A paid order of a ticket whose last pulse was interrupted (started,
// never completed) says so in its note: the car may have left.
func (l *DB) Unresolved(ctx context.Context) ([]lane.Unresolved, error) {
	var out []lane.Unresolved
	q := func(kind lane.UnresolvedKind, query string, args ...any) error {
		rows, err := l.db.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			u := lane.Unresolved{Kind: kind}
			var amount int64
			var since sql.NullInt64
			var no sql.NullString
			if err := rows.Scan(&u.Visit, &u.Ticket, &no, &u.Status, &amount, &since, &u.Note); err != nil {
				return err
			}
			u.MerchantOrderNo, u.Amount, u.Since = no.String, money.Fils(amount), fromMS(since)
			out = append(out, u)
		}
		return rows.Err()
	}
	if err := q(lane.UnresolvedNotFinal, `SELECT o.visit_id, v.serial, o.merchant_order_no, o.status, o.amount, o.created_at, ''
		FROM orders o JOIN visits v ON v.id = o.visit_id WHERE o.status IN ('new','created') ORDER BY o.created_at`); err != nil {
		return nil, fmt.Errorf("ledger: unresolved: %w", err)
	}
	if err := q(lane.UnresolvedPaidNotExited, `SELECT o.visit_id, v.serial, o.merchant_order_no, o.payby_status, o.paid - o.refunded, o.paid_at,
		CASE WHEN o.ticket_id <> '' AND EXISTS (SELECT 1 FROM exits x JOIN barrier_events b ON b.exit_id = x.id
			WHERE x.ticket_id = o.ticket_id AND x.state = 'unknown' AND x.replaced_by IS NULL AND b.started_at IS NOT NULL)
		THEN ? ELSE '' END
		FROM orders o JOIN visits v ON v.id = o.visit_id
		WHERE o.paid > 0 AND o.exit_id IS NULL AND o.resolved_at IS NULL AND o.paid > o.refunded ORDER BY o.paid_at`, noteInterrupted); err != nil {
		return nil, fmt.Errorf("ledger: unresolved: %w", err)
	}
	if err := q(lane.UnresolvedUnableToCollect, `SELECT e.visit_id, v.serial, e.merchant_order_no, e.state, e.amount, e.at, ''
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
		return 0, fmt.Errorf("ledger: %w: order %s", lane.ErrNotFound, no)
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: paid: %w", err)
	}
	return money.Fils(paid - ref), nil
}

// PendingRefunds lists refunds recorded pending (sent, outcome not recorded).
func (l *DB) PendingRefunds(ctx context.Context) ([]lane.RefundRec, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT refund_no, merchant_order_no, amount, at, attendant, reason, status
		FROM refunds WHERE status = 'pending' ORDER BY at`)
	if err != nil {
		return nil, fmt.Errorf("ledger: pending refunds: %w", err)
	}
	defer rows.Close()
	var out []lane.RefundRec
	for rows.Next() {
		var r lane.RefundRec
		var amount, at int64
		if err := rows.Scan(&r.RefundNo, &r.No, &amount, &at, &r.Attendant, &r.Reason, &r.Status); err != nil {
			return nil, err
		}
		r.Amount, r.At = money.Fils(amount), time.UnixMilli(at).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// Totals sums visits, exits by cause, money collected, refunded and owed
// in [from, to). An exit replaced by a later exit of its ticket (its
// outcome was lost in a crash; the later one took over its payments) is
// not counted: the vehicle and its money count once, with the later exit.
// An exit that used an earlier payment is a paid exit with that amount,
// so the paid line agrees with Collected.
//
// VAT is summed as booked: each payment's VAT (money.VATPart of what was
// paid, at the rate its price included) is stored with it, so the VAT of
// Collected is the sum of the receipts' VAT lines, never a rounding of
// the total; rows from before migration 005 count no VAT.
func (l *DB) Totals(ctx context.Context, from, to time.Time) (lane.Totals, error) {
	t := lane.Totals{From: from, To: to, ByCause: map[lane.Cause]lane.CauseTotal{}}
	f, e := ms(from), ms(to)
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM visits WHERE started_at >= ? AND started_at < ? AND refused = ''`, f, e).Scan(&t.Visits); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT cause, count(*), COALESCE(SUM(amount), 0), COALESCE(SUM(vat), 0) FROM exits WHERE at >= ? AND at < ? AND state <> 'void' AND replaced_by IS NULL GROUP BY cause`, f, e)
	if err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	for rows.Next() {
		var c lane.Cause
		var n int
		var a, vat int64
		if err := rows.Scan(scanText(&c), &n, &a, &vat); err != nil {
			rows.Close()
			return t, fmt.Errorf("ledger: totals: %w", err)
		}
		t.ByCause[c] = lane.CauseTotal{Count: n, Amount: money.Fils(a), VAT: money.Fils(vat)}
		t.Exits += n
		if c == lane.CauseUnableToCollect {
			t.Owed += money.Fils(a)
		}
	}
	rows.Close()
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM barrier_events
		WHERE exit_id IS NULL AND at >= ? AND at < ? AND state <> 'failed'`, f, e).Scan(&t.Openings); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	var collected, vat, refunded, refundedVAT int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(paid), 0), COALESCE(SUM(vat), 0) FROM orders WHERE paid > 0 AND paid_at >= ? AND paid_at < ?`, f, e).Scan(&collected, &vat); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount), 0), COALESCE(SUM(vat), 0) FROM refunds WHERE status = 'done' AND at >= ? AND at < ?`, f, e).Scan(&refunded, &refundedVAT); err != nil {
		return t, fmt.Errorf("ledger: totals: %w", err)
	}
	t.Collected, t.Refunded = money.Fils(collected), money.Fils(refunded)
	t.VAT, t.RefundedVAT = money.Fils(vat), money.Fils(refundedVAT)
	t.Net = t.Collected - t.VAT
	return t, nil
}

// Shift reports the open shift, or the last one, with its totals up to
// its end (now while it is open); lane.ErrNotFound if there was none.
func (l *DB) Shift(ctx context.Context) (lane.ShiftReport, error) {
	var s lane.ShiftReport
	var start int64
	var end sql.NullInt64
	err := l.db.QueryRowContext(ctx, `SELECT id, attendant, started_at, ended_at FROM shifts ORDER BY (ended_at IS NULL) DESC, id DESC LIMIT 1`).Scan(&s.ID, &s.Attendant, &start, &end)
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("ledger: %w: no shift yet", lane.ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("ledger: shift: %w", err)
	}
	s.Start, s.End = time.UnixMilli(start).UTC(), fromMS(end)
	to := s.End
	if to.IsZero() {
		to = time.Now()
	}
	s.Totals, err = l.Totals(ctx, s.Start, to)
	return s, err
}

// Transactions lists history lines newest first with ID < before (0:
// newest), at most limit (50 if out of 1..500).
func (l *DB) Transactions(ctx context.Context, before int64, limit int) ([]lane.Transaction, error) {
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if before <= 0 {
		before = 1 << 62
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id, at, kind, visit_id, ticket, cause, amount, merchant_order_no, status, attendant, reason
		FROM entries WHERE id < ? ORDER BY id DESC LIMIT ?`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: transactions: %w", err)
	}
	return scanTransactions(rows)
}

// Entries lists the history lines of kind ("order", "exit", ...) with
// from <= at < to, oldest first (index entries_kind_at).
func (l *DB) Entries(ctx context.Context, kind string, from, to time.Time) ([]lane.Transaction, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT id, at, kind, visit_id, ticket, cause, amount, merchant_order_no, status, attendant, reason
		FROM entries WHERE kind = ? AND at >= ? AND at < ? ORDER BY at, id`, kind, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("ledger: entries: %w", err)
	}
	return scanTransactions(rows)
}

// scanTransactions reads history lines (Transactions, Entries).
func scanTransactions(rows *sql.Rows) ([]lane.Transaction, error) {
	defer rows.Close()
	var out []lane.Transaction
	for rows.Next() {
		var e lane.Transaction
		var at, amount int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.Visit, &e.Ticket, scanText(&e.Cause), &amount, &e.MerchantOrderNo, &e.Status, &e.Attendant, &e.Reason); err != nil {
			return nil, fmt.Errorf("ledger: history: %w", err)
		}
		e.At, e.Amount = time.UnixMilli(at).UTC(), money.Fils(amount)
		out = append(out, e)
	}
	return out, rows.Err()
}

// BarrierEvent is one authorised pulse.
type BarrierEvent struct {
	Auth              string
	Cause             lane.Cause
	Actor, Reason, No string
	State             string // authorised, pulsed, failed, unknown
	Visit             int64
	// Started is when the pulse was recorded as being sent (zero: never);
	// Done when its outcome was recorded (zero: never).
	Started, Done time.Time
	// Reopens is the authorisation whose pulse was interrupted when this
	// one opens the barrier again for the same ticket ("": none).
	Reopens string
}

// Interrupted reports whether the pulse started and its outcome was
// never recorded: the lane stopped inside the hold.
func (b BarrierEvent) Interrupted() bool { return b.State == "unknown" && !b.Started.IsZero() }

// BarrierEvents lists all barrier events (tests and tools).
func (l *DB) BarrierEvents(ctx context.Context) ([]BarrierEvent, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT auth, cause, actor, reason, merchant_order_no, state, COALESCE(visit_id, 0),
		started_at, done_at, reopens FROM barrier_events ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BarrierEvent
	for rows.Next() {
		var b BarrierEvent
		var started, done sql.NullInt64
		if err := rows.Scan(&b.Auth, scanText(&b.Cause), &b.Actor, &b.Reason, &b.No, &b.State, &b.Visit, &started, &done, &b.Reopens); err != nil {
			return nil, err
		}
		b.Started, b.Done = fromMS(started), fromMS(done)
		out = append(out, b)
	}
	return out, rows.Err()
}

// ExitReceipt is a visit's exit as its receipt prints it.
type ExitReceipt struct {
	Visit  int64
	Serial string
	Lost   bool
	Entry  time.Time // zero for a lost ticket
	Class  string
	// Exit is when the exit was authorised (paid), Cause why.
	Exit  time.Time
	Cause lane.Cause
	// Fee is the stay's fee with validations applied; PaidBefore what the
	// ticket had paid before this visit; Paid what the payment made during
	// this visit brought in (0: none, e.g. an exit that used an earlier
	// payment); VAT the VAT included in Paid as booked, at VATRate.
	Fee, PaidBefore, Paid money.Fils
	VAT                   money.Fils
	VATRate               int64
	// Validation names the validation applied ("": none).
	Validation string
	// OrderNo is the paying order ("": a free exit).
	OrderNo string
}

// ExitReceipt returns what the receipt of visit's exit shows;
// lane.ErrNotFound if the visit has no exit (or only one whose pulse
// failed).
func (l *DB) ExitReceipt(ctx context.Context, visit int64) (ExitReceipt, error) {
	r := ExitReceipt{Visit: visit}
	var lost int
	var entry sql.NullInt64
	var started, at, fee, before int64
	var exitRate, visitRate int64
	err := l.db.QueryRowContext(ctx, `SELECT v.serial, v.lost, v.entry_at, v.class, v.fee, v.paid_before, v.validation_name, v.vat_rate, v.started_at,
			x.at, x.cause, COALESCE(x.merchant_order_no, ''), x.vat_rate
		FROM visits v JOIN exits x ON x.visit_id = v.id AND x.state <> 'void'
		WHERE v.id = ? ORDER BY x.id DESC LIMIT 1`, visit).Scan(
		&r.Serial, &lost, &entry, &r.Class, &fee, &before, &r.Validation, &visitRate, &started,
		&at, scanText(&r.Cause), &r.OrderNo, &exitRate)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("ledger: %w: no exit of visit %d", lane.ErrNotFound, visit)
	}
	if err != nil {
		return r, fmt.Errorf("ledger: exit receipt: %w", err)
	}
	r.Lost, r.Entry, r.Exit = lost != 0, fromMS(entry), time.UnixMilli(at).UTC()
	r.Fee, r.PaidBefore, r.VATRate = money.Fils(fee), money.Fils(before), exitRate
	if r.VATRate == 0 {
		r.VATRate = visitRate
	}
	if r.OrderNo == "" {
		return r, nil
	}
	// The payment is this receipt's if the lane learnt of it during the
	// visit (status_at, the lane's clock, as started_at): an order found
	// paid before the visit is in PaidBefore.
	var paid, vat, rate, statusAt int64
	if err := l.db.QueryRowContext(ctx, `SELECT paid, status_at, vat, vat_rate FROM orders WHERE merchant_order_no = ?`, r.OrderNo).Scan(
		&paid, &statusAt, &vat, &rate); err != nil {
		return r, fmt.Errorf("ledger: exit receipt: order %s: %w", r.OrderNo, err)
	}
	if paid > 0 && statusAt >= started {
		r.Paid, r.VAT, r.VATRate = money.Fils(paid), money.Fils(vat), rate
	}
	return r, nil
}
