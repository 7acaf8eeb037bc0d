package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/ticket"
	qrcode "github.com/skip2/go-qrcode"
)

func init() {
	register(command{name: "fee", summary: "price a stay with the configured tariff", run: runFee})
	register(command{name: "ticket", summary: "issue or check ticket codes", run: runTicket})
	register(command{name: "config", summary: "check a config file", run: runConfig})
}

// feeJSON is the one object "exitlane fee --json" prints.
type feeJSON struct {
	FeeFils         int64     `json:"fee_fils"`
	DueFils         int64     `json:"due_fils"`
	PaidFils        int64     `json:"paid_fils"`
	Fee             string    `json:"fee"`
	Due             string    `json:"due"`
	Currency        string    `json:"currency"`
	Entry           time.Time `json:"entry"`
	Exit            time.Time `json:"exit"`
	StaySeconds     int64     `json:"stay_seconds"`
	BillableSeconds int64     `json:"billable_seconds"`
	Lost            bool      `json:"lost"`
	Free            string    `json:"free,omitempty"` // grace, exit_grace, validation
	Table           string    `json:"table,omitempty"`
	SlabSeconds     int64     `json:"slab_seconds,omitempty"` // the slab's "up to"
	Increments      int64     `json:"increments,omitempty"`
	FullBlocks      int64     `json:"full_blocks,omitempty"`
	ExtraDays       int64     `json:"extra_days,omitempty"`
	Capped          bool      `json:"capped,omitempty"`
	Validation      string    `json:"validation,omitempty"`
	Steps           []string  `json:"steps"`
}

// loadConfig loads --config for a command, printing the problems. code
// is the exit code to return when c is nil. sections, if any, are the only
// ones the command uses (config.Sections); none: all.
func loadConfig(path string, stderr io.Writer, sections ...string) (c *config.Config, code int) {
	if path == "" {
		fmt.Fprintln(stderr, "exitlane: --config FILE is required")
		return nil, exitUsage
	}
	var opts []config.Option
	if len(sections) > 0 {
		opts = append(opts, config.Sections(sections...))
	}
	c, err := config.Load(path, opts...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, exitFailure
	}
	return c, exitOK
}

// parseTime reads RFC 3339 or "2006-01-02 15:04" (and with seconds) in the
// site's zone.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: write RFC 3339 (2026-03-02T10:00:00+04:00) or \"2006-01-02 15:04\" in the site's zone", s)
}

func runFee(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("fee", stderr)
	cfgPath := fs.String("config", "", "config `file`")
	entryS := fs.String("entry", "", "entry `time` (RFC 3339 or \"2006-01-02 15:04\" in the site's zone)")
	exitS := fs.String("exit", "", "exit `time` (default: now)")
	lost := fs.Bool("lost", false, "price a lost ticket")
	valS := fs.String("validation", "", "validation: a `duration` taken off the stay (2h) or a configured validation code")
	paidS := fs.String("paid", "", "`amount` already paid (with --paid-at)")
	paidAtS := fs.String("paid-at", "", "`time` of the earlier payment")
	asJSON := fs.Bool("json", false, "print one JSON object")
	extra := feeFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: exitlane fee --config F --entry T [--exit T] [--lost] [--validation D] [--paid A --paid-at T] [--class C] [--previous-entry T --previous-exit T [--previous-paid A]] [--json]")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	c, code := loadConfig(*cfgPath, stderr, "tariff")
	if c == nil {
		return code
	}
	loc := c.Site.Location
	stay := ticket.Stay{Lost: *lost, Exit: time.Now()}
	var err error
	if *entryS == "" && !*lost {
		fmt.Fprintln(stderr, "exitlane fee: --entry is required (or --lost)")
		return exitUsage
	}
	if *entryS != "" {
		if stay.Entry, err = parseTime(*entryS, loc); err != nil {
			fmt.Fprintln(stderr, "exitlane fee: --entry:", err)
			return exitUsage
		}
	}
	if *exitS != "" {
		if stay.Exit, err = parseTime(*exitS, loc); err != nil {
			fmt.Fprintln(stderr, "exitlane fee: --exit:", err)
			return exitUsage
		}
	}
	if *lost && *entryS == "" {
		stay.Entry = stay.Exit
	}
	if !stay.Exit.After(stay.Entry) && !stay.Exit.Equal(stay.Entry) {
		fmt.Fprintln(stderr, "exitlane fee: --exit is before --entry")
		return exitUsage
	}
	if *valS != "" {
		if d, err := time.ParseDuration(*valS); err == nil {
			stay.Validation.Time = d
		} else if v, ok := c.Tariff.Validation(*valS); ok {
			stay.Validation = v.Validation
		} else {
			fmt.Fprintf(stderr, "exitlane fee: --validation %q is neither a duration nor a configured validation code\n", *valS)
			return exitUsage
		}
	}
	if *paidS != "" {
		if stay.Paid, err = money.Parse(*paidS); err != nil {
			fmt.Fprintln(stderr, "exitlane fee: --paid:", err)
			return exitUsage
		}
		if *paidAtS == "" {
			fmt.Fprintln(stderr, "exitlane fee: --paid needs --paid-at")
			return exitUsage
		}
		if stay.LastPaid, err = parseTime(*paidAtS, loc); err != nil {
			fmt.Fprintln(stderr, "exitlane fee: --paid-at:", err)
			return exitUsage
		}
	}
	if err := extra.apply(&stay, loc); err != nil {
		fmt.Fprintln(stderr, "exitlane fee:", err)
		return exitUsage
	}
	q, err := c.Tariff.Quote(stay)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane fee:", err)
		return exitFailure
	}
	if *asJSON {
		out := feeJSON{
			FeeFils: int64(q.Fee), DueFils: int64(q.Due), PaidFils: int64(q.Paid),
			Fee: q.Fee.Decimal(), Due: q.Due.Decimal(), Currency: "AED",
			Entry: stay.Entry.In(loc), Exit: stay.Exit.In(loc),
			StaySeconds: int64(q.Stay / time.Second), BillableSeconds: int64(q.Billable / time.Second),
			Lost: q.Lost, Free: string(q.Free), Table: q.Table, SlabSeconds: int64(q.Slab / time.Second),
			Increments: q.Increments, FullBlocks: q.FullBlocks, ExtraDays: q.ExtraDays, Capped: q.Capped,
			Validation: *valS, Steps: q.Steps,
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(feeOutput(out, q, loc)); err != nil {
			fmt.Fprintln(stderr, err)
			return exitFailure
		}
		return exitOK
	}
	if !*lost {
		fmt.Fprintf(stdout, "entry  %s\nexit   %s\n", stay.Entry.In(loc).Format("Mon 2006-01-02 15:04:05 MST"), stay.Exit.In(loc).Format("Mon 2006-01-02 15:04:05 MST"))
	}
	for _, s := range q.Steps {
		fmt.Fprintln(stdout, "  "+s)
	}
	fmt.Fprintf(stdout, "fee    %s\n", q.Fee)
	if q.Paid > 0 {
		fmt.Fprintf(stdout, "paid   %s\n", q.Paid)
	}
	fmt.Fprintf(stdout, "due    %s\n", q.Due)
	printFeeVAT(stdout, q)
	if q.Free != "" {
		fmt.Fprintf(stdout, "free   %s\n", q.Free)
	}
	return exitOK
}

func runTicket(args []string, stdout, stderr io.Writer) int {
	return subcommands("ticket", map[string]command{
		"issue": {name: "issue", summary: "print a signed ticket code (and a printable PNG)", run: runTicketIssue},
		"check": {name: "check", summary: "check a ticket code and price it now", run: runTicketCheck},
	}, args, stdout, stderr)
}

// checker builds the configured ticket checker.
func checker(c *config.Config) (ticket.Checker, error) {
	if c.Ticket.Format == "pattern" {
		return ticket.NewPattern(c.Ticket.Pattern, c.Ticket.TimeLayout, c.Site.Location, c.Ticket.ClockTolerance)
	}
	return ticket.NewSigned(c.Site.ID, c.Ticket.Key, c.Ticket.ClockTolerance)
}

func runTicketIssue(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ticket issue", stderr)
	cfgPath := fs.String("config", "", "config `file`")
	entryS := fs.String("entry", "", "entry `time` (default: now)")
	serial := fs.Uint64("serial", 0, "ticket `number` (default: from the clock)")
	lane := fs.String("lane", "E1", "entry `lane` code")
	png := fs.String("png", "", "also write a printable ticket to this PNG `file`")
	class := fs.String("class", "", "vehicle `class` carried in the code (an EL2 code; default: none, an EL1 code)")
	if code, done := parseFlags(fs, args); done {
		return code
	}
	c, code := loadConfig(*cfgPath, stderr, "ticket", "tariff")
	if c == nil {
		return code
	}
	if c.Ticket.Format != "signed" {
		fmt.Fprintln(stderr, "exitlane ticket issue: only signed tickets can be issued (ticket.format is \"pattern\")")
		return exitFailure
	}
	entry := time.Now()
	if *entryS != "" {
		var err error
		if entry, err = parseTime(*entryS, c.Site.Location); err != nil {
			fmt.Fprintln(stderr, "exitlane ticket issue: --entry:", err)
			return exitUsage
		}
	}
	if *serial == 0 {
		*serial = uint64(time.Now().UnixNano()/1e6) % 1_000_000_000_000
	}
	s, err := ticket.NewSigned(c.Site.ID, c.Ticket.Key, c.Ticket.ClockTolerance)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane ticket issue:", err)
		return exitFailure
	}
	tcode, err := s.IssueClass(*lane, *serial, entry, *class)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane ticket issue:", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, tcode)
	if *png != "" {
		if err := writeTicketPNG(*png, tcode, c.Site.Name, entry.In(c.Site.Location), *serial); err != nil {
			fmt.Fprintln(stderr, "exitlane ticket issue:", err)
			return exitFailure
		}
	}
	return exitOK
}

func runTicketCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ticket check", stderr)
	cfgPath := fs.String("config", "", "config `file`")
	nowS := fs.String("now", "", "check as of this `time` (default: now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: exitlane ticket check --config F CODE")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	c, code := loadConfig(*cfgPath, stderr, "ticket", "tariff")
	if c == nil {
		return code
	}
	now := time.Now()
	if *nowS != "" {
		var err error
		if now, err = parseTime(*nowS, c.Site.Location); err != nil {
			fmt.Fprintln(stderr, "exitlane ticket check: --now:", err)
			return exitUsage
		}
	}
	chk, err := checker(c)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane ticket check:", err)
		return exitFailure
	}
	t, err := chk.Check(strings.TrimSpace(fs.Arg(0)), now)
	verdict := "valid"
	switch {
	case errors.Is(err, ticket.ErrForged):
		verdict = "FORGED"
	case errors.Is(err, ticket.ErrMalformed):
		verdict = "MALFORMED"
	case errors.Is(err, ticket.ErrOtherSite):
		verdict = "OTHER SITE"
	case errors.Is(err, ticket.ErrFutureEntry):
		verdict = "ENTRY IN THE FUTURE"
	case err != nil:
		verdict = "INVALID"
	}
	fmt.Fprintf(stdout, "%s\n", verdict)
	if err != nil {
		fmt.Fprintf(stdout, "  %v\n", err)
		return exitFailure
	}
	loc := c.Site.Location
	if t.Signed {
		fmt.Fprintf(stdout, "  site %s, entry lane %s, serial %s (signed)\n", t.Site, t.Lane, t.Serial)
	} else {
		fmt.Fprintf(stdout, "  serial %s (unsigned: the entry time cannot be authenticated)\n", t.Serial)
	}
	if t.Class != "" {
		fmt.Fprintf(stdout, "  class %s\n", t.Class)
	}
	q, err := c.Tariff.Quote(ticket.Stay{Entry: t.Entry, Exit: now, Class: t.Class})
	if err != nil {
		fmt.Fprintln(stdout, "  owed now: cannot be computed:", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "  entry %s\n  now   %s\n", t.Entry.In(loc).Format("Mon 2006-01-02 15:04:05 MST"), now.In(loc).Format("Mon 2006-01-02 15:04:05 MST"))
	for _, s := range q.Steps {
		fmt.Fprintln(stdout, "  "+s)
	}
	fmt.Fprintf(stdout, "  owed now: %s\n", q.Due)
	return exitOK
}

func runConfig(args []string, stdout, stderr io.Writer) int {
	return subcommands("config", map[string]command{
		"check": {name: "check", summary: "load and validate a config file", run: func(args []string, stdout, stderr io.Writer) int {
			fs := newFlags("config check", stderr)
			fs.Usage = func() { fmt.Fprintln(stderr, "usage: exitlane config check FILE") }
			if code, done := parseFlags(fs, args); done {
				return code
			}
			if fs.NArg() != 1 {
				fs.Usage()
				return exitUsage
			}
			c, err := config.Load(fs.Arg(0))
			if err != nil {
				fmt.Fprintln(stderr, err)
				return exitFailure
			}
			fmt.Fprintf(stdout, "%s: ok (site %s lane %s, %d tariff table(s), %d attendant(s))\n",
				c.Path, c.Site.ID, c.Site.Lane, len(c.Tariff.Tables), len(c.Admin.Attendants))
			printInForce(stdout, c, time.Now())
			return exitOK
		}},
	}, args, stdout, stderr)
}

// writeTicketPNG draws a printable ticket: the site, the code as a QR, the
// entry time and serial in words, and the code in text.
func writeTicketPNG(path, code, site string, entry time.Time, serial uint64) error {
	q, err := qrcode.New(code, qrcode.Medium)
	if err != nil {
		return err
	}
	img := ticketImage(q.Image(-8), []string{
		site,
		"Entry " + entry.Format("Mon 02 Jan 2006 15:04"),
		"Ticket " + strconv.FormatUint(serial, 10),
		code,
	})
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := encodePNG(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
