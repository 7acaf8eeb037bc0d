package sitestore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// Takings are the site's totals over [From, To), lane by lane and summed
// (declared by lane, which the admin screens read it through).
type Takings = lane.SiteTakings

// Takings counts visits, exits by cause, money collected, refunded and
// owed, and openings in [from, to), by lane (the lane.Totals a lane's
// reports show, with the same rules as its ledger). A payment counts at
// the lane that took it, and so does its refund. VAT is summed as the
// lanes' ledgers sum it: each payment's, exit's and refund's VAT as
// booked (money.VATPart at the rate its price included, migration 004),
// never a rounding of a total, and Net is Collected less VAT.
func (s *Store) Takings(ctx context.Context, from, to time.Time) (Takings, error) {
	t := Takings{From: from, To: to, Lanes: map[string]lane.Totals{},
		Site: lane.Totals{From: from, To: to, ByCause: map[lane.Cause]lane.CauseTotal{}}}
	if err := s.ready(ctx); err != nil {
		return t, err
	}
	at := func(id string) lane.Totals {
		l, ok := t.Lanes[id]
		if !ok {
			l = lane.Totals{From: from, To: to, ByCause: map[lane.Cause]lane.CauseTotal{}}
		}
		return l
	}
	// Each query's rows are (lane, cause or "", count, amount, VAT).
	queries := []struct {
		sql string
		add func(l *lane.Totals, cause string, n int, amount, vat money.Fils)
	}{
		{`SELECT lane, '', count(*), 0, 0 FROM visits WHERE site = $1 AND started_at >= $2 AND started_at < $3 AND refused = ''
			GROUP BY lane`,
			func(l *lane.Totals, _ string, n int, _, _ money.Fils) { l.Visits += n }},
		{`SELECT lane, cause, count(*), COALESCE(sum(amount), 0), COALESCE(sum(vat), 0) FROM exits
			WHERE site = $1 AND at >= $2 AND at < $3 AND state <> 'void'
			GROUP BY lane, cause`,
			func(l *lane.Totals, cause string, n int, a, vat money.Fils) {
				var c lane.Cause
				if err := c.UnmarshalText([]byte(cause)); err != nil {
					c = lane.CauseNone
				}
				ct := l.ByCause[c]
				ct.Count += n
				ct.Amount += a
				ct.VAT += vat
				l.ByCause[c] = ct
				l.Exits += n
				if c == lane.CauseUnableToCollect {
					l.Owed += a
				}
			}},
		{`SELECT lane, '', count(*), 0, 0 FROM barrier_events WHERE site = $1 AND at >= $2 AND at < $3 AND exit_id IS NULL AND state <> 'failed'
			GROUP BY lane`,
			func(l *lane.Totals, _ string, n int, _, _ money.Fils) { l.Openings += n }},
		{`SELECT lane, '', count(*), COALESCE(sum(paid), 0), COALESCE(sum(vat), 0) FROM orders
			WHERE site = $1 AND paid > 0 AND paid_at >= $2 AND paid_at < $3
			GROUP BY lane`,
			func(l *lane.Totals, _ string, _ int, a, vat money.Fils) {
				l.Collected += a
				l.VAT += vat
				l.Net = l.Collected - l.VAT
			}},
		{`SELECT o.lane, '', count(*), COALESCE(sum(r.amount), 0), COALESCE(sum(r.vat), 0) FROM refunds r
			JOIN orders o ON o.site = r.site AND o.merchant_order_no = r.merchant_order_no
			WHERE r.site = $1 AND r.status = 'done' AND r.at >= $2 AND r.at < $3 GROUP BY o.lane`,
			func(l *lane.Totals, _ string, _ int, a, vat money.Fils) {
				l.Refunded += a
				l.RefundedVAT += vat
			}},
	}
	b := &pgx.Batch{}
	for _, q := range queries {
		b.Queue(q.sql, s.site, from.UTC(), to.UTC()).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id, cause string
				var n int
				var amount, vat int64
				if err := rows.Scan(&id, &cause, &n, &amount, &vat); err != nil {
					return err
				}
				l, site := at(id), t.Site
				q.add(&l, cause, n, money.Fils(amount), money.Fils(vat))
				q.add(&site, cause, n, money.Fils(amount), money.Fils(vat))
				t.Lanes[id], t.Site = l, site
			}
			return rows.Err()
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return t, fmt.Errorf("sitestore: takings: %w", err)
	}
	return t, nil
}

// Unresolved is an entry needing an attendant, with the lane it belongs
// to (declared by lane, which the admin screens read it through).
type Unresolved = lane.SiteUnresolved

// Unresolved lists, site-wide: orders not final, paid orders that no exit
// used ("paid, not exited"), and unable-to-collect exits not resolved.
func (s *Store) Unresolved(ctx context.Context) ([]Unresolved, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	queries := []struct {
		kind lane.UnresolvedKind
		sql  string
	}{
		{lane.UnresolvedNotFinal, `SELECT o.lane, o.visit, COALESCE(v.serial, ''), o.merchant_order_no, o.status, o.amount, o.created_at
			FROM orders o LEFT JOIN visits v ON v.site = o.site AND v.lane = o.lane AND v.visit = o.visit
			WHERE o.site = $1 AND o.status IN ('new', 'created') AND o.resolved_at IS NULL ORDER BY o.created_at`},
		{lane.UnresolvedPaidNotExited, `SELECT o.lane, o.visit, COALESCE(v.serial, ''), o.merchant_order_no, o.payby_status,
				o.paid - o.refunded, o.paid_at
			FROM orders o LEFT JOIN visits v ON v.site = o.site AND v.lane = o.lane AND v.visit = o.visit
			WHERE o.site = $1 AND o.paid > o.refunded AND o.exit_id IS NULL AND o.resolved_at IS NULL ORDER BY o.paid_at`},
		{lane.UnresolvedUnableToCollect, `SELECT e.lane, e.visit, COALESCE(v.serial, ''), e.merchant_order_no, e.state, e.amount, e.at
			FROM exits e LEFT JOIN visits v ON v.site = e.site AND v.lane = e.lane AND v.visit = e.visit
			WHERE e.site = $1 AND e.cause = 'unable_to_collect' AND e.resolved_at IS NULL AND e.state <> 'void' ORDER BY e.at`},
	}
	var out []Unresolved
	b := &pgx.Batch{}
	for _, q := range queries {
		b.Queue(q.sql, s.site).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				u := Unresolved{Unresolved: lane.Unresolved{Kind: q.kind}}
				var amount int64
				var since *time.Time
				if err := rows.Scan(&u.Lane, &u.Visit, &u.Ticket, &u.MerchantOrderNo, &u.Status, &amount, &since); err != nil {
					return err
				}
				u.Amount, u.Since = money.Fils(amount), utcOf(since)
				out = append(out, u)
			}
			return rows.Err()
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("sitestore: unresolved: %w", err)
	}
	return out, nil
}

// IncidentKind names a conflict between lanes (declared by lane, which
// the admin screens read it through).
type IncidentKind = lane.IncidentKind

const (
	IncidentDoubleExit    = lane.IncidentDoubleExit
	IncidentDoublePayment = lane.IncidentDoublePayment
)

// Incident is one conflict found while applying the lanes' records.
type Incident = lane.Incident

// Incidents lists the site's incidents, oldest first; openOnly leaves out
// the resolved ones.
func (s *Store) Incidents(ctx context.Context, openOnly bool) ([]Incident, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, kind, ticket_id, lane, visit, at, amount, merchant_order_no,
			other_lane, other_visit, other_at, other_amount, other_order_no, refund, found_at, resolved_at, resolved_by, resolution
		FROM incidents WHERE site = $1 AND (NOT $2 OR resolved_at IS NULL) ORDER BY found_at, id`, s.site, openOnly)
	if err != nil {
		return nil, fmt.Errorf("sitestore: incidents: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Incident, error) {
		var i Incident
		var amount, otherAmount, refund int64
		var otherAt, resolved *time.Time
		err := r.Scan(&i.ID, &i.Kind, &i.Ticket, &i.Lane, &i.Visit, &i.At, &amount, &i.No,
			&i.OtherLane, &i.OtherVisit, &otherAt, &otherAmount, &i.OtherNo, &refund, &i.FoundAt, &resolved, &i.ResolvedBy, &i.Resolution)
		i.Amount, i.OtherAmount, i.Refund = money.Fils(amount), money.Fils(otherAmount), money.Fils(refund)
		i.At, i.OtherAt, i.FoundAt, i.ResolvedAt = i.At.UTC(), utcOf(otherAt), i.FoundAt.UTC(), utcOf(resolved)
		return i, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: incidents: %w", err)
	}
	return out, nil
}

// ResolveIncident closes an open incident with who and why
// (ErrReasonRequired without them, ErrNotFound if it is not open).
func (s *Store) ResolveIncident(ctx context.Context, id int64, at time.Time, by, reason string) error {
	if by == "" || reason == "" {
		return fmt.Errorf("sitestore: resolve incident: %w", ErrReasonRequired)
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE incidents SET resolved_at = $3, resolved_by = $4, resolution = $5
		WHERE site = $1 AND id = $2 AND resolved_at IS NULL`, s.site, id, at.UTC(), by, reason)
	if err != nil {
		return fmt.Errorf("sitestore: resolve incident: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("sitestore: resolve incident %d: %w", id, ErrNotFound)
	}
	return nil
}

// LaneState is how far a lane's records have been applied.
type LaneState struct {
	Lane      string
	LastSeq   int64
	AppliedAt time.Time
}

// Lanes lists the site's lanes that have sent records.
func (s *Store) Lanes(ctx context.Context) ([]LaneState, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT lane, last_seq, applied_at FROM lanes WHERE site = $1 ORDER BY lane`, s.site)
	if err != nil {
		return nil, fmt.Errorf("sitestore: lanes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (LaneState, error) {
		var l LaneState
		var at *time.Time
		err := r.Scan(&l.Lane, &l.LastSeq, &at)
		l.AppliedAt = utcOf(at)
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: lanes: %w", err)
	}
	return out, nil
}

// Entry is one journal row: a lane's record as applied.
type Entry struct {
	Lane string
	Seq  int64
	Kind string
	Rec  lane.Record
}

// Journal returns up to limit records of a lane with seq > after, in order
// (to compare the store with a lane's ledger, or to rebuild).
func (s *Store) Journal(ctx context.Context, laneID string, after int64, limit int) ([]Entry, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, kind, rec::text FROM journal WHERE site = $1 AND lane = $2 AND seq > $3
		ORDER BY seq LIMIT $4`, s.site, laneID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sitestore: journal: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		e := Entry{Lane: laneID}
		var data string
		if err := r.Scan(&e.Seq, &e.Kind, &data); err != nil {
			return e, err
		}
		rec, err := Decode(e.Kind, []byte(data))
		e.Rec = rec
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: journal: %w", err)
	}
	return out, nil
}

// Order is one order as the site store knows it, for the order listing.
type Order struct {
	Lane            string
	Visit           int64
	TicketID        string
	MerchantOrderNo string
	Amount          money.Fils
	Status          string // new, created, paid, failed, not_found
	PayByStatus     string
	Paid            money.Fils
	Created         time.Time
}

// Orders lists the site's orders created in [from, to), oldest first.
func (s *Store) Orders(ctx context.Context, from, to time.Time) ([]Order, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT lane, visit, ticket_id, merchant_order_no, amount, status, payby_status, paid, created_at
		FROM orders WHERE site = $1 AND created_at >= $2 AND created_at < $3 ORDER BY created_at, lane, merchant_order_no`, s.site, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("sitestore: orders: %w", err)
	}
	defer rows.Close()
	var out []Order
	for rows.Next() {
		var o Order
		var amount, paid int64
		if err := rows.Scan(&o.Lane, &o.Visit, &o.TicketID, &o.MerchantOrderNo, &amount, &o.Status, &o.PayByStatus, &paid, &o.Created); err != nil {
			return nil, fmt.Errorf("sitestore: orders: %w", err)
		}
		o.Amount, o.Paid = money.Fils(amount), money.Fils(paid)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sitestore: orders: %w", err)
	}
	return out, nil
}
