package sitestore

// Read queries of the office console: searching visits, a ticket's whole
// story across the lanes, the lanes' shifts and the refunds of a period.

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/money"
)

// VisitQuery selects visits: by ticket serial, by an order's merchant
// order number, or by the time the visit started in [From, To). Empty
// fields select everything.
type VisitQuery struct {
	Serial   string
	OrderNo  string
	TicketID string
	From, To time.Time
	Limit    int // default 200
}

// VisitRow is one visit as the store knows it.
type VisitRow struct {
	Lane     string
	Visit    int64
	Started  time.Time
	TicketID string
	Serial   string
	Entry    time.Time
	Fee      money.Fils
	Due      money.Fils
	Free     string
	Refused  string
	Outcome  string
	Ended    time.Time
}

// SearchVisits lists the visits q selects, newest first.
func (s *Store) SearchVisits(ctx context.Context, q VisitQuery) ([]VisitRow, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = 200
	}
	where := []string{"v.site = $1"}
	args := []any{s.site}
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if q.Serial != "" {
		add("v.serial = ?", q.Serial)
	}
	if q.TicketID != "" {
		add("v.ticket_id = ?", q.TicketID)
	}
	if q.OrderNo != "" {
		add(`EXISTS (SELECT 1 FROM orders o WHERE o.site = v.site AND o.merchant_order_no = ?
			AND ((o.lane = v.lane AND o.visit = v.visit) OR (o.ticket_id <> '' AND o.ticket_id = v.ticket_id)))`, q.OrderNo)
	}
	if !q.From.IsZero() {
		add("v.started_at >= ?", q.From.UTC())
	}
	if !q.To.IsZero() {
		add("v.started_at < ?", q.To.UTC())
	}
	args = append(args, q.Limit)
	rows, err := s.pool.Query(ctx, `SELECT v.lane, v.visit, v.started_at, v.ticket_id, v.serial, v.entry_at, v.fee, v.due,
			v.free, v.refused, v.outcome, v.ended_at
		FROM visits v WHERE `+strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY v.started_at DESC, v.lane, v.visit DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("sitestore: search visits: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (VisitRow, error) {
		var v VisitRow
		var entry, ended *time.Time
		var fee, due int64
		err := r.Scan(&v.Lane, &v.Visit, &v.Started, &v.TicketID, &v.Serial, &entry, &fee, &due, &v.Free, &v.Refused, &v.Outcome, &ended)
		v.Started, v.Entry, v.Ended, v.Fee, v.Due = v.Started.UTC(), utcOf(entry), utcOf(ended), money.Fils(fee), money.Fils(due)
		return v, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: search visits: %w", err)
	}
	return out, nil
}

// StoryEvent is one thing that happened to a ticket, at one lane.
type StoryEvent struct {
	At      time.Time
	Lane    string
	Visit   int64
	Kind    string // scan, quote, order, status, notification, exit, barrier, attendant, refund, claim, incident
	OrderNo string
	Amount  money.Fils
	Detail  string
	// ThenWhat and Then are a second instant the event tells of, after
	// Detail ("entered" and the ticket's entry, "expires" and the
	// order's end): a time, not text, so each page shows it in the
	// site's zone like every other.
	ThenWhat string
	Then     time.Time
}

// Story is a ticket's (or one visit's) whole story across the lanes,
// oldest first: its scans and quotes, orders and every PayBy status
// change, PayBy's notifications, exits and claims, barrier events,
// attendant actions, refunds and incidents.
func (s *Store) Story(ctx context.Context, laneID string, visit int64) ([]StoryEvent, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	var ticket string
	err := s.pool.QueryRow(ctx, `SELECT ticket_id FROM visits WHERE site = $1 AND lane = $2 AND visit = $3`, s.site, laneID, visit).Scan(&ticket)
	if err != nil && err != pgx.ErrNoRows {
		return nil, fmt.Errorf("sitestore: story: %w", err)
	}
	// The visits of the story: every visit of the ticket, or this one.
	vsel := `SELECT lane, visit FROM visits WHERE site = $1 AND ((lane = $2::text AND visit = $3::bigint) OR ($4::text <> '' AND ticket_id = $4))`
	osel := `SELECT merchant_order_no FROM orders WHERE site = $1 AND (lane, visit) IN (` + vsel + `)`
	queries := []struct {
		kind, sql string
	}{
		{"scan", `SELECT started_at, lane, visit, '', 0::bigint,
				concat_ws(' ', 'ticket ' || NULLIF(ticket_id, ''), 'serial ' || NULLIF(serial, ''), CASE WHEN lost THEN 'lost ticket' END,
					CASE WHEN NOT signed AND format <> '' THEN 'unsigned' END), 'entered', entry_at
			FROM visits WHERE site = $1 AND (lane, visit) IN (` + vsel + `)`},
		{"quote", `SELECT started_at, lane, visit, '', due,
				concat_ws(', ', 'fee ' || ` + aed("fee") + `, 'paid before ' || ` + aed("NULLIF(paid_before, 0)") + `, 'due ' || ` + aed("due") + `, 'free: ' || NULLIF(free, ''),
					'refused: ' || NULLIF(refused, ''), 'validation ' || NULLIF(validation_name, ''), 'outcome ' || NULLIF(outcome, '')), '', NULL::timestamptz
			FROM visits WHERE site = $1 AND (lane, visit) IN (` + vsel + `)`},
		{"order", `SELECT created_at, lane, visit, merchant_order_no, amount, 'attempt ' || attempt || ',', 'expires', expire_at
			FROM orders WHERE site = $1 AND (lane, visit) IN (` + vsel + `)`},
		{"status", `SELECT e.at, e.lane, o.visit, e.merchant_order_no, e.paid,
				concat_ws(' ', e.status, '(' || NULLIF(e.payby_status, '') || ')', 'from ' || e.source), '', NULL::timestamptz
			FROM order_events e JOIN orders o ON o.site = e.site AND o.merchant_order_no = e.merchant_order_no
			WHERE e.site = $1 AND e.merchant_order_no IN (` + osel + `)`},
		{"notification", `SELECT n.received_at, o.lane, o.visit, n.merchant_order_no, n.paid,
				concat_ws(' ', n.kind, n.status, CASE WHEN n.revoked THEN 'revoked' END, CASE WHEN n.repeats > 0 THEN 'repeated ' || n.repeats || 'x' END), '', NULL::timestamptz
			FROM notifications n JOIN orders o ON o.site = n.site AND o.merchant_order_no = n.merchant_order_no
			WHERE n.site = $1 AND n.merchant_order_no IN (` + osel + `)`},
		{"exit", `SELECT at, lane, visit, merchant_order_no, amount,
				concat_ws(' ', cause, state, 'by ' || NULLIF(attendant, ''), 'reason: ' || NULLIF(reason, ''), CASE WHEN override THEN 'override' END), '', NULL::timestamptz
			FROM exits WHERE site = $1 AND (lane, visit) IN (` + vsel + `)`},
		{"barrier", `SELECT at, lane, COALESCE(visit, 0), merchant_order_no, 0::bigint,
				concat_ws(' ', cause, state, 'by ' || actor, 'reason: ' || NULLIF(reason, ''), 'error: ' || NULLIF(error, '')), '', NULL::timestamptz
			FROM barrier_events WHERE site = $1 AND (lane, visit) IN (` + vsel + `)`},
		{"attendant", `SELECT at, lane, COALESCE(visit, 0), merchant_order_no, amount,
				concat_ws(' ', action, 'by ' || attendant, 'reason: ' || NULLIF(reason, '')), '', NULL::timestamptz
			FROM audit WHERE site = $1 AND ((lane, visit) IN (` + vsel + `) OR (merchant_order_no <> '' AND merchant_order_no IN (` + osel + `)))`},
		{"refund", `SELECT at, lane, 0::bigint, merchant_order_no, amount,
				concat_ws(' ', refund_no, status, 'by ' || NULLIF(attendant, ''), 'reason: ' || NULLIF(reason, '')), '', NULL::timestamptz
			FROM refunds WHERE site = $1 AND merchant_order_no IN (` + osel + `)`},
		{"claim", `SELECT at, lane, visit, '', 0::bigint,
				concat_ws(' ', 'exit claimed', CASE WHEN override THEN 'override by ' || attendant END, CASE WHEN offline THEN 'offline' END,
					'released: ' || NULLIF(released, '')), '', NULL::timestamptz
			FROM exit_claims WHERE site = $1 AND $4::text <> '' AND ticket_id = $4 AND $2::text IS NOT NULL AND $3::bigint IS NOT NULL`},
		{"incident", `SELECT found_at, lane, visit, merchant_order_no, amount,
				concat_ws(' ', kind, 'with lane ' || other_lane || ' visit ' || other_visit, 'proposed refund ' || ` + aed("NULLIF(refund, 0)") + `,
					'resolved by ' || NULLIF(resolved_by, '') || ': ' || resolution), '', NULL::timestamptz
			FROM incidents WHERE site = $1 AND $4::text <> '' AND ticket_id = $4 AND $2::text IS NOT NULL AND $3::bigint IS NOT NULL`},
	}
	var out []StoryEvent
	b := &pgx.Batch{}
	for _, q := range queries {
		b.Queue(q.sql, s.site, laneID, visit, ticket).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				e := StoryEvent{Kind: q.kind}
				var amount int64
				var then *time.Time
				if err := rows.Scan(&e.At, &e.Lane, &e.Visit, &e.OrderNo, &amount, &e.Detail, &e.ThenWhat, &then); err != nil {
					return err
				}
				e.At, e.Amount, e.Then = e.At.UTC(), money.Fils(amount), utcOf(then)
				if e.Then.IsZero() {
					e.ThenWhat = ""
				}
				out = append(out, e)
			}
			return rows.Err()
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("sitestore: story: %w", err)
	}
	rank := map[string]int{}
	for i, q := range queries {
		rank[q.kind] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return rank[out[i].Kind] < rank[out[j].Kind]
	})
	return out, nil
}

// aed is SQL that writes an amount in fils as AED with two decimals
// (NULL stays NULL), in integers: no floating point touches money.
func aed(col string) string {
	return "((" + col + ") / 100 || '.' || lpad(((" + col + ") % 100)::text, 2, '0'))"
}

// Shift is one attendant shift at a lane, as the store has it.
type Shift struct {
	ID        int64
	Lane      string
	Attendant string
	Start     time.Time
	End       time.Time // zero: open
}

// Shifts lists the lanes' latest shifts, newest first, at most limit.
func (s *Store) Shifts(ctx context.Context, limit int) ([]Shift, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, lane, attendant, started_at, ended_at FROM shifts WHERE site = $1
		ORDER BY started_at DESC, id DESC LIMIT $2`, s.site, limit)
	if err != nil {
		return nil, fmt.Errorf("sitestore: shifts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Shift, error) {
		var sh Shift
		var end *time.Time
		err := r.Scan(&sh.ID, &sh.Lane, &sh.Attendant, &sh.Start, &end)
		sh.Start, sh.End = sh.Start.UTC(), utcOf(end)
		return sh, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: shifts: %w", err)
	}
	return out, nil
}

// Refund is one refund as the store has it.
type Refund struct {
	No        string // the refund's merchant order number
	Lane      string
	OrderNo   string
	Amount    money.Fils
	At        time.Time
	Attendant string
	Reason    string
	Status    string // pending, done, failed
}

// Refunds lists the site's refunds made in [from, to), oldest first.
func (s *Store) Refunds(ctx context.Context, from, to time.Time) ([]Refund, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT refund_no, lane, merchant_order_no, amount, at, attendant, reason, status FROM refunds
		WHERE site = $1 AND at >= $2 AND at < $3 ORDER BY at, refund_no`, s.site, from.UTC(), to.UTC())
	if err != nil {
		return nil, fmt.Errorf("sitestore: refunds: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Refund, error) {
		var f Refund
		var amount int64
		err := r.Scan(&f.No, &f.Lane, &f.OrderNo, &amount, &f.At, &f.Attendant, &f.Reason, &f.Status)
		f.Amount, f.At = money.Fils(amount), f.At.UTC()
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: refunds: %w", err)
	}
	return out, nil
}
