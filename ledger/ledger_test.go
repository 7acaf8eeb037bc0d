package ledger

import (
	"context"
	"errors"
	"path/filepath"
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
	if len(names) != 2 || names[0] != "001_init.sql" || names[1] != "002_validation.sql" {
		t.Fatalf("migrations = %v", names)
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
	// crash: no PulseDone
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
