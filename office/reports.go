package office

// Reports: a shift, a day, a month or a time range, for the site or one
// lane, from the store (sitestore.Takings, Orders, Refunds): the same
// totals as the lanes' own shift reports (lane.Totals with the ledger's
// rules), orders by status, and the refunds. Each table is also a CSV
// file for the accountants, amounts as plain decimal AED.

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/sitestore"
)

// ReportQuery selects a report's period and scope.
type ReportQuery struct {
	Kind  string // day (default), month, shift or range
	Date  string // day: YYYY-MM-DD in the site's zone (default today)
	Month string // month: YYYY-MM (default this month)
	Shift int64  // shift: the store's shift id (default the latest)
	From  string // range: YYYY-MM-DDTHH:MM in the site's zone
	To    string
	Lane  string // "": the site, lane by lane
}

func reportQuery(v url.Values) ReportQuery {
	q := ReportQuery{Kind: v.Get("kind"), Date: v.Get("date"), Month: v.Get("month"), From: v.Get("from"), To: v.Get("to"), Lane: v.Get("lane")}
	q.Shift, _ = strconv.ParseInt(v.Get("shift"), 10, 64)
	if q.Kind == "" {
		q.Kind = "day"
	}
	return q
}

// Values is the query as URL parameters.
func (q ReportQuery) Values() url.Values {
	v := url.Values{"kind": {q.Kind}}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	switch q.Kind {
	case "day":
		set("date", q.Date)
	case "month":
		set("month", q.Month)
	case "shift":
		if q.Shift != 0 {
			v.Set("shift", strconv.FormatInt(q.Shift, 10))
		}
	case "range":
		set("from", q.From)
		set("to", q.To)
	}
	set("lane", q.Lane)
	return v
}

// CSV is the query's CSV link for one table.
func (q ReportQuery) CSV(table string) string {
	v := q.Values()
	v.Set("table", table)
	return "/reports.csv?" + v.Encode()
}

// Report is one report's numbers.
type Report struct {
	Query    ReportQuery
	Title    string
	From, To time.Time
	Takings  sitestore.Takings
	Orders   []sitestore.Order
	Refunds  []sitestore.Refund
	ByStatus []StatusTotal
	Shifts   []sitestore.Shift
	Lanes    []string // every lane the store knows, for the selector
	Err      string
}

func (r Report) notices() (string, string) { return r.Err, "" }

// StatusTotal is the orders of one status: how many, their amount and
// what was paid.
type StatusTotal struct {
	Status string
	Count  int
	Amount money.Fils
	Paid   money.Fils
}

// TotalsRow is one row of the takings table.
type TotalsRow struct {
	Name   string
	Totals lane.Totals
}

// Rows are the takings table's rows: each lane (or the one asked for),
// then the site.
func (r Report) Rows() []TotalsRow {
	var out []TotalsRow
	for _, id := range r.Takings.LaneIDs() {
		if r.Query.Lane == "" || r.Query.Lane == id {
			out = append(out, TotalsRow{id, r.Takings.Lanes[id]})
		}
	}
	if r.Query.Lane == "" {
		out = append(out, TotalsRow{"site", r.Takings.Site})
	} else if len(out) == 0 {
		out = append(out, TotalsRow{r.Query.Lane, lane.Totals{ByCause: map[lane.Cause]lane.CauseTotal{}}})
	}
	return out
}

// Causes are the exit causes, in the lane's order (the takings columns).
func (Report) Causes() []lane.Cause {
	var out []lane.Cause
	for c := lane.CausePaid; c <= lane.CauseOverride; c++ {
		out = append(out, c)
	}
	return out
}

// CauseName is how the console names an exit cause.
func CauseName(c lane.Cause) string {
	switch c {
	case lane.CausePaid:
		return "Paid"
	case lane.CauseGrace:
		return "Grace (free)"
	case lane.CauseExitGrace:
		return "Paid earlier (exit grace)"
	case lane.CauseValidation:
		return "Validation"
	case lane.CauseManual:
		return "Manual open"
	case lane.CauseExempt:
		return "Fee waived (exempt)"
	case lane.CauseUnableToCollect:
		return "Unable to collect"
	case lane.CauseOverride:
		return "Anti-passback override"
	}
	return c.String()
}

// period resolves the query's [from, to) and title; a shift's lane
// becomes the report's lane unless one was chosen.
func (c *Console) period(ctx context.Context, q *ReportQuery) (from, to time.Time, title string, err error) {
	now := c.now().In(c.loc)
	switch q.Kind {
	case "day":
		d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, c.loc)
		if q.Date != "" {
			if d, err = time.ParseInLocation("2006-01-02", q.Date, c.loc); err != nil {
				return from, to, "", fmt.Errorf("date %q: want YYYY-MM-DD", q.Date)
			}
		}
		q.Date = d.Format("2006-01-02")
		return d, d.AddDate(0, 0, 1), "Day " + q.Date, nil
	case "month":
		m := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, c.loc)
		if q.Month != "" {
			if m, err = time.ParseInLocation("2006-01", q.Month, c.loc); err != nil {
				return from, to, "", fmt.Errorf("month %q: want YYYY-MM", q.Month)
			}
		}
		q.Month = m.Format("2006-01")
		return m, m.AddDate(0, 1, 0), "Month " + m.Format("January 2006"), nil
	case "shift":
		shifts, err := c.store.Shifts(ctx, 200)
		if err != nil {
			return from, to, "", err
		}
		if len(shifts) == 0 {
			return from, to, "", fmt.Errorf("no lane has recorded a shift yet: choose a day or a time range")
		}
		sh := shifts[0]
		if q.Shift != 0 {
			i := slices.IndexFunc(shifts, func(s sitestore.Shift) bool { return s.ID == q.Shift })
			if i < 0 {
				return from, to, "", fmt.Errorf("no shift %d among the latest 200", q.Shift)
			}
			sh = shifts[i]
		}
		q.Shift = sh.ID
		if q.Lane == "" {
			q.Lane = sh.Lane
		}
		end := sh.End
		if end.IsZero() {
			end = c.now()
		}
		title = fmt.Sprintf("Shift of %s at lane %s, %s to %s", sh.Attendant, sh.Lane, c.when(sh.Start), c.when(end))
		if sh.End.IsZero() {
			title += " (open)"
		}
		return sh.Start, end, title, nil
	case "range":
		const layout = "2006-01-02T15:04"
		if from, err = time.ParseInLocation(layout, q.From, c.loc); err != nil {
			return from, to, "", fmt.Errorf("from %q: want a date and time", q.From)
		}
		if to, err = time.ParseInLocation(layout, q.To, c.loc); err != nil {
			return from, to, "", fmt.Errorf("to %q: want a date and time", q.To)
		}
		if !to.After(from) {
			return from, to, "", fmt.Errorf("the range ends before it starts")
		}
		return from, to, fmt.Sprintf("%s to %s", c.when(from), c.when(to)), nil
	}
	return from, to, "", fmt.Errorf("report kind %q: want day, month, shift or range", q.Kind)
}

// BuildReport reads one report from the store.
func (c *Console) BuildReport(ctx context.Context, q ReportQuery) (Report, error) {
	r := Report{Query: q}
	var err error
	if r.From, r.To, r.Title, err = c.period(ctx, &r.Query); err != nil {
		return r, err
	}
	if r.Takings, err = c.store.Takings(ctx, r.From, r.To); err != nil {
		return r, err
	}
	// Net is what was collected less its VAT, as the lanes' reports say;
	// a store without VAT figures leaves it to be worked out here.
	net := func(t *lane.Totals) {
		if t.Net == 0 {
			t.Net = t.Collected - t.VAT
		}
	}
	net(&r.Takings.Site)
	for id, t := range r.Takings.Lanes {
		net(&t)
		r.Takings.Lanes[id] = t
	}
	orders, err := c.store.Orders(ctx, r.From, r.To)
	if err != nil {
		return r, err
	}
	refunds, err := c.store.Refunds(ctx, r.From, r.To)
	if err != nil {
		return r, err
	}
	for _, o := range orders {
		if q := r.Query.Lane; q == "" || o.Lane == q {
			r.Orders = append(r.Orders, o)
		}
	}
	for _, f := range refunds {
		if q := r.Query.Lane; q == "" || f.Lane == q {
			r.Refunds = append(r.Refunds, f)
		}
	}
	by := map[string]*StatusTotal{}
	for _, o := range r.Orders {
		st := by[o.Status]
		if st == nil {
			st = &StatusTotal{Status: o.Status}
			by[o.Status] = st
		}
		st.Count++
		st.Amount += o.Amount
		st.Paid += o.Paid
	}
	for _, st := range by {
		r.ByStatus = append(r.ByStatus, *st)
	}
	sort.Slice(r.ByStatus, func(i, j int) bool { return r.ByStatus[i].Status < r.ByStatus[j].Status })
	if r.Shifts, err = c.store.Shifts(ctx, 50); err != nil {
		return r, err
	}
	lanes, err := c.store.Lanes(ctx)
	if err != nil {
		return r, err
	}
	for _, l := range lanes {
		r.Lanes = append(r.Lanes, l.Lane)
	}
	return r, nil
}

func (c *Console) reportsPage(q *request) {
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	rq := reportQuery(q.r.URL.Query())
	r, err := c.BuildReport(ctx, rq)
	status := http.StatusOK
	if err != nil {
		r.Err, status = err.Error(), http.StatusBadRequest
	}
	c.render(q, status, "reports", "Reports", r)
}

// reportCSV sends one table of a report as a CSV attachment.
func (c *Console) reportCSV(q *request) {
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	rq := reportQuery(q.r.URL.Query())
	r, err := c.BuildReport(ctx, rq)
	if err != nil {
		http.Error(q.w, err.Error(), http.StatusBadRequest)
		return
	}
	table := q.r.URL.Query().Get("table")
	header, rows, err := r.Table(table, c.loc)
	if err != nil {
		http.Error(q.w, err.Error(), http.StatusBadRequest)
		return
	}
	scope := "site"
	if r.Query.Lane != "" {
		scope = "lane-" + r.Query.Lane
	}
	name := fmt.Sprintf("%s-%s-%s-%s-%s.csv", c.cfg.Site.ID, table, scope, r.From.In(c.loc).Format("20060102T1504"), r.To.In(c.loc).Format("20060102T1504"))
	q.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	q.w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(q.w)
	cw.Write(header)
	cw.WriteAll(rows)
}

// Table is one of the report's tables as CSV: "takings", "orders" or
// "refunds". Amounts are decimal AED with two places, times RFC 3339 in
// the site's zone.
func (r Report) Table(name string, loc *time.Location) (header []string, rows [][]string, err error) {
	switch name {
	case "takings":
		header = []string{"lane", "from", "to", "visits", "exits", "collected", "vat", "net", "refunded", "refunded_vat", "owed", "manual_opens"}
		for _, c := range r.Causes() {
			header = append(header, c.String()+"_count", c.String()+"_amount")
		}
		for _, row := range r.Rows() {
			t := row.Totals
			line := []string{row.Name, r.From.In(loc).Format(time.RFC3339), r.To.In(loc).Format(time.RFC3339),
				strconv.Itoa(t.Visits), strconv.Itoa(t.Exits), t.Collected.Decimal(), t.VAT.Decimal(), t.Net.Decimal(),
				t.Refunded.Decimal(), t.RefundedVAT.Decimal(), t.Owed.Decimal(), strconv.Itoa(t.Openings)}
			for _, c := range r.Causes() {
				ct := t.ByCause[c]
				line = append(line, strconv.Itoa(ct.Count), ct.Amount.Decimal())
			}
			rows = append(rows, line)
		}
	case "orders":
		header = []string{"lane", "created", "visit", "ticket", "merchant_order_no", "status", "payby_status", "amount", "paid"}
		for _, o := range r.Orders {
			rows = append(rows, []string{o.Lane, o.Created.In(loc).Format(time.RFC3339), strconv.FormatInt(o.Visit, 10), o.TicketID,
				o.MerchantOrderNo, o.Status, o.PayByStatus, o.Amount.Decimal(), o.Paid.Decimal()})
		}
	case "refunds":
		header = []string{"lane", "at", "refund_no", "merchant_order_no", "amount", "status", "by", "reason"}
		for _, f := range r.Refunds {
			rows = append(rows, []string{f.Lane, f.At.In(loc).Format(time.RFC3339), f.No, f.OrderNo, f.Amount.Decimal(), f.Status, f.Attendant, f.Reason})
		}
	default:
		return nil, nil, fmt.Errorf("table %q: want takings, orders or refunds", name)
	}
	return header, rows, nil
}
