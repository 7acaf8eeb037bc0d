package sitestore

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// vatVisit is a paid visit whose price included VAT at rate, for a ticket
// of class, with a validation first taking the fee down to due.
func vatVisit(visit int64, ticket, class string, fee, due money.Fils, rate int64, at time.Time) []lane.Record {
	no := fmt.Sprintf("MALL1-X-%s-1", ticket)
	v := visitRec(visit, ticket, at, fee, 0)
	v.Ticket.Class = class
	v.Quote.VATRate, v.Quote.VAT = rate, money.VATPart(fee, rate)
	paid := statusRec(no, lane.OrderPaid, due, at.Add(40*time.Second))
	o := orderRec(visit, ticket, no, due, at.Add(time.Second))
	o.VATRate = rate
	return []lane.Record{
		v,
		lane.ValidationRec{Visit: visit, At: at, Code: "V1", Name: "cinema", Quote: lane.Quote{Fee: due, Due: due, VATRate: rate}},
		o,
		lane.ExitRec{Visit: visit, TicketID: ticket, At: at.Add(41 * time.Second), Cause: lane.CausePaid, Amount: due, No: no,
			Auth: no + "-auth", Paid: &paid, VATRate: rate},
		lane.PulseRec{Auth: no + "-auth", At: at.Add(42 * time.Second), OK: true},
	}
}

// The store books the class and each amount's VAT as the lane's ledger
// does (money.VATPart at the amount's rate), and Takings sums them per
// lane and for the site like the ledger's Totals: each payment's VAT, not
// the VAT of the total; Net is Collected less VAT; refunds carry the VAT
// of their amount at the order's rate.
func TestTakingsVAT(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	// A: AED 20.00 at 5 % (VAT 0.95) and AED 15.00 at 5 % (0.71): 1.66,
	// while the VAT of AED 35.00 would be 1.67.
	a.write(vatVisit(1, "T1", "motorcycle", 2500, 2000, 500, t0)...)
	a.write(vatVisit(2, "T2", "", 1500, 1500, 500, t0.Add(time.Minute))...)
	// B: AED 40.00 at 7.7 % (2.86), then AED 10.00 of it refunded (0.71),
	// and AED 30.00 owed at 5 % (1.43).
	b.write(vatVisit(1, "T3", "", 4000, 4000, 770, t0)...)
	b.write(lane.RefundRec{RefundNo: "R1", No: "MALL1-X-T3-1", Amount: 1000, At: t0.Add(time.Hour), Attendant: "amal", Reason: "goodwill", Status: lane.RefundPending},
		lane.RefundRec{RefundNo: "R1", No: "MALL1-X-T3-1", Amount: 1000, At: t0.Add(time.Hour), Attendant: "amal", Reason: "goodwill", Status: lane.RefundDone})
	v := visitRec(2, "T4", t0, 3000, 0)
	v.Quote.VATRate = 500
	b.write(v, lane.ExitRec{Visit: 2, TicketID: "T4", At: t0.Add(time.Minute), Cause: lane.CauseUnableToCollect, Amount: 3000,
		Attendant: "amal", Reason: "PayBy down", Auth: "B2", VATRate: 500},
		lane.PulseRec{Auth: "B2", At: t0.Add(time.Minute), OK: true})

	if c := one[string](t, s, `SELECT class FROM visits WHERE lane = 'A' AND visit = 1`); c != "motorcycle" {
		t.Errorf("class %q", c)
	}
	// The visit's VAT follows its validation (AED 25.00 -> 20.00).
	if r, v := one[int64](t, s, `SELECT vat_rate FROM visits WHERE lane = 'A' AND visit = 1`), one[int64](t, s, `SELECT vat FROM visits WHERE lane = 'A' AND visit = 1`); r != 500 || v != 95 {
		t.Errorf("visit A/1: rate %d VAT %d", r, v)
	}
	if v := one[int64](t, s, `SELECT vat FROM refunds WHERE refund_no = 'R1'`); v != 71 {
		t.Errorf("refund VAT %d", v)
	}

	tk, err := s.Takings(ctx, t0.Add(-time.Hour), t0.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	la, lb := tk.Lanes["A"], tk.Lanes["B"]
	if la.Collected != 3500 || la.VAT != 166 || la.Net != 3334 || la.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 2, Amount: 3500, VAT: 166}) {
		t.Errorf("lane A: collected %s VAT %s net %s, paid %+v", la.Collected, la.VAT, la.Net, la.ByCause[lane.CausePaid])
	}
	if lb.Collected != 4000 || lb.VAT != 286 || lb.Net != 3714 || lb.Refunded != 1000 || lb.RefundedVAT != 71 ||
		lb.ByCause[lane.CauseUnableToCollect] != (lane.CauseTotal{Count: 1, Amount: 3000, VAT: 143}) {
		t.Errorf("lane B: %+v", lb)
	}
	if tk.Site.Collected != 7500 || tk.Site.VAT != 452 || tk.Site.Net != 7048 || tk.Site.RefundedVAT != 71 ||
		tk.Site.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 3, Amount: 7500, VAT: 452}) {
		t.Errorf("site: %+v", tk.Site)
	}
}

// Migration 004 over a store that applied VAT-carrying records before it
// existed: the class and rates come from the journal and the VAT amounts
// are those the applier books now (money.VATPart), for a sweep of
// amounts and rates with exact halves.
func TestMigration004BackfillsFromTheJournal(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	l := newLane(t, s, "A")
	visit := int64(0)
	for _, rate := range []int64{0, 100, 250, 500, 770, 1900, 2000, 10000} {
		for _, amount := range []money.Fils{1, 3, 5, 11, 21, 105, 999, 2050, 4000, 123457} {
			visit++
			tk := fmt.Sprintf("T%d", visit)
			l.write(vatVisit(visit, tk, "van", amount+500, amount, rate, t0.Add(time.Duration(visit)*time.Minute))...)
			if visit%3 == 0 {
				l.write(lane.RefundRec{RefundNo: tk + "-R", No: fmt.Sprintf("MALL1-X-%s-1", tk), Amount: amount / 2, At: t0, Status: lane.RefundDone})
			}
		}
	}
	snapshot := func() []string {
		var out []string
		for _, q := range []string{
			`SELECT lane || '/' || visit || ' ' || class || ' ' || vat_rate || ' ' || vat FROM visits ORDER BY lane, visit`,
			`SELECT merchant_order_no || ' ' || vat_rate || ' ' || vat FROM orders ORDER BY merchant_order_no`,
			`SELECT auth || ' ' || vat_rate || ' ' || vat FROM exits ORDER BY auth`,
			`SELECT refund_no || ' ' || vat FROM refunds ORDER BY refund_no`,
		} {
			rows, err := s.Pool().Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var r string
				if err := rows.Scan(&r); err != nil {
					t.Fatal(err)
				}
				out = append(out, r)
			}
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
		}
		return out
	}
	want := snapshot()
	if len(want) < 240 {
		t.Fatalf("%d rows", len(want))
	}
	// As the store was at migration 003.
	for _, q := range []string{
		`ALTER TABLE visits DROP COLUMN class, DROP COLUMN vat_rate, DROP COLUMN vat`,
		`ALTER TABLE orders DROP COLUMN vat_rate, DROP COLUMN vat`,
		`ALTER TABLE exits DROP COLUMN vat_rate, DROP COLUMN vat`,
		`ALTER TABLE refunds DROP COLUMN vat`,
		`DELETE FROM schema_migrations WHERE version = 4`,
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := s.Migrate(ctx)
	if err != nil || !reflect.DeepEqual(applied, []string{"004_vat.sql"}) {
		t.Fatalf("migrate: %v %v", applied, err)
	}
	if got := snapshot(); !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("after the migration %q, applied %q", got[i], want[i])
			}
		}
		t.Fatalf("%d rows after the migration, %d applied", len(got), len(want))
	}
}
