package station

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// The admin's "whole site" view as a lane's station reads it, two lanes
// on a real PostgreSQL: the site's takings are each lane's ledger totals
// and their sum, by cause with VAT; the site's unresolved entries are each
// lane's, with their lanes. The store stopped: both reads fail within
// the timeout, and the lane's own ledger still answers.
func TestStationSiteReportEqualsTheLanesLedgers(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url, err := c.CreateDB(ctx, "site")
	must(t, err)
	s := migrated(t, url)
	a := newTestLane(t, url, "A", time.Second, nil)
	b := newTestLane(t, url, "B", time.Second, nil)
	rec := func(l *testLane, r lane.Record) { t.Helper(); must(t, l.j.Record(ctx, r)) }

	visit := map[*testLane]int64{}
	at := t0
	newVisit := func(l *testLane, fee money.Fils, rate int64) (int64, string) {
		visit[l]++
		at = at.Add(2 * time.Minute)
		tk := fmt.Sprintf("%s%d", l.id, visit[l])
		rec(l, lane.VisitRec{Visit: visit[l], At: at, TicketID: tk, Ticket: lane.TicketInfo{Serial: tk, Format: lane.FormatSigned},
			Quote: lane.Quote{Fee: fee, Due: fee, VATRate: rate}})
		return visit[l], tk
	}
	order := func(l *testLane, v int64, tk string, amount money.Fils, rate int64) string {
		no := fmt.Sprintf("GRG01-%s-%s-1", l.id, tk)
		rec(l, lane.OrderRec{Visit: v, TicketID: tk, Key: "GRG01-" + l.id + "-" + tk, No: no, Attempt: 1, Amount: amount, At: at,
			Expire: at.Add(5 * time.Minute), VATRate: rate})
		return no
	}
	paid := func(l *testLane, amount money.Fils, rate int64) {
		v, tk := newVisit(l, amount, rate)
		no := order(l, v, tk, amount, rate)
		auth := fmt.Sprintf("%s-%d", l.id, v)
		rec(l, lane.ExitRec{Visit: v, TicketID: tk, At: at, Cause: lane.CausePaid, Amount: amount, No: no, Auth: auth,
			Paid: paidRec(no, amount, at), VATRate: rate})
		rec(l, lane.PulseRec{Auth: auth, At: at, OK: true})
	}
	for i, amount := range []money.Fils{1500, 2050, 1, 12345, 4000, 999} {
		l := a
		if i%2 == 1 {
			l = b
		}
		paid(l, amount, []int64{500, 250, 0}[i%3])
	}
	// A lets a car out owing AED 30.00; at B a driver paid and gave up
	// (paid, not exited); A grace exit.
	v, tk := newVisit(a, 3000, 500)
	rec(a, lane.ExitRec{Visit: v, TicketID: tk, At: at, Cause: lane.CauseUnableToCollect, Amount: 3000, Attendant: "amal",
		Reason: "payby down", Auth: "A-u", VATRate: 500})
	rec(a, lane.PulseRec{Auth: "A-u", At: at, OK: true})
	v, tk = newVisit(b, 2500, 500)
	no := order(b, v, tk, 2500, 500)
	rec(b, *paidRec(no, 2500, at))
	v, tk = newVisit(a, 0, 0)
	rec(a, lane.ExitRec{Visit: v, TicketID: tk, At: at, Cause: lane.CauseGrace, Auth: "A-g"})
	rec(a, lane.PulseRec{Auth: "A-g", At: at, OK: true})
	synced(t, s, a, b)

	st := &Station{store: a.j.store, ship: a.ship}
	from, to := t0, at.Add(time.Minute)
	tk2, err := st.SiteTakings(ctx, from, to)
	must(t, err)
	var sum lane.Totals
	sum.ByCause = map[lane.Cause]lane.CauseTotal{}
	var wantU []string
	for _, l := range []*testLane{a, b} {
		want, err := l.db.Totals(ctx, from, to)
		must(t, err)
		got := tk2.Lanes[l.id]
		if got.Collected != want.Collected || got.VAT != want.VAT || got.Net != want.Net || got.Owed != want.Owed ||
			got.Visits != want.Visits || got.Exits != want.Exits || len(got.ByCause) != len(want.ByCause) {
			t.Errorf("lane %s: site view %+v\nledger %+v", l.id, got, want)
		}
		sum.Visits += want.Visits
		sum.Exits += want.Exits
		sum.Collected += want.Collected
		sum.VAT += want.VAT
		sum.Net += want.Net
		sum.Owed += want.Owed
		for c, w := range want.ByCause {
			if g := got.ByCause[c]; g != w {
				t.Errorf("lane %s %s: site view %+v, ledger %+v", l.id, c, g, w)
			}
			ct := sum.ByCause[c]
			ct.Count, ct.Amount, ct.VAT = ct.Count+w.Count, ct.Amount+w.Amount, ct.VAT+w.VAT
			sum.ByCause[c] = ct
		}
		us, err := l.db.Unresolved(ctx)
		must(t, err)
		for _, u := range us {
			wantU = append(wantU, fmt.Sprintf("%s %s %s %s %d", l.id, u.Kind, u.Ticket, u.MerchantOrderNo, u.Amount))
		}
	}
	site := tk2.Site
	if site.Visits != sum.Visits || site.Exits != sum.Exits || site.Collected != sum.Collected || site.VAT != sum.VAT ||
		site.Net != sum.Net || site.Owed != sum.Owed || len(site.ByCause) != len(sum.ByCause) {
		t.Errorf("site %+v, the lanes' ledgers add up to %+v", site, sum)
	}
	for c, w := range sum.ByCause {
		if g := site.ByCause[c]; g != w {
			t.Errorf("site %s: %+v, the lanes' ledgers %+v", c, g, w)
		}
	}
	if sum.VAT == 0 || sum.ByCause[lane.CauseUnableToCollect].VAT == 0 || sum.ByCause[lane.CauseGrace].Count != 1 {
		t.Fatalf("the fixture lacks VAT or causes: %+v", sum)
	}

	us, err := st.SiteUnresolved(ctx)
	must(t, err)
	var gotU []string
	for _, u := range us {
		gotU = append(gotU, fmt.Sprintf("%s %s %s %s %d", u.Lane, u.Kind, u.Ticket, u.MerchantOrderNo, u.Amount))
	}
	sort.Strings(gotU)
	sort.Strings(wantU)
	if fmt.Sprint(gotU) != fmt.Sprint(wantU) || len(gotU) != 2 {
		t.Errorf("site's unresolved %q, the lanes' ledgers %q", gotU, wantU)
	}

	// The store stopped: an error, not a wait; the ledger still answers.
	must(t, c.Stop(ctx))
	start := time.Now()
	if _, err := st.SiteTakings(ctx, from, to); err == nil {
		t.Error("takings read with the store stopped")
	}
	if _, err := st.SiteUnresolved(ctx); err == nil {
		t.Error("unresolved read with the store stopped")
	}
	if d := time.Since(start); d > 2*siteReportTimeout+time.Second {
		t.Errorf("store down answered after %v", d)
	}
	if _, err := a.db.Totals(ctx, from, to); err != nil {
		t.Errorf("the lane's ledger with the store down: %v", err)
	}
	if _, err := (&Station{}).SiteTakings(ctx, from, to); !errors.Is(err, errNoSiteStore) {
		t.Errorf("a lane without a site store: %v", err)
	}
}
