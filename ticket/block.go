package ticket

import (
	"fmt"
	"math"
	"time"

	"github.com/exitlane/exitlane/money"
)

// rule is the prices of a table without bands, or of one band.
type rule struct {
	kind       string // RuleFree, RuleFlat, RuleIncrements, RuleSlabs
	price      money.Fils
	whole      bool
	slabs      []Slab
	free       time.Duration
	first      time.Duration
	firstPrice money.Fils
	inc        time.Duration
	incPrice   money.Fils
	cap        money.Fils
}

func (tb *Table) rule() rule {
	r := rule{kind: RuleIncrements, slabs: tb.Slabs, free: tb.Free, first: tb.FirstPeriod, firstPrice: tb.FirstPrice,
		inc: tb.Increment, incPrice: tb.IncrementPrice, cap: tb.Cap}
	if len(tb.Slabs) > 0 {
		r.kind = RuleSlabs
	}
	return r
}

func (b *Band) rule() rule {
	return rule{kind: b.Rule, price: b.Price, whole: b.Whole, slabs: b.Slabs, free: b.Free, first: b.FirstPeriod,
		firstPrice: b.FirstPrice, inc: b.Increment, incPrice: b.IncrementPrice, cap: b.Cap}
}

// period is the length of one block of the table (24 h, or the last
// slab's up_to when longer), and whether its last slab is open (every
// longer stay costs its price: no blocks).
func (tb *Table) period() (time.Duration, bool) {
	if n := len(tb.Slabs); n > 0 {
		last := tb.Slabs[n-1]
		if last.Over > 0 {
			return 0, true
		}
		return max(last.UpTo, Block), false
	}
	return Block, false
}

// fee prices a billable stay d > 0 with this table, in blocks from entry.
func (tb *Table) fee(q *Quote, step func(string, ...any)) (money.Fils, error) {
	d := q.Billable
	r := tb.rule()
	p, open := tb.period()
	if open || d <= p {
		return r.block(q, d, step)
	}
	full, err := r.block(&Quote{}, p, func(string, ...any) {})
	if err != nil {
		return 0, err
	}
	if tb.After24h == "per_day" {
		q.ExtraDays = int64((d - p + Block - time.Second) / Block)
		q.FullBlocks = 1
		if p == Block {
			step("first 24 h: %s", full)
		} else {
			step("first %s: %s", fmtDur(p), full)
		}
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
	// restart: whole blocks at the full price, then the last (partial or
	// whole) block from the start of the schedule. Slab ends are
	// inclusive, so exactly 48h is one full block plus a 24h block.
	k := int64((d - time.Second) / p)
	rest := d - time.Duration(k)*p
	q.FullBlocks = k
	if p == Block {
		step("%d full 24 h block(s) at %s", k, full)
	} else {
		step("%d full %s block(s) at %s", k, fmtDur(p), full)
	}
	step("then %s from the start of the schedule", fmtDur(rest))
	if r.kind == RuleIncrements && r.inc > 0 && (r.cap == 0 || r.uncappedOrMax(Block) <= r.cap) {
		q.Increments += k * r.increments(Block) // at most 106,751 × 86,400
	}
	blocks, ok := money.Mul(full, k)
	if !ok {
		return 0, overflow(fmt.Sprintf("%d blocks at %s", k, full))
	}
	last, err := r.block(q, rest, step)
	if err != nil {
		return 0, err
	}
	total, ok := money.Add(blocks, last)
	if !ok {
		return 0, overflow(fmt.Sprintf("%s plus %s", blocks, last))
	}
	return total, nil
}

// increments counts the started increments a piece of d charges.
func (r *rule) increments(d time.Duration) int64 {
	d -= r.free + r.first
	if d <= 0 || r.inc <= 0 {
		return 0
	}
	return int64((d + r.inc - 1) / r.inc)
}

// uncapped is the increment price of a piece of d before the cap.
func (r *rule) uncapped(d time.Duration) (money.Fils, error) {
	if d <= r.free {
		return 0, nil
	}
	n := r.increments(d)
	inc, ok := money.Mul(r.incPrice, n)
	if !ok {
		return 0, overflow(fmt.Sprintf("%d increments at %s", n, r.incPrice))
	}
	f, ok := money.Add(r.firstPrice, inc)
	if !ok {
		return 0, overflow(fmt.Sprintf("%s plus %s", r.firstPrice, inc))
	}
	return f, nil
}

// uncappedOrMax is uncapped for a comparison with the cap: a piece too
// expensive to compute is above any cap.
func (r *rule) uncappedOrMax(d time.Duration) money.Fils {
	f, err := r.uncapped(d)
	if err != nil {
		return money.Fils(math.MaxInt64)
	}
	return f
}

// slab prices d > 0 by the slab table: the price, the index of the slab
// that priced it, and the started increments of an "every" section. A d
// longer than the last slab (a calendar piece of a 25-hour day) costs the
// last slab's price.
func (r *rule) slab(d time.Duration) (price money.Fils, i int, n int64, err error) {
	var prevUp time.Duration
	var prevEnd money.Fils
	for i, s := range r.slabs {
		if s.Over > 0 {
			return s.Price, i, 0, nil // d is longer than the slab before
		}
		if s.Every <= 0 {
			if d <= s.UpTo {
				return s.Price, i, 0, nil
			}
			prevEnd, prevUp = s.Price, s.UpTo
			continue
		}
		upto := min(d, s.UpTo)
		k := int64((upto - prevUp + s.Every - 1) / s.Every)
		add, ok := money.Mul(s.Price, k)
		if !ok {
			return 0, 0, 0, overflow(fmt.Sprintf("%d started %s at %s", k, fmtDur(s.Every), s.Price))
		}
		end, ok := money.Add(prevEnd, add)
		if !ok {
			return 0, 0, 0, overflow(fmt.Sprintf("%s plus %s", prevEnd, add))
		}
		if d <= s.UpTo {
			return end, i, k, nil
		}
		prevEnd, prevUp = end, s.UpTo
	}
	return prevEnd, len(r.slabs) - 1, 0, nil
}

// slabWords says which slab priced a piece.
func (r *rule) slabWords(i int, n int64, price money.Fils) string {
	s := r.slabs[i]
	switch {
	case s.Over > 0:
		return fmt.Sprintf("over %s: %s", fmtDur(s.Over), price)
	case s.Every > 0:
		var from time.Duration
		if i > 0 {
			from = r.slabs[i-1].UpTo
		}
		return fmt.Sprintf("slab up to %s (%s per started %s after %s): %d started, %s", fmtDur(s.UpTo), s.Price, fmtDur(s.Every), fmtDur(from), n, price)
	}
	return fmt.Sprintf("slab up to %s: %s", fmtDur(s.UpTo), price)
}

// block prices 0 < d <= one block (in blocks from entry).
func (r *rule) block(q *Quote, d time.Duration, step func(string, ...any)) (money.Fils, error) {
	var f money.Fils
	if r.kind == RuleSlabs {
		price, i, n, err := r.slab(d)
		if err != nil {
			return 0, err
		}
		f = price
		q.Slab = r.slabs[i].UpTo
		q.Increments += n
		step("%s", r.slabWords(i, n, price))
	} else {
		switch {
		case d <= r.free:
			step("free period %s", fmtDur(r.free))
			return 0, nil
		default:
			n := r.increments(d)
			var err error
			if f, err = r.uncapped(d); err != nil {
				if r.cap <= 0 {
					return 0, err
				}
				f = money.Fils(math.MaxInt64) // more than any cap: capped below
			}
			q.Increments += n
			if n > 0 {
				step("first %s %s, then %d started %s at %s", fmtDur(r.first), r.firstPrice, n, fmtDur(r.inc), r.incPrice)
			} else {
				step("first %s: %s", fmtDur(r.first), r.firstPrice)
			}
		}
	}
	if r.cap > 0 && f > r.cap {
		f = r.cap
		q.Capped = true
		step("capped at %s per 24 h block", r.cap)
	}
	return f, nil
}
