package ticket

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
)

var classRE = regexp.MustCompile(`^[a-z0-9]{1,12}$`)

// ValidClass reports whether c is a vehicle class name: 1-12 of a-z 0-9.
func ValidClass(c string) bool { return classRE.MatchString(c) }

// Validate reports every problem of the tariff, each naming its key under
// prefix (for example "tariff").
//
// Every amount is between 0 and money.Max and every duration bounded: with
// those bounds (and at most MaxBands bands a day) the fee of the longest
// stay a time.Duration holds fits an int64 with room to spare, so Quote
// never fails for a validated tariff.
func (t *Tariff) Validate(prefix string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if err := inBlock(t.ExitGrace); err != nil {
		bad("exit_grace", "%v", err)
	}
	if err := inBlock(t.Reentry); err != nil {
		bad("reentry", "%v", err)
	}
	if t.VATPercent < 0 || t.VATPercent > 100*100 {
		bad("vat_percent", "%s is not between 0 and 100", t.VATPercent)
	}
	for i, h := range t.Holidays {
		key := fmt.Sprintf("holidays[%d]", i)
		switch {
		case h.Date.IsZero():
			bad(key+".date", `missing: the holiday's date, like "2026-03-20"`)
		case !h.Date.valid():
			bad(key+".date", "%v is not a date", h.Date)
		case !h.Until.IsZero() && (!h.Until.valid() || h.Until.number() < h.Date.number()):
			bad(key+".until", "%v is not a date on or after %s", h.Until, h.Date)
		case h.last().number()-h.Date.number() > 366:
			bad(key+".until", "a holiday range is at most 366 days")
		}
		if h.DayType == "" {
			bad(key+".day_type", "missing: the name of the table that prices this holiday")
		}
		for j := range i {
			o := t.Holidays[j]
			if h.Date.number() <= o.last().number() && o.Date.number() <= h.last().number() {
				bad(key, "%s overlaps holidays[%d] (%s)", h.Date, j, orDefault(o.Name, o.Date.String()))
			}
		}
	}
	base := t.base()
	errs = append(errs, base.validate(t, prefix)...)
	var last Date
	for i, c := range t.Changes {
		key := fmt.Sprintf("changes[%d]", i)
		switch {
		case c.From.IsZero():
			bad(key+".from", `missing: the first day of this price list, like "2026-07-01"`)
		case !c.From.valid():
			bad(key+".from", "%v is not a date", c.From)
		case !last.IsZero() && c.From.number() <= last.number():
			bad(key+".from", "%s is not after the change before (%s)", c.From, last)
		}
		last = c.From
		errs = append(errs, c.Schedule.validate(t, prefix+"."+key)...)
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

// validate checks one price list; t gives the holidays it must price.
func (sc *Schedule) validate(t *Tariff, prefix string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	calendar := false
	switch sc.Day {
	case "", DayBlock:
	case DayCalendar:
		calendar = true
	default:
		bad("day", "%q is not \"block\" (24 h blocks from entry) or \"calendar\" (calendar days)", sc.Day)
	}
	if err := inBlock(sc.Grace); err != nil {
		bad("grace", "%v", err)
	}
	if err := sc.LostFee.CheckRange(); err != nil {
		bad("lost_fee", "%v", err)
	}
	switch sc.Lost {
	case "", LostFlat, LostDay, LostStay:
	default:
		bad("lost", "%q is not \"flat\", \"day\" or \"stay\"", sc.Lost)
	}
	if err := inBlock(sc.FreeFirst); err != nil {
		bad("free_first", "%v", err)
	} else if sc.FreeFirst > 0 && !calendar {
		bad("free_first", `needs day = "calendar" (in 24 h blocks, a table's free period)`)
	}
	switch sc.BandCrossing {
	case "":
	case CrossCarry, CrossSplit:
		if !calendar {
			bad("band_crossing", `needs day = "calendar"`)
		}
	default:
		bad("band_crossing", "%q is not \"carry\" or \"split\"", sc.BandCrossing)
	}
	if len(sc.Tables) == 0 {
		bad("tables", "at least one table is needed ([[%s.tables]])", prefix)
	}

	// Classes, in the order they first appear.
	var classes []string
	seenClass := map[string]bool{}
	for _, tb := range sc.Tables {
		if c := tb.class(); !seenClass[c] {
			seenClass[c] = true
			classes = append(classes, c)
		}
	}
	if len(sc.Tables) > 0 && !seenClass[DefaultClass] {
		bad("tables", "no table for the default class %q (a table without class)", DefaultClass)
	}
	keyOf := func(i int) string {
		if n := sc.Tables[i].Name; n != "" {
			return fmt.Sprintf("tables[%d] (%s)", i, n)
		}
		return fmt.Sprintf("tables[%d]", i)
	}
	for i := range sc.Tables {
		tb := &sc.Tables[i]
		if tb.Class != "" && !ValidClass(tb.Class) {
			bad(keyOf(i)+".class", "%q is not a class name (1-12 of a-z 0-9)", tb.Class)
		}
		errs = append(errs, tb.validate(prefix+"."+keyOf(i), calendar)...)
	}
	for _, class := range classes {
		which := ""
		if class != DefaultClass || len(classes) > 1 {
			which = "class " + class + ": "
		}
		var own []int // the class's tables that are not holiday-only
		seen := map[time.Weekday]string{}
		for i := range sc.Tables {
			tb := &sc.Tables[i]
			if tb.class() != class {
				continue
			}
			if len(tb.Days) > 0 || !t.holidayType(tb.Name) {
				own = append(own, i)
			}
			for _, d := range tb.Days {
				wd, ok := weekdays[strings.ToLower(d)]
				if !ok {
					bad(keyOf(i)+".days", "%q is not a day (mon, tue, wed, thu, fri, sat, sun)", d)
					continue
				}
				if other, dup := seen[wd]; dup {
					bad(keyOf(i)+".days", "%s is already in table %s", d, other)
				}
				seen[wd] = tb.Name
			}
		}
		if len(own) > 1 {
			for _, i := range own {
				if len(sc.Tables[i].Days) == 0 {
					bad(keyOf(i)+".days", "name the days of this table; with several tables each needs days")
				}
			}
			if len(seen) != 7 && len(seen) > 0 {
				var missing []string
				for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
					if _, ok := seen[weekdays[d]]; !ok {
						missing = append(missing, d)
					}
				}
				bad("tables", "%sno table for %s", which, strings.Join(missing, ", "))
			}
		}
		if len(own) == 0 {
			bad("tables", "%sno table for the weekdays (only holiday day types)", which)
		}
		for j, h := range t.Holidays {
			n := 0
			for i := range sc.Tables {
				if sc.Tables[i].class() == class && sc.Tables[i].Name == h.DayType {
					n++
				}
			}
			switch {
			case h.DayType == "":
			case n == 0:
				bad("tables", "%sno table named %q for holidays[%d] (%s)", which, h.DayType, j, orDefault(h.Name, h.Date.String()))
			case n > 1:
				bad("tables", "%s%d tables are named %q: holidays[%d] needs one", which, n, h.DayType, j)
			}
		}
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

func (tb *Table) validate(prefix string, calendar bool) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	amount := func(key string, f money.Fils) {
		if err := f.CheckRange(); err != nil {
			bad(key, "%v", err)
		}
	}
	amount("first_price", tb.FirstPrice)
	amount("increment_price", tb.IncrementPrice)
	amount("cap", tb.Cap)
	amount("extra_day", tb.ExtraDay)
	amount("daily_max", tb.DailyMax)
	increments := tb.FirstPeriod != 0 || tb.FirstPrice != 0 || tb.Increment != 0 || tb.IncrementPrice != 0 || tb.Free != 0
	switch {
	case len(tb.Bands) > 0:
		if !calendar {
			bad("bands", `bands need day = "calendar"`)
		}
		if len(tb.Slabs) > 0 || increments || tb.Cap != 0 {
			bad("bands", "a table with bands is priced by its bands: move its slabs, first_period, increment and cap into them")
		}
		if len(tb.Bands) > MaxBands {
			bad("bands", "%d bands; at most %d", len(tb.Bands), MaxBands)
		}
		for i, b := range tb.Bands {
			key := fmt.Sprintf("bands[%d]", i)
			if b.Name != "" {
				key = fmt.Sprintf("bands[%d] (%s)", i, b.Name)
			}
			if i > 0 && b.From <= tb.Bands[i-1].From {
				bad(key+".from", "%s must be later than the band before (%s); list a day's bands from its first", b.From, tb.Bands[i-1].From)
			}
			errs = append(errs, b.validate(prefix+"."+key)...)
		}
	case len(tb.Slabs) > 0 && increments:
		bad("slabs", "a table has slabs or first_period/increment, not both")
	case len(tb.Slabs) > 0:
		errs = append(errs, validateSlabs(prefix, tb.Slabs)...)
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
	open := len(tb.Slabs) > 0 && tb.Slabs[len(tb.Slabs)-1].Over > 0
	switch {
	case calendar:
		if tb.After24h != "" || tb.ExtraDay != 0 {
			bad("after_24h", "calendar days are priced day by day: after_24h and extra_day are for 24 h blocks")
		}
	case tb.DailyMax != 0:
		bad("daily_max", `needs day = "calendar" (in 24 h blocks from entry, use cap)`)
	}
	if calendar {
		return errs
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
	if open && tb.After24h != "" {
		bad("after_24h", "no stay is longer than an open slab (over): leave after_24h out")
	}
	return errs
}

// validateSlabs checks a slab table: increasing ends, whole seconds, at
// most MaxSlab, prices that never fall, and a last slab that reaches 24 h
// or is open.
func validateSlabs(prefix string, slabs []Slab) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if len(slabs) > MaxSlabs {
		bad("slabs", "%d slabs; at most %d", len(slabs), MaxSlabs)
	}
	var lastUp time.Duration
	var lastEnd money.Fils // the price of a stay of exactly lastUp
	open := false
	for i, s := range slabs {
		k := fmt.Sprintf("slabs[%d]", i)
		if err := s.Price.CheckRange(); err != nil {
			bad(k+".price", "%v", err)
		}
		if s.Over != 0 {
			open = true
			switch {
			case i != len(slabs)-1:
				bad(k+".over", "only the last slab may be open (over)")
			case i == 0:
				bad(k+".over", "an open slab is over the slab before it; give that slab first")
			case s.Over != lastUp:
				bad(k+".over", "%s must be the up_to of the slab before (%s)", fmtDur(s.Over), fmtDur(lastUp))
			}
			if s.UpTo != 0 {
				bad(k, "give up_to or over, not both")
			}
			if s.Every != 0 {
				bad(k+".every", "an open slab has one price")
			}
			if s.Price < lastEnd && s.Price >= 0 {
				bad(k+".price", "%s is less than the slab before (%s); a longer stay never costs less", s.Price, lastEnd)
			}
			continue
		}
		switch {
		case s.UpTo <= lastUp:
			bad(k+".up_to", "%s must be longer than the slab before (%s)", s.UpTo, lastUp)
		case s.UpTo > MaxSlab:
			bad(k+".up_to", "%s is longer than %s (a year)", fmtDur(s.UpTo), fmtDur(MaxSlab))
		}
		if s.UpTo%time.Second != 0 {
			bad(k+".up_to", "%s is not whole seconds", s.UpTo)
		}
		end := s.Price
		if s.Every != 0 {
			switch {
			case s.Every < 0 || s.Every > MaxSlab:
				bad(k+".every", "%s is not between 1s and %s", s.Every, fmtDur(MaxSlab))
			case s.Every%time.Second != 0:
				bad(k+".every", "%s is not whole seconds", s.Every)
			case s.UpTo > lastUp && s.Price >= 0:
				n := int64((s.UpTo - lastUp + s.Every - 1) / s.Every)
				add, ok1 := money.Mul(s.Price, n)
				sum, ok2 := money.Add(lastEnd, add)
				if !ok1 || !ok2 {
					bad(k+".price", "the price of a stay of %s is too large to compute", fmtDur(s.UpTo))
				}
				end = sum
			}
		} else if s.Price < lastEnd && s.Price >= 0 {
			bad(k+".price", "%s is less than the slab before (%s); a longer stay never costs less", s.Price, lastEnd)
		}
		lastUp, lastEnd = s.UpTo, end
	}
	if !open && len(slabs) > 0 && lastUp < Block {
		bad("slabs", `the last slab must reach "24h" (it is %s) or be open ({ over = "%s", price = "..." }); longer stays follow after_24h`, fmtDur(lastUp), fmtDur(lastUp))
	}
	return errs
}

func (b *Band) validate(prefix string) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s.%s: %s", prefix, key, fmt.Sprintf(format, args...)))
	}
	if b.From < 0 || b.From >= Clock(Block/time.Second) {
		bad("from", "%d is not a time of day", b.From)
	}
	for _, a := range []struct {
		key string
		f   money.Fils
	}{{"price", b.Price}, {"first_price", b.FirstPrice}, {"increment_price", b.IncrementPrice}, {"cap", b.Cap}} {
		if err := a.f.CheckRange(); err != nil {
			bad(a.key, "%v", err)
		}
	}
	unused := func(keys ...string) {
		set := map[string]bool{
			"price": b.Price != 0, "whole": b.Whole, "free": b.Free != 0, "first_period": b.FirstPeriod != 0,
			"first_price": b.FirstPrice != 0, "increment": b.Increment != 0, "increment_price": b.IncrementPrice != 0,
			"slabs": len(b.Slabs) > 0, "cap": b.Cap != 0,
		}
		for _, k := range keys {
			if set[k] {
				bad(k, "is not used by rule %q", b.Rule)
			}
		}
	}
	switch b.Rule {
	case RuleFree:
		unused("price", "whole", "free", "first_period", "first_price", "increment", "increment_price", "slabs", "cap")
	case RuleFlat:
		unused("free", "first_period", "first_price", "increment", "increment_price", "slabs", "cap")
	case RuleIncrements:
		unused("price", "whole", "slabs")
		if err := inBlock(b.Free); err != nil {
			bad("free", "%v", err)
		}
		if err := inBlock(b.FirstPeriod); err != nil {
			bad("first_period", "%v", err)
		} else if b.FirstPeriod == 0 && b.FirstPrice != 0 {
			bad("first_price", "needs a first_period")
		}
		switch err := inBlock(b.Increment); {
		case err != nil:
			bad("increment", "%v", err)
		case b.Increment == 0:
			bad("increment", "must be positive")
		case b.Increment%time.Second != 0 || b.FirstPeriod%time.Second != 0 || b.Free%time.Second != 0:
			bad("increment", "increment, first_period and free must be whole seconds")
		}
	case RuleSlabs:
		unused("price", "whole", "free", "first_period", "first_price", "increment", "increment_price")
		if len(b.Slabs) == 0 {
			bad("slabs", "rule \"slabs\" needs slabs")
		}
		errs = append(errs, validateSlabs(prefix, b.Slabs)...)
	case "":
		bad("rule", `missing: "free", "flat", "increments" or "slabs"`)
	default:
		bad("rule", "%q is not \"free\", \"flat\", \"increments\" or \"slabs\"", b.Rule)
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
