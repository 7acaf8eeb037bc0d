package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// fill writes n past visits in one transaction: every visit exited
// (completed), 70% of them paid by an order; one in a thousand paid orders
// is left "paid, not exited" and one in a thousand orders not final.
func fill(tb testing.TB, l *DB, n int) {
	tb.Helper()
	ctx := context.Background()
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	stmts := []string{
		`INSERT INTO visits (id, started_at, ticket_id, serial, format, entry_at, signed, fee, due, ended_at, outcome)
		 SELECT i, ?1 + i*60000, 'GRG01/E1/' || i || '/' || (?1/1000 + i*60 - 3600), i, 'signed', ?1 + i*60000 - 3600000, 1, 1000, 1000, ?1 + i*60000 + 30000, 'exit_paid' FROM n`,
		`INSERT INTO exits (id, visit_id, ticket_id, at, cause, amount, merchant_order_no, state)
		 SELECT i, i, 'GRG01/E1/' || i || '/' || (?1/1000 + i*60 - 3600), ?1 + i*60000 + 30000,
		        CASE WHEN i % 10 < 7 THEN 'paid' ELSE 'grace' END, CASE WHEN i % 10 < 7 THEN 1000 ELSE 0 END,
		        CASE WHEN i % 10 < 7 THEN 'GRG01-X1-' || i || '-1' END, 'completed' FROM n`,
		`INSERT INTO orders (merchant_order_no, visit_id, ticket_id, order_key, attempt, amount, created_at, expire_at, status, payby_status, status_at, paid, paid_at, exit_id)
		 SELECT 'GRG01-X1-' || i || '-1', i, 'GRG01/E1/' || i || '/' || (?1/1000 + i*60 - 3600), 'GRG01-X1-' || i, 1, 1000, ?1 + i*60000, ?1 + i*60000 + 300000,
		        CASE WHEN i % 1000 = 3 THEN 'created' ELSE 'paid' END, 'PAID_SUCCESS', ?1 + i*60000 + 20000,
		        CASE WHEN i % 1000 = 3 THEN 0 ELSE 1000 END, CASE WHEN i % 1000 = 3 THEN NULL ELSE ?1 + i*60000 + 20000 END,
		        CASE WHEN i % 1000 = 5 THEN NULL ELSE i END
		 FROM n WHERE i % 10 < 7`,
		`INSERT INTO barrier_events (auth, at, cause, actor, merchant_order_no, visit_id, exit_id, state, done_at)
		 SELECT 'b-' || i || '-1', ?1 + i*60000 + 30000, 'paid', 'lane', '', i, i, 'pulsed', ?1 + i*60000 + 30500 FROM n`,
		`INSERT INTO entries (at, kind, visit_id, ticket, cause, amount, status)
		 SELECT ?1 + i*60000 + 30000, 'exit', i, i, 'paid', 1000, 'completed' FROM n`,
	}
	// orders and exits reference each other: fill with foreign keys off on
	// one connection (the rows are consistent by construction).
	conn, err := l.db.Conn(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
		tb.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range stmts {
		q := fmt.Sprintf("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < %d) %s", n, s)
		if _, err := tx.ExecContext(ctx, q, base); err != nil {
			tx.Rollback()
			tb.Fatalf("%.60s: %v", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = ON`); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkMillionVisits measures, with 1,000,000 past visits in the
// ledger, a ticket lookup (the check before pricing) and the start-up work
// (open, migrate check, crash recovery, next visit id, orders to
// reconcile, unresolved list).
//
//	go test ./ledger -run '^$' -bench MillionVisits -benchtime 2000x
func BenchmarkMillionVisits(b *testing.B) {
	path := filepath.Join(b.TempDir(), "big.db")
	ctx := context.Background()
	l, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	fill(b, l, 1_000_000)
	b.Logf("filled 1,000,000 visits in %v", time.Since(start).Round(time.Millisecond))
	defer func() { l.Close() }()

	b.Run("lookup", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i = (i*7919 + 13) % 1_000_000
			v := i + 1
			id := fmt.Sprintf("GRG01/E1/%d/%d", v, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()+int64(v)*60-3600)
			h, err := l.Lookup(ctx, id, fmt.Sprintf("GRG01-X1-%d", v))
			if err != nil || !h.Exited {
				b.Fatalf("lookup %s: %+v %v", id, h, err)
			}
		}
	})
	b.Run("lookup_unknown", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Lookup(ctx, "GRG01/E9/1/1", "GRG01-X1-x"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("startup", func(b *testing.B) {
		l.Close()
		for b.Loop() {
			l2, err := Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			next, err := l2.NextVisit(ctx)
			if err != nil || next != 1_000_001 {
				b.Fatalf("next visit %d %v", next, err)
			}
			if _, err := l2.Reconcilable(ctx, next); err != nil {
				b.Fatal(err)
			}
			u, err := l2.Unresolved(ctx)
			if err != nil || len(u) != 2000 {
				b.Fatalf("unresolved %d %v", len(u), err)
			}
			l2.Close()
		}
		l, _ = Open(ctx, path)
	})
}
