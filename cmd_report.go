package main

// "exitlane report": the admin screen's reports from the command line, for
// a headless lane or an accountant with SSH: the current shift, a day (or
// any range), what is unresolved, and the orders. The numbers are the
// ledger's own (the same lane.Totals and lane.Unresolved the admin screen
// shows); with a site store configured, --site reads the whole site from
// it instead. The ledger is opened read-only, so a running lane is not
// disturbed.

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/sitestore"
)

func runReport(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("report", map[string]command{
		"shift":      {name: "shift", summary: "the current (or last) shift's totals", run: reportCmd("shift")},
		"day":        {name: "day", summary: "totals of a day (today by default) or of --from/--to", run: reportCmd("day")},
		"unresolved": {name: "unresolved", summary: "paid not exited, unable to collect, orders not final", run: reportCmd("unresolved")},
		"orders":     {name: "orders", summary: "the orders of a day (today by default) or of --from/--to", run: reportCmd("orders")},
	}, args, stdin, stdout, stderr)
}

// reportTable is what every report prints: a header and rows, written as
// aligned text, CSV or JSON objects keyed by the header.
type reportTable struct {
	title  string
	header []string
	rows   [][]string
}

func reportCmd(kind string) func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
		fs := newFlags("report "+kind, stderr)
		cfgPath := fs.String("config", "", "the lane's TOML config `file` (required)")
		fromS := fs.String("from", "", "start `time` (RFC 3339, \"2006-01-02 15:04\" or a date \"2006-01-02\", site zone)")
		toS := fs.String("to", "", "end `time`, excluded (default: now, or the end of --from's day)")
		laneID := fs.String("lane", "", "only this `lane` (with --site; without it, the lane's own ledger)")
		site := fs.Bool("site", false, "the whole site, from the site store ([site_store] must be set)")
		format := fs.String("format", "text", "`format`: text, csv or json")
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: exitlane report %s --config FILE [--from T] [--to T] [--site] [--lane L] [--format text|csv|json]\n", kind)
			fs.PrintDefaults()
		}
		if code, done := parseFlags(fs, args); done {
			return code
		}
		if fs.NArg() != 0 || !slices.Contains([]string{"text", "csv", "json"}, *format) {
			fs.Usage()
			return exitUsage
		}
		if (kind == "shift" || kind == "unresolved") && (*fromS != "" || *toS != "") {
			fmt.Fprintf(stderr, "exitlane report %s: --from and --to do not apply\n", kind)
			return exitUsage
		}
		sections := []string{"site", "ledger"}
		if *site {
			sections = append(sections, "site_store")
		}
		c, code := loadConfig(*cfgPath, stderr, sections...)
		if c == nil {
			return code
		}
		if *site && !c.SiteStore.Enabled() {
			fmt.Fprintf(stderr, "exitlane report: --site: %s has no [site_store] url\n", c.Path)
			return exitUsage
		}
		if !*site && *laneID != "" && *laneID != c.Site.Lane {
			fmt.Fprintf(stderr, "exitlane report: --lane %s: this ledger is lane %s's (use --site for another lane)\n", *laneID, c.Site.Lane)
			return exitUsage
		}
		now := time.Now()
		from, to, err := reportRange(*fromS, *toS, now, c.Site.Location)
		if err != nil {
			fmt.Fprintln(stderr, "exitlane report:", err)
			return exitUsage
		}
		ctx, cancel := signalContext()
		defer cancel()
		var t reportTable
		if *site {
			t, err = siteReport(ctx, c, kind, from, to, *laneID)
		} else {
			t, err = laneReport(ctx, c, kind, from, to)
		}
		if err != nil {
			fmt.Fprintln(stderr, "exitlane report:", err)
			return exitFailure
		}
		if err := writeReport(stdout, t, *format); err != nil {
			fmt.Fprintln(stderr, "exitlane report:", err)
			return exitFailure
		}
		return exitOK
	}
}

// reportRange reads --from and --to in the site's zone. A bare date means
// that day; with no --from, today.
func reportRange(fromS, toS string, now time.Time, loc *time.Location) (from, to time.Time, err error) {
	day := func(s string) (time.Time, bool) {
		d, err := time.ParseInLocation("2006-01-02", s, loc)
		return d, err == nil
	}
	y, m, d := now.In(loc).Date()
	from, to = time.Date(y, m, d, 0, 0, 0, 0, loc), now
	if fromS != "" {
		if dd, ok := day(fromS); ok {
			from, to = dd, dd.AddDate(0, 0, 1)
		} else if from, err = parseTime(fromS, loc); err != nil {
			return from, to, fmt.Errorf("--from: %w", err)
		}
	}
	if toS != "" {
		if dd, ok := day(toS); ok {
			to = dd.AddDate(0, 0, 1) // the whole of that day
		} else if to, err = parseTime(toS, loc); err != nil {
			return from, to, fmt.Errorf("--to: %w", err)
		}
	}
	if !to.After(from) {
		return from, to, fmt.Errorf("--to %s is not after --from %s", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return from, to, nil
}

func laneReport(ctx context.Context, c *config.Config, kind string, from, to time.Time) (reportTable, error) {
	db, err := ledger.OpenReadOnly(ctx, c.Ledger.Path)
	if err != nil {
		return reportTable{}, err
	}
	defer db.Close()
	loc := c.Site.Location
	switch kind {
	case "shift":
		s, err := db.Shift(ctx)
		if errors.Is(err, lane.ErrNotFound) {
			return reportTable{}, errors.New("no shift has been started on this lane")
		}
		if err != nil {
			return reportTable{}, err
		}
		end := "open"
		if !s.End.IsZero() {
			end = s.End.In(loc).Format(time.RFC3339)
		}
		t := totalsTable(map[string]lane.Totals{c.Site.Lane: s.Totals}, nil)
		t.title = fmt.Sprintf("shift %d, attendant %s, %s to %s", s.ID, s.Attendant, s.Start.In(loc).Format(time.RFC3339), end)
		return t, nil
	case "day":
		tot, err := db.Totals(ctx, from, to)
		if err != nil {
			return reportTable{}, err
		}
		t := totalsTable(map[string]lane.Totals{c.Site.Lane: tot}, nil)
		t.title = fmt.Sprintf("lane %s, %s to %s", c.Site.Lane, from.In(loc).Format(time.RFC3339), to.In(loc).Format(time.RFC3339))
		return t, nil
	case "unresolved":
		us, err := db.Unresolved(ctx)
		if err != nil {
			return reportTable{}, err
		}
		t := reportTable{title: "unresolved, lane " + c.Site.Lane, header: []string{"lane", "kind", "visit", "ticket", "merchant_order_no", "status", "amount", "since", "note"}}
		for _, u := range us {
			t.rows = append(t.rows, unresolvedRow(c.Site.Lane, u, loc))
		}
		return t, nil
	case "orders":
		t := reportTable{title: fmt.Sprintf("orders, lane %s, %s to %s", c.Site.Lane, from.In(loc).Format(time.RFC3339), to.In(loc).Format(time.RFC3339)),
			header: []string{"at", "visit", "ticket", "merchant_order_no", "status", "amount"}}
		orders, err := db.Entries(ctx, "order", from, to)
		if err != nil {
			return reportTable{}, err
		}
		for _, tr := range orders { // oldest first, as an accountant reads
			t.rows = append(t.rows, []string{tr.At.In(loc).Format(time.RFC3339), strconv.FormatInt(tr.Visit, 10), tr.Ticket, tr.MerchantOrderNo, tr.Status, tr.Amount.Decimal()})
		}
		return t, nil
	}
	return reportTable{}, fmt.Errorf("unknown report %q", kind)
}

func siteReport(ctx context.Context, c *config.Config, kind string, from, to time.Time, only string) (reportTable, error) {
	s, err := sitestore.New(c.SiteStore.URL, sitestore.Options{Site: c.Site.ID, MaxConns: 2})
	if err != nil {
		return reportTable{}, err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	loc := c.Site.Location
	switch kind {
	case "shift", "day":
		if kind == "shift" {
			// A site has no one shift: the lanes' shifts overlap. The site's
			// shift report is this lane's shift window across the site.
			db, err := ledger.OpenReadOnly(ctx, c.Ledger.Path)
			if err != nil {
				return reportTable{}, err
			}
			sh, err := db.Shift(ctx)
			db.Close()
			if err != nil {
				return reportTable{}, fmt.Errorf("this lane's shift: %w", err)
			}
			from, to = sh.Start, time.Now()
			if !sh.End.IsZero() {
				to = sh.End
			}
		}
		tk, err := s.Takings(ctx, from, to)
		if err != nil {
			return reportTable{}, err
		}
		lanes := tk.Lanes
		var site *lane.Totals
		if only != "" {
			lanes = map[string]lane.Totals{only: tk.Lanes[only]}
		} else {
			site = &tk.Site
		}
		t := totalsTable(lanes, site)
		t.title = fmt.Sprintf("site %s, %s to %s", c.Site.ID, from.In(loc).Format(time.RFC3339), to.In(loc).Format(time.RFC3339))
		return t, nil
	case "unresolved":
		us, err := s.Unresolved(ctx)
		if err != nil {
			return reportTable{}, err
		}
		t := reportTable{title: "unresolved, site " + c.Site.ID, header: []string{"lane", "kind", "visit", "ticket", "merchant_order_no", "status", "amount", "since", "note"}}
		for _, u := range us {
			if only == "" || u.Lane == only {
				t.rows = append(t.rows, unresolvedRow(u.Lane, u.Unresolved, loc))
			}
		}
		return t, nil
	case "orders":
		orders, err := s.Orders(ctx, from, to)
		if err != nil {
			return reportTable{}, err
		}
		t := reportTable{title: fmt.Sprintf("orders, site %s, %s to %s", c.Site.ID, from.In(loc).Format(time.RFC3339), to.In(loc).Format(time.RFC3339)),
			header: []string{"lane", "at", "visit", "ticket", "merchant_order_no", "status", "payby_status", "amount", "paid"}}
		for _, o := range orders {
			if only == "" || o.Lane == only {
				t.rows = append(t.rows, []string{o.Lane, o.Created.In(loc).Format(time.RFC3339), strconv.FormatInt(o.Visit, 10), o.TicketID,
					o.MerchantOrderNo, o.Status, o.PayByStatus, o.Amount.Decimal(), o.Paid.Decimal()})
			}
		}
		return t, nil
	}
	return reportTable{}, fmt.Errorf("unknown report %q", kind)
}

// totalsTable is one row per lane (and one for the site), with the causes
// as columns: what the admin screen's reports tab shows.
func totalsTable(lanes map[string]lane.Totals, site *lane.Totals) reportTable {
	causes := []lane.Cause{}
	for c := lane.CausePaid; c <= lane.CauseOverride; c++ {
		causes = append(causes, c)
	}
	t := reportTable{header: []string{"lane", "visits", "exits", "collected", "vat", "net", "refunded", "owed", "manual_opens"}}
	for _, c := range causes {
		t.header = append(t.header, c.String()+"_count", c.String()+"_amount")
	}
	row := func(name string, tot lane.Totals) []string {
		r := []string{name, strconv.Itoa(tot.Visits), strconv.Itoa(tot.Exits), tot.Collected.Decimal(), tot.VAT.Decimal(), tot.Net.Decimal(),
			tot.Refunded.Decimal(), tot.Owed.Decimal(), strconv.Itoa(tot.Openings)}
		for _, c := range causes {
			ct := tot.ByCause[c]
			r = append(r, strconv.Itoa(ct.Count), ct.Amount.Decimal())
		}
		return r
	}
	ids := make([]string, 0, len(lanes))
	for id := range lanes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t.rows = append(t.rows, row(id, lanes[id]))
	}
	if site != nil {
		t.rows = append(t.rows, row("site", *site))
	}
	return t
}

func unresolvedRow(laneID string, u lane.Unresolved, loc *time.Location) []string {
	return []string{laneID, u.Kind.String(), strconv.FormatInt(u.Visit, 10), u.Ticket, u.MerchantOrderNo, u.Status,
		u.Amount.Decimal(), u.Since.In(loc).Format(time.RFC3339), u.Note}
}

func writeReport(w io.Writer, t reportTable, format string) error {
	switch format {
	case "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write(t.header); err != nil {
			return err
		}
		if err := cw.WriteAll(t.rows); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	case "json":
		rows := make([]map[string]string, 0, len(t.rows))
		for _, r := range t.rows {
			m := map[string]string{}
			for i, h := range t.header {
				m[h] = r[i]
			}
			rows = append(rows, m)
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Title string              `json:"title"`
			Rows  []map[string]string `json:"rows"`
		}{t.title, rows})
	}
	// Text: one block per row, "key: value" with the zero causes left out,
	// so a wide table reads on an 80-column terminal.
	fmt.Fprintln(w, t.title)
	if len(t.rows) == 0 {
		fmt.Fprintln(w, "  (none)")
	}
	for _, r := range t.rows {
		fmt.Fprintln(w)
		for i, h := range t.header {
			v := r[i]
			if (v == "0" || v == "0.00" || v == "") && i > 0 {
				continue
			}
			fmt.Fprintf(w, "  %-20s %s\n", h, v)
		}
	}
	return nil
}
