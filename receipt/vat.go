package receipt

import "github.com/exitlane/exitlane/money"

// VATIncluded is the VAT contained in gross, a VAT-inclusive amount, at
// percent: gross × percent / (100 + percent), rounded to the nearest
// fils, a half fils rounding up (away from zero for a negative gross).
// Parking prices in the UAE are published VAT-inclusive (5%), so the VAT
// is taken out of the price, never added to it; the amount excluding VAT
// is gross minus this, so the two always add up to what was paid.
//
// Integer arithmetic only: gross is split as q×(100+percent) + r, so that
// q×percent is exact and cannot overflow, and only the remainder r (less
// than 100+percent) is rounded. A percent of 0 or less gives 0.
func VATIncluded(gross money.Fils, percent int) money.Fils {
	if percent <= 0 || gross == 0 {
		return 0
	}
	neg := gross < 0
	g := uint64(gross)
	if neg {
		g = uint64(-(gross + 1)) + 1 // safe for the most negative amount
	}
	p := uint64(percent)
	d := 100 + p
	q, r := g/d, g%d
	// round(r×p/d), half up: (2×r×p + d) / (2×d); r < d, so no overflow.
	v := q*p + (2*r*p+d)/(2*d)
	if neg {
		return -money.Fils(v)
	}
	return money.Fils(v)
}
