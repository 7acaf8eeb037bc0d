package ledger

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// Each amount is stored with its VAT rate and VAT; the totals sum each
// payment's VAT (as its receipt shows it), not the VAT of the total. The
// visit keeps the ticket's class.
func TestVATStoredAndSummed(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	const rate = 500 // 5 %
	// Visit 1: a motorcycle, AED 20.00 due (VAT 0.95), paid.
	rec(t, l, lane.VisitRec{Visit: 1, At: t0, TicketID: "T1", Ticket: lane.TicketInfo{Serial: "T1", Format: lane.FormatSigned, Class: "motorcycle"},
		Quote: lane.Quote{Fee: 2000, Due: 2000, VATRate: rate, VAT: 95, Net: 1905}})
	rec(t, l, lane.OrderRec{No: "S-L-T1-1", Visit: 1, TicketID: "T1", Key: "S-L-T1", Attempt: 1, Amount: 2000, At: t0, Expire: t0.Add(5 * time.Minute), VATRate: rate})
	rec(t, l, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 2000, No: "S-L-T1-1", Auth: "1-1",
		Paid: paid("S-L-T1-1", 2000, lane.SourcePoll), VATRate: rate})
	rec(t, l, lane.PulseRec{Auth: "1-1", OK: true, At: t0.Add(time.Minute)})
	// Visit 2: AED 15.00 (VAT 0.71), a validation first takes it down
	// from AED 25.00, then paid.
	rec(t, l, lane.VisitRec{Visit: 2, At: t0, TicketID: "T2", Ticket: lane.TicketInfo{Serial: "T2", Format: lane.FormatSigned},
		Quote: lane.Quote{Fee: 2500, Due: 2500, VATRate: rate}})
	rec(t, l, lane.ValidationRec{Visit: 2, At: t0, Code: "V", Name: "shop", Quote: lane.Quote{Fee: 1500, Due: 1500, VATRate: rate}})
	rec(t, l, lane.OrderRec{No: "S-L-T2-1", Visit: 2, TicketID: "T2", Key: "S-L-T2", Attempt: 1, Amount: 1500, At: t0, Expire: t0.Add(5 * time.Minute), VATRate: rate})
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T2", At: t0.Add(2 * time.Minute), Cause: lane.CausePaid, Amount: 1500, No: "S-L-T2-1", Auth: "2-1",
		Paid: paid("S-L-T2-1", 1500, lane.SourceNotification), VATRate: rate})
	// Visit 3: let out unable to collect AED 10.00 (VAT 0.48 owed).
	rec(t, l, lane.VisitRec{Visit: 3, At: t0, TicketID: "T3", Ticket: lane.TicketInfo{Serial: "T3", Format: lane.FormatSigned},
		Quote: lane.Quote{Fee: 1000, Due: 1000, VATRate: rate}})
	rec(t, l, lane.ExitRec{Visit: 3, TicketID: "T3", At: t0.Add(3 * time.Minute), Cause: lane.CauseUnableToCollect, Amount: 1000,
		Attendant: "a1", Reason: "payby down", Auth: "3-1", VATRate: rate})

	var class string
	var vrate, vvat int64
	must(t, l.SQL().QueryRowContext(ctx, `SELECT class, vat_rate, vat FROM visits WHERE id = 1`).Scan(&class, &vrate, &vvat))
	if class != "motorcycle" || vrate != rate || vvat != 95 {
		t.Errorf("visit 1: class %q rate %d vat %d", class, vrate, vvat)
	}
	must(t, l.SQL().QueryRowContext(ctx, `SELECT class, vat FROM visits WHERE id = 2`).Scan(&class, &vvat))
	if class != "" || vvat != 71 {
		t.Errorf("visit 2 after its validation: class %q vat %d, want VAT of AED 15.00 = 71", class, vvat)
	}
	for no, want := range map[string]money.Fils{"S-L-T1-1": 95, "S-L-T2-1": 71} {
		o, err := l.GetOrder(ctx, no)
		must(t, err)
		if o.VATRate != rate || o.VAT != want {
			t.Errorf("%s: rate %d VAT %d, want %d", no, o.VATRate, o.VAT, want)
		}
	}
	var evat, erate int64
	must(t, l.SQL().QueryRowContext(ctx, `SELECT vat_rate, vat FROM exits WHERE visit_id = 3`).Scan(&erate, &evat))
	if erate != rate || evat != 48 {
		t.Errorf("unable-to-collect exit: rate %d vat %d", erate, evat)
	}

	tot, err := l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	// 95 + 71 = 166, while the VAT of AED 35.00 would round to 167: the
	// report adds what each receipt says.
	if tot.Collected != 3500 || tot.VAT != 166 || tot.Net != 3334 || money.VATPart(3500, rate) != 167 {
		t.Fatalf("totals: collected %s VAT %s net %s", tot.Collected, tot.VAT, tot.Net)
	}
	if c := tot.ByCause[lane.CausePaid]; c.Amount != 3500 || c.VAT != 166 {
		t.Errorf("paid exits: %+v", c)
	}
	if c := tot.ByCause[lane.CauseUnableToCollect]; c.Amount != 1000 || c.VAT != 48 {
		t.Errorf("unable to collect: %+v", c)
	}

	// A partial refund of order 1 carries the VAT of its amount at the
	// order's rate.
	for _, st := range []lane.RefundStatus{lane.RefundPending, lane.RefundDone} {
		rec(t, l, lane.RefundRec{RefundNo: "S-L-T1-1-R1", No: "S-L-T1-1", Amount: 1000, At: t0.Add(10 * time.Minute), Attendant: "a1", Reason: "goodwill", Status: st})
	}
	tot, err = l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.Refunded != 1000 || tot.RefundedVAT != 48 || tot.VAT != 166 {
		t.Errorf("after the refund: refunded %s (VAT %s), VAT %s", tot.Refunded, tot.RefundedVAT, tot.VAT)
	}
	rec(t, l, lane.ShiftRec{At: t0, Attendant: "a1", Start: true})
	sh, err := l.Shift(ctx)
	must(t, err)
	if sh.Totals.VAT != 166 || sh.Totals.Net != 3334 {
		t.Errorf("shift report: VAT %s net %s", sh.Totals.VAT, sh.Totals.Net)
	}
}

// A payment reported by the reconciler, long after its visit, is booked
// with the rate its order was priced at.
func TestVATOfALatePayment(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	rec(t, l, lane.VisitRec{Visit: 1, At: t0, TicketID: "T1", Ticket: lane.TicketInfo{Serial: "T1"}, Quote: lane.Quote{Fee: 4000, Due: 4000, VATRate: 1900}})
	rec(t, l, lane.OrderRec{No: "N1", Visit: 1, TicketID: "T1", Key: "K1", Attempt: 1, Amount: 4000, At: t0, Expire: t0.Add(5 * time.Minute), VATRate: 1900})
	rec(t, l, lane.AbandonRec{No: "N1", At: t0.Add(time.Minute)})
	rec(t, l, *paid("N1", 4000, lane.SourceReconcile))
	o, err := l.GetOrder(ctx, "N1")
	must(t, err)
	if o.VAT != 639 { // 4000 × 19 / 119 = 638.66
		t.Fatalf("VAT of a late payment at 19%% = %d", o.VAT)
	}
}

// A ledger written before migration 005 opens with VAT 0 on every old row
// (unknown, so counted as none) and no class; new rows get theirs.
func TestOldLedgerMigratesWithVATZero(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite3", DSN(path))
	must(t, err)
	_, err = db.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`)
	must(t, err)
	files, err := fs.Glob(migrations, "migrations/*.sql")
	must(t, err)
	for _, f := range files {
		name := strings.TrimPrefix(f, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		must(t, err)
		if v >= 5 {
			continue
		}
		body, err := migrations.ReadFile(f)
		must(t, err)
		_, err = db.ExecContext(ctx, string(body))
		must(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, 0)`, v, name)
		must(t, err)
	}
	at := t0.UnixMilli()
	for _, q := range []string{
		`INSERT INTO visits (id, started_at, ticket_id, serial, fee, due) VALUES (1, ?1, 'T1', 'T1', 2000, 2000)`,
		`INSERT INTO orders (merchant_order_no, visit_id, ticket_id, order_key, attempt, amount, created_at, expire_at, status, status_at, paid, paid_at)
			VALUES ('N1', 1, 'T1', 'K1', 1, 2000, ?1, ?1, 'paid', ?1, 2000, ?1)`,
		`INSERT INTO exits (visit_id, ticket_id, at, cause, amount, merchant_order_no, state) VALUES (1, 'T1', ?1, 'paid', 2000, 'N1', 'completed')`,
	} {
		_, err := db.ExecContext(ctx, q, at)
		must(t, err)
	}
	must(t, db.Close())

	l, err := Open(ctx, path)
	must(t, err)
	defer l.Close()
	tot, err := l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.Collected != 2000 || tot.VAT != 0 || tot.Net != 2000 || tot.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 1, Amount: 2000}) {
		t.Fatalf("old rows: %+v", tot)
	}
	var class string
	var rate, vat int64
	must(t, l.SQL().QueryRowContext(ctx, `SELECT class, vat_rate, vat FROM visits WHERE id = 1`).Scan(&class, &rate, &vat))
	if class != "" || rate != 0 || vat != 0 {
		t.Fatalf("old visit: class %q rate %d vat %d", class, rate, vat)
	}
	// A new payment after the migration is booked with its VAT.
	rec(t, l, lane.VisitRec{Visit: 2, At: t0, TicketID: "T2", Ticket: lane.TicketInfo{Serial: "T2", Class: "bus"}, Quote: lane.Quote{Fee: 2100, Due: 2100, VATRate: 500}})
	rec(t, l, lane.OrderRec{No: "N2", Visit: 2, TicketID: "T2", Key: "K2", Attempt: 1, Amount: 2100, At: t0, Expire: t0.Add(5 * time.Minute), VATRate: 500})
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T2", At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 2100, No: "N2", Auth: "2-1",
		Paid: paid("N2", 2100, lane.SourcePoll), VATRate: 500})
	tot, err = l.Totals(ctx, t0, t0.Add(time.Hour))
	must(t, err)
	if tot.Collected != 4100 || tot.VAT != 100 || tot.Net != 4000 {
		t.Fatalf("after a new payment: %+v", tot)
	}
}

// ExitReceipt reads what a visit's receipt prints: the stay, the fee and
// validation, this visit's payment with its booked VAT, the order.
func TestExitReceipt(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	entry := t0.Add(-2 * time.Hour)
	rec(t, l, lane.VisitRec{Visit: 1, At: t0, TicketID: "T1", Ticket: lane.TicketInfo{Serial: "000042", Format: lane.FormatSigned, Entry: entry, Class: "car"},
		Quote: lane.Quote{Fee: 2500, Due: 2500, VATRate: 500}})
	rec(t, l, lane.ValidationRec{Visit: 1, At: t0, Code: "CINEMA", Name: "Cinema, 2 hours", Quote: lane.Quote{Fee: 1500, Due: 1500, VATRate: 500}})
	rec(t, l, lane.OrderRec{No: "S-L-42-1", Visit: 1, TicketID: "T1", Key: "S-L-42", Attempt: 1, Amount: 1500, At: t0, Expire: t0.Add(5 * time.Minute), VATRate: 500})
	if _, err := l.ExitReceipt(ctx, 1); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("before the exit: %v", err)
	}
	rec(t, l, lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 1500, No: "S-L-42-1", Auth: "1-1",
		Paid: paid("S-L-42-1", 1500, lane.SourcePoll), VATRate: 500})
	r, err := l.ExitReceipt(ctx, 1)
	must(t, err)
	want := ExitReceipt{Visit: 1, Serial: "000042", Entry: entry, Class: "car", Exit: t0.Add(time.Minute), Cause: lane.CausePaid,
		Fee: 1500, Paid: 1500, VAT: 71, VATRate: 500, Validation: "Cinema, 2 hours", OrderNo: "S-L-42-1"}
	if r != want {
		t.Fatalf("receipt\n got %+v\nwant %+v", r, want)
	}
	// The pulse fails: no exit, no receipt.
	rec(t, l, lane.PulseRec{Auth: "1-1", OK: false, At: t0.Add(time.Minute), Err: "relay gone"})
	if _, err := l.ExitReceipt(ctx, 1); !errors.Is(err, lane.ErrNotFound) {
		t.Fatalf("after a failed pulse: %v", err)
	}
	// The re-scan exits on that payment: paid before this visit, so this
	// receipt has none of its own.
	rec(t, l, lane.VisitRec{Visit: 2, At: t0.Add(2 * time.Minute), TicketID: "T1", Ticket: lane.TicketInfo{Serial: "000042", Entry: entry},
		Quote: lane.Quote{Fee: 1500, Paid: 1500, Free: lane.FreeExitGrace, VATRate: 500}})
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "T1", At: t0.Add(2 * time.Minute), Cause: lane.CausePaid, Amount: 1500, No: "S-L-42-1", Auth: "2-1", VATRate: 500})
	r, err = l.ExitReceipt(ctx, 2)
	must(t, err)
	if r.Paid != 0 || r.PaidBefore != 1500 || r.VAT != 0 || r.OrderNo != "S-L-42-1" || r.Fee != 1500 {
		t.Fatalf("exit on an earlier payment: %+v", r)
	}
	// A lost ticket: no entry.
	rec(t, l, lane.VisitRec{Visit: 3, At: t0, TicketID: "", Ticket: lane.TicketInfo{Serial: "L3", Format: lane.FormatLost, Lost: true},
		Quote: lane.Quote{Fee: 15000, Due: 15000, VATRate: 500}})
	rec(t, l, lane.OrderRec{No: "S-L-L3-1", Visit: 3, Key: "S-L-L3", Attempt: 1, Amount: 15000, At: t0, Expire: t0.Add(5 * time.Minute), VATRate: 500})
	rec(t, l, lane.ExitRec{Visit: 3, At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 15000, No: "S-L-L3-1", Auth: "3-1",
		Paid: paid("S-L-L3-1", 15000, lane.SourcePoll), VATRate: 500})
	r, err = l.ExitReceipt(ctx, 3)
	must(t, err)
	if !r.Lost || !r.Entry.IsZero() || r.Paid != 15000 || r.VAT != 714 {
		t.Fatalf("lost ticket: %+v", r)
	}
}
