// Package money holds amounts of UAE dirhams as integer fils.
//
// 1 AED = 100 fils. Amounts are never floats: they are parsed from and
// formatted to decimal text exactly, and a third decimal place is an error,
// never a rounding.
package money

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Fils is an amount of money in fils (1/100 AED).
type Fils int64

// Currency is the ISO 4217 code of the only currency the lane handles.
const Currency = "AED"

// AED returns n whole dirhams as Fils.
func AED(n int64) Fils { return Fils(n * 100) }

// Errors returned by Parse. Each wraps a message that says why.
var (
	ErrEmpty     = errors.New("empty amount")
	ErrSyntax    = errors.New("malformed amount")
	ErrPrecision = errors.New("more than two decimal places")
	ErrRange     = errors.New("amount out of range")
	ErrNegative  = errors.New("negative amount")
)

// Max is the largest amount a config file or a command line may write:
// AED 1,000,000.00. No parking fee, price, cap or payment comes near it,
// and with every tariff amount at most Max the fee of the longest stay a
// time.Duration can hold still fits an int64 (see ticket.Tariff.Validate).
const Max = Fils(1_000_000 * 100)

// maxWhole is the largest whole-dirham part Parse accepts, so that the
// amount in fils always fits an int64 with room to add.
const maxWhole = math.MaxInt64/100 - 1

// Parse reads an amount written as "12", "12.5", "12.50", "AED 12.50" or
// "-3.00". It rejects exponents, thousands or decimal commas, more than two
// decimal places, empty input and overflow, with an error that says why.
func Parse(s string) (Fils, error) {
	orig := s
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, Currency); ok {
		s = strings.TrimSpace(rest)
	}
	if s == "" {
		return 0, fmt.Errorf("parse amount %q: %w", orig, ErrEmpty)
	}
	neg := false
	if s[0] == '-' || s[0] == '+' {
		neg = s[0] == '-'
		s = s[1:]
	}
	whole, frac, hasDot := strings.Cut(s, ".")
	if whole == "" {
		return 0, fmt.Errorf("parse amount %q: %w: no digits before the decimal point", orig, ErrSyntax)
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("parse amount %q: %w: no digits after the decimal point", orig, ErrSyntax)
	}
	for _, part := range []string{whole, frac} {
		for i := 0; i < len(part); i++ {
			if c := part[i]; c < '0' || c > '9' {
				return 0, fmt.Errorf("parse amount %q: %w: unexpected %q (write amounts like 12.50)", orig, ErrSyntax, c)
			}
		}
	}
	if len(frac) > 2 {
		return 0, fmt.Errorf("parse amount %q: %w (the smallest unit is one fils, 0.01)", orig, ErrPrecision)
	}
	var w int64
	for i := 0; i < len(whole); i++ {
		if w > (maxWhole-int64(whole[i]-'0'))/10 {
			return 0, fmt.Errorf("parse amount %q: %w", orig, ErrRange)
		}
		w = w*10 + int64(whole[i]-'0')
	}
	var f int64
	switch len(frac) {
	case 1:
		f = int64(frac[0]-'0') * 10
	case 2:
		f = int64(frac[0]-'0')*10 + int64(frac[1]-'0')
	}
	v := w*100 + f
	if neg {
		v = -v
	}
	return Fils(v), nil
}

// CheckRange reports whether f is an amount a person may write: from 0 to
// Max. The error wraps ErrNegative or ErrRange and says the bound.
func (f Fils) CheckRange() error {
	switch {
	case f < 0:
		return fmt.Errorf("%w: must not be negative", ErrNegative)
	case f > Max:
		return fmt.Errorf("%w: %s is more than %s", ErrRange, f, Max)
	}
	return nil
}

// Add returns a+b, or false if the sum does not fit a Fils.
func Add(a, b Fils) (Fils, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}

// Mul returns a*n, or false if the product does not fit a Fils.
func Mul(a Fils, n int64) (Fils, bool) {
	if a == 0 || n == 0 {
		return 0, true
	}
	p := int64(a) * n
	if p/n != int64(a) || (int64(a) == -1 && n == math.MinInt64) || (n == -1 && int64(a) == math.MinInt64) {
		return 0, false
	}
	return Fils(p), true
}

// MustParse is Parse for constants in tests and tables; it panics on error.
func MustParse(s string) Fils {
	f, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return f
}

// Decimal formats the amount as a plain decimal with exactly two places,
// "12.50" or "-0.05", the form PayBy and config files use.
func (f Fils) Decimal() string {
	v := int64(f)
	sign := ""
	if v < 0 {
		sign = "-"
	}
	u := uint64(v)
	if v < 0 {
		u = uint64(-(v + 1)) + 1 // safe for MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// String formats the amount as "AED 12.50".
func (f Fils) String() string { return Currency + " " + f.Decimal() }

// MarshalText writes the amount as a decimal, so JSON and TOML carry
// "12.50" rather than a bare fils count.
func (f Fils) MarshalText() ([]byte, error) { return []byte(f.Decimal()), nil }

// UnmarshalText reads an amount written as Parse accepts.
func (f *Fils) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*f = v
	return nil
}

// UnmarshalTOML refuses bare TOML numbers: `price = 20` is ambiguous
// (dirhams or fils?) and a float is never an amount, so config files write
// amounts as strings, `price = "20.00"`.
func (f *Fils) UnmarshalTOML(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("amount %v: write amounts as strings, like \"20.00\"", v)
	}
	return f.UnmarshalText([]byte(s))
}
