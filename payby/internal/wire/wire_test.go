package wire

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/exitlane/exitlane/money"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want money.Fils
		err  error
	}{
		{"1", 100, nil}, {"0.1", 10, nil}, {"25.00", 2500, nil}, {"25.5", 2550, nil}, {"0", 0, nil},
		{"007.05", 705, nil}, {"999999999999.99", 99999999999999, nil},
		{"25.001", 0, ErrAmountPrecision}, {"0.005", 0, ErrAmountPrecision},
		{"1e2", 0, ErrAmountSyntax}, {"-1", 0, ErrAmountSyntax}, {"+1", 0, ErrAmountSyntax}, {"", 0, ErrAmountSyntax},
		{".5", 0, ErrAmountSyntax}, {"5.", 0, ErrAmountSyntax}, {"1,5", 0, ErrAmountSyntax}, {"NaN", 0, ErrAmountSyntax},
		{"1000000000000", 0, ErrAmountRange},
	} {
		got, err := ParseAmount(tc.in)
		if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestAmountJSON(t *testing.T) {
	b, err := json.Marshal(Money{Currency: "AED", Amount: 2500})
	if err != nil || string(b) != `{"currency":"AED","amount":25.00}` {
		t.Fatalf("%s %v", b, err)
	}
	b, _ = json.Marshal(AED(5))
	if string(b) != `{"currency":"AED","amount":0.05}` {
		t.Fatalf("%s", b)
	}
	if _, err := json.Marshal(AED(-5)); err == nil {
		t.Fatal("negative amount marshalled")
	}
	var m Money
	for in, want := range map[string]money.Fils{`{"amount":10}`: 1000, `{"amount":"0.30"}`: 30, `{"amount":200.00}`: 20000} {
		if err := json.Unmarshal([]byte(in), &m); err != nil || m.Fils() != want {
			t.Errorf("%s: %d %v", in, m.Fils(), err)
		}
	}
	if err := json.Unmarshal([]byte(`{"amount":1.234}`), &m); err == nil {
		t.Fatal("third decimal accepted")
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1", "0.1", "25.00", "25.001", "1e3", "-0", "999999999999.99"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("%q parsed negative %d", s, v)
		}
		// Round trip: the canonical form parses back to the same value.
		back, err := ParseAmount(money.Fils(v).Decimal())
		if err != nil || back != v {
			t.Fatalf("%q -> %d -> %q -> %d %v", s, v, money.Fils(v).Decimal(), back, err)
		}
	})
}

func TestHeadLenient(t *testing.T) {
	for in, want := range map[string]Head{
		`{"applyStatus":"SUCCESS","code":"0","msg":"SUCCESS","traceCode":"843909"}`: {"SUCCESS", "0", "SUCCESS", "843909"},
		`{"applyStatus":"FAIL","code":62016,"msg":"X","traceCode":843909}`:          {"FAIL", "62016", "X", "843909"},
		`{"applyStatus":"FAIL"}`: {ApplyStatus: "FAIL"},
	} {
		var h Head
		if err := json.Unmarshal([]byte(in), &h); err != nil || h != want {
			t.Errorf("%s: %+v %v", in, h, err)
		}
	}
	var h Head
	if err := json.Unmarshal([]byte(`{"code":true}`), &h); err == nil {
		t.Error("boolean code accepted")
	}
}
