package money

import "math/bits"

// VATPart is the VAT included in gross, a VAT-inclusive amount, at rate
// hundredths of a percent (500 is 5 %, 770 is 7.7 %, as ticket.Percent):
// gross × rate / (10000 + rate), rounded to the nearest fils, a half
// rounding up (away from zero for a negative amount). The net is gross
// minus it, so net and VAT always add up to gross. A rate of 0 or less
// gives 0.
//
// It is the one VAT rounding of the lane: the tariff's quotes
// (ticket.VATPart), the ledger's VAT on each payment, exit and refund,
// and so the reports, which sum those.
func VATPart(gross Fils, rate int64) Fils {
	if gross == 0 || rate <= 0 {
		return 0
	}
	neg := gross < 0
	g := uint64(gross)
	if neg {
		g = uint64(-(gross + 1)) + 1 // safe for MinInt64
	}
	den := uint64(10000) + uint64(rate)
	// g×rate fits 128 bits; hi < den because g < 2^63 and rate < den, so
	// Div64 cannot overflow.
	hi, lo := bits.Mul64(g, uint64(rate))
	lo, carry := bits.Add64(lo, den/2, 0)
	hi += carry
	q, _ := bits.Div64(hi, lo, den)
	if neg {
		return -Fils(q)
	}
	return Fils(q)
}
