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
// The plate's visits come by the visits_plate index (migration 007),
// their exits by (site, lane, visit): the lookup reads that plate's
// visits, not the site's history nor the journal.
func (s *Store) LastExitByPlate(ctx context.Context, plate, notTicket string, since, before time.Time) (lane.Previous, bool, error) {
	var p lane.Previous
	if err := s.ready(ctx); err != nil {
		return p, false, err
	}
	var entry, session *time.Time
	var previousPaid, paid int64
	var exit time.Time
	err := s.pool.QueryRow(ctx, `
		SELECT e.lane, e.ticket_id, v.serial, v.entry_at, v.continued_entry, v.continued_paid, e.at,
			(SELECT COALESCE(SUM(paid - refunded), 0) FROM orders o WHERE o.site = e.site AND o.ticket_id = e.ticket_id AND o.paid > 0)
		FROM visits v
		JOIN exits e ON e.site = v.site AND e.lane = v.lane AND e.visit = v.visit
		WHERE v.site = $1 AND v.plate = $5 AND v.plate <> '' AND e.at >= $2 AND e.at <= $3
			AND e.ticket_id <> '' AND e.ticket_id <> $4 AND e.state IN ('pending', 'completed')
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
	p.Paid += money.Fils(previousPaid)
	return p, true, nil
}
