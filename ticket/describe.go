package ticket

import (
	"fmt"
	"strings"
)

// Describe writes the tariff in words, one line per rule or table, for the
// attendant's admin screen (so the price a driver disputes can be checked
// at the booth).
func (t *Tariff) Describe() []string {
	var out []string
	if t.Grace > 0 {
		out = append(out, fmt.Sprintf("Grace: stays up to %s are free", fmtDur(t.Grace)))
	}
	out = append(out, fmt.Sprintf("Exit grace after paying: %s", fmtDur(t.ExitGrace)))
	out = append(out, fmt.Sprintf("Lost ticket: %s", t.LostFee))
	for _, tb := range t.Tables {
		name := orDefault(tb.Name, "All days")
		if len(tb.Days) > 0 {
			name += " (" + strings.Join(tb.Days, ", ") + ")"
		}
		var parts []string
		if len(tb.Slabs) > 0 {
			for _, s := range tb.Slabs {
				price := s.Price.String()
				if s.Price == 0 {
					price = "free"
				}
				parts = append(parts, fmt.Sprintf("up to %s %s", fmtDur(s.UpTo), price))
			}
		} else {
			if tb.Free > 0 {
				parts = append(parts, fmt.Sprintf("first %s free", fmtDur(tb.Free)))
			}
			parts = append(parts, fmt.Sprintf("%s for the first %s", tb.FirstPrice, fmtDur(tb.FirstPeriod)))
			if tb.Increment > 0 {
				parts = append(parts, fmt.Sprintf("then %s per started %s", tb.IncrementPrice, fmtDur(tb.Increment)))
			}
		}
		if tb.Cap > 0 {
			parts = append(parts, fmt.Sprintf("at most %s per 24 h", tb.Cap))
		}
		if tb.After24h == "per_day" {
			parts = append(parts, fmt.Sprintf("over 24 h: %s per further started day", tb.ExtraDay))
		} else {
			parts = append(parts, "over 24 h: each 24 h block priced again")
		}
		out = append(out, name+": "+strings.Join(parts, " · "))
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
	return out
}
