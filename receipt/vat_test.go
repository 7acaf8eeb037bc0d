package receipt

import (
	"math"
	"testing"

	"github.com/exitlane/exitlane/money"
)

// The VAT rounding table: VAT-inclusive amounts, the VAT they contain
// (gross × p / (100 + p)) and how it rounds to the fils, half up.
func TestVATIncluded(t *testing.T) {
	cases := []struct {
		gross   string
		percent int
		want    string
		why     string
	}{
		{"0.00", 5, "0.00", "nothing paid"},
		{"0.10", 5, "0.00", "0.476 fils rounds down"},
		{"0.11", 5, "0.01", "0.524 fils rounds up"},
		{"0.21", 5, "0.01", "exactly 1 fils"},
		{"1.00", 5, "0.05", "4.762 fils"},
		{"5.00", 5, "0.24", "23.810 fils"},
		{"10.00", 5, "0.48", "47.619 fils"},
		{"15.00", 5, "0.71", "71.429 fils"},
		{"20.00", 5, "0.95", "95.238 fils"},
		{"25.00", 5, "1.19", "119.048 fils"},
		{"50.00", 5, "2.38", "238.095 fils"},
		{"105.00", 5, "5.00", "exactly 500 fils"},
		{"150.00", 5, "7.14", "714.286 fils"},
		{"1000000.00", 5, "47619.05", "the largest amount: 4761904.762 fils"},
		// 5% has no exact halves (gross/21); these rates do.
		{"0.03", 20, "0.01", "0.5 fils rounds up (3/6)"},
		{"0.09", 20, "0.02", "1.5 fils rounds up"},
		{"0.01", 100, "0.01", "0.5 fils rounds up"},
		{"0.05", 100, "0.03", "2.5 fils rounds up"},
		{"0.11", 10, "0.01", "exactly 1 fils"},
		{"0.16", 10, "0.01", "1.4545 fils"},
		{"12.50", 0, "0.00", "no VAT"},
		{"-0.03", 20, "-0.01", "a negative amount rounds half away from zero"},
		{"-15.00", 5, "-0.71", "a refund mirrors the payment"},
	}
	for _, c := range cases {
		got := VATIncluded(money.MustParse(c.gross), c.percent)
		if want := money.MustParse(c.want); got != want {
			t.Errorf("VATIncluded(%s, %d%%) = %s, want %s (%s)", c.gross, c.percent, got.Decimal(), want.Decimal(), c.why)
		}
	}
}

// Against exact rational arithmetic for every amount up to AED 100 at the
// UAE rate and at a rate with halves, and at the extremes of an int64.
func TestVATIncludedExhaustive(t *testing.T) {
	for _, p := range []int64{5, 20, 15} {
		for g := int64(0); g <= 10000; g++ {
			num, den := g*p, 100+p
			want := num / den
			if 2*(num%den) >= den {
				want++
			}
			if got := VATIncluded(money.Fils(g), int(p)); got != money.Fils(want) {
				t.Fatalf("VATIncluded(%d fils, %d%%) = %d, want %d", g, p, got, want)
			}
			if got := VATIncluded(money.Fils(-g), int(p)); got != money.Fils(-want) {
				t.Fatalf("VATIncluded(%d fils, %d%%) = %d, want %d", -g, p, got, -want)
			}
		}
	}
	// No overflow at the ends: MaxInt64 = 21 × 439208192231179800 + 7.
	if got, want := VATIncluded(math.MaxInt64, 5), money.Fils(439208192231179800); got != want {
		t.Errorf("VATIncluded(MaxInt64, 5%%) = %d, want %d", got, want)
	}
	if got := VATIncluded(math.MinInt64, 5); got != -439208192231179800 {
		t.Errorf("VATIncluded(MinInt64, 5%%) = %d", got)
	}
}
