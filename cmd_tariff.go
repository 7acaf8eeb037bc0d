package main

import (
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/ticket"
)

// The tariff's second pass in the command line: "exitlane tariff
// holidays", the flags and output "exitlane fee" and "exitlane ticket"
// gained (class, re-entry, VAT, the stay day by day), and the price list
// "config check" reports.

func runTariff(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("tariff", map[string]command{
		"holidays": {name: "holidays", summary: "print a year's holidays and price-list changes as configured", run: runTariffHolidays},
	}, args, stdin, stdout, stderr)
}

func runTariffHolidays(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("tariff holidays", stderr)
	cfgPath := fs.String("config", "", "config `file`")
	year := fs.Int("year", 0, "the `year` (default: this year in the site's zone)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: exitlane tariff holidays --config F [--year Y]")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	c, code := loadConfig(*cfgPath, stderr, "tariff")
	if c == nil {
		return code
	}
	if *year == 0 {
		*year = time.Now().In(c.Site.Location).Year()
	}
	if *year < 1 || *year > 9999 {
		fmt.Fprintf(stderr, "exitlane tariff holidays: --year %d is not a year\n", *year)
		return exitUsage
	}
	printHolidays(stdout, &c.Tariff, *year)
	return exitOK
}

// printHolidays writes year's calendar as configured: each holiday date
// with its weekday, name and day type, and each price list that starts in
// the year.
func printHolidays(w io.Writer, t *ticket.Tariff, year int) {
	loc := t.Location
	if loc == nil {
		loc = time.UTC
	}
	fmt.Fprintf(w, "%d in %s, as configured:\n", year, loc)
	n := 0
	for d := time.Date(year, 1, 1, 12, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
		date := ticket.DateOf(d)
		for _, c := range t.Changes {
			if c.From == date {
				fmt.Fprintf(w, "%s  price list from %s in force\n", d.Format("Mon 2006-01-02"), c.From)
			}
		}
		h, ok := t.HolidayOn(date)
		if !ok {
			continue
		}
		n++
		fmt.Fprintf(w, "%s  %-24s %s prices\n", d.Format("Mon 2006-01-02"), h.Name, h.DayType)
	}
	switch n {
	case 0:
		fmt.Fprintln(w, "no holidays")
	case 1:
		fmt.Fprintln(w, "1 holiday")
	default:
		fmt.Fprintf(w, "%d holidays\n", n)
	}
}

// feeExtra holds the flags "exitlane fee" has for the tariff's second
// pass.
type feeExtra struct {
	class               *string
	prevEntry, prevExit *string
	prevPaid            *string
}

// feeFlags registers --class and the previous visit's flags on fs.
func feeFlags(fs *flag.FlagSet) *feeExtra {
	return &feeExtra{
		class:     fs.String("class", "", "vehicle `class` (default: car)"),
		prevEntry: fs.String("previous-entry", "", "entry `time` of the same vehicle's previous visit (re-entry)"),
		prevExit:  fs.String("previous-exit", "", "exit `time` of the previous visit"),
		prevPaid:  fs.String("previous-paid", "", "`amount` the previous visit paid"),
	}
}

// apply sets the class and previous visit of s from the flags.
func (f *feeExtra) apply(s *ticket.Stay, loc *time.Location) error {
	s.Class = *f.class
	if *f.class != "" && !ticket.ValidClass(*f.class) {
		return fmt.Errorf("--class %q is not a class name (1-12 of a-z 0-9)", *f.class)
	}
	if *f.prevEntry == "" && *f.prevExit == "" && *f.prevPaid == "" {
		return nil
	}
	if *f.prevEntry == "" || *f.prevExit == "" {
		return fmt.Errorf("--previous-entry and --previous-exit go together")
	}
	var v ticket.Visit
	var err error
	if v.Entry, err = parseTime(*f.prevEntry, loc); err != nil {
		return fmt.Errorf("--previous-entry: %w", err)
	}
	if v.Exit, err = parseTime(*f.prevExit, loc); err != nil {
		return fmt.Errorf("--previous-exit: %w", err)
	}
	if *f.prevPaid != "" {
		if v.Paid, err = money.ParseNonNegative(*f.prevPaid); err != nil {
			return fmt.Errorf("--previous-paid: %w", err)
		}
	}
	s.Previous = &v
	return nil
}

// feeDetail is what "exitlane fee --json" prints beside feeJSON's keys:
// the class, the price list, VAT, and a calendar stay day by day.
type feeDetail struct {
	Class            string     `json:"class"`
	PricedAs         string     `json:"priced_as"`
	TariffFrom       string     `json:"tariff_from,omitempty"`
	Holiday          string     `json:"holiday,omitempty"`
	LostRule         string     `json:"lost_rule,omitempty"`
	Continued        bool       `json:"continued,omitempty"`
	SessionEntry     *time.Time `json:"session_entry,omitempty"`
	PreviousPaidFils int64      `json:"previous_paid_fils,omitempty"`
	VATPercent       string     `json:"vat_percent"`
	VATFils          int64      `json:"vat_fils"`
	NetFils          int64      `json:"net_fils"`
	VAT              string     `json:"vat"`
	Net              string     `json:"net"`
	Days             []dayJSON  `json:"days,omitempty"`
}

// dayJSON is one day (or run of days priced alike) of a calendar stay.
type dayJSON struct {
	Date         string      `json:"date"`
	Count        int         `json:"days"`
	DayType      string      `json:"day_type"`
	Holiday      string      `json:"holiday,omitempty"`
	Pieces       []pieceJSON `json:"pieces"`
	SumFils      int64       `json:"sum_fils"`
	DailyMaxFils int64       `json:"daily_max_fils,omitempty"`
	Capped       bool        `json:"capped,omitempty"`
	TotalFils    int64       `json:"total_fils"`
}

// pieceJSON is the part of the stay in one band on one day (the first of
// a run).
type pieceJSON struct {
	Band        string    `json:"band"`
	Rule        string    `json:"rule"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Seconds     int64     `json:"seconds"`
	PriceFils   int64     `json:"price_fils"`
	Increments  int64     `json:"increments,omitempty"`
	SlabSeconds int64     `json:"slab_seconds,omitempty"`
	Capped      bool      `json:"capped,omitempty"`
	Covered     bool      `json:"covered,omitempty"`
	Partial     bool      `json:"partial,omitempty"`
}

// feeOutput is the whole "exitlane fee --json" object.
func feeOutput(base feeJSON, q ticket.Quote, loc *time.Location) any {
	d := feeDetail{
		Class: q.Class, PricedAs: q.PricedAs, TariffFrom: q.From.String(), Holiday: q.Holiday, LostRule: q.LostRule,
		Continued: q.Continued, PreviousPaidFils: int64(q.PreviousPaid),
		VATPercent: money.Fils(q.VATRate).Decimal(), VATFils: int64(q.VAT), NetFils: int64(q.Net), VAT: q.VAT.Decimal(), Net: q.Net.Decimal(),
	}
	if q.Continued {
		se := q.SessionEntry.In(loc)
		d.SessionEntry = &se
	}
	for _, day := range q.Days {
		dj := dayJSON{Date: day.Date.String(), Count: day.Count, DayType: day.DayType, Holiday: day.Holiday,
			SumFils: int64(day.Sum), DailyMaxFils: int64(day.DailyMax), Capped: day.Capped, TotalFils: int64(day.Total)}
		for _, p := range day.Pieces {
			dj.Pieces = append(dj.Pieces, pieceJSON{Band: p.Band, Rule: p.Rule, Start: p.Start.In(loc), End: p.End.In(loc),
				Seconds: int64(p.End.Sub(p.Start) / time.Second), PriceFils: int64(p.Price), Increments: p.Increments,
				SlabSeconds: int64(p.Slab / time.Second), Capped: p.Capped, Covered: p.Covered, Partial: p.Partial})
		}
		d.Days = append(d.Days, dj)
	}
	return struct {
		feeJSON
		feeDetail
	}{base, d}
}

// printFeeVAT writes the VAT line of "exitlane fee" (nothing without VAT).
func printFeeVAT(w io.Writer, q ticket.Quote) {
	if q.VATRate > 0 {
		fmt.Fprintf(w, "vat    %s (%s), net %s\n", q.VAT, q.VATRate, q.Net)
	}
}

// printInForce writes which price list is in force at now and the next
// change, for "config check".
func printInForce(w io.Writer, c *config.Config, now time.Time) {
	t := &c.Tariff
	if len(t.Changes) == 0 {
		return
	}
	if _, from := t.InForce(now); from.IsZero() {
		fmt.Fprintln(w, "tariff in force now: the [tariff] prices (before the first change)")
	} else {
		fmt.Fprintf(w, "tariff in force now: the price list from %s\n", from)
	}
	if next, ok := t.NextChange(now); ok {
		days := int(next.At(c.Site.Location).Sub(now).Hours() / 24)
		fmt.Fprintf(w, "next change: %s (in %d day(s))\n", next, days)
	} else {
		fmt.Fprintln(w, "next change: none configured")
	}
}
