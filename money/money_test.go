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
