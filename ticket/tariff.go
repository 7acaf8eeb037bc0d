package ticket

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
)

// Block is the length of one tariff block: in the default day counting
// (Day "block") caps, restarts and extra days count in 24 h blocks from
// entry, not calendar days.
const Block = 24 * time.Hour

// MaxSlab is the longest slab a table may write: a year of 366 days, so
// weekly and monthly rates fit.
const MaxSlab = 366 * Block

// MaxBands is the most bands one table may have, MaxSlabs the most slabs.
const (
	MaxBands = 48
	MaxSlabs = 1000
)

// DefaultClass is the vehicle class of a stay that names none.
const DefaultClass = "car"

// ErrFeeOverflow is a fee too large to compute in fils. A tariff that
// passed Validate never yields it; Quote returns it rather than a wrapped
// (negative or wrong) number for a tariff that did not.
var ErrFeeOverflow = errors.New("fee too large to compute")

// Day counting (Tariff.Day).
const (
	DayBlock    = "block"    // 24 h blocks from entry; the entry's day type prices the stay (the default)
	DayCalendar = "calendar" // calendar days in the site's zone, each priced by its own day type and bands
)

// Lost-ticket rules (Tariff.Lost).
const (
	LostFlat = "flat" // lost_fee (the default)
	LostDay  = "day"  // the higher of lost_fee and the price of a 24 h stay ending at exit
	LostStay = "stay" // the higher of lost_fee and the fee of the stay, when the entry is known another way
)

// Band rules (Band.Rule).
const (
	RuleFree       = "free"
	RuleFlat       = "flat"
	RuleIncrements = "increments"
	RuleSlabs      = "slabs"
)

// Band crossing (Tariff.BandCrossing).
const (
	CrossCarry = "carry" // a started increment is charged in the band where it starts and covers the time it reaches into the next (the default)
	CrossSplit = "split" // each band prices only its own time; an increment is cut at the band's end
)

// Tariff prices a stay. It is data, written in the [tariff] section of the
// config file; README.md documents every rule.
//
// The fields up to Tables are the prices in force before the first of
// Changes (the same keys as a Schedule); the others hold for every
// change. The price of a stay is computed from the number of 24 h blocks
// or calendar days it spans, never by walking minutes.
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
	// Lost is how a lost ticket is priced: LostFlat (""), LostDay or
	// LostStay.
	Lost string `toml:"lost"`
	// Day is DayBlock ("") or DayCalendar.
	Day string `toml:"day"`
	// FreeFirst (calendar days only): the first FreeFirst after entry is
	// never charged; pricing starts that much after entry.
	FreeFirst time.Duration `toml:"free_first"`
	// BandCrossing (calendar days only): CrossCarry ("") or CrossSplit.
	BandCrossing string `toml:"band_crossing"`
	// Tables are the day types; each weekday (in the site's zone) belongs
	// to exactly one table per vehicle class. One table with no days
	// covers the whole week.
	Tables []Table `toml:"tables"`
	// Validations are the named discounts a lane accepts (a validation
	// barcode or an attendant's choice).
	Validations []NamedValidation `toml:"validations"`

	// Holidays are dates priced by a named day type instead of their
	// weekday's table, under every schedule.
	Holidays []Holiday `toml:"holidays"`
	// Changes are later price lists, each in force from its date (at
	// midnight in the site's zone); the one in force at the entry prices
	// the whole stay.
	Changes []Change `toml:"changes"`
	// VATPercent is the VAT rate included in every price (0: none shown).
	VATPercent Percent `toml:"vat_percent"`
	// Reentry: a vehicle entering again within Reentry of its previous
	// exit continues that stay (see Stay.Previous); 0: never.
	Reentry time.Duration `toml:"reentry"`

	// Location is the site's zone, set by the config loader; nil is UTC.
	Location *time.Location `toml:"-"`
}

// Schedule is one price list: the keys of Tariff that a Change replaces.
type Schedule struct {
	Grace        time.Duration `toml:"grace"`
	LostFee      money.Fils    `toml:"lost_fee"`
	Lost         string        `toml:"lost"`
	Day          string        `toml:"day"`
	FreeFirst    time.Duration `toml:"free_first"`
	BandCrossing string        `toml:"band_crossing"`
	Tables       []Table       `toml:"tables"`
}

// Change is a price list in force from a date.
type Change struct {
	From Date `toml:"from"`
	Schedule
}

// Table is the price schedule of one day type (and one vehicle class):
// either Slabs, or the increment engine (FirstPeriod, FirstPrice,
// Increment, IncrementPrice, optional Free and Cap), or, with calendar
// days, Bands.
type Table struct {
	Name string   `toml:"name"`
	Days []string `toml:"days"` // "mon" ... "sun"
	// Class is the vehicle class this table prices; "" is DefaultClass.
	Class string `toml:"class"`

	// Slabs: the price of a stay up to and including UpTo. The last slab
	// reaches at least 24h (longer stays follow After24h) or is open
	// ("over").
	Slabs []Slab `toml:"slabs"`

	// Free is a period at the start of each block that is not charged;
	// the first period starts after it.
	Free           time.Duration `toml:"free"`
	FirstPeriod    time.Duration `toml:"first_period"`
	FirstPrice     money.Fils    `toml:"first_price"`
	Increment      time.Duration `toml:"increment"`
	IncrementPrice money.Fils    `toml:"increment_price"`
	// Cap is the most one block costs (a calendar day's piece, with
	// calendar days); 0 means no cap.
	Cap money.Fils `toml:"cap"`

	// After24h is "restart" (default: each further block from entry is
	// priced by the schedule again, full blocks at the full price) or
	// "per_day" (the full price, plus ExtraDay for each further started
	// 24 h). A block is 24 h, or the last slab's length when it is longer.
	After24h string     `toml:"after_24h"`
	ExtraDay money.Fils `toml:"extra_day"`

	// Bands (calendar days only) split the day at clock times, each with
	// its own rule. Without bands, the table's own prices make one band
	// from midnight.
	Bands []Band `toml:"bands"`
	// DailyMax (calendar days only) is the most one day of this type
	// costs: the sum of the bands that start on that day; 0: no maximum.
	DailyMax money.Fils `toml:"daily_max"`
}

// Band is a piece of a day from From until the next band starts (the last
// one runs until the next day's first band), priced by Rule.
type Band struct {
	From Clock  `toml:"from"`
	Name string `toml:"name"`
	// Rule is RuleFree, RuleFlat (Price for any time in the band, or with
	// Whole only for a stay that covers the whole band), RuleIncrements
	// (Free, FirstPeriod, FirstPrice, Increment, IncrementPrice) or
	// RuleSlabs (Slabs over the time in the band).
	Rule  string     `toml:"rule"`
	Price money.Fils `toml:"price"`
	Whole bool       `toml:"whole"`

	Free           time.Duration `toml:"free"`
	FirstPeriod    time.Duration `toml:"first_period"`
	FirstPrice     money.Fils    `toml:"first_price"`
	Increment      time.Duration `toml:"increment"`
	IncrementPrice money.Fils    `toml:"increment_price"`
	Slabs          []Slab        `toml:"slabs"`
	// Cap is the most one occurrence of the band costs; 0: no cap.
	Cap money.Fils `toml:"cap"`
}

// Slab is one row of a slab table: the price of a stay up to and
// including UpTo; or, with Every, a section from the slab before up to
// UpTo that adds Price per started Every; or, with Over (the last row
// only), the price of every stay longer than Over.
type Slab struct {
	UpTo  time.Duration `toml:"up_to"`
	Over  time.Duration `toml:"over"`
	Every time.Duration `toml:"every"`
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
	// Class is the vehicle class (from the ticket, the pattern's class
	// group or the attendant); "" is DefaultClass.
	Class string
	// Previous is the same vehicle's (or ticket's) previous visit, when
	// the lane knows it; a re-entry within Tariff.Reentry of its exit
	// continues it.
	Previous *Visit
}

// Visit is a finished earlier visit: its entry, its exit and what it paid.
type Visit struct {
	Entry, Exit time.Time
	Paid        money.Fils
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
	// otherwise Fee minus Paid (and PreviousPaid), never negative.
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
	// FullBlocks is the number of whole blocks before the last one;
	// ExtraDays the started days charged at ExtraDay.
	FullBlocks int64
	ExtraDays  int64
	Capped     bool
	// Steps explain the price in words, one line each.
	Steps []string

	// Class is the vehicle class asked for; PricedAs the class whose
	// tables priced the stay (DefaultClass when Class has none).
	Class    string
	PricedAs string
	// From is the date the price list that priced the stay is in force
	// from; zero for the tariff's first list.
	From Date
	// Holiday names the entry day's holiday, if any.
	Holiday string
	// Days is a calendar-day stay day by day; consecutive days priced
	// alike are one entry.
	Days []DayPrice
	// LostRule is the rule that priced a lost ticket.
	LostRule string
	// Continued: a re-entry within the tariff's window continues the stay
	// that entered at SessionEntry; PreviousPaid is what that visit paid,
	// taken off the fee.
	Continued    bool
	SessionEntry time.Time
	PreviousPaid money.Fils
	// VATRate is the VAT included in the prices; VAT is the VAT part of
	// Due and Net is Due less VAT.
	VATRate Percent
	VAT     money.Fils
	Net     money.Fils
}

// DayPrice is one calendar day of a stay, or several consecutive days
// priced alike (Count of them, each at Total).
type DayPrice struct {
	Date    Date
	Count   int
	DayType string
	Holiday string
	Pieces  []Piece
	// Sum is one day's pieces; Total is one day's price: Sum, or DailyMax
	// when Capped.
	Sum      money.Fils
	DailyMax money.Fils
	Capped   bool
	Total    money.Fils
}

// Piece is the part of a stay in one band on one day.
type Piece struct {
	Band       string
	Rule       string
	Start, End time.Time
	Price      money.Fils
	Increments int64
	// Slab is the "up to" of the slab that priced it (0: an open slab).
	Slab time.Duration
	// Capped: the band's cap applied. Covered: an increment started in
	// an earlier band covers the whole piece. Partial: a flat band that
	// charges only a stay covering it whole, and this one does not.
	Capped, Covered, Partial bool

	table *Table // the day type and band that priced it, for the words
	band  int
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// base is the price list in force before the first change.
func (t *Tariff) base() Schedule {
	return Schedule{Grace: t.Grace, LostFee: t.LostFee, Lost: t.Lost, Day: t.Day, FreeFirst: t.FreeFirst, BandCrossing: t.BandCrossing, Tables: t.Tables}
}

// InForce returns the price list in force at instant at and the date it
// is in force from (zero for the tariff's first list).
func (t *Tariff) InForce(at time.Time) (Schedule, Date) {
	loc := t.loc()
	for i := len(t.Changes) - 1; i >= 0; i-- {
		c := t.Changes[i]
		if !at.Before(c.From.at(0, loc)) {
			return c.Schedule, c.From
		}
	}
	return t.base(), Date{}
}

// NextChange returns the first change in force after at, if any.
func (t *Tariff) NextChange(at time.Time) (Date, bool) {
	loc := t.loc()
	for _, c := range t.Changes {
		if c.From.at(0, loc).After(at) {
			return c.From, true
		}
	}
	return Date{}, false
}

// HolidayOn returns the holiday of date d, if any.
func (t *Tariff) HolidayOn(d Date) (Holiday, bool) {
	n := d.number()
	for _, h := range t.Holidays {
		if n >= h.Date.number() && n <= h.last().number() {
			return h, true
		}
	}
	return Holiday{}, false
}

// Classes returns the vehicle classes the tariff has tables for, in the
// order they first appear (DefaultClass first).
func (t *Tariff) Classes() []string {
	out := []string{DefaultClass}
	seen := map[string]bool{DefaultClass: true}
	add := func(tables []Table) {
		for _, tb := range tables {
			if c := tb.class(); !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	add(t.Tables)
	for _, c := range t.Changes {
		add(c.Tables)
	}
	return out
}

// classed reports whether any table prices a class other than the
// default.
func (t *Tariff) classed() bool {
	for i := range t.Tables {
		if t.Tables[i].class() != DefaultClass {
			return true
		}
	}
	for _, c := range t.Changes {
		for i := range c.Tables {
			if c.Tables[i].class() != DefaultClass {
				return true
			}
		}
	}
	return false
}

func (tb *Table) class() string {
	if tb.Class == "" {
		return DefaultClass
	}
	return tb.Class
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

func (t *Tariff) loc() *time.Location {
	if t.Location == nil {
		return time.UTC
	}
	return t.Location
}

// holidayTypes reports whether name is a day type some holiday uses.
func (t *Tariff) holidayType(name string) bool {
	for _, h := range t.Holidays {
		if h.DayType == name {
			return true
		}
	}
	return false
}

// week is the tables of one class in one price list: the table of each
// weekday, and all of them (for holidays by name).
type week struct {
	sc    *Schedule
	class string
	byDay [7]*Table
	spans []holidaySpan // the holidays near the stay, as day numbers
}

type holidaySpan struct {
	first, last int64
	h           *Holiday
}

// week selects the tables of class (falling back to DefaultClass when the
// class has none) for the days from..to (day numbers).
func (t *Tariff) week(sc *Schedule, class string, from, to int64) *week {
	w := &week{sc: sc, class: class}
	if !sc.hasClass(class) {
		w.class = DefaultClass
	}
	// A class's table with no days covers the week (a holiday's day type
	// with no days only its holidays); otherwise each weekday has its
	// table. An unvalidated tariff may leave a weekday without one: the
	// class's first table prices it.
	var all, first *Table
	for i := range sc.Tables {
		tb := &sc.Tables[i]
		if tb.class() != w.class {
			continue
		}
		holidayOnly := len(tb.Days) == 0 && t.holidayType(tb.Name)
		if first == nil && !holidayOnly {
			first = tb
		}
		if len(tb.Days) == 0 {
			if all == nil && !holidayOnly {
				all = tb
			}
			continue
		}
		for _, d := range tb.Days {
			if wd, ok := weekdays[strings.ToLower(d)]; ok && w.byDay[wd] == nil {
				w.byDay[wd] = tb
			}
		}
	}
	if first == nil {
		for i := range sc.Tables {
			if sc.Tables[i].class() == w.class {
				first = &sc.Tables[i]
				break
			}
		}
	}
	for i := range w.byDay {
		switch {
		case all != nil:
			w.byDay[i] = all
		case w.byDay[i] == nil:
			w.byDay[i] = first
		}
	}
	for i := range t.Holidays {
		h := &t.Holidays[i]
		a, b := h.Date.number(), h.last().number()
		if b >= from && a <= to {
			w.spans = append(w.spans, holidaySpan{a, b, h})
		}
	}
	return w
}

// hasClass reports whether the schedule has tables for class.
func (sc *Schedule) hasClass(class string) bool {
	for i := range sc.Tables {
		if sc.Tables[i].class() == class {
			return true
		}
	}
	return false
}

// on returns the table of day number n and its holiday, if any.
func (w *week) on(n int64) (*Table, *Holiday) {
	for _, s := range w.spans {
		if n >= s.first && n <= s.last {
			for i := range w.sc.Tables {
				tb := &w.sc.Tables[i]
				if tb.class() == w.class && tb.Name == s.h.DayType {
					return tb, s.h
				}
			}
			break // an unvalidated tariff without that day type: the weekday's table
		}
	}
	return w.byDay[weekdayOf(n)], nil
}

// normClass is the class a stay asks for, in lower case.
func normClass(c string) string {
	c = strings.ToLower(strings.TrimSpace(c))
	if c == "" {
		return DefaultClass
	}
	return c
}

// Quote prices a stay. The tariff must have passed Validate, and then
// Quote never fails; the error, wrapping ErrFeeOverflow, is for a tariff
// whose amounts are too large to add up in fils: a fee that cannot be
// computed is an error, never a wrapped number.
//
// Quote is pure: no clock, no I/O. Its time grows with the number of
// days a calendar-priced stay spans, never with its minutes.
func (t *Tariff) Quote(s Stay) (Quote, error) {
	q := Quote{Paid: s.Paid, Lost: s.Lost, VATRate: t.VATPercent}
	step := func(format string, args ...any) { q.Steps = append(q.Steps, fmt.Sprintf(format, args...)) }

	entry := s.Entry
	if p := s.Previous; p != nil && t.Reentry > 0 && !s.Lost && !p.Exit.Before(p.Entry) {
		if gap := s.Entry.Sub(p.Exit); gap >= 0 && gap <= t.Reentry {
			entry = p.Entry
			q.Continued, q.SessionEntry, q.PreviousPaid = true, p.Entry, max(p.Paid, 0)
			step("re-entry within %s of exit at %s: continues the stay from %s (entered again %s after the exit on %s)",
				fmtDur(t.Reentry), p.Exit.In(t.loc()).Format("15:04"), p.Entry.In(t.loc()).Format("Mon 2006-01-02 15:04"),
				fmtDur(gap.Truncate(time.Second)), p.Exit.In(t.loc()).Format("Mon 2006-01-02"))
		}
	}
	if d := s.Exit.Sub(entry); d > 0 {
		q.Stay = d.Truncate(time.Second)
	}
	sc, from := t.InForce(entry)
	q.From = from
	q.Class = normClass(s.Class)
	q.PricedAs = q.Class
	if !sc.hasClass(q.Class) {
		q.PricedAs = DefaultClass
	}

	if s.Lost {
		if err := t.lost(&q, &sc, s, entry, step); err != nil {
			return Quote{}, fmt.Errorf("quote: %w", err)
		}
	} else if err := t.price(&q, &sc, s.Validation, entry, step); err != nil {
		return Quote{}, fmt.Errorf("quote: %w", err)
	}
	if q.Fee < 0 {
		// Only an unvalidated tariff (a negative price) gets here.
		return Quote{}, fmt.Errorf("quote: fee %s is negative: the tariff is not valid", q.Fee)
	}

	fee := q.Fee
	if q.PreviousPaid > 0 {
		fee = max(fee-q.PreviousPaid, 0) // both >= 0: cannot overflow
		step("the earlier visit paid %s: %s for the whole stay", q.PreviousPaid, fee)
	}
	switch {
	case s.Paid > 0 && !s.LastPaid.IsZero() && !s.Exit.After(s.LastPaid.Add(t.ExitGrace)):
		q.Due = 0
		q.Free = FreeExitGrace
		step("paid %s at %s; exit grace %s runs to %s: nothing owed",
			s.Paid, s.LastPaid.UTC().Format(time.RFC3339), t.ExitGrace, s.LastPaid.Add(t.ExitGrace).UTC().Format(time.RFC3339))
	case s.Paid > 0:
		q.Due = max(fee-s.Paid, 0) // both >= 0: cannot overflow
		step("already paid %s: %s owed", s.Paid, q.Due)
	default:
		q.Due = fee
	}
	q.VAT = money.VATPart(q.Due, int64(t.VATPercent))
	q.Net = q.Due - q.VAT
	if t.VATPercent > 0 && q.Due > 0 {
		step("VAT %s included: %s (net %s)", t.VATPercent, q.VAT, q.Net)
	}
	return q, nil
}

// lost prices a lost ticket by the schedule's rule.
func (t *Tariff) lost(q *Quote, sc *Schedule, s Stay, entry time.Time, step func(string, ...any)) error {
	q.LostRule = orDefault(sc.Lost, LostFlat)
	var other Quote
	var what string
	switch sc.Lost {
	case LostDay:
		// The price of a 24 h stay ending at exit, by the list in force
		// then, with no validation.
		day, _ := t.InForce(s.Exit.Add(-Block))
		other = Quote{Class: q.Class, PricedAs: q.Class, Stay: Block}
		if !day.hasClass(q.Class) {
			other.PricedAs = DefaultClass
		}
		if err := t.price(&other, &day, Validation{}, s.Exit.Add(-Block), func(string, ...any) {}); err != nil {
			return err
		}
		what = "a 24 h stay to exit"
	case LostStay:
		if !entry.Before(s.Exit) {
			break // the entry is not known: the flat fee
		}
		other = Quote{Class: q.Class, PricedAs: q.PricedAs, Stay: q.Stay}
		if err := t.price(&other, sc, s.Validation, entry, func(string, ...any) {}); err != nil {
			return err
		}
		what = "the stay from the known entry"
	}
	if what == "" {
		q.Fee = sc.LostFee
		if sc.Lost == LostStay {
			step("lost ticket: the entry is not known: flat %s", sc.LostFee)
			return nil
		}
		step("lost ticket: flat %s", sc.LostFee)
		return nil
	}
	q.Fee = max(sc.LostFee, other.Fee)
	q.Days, q.Table, q.Holiday = other.Days, other.Table, other.Holiday
	step("lost ticket: the higher of the flat %s and %s (%s): %s", sc.LostFee, what, other.Fee, q.Fee)
	return nil
}

// price prices the stay from entry (q.Stay long) with the schedule sc.
func (t *Tariff) price(q *Quote, sc *Schedule, v Validation, entry time.Time, step func(string, ...any)) error {
	loc := t.loc()
	calendar := sc.Day == DayCalendar
	q.Billable = max(q.Stay-v.Time, 0)
	n0 := DateOf(entry.In(loc)).number()
	w := t.week(sc, q.PricedAs, n0-1, n0+int64(q.Stay/Block)+2)
	tb, hol := w.on(n0)
	if tb == nil {
		return errors.New("the tariff has no table: it is not valid")
	}
	q.Table = tb.Name
	if hol != nil {
		q.Holiday = orDefault(hol.Name, hol.Date.String())
	}
	if calendar {
		step("stay %s (entry %s, priced by calendar day)", fmtDur(q.Stay), entry.In(loc).Format("Mon 2006-01-02 15:04"))
	} else {
		if hol != nil {
			step("stay %s (%s table, entry %s, holiday %s)", fmtDur(q.Stay), orDefault(tb.Name, "the"), entry.In(loc).Format("Mon 2006-01-02 15:04"), orDefault(hol.Name, hol.Date.String()))
		} else {
			step("stay %s (%s table, entry %s)", fmtDur(q.Stay), orDefault(tb.Name, "the"), entry.In(loc).Format("Mon 2006-01-02 15:04"))
		}
	}
	if !q.From.IsZero() {
		step("price list in force from %s", q.From)
	}
	switch {
	case q.PricedAs != q.Class:
		step("class %s has no prices of its own: priced as %s", q.Class, q.PricedAs)
	case q.Class != DefaultClass || t.classed():
		step("class %s", q.Class)
	}
	if v.Time > 0 {
		step("validation takes off %s: %s billable", fmtDur(v.Time), fmtDur(q.Billable))
	}
	if q.Billable <= sc.Grace {
		q.Free = FreeGrace
		if v.Time > 0 && q.Stay > sc.Grace {
			q.Free = FreeValidation
		}
		step("grace: stays up to %s are free", fmtDur(sc.Grace))
		return nil
	}
	var fee money.Fils
	var err error
	if calendar {
		fee, err = t.calendar(q, sc, w, entry, v.Time, step)
	} else {
		fee, err = tb.fee(q, step)
	}
	if err != nil {
		return err
	}
	q.Fee = fee
	if q.Fee == 0 {
		q.Free = FreeGrace
		if v.Time > 0 {
			q.Free = FreeValidation
		}
	}
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

// overflow is the error of a sum or product that does not fit in fils.
func overflow(what string) error {
	return fmt.Errorf("%w: %s", ErrFeeOverflow, what)
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
