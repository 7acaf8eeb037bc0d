package money

import (
	"errors"
	"math"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in   string
		want Fils
		err  error
	}{
		{"12", 1200, nil},
		{"12.5", 1250, nil},
		{"12.50", 1250, nil},
		{"AED 12.50", 1250, nil},
		{"AED12.50", 1250, nil},
		{" 0.01 ", 1, nil},
		{"0", 0, nil},
		{"-3.05", -305, nil},
		{"007.10", 710, nil},
		{"92233720368547758.00", 0, ErrRange}, {"92233720368547757.99", 9223372036854775799, nil},
		{"12.505", 0, ErrPrecision},
		{"1e3", 0, ErrSyntax},
		{"12,50", 0, ErrSyntax},
		{"1,200.00", 0, ErrSyntax},
		{"", 0, ErrEmpty},
		{"AED", 0, ErrEmpty},
		{"  ", 0, ErrEmpty},
		{".5", 0, ErrSyntax},
		{"5.", 0, ErrSyntax},
		{"--5", 0, ErrSyntax},
		{"USD 5", 0, ErrSyntax},
		{"NaN", 0, ErrSyntax},
		{"99999999999999999999", 0, ErrRange},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if !errors.Is(err, c.err) || got != c.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestFormat(t *testing.T) {
	cases := map[Fils]string{
		0: "AED 0.00", 1: "AED 0.01", 1250: "AED 12.50", 100000: "AED 1000.00", -5: "AED -0.05",
		math.MinInt64: "AED -92233720368547758.08",
	}
	for f, want := range cases {
		if got := f.String(); got != want {
			t.Errorf("%d: %q, want %q", int64(f), got, want)
		}
	}
	if AED(20) != 2000 {
		t.Error("AED(20)")
	}
}

func TestTOMLNeedsStrings(t *testing.T) {
	var f Fils
	if err := f.UnmarshalTOML(int64(20)); err == nil {
		t.Error("bare integer accepted")
	}
	if err := f.UnmarshalTOML("20.00"); err != nil || f != 2000 {
		t.Errorf("%v %d", err, f)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"12", "12.5", "AED 12.50", "-0.01", "1e3", "12,50", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		// Whatever parses formats back to something that parses the same.
		back, err := Parse(v.String())
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, v, v.String(), back, err)
		}
	})
}

func TestCheckRange(t *testing.T) {
	for _, c := range []struct {
		in   Fils
		want error
	}{
		{0, nil},
		{4000, nil},
		{Max, nil},
		{Max + 1, ErrRange},
		{-1, ErrNegative},
	} {
		if err := c.in.CheckRange(); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%d.CheckRange() = %v, want %v", c.in, err, c.want)
		}
	}
}

func TestCheckedArithmetic(t *testing.T) {
	adds := []struct {
		a, b, want Fils
		ok         bool
	}{
		{1, 2, 3, true},
		{math.MaxInt64 - 1, 1, math.MaxInt64, true},
		{math.MaxInt64, 1, 0, false},
		{math.MinInt64, -1, 0, false},
		{math.MinInt64, math.MaxInt64, -1, true},
		{-5, 3, -2, true},
	}
	for _, c := range adds {
		if got, ok := Add(c.a, c.b); got != c.want || ok != c.ok {
			t.Errorf("Add(%d, %d) = %d, %v; want %d, %v", c.a, c.b, got, ok, c.want, c.ok)
		}
	}
	muls := []struct {
		a    Fils
		n    int64
		want Fils
		ok   bool
	}{
		{100, 3, 300, true},
		{0, math.MaxInt64, 0, true},
		{Max, 106751, Max * 106751, true},
		// The extra_day times one extra day is fine; times two wraps.
		{MustParse("92233720368547757.00"), 1, MustParse("92233720368547757.00"), true},
		{MustParse("92233720368547757.00"), 2, 0, false},
		{math.MaxInt64/2 + 1, 2, 0, false},
		{-1, math.MinInt64, 0, false},
		{math.MinInt64, -1, 0, false},
		{-3, 4, -12, true},
	}
	for _, c := range muls {
		if got, ok := Mul(c.a, c.n); got != c.want || ok != c.ok {
			t.Errorf("Mul(%d, %d) = %d, %v; want %d, %v", c.a, c.n, got, ok, c.want, c.ok)
		}
	}
}
