package sitestore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// LastExitByPlate finds the latest exit at the site, at any lane, of a
// ticket carrying plate (other than the ticket notTicket), between since
// and before, for a re-entry. Its Entry is the first entry of the stay it
// belongs to (a visit that itself continued one keeps that stay's entry)
// and its Paid everything that stay paid, less refunds.
//
// The plate and the stay continued are read from the lane's visit record
// in the journal (no column holds them yet); the exits in the window come
// by the (site, at) index, so the lookup reads the window's exits, not the
// site's history.
func (s *Store) LastExitByPlate(ctx context.Context, plate, notTicket string, since, before time.Time) (lane.Previous, bool, error) {
	var p lane.Previous
	if err := s.ready(ctx); err != nil {
		return p, false, err
	}
	var entry, session *time.Time
	var previousPaid *string
	var paid int64
	var exit time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT e.lane, e.ticket_id, v.serial, v.entry_at,
			(j.rec->'Quote'->'Continued'->>'Entry')::timestamptz,
			j.rec->'Quote'->'Continued'->>'Paid',
			e.at,
			(SELECT COALESCE(SUM(paid - refunded), 0) FROM orders o WHERE o.site = e.site AND o.ticket_id = e.ticket_id AND o.paid > 0)
		FROM exits e
		JOIN visits v ON v.site = e.site AND v.lane = e.lane AND v.visit = e.visit
		JOIN journal j ON j.site = e.site AND j.lane = e.lane AND j.kind = 'visit' AND (j.rec->>'Visit')::bigint = e.visit
		WHERE e.site = $1 AND e.at >= $2 AND e.at <= $3 AND e.ticket_id <> '' AND e.ticket_id <> $4
			AND e.state IN ('pending', 'completed') AND j.rec->'Ticket'->>'Plate' = $5
		ORDER BY e.at DESC, e.id DESC LIMIT 1`,
		s.site, since.UTC(), before.UTC(), notTicket, plate).Scan(&p.Lane, &p.TicketID, &p.Serial, &entry, &session, &previousPaid, &exit, &paid)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return p, false, nil
	case err != nil:
		return p, false, fmt.Errorf("sitestore: last exit by plate: %w", err)
	}
	if entry != nil {
		p.Entry = entry.UTC()
	}
	if session != nil {
		p.Entry = session.UTC()
	}
	p.Exit, p.Paid = exit.UTC(), money.Fils(paid)
	if previousPaid != nil {
		// As the record's JSON writes amounts: "30.00".
		pp, err := money.Parse(*previousPaid)
		if err != nil {
			return lane.Previous{}, false, fmt.Errorf("sitestore: last exit by plate: the continued stay's paid %q: %w", *previousPaid, err)
		}
		p.Paid += pp
	}
	return p, true, nil
}
