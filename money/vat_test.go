package money

import (
	"math/big"
	"testing"
)

// VATPart rounds gross×rate/(10000+rate) to the nearest fils, halves up
// (away from zero), exactly: checked against big-number arithmetic.
func TestVATPartExact(t *testing.T) {
	exact := func(g Fils, rate int64) Fils {
		num := new(big.Int).Mul(big.NewInt(int64(g)), big.NewInt(rate))
		den := big.NewInt(10000 + rate)
		neg := num.Sign() < 0
		num.Abs(num)
		// round half up of |num|/den: floor((2·num + den) / (2·den))
		n2 := new(big.Int).Add(new(big.Int).Mul(num, big.NewInt(2)), den)
		q := new(big.Int).Quo(n2, new(big.Int).Mul(den, big.NewInt(2)))
		if neg {
			q.Neg(q)
		}
		return Fils(q.Int64())
	}
	for _, rate := range []int64{1, 250, 500, 770, 1000, 1900, 2500, 10000} {
		for g := Fils(-2100); g <= 21000; g++ {
			if got, want := VATPart(g, rate), exact(g, rate); got != want {
				t.Fatalf("VATPart(%d, %d) = %d, want %d", g, rate, got, want)
			}
		}
	}
	for _, c := range []struct {
		g    Fils
		rate int64
		want Fils
	}{
		{1500, 500, 71}, {2500, 500, 119}, {15000, 500, 714}, {0, 500, 0}, {2000, 0, 0}, {2000, -5, 0},
		{Fils(1<<63 - 1), 500, Fils((1<<63 - 1) / 21)},
		{-Fils(1<<63-1) - 1, 500, -Fils(439208192231179800)},
	} {
		if got := VATPart(c.g, c.rate); got != c.want {
			t.Errorf("VATPart(%d, %d) = %d, want %d", c.g, c.rate, got, c.want)
		}
	}
}
