package ticket

import (
	"fmt"
	"strings"
	"time"
)

// Describe writes the tariff in words, one line per rule or table, for the
// attendant's admin screen (so the price a driver disputes can be checked
// at the booth). Later price lists follow, each from its date.
func (t *Tariff) Describe() []string {
	var out []string
	if t.VATPercent > 0 {
		out = append(out, fmt.Sprintf("Prices include VAT %s", t.VATPercent))
	}
	base := t.base()
	out = append(out, describeSchedule(&base, t.ExitGrace, true)...)
	if t.Reentry > 0 {
		out = append(out, fmt.Sprintf("Re-entry within %s of the exit continues the stay", fmtDur(t.Reentry)))
	}
	for _, h := range t.Holidays {
		when := h.Date.String()
		if !h.Until.IsZero() && h.Until != h.Date {
			when += " to " + h.Until.String()
		}
		out = append(out, fmt.Sprintf("Holiday %s (%s): %s prices", when, orDefault(h.Name, "holiday"), h.DayType))
	}
	for _, v := range t.Validations {
		var what []string
		if v.Time > 0 {
			what = append(what, fmtDur(v.Time)+" off the stay")
		}
		if v.Amount > 0 {
			what = append(what, v.Amount.String()+" off the fee")
		}
		if v.Percent > 0 {
			what = append(what, fmt.Sprintf("%d%% off the fee", v.Percent))
		}
		out = append(out, fmt.Sprintf("Validation %s (%s): %s", v.Code, orDefault(v.Name, v.Code), strings.Join(what, ", ")))
	}
	for _, c := range t.Changes {
		out = append(out, fmt.Sprintf("From %s:", c.From))
		for _, line := range describeSchedule(&c.Schedule, t.ExitGrace, false) {
			out = append(out, "  "+line)
		}
	}
	return out
}

// describeSchedule writes one price list; the first also says the exit
// grace.
func describeSchedule(sc *Schedule, exitGrace time.Duration, first bool) []string {
	var out []string
	calendar := sc.Day == DayCalendar
	if sc.Grace > 0 {
		out = append(out, fmt.Sprintf("Grace: stays up to %s are free", fmtDur(sc.Grace)))
	}
	if first {
		out = append(out, fmt.Sprintf("Exit grace after paying: %s", fmtDur(exitGrace)))
	}
	switch sc.Lost {
	case LostDay:
		out = append(out, fmt.Sprintf("Lost ticket: the price of the last 24 h, at least %s", sc.LostFee))
	case LostStay:
		out = append(out, fmt.Sprintf("Lost ticket: %s, or the stay's fee when its entry is known, if higher", sc.LostFee))
	default:
		out = append(out, fmt.Sprintf("Lost ticket: %s", sc.LostFee))
	}
	if calendar {
		line := "Priced by calendar day; a band runs until the next one starts and belongs to the day it starts on"
		if sc.BandCrossing == CrossSplit {
			line += "; each band prices only its own time"
		} else {
			line += "; a started increment is charged in the band where it starts"
		}
		out = append(out, line)
		if sc.FreeFirst > 0 {
			out = append(out, fmt.Sprintf("The first %s after entry are free", fmtDur(sc.FreeFirst)))
		}
	}
	for _, tb := range sc.Tables {
		name := orDefault(tb.Name, "All days")
		if tb.Class != "" {
			name = tb.Class + ", " + name
		}
		if len(tb.Days) > 0 {
			name += " (" + strings.Join(tb.Days, ", ") + ")"
		}
		var parts []string
		sep := " · "
		if len(tb.Bands) > 0 {
			sep = "; "
			for _, b := range tb.Bands {
				r := b.rule()
				parts = append(parts, fmt.Sprintf("%s from %s: %s", orDefault(b.Name, b.Rule), b.From, r.words("band")))
			}
		} else {
			r := tb.rule()
			per := "24 h"
			if calendar {
				per = "day"
			}
			parts = append(parts, r.words(per))
		}
		if tb.DailyMax > 0 {
			parts = append(parts, fmt.Sprintf("at most %s per calendar day", tb.DailyMax))
		}
		if !calendar && len(tb.Bands) == 0 {
			if _, open := tb.period(); !open {
				if tb.After24h == "per_day" {
					parts = append(parts, fmt.Sprintf("over 24 h: %s per further started day", tb.ExtraDay))
				} else {
					parts = append(parts, "over 24 h: each 24 h block priced again")
				}
			}
		}
		out = append(out, name+": "+strings.Join(parts, sep))
	}
	return out
}

// words says a rule's prices: "AED 10.00 for the first 1h · then AED 5.00
// per started 1h · at most AED 50.00 per 24 h"; per says what its cap
// caps.
func (r rule) words(per string) string {
	var parts []string
	switch r.kind {
	case RuleFree:
		return "free"
	case RuleFlat:
		if r.whole {
			return fmt.Sprintf("flat %s for a stay over the whole band", r.price)
		}
		return fmt.Sprintf("flat %s", r.price)
	case RuleSlabs:
		var prev string
		for i, s := range r.slabs {
			price := s.Price.String()
			if s.Price == 0 {
				price = "free"
			}
			switch {
			case s.Over > 0:
				parts = append(parts, fmt.Sprintf("over %s %s", fmtDur(s.Over), price))
			case s.Every > 0:
				if i > 0 {
					prev = fmtDur(r.slabs[i-1].UpTo)
				} else {
					prev = "0s"
				}
				parts = append(parts, fmt.Sprintf("%s to %s %s per started %s", prev, fmtDur(s.UpTo), s.Price, fmtDur(s.Every)))
			default:
				parts = append(parts, fmt.Sprintf("up to %s %s", fmtDur(s.UpTo), price))
			}
		}
	default:
		if r.free > 0 {
			parts = append(parts, fmt.Sprintf("first %s free", fmtDur(r.free)))
		}
		if r.first > 0 {
			parts = append(parts, fmt.Sprintf("%s for the first %s", r.firstPrice, fmtDur(r.first)))
			if r.inc > 0 {
				parts = append(parts, fmt.Sprintf("then %s per started %s", r.incPrice, fmtDur(r.inc)))
			}
		} else if r.inc > 0 {
			parts = append(parts, fmt.Sprintf("%s per started %s", r.incPrice, fmtDur(r.inc)))
		}
	}
	if r.cap > 0 {
		parts = append(parts, fmt.Sprintf("at most %s per %s", r.cap, per))
	}
	return strings.Join(parts, " · ")
}
