package ticket

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
)

// gen reads a tariff's choices from fuzz bytes; past the end it reads
// zeros.
type gen struct{ b []byte }

func (g *gen) u(n int) int {
	if n <= 1 {
		return 0
	}
	var v int
	for range 2 {
		v <<= 8
		if len(g.b) > 0 {
			v |= int(g.b[0])
			g.b = g.b[1:]
		}
	}
	return v % n
}

func (g *gen) yes() bool { return g.u(2) == 1 }

// amount is mostly a few dirhams, sometimes the largest allowed.
func (g *gen) amount() money.Fils {
	switch g.u(8) {
	case 0:
		return 0
	case 1:
		return money.Max - money.Fils(g.u(1000))
	}
	return money.Fils(g.u(10000))
}

// dur is a whole number of minutes (or seconds) up to max.
func (g *gen) dur(max time.Duration) time.Duration {
	if g.u(4) == 0 {
		return time.Duration(g.u(int(min(max, 3600*time.Second)/time.Second)+1)) * time.Second
	}
	return time.Duration(g.u(int(max/time.Minute)+1)) * time.Minute
}

// slabs is a valid slab table: rising ends, prices that never fall, an
// every-section now and then, the last slab 24 h (or more) or open.
func (g *gen) slabs() []Slab {
	var out []Slab
	var up time.Duration
	var end money.Fils
	for range g.u(4) + 1 {
		next := up + max(g.dur(8*time.Hour), time.Second)
		if next >= Block {
			break
		}
		if g.u(3) == 0 {
			s := Slab{UpTo: next, Every: max(g.dur(2*time.Hour), time.Second), Price: money.Fils(g.u(2000))}
			n := int64((next - up + s.Every - 1) / s.Every)
			end += s.Price * money.Fils(n)
			out = append(out, s)
		} else {
			end += money.Fils(g.u(3000))
			out = append(out, Slab{UpTo: next, Price: end})
		}
		up = next
	}
	switch g.u(3) {
	case 0:
		if len(out) > 0 {
			out = append(out, Slab{Over: up, Price: end + money.Fils(g.u(5000))})
			return out
		}
		fallthrough
	case 1:
		out = append(out, Slab{UpTo: Block, Price: end + money.Fils(g.u(5000))})
	default:
		out = append(out, Slab{UpTo: Block + time.Duration(g.u(7*24))*time.Hour, Price: end + money.Fils(g.u(50000))})
	}
	return out
}

// band is one band of a random rule.
func (g *gen) band(from Clock) Band {
	b := Band{From: from}
	switch g.u(4) {
	case 0:
		b.Rule = RuleFree
	case 1:
		b.Rule, b.Price, b.Whole = RuleFlat, g.amount(), g.yes()
	case 2:
		b.Rule = RuleIncrements
		b.Increment = max(g.dur(2*time.Hour), time.Second)
		b.IncrementPrice = g.amount()
		if g.yes() {
			b.FirstPeriod, b.FirstPrice = max(g.dur(3*time.Hour), time.Second), g.amount()
		}
		if g.u(3) == 0 {
			b.Free = g.dur(2 * time.Hour)
		}
		if g.u(3) == 0 {
			b.Cap = g.amount()
		}
	default:
		b.Rule, b.Slabs = RuleSlabs, g.slabs()
		if b.Slabs[len(b.Slabs)-1].UpTo > Block {
			b.Slabs[len(b.Slabs)-1].UpTo = Block
		}
		if g.u(4) == 0 {
			b.Cap = g.amount()
		}
	}
	return b
}

// table is a random table of either day counting.
func (g *gen) table(name string, days []string, calendar bool) Table {
	tb := Table{Name: name, Days: days}
	if calendar && g.u(4) != 0 {
		var froms []int
		for range g.u(4) + 1 {
			froms = append(froms, g.u(24*60)*60)
		}
		sort.Ints(froms)
		for i, f := range froms {
			if i == 0 || f != froms[i-1] {
				tb.Bands = append(tb.Bands, g.band(Clock(f)))
			}
		}
	} else if g.yes() {
		tb.Slabs = g.slabs()
		if calendar || tb.Slabs[len(tb.Slabs)-1].Over > 0 {
			if calendar && tb.Slabs[len(tb.Slabs)-1].UpTo > Block {
				tb.Slabs[len(tb.Slabs)-1].UpTo = Block
			}
		} else if g.yes() {
			tb.After24h, tb.ExtraDay = "per_day", max(g.amount(), 1)
		}
	} else {
		tb.FirstPeriod, tb.FirstPrice = max(g.dur(3*time.Hour), time.Second), g.amount()
		tb.Increment, tb.IncrementPrice = max(g.dur(2*time.Hour), time.Second), g.amount()
		tb.Free = g.dur(time.Hour)
		if g.u(3) == 0 {
			tb.Cap = g.amount()
		}
	}
	if calendar && g.yes() {
		tb.DailyMax = g.amount()
	}
	return tb
}

// tariff is a random valid tariff: one or two tables (weekdays and
// weekend) per class, sometimes a holiday table and holidays near the
// stay, sometimes a second class.
func (g *gen) tariff(loc *time.Location, near Date) *Tariff {
	calendar := g.u(3) != 0
	tr := &Tariff{Grace: g.dur(30 * time.Minute), LostFee: g.amount(), Location: loc}
	if calendar {
		tr.Day = DayCalendar
		tr.FreeFirst = g.dur(4 * time.Hour)
		if g.yes() {
			tr.BandCrossing = CrossSplit
		}
	}
	tr.Lost = []string{"", LostFlat, LostDay, LostStay}[g.u(4)]
	holidays := g.u(3)
	for _, class := range []string{"", "motorcycle"}[:g.u(2)+1] {
		var tables []Table
		if g.yes() {
			tables = []Table{g.table("all", nil, calendar)}
		} else {
			tables = []Table{g.table("week", []string{"mon", "tue", "wed", "thu", "fri"}, calendar), g.table("end", []string{"sat", "sun"}, calendar)}
		}
		if holidays > 0 {
			tables = append(tables, g.table("holiday", nil, calendar))
		}
		for i := range tables {
			tables[i].Class = class
		}
		tr.Tables = append(tr.Tables, tables...)
	}
	n := near.number()
	for i := range holidays {
		first := n + int64(i*20+g.u(15))
		tr.Holidays = append(tr.Holidays, Holiday{Date: dateFromNumber(first), Until: dateFromNumber(first + int64(g.u(4))), Name: fmt.Sprintf("h%d", i), DayType: "holiday"})
	}
	return tr
}

// FuzzTariffMonotone prices two stays of the same entry with a random
// valid tariff: neither fails, and the longer never costs less. No rule
// lets a longer stay cost less (caps and daily maxima only stop a fee
// from rising; a band is priced by the time in it), so the property holds
// for every tariff that passes Validate.
func FuzzTariffMonotone(f *testing.F) {
	f.Add([]byte{}, int64(0), int64(3*3600), int64(30*3600), false, "")
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}, int64(86400*86), int64(3600), int64(86400*3), true, "motorcycle")
	f.Add([]byte{2, 200, 0, 3, 9, 1, 1, 0, 7, 7, 7, 7, 0, 2, 0, 255, 255, 4, 4, 8, 8, 1, 2, 3}, int64(86400*297+7200), int64(86400*2), int64(86400*40), true, "bus")
	f.Add([]byte{0, 1, 0, 2, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0, 0, 0, 0, 0, 1}, int64(86400*360), int64(0), int64(86400*399), false, "")
	f.Fuzz(func(t *testing.T, spec []byte, entryOff, a, b int64, berlinZone bool, class string) {
		loc := dubai
		if berlinZone {
			loc = berlin
		}
		g := &gen{b: spec}
		entry := time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Add(time.Duration(absMod(entryOff, 2*366*86400)) * time.Second)
		tr := g.tariff(loc, DateOf(entry))
		if errs := tr.Validate("tariff"); len(errs) > 0 {
			t.Fatalf("generated tariff invalid: %v\n%+v", errors.Join(errs...), tr)
		}
		maxStay := int64(60 * 86400)
		if g.u(8) == 0 {
			maxStay = 400 * 86400
		}
		sa, sb := time.Duration(absMod(a, maxStay))*time.Second, time.Duration(absMod(b, maxStay))*time.Second
		if g.yes() {
			sa += time.Duration(absMod(a, 1000)) * time.Millisecond
		}
		if sa > sb {
			sa, sb = sb, sa
		}
		var v Validation
		if g.u(4) == 0 {
			v.Time = g.dur(3 * time.Hour)
		}
		qa, err := tr.Quote(Stay{Entry: entry, Exit: entry.Add(sa), Class: class, Validation: v})
		if err != nil {
			t.Fatalf("quote %s: %v", sa, err)
		}
		qb, err := tr.Quote(Stay{Entry: entry, Exit: entry.Add(sb), Class: class, Validation: v})
		if err != nil {
			t.Fatalf("quote %s: %v", sb, err)
		}
		if qa.Fee > qb.Fee {
			t.Fatalf("%s costs %s, the longer %s only %s\n%s\n---\n%s", sa, qa.Fee, sb, qb.Fee, strings.Join(qa.Steps, "\n"), strings.Join(qb.Steps, "\n"))
		}
		if qa.Fee < 0 || qa.Due != qa.Fee || qb.VAT != 0 || qb.Net != qb.Due {
			t.Fatalf("fee %s due %s vat %s net %s", qa.Fee, qa.Due, qb.VAT, qb.Net)
		}
		if _, err := tr.Quote(Stay{Entry: entry, Exit: entry.Add(sb), Class: class, Lost: true}); err != nil {
			t.Fatalf("lost: %v", err)
		}
		// The walk's shortcuts change nothing: the same fee, days and words
		// when every day is priced band by band with time.Date.
		shortcuts = false
		ref, err := tr.Quote(Stay{Entry: entry, Exit: entry.Add(sb), Class: class, Validation: v})
		shortcuts = true
		if err != nil {
			t.Fatalf("without shortcuts: %v", err)
		}
		if ref.Fee != qb.Fee || ref.Increments != qb.Increments || ref.Capped != qb.Capped || len(ref.Days) != len(qb.Days) || strings.Join(ref.Steps, "\n") != strings.Join(qb.Steps, "\n") {
			t.Fatalf("shortcuts change the quote of %s:\n%s\n---\n%s", sb, strings.Join(qb.Steps, "\n"), strings.Join(ref.Steps, "\n"))
		}
	})
}
