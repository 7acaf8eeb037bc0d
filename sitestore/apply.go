package sitestore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// Apply applies one record of a lane: the record the lane wrote to its
// ledger under sequence number seq (1, 2, 3, ... per lane, without gaps).
//
//   - seq == last applied + 1: the record is added to the journal and the
//     derived tables are updated, in one transaction;
//   - seq <= last applied: a duplicate (a resend after a lost answer, a
//     replay after a crash) is a no-op if it is the same record, and a
//     *SeqError (ErrSeqConflict) if it is not;
//   - seq > last applied + 1: a *SeqError (ErrSeqGap) naming the expected seq.
//
// Conflicts with other lanes are not errors: they become incidents.
func (s *Store) Apply(ctx context.Context, laneID string, seq int64, rec lane.Record) error {
	return s.ApplyBatch(ctx, laneID, seq, []lane.Record{rec})
}

// ApplyBatch applies recs as seqs first, first+1, ... in one transaction
// (a replay ships a few hundred rows at a time): all of them, or none.
func (s *Store) ApplyBatch(ctx context.Context, laneID string, first int64, recs []lane.Record) error {
	if laneID == "" {
		return errors.New("sitestore: apply: the lane id is required")
	}
	if first <= 0 {
		return fmt.Errorf("sitestore: apply: seq %d: sequence numbers start at 1", first)
	}
	type encoded struct {
		kind string
		at   time.Time
		data []byte
	}
	enc := make([]encoded, len(recs))
	for i, r := range recs {
		kind, data, err := Encode(r)
		if err != nil {
			return err
		}
		_, at := kindOf(deref(r))
		enc[i] = encoded{kind, at, data}
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO lanes (site, lane) VALUES ($1, $2) ON CONFLICT DO NOTHING`, s.site, laneID); err != nil {
			return err
		}
		// The lane's row lock orders concurrent applies of one lane (a
		// live write and a replay racing).
		var last int64
		if err := tx.QueryRow(ctx, `SELECT last_seq FROM lanes WHERE site = $1 AND lane = $2 FOR UPDATE`, s.site, laneID).Scan(&last); err != nil {
			return err
		}
		a := applier{tx: tx, site: s.site, lane: laneID}
		next := last
		for i, e := range enc {
			seq := first + int64(i)
			if seq <= next {
				if err := a.same(ctx, seq, e.kind, e.data); err != nil {
					return err
				}
				continue
			}
			if seq != next+1 {
				return &SeqError{Lane: laneID, Seq: seq, Expected: next + 1, Err: ErrSeqGap}
			}
			if _, err := tx.Exec(ctx, `INSERT INTO journal (site, lane, seq, kind, at, rec) VALUES ($1, $2, $3, $4, $5, $6)`,
				s.site, laneID, seq, e.kind, ts(e.at), string(e.data)); err != nil {
				return err
			}
			if err := a.apply(ctx, deref(recs[i])); err != nil {
				return fmt.Errorf("seq %d (%s): %w", seq, e.kind, err)
			}
			next = seq
		}
		if next == last {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE lanes SET last_seq = $3, applied_at = now() WHERE site = $1 AND lane = $2`, s.site, laneID, next)
		return err
	})
	var se *SeqError
	if err != nil && !errors.As(err, &se) {
		return fmt.Errorf("sitestore: apply lane %s: %w", laneID, err)
	}
	return err
}

// LastSeq is the highest seq of the lane applied (0: none yet): a lane
// resumes shipping its records after it.
func (s *Store) LastSeq(ctx context.Context, laneID string) (int64, error) {
	if err := s.ready(ctx); err != nil {
		return 0, err
	}
	var last int64
	err := s.pool.QueryRow(ctx, `SELECT last_seq FROM lanes WHERE site = $1 AND lane = $2`, s.site, laneID).Scan(&last)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sitestore: last seq: %w", err)
	}
	return last, nil
}

// applier applies one lane's records inside one transaction.
type applier struct {
	tx   pgx.Tx
	site string
	lane string
}

// same checks that an applied seq holds the same record.
func (a applier) same(ctx context.Context, seq int64, kind string, data []byte) error {
	var k string
	var stored []byte
	if err := a.tx.QueryRow(ctx, `SELECT kind, rec::text FROM journal WHERE site = $1 AND lane = $2 AND seq = $3`,
		a.site, a.lane, seq).Scan(&k, &stored); err != nil {
		return err
	}
	if k == kind {
		// Compare as jsonb: key order and spacing are PostgreSQL's.
		var eq bool
		if err := a.tx.QueryRow(ctx, `SELECT $1::jsonb = $2::jsonb`, string(stored), string(data)).Scan(&eq); err != nil {
			return err
		}
		if eq || bytes.Equal(stored, data) {
			return nil
		}
	}
	return &SeqError{Lane: a.lane, Seq: seq, Err: ErrSeqConflict}
}

// continued is the stay a quote continues, as the visit's columns hold
// it: its first entry (NULL: none) and what it paid.
func continued(q lane.Quote) (entry any, paid int64) {
	if q.Continued == nil {
		return nil, 0
	}
	return ts(q.Continued.Entry), int64(q.Continued.Paid)
}

func (a applier) exec(ctx context.Context, sql string, args ...any) error {
	_, err := a.tx.Exec(ctx, sql, args...)
	return err
}

func (a applier) apply(ctx context.Context, rec lane.Record) error {
	switch r := rec.(type) {
	case lane.VisitRec:
		refused := ""
		if r.Refused != lane.NoticeNone {
			refused = r.Refused.String()
		}
		contEntry, contPaid := continued(r.Quote)
		return a.exec(ctx, `INSERT INTO visits (site, lane, visit, started_at, ticket_id, serial, format, entry_at, signed, lost,
			fee, paid_before, due, free, refused, override, attendant, reason, class, vat_rate, vat, plate, continued_entry, continued_paid)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
			a.site, a.lane, r.Visit, r.At.UTC(), r.TicketID, r.Ticket.Serial, r.Ticket.Format, ts(r.Ticket.Entry), r.Ticket.Signed, r.Ticket.Lost,
			int64(r.Quote.Fee), int64(r.Quote.Paid), int64(r.Quote.Due), r.Quote.Free, refused, r.Override, r.Attendant, r.Reason,
			r.Ticket.Class, r.Quote.VATRate, int64(money.VATPart(r.Quote.Due, r.Quote.VATRate)), r.Ticket.Plate, contEntry, contPaid)
	case lane.VisitEndRec:
		return a.exec(ctx, `UPDATE visits SET ended_at = $4, outcome = $5 WHERE site = $1 AND lane = $2 AND visit = $3`,
			a.site, a.lane, r.Visit, r.At.UTC(), r.Outcome)
	case lane.ValidationRec:
		return a.exec(ctx, `UPDATE visits SET validation = $4, validation_name = $5, fee = $6, due = $7, vat_rate = $8, vat = $9
			WHERE site = $1 AND lane = $2 AND visit = $3`,
			a.site, a.lane, r.Visit, r.Code, r.Name, int64(r.Quote.Fee), int64(r.Quote.Due),
			r.Quote.VATRate, int64(money.VATPart(r.Quote.Due, r.Quote.VATRate)))
	case lane.RepriceRec:
		// The visit row takes the new class, price and stay continued
		// (the quote's: a re-entry sets it, a class change keeps it).
		contEntry, contPaid := continued(r.Quote)
		return a.exec(ctx, `UPDATE visits SET class = $4, fee = $5, due = $6, vat_rate = $7, vat = $8,
			continued_entry = $9, continued_paid = $10
			WHERE site = $1 AND lane = $2 AND visit = $3`,
			a.site, a.lane, r.Visit, r.Class, int64(r.Quote.Fee), int64(r.Quote.Due),
			r.Quote.VATRate, int64(money.VATPart(r.Quote.Due, r.Quote.VATRate)), contEntry, contPaid)
	case lane.OrderRec:
		return a.order(ctx, r)
	case lane.StatusRec:
		return a.status(ctx, r)
	case lane.AbandonRec:
		return a.exec(ctx, `UPDATE orders SET abandoned_at = $3 WHERE site = $1 AND merchant_order_no = $2 AND abandoned_at IS NULL`,
			a.site, r.No, r.At.UTC())
	case lane.ExitRec:
		return a.exit(ctx, r)
	case lane.OpenRec:
		var visit any
		if r.Visit != 0 {
			visit = r.Visit
		}
		return a.exec(ctx, `INSERT INTO barrier_events (site, lane, auth, at, cause, actor, reason, visit)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			a.site, a.lane, r.Auth, r.At.UTC(), r.Cause.String(), actor(r.Attendant), r.Reason, visit)
	case lane.PulseStartRec:
		return a.pulseStart(ctx, r)
	case lane.PulseRec:
		return a.pulse(ctx, r)
	case lane.AuditRec:
		var visit any
		if r.Visit != 0 {
			visit = r.Visit
		}
		return a.exec(ctx, `INSERT INTO audit (site, lane, at, attendant, action, reason, visit, merchant_order_no, amount)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			a.site, a.lane, r.At.UTC(), r.Attendant, r.Action, r.Reason, visit, r.No, int64(r.Amount))
	case lane.RefundRec:
		return a.refund(ctx, r)
	case lane.ResolveRec:
		return a.resolve(ctx, r)
	case lane.ShiftRec:
		if err := a.exec(ctx, `UPDATE shifts SET ended_at = $3 WHERE site = $1 AND lane = $2 AND ended_at IS NULL`,
			a.site, a.lane, r.At.UTC()); err != nil || !r.Start {
			return err
		}
		return a.exec(ctx, `INSERT INTO shifts (site, lane, attendant, started_at) VALUES ($1, $2, $3, $4)`,
			a.site, a.lane, r.Attendant, r.At.UTC())
	}
	return fmt.Errorf("unknown record %T", rec)
}

func actor(attendant string) string {
	if attendant == "" {
		return "lane"
	}
	return attendant
}

// Order statuses as stored (the ledger's names).
const (
	statusNew      = "new"
	statusCreated  = "created"
	statusPaid     = "paid"
	statusFailed   = "failed"
	statusNotFound = "not_found"
)

func statusName(s lane.OrderStatus) string {
	switch s {
	case lane.OrderCreated:
		return statusCreated
	case lane.OrderPaid:
		return statusPaid
	case lane.OrderFailed:
		return statusFailed
	case lane.OrderNotFound:
		return statusNotFound
	}
	return statusNew
}

// orderStatus is one status seen for an order, as order_events keeps it.
type orderStatus struct {
	status, paybyStatus, source string
	at, paidAt                  time.Time
	paid                        money.Fils
}

func (a applier) order(ctx context.Context, r lane.OrderRec) error {
	if err := a.exec(ctx, `INSERT INTO orders (site, merchant_order_no, lane, visit, ticket_id, order_key, attempt, amount,
		created_at, expire_at, status, status_at, vat_rate) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', $9, $11)`,
		a.site, r.No, a.lane, r.Visit, r.TicketID, r.Key, r.Attempt, int64(r.Amount), r.At.UTC(), r.Expire.UTC(), r.VATRate); err != nil {
		return err
	}
	// Statuses another lane reported before this lane's order arrived
	// (it honoured or cancelled the order while this lane was offline)
	// are folded in now, in the order they were recorded.
	rows, err := a.tx.Query(ctx, `SELECT status, payby_status, source, at, paid, paid_at FROM order_events
		WHERE site = $1 AND merchant_order_no = $2 ORDER BY id`, a.site, r.No)
	if err != nil {
		return err
	}
	early, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (orderStatus, error) {
		var o orderStatus
		var paid int64
		var paidAt *time.Time
		err := row.Scan(&o.status, &o.paybyStatus, &o.source, &o.at, &paid, &paidAt)
		o.paid, o.paidAt = money.Fils(paid), utcOf(paidAt)
		return o, err
	})
	if err != nil {
		return err
	}
	if err := a.exec(ctx, `INSERT INTO order_events (site, lane, merchant_order_no, at, status, source)
		VALUES ($1, $2, $3, $4, 'new', 'store')`, a.site, a.lane, r.No, r.At.UTC()); err != nil {
		return err
	}
	for _, o := range early {
		if err := a.fold(ctx, r.No, o); err != nil {
			return err
		}
	}
	return nil
}

// status records a status seen for an order, like the ledger: a status
// equal to the stored one adds nothing; a paid order never goes back.
func (a applier) status(ctx context.Context, r lane.StatusRec) error {
	o := orderStatus{status: statusName(r.State.Status), paybyStatus: r.State.PayByStatus, source: r.Source.String(),
		at: r.At.UTC(), paid: r.State.Paid, paidAt: r.State.PaidAt.UTC()}
	var cur string
	err := a.tx.QueryRow(ctx, `SELECT status FROM orders WHERE site = $1 AND merchant_order_no = $2 FOR UPDATE`, a.site, r.No).Scan(&cur)
	known := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if known && cur == o.status {
		return nil
	}
	if err := a.exec(ctx, `INSERT INTO order_events (site, lane, merchant_order_no, at, status, payby_status, paid, paid_at, source)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		a.site, a.lane, r.No, o.at, o.status, o.paybyStatus, int64(o.paid), ts(o.paidAt), o.source); err != nil {
		return err
	}
	if !known {
		return nil // another lane's order not here yet: folded in when it arrives
	}
	return a.fold(ctx, r.No, o)
}

// fold moves an order to status o (the ledger's rules). A payment is
// booked with its VAT at the order's rate, as the ledger books it.
func (a applier) fold(ctx context.Context, no string, o orderStatus) error {
	var cur, ticket string
	var amount, rate int64
	if err := a.tx.QueryRow(ctx, `SELECT status, amount, ticket_id, vat_rate FROM orders WHERE site = $1 AND merchant_order_no = $2 FOR UPDATE`,
		a.site, no).Scan(&cur, &amount, &ticket, &rate); err != nil {
		return err
	}
	if cur == o.status || cur == statusPaid {
		return nil // never downgrade a payment
	}
	if o.status == statusNew || (o.status == statusCreated && cur != statusNew && cur != statusNotFound) {
		return nil
	}
	paid := int64(0)
	var paidAt any
	if o.status == statusPaid {
		paid = int64(o.paid)
		if paid <= 0 {
			paid = amount
		}
		at := o.paidAt
		if at.IsZero() {
			at = o.at
		}
		paidAt = at.UTC()
	}
	if err := a.exec(ctx, `UPDATE orders SET status = $3, payby_status = $4, status_at = $5, paid = $6, paid_at = $7, vat = $8
		WHERE site = $1 AND merchant_order_no = $2`, a.site, no, o.status, o.paybyStatus, o.at.UTC(), paid, paidAt,
		int64(money.VATPart(money.Fils(paid), rate))); err != nil {
		return err
	}
	if o.status == statusPaid && ticket != "" {
		return a.doublePayments(ctx, ticket)
	}
	return nil
}

// doublePayments records a double_payment incident for every paid order of
// the ticket that its lane priced without counting an earlier order of the
// ticket: the visit's "paid before" is less than what the ticket's orders
// before it were paid. Orders are taken in the order of what their visit
// knew was paid (each legitimate payment knew all those before it), then
// of creation, so that lanes' clocks that disagree do not change the
// verdict. A driver who paid at lane A and, past exit
// grace, pays the difference at lane B is no incident: B counted A's
// payment. Two orders made at two lanes that did not see each other
// (offline, or an open order not resolved first) are one, and the later
// order's surplus is proposed for refund.
func (a applier) doublePayments(ctx context.Context, ticket string) error {
	// One ticket's payments are checked one transaction at a time, so two
	// lanes paying at once both see each other.
	if err := a.exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, a.site, ticket); err != nil {
		return err
	}
	rows, err := a.tx.Query(ctx, `SELECT o.merchant_order_no, o.lane, o.visit, o.paid - o.refunded, o.paid_at,
			COALESCE(v.paid_before, 0)
		FROM orders o LEFT JOIN visits v ON v.site = o.site AND v.lane = o.lane AND v.visit = o.visit
		WHERE o.site = $1 AND o.ticket_id = $2 AND o.status = 'paid'
		ORDER BY COALESCE(v.paid_before, 0), o.created_at, o.merchant_order_no`, a.site, ticket)
	if err != nil {
		return err
	}
	type paidOrder struct {
		no, lane         string
		visit, net, knew int64
		at               time.Time
	}
	paid, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (paidOrder, error) {
		var p paidOrder
		err := r.Scan(&p.no, &p.lane, &p.visit, &p.net, &p.at, &p.knew)
		return p, err
	})
	if err != nil {
		return err
	}
	var before int64
	for i, p := range paid {
		if i > 0 && p.knew < before {
			surplus := min(p.net, before-p.knew)
			prev := paid[i-1]
			if surplus > 0 {
				if err := a.exec(ctx, `INSERT INTO incidents (site, kind, ticket_id, key, lane, visit, at, amount, merchant_order_no,
					other_lane, other_visit, other_at, other_amount, other_order_no, refund)
					VALUES ($1, 'double_payment', $2, $3, $4, $5, $6, $7, $3, $8, $9, $10, $11, $12, $13)
					ON CONFLICT (site, kind, key) DO NOTHING`,
					a.site, ticket, p.no, p.lane, p.visit, p.at.UTC(), p.net,
					prev.lane, prev.visit, prev.at.UTC(), before, prev.no, surplus); err != nil {
					return err
				}
			}
		}
		before += p.net
	}
	return nil
}

func (a applier) exit(ctx context.Context, r lane.ExitRec) error {
	if r.Paid != nil {
		if err := a.status(ctx, *r.Paid); err != nil {
			return err
		}
	}
	var id int64
	if err := a.tx.QueryRow(ctx, `INSERT INTO exits (site, lane, visit, ticket_id, at, cause, amount, merchant_order_no,
		attendant, reason, override, auth, vat_rate, vat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
		a.site, a.lane, r.Visit, r.TicketID, r.At.UTC(), r.Cause.String(), int64(r.Amount), r.No,
		r.Attendant, r.Reason, r.Override, r.Auth, r.VATRate, int64(money.VATPart(r.Amount, r.VATRate))).Scan(&id); err != nil {
		return err
	}
	if r.No != "" {
		if err := a.exec(ctx, `UPDATE orders SET exit_id = $3 WHERE site = $1 AND merchant_order_no = $2`, a.site, r.No, id); err != nil {
			return err
		}
	}
	// Every earlier payment of the ticket, at any lane, not yet used by an
	// exit was subtracted from this exit's fee: this exit uses it too, so it
	// is no longer "paid, not exited" (paid at A, out at B in exit grace).
	if r.TicketID != "" {
		if err := a.exec(ctx, `UPDATE orders SET exit_id = $3 WHERE site = $1 AND ticket_id = $2
			AND exit_id IS NULL AND resolved_at IS NULL AND paid > refunded`, a.site, r.TicketID, id); err != nil {
			return err
		}
	}
	if err := a.exec(ctx, `INSERT INTO barrier_events (site, lane, auth, at, cause, actor, reason, merchant_order_no, visit, exit_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		a.site, a.lane, r.Auth, r.At.UTC(), r.Cause.String(), actor(r.Attendant), r.Reason, r.No, r.Visit, id); err != nil {
		return err
	}
	if err := a.exec(ctx, `UPDATE visits SET ended_at = $4, outcome = $5 WHERE site = $1 AND lane = $2 AND visit = $3`,
		a.site, a.lane, r.Visit, r.At.UTC(), "exit_"+r.Cause.String()); err != nil {
		return err
	}
	if r.TicketID == "" {
		return nil
	}
	return a.claimOnApply(ctx, r, id)
}

// claimOnApply ties an exit record to its claim. A lane online claimed the
// exit at scan (ClaimExit) and the claim only learns its exit. An exit
// decided offline is claimed now; if another lane holds the ticket's exit,
// it is a double exit: an incident, and a claim kept as released.
func (a applier) claimOnApply(ctx context.Context, r lane.ExitRec, exitID int64) error {
	tag, err := a.tx.Exec(ctx, `UPDATE exit_claims SET exit_id = $4
		WHERE id = (SELECT id FROM exit_claims WHERE site = $1 AND lane = $2 AND visit = $3 AND ticket_id = $5
			ORDER BY (released_at IS NULL) DESC, id DESC LIMIT 1)`,
		a.site, a.lane, r.Visit, exitID, r.TicketID)
	if err != nil || tag.RowsAffected() > 0 {
		return err // claimed at scan (and perhaps released since: the release stands)
	}
	for range 2 {
		var id int64
		err := a.tx.QueryRow(ctx, `INSERT INTO exit_claims (site, ticket_id, lane, visit, at, override, attendant, reason, offline, exit_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, true, $9) ON CONFLICT DO NOTHING RETURNING id`,
			a.site, r.TicketID, a.lane, r.Visit, r.At.UTC(), r.Override, r.Attendant, r.Reason, exitID).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		h, err := liveClaim(ctx, a.tx, a.site, r.TicketID)
		if err != nil {
			return err
		}
		if h == nil {
			continue // released meanwhile
		}
		if h.Lane == a.lane {
			// The lane's own ledger decided between its own exits (an exit
			// whose pulse is unknown after a crash is honoured again).
			if err := a.exec(ctx, `UPDATE exit_claims SET released_at = now(), released = 'superseded' WHERE id = $1`, h.id); err != nil {
				return err
			}
			continue
		}
		var otherAmount int64
		if h.exitID != 0 {
			if err := a.tx.QueryRow(ctx, `SELECT amount FROM exits WHERE id = $1`, h.exitID).Scan(&otherAmount); err != nil {
				return err
			}
		}
		if err := a.exec(ctx, `INSERT INTO incidents (site, kind, ticket_id, key, lane, visit, at, amount, merchant_order_no,
			other_lane, other_visit, other_at, other_amount)
			VALUES ($1, 'double_exit', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (site, kind, key) DO NOTHING`,
			a.site, r.TicketID, fmt.Sprintf("%s/%d", a.lane, r.Visit), a.lane, r.Visit, r.At.UTC(), int64(r.Amount), r.No,
			h.Lane, h.Visit, h.At, otherAmount); err != nil {
			return err
		}
		return a.exec(ctx, `INSERT INTO exit_claims (site, ticket_id, lane, visit, at, offline, exit_id, released_at, released)
			VALUES ($1, $2, $3, $4, $5, true, $6, now(), 'double_exit')`,
			a.site, r.TicketID, a.lane, r.Visit, r.At.UTC(), exitID)
	}
	return fmt.Errorf("claim for ticket %s keeps changing", r.TicketID)
}

// pulseStart records that an authorised pulse is being sent (its ON
// frame follows). The lane's ledger accepted it only for an authorisation
// waiting for its pulse, so the store keeps the first start it is told of.
func (a applier) pulseStart(ctx context.Context, r lane.PulseStartRec) error {
	tag, err := a.tx.Exec(ctx, `UPDATE barrier_events SET started_at = COALESCE(started_at, $4)
		WHERE site = $1 AND lane = $2 AND auth = $3`, a.site, a.lane, r.Auth, r.At.UTC())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pulse start of unknown authorisation %s", r.Auth)
	}
	return nil
}

func (a applier) pulse(ctx context.Context, r lane.PulseRec) error {
	var exitID *int64
	if err := a.tx.QueryRow(ctx, `SELECT exit_id FROM barrier_events WHERE site = $1 AND lane = $2 AND auth = $3 FOR UPDATE`,
		a.site, a.lane, r.Auth).Scan(&exitID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pulse of unknown authorisation %s", r.Auth)
		}
		return err
	}
	state, exitState := "pulsed", "completed"
	if !r.OK {
		state, exitState = "failed", "void"
	}
	if err := a.exec(ctx, `UPDATE barrier_events SET state = $4, done_at = $5, error = $6 WHERE site = $1 AND lane = $2 AND auth = $3`,
		a.site, a.lane, r.Auth, state, r.At.UTC(), r.Err); err != nil {
		return err
	}
	if exitID == nil {
		return nil
	}
	if err := a.exec(ctx, `UPDATE exits SET state = $2 WHERE id = $1`, *exitID, exitState); err != nil {
		return err
	}
	if r.OK {
		return nil
	}
	// A failed pulse voids its exit: its payments are "paid, not exited"
	// again and the ticket may exit (at any lane).
	if err := a.exec(ctx, `UPDATE orders SET exit_id = NULL WHERE exit_id = $1`, *exitID); err != nil {
		return err
	}
	return a.exec(ctx, `UPDATE exit_claims SET released_at = $2, released = 'pulse_failed' WHERE exit_id = $1 AND released_at IS NULL`,
		*exitID, r.At.UTC())
}

func (a applier) refund(ctx context.Context, r lane.RefundRec) error {
	var cur string
	err := a.tx.QueryRow(ctx, `SELECT status FROM refunds WHERE site = $1 AND refund_no = $2 FOR UPDATE`, a.site, r.RefundNo).Scan(&cur)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Its VAT at the rate of the order refunded (0 if that order is
		// not here, as the lane's ledger books it).
		var rate int64
		if err := a.tx.QueryRow(ctx, `SELECT vat_rate FROM orders WHERE site = $1 AND merchant_order_no = $2`,
			a.site, r.No).Scan(&rate); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if err := a.exec(ctx, `INSERT INTO refunds (site, refund_no, lane, merchant_order_no, amount, at, attendant, reason, status, vat)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.site, r.RefundNo, a.lane, r.No, int64(r.Amount), r.At.UTC(), r.Attendant, r.Reason, string(r.Status),
			int64(money.VATPart(r.Amount, rate))); err != nil {
			return err
		}
	case err != nil:
		return err
	case cur == string(r.Status) || cur == string(lane.RefundDone):
		return nil
	default:
		if err := a.exec(ctx, `UPDATE refunds SET status = $3, at = $4 WHERE site = $1 AND refund_no = $2`,
			a.site, r.RefundNo, string(r.Status), r.At.UTC()); err != nil {
			return err
		}
	}
	if r.Status != "done" {
		return nil
	}
	if err := a.exec(ctx, `UPDATE orders SET refunded = refunded + $3 WHERE site = $1 AND merchant_order_no = $2`,
		a.site, r.No, int64(r.Amount)); err != nil {
		return err
	}
	// A double payment refunded as proposed is resolved.
	return a.exec(ctx, `UPDATE incidents i SET resolved_at = $3, resolved_by = $4, resolution = 'refunded ' || $5
		FROM orders o WHERE i.site = $1 AND i.kind = 'double_payment' AND i.merchant_order_no = $2 AND i.resolved_at IS NULL
		AND o.site = i.site AND o.merchant_order_no = i.merchant_order_no AND o.refunded >= i.refund`,
		a.site, r.No, r.At.UTC(), actor(r.Attendant), r.RefundNo)
}

// resolve closes an unresolved entry: a paid order without exit (by
// number, at any lane) or this lane's unable-to-collect exit (by visit).
// Nothing to resolve is not an error: the lane's ledger already decided.
func (a applier) resolve(ctx context.Context, r lane.ResolveRec) error {
	if r.No != "" {
		return a.exec(ctx, `UPDATE orders SET resolved_at = $3, resolved_by = $4, resolution = $5
			WHERE site = $1 AND merchant_order_no = $2 AND resolved_at IS NULL`,
			a.site, r.No, r.At.UTC(), r.Attendant, r.Reason)
	}
	return a.exec(ctx, `UPDATE exits SET resolved_at = $4, resolved_by = $5
		WHERE site = $1 AND lane = $2 AND visit = $3 AND cause = 'unable_to_collect' AND resolved_at IS NULL`,
		a.site, a.lane, r.Visit, r.At.UTC(), r.Attendant)
}
