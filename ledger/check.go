package ledger

import (
	"context"
	"fmt"

	"github.com/exitlane/exitlane/lane"
)

// Problem is one thing Check found wrong in a ledger's data.
type Problem struct {
	// Invariant is the number of the ledger invariant broken (package
	// doc, DESIGN "Ledger invariants"); 0 for SQLite's integrity check.
	Invariant int
	Text      string
}

func (p Problem) String() string {
	if p.Invariant == 0 {
		return "integrity: " + p.Text
	}
	return fmt.Sprintf("invariant %d: %s", p.Invariant, p.Text)
}

// CheckReport is what Check found.
type CheckReport struct {
	Problems []Problem
	// PaidNotExited are the payments with no exit (invariant 5): not a
	// fault of the ledger, but money an attendant must refund or credit.
	PaidNotExited []lane.Unresolved
}

// OK reports whether nothing is wrong.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

// checks are the queries that find breaches of the invariants on the data
// (the schema's constraints prevent most of them; these look at rows
// written by earlier releases, by hand, or by a damaged disk). Each row
// of a query is one problem, its text built from the columns.
var checks = []struct {
	invariant int
	query     string
}{
	// 1: every order number was stored ("store" event) before anything
	// else happened to it.
	{1, `SELECT 'order ' || o.merchant_order_no || ' has no "store" event before its other events'
		FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_events e WHERE e.merchant_order_no = o.merchant_order_no AND e.source = 'store'
			AND e.id = (SELECT min(id) FROM order_events f WHERE f.merchant_order_no = o.merchant_order_no))`},
	{1, `SELECT 'order event ' || e.id || ' for order ' || e.merchant_order_no || ', which was never stored'
		FROM order_events e WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.merchant_order_no = e.merchant_order_no)`},
	// 2: a paid order is paid, and points at a live exit or none (then it
	// is listed as paid, not exited).
	{2, `SELECT 'order ' || merchant_order_no || ' has ' || paid || ' fils paid but status ' || status
		FROM orders WHERE paid > 0 AND status <> 'paid'`},
	{2, `SELECT 'paid order ' || o.merchant_order_no || ' points at exit ' || o.exit_id || ', which ' ||
			CASE WHEN x.id IS NULL THEN 'does not exist' ELSE 'is ' || x.state END
		FROM orders o LEFT JOIN exits x ON x.id = o.exit_id
		WHERE o.paid > 0 AND o.exit_id IS NOT NULL AND (x.id IS NULL OR x.state = 'void')`},
	// 3: one live exit per ticket, unless an attendant overrode with a reason.
	{3, `SELECT 'ticket ' || ticket_id || ' has ' || count(*) || ' exits without an override'
		FROM exits WHERE ticket_id <> '' AND override = 0 AND state IN ('pending', 'completed')
		GROUP BY ticket_id HAVING count(*) > 1`},
	{3, `SELECT 'exit ' || id || ' of ticket ' || ticket_id || ' is an override without attendant and reason'
		FROM exits WHERE override <> 0 AND (attendant = '' OR reason = '')`},
	// 4: every barrier authorisation says why and who, attendant causes
	// with a reason; every exit has exactly one authorisation.
	{4, `SELECT 'barrier event ' || id || ' (' || auth || ') has no cause or actor'
		FROM barrier_events WHERE cause = '' OR actor = ''`},
	{4, `SELECT 'barrier event ' || id || ' (' || auth || ', ' || cause || ') has no attendant with a reason'
		FROM barrier_events WHERE cause IN ('manual', 'exempt', 'unable_to_collect', 'override') AND (actor = 'lane' OR reason = '')`},
	{4, `SELECT 'exit ' || x.id || ' has ' || count(b.id) || ' barrier authorisations'
		FROM exits x LEFT JOIN barrier_events b ON b.exit_id = x.id GROUP BY x.id HAVING count(b.id) <> 1`},
	{4, `SELECT 'barrier event ' || b.id || ' (' || b.auth || ') is for exit ' || b.exit_id || ', which does not exist'
		FROM barrier_events b LEFT JOIN exits x ON x.id = b.exit_id WHERE b.exit_id IS NOT NULL AND x.id IS NULL`},
	// 5: refunds never exceed what was paid, so "paid, not exited" is
	// never negative.
	{5, `SELECT 'order ' || merchant_order_no || ' refunded ' || refunded || ' fils of ' || paid
		FROM orders WHERE refunded > paid`},
}

// Check runs SQLite's integrity check and the ledger invariants on the
// data and lists what is wrong, and the payments with no exit.
func (l *DB) Check(ctx context.Context) (CheckReport, error) {
	var r CheckReport
	bad, err := l.Integrity(ctx)
	if err != nil {
		return r, err
	}
	for _, s := range bad {
		r.Problems = append(r.Problems, Problem{Text: s})
	}
	for _, c := range checks {
		rows, err := l.db.QueryContext(ctx, c.query)
		if err != nil {
			return r, fmt.Errorf("ledger: check: invariant %d: %w", c.invariant, err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return r, fmt.Errorf("ledger: check: %w", err)
			}
			r.Problems = append(r.Problems, Problem{Invariant: c.invariant, Text: s})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return r, fmt.Errorf("ledger: check: %w", err)
		}
	}
	u, err := l.Unresolved(ctx)
	if err != nil {
		return r, err
	}
	for _, x := range u {
		if x.Kind == lane.UnresolvedPaidNotExited {
			r.PaidNotExited = append(r.PaidNotExited, x)
		}
	}
	return r, nil
}
