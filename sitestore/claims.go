package sitestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/money"
)

// Claim is a ticket's exit as claimed in the store.
type Claim struct {
	Ticket    string
	Lane      string
	Visit     int64
	At        time.Time
	Override  bool
	Attendant string
	Reason    string
	// Offline: claimed when the lane's exit record was applied, not at
	// scan (the lane decided while the store was unreachable).
	Offline bool
	// Confirmed: the lane's exit record has arrived.
	Confirmed bool

	id     int64
	exitID int64
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// liveClaim returns the ticket's live claim (no override, not released), or nil.
func liveClaim(ctx context.Context, q querier, site, ticket string) (*Claim, error) {
	c := Claim{Ticket: ticket}
	var exitID *int64
	err := q.QueryRow(ctx, `SELECT id, lane, visit, at, offline, exit_id FROM exit_claims
		WHERE site = $1 AND ticket_id = $2 AND NOT override AND released_at IS NULL`, site, ticket).Scan(
		&c.id, &c.Lane, &c.Visit, &c.At, &c.Offline, &exitID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.At = c.At.UTC()
	if exitID != nil {
		c.exitID, c.Confirmed = *exitID, true
	}
	return &c, nil
}

// ClaimExit claims the ticket's one exit for visit at laneID, before the
// lane authorises the pulse. Exactly one of two lanes racing for a ticket
// wins (a unique index; the loser's insert fails with SQLSTATE 23505); the
// loser gets an *ExitedError (errors.Is ErrAlreadyExited) saying where and
// when the ticket exited. Claiming again for the same lane and visit is a
// no-op. A lane's claim for a later visit of the same ticket replaces its
// own earlier claim: the lane's ledger, consulted first, decides between
// its own exits (an exit whose pulse is unknown after a crash may be
// honoured again); the store arbitrates between lanes.
func (s *Store) ClaimExit(ctx context.Context, ticketID, laneID string, visit int64, at time.Time) error {
	return s.claim(ctx, Claim{Ticket: ticketID, Lane: laneID, Visit: visit, At: at})
}

// ClaimOverride records an attendant's override of the site's
// anti-passback for visit: the ticket exits again, with the attendant and
// the reason (ErrReasonRequired without them). It never conflicts.
func (s *Store) ClaimOverride(ctx context.Context, ticketID, laneID string, visit int64, at time.Time, attendant, reason string) error {
	if attendant == "" || reason == "" {
		return fmt.Errorf("sitestore: claim override: %w", ErrReasonRequired)
	}
	return s.claim(ctx, Claim{Ticket: ticketID, Lane: laneID, Visit: visit, At: at, Override: true, Attendant: attendant, Reason: reason})
}

func (s *Store) claim(ctx context.Context, c Claim) error {
	if c.Ticket == "" || c.Lane == "" {
		return errors.New("sitestore: claim exit: ticket and lane required")
	}
	if err := s.ready(ctx); err != nil {
		return err
	}
	for range 4 {
		_, err := s.pool.Exec(ctx, `INSERT INTO exit_claims (site, ticket_id, lane, visit, at, override, attendant, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			s.site, c.Ticket, c.Lane, c.Visit, c.At.UTC(), c.Override, c.Attendant, c.Reason)
		switch {
		case err == nil:
			return nil
		case isCheck(err):
			return fmt.Errorf("sitestore: claim exit: %w", ErrReasonRequired)
		case !isUnique(err):
			return fmt.Errorf("sitestore: claim exit: %w", err)
		}
		// Lost a race, or claimed before: whose is it?
		var mine struct {
			ticket   string
			override bool
		}
		err = s.pool.QueryRow(ctx, `SELECT ticket_id, override FROM exit_claims
			WHERE site = $1 AND lane = $2 AND visit = $3 AND released_at IS NULL`, s.site, c.Lane, c.Visit).Scan(&mine.ticket, &mine.override)
		switch {
		case err == nil && mine.ticket == c.Ticket && mine.override == c.Override:
			return nil // this visit's claim, made before
		case err == nil:
			return fmt.Errorf("sitestore: claim exit: visit %d of lane %s already claimed ticket %s", c.Visit, c.Lane, mine.ticket)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("sitestore: claim exit: %w", err)
		}
		h, err := liveClaim(ctx, s.pool, s.site, c.Ticket)
		if err != nil {
			return fmt.Errorf("sitestore: claim exit: %w", err)
		}
		switch {
		case h == nil:
			continue // released meanwhile: try again
		case h.Lane == c.Lane:
			if _, err := s.pool.Exec(ctx, `UPDATE exit_claims SET released_at = now(), released = 'superseded'
				WHERE id = $1 AND released_at IS NULL`, h.id); err != nil {
				return fmt.Errorf("sitestore: claim exit: %w", err)
			}
			continue
		}
		return &ExitedError{Ticket: c.Ticket, Lane: h.Lane, Visit: h.Visit, At: h.At, Offline: h.Offline}
	}
	return fmt.Errorf("sitestore: claim exit: ticket %s: the claim keeps changing", c.Ticket)
}

// ReleaseExit gives up visit's claim: its pulse failed, or the lane never
// authorised the exit it claimed. The ticket may exit again at any lane.
// Releasing twice, or a visit without a claim, is a no-op.
func (s *Store) ReleaseExit(ctx context.Context, laneID string, visit int64, at time.Time) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `UPDATE exit_claims SET released_at = $4, released = 'released'
		WHERE site = $1 AND lane = $2 AND visit = $3 AND released_at IS NULL`, s.site, laneID, visit, at.UTC()); err != nil {
		return fmt.Errorf("sitestore: release exit: %w", err)
	}
	return nil
}

// UnconfirmedClaims lists a lane's live claims whose exit record has not
// arrived: at start-up, a lane releases those its ledger has no exit for
// (it stopped between the claim and the authorisation).
func (s *Store) UnconfirmedClaims(ctx context.Context, laneID string) ([]Claim, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT ticket_id, lane, visit, at, override, attendant, reason, offline FROM exit_claims
		WHERE site = $1 AND lane = $2 AND exit_id IS NULL AND released_at IS NULL ORDER BY visit`, s.site, laneID)
	if err != nil {
		return nil, fmt.Errorf("sitestore: unconfirmed claims: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Claim, error) {
		var c Claim
		err := r.Scan(&c.Ticket, &c.Lane, &c.Visit, &c.At, &c.Override, &c.Attendant, &c.Reason, &c.Offline)
		c.At = c.At.UTC()
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: unconfirmed claims: %w", err)
	}
	return out, nil
}

// Payment is a paid order of a ticket, at any lane.
type Payment struct {
	No       string
	Lane     string
	Visit    int64
	Amount   money.Fils // paid less refunded
	Refunded money.Fils
	PaidAt   time.Time
	// Used: an exit (at any lane) counted this payment.
	Used bool
}

// OpenOrder is an order of a ticket not known to be final (new or
// CREATED): a lane resolves it at PayBy (cancel if still CREATED, honour
// if paid) before it makes a new order.
type OpenOrder struct {
	No        string
	Lane      string
	Visit     int64
	Amount    money.Fils
	Status    string // new, created
	CreatedAt time.Time
	Expire    time.Time
}

// History is what the site knows about one ticket.
type History struct {
	Ticket   string
	Payments []Payment // oldest first
	Open     []OpenOrder
	// Exit is the ticket's live exit claim (nil: it has not exited).
	Exit *Claim
	// Paid sums Payments; LastPaid and LastPaidOrder are the latest (for
	// exit grace and the difference to pay).
	Paid          money.Fils
	LastPaid      time.Time
	LastPaidOrder string
}

// OpenElsewhere lists the open orders made at other lanes than laneID
// (its own are in its ledger).
func (h History) OpenElsewhere(laneID string) []OpenOrder {
	var out []OpenOrder
	for _, o := range h.Open {
		if o.Lane != laneID {
			out = append(out, o)
		}
	}
	return out
}

// TicketHistory returns a ticket's payments at every lane, its open
// orders and its exit, in one round trip.
func (s *Store) TicketHistory(ctx context.Context, ticketID string) (History, error) {
	h := History{Ticket: ticketID}
	if err := s.ready(ctx); err != nil {
		return h, err
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT merchant_order_no, lane, visit, paid - refunded, refunded, paid_at, exit_id IS NOT NULL FROM orders
		WHERE site = $1 AND ticket_id = $2 AND paid > refunded ORDER BY paid_at, merchant_order_no`, s.site, ticketID).Query(
		func(rows pgx.Rows) error {
			var err error
			h.Payments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Payment, error) {
				var p Payment
				var net, ref int64
				err := r.Scan(&p.No, &p.Lane, &p.Visit, &net, &ref, &p.PaidAt, &p.Used)
				p.Amount, p.Refunded, p.PaidAt = money.Fils(net), money.Fils(ref), p.PaidAt.UTC()
				return p, err
			})
			return err
		})
	b.Queue(`SELECT merchant_order_no, lane, visit, amount, status, created_at, expire_at FROM orders
		WHERE site = $1 AND ticket_id = $2 AND status IN ('new', 'created') AND resolved_at IS NULL ORDER BY created_at`, s.site, ticketID).Query(
		func(rows pgx.Rows) error {
			var err error
			h.Open, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenOrder, error) {
				var o OpenOrder
				var amount int64
				err := r.Scan(&o.No, &o.Lane, &o.Visit, &amount, &o.Status, &o.CreatedAt, &o.Expire)
				o.Amount, o.CreatedAt, o.Expire = money.Fils(amount), o.CreatedAt.UTC(), o.Expire.UTC()
				return o, err
			})
			return err
		})
	b.Queue(`SELECT lane, visit, at, offline, exit_id IS NOT NULL FROM exit_claims
		WHERE site = $1 AND ticket_id = $2 AND NOT override AND released_at IS NULL`, s.site, ticketID).Query(
		func(rows pgx.Rows) error {
			for rows.Next() {
				c := Claim{Ticket: ticketID}
				if err := rows.Scan(&c.Lane, &c.Visit, &c.At, &c.Offline, &c.Confirmed); err != nil {
					return err
				}
				c.At = c.At.UTC()
				h.Exit = &c
			}
			return rows.Err()
		})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return History{Ticket: ticketID}, fmt.Errorf("sitestore: ticket history: %w", err)
	}
	for _, p := range h.Payments {
		h.Paid += p.Amount
		if !p.PaidAt.Before(h.LastPaid) {
			h.LastPaid, h.LastPaidOrder = p.PaidAt, p.No
		}
	}
	return h, nil
}
