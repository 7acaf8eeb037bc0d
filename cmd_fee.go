package main

// "exitlane fee": price a stay with the configured tariff.

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/ticket"
)

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

func runFee(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
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
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	// Amounts and durations are checked as the config loader checks them:
	// never negative (a negative validation would lengthen the stay).
	var paid money.Fils
	if *paidS != "" {
		var err error
		if paid, err = money.ParseNonNegative(*paidS); err != nil {
			fmt.Fprintln(stderr, "exitlane fee: --paid:", err)
			return exitUsage
		}
	}
	var valTime time.Duration
	valIsTime := false
	if _, err := time.ParseDuration(*valS); err == nil { // written as a duration, not a code
		if valTime, err = config.ParseDuration(*valS); err != nil {
			fmt.Fprintln(stderr, "exitlane fee: --validation:", err)
			return exitUsage
		}
		valIsTime = true
	}
	if *paidAtS != "" && *paidS == "" {
		fmt.Fprintln(stderr, "exitlane fee: --paid-at needs --paid")
		return exitUsage
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
		if valIsTime {
			stay.Validation.Time = valTime
		} else if v, ok := c.Tariff.Validation(*valS); ok {
			stay.Validation = v.Validation
		} else {
			fmt.Fprintf(stderr, "exitlane fee: --validation %q is neither a duration nor a configured validation code\n", *valS)
			return exitUsage
		}
	}
	if *paidS != "" {
		stay.Paid = paid
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
