package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

var t0 = time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)

func open(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ledger.db")
	l, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}

func reopen(t testing.TB, l *DB, path string) *DB {
	t.Helper()
	l.Close()
	l2, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l2.Close() })
	return l2
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rec writes one record.
func rec(t testing.TB, l *DB, r lane.Record) {
	t.Helper()
	must(t, l.Record(context.Background(), r))
}

// visitWithOrder records visit id for ticket tk and stores order no.
func visitWithOrder(t testing.TB, l *DB, id int64, tk, no string, amount money.Fils) {
	t.Helper()
	rec(t, l, lane.VisitRec{Visit: id, At: t0, TicketID: tk, Ticket: lane.TicketInfo{Serial: tk, Format: lane.FormatSigned},
		Quote: lane.Quote{Fee: amount, Due: amount}})
	if no != "" {
		rec(t, l, lane.OrderRec{No: no, Visit: id, TicketID: tk, Key: "S-L-" + tk, Attempt: 1, Amount: amount, At: t0, Expire: t0.Add(5 * time.Minute)})
	}
}

func paid(no string, amount money.Fils, src lane.Source) *lane.StatusRec {
	return &lane.StatusRec{No: no, State: lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: amount}, Source: src, At: t0.Add(time.Minute)}
}

func status(no string, st lane.OrderStatus, src lane.Source) lane.StatusRec {
	return lane.StatusRec{No: no, State: lane.OrderState{Status: st}, Source: src, At: t0}
}

func TestOpenMigratesOnceWithPragmas(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	l = reopen(t, l, path)
	names, err := l.Migrations(ctx)
	must(t, err)
	files, err := fs.Glob(migrations, "migrations/*.sql")
	must(t, err)
	if len(names) != len(files) || len(names) < 4 || names[0] != "001_init.sql" || names[len(names)-1] != "007_entries_kind_at.sql" {
		t.Fatalf("migrations = %v, files %v", names, files)
	}
	for i, f := range files {
		if "migrations/"+names[i] != f {
			t.Fatalf("migration %d applied as %s, file %s", i, names[i], f)
		}
	}
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "2", "busy_timeout": "5000"} {
		var got string
		must(t, l.SQL().QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got))
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

// Invariant 1: the order number is stored before placeOrder; a create that
// timed out (status still "new") is found by the reconciler and resolved by
// querying that number; statuses of numbers never stored are refused.
func TestInvariant1OrderStoredFirst(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 500)
	o, err := l.GetOrder(ctx, "S-L-T1-1")
	must(t, err)
	if o.Status != lane.OrderUnknown {
		t.Fatalf("status = %s", o.Status)
	}
	// The lane stops before the create answered: after restart the order is
	// reconcilable (earlier visit), and only by its stored number.
	l = reopen(t, l, path)
	nos, err := l.Reconcilable(ctx, 2)
	must(t, err)
	if len(nos) != 1 || nos[0] != "S-L-T1-1" {
		t.Fatalf("reconcilable = %v", nos)
	}
	// A live visit's order is not reconcilable until abandoned.
	nos, _ = l.Reconcilable(ctx, 1)
	if len(nos) != 0 {
		t.Fatalf("live order reconcilable: %v", nos)
	}
	if err := l.Record(ctx, status("S-L-NEVER-1", lane.OrderPaid, lane.SourceNotification)); !errors.Is(err, lane.ErrUnknownOrder) {
		t.Fatalf("unknown order: err = %v", err)
	}
	// Same number twice is refused: the attempt must move on.
	err = l.Record(ctx, lane.OrderRec{No: "S-L-T1-1", Visit: 1, TicketID: "T1", Key: "S-L-T1", Attempt: 2, Amount: 500, At: t0, Expire: t0})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate order: err = %v", err)
	}
	rec(t, l, status("S-L-T1-1", lane.OrderNotFound, lane.SourceReconcile))
	if nos, _ := l.Reconcilable(ctx, 2); len(nos) != 0 {
		t.Fatalf("final order still reconcilable: %v", nos)
	}
}

// Invariant 2: a paid order is never lost. Payment, exit and barrier
// authorisation are one transaction; if the lane stops before the pulse is
// confirmed, the restart marks it unknown (no pulse at start-up), the
// payment shows as paid-not-exited and a re-scan can exit once more
// without paying.
func TestInvariant2PaidNeverLost(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 500)
	rec(t, l, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 500,
		No: "S-L-T1-1", Auth: "1-1", Paid: paid("S-L-T1-1", 500, lane.SourcePoll)})
	// crash: no PulseRec
	l = reopen(t, l, path)
	ev, err := l.BarrierEvents(ctx)
	must(t, err)
	if len(ev) != 1 || ev[0].State != "unknown" {
		t.Fatalf("barrier events after crash = %+v", ev)
	}
	h, err := l.Lookup(ctx, "T1", "S-L-T1")
	must(t, err)
	if h.Exited || h.Paid != 500 || h.LastPaidOrder != "S-L-T1-1" || h.Attempts != 1 {
		t.Fatalf("history after crash = %+v", h)
	}
	u, err := l.Unresolved(ctx)
	must(t, err)
	if len(u) != 1 || u[0].Kind != lane.UnresolvedPaidNotExited {
		t.Fatalf("unresolved = %+v", u)
	}
	// A paid order never goes back.
	rec(t, l, lane.StatusRec{No: "S-L-T1-1", State: lane.OrderState{Status: lane.OrderFailed}, Source: lane.SourceCancel, At: t0.Add(2 * time.Minute)})
	if o, _ := l.GetOrder(ctx, "S-L-T1-1"); o.Status != lane.OrderPaid || o.Paid != 500 {
		t.Fatalf("paid order downgraded: %+v", o)
	}
	// Re-scan within exit grace: free exit linked to the payment.
	visitWithOrder(t, l, 2, "T1", "", 0)
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0.Add(3 * time.Minute), Cause: lane.CauseExitGrace, No: "S-L-T1-1", Auth: "2-1"})
	rec(t, l, lane.PulseRec{Auth: "2-1", OK: true, At: t0.Add(3 * time.Minute)})
	if u, _ := l.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved after exit = %+v", u)
	}
	if h, _ := l.Lookup(ctx, "T1", "S-L-T1"); !h.Exited {
		t.Fatal("ticket not exited after completed exit")
	}
}

// Invariant 3: a ticket completes one exit; only an attendant override
// with a reason makes a second; a failed pulse voids the exit.
func TestInvariant3AntiPassback(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "", 0)
	visitWithOrder(t, l, 2, "T1", "", 0)
	rec(t, l, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0, Cause: lane.CauseGrace, Auth: "1-1"})
	rec(t, l, lane.PulseRec{Auth: "1-1", OK: true, At: t0})
	err := l.Record(ctx, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0, Cause: lane.CauseGrace, Auth: "2-1"})
	if !errors.Is(err, lane.ErrAlreadyExited) {
		t.Fatalf("second exit: err = %v", err)
	}
	err = l.Record(ctx, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0, Cause: lane.CauseGrace, Override: true, Attendant: "a1", Auth: "2-1"})
	if !errors.Is(err, lane.ErrReasonRequired) {
		t.Fatalf("override without reason: err = %v", err)
	}
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0, Cause: lane.CauseGrace, Override: true, Attendant: "a1", Reason: "barrier closed on car", Auth: "2-1"})

	// A failed pulse voids the exit: the ticket may exit again.
	visitWithOrder(t, l, 3, "T2", "", 0)
	visitWithOrder(t, l, 4, "T2", "", 0)
	rec(t, l, lane.ExitRec{Visit: 3, TicketID: "T2", At: t0, Cause: lane.CauseGrace, Auth: "3-1"})
	rec(t, l, lane.PulseRec{Auth: "3-1", OK: false, At: t0, Err: "relay gone"})
	rec(t, l, lane.ExitRec{Visit: 4, TicketID: "T2", At: t0, Cause: lane.CauseGrace, Auth: "4-1"})
}

// Invariant 4: every pulse has exactly one row saying why and who.
func TestInvariant4OneRowPerPulse(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "", 0)
	rec(t, l, lane.OpenRec{Auth: "0-1", At: t0, Cause: lane.CauseManual, Attendant: "a1", Reason: "ambulance"})
	if err := l.Record(ctx, lane.OpenRec{Auth: "0-1", At: t0, Cause: lane.CauseManual, Attendant: "a1", Reason: "again"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second row for one pulse: err = %v", err)
	}
	if err := l.Record(ctx, lane.OpenRec{Auth: "0-2", At: t0, Cause: lane.CauseManual, Attendant: "a1"}); !errors.Is(err, lane.ErrReasonRequired) {
		t.Fatalf("manual open without reason: err = %v", err)
	}
	if err := l.Record(ctx, lane.OpenRec{Auth: "0-3", At: t0, Cause: lane.CauseManual, Reason: "no actor"}); !errors.Is(err, lane.ErrReasonRequired) {
		t.Fatalf("manual open without attendant: err = %v", err)
	}
	if err := l.Record(ctx, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0, Cause: lane.CauseExempt, Attendant: "a1", Auth: "1-1"}); !errors.Is(err, lane.ErrReasonRequired) {
		t.Fatalf("exempt without reason: err = %v", err)
	}
	if err := l.Record(ctx, lane.PulseRec{Auth: "9-9", OK: true, At: t0}); !errors.Is(err, ErrUnknownAuth) {
		t.Fatalf("pulse without authorisation: err = %v", err)
	}
	rec(t, l, lane.PulseRec{Auth: "0-1", OK: true, At: t0})
	ev, err := l.BarrierEvents(ctx)
	must(t, err)
	if len(ev) != 1 || ev[0].Cause != lane.CauseManual || ev[0].Actor != "a1" || ev[0].Reason != "ambulance" || ev[0].State != "pulsed" {
		t.Fatalf("barrier events = %+v", ev)
	}
}

// Invariant 5: a payment after the driver gave up is listed as paid, not
// exited, until an attendant refunds or resolves it.
func TestInvariant5LatePaymentListed(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 700)
	rec(t, l, lane.AbandonRec{No: "S-L-T1-1", At: t0.Add(time.Minute)})
	rec(t, l, lane.VisitEndRec{Visit: 1, At: t0.Add(time.Minute), Outcome: "cancelled"})
	rec(t, l, *paid("S-L-T1-1", 700, lane.SourceCancel))
	u, err := l.Unresolved(ctx)
	must(t, err)
	if len(u) != 1 || u[0].Kind != lane.UnresolvedPaidNotExited || u[0].Amount != 700 || u[0].Ticket != "T1" || u[0].MerchantOrderNo != "S-L-T1-1" {
		t.Fatalf("unresolved = %+v", u)
	}
	// Partial refund leaves it listed with the rest; full refund clears it.
	refund := lane.RefundRec{RefundNo: "S-L-T1-1-R1", No: "S-L-T1-1", Amount: 200, At: t0, Attendant: "a1", Reason: "late", Status: lane.RefundPending}
	rec(t, l, refund)
	if p, err := l.PendingRefunds(ctx); err != nil || len(p) != 1 || p[0] != refund {
		t.Fatalf("pending refunds = %+v, %v", p, err)
	}
	refund.Status = lane.RefundDone
	rec(t, l, refund)
	rec(t, l, refund)
	if p, _ := l.Paid(ctx, "S-L-T1-1"); p != 500 {
		t.Fatalf("refundable after partial refund = %v", p)
	}
	if _, err := l.Paid(ctx, "S-L-NEVER-1"); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("refundable of an unknown order: %v", err)
	}
	if u, _ := l.Unresolved(ctx); len(u) != 1 || u[0].Amount != 500 {
		t.Fatalf("unresolved after partial refund = %+v", u)
	}
	if err := l.Record(ctx, lane.ResolveRec{No: "S-L-T1-1", At: t0, Attendant: "a1"}); !errors.Is(err, lane.ErrReasonRequired) {
		t.Fatalf("resolve without reason: %v", err)
	}
	rec(t, l, lane.ResolveRec{No: "S-L-T1-1", At: t0, Attendant: "a1", Reason: "credited"})
	if u, _ := l.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved after resolve = %+v", u)
	}
	if err := l.Record(ctx, lane.ResolveRec{No: "S-L-T1-1", At: t0, Attendant: "a1", Reason: "again"}); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("resolve twice: %v", err)
	}
}

func TestUnableToCollectTotalsShiftTransactions(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	if _, err := l.Shift(ctx); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("shift before any: %v", err)
	}
	rec(t, l, lane.ShiftRec{At: t0, Attendant: "a1", Start: true})
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 500)
	rec(t, l, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 500, No: "S-L-T1-1", Auth: "1-1",
		Paid: paid("S-L-T1-1", 500, lane.SourceNotification)})
	rec(t, l, lane.PulseRec{Auth: "1-1", OK: true, At: t0.Add(time.Minute)})
	visitWithOrder(t, l, 2, "T2", "", 0)
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T2", At: t0.Add(2 * time.Minute), Cause: lane.CauseUnableToCollect, Amount: 900, Attendant: "a1",
		Reason: "payby down", Auth: "2-1"})
	rec(t, l, lane.PulseRec{Auth: "2-1", OK: true, At: t0.Add(2 * time.Minute)})
	// A manual open (no vehicle's exit) and one whose pulse failed.
	rec(t, l, lane.OpenRec{Auth: "m-1", At: t0.Add(3 * time.Minute), Cause: lane.CauseManual, Attendant: "a1", Reason: "barrier test"})
	rec(t, l, lane.PulseRec{Auth: "m-1", OK: true, At: t0.Add(3 * time.Minute)})
	rec(t, l, lane.OpenRec{Auth: "m-2", At: t0.Add(4 * time.Minute), Cause: lane.CauseManual, Attendant: "a1", Reason: "barrier test"})
	rec(t, l, lane.PulseRec{Auth: "m-2", OK: false, At: t0.Add(4 * time.Minute), Err: "relay gone"})
	u, _ := l.Unresolved(ctx)
	if len(u) != 1 || u[0].Kind != lane.UnresolvedUnableToCollect || u[0].Amount != 900 || u[0].Visit != 2 {
		t.Fatalf("unresolved = %+v", u)
	}
	tot, err := l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.Exits != 2 || tot.Collected != 500 || tot.Owed != 900 || tot.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 1, Amount: 500}) ||
		tot.ByCause[lane.CauseUnableToCollect].Amount != 900 || tot.Visits != 2 || tot.Openings != 1 {
		t.Fatalf("totals = %+v", tot)
	}
	s, err := l.Shift(ctx)
	must(t, err)
	if s.Attendant != "a1" || !s.End.IsZero() || s.Totals.Exits != 2 || s.Totals.Collected != 500 {
		t.Fatalf("shift = %+v", s)
	}
	rec(t, l, lane.ShiftRec{At: t0.Add(time.Hour), Attendant: "a1"})
	s, _ = l.Shift(ctx)
	if !s.End.Equal(t0.Add(time.Hour)) || !s.Totals.To.Equal(s.End) {
		t.Fatalf("shift not ended: %+v", s)
	}
	rec(t, l, lane.ResolveRec{Visit: 2, At: t0, Attendant: "a1", Reason: "paid cash"})
	es, err := l.Transactions(ctx, 0, 3)
	must(t, err)
	if len(es) != 3 || es[0].Kind != "resolve" || es[1].Kind != "barrier" || es[1].Cause != lane.CauseManual || es[1].Status != "failed" {
		t.Fatalf("transactions = %+v", es)
	}
	older, err := l.Transactions(ctx, es[2].ID, 100)
	must(t, err)
	if len(older) == 0 || older[0].ID >= es[2].ID {
		t.Fatalf("paging: %+v", older)
	}
	for _, e := range older {
		if e.Kind == "exit" && e.Visit == 2 && (e.Cause != lane.CauseUnableToCollect || e.Ticket != "T2" || e.Amount != 900) {
			t.Errorf("exit line = %+v", e)
		}
		if e.Kind == "order" && e.Cause != lane.CauseNone {
			t.Errorf("order line with a cause: %+v", e)
		}
	}
}

func TestValidation(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "", 0)
	rec(t, l, lane.ValidationRec{Visit: 1, At: t0, Code: "CINEMA", Name: "Cinema, 2 hours", Quote: lane.Quote{Fee: 1000, Due: 0, Free: lane.FreeValidation}})
	var code string
	var due int64
	must(t, l.SQL().QueryRowContext(ctx, `SELECT validation, due FROM visits WHERE id = 1`).Scan(&code, &due))
	if code != "CINEMA" || due != 0 {
		t.Fatalf("visit validation %q due %d", code, due)
	}
	if err := l.Record(ctx, lane.ValidationRec{Visit: 9, At: t0, Code: "CINEMA"}); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("unknown visit: %v", err)
	}
}

// A top-up exit uses every earlier payment of the ticket: the fee it asked
// for was fee(entry..now) minus all of them, so none stays listed as
// "paid, not exited"; a failed pulse gives them back.
func TestTopUpExitUsesEarlierPayments(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 1000)
	rec(t, l, lane.AbandonRec{No: "S-L-T1-1", At: t0.Add(time.Minute)})
	rec(t, l, lane.VisitEndRec{Visit: 1, At: t0.Add(time.Minute), Outcome: "cancelled"})
	rec(t, l, *paid("S-L-T1-1", 1000, lane.SourceCancel)) // a late payment
	visitWithOrder(t, l, 2, "T1", "", 0)                  // the top-up, attempt 2
	rec(t, l, lane.OrderRec{No: "S-L-T1-2", Visit: 2, TicketID: "T1", Key: "S-L-T1", Attempt: 2, Amount: 2000, At: t0.Add(2 * time.Hour), Expire: t0.Add(2*time.Hour + 5*time.Minute)})
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0.Add(2 * time.Hour), Cause: lane.CausePaid, Amount: 2000,
		No: "S-L-T1-2", Auth: "2-1", Paid: paid("S-L-T1-2", 2000, lane.SourcePoll)})
	if u, _ := l.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved during the top-up exit = %+v", u)
	}
	rec(t, l, lane.PulseRec{Auth: "2-1", OK: false, At: t0.Add(2 * time.Hour), Err: "relay gone"})
	if u, _ := l.Unresolved(ctx); len(u) != 2 {
		t.Fatalf("after a failed pulse both payments must be listed again: %+v", u)
	}
}

// findLine returns the newest history line of kind with status.
func findLine(t *testing.T, l *DB, kind, status string) (lane.Transaction, bool) {
	t.Helper()
	es, err := l.Transactions(context.Background(), 0, 500)
	must(t, err)
	for _, e := range es {
		if e.Kind == kind && e.Status == status {
			return e, true
		}
	}
	return lane.Transaction{}, false
}

// A pulse is recorded as started before its ON frame and as completed
// after OFF. The lane stops inside the hold: after the restart the row
// says started and never completed, the history says interrupted and the
// paid ticket is listed with a note. A re-scan within exit grace opens
// again, recorded as "opened again after an interrupted pulse"; its exit
// replaces the lost one, so the report counts one paid exit with the
// payment's amount.
func TestInterruptedPulse(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 500)
	rec(t, l, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 500,
		No: "S-L-T1-1", Auth: "1-1", Paid: paid("S-L-T1-1", 500, lane.SourcePoll)})
	if err := l.Record(ctx, lane.PulseStartRec{Auth: "9-9", At: t0}); !errors.Is(err, ErrUnknownAuth) {
		t.Fatalf("start of an unknown authorisation: %v", err)
	}
	rec(t, l, lane.PulseStartRec{Auth: "1-1", At: t0.Add(time.Minute)})
	if err := l.Record(ctx, lane.PulseStartRec{Auth: "1-1", At: t0.Add(time.Minute)}); !errors.Is(err, ErrNotAuthorised) {
		t.Fatalf("second start of one pulse: %v", err)
	}
	// crash inside the hold: no PulseRec
	l = reopen(t, l, path)
	ev, err := l.BarrierEvents(ctx)
	must(t, err)
	if len(ev) != 1 || ev[0].State != "unknown" || !ev[0].Started.Equal(t0.Add(time.Minute)) || !ev[0].Done.IsZero() || !ev[0].Interrupted() {
		t.Fatalf("barrier events after a crash in the hold = %+v", ev)
	}
	if line, ok := findLine(t, l, "barrier", "interrupted"); !ok || line.Visit != 1 || line.Cause != lane.CausePaid || line.Reason == "" {
		t.Fatalf("no interrupted line in the history: %+v", line)
	}
	if err := l.Record(ctx, lane.PulseStartRec{Auth: "1-1", At: t0.Add(2 * time.Minute)}); !errors.Is(err, ErrNotAuthorised) {
		t.Fatalf("start after a restart: %v", err)
	}
	u, err := l.Unresolved(ctx)
	must(t, err)
	if len(u) != 1 || u[0].Kind != lane.UnresolvedPaidNotExited || u[0].Note == "" {
		t.Fatalf("unresolved = %+v, want paid not exited with a note", u)
	}
	h, err := l.Lookup(ctx, "T1", "S-L-T1")
	must(t, err)
	if h.Exited || h.Unused != 500 || h.UnusedOrder != "S-L-T1-1" {
		t.Fatalf("history = %+v", h)
	}

	// The re-scan within exit grace: paid by the earlier payment.
	visitWithOrder(t, l, 2, "T1", "", 0)
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0.Add(3 * time.Minute), Cause: lane.CausePaid, Amount: h.Unused, No: h.UnusedOrder, Auth: "2-1"})
	rec(t, l, lane.PulseStartRec{Auth: "2-1", At: t0.Add(3 * time.Minute)})
	rec(t, l, lane.PulseRec{Auth: "2-1", OK: true, At: t0.Add(3 * time.Minute)})
	ev, _ = l.BarrierEvents(ctx)
	if len(ev) != 2 || ev[1].Reopens != "1-1" || ev[1].State != "pulsed" || ev[1].Started.IsZero() || ev[1].Done.IsZero() {
		t.Fatalf("barrier events after the re-scan = %+v", ev)
	}
	line, ok := findLine(t, l, "exit", "reopened")
	if !ok || line.Visit != 2 || line.Reason != "opened again after an interrupted pulse" || line.Amount != 500 || line.MerchantOrderNo != "S-L-T1-1" {
		t.Fatalf("re-scan not recorded as opened again: %+v", line)
	}
	if u, _ := l.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved after the re-scan = %+v", u)
	}
	tot, err := l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.Exits != 1 || tot.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 1, Amount: 500}) || tot.Collected != 500 {
		t.Fatalf("totals = %+v, want one paid exit of 500 = collected", tot)
	}
}

// A crash after the exit was written but before its pulse started: the
// pulse was never sent. The history says so, and the re-scan is an
// ordinary exit (not "opened again"), counted once.
func TestPulseNeverStarted(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 500)
	rec(t, l, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 500,
		No: "S-L-T1-1", Auth: "1-1", Paid: paid("S-L-T1-1", 500, lane.SourcePoll)})
	l = reopen(t, l, path)
	ev, _ := l.BarrierEvents(ctx)
	if len(ev) != 1 || ev[0].State != "unknown" || !ev[0].Started.IsZero() || ev[0].Interrupted() {
		t.Fatalf("barrier events = %+v", ev)
	}
	if _, ok := findLine(t, l, "barrier", "not_sent"); !ok {
		t.Fatal("no not_sent line in the history")
	}
	if u, _ := l.Unresolved(ctx); len(u) != 1 || u[0].Note != "" {
		t.Fatalf("unresolved = %+v, want paid not exited without a note", u)
	}
	visitWithOrder(t, l, 2, "T1", "", 0)
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0.Add(3 * time.Minute), Cause: lane.CausePaid, Amount: 500, No: "S-L-T1-1", Auth: "2-1"})
	if _, ok := findLine(t, l, "exit", "reopened"); ok {
		t.Fatal("an exit after a pulse never sent recorded as opened again")
	}
	// Its pulse fails: the lost exit counts again, the payment is unused again.
	rec(t, l, lane.PulseStartRec{Auth: "2-1", At: t0.Add(3 * time.Minute)})
	rec(t, l, lane.PulseRec{Auth: "2-1", OK: false, Err: "relay gone", At: t0.Add(3 * time.Minute)})
	if tot, _ := l.Totals(ctx, t0, t0.Add(time.Hour)); tot.Exits != 1 || tot.ByCause[lane.CausePaid].Amount != 500 {
		t.Fatalf("totals after the failed re-scan = %+v", tot)
	}
	visitWithOrder(t, l, 3, "T1", "", 0)
	rec(t, l, lane.ExitRec{Visit: 3, TicketID: "T1", At: t0.Add(4 * time.Minute), Cause: lane.CausePaid, Amount: 500, No: "S-L-T1-1", Auth: "3-1"})
	rec(t, l, lane.PulseStartRec{Auth: "3-1", At: t0.Add(4 * time.Minute)})
	rec(t, l, lane.PulseRec{Auth: "3-1", OK: true, At: t0.Add(4 * time.Minute)})
	tot, err := l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.Exits != 1 || tot.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 1, Amount: 500}) || tot.Collected != 500 {
		t.Fatalf("totals = %+v, want one paid exit of 500 = collected", tot)
	}
}

// Accounting after a crash: the driver paid, the lane stopped before the
// exit; the payment is found (reconciled) and the re-scan within exit
// grace uses it. The exit row carries the amount and the order, and the
// report counts it as paid: exits agree with PayBy.
func TestExitUsingEarlierPaymentCountsAsPaid(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 800)
	rec(t, l, status("S-L-T1-1", lane.OrderCreated, lane.SourceCreate))
	l = reopen(t, l, path) // crash; the driver pays while the lane is down
	rec(t, l, lane.StatusRec{No: "S-L-T1-1", State: lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: 800, PaidAt: t0.Add(time.Minute)},
		Source: lane.SourceReconcile, At: t0.Add(2 * time.Minute)})
	h, err := l.Lookup(ctx, "T1", "S-L-T1")
	must(t, err)
	if h.Unused != 800 || h.UnusedOrder != "S-L-T1-1" {
		t.Fatalf("history = %+v, want 800 unused on S-L-T1-1", h)
	}
	visitWithOrder(t, l, 2, "T1", "", 0)
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0.Add(3 * time.Minute), Cause: lane.CausePaid, Amount: h.Unused, No: h.UnusedOrder, Auth: "2-1"})
	rec(t, l, lane.PulseStartRec{Auth: "2-1", At: t0.Add(3 * time.Minute)})
	rec(t, l, lane.PulseRec{Auth: "2-1", OK: true, At: t0.Add(3 * time.Minute)})
	var amount int64
	var no string
	must(t, l.SQL().QueryRowContext(ctx, `SELECT amount, merchant_order_no FROM exits WHERE visit_id = 2`).Scan(&amount, &no))
	if amount != 800 || no != "S-L-T1-1" {
		t.Fatalf("exit row amount %d order %q", amount, no)
	}
	if h, _ := l.Lookup(ctx, "T1", "S-L-T1"); h.Unused != 0 || h.UnusedOrder != "" || !h.Exited {
		t.Fatalf("history after the exit = %+v", h)
	}
	tot, err := l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 1, Amount: 800}) || tot.Collected != 800 || tot.ByCause[lane.CauseExitGrace].Count != 0 {
		t.Fatalf("totals = %+v, want the exit under paid with 800 = collected", tot)
	}
}

// A ledger written before pulses were recorded as started: migration 003
// counts a pulse that was or may have been sent as started at its
// authorisation, so an authorisation left pending by the old version is
// reported as interrupted, never as "not sent".
func TestMigrationMarksOldPulsesStarted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", DSN(path))
	must(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	must(t, err)
	for v, name := range []string{"001_init.sql", "002_validation.sql"} {
		body, err := migrations.ReadFile("migrations/" + name)
		must(t, err)
		_, err = db.ExecContext(ctx, string(body))
		must(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, v+1, name)
		must(t, err)
	}
	at := t0.UnixMilli()
	for i, state := range []string{"authorised", "pulsed", "failed", "unknown"} {
		_, err := db.ExecContext(ctx, `INSERT INTO barrier_events (auth, at, cause, actor, state) VALUES (?, ?, 'grace', 'lane', ?)`, fmt.Sprint("a", i), at, state)
		must(t, err)
	}
	must(t, db.Close())
	l, err := Open(ctx, path)
	must(t, err)
	defer l.Close()
	ev, err := l.BarrierEvents(ctx)
	must(t, err)
	started := map[string]bool{}
	for _, e := range ev {
		started[e.Auth] = !e.Started.IsZero()
	}
	if !started["a0"] || !started["a1"] || started["a2"] || !started["a3"] || !ev[0].Interrupted() {
		t.Fatalf("started after migration = %v, events %+v", started, ev)
	}
	if _, ok := findLine(t, l, "barrier", "interrupted"); !ok {
		t.Fatal("the old pending pulse is not reported as interrupted")
	}
}

// Entries: the history lines of one kind in [from, to), oldest first,
// whatever else the history holds between them.
func TestEntriesOfAKindInARange(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	for i := int64(1); i <= 4; i++ {
		at := t0.Add(time.Duration(i) * time.Hour)
		tk := fmt.Sprintf("T%d", i)
		no := fmt.Sprintf("S-L-%s-1", tk)
		rec(t, l, lane.VisitRec{Visit: i, At: at, TicketID: tk, Ticket: lane.TicketInfo{Serial: tk, Format: lane.FormatSigned},
			Quote: lane.Quote{Fee: money.Fils(100 * i), Due: money.Fils(100 * i)}})
		rec(t, l, lane.OrderRec{No: no, Visit: i, TicketID: tk, Key: "S-L-" + tk, Attempt: 1, Amount: money.Fils(100 * i), At: at, Expire: at.Add(5 * time.Minute)})
		rec(t, l, status(no, lane.OrderFailed, lane.SourceCancel))
	}
	// From the second order's exact time (included) to the fourth's
	// (excluded).
	got, err := l.Entries(ctx, "order", t0.Add(2*time.Hour), t0.Add(4*time.Hour))
	must(t, err)
	var nos []string
	for _, e := range got {
		if e.Kind != "order" {
			t.Errorf("line of kind %q", e.Kind)
		}
		nos = append(nos, e.MerchantOrderNo)
	}
	if want := []string{"S-L-T2-1", "S-L-T3-1"}; !slices.Equal(nos, want) {
		t.Fatalf("orders %q, want %q (%+v)", nos, want, got)
	}
	if got[0].Amount != 200 || got[0].Ticket != "T2" || !got[0].At.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("first line %+v", got[0])
	}
	none, err := l.Entries(ctx, "order", t0.Add(5*time.Hour), t0.Add(6*time.Hour))
	must(t, err)
	if len(none) != 0 {
		t.Errorf("orders after the last: %+v", none)
	}
	// The query uses the index, not a scan of the history.
	var plan string
	var id, parent, unused int
	must(t, l.db.QueryRowContext(ctx, `EXPLAIN QUERY PLAN SELECT id FROM entries WHERE kind = 'order' AND at >= 0 AND at < 1 ORDER BY at, id`).Scan(&id, &parent, &unused, &plan))
	if !strings.Contains(plan, "entries_kind_at") {
		t.Errorf("query plan %q does not use entries_kind_at", plan)
	}
}
