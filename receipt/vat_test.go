package receipt

import (
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
)

// The receipt's VAT is money.VATPart at its rate in hundredths of a
// percent (the ledger's rounding, station.TestReceiptAndLedgerVATAgree):
// the table of VAT-inclusive amounts, the VAT they contain and how it
// rounds to the fils, half up.
func TestReceiptVAT(t *testing.T) {
	cases := []struct {
		gross string
		rate  int64
		want  string
		why   string
	}{
		{"0.00", 500, "0.00", "nothing paid"},
		{"0.10", 500, "0.00", "0.476 fils rounds down"},
		{"0.11", 500, "0.01", "0.524 fils rounds up"},
		{"0.21", 500, "0.01", "exactly 1 fils"},
		{"15.00", 500, "0.71", "71.429 fils"},
		{"20.00", 500, "0.95", "95.238 fils"},
		{"105.00", 500, "5.00", "exactly 500 fils"},
		{"1000000.00", 500, "47619.05", "the largest amount: 4761904.762 fils"},
		{"0.03", 2000, "0.01", "0.5 fils rounds up (3/6)"},
		{"0.05", 10000, "0.03", "2.5 fils rounds up"},
		{"20.50", 250, "0.50", "2.5 %: 50 fils exactly"},
		{"40.00", 770, "2.86", "7.7 %: 286.0 fils"},
		{"12.50", 0, "0.00", "no VAT"},
		{"-15.00", 500, "-0.71", "a refund mirrors the payment"},
	}
	for _, c := range cases {
		r := Receipt{TRN: "100123456700003", VATRate: c.rate, Paid: money.MustParse(c.gross)}
		if got, want := r.VAT(), money.MustParse(c.want); got != want {
			t.Errorf("VAT of %s at %s = %s, want %s (%s)", c.gross, ratePercent(c.rate), got.Decimal(), want.Decimal(), c.why)
		}
		if got := r.VAT(); got != money.VATPart(r.Paid, c.rate) {
			t.Errorf("VAT of %s at %d: %s, money.VATPart says %s", c.gross, c.rate, got, money.VATPart(r.Paid, c.rate))
		}
		r.TRN = ""
		if r.VAT() != 0 {
			t.Errorf("VAT without a TRN: %s", r.VAT())
		}
	}
}

// The rate prints as a percentage with no trailing zeros: the goldens'
// "VAT 5% included", and a fractional rate as it is written in the
// tariff.
func TestReceiptVATRatePrinted(t *testing.T) {
	for rate, want := range map[int64]string{500: "VAT 5% included", 250: "VAT 2.5% included", 770: "VAT 7.7% included",
		1234: "VAT 12.34% included", 1000: "VAT 10% included", 50: "VAT 0.5% included"} {
		r := Receipt{Site: "Garage", TRN: "100123456700003", VATRate: rate, Paid: 2050, Exit: time.Unix(1e9, 0)}
		b, err := Encode(r, Layout{Width: Width80})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("rate %d: the receipt does not say %q", rate, want)
		}
	}
}
