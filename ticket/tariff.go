package ticket

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
)

// Block is the length of one tariff block: caps, restarts and extra days
// count in 24 h blocks from entry, not calendar days.
const Block = 24 * time.Hour

// ErrFeeOverflow is a fee too large to compute in fils. A tariff that
// passed Validate never yields it; Quote returns it rather than a wrapped
// (negative or wrong) number for a tariff that did not.
var ErrFeeOverflow = errors.New("fee too large to compute")

// Tariff prices a stay. It is data, written in the [tariff] section of the
// config file; README.md documents every rule.
//
// The price of a stay is computed in constant time from the number of
// whole blocks, never by walking minutes.
type Tariff struct {
	// Grace: billable stays up to and including Grace are free; once
	// exceeded the whole stay is charged from minute 0.
	Grace time.Duration `toml:"grace"`
	// ExitGrace: a driver who paid at T leaves free until T+ExitGrace
	// (inclusive); later, the fee owed is fee(entry..now) minus what was
	// paid.
	ExitGrace time.Duration `toml:"exit_grace"`
	// LostFee is the flat price of a lost ticket.
	LostFee money.Fils `toml:"lost_fee"`
	// Tables are the day types; each weekday (of the entry, in the site's
	// zone) belongs to exactly one table. One table with no days covers
	// the whole week.
	Tables []Table `toml:"tables"`
	// Validations are the named discounts a lane accepts (a validation
	// barcode or an attendant's choice).
	Validations []NamedValidation `toml:"validations"`

	// Location is the site's zone, set by the config loader; nil is UTC.
	Location *time.Location `toml:"-"`
}

// Table is the price schedule of one day type: either Slabs, or the
// increment engine (FirstPeriod, FirstPrice, Increment, IncrementPrice,
// optional Free and Cap).
type Table struct {
	Name string   `toml:"name"`
	Days []string `toml:"days"` // "mon" ... "sun"

	// Slabs: the price of a stay up to and including UpTo. The last slab
	// must reach 24h; longer stays follow After24h.
	Slabs []Slab `toml:"slabs"`

	// Free is a period at the start of each block that is not charged;
	// the first period starts after it.
	Free           time.Duration `toml:"free"`
	FirstPeriod    time.Duration `toml:"first_period"`
	FirstPrice     money.Fils    `toml:"first_price"`
	Increment      time.Duration `toml:"increment"`
	IncrementPrice money.Fils    `toml:"increment_price"`
	// Cap is the most one 24 h block costs; 0 means no cap.
	Cap money.Fils `toml:"cap"`

	// After24h is "restart" (default: each further 24 h block from entry
	// is priced by the schedule again, full blocks at the 24 h price) or
	// "per_day" (the 24 h price, plus ExtraDay for each further started
	// 24 h block).
	After24h string     `toml:"after_24h"`
	ExtraDay money.Fils `toml:"extra_day"`
}

// Slab is one row of a slab table.
type Slab struct {
	UpTo  time.Duration `toml:"up_to"`
	Price money.Fils    `toml:"price"`
}

// Validation is a discount applied at exit: Time is taken off the stay
// before pricing; then Amount is taken off the fee, or Percent of it.
type Validation struct {
	Time    time.Duration `toml:"time"`
	Amount  money.Fils    `toml:"amount"`
	Percent int           `toml:"percent"`
}

// IsZero reports whether v discounts nothing.
func (v Validation) IsZero() bool { return v == Validation{} }

// NamedValidation is a validation a lane accepts by code.
type NamedValidation struct {
	Code string `toml:"code"`
	Name string `toml:"name"`
	Validation
}

// Stay is what Quote prices.
type Stay struct {
	Entry, Exit time.Time
	Lost        bool
	Validation  Validation
	// Paid is what this ticket has paid before; LastPaid is when.
	Paid     money.Fils
	LastPaid time.Time
}

// FreeReason says why a quote is free.
type FreeReason string

const (
	NotFree        FreeReason = ""
	FreeGrace      FreeReason = "grace"
	FreeExitGrace  FreeReason = "exit_grace"
	FreeValidation FreeReason = "validation"
)

// Quote is a priced stay and how it was reached.
type Quote struct {
	// Due is what is owed now: 0 within the exit grace after a payment,
	// otherwise Fee minus Paid, never negative.
	Due money.Fils
	// Fee is the price of the whole stay after validations.
	Fee  money.Fils
	Paid money.Fils
	// Stay is the time from entry to exit in whole seconds; Billable is
	// Stay less any validation time.
	Stay     time.Duration
	Billable time.Duration
	Lost     bool
	// Free says why nothing is owed (NotFree: something is).
	Free  FreeReason
	Table string
	// Slab is the slab that priced the last (partial) block, if any.
	Slab time.Duration
	// Increments counts the started increments charged in all blocks.
	Increments int64
	// FullBlocks is the number of whole 24 h blocks before the last one;
	// ExtraDays the started days charged at ExtraDay.
	FullBlocks int64
	ExtraDays  int64
	Capped     bool
	// Steps explain the price in words, one line each.
	Steps []string
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// Validate reports every problem of the tariff, each naming its key under
// prefix (for example "tariff").
func (t *Tariff) Validate(prefix string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if err := inBlock(t.Grace); err != nil {
		bad("grace", "%v", err)
	}
	if err := inBlock(t.ExitGrace); err != nil {
		bad("exit_grace", "%v", err)
	}
	if err := t.LostFee.CheckRange(); err != nil {
		bad("lost_fee", "%v", err)
	}
	if len(t.Tables) == 0 {
		bad("tables", "at least one table is needed ([[tariff.tables]])")
	}
	seen := map[time.Weekday]string{}
	for i, tb := range t.Tables {
		key := fmt.Sprintf("tables[%d]", i)
		if tb.Name != "" {
			key = fmt.Sprintf("tables[%d] (%s)", i, tb.Name)
		}
		if len(tb.Days) == 0 && len(t.Tables) > 1 {
			bad(key+".days", "name the days of this table; with several tables each needs days")
		}
		for _, d := range tb.Days {
			wd, ok := weekdays[strings.ToLower(d)]
			if !ok {
				bad(key+".days", "%q is not a day (mon, tue, wed, thu, fri, sat, sun)", d)
				continue
			}
			if other, dup := seen[wd]; dup {
				bad(key+".days", "%s is already in table %s", d, other)
			}
			seen[wd] = tb.Name
		}
		errs = append(errs, tb.validate(prefix+"."+key)...)
	}
	if len(t.Tables) > 1 && len(seen) != 7 && len(seen) > 0 {
		var missing []string
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			if _, ok := seen[weekdays[d]]; !ok {
				missing = append(missing, d)
			}
		}
		bad("tables", "no table for %s", strings.Join(missing, ", "))
	}
	codes := map[string]bool{}
	for i, v := range t.Validations {
		key := fmt.Sprintf("validations[%d]", i)
		if v.Code == "" {
			bad(key+".code", "is empty")
		} else if codes[v.Code] {
			bad(key+".code", "%q is used twice", v.Code)
		}
		codes[v.Code] = true
		errs = append(errs, v.Validation.validate(prefix+"."+key)...)
	}
	return errs
}

func (v Validation) validate(prefix string) []error {
	var errs []error
	if v.Time < 0 {
		errs = append(errs, fmt.Errorf("%s.time: must not be negative", prefix))
	}
	if err := v.Amount.CheckRange(); err != nil {
		errs = append(errs, fmt.Errorf("%s.amount: %v", prefix, err))
	}
	if v.Percent < 0 || v.Percent > 100 {
		errs = append(errs, fmt.Errorf("%s.percent: %d is not 0-100", prefix, v.Percent))
	}
	if v.Amount > 0 && v.Percent > 0 {
		errs = append(errs, fmt.Errorf("%s: give amount or percent, not both", prefix))
	}
	return errs
}

func (tb *Table) validate(prefix string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	// Every amount is between 0 and money.Max: with that bound (and the
	// durations below at most 24h, increments whole seconds) the fee of
	// the longest stay a time.Duration holds fits an int64 with room to
	// spare, so Quote never fails for a validated tariff.
	amount := func(key string, f money.Fils) {
		if err := f.CheckRange(); err != nil {
			bad(key, "%v", err)
		}
	}
	amount("first_price", tb.FirstPrice)
	amount("increment_price", tb.IncrementPrice)
	amount("cap", tb.Cap)
	amount("extra_day", tb.ExtraDay)
	for i, s := range tb.Slabs {
		amount(fmt.Sprintf("slabs[%d].price", i), s.Price)
	}
	increments := tb.FirstPeriod != 0 || tb.FirstPrice != 0 || tb.Increment != 0 || tb.IncrementPrice != 0 || tb.Free != 0
	switch {
	case len(tb.Slabs) > 0 && increments:
		bad("slabs", "a table has slabs or first_period/increment, not both")
	case len(tb.Slabs) > 0:
		var last Slab
		for i, s := range tb.Slabs {
			k := fmt.Sprintf("slabs[%d]", i)
			if s.UpTo <= last.UpTo {
				bad(k+".up_to", "%s must be longer than the slab before (%s)", s.UpTo, last.UpTo)
			}
			if s.UpTo%time.Second != 0 {
				bad(k+".up_to", "%s is not whole seconds", s.UpTo)
			}
			if s.Price < last.Price && s.Price >= 0 {
				bad(k+".price", "%s is less than the slab before (%s); a longer stay never costs less", s.Price, last.Price)
			}
			last = s
		}
		if last.UpTo != Block {
			bad("slabs", "the last slab must be up_to = \"24h\" (it is %s); longer stays follow after_24h", last.UpTo)
		}
	default:
		if tb.FirstPeriod <= 0 {
			bad("first_period", "must be positive (or give slabs)")
		} else if err := inBlock(tb.FirstPeriod); err != nil {
			bad("first_period", "%v", err)
		}
		if err := inBlock(tb.Free); err != nil {
			bad("free", "%v", err)
		}
		switch err := inBlock(tb.Increment); {
		case err != nil:
			bad("increment", "%v", err)
		case tb.Increment == 0 && tb.Free+tb.FirstPeriod < Block:
			bad("increment", "must be positive")
		case tb.Increment%time.Second != 0:
			bad("increment", "%s is not whole seconds", tb.Increment)
		}
	}
	switch tb.After24h {
	case "", "restart":
		if tb.ExtraDay != 0 {
			bad("extra_day", "is only used with after_24h = \"per_day\"")
		}
	case "per_day":
		if tb.ExtraDay <= 0 {
			bad("extra_day", "after_24h = \"per_day\" needs the price of each additional day")
		}
	default:
		bad("after_24h", "%q is not \"restart\" or \"per_day\"", tb.After24h)
	}
	return errs
}

// inBlock checks a tariff duration: not negative, at most one 24 h block
// (a longer grace, free or first period would never end within a block).
func inBlock(d time.Duration) error {
	switch {
	case d < 0:
		return errors.New("must not be negative")
	case d > Block:
		return fmt.Errorf("%s is longer than 24h (one tariff block)", fmtDur(d))
	}
	return nil
}

// Table returns the table for a stay that entered at entry.
func (t *Tariff) table(entry time.Time) *Table {
	loc := t.Location
	if loc == nil {
		loc = time.UTC
	}
	wd := entry.In(loc).Weekday()
	for i := range t.Tables {
		tb := &t.Tables[i]
		if len(tb.Days) == 0 {
			return tb
		}
		for _, d := range tb.Days {
			if weekdays[strings.ToLower(d)] == wd {
				return tb
			}
		}
	}
	return &t.Tables[0] // unreachable for a validated tariff
}

// Validation returns the named validation with code.
func (t *Tariff) Validation(code string) (NamedValidation, bool) {
	for _, v := range t.Validations {
		if v.Code == code {
			return v, true
		}
	}
	return NamedValidation{}, false
}

// Quote prices a stay. The tariff must have passed Validate, and then
// Quote never fails; the error, wrapping ErrFeeOverflow, is for a tariff
// whose amounts are too large to add up in fils: a fee that cannot be
// computed is an error, never a wrapped number.
func (t *Tariff) Quote(s Stay) (Quote, error) {
	q := Quote{Paid: s.Paid, Lost: s.Lost}
	if d := s.Exit.Sub(s.Entry); d > 0 {
		q.Stay = d.Truncate(time.Second)
	}
	step := func(format string, args ...any) { q.Steps = append(q.Steps, fmt.Sprintf(format, args...)) }

	if s.Lost {
		q.Fee = t.LostFee
		step("lost ticket: flat %s", t.LostFee)
	} else if err := t.price(&q, s, step); err != nil {
		return Quote{}, fmt.Errorf("quote: %w", err)
	}
	if q.Fee < 0 {
		// Only an unvalidated tariff (a negative price) gets here.
		return Quote{}, fmt.Errorf("quote: fee %s is negative: the tariff is not valid", q.Fee)
	}

	if s.Paid > 0 {
		if !s.LastPaid.IsZero() && !s.Exit.After(s.LastPaid.Add(t.ExitGrace)) {
			q.Due = 0
			q.Free = FreeExitGrace
			step("paid %s at %s; exit grace %s runs to %s: nothing owed",
				s.Paid, s.LastPaid.UTC().Format(time.RFC3339), t.ExitGrace, s.LastPaid.Add(t.ExitGrace).UTC().Format(time.RFC3339))
			return q, nil
		}
		q.Due = max(q.Fee-s.Paid, 0) // both >= 0: cannot overflow
		step("already paid %s: %s owed", s.Paid, q.Due)
		return q, nil
	}
	q.Due = q.Fee
	return q, nil
}

func (t *Tariff) price(q *Quote, s Stay, step func(string, ...any)) error {
	tb := t.table(s.Entry)
	q.Table = tb.Name
	q.Billable = max(q.Stay-s.Validation.Time, 0)
	step("stay %s (%s table, entry %s)", fmtDur(q.Stay), orDefault(tb.Name, "the"), s.Entry.In(t.loc()).Format("Mon 2006-01-02 15:04"))
	if s.Validation.Time > 0 {
		step("validation takes off %s: %s billable", fmtDur(s.Validation.Time), fmtDur(q.Billable))
	}
	if q.Billable <= t.Grace {
		q.Free = FreeGrace
		if s.Validation.Time > 0 && q.Stay > t.Grace {
			q.Free = FreeValidation
		}
		step("grace: stays up to %s are free", fmtDur(t.Grace))
		return nil
	}
	fee, err := tb.fee(q, step)
	if err != nil {
		return err
	}
	q.Fee = fee
	if q.Fee == 0 {
		q.Free = FreeGrace
		if s.Validation.Time > 0 {
			q.Free = FreeValidation
		}
	}
	v := s.Validation
	switch {
	case v.Amount > 0 && q.Fee > 0:
		q.Fee = max(q.Fee-v.Amount, 0)
		step("validation takes off %s: %s", v.Amount, q.Fee)
	case v.Percent > 0 && v.Percent <= 100 && q.Fee > 0:
		// Rounded in the driver's favour: the discounted fee is floored.
		// Whole dirhams and the fils rest are scaled apart, so no fee
		// overflows on the way: floor(f*k/100) = f/100*k + f%100*k/100.
		k := money.Fils(100 - v.Percent)
		q.Fee = q.Fee/100*k + q.Fee%100*k/100
		step("validation takes off %d%%: %s", v.Percent, q.Fee)
	default:
		return nil
	}
	if q.Fee == 0 {
		q.Free = FreeValidation
	}
	return nil
}

func (t *Tariff) loc() *time.Location {
	if t.Location == nil {
		return time.UTC
	}
	return t.Location
}

// overflow is the error of a sum or product that does not fit in fils.
func overflow(what string) error {
	return fmt.Errorf("%w: %s", ErrFeeOverflow, what)
}

// fee prices a billable stay d > 0 with this table.
func (tb *Table) fee(q *Quote, step func(string, ...any)) (money.Fils, error) {
	d := q.Billable
	if d <= Block {
		return tb.block(q, d, step)
	}
	full, err := tb.block(&Quote{}, Block, func(string, ...any) {})
	if err != nil {
		return 0, err
	}
	if tb.After24h == "per_day" {
		q.ExtraDays = int64((d - Block + Block - time.Second) / Block)
		q.FullBlocks = 1
		step("first 24 h: %s", full)
		step("%d more started day(s) at %s", q.ExtraDays, tb.ExtraDay)
		extra, ok := money.Mul(tb.ExtraDay, q.ExtraDays)
		if !ok {
			return 0, overflow(fmt.Sprintf("%d extra days at %s", q.ExtraDays, tb.ExtraDay))
		}
		total, ok := money.Add(full, extra)
		if !ok {
			return 0, overflow(fmt.Sprintf("%s plus %s", full, extra))
		}
		return total, nil
	}
	// restart: whole blocks at the 24 h price, then the last (partial or
	// whole) block from the start of the schedule. Slab ends are
	// inclusive, so exactly 48h is one full block plus a 24h block.
	k := int64((d - time.Second) / Block)
	rest := d - time.Duration(k)*Block
	q.FullBlocks = k
	step("%d full 24 h block(s) at %s", k, full)
	step("then %s from the start of the schedule", fmtDur(rest))
	if tb.Increment > 0 && (tb.Cap == 0 || tb.uncappedOrMax(Block) <= tb.Cap) {
		q.Increments += k * tb.increments(Block) // at most 106,751 × 86,400
	}
	blocks, ok := money.Mul(full, k)
	if !ok {
		return 0, overflow(fmt.Sprintf("%d blocks at %s", k, full))
	}
	last, err := tb.block(q, rest, step)
	if err != nil {
		return 0, err
	}
	total, ok := money.Add(blocks, last)
	if !ok {
		return 0, overflow(fmt.Sprintf("%s plus %s", blocks, last))
	}
	return total, nil
}

// increments counts the started increments a block of d charges.
func (tb *Table) increments(d time.Duration) int64 {
	d -= tb.Free + tb.FirstPeriod
	if d <= 0 || tb.Increment <= 0 {
		return 0
	}
	return int64((d + tb.Increment - 1) / tb.Increment)
}

// uncapped is the price of a block of d before the cap.
func (tb *Table) uncapped(d time.Duration) (money.Fils, error) {
	if d <= tb.Free {
		return 0, nil
	}
	n := tb.increments(d)
	inc, ok := money.Mul(tb.IncrementPrice, n)
	if !ok {
		return 0, overflow(fmt.Sprintf("%d increments at %s", n, tb.IncrementPrice))
	}
	f, ok := money.Add(tb.FirstPrice, inc)
	if !ok {
		return 0, overflow(fmt.Sprintf("%s plus %s", tb.FirstPrice, inc))
	}
	return f, nil
}

// uncappedOrMax is uncapped for a comparison with the cap: a block too
// expensive to compute is above any cap.
func (tb *Table) uncappedOrMax(d time.Duration) money.Fils {
	f, err := tb.uncapped(d)
	if err != nil {
		return money.Fils(math.MaxInt64)
	}
	return f
}

// block prices 0 < d <= 24h within one block.
func (tb *Table) block(q *Quote, d time.Duration, step func(string, ...any)) (money.Fils, error) {
	var f money.Fils
	if len(tb.Slabs) > 0 {
		for _, s := range tb.Slabs {
			if d <= s.UpTo {
				q.Slab = s.UpTo
				step("slab up to %s: %s", fmtDur(s.UpTo), s.Price)
				f = s.Price
				break
			}
		}
	} else {
		switch {
		case d <= tb.Free:
			step("free period %s", fmtDur(tb.Free))
			return 0, nil
		default:
			n := tb.increments(d)
			var err error
			if f, err = tb.uncapped(d); err != nil {
				if tb.Cap <= 0 {
					return 0, err
				}
				f = money.Fils(math.MaxInt64) // more than any cap: capped below
			}
			q.Increments += n
			if n > 0 {
				step("first %s %s, then %d started %s at %s", fmtDur(tb.FirstPeriod), tb.FirstPrice, n, fmtDur(tb.Increment), tb.IncrementPrice)
			} else {
				step("first %s: %s", fmtDur(tb.FirstPeriod), tb.FirstPrice)
			}
		}
	}
	if tb.Cap > 0 && f > tb.Cap {
		f = tb.Cap
		q.Capped = true
		step("capped at %s per 24 h block", tb.Cap)
	}
	return f, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// fmtDur writes a duration as people read it: "4h", "6h10m", "26h30m5s".
func fmtDur(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	s := d.Truncate(time.Second).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
