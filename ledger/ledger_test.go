package ledger

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

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

// visitWithOrder records visit id for ticket tk and stores order no.
func visitWithOrder(t testing.TB, l *DB, id int64, tk, no string, amount money.Fils) {
	t.Helper()
	ctx := context.Background()
	must(t, l.BeginVisit(ctx, Visit{ID: id, At: t0, TicketID: tk, Serial: tk, Format: "EL1", Fee: amount, Due: amount}))
	if no != "" {
		must(t, l.NewOrder(ctx, Order{No: no, Visit: id, TicketID: tk, Key: "S-L-" + tk, Attempt: 1, Amount: amount, At: t0, Expire: t0.Add(5 * time.Minute)}))
	}
}

func paid(no string, amount money.Fils, src string) *Status {
	return &Status{No: no, Status: StatusPaid, PayByStatus: "PAID_SUCCESS", Source: src, At: t0.Add(time.Minute), Paid: amount}
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
	if o.Status != StatusNew {
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
	if err := l.RecordStatus(ctx, Status{No: "S-L-NEVER-1", Status: StatusPaid, Source: "notification", At: t0}); !errors.Is(err, ErrUnknownOrder) {
		t.Fatalf("unknown order: err = %v", err)
	}
	// Same number twice is refused: the attempt must move on.
	err = l.NewOrder(ctx, Order{No: "S-L-T1-1", Visit: 1, TicketID: "T1", Key: "S-L-T1", Attempt: 2, Amount: 500, At: t0, Expire: t0})
	if !errors.Is(err, ErrDuplicate) {
		t.Fatalf("duplicate order: err = %v", err)
	}
	must(t, l.RecordStatus(ctx, Status{No: "S-L-T1-1", Status: StatusNotFound, Source: "reconcile", At: t0}))
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
	_, err := l.AuthoriseExit(ctx, Exit{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: "paid", Amount: 500,
		No: "S-L-T1-1", Auth: "1-1", Paid: paid("S-L-T1-1", 500, "poll")})
	must(t, err)
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
	if len(u) != 1 || u[0].Kind != "paid_not_exited" {
		t.Fatalf("unresolved = %+v", u)
	}
	// A paid order never goes back.
	must(t, l.RecordStatus(ctx, Status{No: "S-L-T1-1", Status: StatusFailed, Source: "cancel", At: t0.Add(2 * time.Minute)}))
	if o, _ := l.GetOrder(ctx, "S-L-T1-1"); o.Status != StatusPaid || o.Paid != 500 {
		t.Fatalf("paid order downgraded: %+v", o)
	}
	// Re-scan within exit grace: free exit linked to the payment.
	visitWithOrder(t, l, 2, "T1", "", 0)
	_, err = l.AuthoriseExit(ctx, Exit{Visit: 2, TicketID: "T1", At: t0.Add(3 * time.Minute), Cause: "exit_grace", No: "S-L-T1-1", Auth: "2-1"})
	must(t, err)
	must(t, l.PulseDone(ctx, "2-1", true, t0.Add(3*time.Minute), ""))
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
	_, err := l.AuthoriseExit(ctx, Exit{Visit: 1, TicketID: "T1", At: t0, Cause: "grace", Auth: "1-1"})
	must(t, err)
	must(t, l.PulseDone(ctx, "1-1", true, t0, ""))
	_, err = l.AuthoriseExit(ctx, Exit{Visit: 2, TicketID: "T1", At: t0, Cause: "grace", Auth: "2-1"})
	if !errors.Is(err, ErrAlreadyExited) {
		t.Fatalf("second exit: err = %v", err)
	}
	_, err = l.AuthoriseExit(ctx, Exit{Visit: 2, TicketID: "T1", At: t0, Cause: "grace", Override: true, Attendant: "a1", Auth: "2-1"})
	if !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("override without reason: err = %v", err)
	}
	_, err = l.AuthoriseExit(ctx, Exit{Visit: 2, TicketID: "T1", At: t0, Cause: "grace", Override: true, Attendant: "a1", Reason: "barrier closed on car", Auth: "2-1"})
	must(t, err)

	// A failed pulse voids the exit: the ticket may exit again.
	visitWithOrder(t, l, 3, "T2", "", 0)
	visitWithOrder(t, l, 4, "T2", "", 0)
	_, err = l.AuthoriseExit(ctx, Exit{Visit: 3, TicketID: "T2", At: t0, Cause: "grace", Auth: "3-1"})
	must(t, err)
	must(t, l.PulseDone(ctx, "3-1", false, t0, "relay gone"))
	_, err = l.AuthoriseExit(ctx, Exit{Visit: 4, TicketID: "T2", At: t0, Cause: "grace", Auth: "4-1"})
	must(t, err)
}

// Invariant 4: every pulse has exactly one row saying why and who.
func TestInvariant4OneRowPerPulse(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "", 0)
	must(t, l.AuthoriseOpen(ctx, Opening{Auth: "0-1", At: t0, Cause: "manual", Attendant: "a1", Reason: "ambulance"}))
	if err := l.AuthoriseOpen(ctx, Opening{Auth: "0-1", At: t0, Cause: "manual", Attendant: "a1", Reason: "again"}); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("second row for one pulse: err = %v", err)
	}
	if err := l.AuthoriseOpen(ctx, Opening{Auth: "0-2", At: t0, Cause: "manual", Attendant: "a1"}); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("manual open without reason: err = %v", err)
	}
	if err := l.AuthoriseOpen(ctx, Opening{Auth: "0-3", At: t0, Cause: "manual", Reason: "no actor"}); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("manual open without attendant: err = %v", err)
	}
	if _, err := l.AuthoriseExit(ctx, Exit{Visit: 1, TicketID: "T1", At: t0, Cause: "exempt", Attendant: "a1", Auth: "1-1"}); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("exempt without reason: err = %v", err)
	}
	if err := l.PulseDone(ctx, "9-9", true, t0, ""); !errors.Is(err, ErrUnknownAuth) {
		t.Fatalf("pulse without authorisation: err = %v", err)
	}
	must(t, l.PulseDone(ctx, "0-1", true, t0, ""))
	ev, err := l.BarrierEvents(ctx)
	must(t, err)
	if len(ev) != 1 || ev[0].Cause != "manual" || ev[0].Actor != "a1" || ev[0].Reason != "ambulance" || ev[0].State != "pulsed" {
		t.Fatalf("barrier events = %+v", ev)
	}
}

// Invariant 5: a payment after the driver gave up is listed as paid, not
// exited, until an attendant refunds or resolves it.
func TestInvariant5LatePaymentListed(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 700)
	must(t, l.Abandon(ctx, "S-L-T1-1", t0.Add(time.Minute)))
	must(t, l.EndVisit(ctx, 1, t0.Add(time.Minute), "cancelled"))
	must(t, l.RecordStatus(ctx, *paid("S-L-T1-1", 700, "cancel")))
	u, err := l.Unresolved(ctx)
	must(t, err)
	if len(u) != 1 || u[0].Kind != "paid_not_exited" || u[0].Amount != 700 || u[0].Ticket != "T1" {
		t.Fatalf("unresolved = %+v", u)
	}
	// Partial refund leaves it listed with the rest; full refund clears it.
	must(t, l.RecordRefund(ctx, Refund{RefundNo: "S-L-T1-1-R1", No: "S-L-T1-1", Amount: 200, At: t0, Attendant: "a1", Reason: "late", Status: "pending"}))
	if p, err := l.PendingRefunds(ctx); err != nil || len(p) != 1 || p[0].Amount != 200 {
		t.Fatalf("pending refunds = %+v, %v", p, err)
	}
	must(t, l.RecordRefund(ctx, Refund{RefundNo: "S-L-T1-1-R1", No: "S-L-T1-1", Amount: 200, At: t0, Attendant: "a1", Reason: "late", Status: "done"}))
	must(t, l.RecordRefund(ctx, Refund{RefundNo: "S-L-T1-1-R1", No: "S-L-T1-1", Amount: 200, At: t0, Attendant: "a1", Reason: "late", Status: "done"}))
	if p, _ := l.Paid(ctx, "S-L-T1-1"); p != 500 {
		t.Fatalf("refundable after partial refund = %v", p)
	}
	if u, _ := l.Unresolved(ctx); len(u) != 1 || u[0].Amount != 500 {
		t.Fatalf("unresolved after partial refund = %+v", u)
	}
	must(t, l.Resolve(ctx, "S-L-T1-1", 0, t0, "a1", "credited"))
	if u, _ := l.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved after resolve = %+v", u)
	}
	if err := l.Resolve(ctx, "S-L-T1-1", 0, t0, "a1", "again"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolve twice: %v", err)
	}
}

func TestUnableToCollectTotalsShiftEntries(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	must(t, l.StartShift(ctx, "a1", t0))
	visitWithOrder(t, l, 1, "T1", "S-L-T1-1", 500)
	_, err := l.AuthoriseExit(ctx, Exit{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: "paid", Amount: 500, No: "S-L-T1-1", Auth: "1-1", Paid: paid("S-L-T1-1", 500, "notification")})
	must(t, err)
	must(t, l.PulseDone(ctx, "1-1", true, t0.Add(time.Minute), ""))
	visitWithOrder(t, l, 2, "T2", "", 0)
	_, err = l.AuthoriseExit(ctx, Exit{Visit: 2, TicketID: "T2", At: t0.Add(2 * time.Minute), Cause: "unable_to_collect", Amount: 900, Attendant: "a1", Reason: "payby down", Auth: "2-1"})
	must(t, err)
	must(t, l.PulseDone(ctx, "2-1", true, t0.Add(2*time.Minute), ""))
	// A manual open (no vehicle's exit) and one whose pulse failed.
	must(t, l.AuthoriseOpen(ctx, Opening{Auth: "m-1", At: t0.Add(3 * time.Minute), Cause: "manual", Attendant: "a1", Reason: "barrier test"}))
	must(t, l.PulseDone(ctx, "m-1", true, t0.Add(3*time.Minute), ""))
	must(t, l.AuthoriseOpen(ctx, Opening{Auth: "m-2", At: t0.Add(4 * time.Minute), Cause: "manual", Attendant: "a1", Reason: "barrier test"}))
	must(t, l.PulseDone(ctx, "m-2", false, t0.Add(4*time.Minute), "relay gone"))
	u, _ := l.Unresolved(ctx)
	if len(u) != 1 || u[0].Kind != "unable_to_collect" || u[0].Amount != 900 {
		t.Fatalf("unresolved = %+v", u)
	}
	tot, err := l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.Exits != 2 || tot.Collected != 500 || tot.Owed != 900 || tot.ByCause["paid"].Amount != 500 || tot.Visits != 2 || tot.Openings != 1 {
		t.Fatalf("totals = %+v", tot)
	}
	s, err := l.CurrentShift(ctx)
	must(t, err)
	if s.Attendant != "a1" || !s.End.IsZero() {
		t.Fatalf("shift = %+v", s)
	}
	must(t, l.EndShift(ctx, "a1", t0.Add(time.Hour)))
	s, _ = l.CurrentShift(ctx)
	if s.End.IsZero() {
		t.Fatal("shift not ended")
	}
	must(t, l.Resolve(ctx, "", 2, t0, "a1", "paid cash"))
	es, err := l.Entries(ctx, 0, 3)
	must(t, err)
	if len(es) != 3 || es[0].Kind != "resolve" {
		t.Fatalf("entries = %+v", es)
	}
	older, err := l.Entries(ctx, es[2].ID, 100)
	must(t, err)
	if len(older) == 0 || older[0].ID >= es[2].ID {
		t.Fatalf("paging: %+v", older)
	}
}

func TestApplyValidation(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	visitWithOrder(t, l, 1, "T1", "", 0)
	must(t, l.ApplyValidation(ctx, 1, t0, "CINEMA", "Cinema, 2 hours", 1000, 0, ""))
	var code string
	var due int64
	must(t, l.SQL().QueryRowContext(ctx, `SELECT validation, due FROM visits WHERE id = 1`).Scan(&code, &due))
	if code != "CINEMA" || due != 0 {
		t.Fatalf("visit validation %q due %d", code, due)
	}
	if err := l.ApplyValidation(ctx, 9, t0, "CINEMA", "", 0, 0, ""); !errors.Is(err, ErrNotFound) {
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
	must(t, l.Abandon(ctx, "S-L-T1-1", t0.Add(time.Minute)))
	must(t, l.EndVisit(ctx, 1, t0.Add(time.Minute), "cancelled"))
	must(t, l.RecordStatus(ctx, *paid("S-L-T1-1", 1000, "cancel"))) // a late payment
	visitWithOrder(t, l, 2, "T1", "", 0)                            // the top-up, attempt 2
	must(t, l.NewOrder(ctx, Order{No: "S-L-T1-2", Visit: 2, TicketID: "T1", Key: "S-L-T1", Attempt: 2, Amount: 2000, At: t0.Add(2 * time.Hour), Expire: t0.Add(2*time.Hour + 5*time.Minute)}))
	_, err := l.AuthoriseExit(ctx, Exit{Visit: 2, TicketID: "T1", At: t0.Add(2 * time.Hour), Cause: "paid", Amount: 2000,
		No: "S-L-T1-2", Auth: "2-1", Paid: paid("S-L-T1-2", 2000, "poll")})
	must(t, err)
	if u, _ := l.Unresolved(ctx); len(u) != 0 {
		t.Fatalf("unresolved during the top-up exit = %+v", u)
	}
	must(t, l.PulseDone(ctx, "2-1", false, t0.Add(2*time.Hour), "relay gone"))
	if u, _ := l.Unresolved(ctx); len(u) != 2 {
		t.Fatalf("after a failed pulse both payments must be listed again: %+v", u)
	}
}
