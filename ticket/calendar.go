package ticket

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/exitlane/exitlane/money"
)

// Calendar days (Tariff.Day = "calendar").
//
// The stay is split at the bands' starts, in the site's zone: a band runs
// from its start until the next band starts, and a day's last band until
// the next day's first band, so a night band from 22:00 runs to 06:00 when
// the next day's first band starts then. A band belongs to the day it
// starts on: that day's day type (its weekday's table, or its holiday's)
// prices it, and that day's daily maximum caps it. Each piece (the part of
// the stay in one band) is priced by the band's rule.
//
// The walk visits each day once and each band of it once, so its time
// grows with the number of days, never with minutes.

// bandCount is the number of bands of a table: a table without bands is
// one band from midnight with the table's own prices.
func (tb *Table) bandCount() int { return max(len(tb.Bands), 1) }

// band returns the i-th band's name and rule.
func (tb *Table) band(i int) (string, rule) {
	if len(tb.Bands) == 0 {
		return orDefault(tb.Name, "all day"), tb.rule()
	}
	b := &tb.Bands[i]
	return orDefault(b.Name, b.Rule), b.rule()
}

// shortcuts enables the walk's two savings (midnight plus 24 h within a
// zone period, and a day like the one before counted, not priced); tests
// turn it off to check that both change nothing.
var shortcuts = true

// dayClock gives the start of each day of a walk in loc: while no zone
// transition is near, the next midnight is the last one plus 24 h, so a
// walk calls time.Date once per zone period (a DST season), not per day.
type dayClock struct {
	loc  *time.Location
	n    int64     // the day number of mid
	mid  time.Time // the start of day n
	zEnd time.Time // the end of the zone period that holds mid; zero: none
}

// midnight returns the start of day n, and whether no zone transition
// falls within the day and the hour after it (its bands then start at
// midnight plus their clock time).
func (c *dayClock) midnight(n int64) (time.Time, bool) {
	if shortcuts && !c.mid.IsZero() && n == c.n+1 && (c.zEnd.IsZero() || c.mid.Add(Block).Before(c.zEnd)) {
		c.mid = c.mid.Add(Block)
	} else {
		c.mid = dateFromNumber(n).at(0, c.loc)
		_, c.zEnd = c.mid.ZoneBounds()
	}
	c.n = n
	return c.mid, shortcuts && (c.zEnd.IsZero() || !c.zEnd.Before(c.mid.Add(Block+time.Hour)))
}

// bandStarts appends to dst[:0] the instants the bands of tb start on day
// number n, none earlier than floor: a wall time that a DST change skips
// or repeats never puts a band before the one it follows.
func bandStarts(dst []time.Time, n int64, tb *Table, c *dayClock, floor time.Time) []time.Time {
	midnight, steady := c.midnight(n)
	dst = dst[:0]
	for i := range tb.bandCount() {
		var from Clock
		if len(tb.Bands) > 0 {
			from = tb.Bands[i].From
		}
		at := midnight
		switch {
		case from == 0:
		case steady:
			at = midnight.Add(time.Duration(from) * time.Second)
		default:
			at = dateFromNumber(n).at(from, c.loc)
		}
		if at.Before(floor) {
			at = floor
		}
		dst = append(dst, at)
		floor = at
	}
	return dst
}

// calendar prices the stay that entered at entry (q.Stay long) day by
// day; skip (validation time) is taken off its start.
func (t *Tariff) calendar(q *Quote, sc *Schedule, w *week, entry time.Time, skip time.Duration, step func(string, ...any)) (money.Fils, error) {
	loc := t.loc()
	e0 := entry.Truncate(time.Second)
	end := e0.Add(q.Stay)
	start := end
	if lead := sc.FreeFirst + skip; lead >= 0 && lead < q.Stay { // lead < 0: the sum overflowed
		start = e0.Add(lead)
	}
	if sc.FreeFirst > 0 {
		step("the first %s after entry are free", fmtDur(sc.FreeFirst))
	}
	if !start.Before(end) {
		step("nothing left to price")
		return 0, nil
	}
	if start != e0 {
		step("priced from %s", start.In(loc).Format("Mon 2006-01-02 15:04:05"))
	}

	carry := sc.BandCrossing != CrossSplit
	var paidTo time.Time // the end of the last started increment (carry)
	var bufA, bufB [MaxBands]time.Time
	var scratch [MaxBands]Piece

	clock := &dayClock{loc: loc}
	n := DateOf(start.In(loc)).number() - 1
	tb, hol := w.on(n)
	starts := bandStarts(bufA[:0], n, tb, clock, time.Time{})
	next := bufB[:0]
	if q.Days == nil {
		q.Days = make([]DayPrice, 0, min(int64(q.Stay/Block)/3+2, 64))
	}
	var total money.Fils
	var lastBase time.Time // the first band start of q.Days' last entry's first day
	// The day before, when it lay wholly inside the stay: a day like it
	// (the same table, holiday, band lengths and carried-in increment) is
	// priced the same, and only counted.
	var prev struct {
		ok         bool
		tb         *Table
		hol        *Holiday
		rel        [MaxBands + 1]time.Duration // band starts and the next day's first, from its first
		carryIn    time.Duration
		carryOut   time.Duration // paidTo after it, from its first band start
		carried    bool          // whether paidTo was set after it
		total      money.Fils
		increments int64
	}
	for starts[0].Before(end) {
		tbN, holN := w.on(n + 1)
		next = bandStarts(next, n+1, tbN, clock, starts[len(starts)-1])
		day0 := starts[0]
		interior := !day0.Before(start) && !next[0].After(end)
		var carryIn time.Duration
		if carry && paidTo.After(day0) {
			carryIn = paidTo.Sub(day0)
		}
		if shortcuts && interior && prev.ok && prev.tb == tb && prev.hol == hol && prev.carryIn == carryIn && sameOffsets(&prev.rel, starts, next[0]) {
			var ok bool
			if total, ok = money.Add(total, prev.total); !ok {
				return 0, overflow(fmt.Sprintf("%s plus %s", total, prev.total))
			}
			q.Days[len(q.Days)-1].Count++
			q.Increments += prev.increments
			if prev.carried {
				paidTo = day0.Add(prev.carryOut)
			}
			n, tb, hol = n+1, tbN, holN
			starts, next = next, starts
			continue
		}
		pieces := scratch[:0]
		var sum money.Fils
		var dayIncrements int64
		for i := range starts {
			os, oe := starts[i], next[0]
			if i+1 < len(starts) {
				oe = starts[i+1]
			}
			if !oe.After(start) || !oe.After(os) {
				continue
			}
			if !os.Before(end) {
				break
			}
			name, r := tb.band(i)
			p := Piece{Band: name, Rule: r.kind, Start: maxTime(os, start), End: minTime(oe, end), table: tb, band: i}
			if carry && paidTo.After(p.Start) {
				if !paidTo.Before(p.End) {
					p.Covered = true
					pieces = append(pieces, p)
					continue
				}
				p.Start = paidTo
			}
			d := p.End.Sub(p.Start)
			switch r.kind {
			case RuleFlat:
				if r.whole && (start.After(os) || end.Before(oe)) {
					p.Partial = true
				} else {
					p.Price = r.price
				}
			case RuleIncrements:
				if d <= r.free {
					break
				}
				p.Increments = r.increments(d)
				f, err := r.uncapped(d)
				if err != nil {
					if r.cap <= 0 {
						return 0, err
					}
					f = money.Fils(math.MaxInt64) // capped below
				}
				p.Price = f
				if carry && r.inc > 0 {
					// At most 24 h + an increment or two past the piece's
					// start: no overflow.
					paidTo = p.Start.Add(r.free + r.first + time.Duration(p.Increments)*r.inc)
				}
			case RuleSlabs:
				f, si, k, err := r.slab(d)
				if err != nil {
					return 0, err
				}
				p.Price, p.Slab, p.Increments = f, r.slabs[si].UpTo, k
			}
			if r.cap > 0 && p.Price > r.cap {
				p.Price, p.Capped = r.cap, true
			}
			var ok bool
			if sum, ok = money.Add(sum, p.Price); !ok {
				return 0, overflow(fmt.Sprintf("%s plus %s", sum, p.Price))
			}
			dayIncrements += p.Increments
			q.Capped = q.Capped || p.Capped
			pieces = append(pieces, p)
		}
		q.Increments += dayIncrements
		prev.ok = false
		if len(pieces) > 0 {
			day := DayPrice{Date: dateFromNumber(n), Count: 1, DayType: tb.Name, Sum: sum, DailyMax: tb.DailyMax, Total: sum}
			if hol != nil {
				day.Holiday = orDefault(hol.Name, hol.Date.String())
			}
			if tb.DailyMax > 0 && sum > tb.DailyMax {
				day.Total, day.Capped = tb.DailyMax, true
				q.Capped = true
			}
			var ok bool
			if total, ok = money.Add(total, day.Total); !ok {
				return 0, overflow(fmt.Sprintf("%s plus %s", total, day.Total))
			}
			if k := len(q.Days) - 1; k >= 0 && sameDay(&q.Days[k], lastBase, &day, pieces, day0) {
				q.Days[k].Count++
			} else {
				day.Pieces = append([]Piece(nil), pieces...)
				q.Days = append(q.Days, day)
				lastBase = day0
			}
			if interior {
				prev.ok, prev.tb, prev.hol, prev.carryIn = true, tb, hol, carryIn
				for i, at := range starts {
					prev.rel[i] = at.Sub(day0)
				}
				prev.rel[len(starts)] = next[0].Sub(day0)
				prev.carried = carry && !paidTo.IsZero()
				prev.carryOut = paidTo.Sub(day0)
				prev.total, prev.increments = day.Total, dayIncrements
			}
		}
		n, tb, hol = n+1, tbN, holN
		starts, next = next, starts
	}
	t.daySteps(q)
	return total, nil
}

// sameOffsets reports whether a day's band starts, and the next day's
// first, lie at the offsets rel (from the day's first band start).
func sameOffsets(rel *[MaxBands + 1]time.Duration, starts []time.Time, next time.Time) bool {
	for i, at := range starts {
		if at.Sub(starts[0]) != rel[i] {
			return false
		}
	}
	return next.Sub(starts[0]) == rel[len(starts)]
}

// sameDay reports whether day (its pieces, its first band at base) is
// priced like prev (whose first day's first band starts at prevBase): the
// same day type, the same pieces at the same times of day, the same price.
func sameDay(prev *DayPrice, prevBase time.Time, day *DayPrice, pieces []Piece, base time.Time) bool {
	if prev.DayType != day.DayType || prev.Holiday != day.Holiday || prev.Sum != day.Sum || prev.Total != day.Total ||
		prev.Capped != day.Capped || prev.DailyMax != day.DailyMax || len(prev.Pieces) != len(pieces) {
		return false
	}
	for i := range pieces {
		a, b := &prev.Pieces[i], &pieces[i]
		if a.Band != b.Band || a.Rule != b.Rule || a.Price != b.Price || a.Increments != b.Increments || a.Slab != b.Slab ||
			a.Capped != b.Capped || a.Covered != b.Covered || a.Partial != b.Partial ||
			a.Start.Sub(prevBase) != b.Start.Sub(base) || a.End.Sub(a.Start) != b.End.Sub(b.Start) {
			return false
		}
	}
	return true
}

// daySteps explains q.Days, one line per day (or run of alike days). The
// lines are appended byte by byte, without fmt: a long stay's explanation
// would otherwise cost more than its price.
func (t *Tariff) daySteps(q *Quote) {
	loc := t.loc()
	b := make([]byte, 0, 512)
	if free := cap(q.Steps) - len(q.Steps); free < len(q.Days)+2 {
		q.Steps = append(make([]string, 0, len(q.Steps)+len(q.Days)+4), q.Steps...)
	}
	for i := range q.Days {
		d := &q.Days[i]
		n := d.Date.number()
		b = appendDate(b[:0], n)
		if d.Count > 1 {
			b = append(b, " to "...)
			b = appendDate(b, n+int64(d.Count)-1)
			b = append(b, " ("...)
			b = strconv.AppendInt(b, int64(d.Count), 10)
			b = append(b, " days)"...)
		}
		b = append(b, ' ')
		b = append(b, orDefault(d.DayType, "all days")...)
		if d.Holiday != "" {
			b = append(b, " (holiday: "...)
			b = append(b, d.Holiday...)
			b = append(b, ')')
		}
		if d.Count > 1 {
			b = append(b, ", each"...)
		}
		b = append(b, ':')
		for j := range d.Pieces {
			if j > 0 {
				b = append(b, ';')
			}
			b = append(b, ' ')
			b = appendPiece(b, &d.Pieces[j], loc)
		}
		if d.Capped {
			b = append(b, "; together "...)
			b = appendFils(b, d.Sum)
			b = append(b, ", capped at the daily maximum"...)
		}
		b = append(b, " = "...)
		b = appendFils(b, d.Total)
		if d.Count > 1 {
			b = append(b, " a day, "...)
			b = appendFils(b, mulOrMax(d.Total, d.Count))
			b = append(b, " for "...)
			b = strconv.AppendInt(b, int64(d.Count), 10)
			b = append(b, " days"...)
		}
		q.Steps = append(q.Steps, string(b))
	}
}

// appendPiece writes one piece: "day 10:00-18:00 (8h): first 1h AED
// 4.00, then 7 started 1h at AED 4.00: AED 32.00".
func appendPiece(b []byte, p *Piece, loc *time.Location) []byte {
	d := p.End.Sub(p.Start)
	b = append(b, p.Band...)
	b = append(b, ' ')
	b = appendClock(b, p.Start.In(loc))
	b = append(b, '-')
	b = appendClock(b, p.End.In(loc))
	b = append(b, " ("...)
	b = appendDur(b, d)
	b = append(b, "): "...)
	switch {
	case p.Covered:
		return append(b, "covered by the increment started before"...)
	case p.Partial:
		return append(b, "free (only a stay over the whole band pays its flat price)"...)
	}
	_, r := p.table.band(p.band)
	switch p.Rule {
	case RuleFree:
		return append(b, "free"...)
	case RuleFlat:
		b = append(b, "flat "...)
		return appendFils(b, p.Price)
	case RuleSlabs:
		i := len(r.slabs) - 1
		if p.Slab != 0 {
			for i = 0; i < len(r.slabs)-1 && r.slabs[i].UpTo != p.Slab; i++ {
			}
		}
		b = append(b, r.slabWords(i, p.Increments, p.Price)...)
		if p.Capped {
			b = append(b, ", capped at "...)
			b = appendFils(b, p.Price)
		}
		return b
	}
	// increments
	switch {
	case d <= r.free:
		b = append(b, "within the free "...)
		return appendDur(b, r.free)
	case r.first > 0:
		b = append(b, "first "...)
		b = appendDur(b, r.first)
		b = append(b, ' ')
		b = appendFils(b, r.firstPrice)
		if p.Increments > 0 {
			b = append(b, ", then "...)
			b = appendIncrements(b, p.Increments, r)
		}
	default:
		b = appendIncrements(b, p.Increments, r)
	}
	if r.free > 0 {
		b = append(b, " after a free "...)
		b = appendDur(b, r.free)
	}
	if p.Capped {
		b = append(b, ", capped at "...)
	} else {
		b = append(b, ": "...)
	}
	return appendFils(b, p.Price)
}

// appendIncrements writes "7 started 1h at AED 4.00".
func appendIncrements(b []byte, n int64, r rule) []byte {
	b = strconv.AppendInt(b, n, 10)
	b = append(b, " started "...)
	b = appendDur(b, r.inc)
	b = append(b, " at "...)
	return appendFils(b, r.incPrice)
}

var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// appendDate writes day number n as "Mon 2006-01-02".
func appendDate(b []byte, n int64) []byte {
	d := dateFromNumber(n)
	b = append(b, dayNames[weekdayOf(n)]...)
	b = append(b, ' ')
	b = appendPad(b, int64(d.Year), 4)
	b = append(b, '-')
	b = appendPad(b, int64(d.Month), 2)
	b = append(b, '-')
	return appendPad(b, int64(d.Day), 2)
}

// appendClock writes t's wall clock as "15:04".
func appendClock(b []byte, t time.Time) []byte {
	h, m, _ := t.Clock()
	b = appendPad(b, int64(h), 2)
	b = append(b, ':')
	return appendPad(b, int64(m), 2)
}

// appendFils writes "AED 12.50" (f >= 0; a negative amount as money does).
func appendFils(b []byte, f money.Fils) []byte {
	if f < 0 {
		return append(b, f.String()...)
	}
	b = append(b, money.Currency+" "...)
	b = strconv.AppendInt(b, int64(f/100), 10)
	b = append(b, '.')
	return appendPad(b, int64(f%100), 2)
}

// appendDur writes d as fmtDur does: "4h", "6h10m", "26h30m5s".
func appendDur(b []byte, d time.Duration) []byte {
	if d <= 0 || d%time.Second != 0 {
		return append(b, fmtDur(d)...)
	}
	s := int64(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		b = strconv.AppendInt(b, h, 10)
		b = append(b, 'h')
	}
	if m > 0 || (h > 0 && sec > 0) {
		b = strconv.AppendInt(b, m, 10)
		b = append(b, 'm')
	}
	if sec > 0 {
		b = strconv.AppendInt(b, sec, 10)
		b = append(b, 's')
	}
	return b
}

// appendPad writes v >= 0 with at least width digits.
func appendPad(b []byte, v int64, width int) []byte {
	if width == 2 && v >= 0 && v < 100 {
		return append(b, byte('0'+v/10), byte('0'+v%10))
	}
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], v, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// mulOrMax is f×n for an explanation (the total was checked already).
func mulOrMax(f money.Fils, n int) money.Fils {
	v, ok := money.Mul(f, int64(n))
	if !ok {
		return money.Fils(math.MaxInt64)
	}
	return v
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
