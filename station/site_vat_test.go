package station

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// The site store's takings of each lane equal that lane's ledger totals,
// VAT and net included, and the site's are their sums: lanes over real
// ledgers shipping to a real PostgreSQL, paid visits at several rates
// (whole and fractional), a validation, an unable-to-collect exit, a
// refund and a manual open.
func TestSiteTakingsEqualLedgers(t *testing.T) {
	url := pgtest.NewDB(t)
	s := migrated(t, url)
	a := newTestLane(t, url, "A", time.Second, nil)
	b := newTestLane(t, url, "B", time.Second, nil)
	ctx := context.Background()
	rec := func(l *testLane, r lane.Record) { t.Helper(); must(t, l.j.Record(ctx, r)) }

	visit := map[*testLane]int64{}
	paidVisit := func(l *testLane, due money.Fils, rate int64, at time.Time) string {
		visit[l]++
		v := visit[l]
		tk := fmt.Sprintf("%s%d", l.id, v)
		no := fmt.Sprintf("GRG01-%s-%s-1", l.id, tk)
		rec(l, lane.VisitRec{Visit: v, At: at, TicketID: tk, Ticket: lane.TicketInfo{Serial: tk, Format: lane.FormatSigned, Class: "car"},
			Quote: lane.Quote{Fee: due + 500, Due: due + 500, VATRate: rate}})
		rec(l, lane.ValidationRec{Visit: v, At: at, Code: "V", Name: "shop", Quote: lane.Quote{Fee: due, Due: due, VATRate: rate}})
		rec(l, lane.OrderRec{Visit: v, TicketID: tk, Key: "GRG01-" + l.id + "-" + tk, No: no, Attempt: 1, Amount: due, At: at, Expire: at.Add(5 * time.Minute), VATRate: rate})
		auth := fmt.Sprintf("%s-%d", l.id, v)
		rec(l, lane.ExitRec{Visit: v, TicketID: tk, At: at.Add(time.Minute), Cause: lane.CausePaid, Amount: due, No: no, Auth: auth,
			Paid: paidRec(no, due, at.Add(time.Minute)), VATRate: rate})
		rec(l, lane.PulseStartRec{Auth: auth, At: at.Add(time.Minute)})
		rec(l, lane.PulseRec{Auth: auth, At: at.Add(time.Minute), OK: true})
		return no
	}
	at := t0
	var refundNo string
	for i, rate := range []int64{500, 250, 770, 1900, 500, 0} {
		for _, due := range []money.Fils{1, 11, 2000, 1500, 2050, 4000, 12345} {
			at = at.Add(3 * time.Minute)
			l := a
			if i%2 == 1 {
				l = b
			}
			no := paidVisit(l, due, rate, at)
			if l == b && due == 4000 && rate == 250 {
				refundNo = no
			}
		}
	}
	// B refunds part of a payment at 2.5 %; A lets a car out owing AED
	// 30.00 at 5 %, and opens by hand for an ambulance.
	for _, st := range []lane.RefundStatus{lane.RefundPending, lane.RefundDone} {
		rec(b, lane.RefundRec{RefundNo: refundNo + "-R1", No: refundNo, Amount: 1001, At: at, Attendant: "amal", Reason: "goodwill", Status: st})
	}
	visit[a]++
	rec(a, lane.VisitRec{Visit: visit[a], At: at, TicketID: "U1", Ticket: lane.TicketInfo{Serial: "U1", Format: lane.FormatSigned},
		Quote: lane.Quote{Fee: 3000, Due: 3000, VATRate: 500}})
	rec(a, lane.ExitRec{Visit: visit[a], TicketID: "U1", At: at, Cause: lane.CauseUnableToCollect, Amount: 3000, Attendant: "amal",
		Reason: "payby down", Auth: "A-u", VATRate: 500})
	rec(a, lane.PulseRec{Auth: "A-u", At: at, OK: true})
	rec(a, lane.OpenRec{Auth: "A-m", At: at, Cause: lane.CauseManual, Attendant: "amal", Reason: "ambulance"})
	rec(a, lane.PulseRec{Auth: "A-m", At: at, OK: true})
	synced(t, s, a, b)

	from, to := t0.Add(-time.Hour), at.Add(time.Hour)
	tk, err := s.Takings(ctx, from, to)
	must(t, err)
	var sum lane.Totals
	for _, l := range []*testLane{a, b} {
		want, err := l.db.Totals(ctx, from, to)
		must(t, err)
		got := tk.Lanes[l.id]
		if got.Collected != want.Collected || got.VAT != want.VAT || got.Net != want.Net || got.Refunded != want.Refunded ||
			got.RefundedVAT != want.RefundedVAT || got.Owed != want.Owed || got.Visits != want.Visits || got.Exits != want.Exits ||
			got.Openings != want.Openings {
			t.Errorf("lane %s: store %+v\nledger %+v", l.id, got, want)
		}
		for c, w := range want.ByCause {
			if g := got.ByCause[c]; g != w {
				t.Errorf("lane %s %s: store %+v, ledger %+v", l.id, c, g, w)
			}
		}
		if want.VAT == 0 || want.Net == 0 {
			t.Fatalf("lane %s: no VAT in the ledger: %+v", l.id, want)
		}
		sum.Collected += want.Collected
		sum.VAT += want.VAT
		sum.Net += want.Net
		sum.RefundedVAT += want.RefundedVAT
	}
	if tk.Site.Collected != sum.Collected || tk.Site.VAT != sum.VAT || tk.Site.Net != sum.Net || tk.Site.RefundedVAT != sum.RefundedVAT {
		t.Errorf("site %+v, lanes add up to %+v", tk.Site, sum)
	}
}
