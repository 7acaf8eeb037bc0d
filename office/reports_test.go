package office_test

import (
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/sitestore"
)

var dubai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Dubai")
	if err != nil {
		panic(err)
	}
	return l
}()

// day is the fixture's day in the site's zone.
var day = time.Date(2026, 3, 1, 0, 0, 0, 0, dubai)

// paidVisit is a visit paid by one order, exit and pulse included.
func paidVisit(visit int64, ticket, no string, fee money.Fils, at time.Time) []lane.Record {
	paid := lane.StatusRec{No: no, State: lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: fee, PaidAt: at.Add(40 * time.Second)},
		Source: lane.SourcePoll, At: at.Add(40 * time.Second)}
	return []lane.Record{
		lane.VisitRec{Visit: visit, At: at, TicketID: ticket, Ticket: lane.TicketInfo{Serial: ticket, Format: "EL1", Site: "GRG01", Lane: "IN1",
			Entry: at.Add(-2 * time.Hour), Signed: true}, Quote: lane.Quote{Fee: fee, Due: fee, Table: "all week"}},
		lane.OrderRec{Visit: visit, TicketID: ticket, Key: no[:len(no)-2], No: no, Attempt: 1, Amount: fee, At: at.Add(time.Second), Expire: at.Add(5 * time.Minute)},
		lane.StatusRec{No: no, State: lane.OrderState{Status: lane.OrderCreated, PayByStatus: "CREATED"}, Source: lane.SourcePoll, At: at.Add(2 * time.Second)},
		paid,
		lane.ExitRec{Visit: visit, TicketID: ticket, At: at.Add(41 * time.Second), Cause: lane.CausePaid, Amount: fee, No: no, Auth: no + "-auth", Paid: &paid},
		lane.PulseStartRec{Auth: no + "-auth", At: at.Add(41 * time.Second)},
		lane.PulseRec{Auth: no + "-auth", At: at.Add(42 * time.Second), OK: true},
	}
}

// graceVisit is a free exit within the entry grace.
func graceVisit(visit int64, ticket string, at time.Time) []lane.Record {
	auth := ticket + "-grace"
	return []lane.Record{
		lane.VisitRec{Visit: visit, At: at, TicketID: ticket, Ticket: lane.TicketInfo{Serial: ticket, Format: "EL1", Site: "GRG01", Lane: "IN1",
			Entry: at.Add(-10 * time.Minute), Signed: true}, Quote: lane.Quote{Table: "all week"}},
		lane.ExitRec{Visit: visit, TicketID: ticket, At: at.Add(time.Second), Cause: lane.CauseGrace, Auth: auth},
		lane.PulseStartRec{Auth: auth, At: at.Add(time.Second)},
		lane.PulseRec{Auth: auth, At: at.Add(2 * time.Second), OK: true},
	}
}

// fixture writes a day of two lanes into their ledgers, ships them to
// the store as the lanes do, and returns lane A's ledger.
func fixture(t *testing.T, store *sitestore.Store) *ledger.DB {
	t.Helper()
	ctx := ctxT(t)
	recs := map[string][]lane.Record{}
	// Lane A's attendant's shift: 08:30 to 11:30 (visits 1-3, not the refund).
	recs["A"] = append(recs["A"], lane.ShiftRec{At: day.Add(8*time.Hour + 30*time.Minute), Attendant: "a1", Start: true})
	recs["A"] = append(recs["A"], paidVisit(1, "1001", "GRG01-A-1001-1", 1500, day.Add(9*time.Hour))...)
	recs["A"] = append(recs["A"], graceVisit(2, "1002", day.Add(10*time.Hour))...)
	recs["A"] = append(recs["A"], paidVisit(3, "1003", "GRG01-A-1003-1", 2050, day.Add(11*time.Hour))...)
	recs["A"] = append(recs["A"], lane.ShiftRec{At: day.Add(11*time.Hour + 30*time.Minute), Attendant: "a1"})
	recs["A"] = append(recs["A"], lane.RefundRec{RefundNo: "R-1003", No: "GRG01-A-1003-1", Amount: 550, At: day.Add(12 * time.Hour),
		Attendant: "office:sam", Reason: "overcharged", Status: lane.RefundDone})
	// The day before and the day after do not count.
	recs["A"] = append(recs["A"], paidVisit(4, "1004", "GRG01-A-1004-1", 999, day.Add(24*time.Hour+time.Minute))...)
	recs["B"] = append(recs["B"], paidVisit(1, "2001", "GRG01-B-2001-1", 1000, day.Add(-time.Minute))...)
	recs["B"] = append(recs["B"], paidVisit(2, "2002", "GRG01-B-2002-1", 3000, day.Add(15*time.Hour))...)
	var dbA *ledger.DB
	for _, id := range []string{"A", "B"} {
		db, err := ledger.Open(ctx, filepath.Join(t.TempDir(), id+".db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		for _, r := range recs[id] {
			if err := db.Record(ctx, r); err != nil {
				t.Fatalf("ledger %s: %T: %v", id, r, err)
			}
		}
		rows, err := db.Outbox(ctx, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			rec, err := row.Record()
			if err != nil {
				t.Fatal(err)
			}
			if err := store.Apply(ctx, id, row.Seq, rec); err != nil {
				t.Fatalf("apply %s %d: %v", id, row.Seq, err)
			}
		}
		if id == "A" {
			dbA = db
		}
	}
	return dbA
}

// The office's report of a period has the numbers of the lane's own
// report (its ledger's totals) for the same period.
func TestReportEqualsLaneReport(t *testing.T) {
	url := pgtest.NewDB(t)
	store := migrated(t, url)
	db := fixture(t, store)
	cfg := officeConfig(t, url)
	cfg.Site.Location = dubai
	con, err := office.NewConsole(cfg, store, office.ConsoleOptions{Now: func() time.Time { return day.Add(20 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []office.ReportQuery{
		{Kind: "day", Date: "2026-03-01", Lane: "A"},
		{Kind: "range", From: "2026-03-01T10:30", To: "2026-03-01T12:30", Lane: "A"},
		{Kind: "month", Month: "2026-03", Lane: "A"},
	} {
		r, err := con.BuildReport(ctxT(t), q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := db.Totals(ctxT(t), r.From, r.To)
		if err != nil {
			t.Fatal(err)
		}
		got := r.Takings.Lanes["A"]
		got.From, got.To, want.From, want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		for c, ct := range want.ByCause { // the ledger lists causes with no exit too
			if ct.Count == 0 && ct.Amount == 0 {
				delete(want.ByCause, c)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%+v:\noffice %+v\nlane   %+v", q, got, want)
		}
	}
	// A lane's shift: the office's figures are the ones the lane's
	// "exitlane report shift" prints (the ledger's shift report).
	sh, err := db.Shift(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	r, err := con.BuildReport(ctxT(t), office.ReportQuery{Kind: "shift"})
	if err != nil {
		t.Fatal(err)
	}
	if !r.From.Equal(sh.Start) || !r.To.Equal(sh.End) || r.Query.Lane != "A" || !strings.Contains(r.Title, "a1") {
		t.Errorf("shift period: %s %s-%s lane %q, lane's shift %s-%s", r.Title, r.From, r.To, r.Query.Lane, sh.Start, sh.End)
	}
	got, want := r.Takings.Lanes["A"], sh.Totals
	got.From, got.To, want.From, want.To = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	for c, ct := range want.ByCause {
		if ct.Count == 0 && ct.Amount == 0 {
			delete(want.ByCause, c)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("shift:\noffice %+v\nlane   %+v", got, want)
	}
	if want.Collected != 3550 || want.Exits != 3 || want.Refunded != 0 {
		t.Errorf("the shift's fixture: %+v", want)
	}
}

// The CSV export, byte for byte.
func TestReportCSV(t *testing.T) {
	c := newConsole(t, nil)
	fixture(t, c.store)
	b := c.browser()
	b.mustLogin("vic")
	res, body := b.do("GET", "/reports.csv?kind=day&date=2026-03-01&table=takings", nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		res.Header.Get("Content-Disposition") != `attachment; filename="GRG01-takings-site-20260301T0000-20260302T0000.csv"` {
		t.Fatalf("%d %v", res.StatusCode, res.Header)
	}
	const takings = "lane,from,to,visits,exits,collected,vat,net,refunded,refunded_vat,owed,manual_opens,paid_count,paid_amount,grace_count,grace_amount,exit_grace_count,exit_grace_amount,validation_count,validation_amount,manual_count,manual_amount,exempt_count,exempt_amount,unable_to_collect_count,unable_to_collect_amount,override_count,override_amount\n" +
		"A,2026-03-01T00:00:00+04:00,2026-03-02T00:00:00+04:00,3,3,35.50,0.00,35.50,5.50,0.00,0.00,0,2,35.50,1,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00\n" +
		"B,2026-03-01T00:00:00+04:00,2026-03-02T00:00:00+04:00,1,1,30.00,0.00,30.00,0.00,0.00,0.00,0,1,30.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00\n" +
		"site,2026-03-01T00:00:00+04:00,2026-03-02T00:00:00+04:00,4,4,65.50,0.00,65.50,5.50,0.00,0.00,0,3,65.50,1,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00\n"
	if body != takings {
		t.Errorf("takings CSV:\n%s\nwant:\n%s", body, takings)
	}
	_, body = b.do("GET", "/reports.csv?kind=day&date=2026-03-01&table=refunds&lane=A", nil)
	if want := "lane,at,refund_no,merchant_order_no,amount,status,by,reason\n" +
		"A,2026-03-01T12:00:00+04:00,R-1003,GRG01-A-1003-1,5.50,done,office:sam,overcharged\n"; body != want {
		t.Errorf("refunds CSV:\n%s\nwant:\n%s", body, want)
	}
	_, body = b.do("GET", "/reports.csv?kind=day&date=2026-03-01&table=orders&lane=B", nil)
	if want := "lane,created,visit,ticket,merchant_order_no,status,payby_status,amount,paid\n" +
		"B,2026-03-01T15:00:01+04:00,2,2002,GRG01-B-2002-1,paid,PAID_SUCCESS,30.00,30.00\n"; body != want {
		t.Errorf("orders CSV:\n%s\nwant:\n%s", body, want)
	}
	if res, _ := b.do("GET", "/reports.csv?kind=day&date=2026-03-01&table=secrets", nil); res.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown table: %d", res.StatusCode)
	}
}
