package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// The strings in the TEXT columns are the ones ledgers have always held
// (and the SQL's partial indexes name): written from lane's types they
// must stay the same, and rows written before read as the same values.

var causeSpelling = map[lane.Cause]string{
	lane.CausePaid: "paid", lane.CauseGrace: "grace", lane.CauseExitGrace: "exit_grace", lane.CauseValidation: "validation",
	lane.CauseManual: "manual", lane.CauseExempt: "exempt", lane.CauseUnableToCollect: "unable_to_collect", lane.CauseOverride: "override",
}

var statusSpelling = map[lane.OrderStatus]string{
	lane.OrderUnknown: "new", lane.OrderCreated: "created", lane.OrderPaid: "paid", lane.OrderFailed: "failed", lane.OrderNotFound: "not_found",
}

func column(t *testing.T, l *DB, query string, args ...any) string {
	t.Helper()
	var s string
	must(t, l.SQL().QueryRowContext(context.Background(), query, args...).Scan(&s))
	return s
}

func TestStoredSpellings(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	rec(t, l, lane.VisitRec{Visit: 1, At: t0, TicketID: "T1", Ticket: lane.TicketInfo{Serial: "1", Format: lane.FormatPattern},
		Quote: lane.Quote{Free: lane.FreeExitGrace}})
	rec(t, l, lane.VisitRec{Visit: 2, At: t0, Ticket: lane.TicketInfo{Format: lane.FormatLost, Lost: true}, Refused: lane.NoticeForged})
	for q, want := range map[string]string{
		`SELECT format FROM visits WHERE id = 1`: "pattern", `SELECT free FROM visits WHERE id = 1`: "exit_grace",
		`SELECT format FROM visits WHERE id = 2`: "lost", `SELECT refused FROM visits WHERE id = 2`: "forged",
	} {
		if got := column(t, l, q); got != want {
			t.Errorf("%s: %q, want %q", q, got, want)
		}
	}

	// Every order status, as the orders row and its event.
	n := 0
	for st, want := range statusSpelling {
		n++
		no := fmt.Sprintf("S-L-T1-%d", n)
		rec(t, l, lane.OrderRec{No: no, Visit: 1, TicketID: "T1", Key: "S-L-T1", Attempt: n, Amount: 500, At: t0, Expire: t0.Add(time.Minute)})
		if st != lane.OrderUnknown {
			rec(t, l, lane.StatusRec{No: no, State: lane.OrderState{Status: st}, Source: lane.SourcePoll, At: t0})
		}
		if got := column(t, l, `SELECT status FROM orders WHERE merchant_order_no = ?`, no); got != want {
			t.Errorf("%s stored as %q, want %q", st, got, want)
		}
		if got := column(t, l, `SELECT status FROM order_events WHERE merchant_order_no = ? ORDER BY id DESC LIMIT 1`, no); got != want {
			t.Errorf("%s event stored as %q, want %q", st, got, want)
		}
		if o, err := l.GetOrder(ctx, no); err != nil || o.Status != st {
			t.Errorf("%s read as %s, %v", st, o.Status, err)
		}
	}

	// Every cause, as the exit, its barrier event and its history line.
	v := int64(10)
	for c, want := range causeSpelling {
		v++
		rec(t, l, lane.VisitRec{Visit: v, At: t0})
		auth := fmt.Sprint("a-", v)
		rec(t, l, lane.ExitRec{Visit: v, At: t0, Cause: c, Attendant: "a1", Reason: "test", Auth: auth})
		for _, q := range []string{`SELECT cause FROM exits WHERE visit_id = ?`, `SELECT cause FROM barrier_events WHERE visit_id = ?`,
			`SELECT cause FROM entries WHERE visit_id = ? AND kind = 'exit'`} {
			if got := column(t, l, q, v); got != want {
				t.Errorf("%s: %s stored as %q, want %q", q, c, got, want)
			}
		}
		if got := column(t, l, `SELECT outcome FROM visits WHERE id = ?`, v); got != "exit_"+want {
			t.Errorf("%s: visit outcome %q", c, got)
		}
	}
	if got := column(t, l, `SELECT count(*) FROM entries WHERE kind = 'order' AND cause <> ''`); got != "0" {
		t.Errorf("%s order lines with a cause", got)
	}

	rec(t, l, lane.RefundRec{RefundNo: "R1", No: "S-L-T1-1", Amount: 100, At: t0, Attendant: "a1", Reason: "r", Status: lane.RefundFailed})
	if got := column(t, l, `SELECT status FROM refunds WHERE refund_no = 'R1'`); got != "failed" {
		t.Errorf("refund status stored as %q", got)
	}
}

func TestReadsRowsWrittenBefore(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	db := l.SQL()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	at := t0.UnixMilli()
	i := 0
	for c, s := range causeSpelling {
		i++
		exec(`INSERT INTO visits (id, started_at, serial) VALUES (?, ?, ?)`, i, at, fmt.Sprint(i))
		exec(`INSERT INTO exits (visit_id, at, cause, amount, attendant, reason, state) VALUES (?, ?, ?, ?, 'a1', 'r', 'completed')`, i, at, s, 100*i)
		exec(`INSERT INTO barrier_events (auth, at, cause, actor, reason, visit_id) VALUES (?, ?, ?, 'a1', 'r', ?)`, fmt.Sprint("b", i), at, s, i)
		exec(`INSERT INTO entries (at, kind, visit_id, cause) VALUES (?, 'exit', ?, ?)`, at, i, s)
		tot, err := l.Totals(ctx, t0, t0.Add(time.Second))
		must(t, err)
		if tot.ByCause[c].Amount != money.Fils(100*i) {
			t.Errorf("%q read as %v: %+v", s, c, tot.ByCause)
		}
		ts, err := l.Transactions(ctx, 0, 1)
		must(t, err)
		if ts[0].Cause != c {
			t.Errorf("history line %q read as %s", s, ts[0].Cause)
		}
	}
	exec(`INSERT INTO entries (at, kind, visit_id, cause, status) VALUES (?, 'order', 1, '', 'new')`, at)
	if ts, _ := l.Transactions(ctx, 0, 1); ts[0].Cause != lane.CauseNone || ts[0].Status != "new" {
		t.Errorf("order line read as %+v", ts[0])
	}
	evs, err := l.BarrierEvents(ctx)
	must(t, err)
	for _, e := range evs {
		if causeSpelling[e.Cause] == "" {
			t.Errorf("barrier event %+v: cause not read", e)
		}
	}
	for st, s := range statusSpelling {
		no := "O-" + s
		exec(`INSERT INTO orders (merchant_order_no, visit_id, order_key, attempt, amount, created_at, expire_at, status, status_at)
			VALUES (?, 1, ?, 1, 100, ?, ?, ?, ?)`, no, no, at, at, s, at)
		if o, err := l.GetOrder(ctx, no); err != nil || o.Status != st {
			t.Errorf("%q read as %s, %v", s, o.Status, err)
		}
	}
}
