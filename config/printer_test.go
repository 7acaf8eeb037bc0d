package config

import (
	"strings"
	"testing"
	"time"
)

// The example's [printer] section loads with no printer and the
// documented defaults, and its [site] has no TRN.
func TestExamplePrinter(t *testing.T) {
	c, err := Load(lay(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Printer{Baud: 9600, Width: 80, ArabicName: true, PaperStatus: true, Timeout: 5 * time.Second}
	if c.Printer != want {
		t.Errorf("printer %+v, want %+v", c.Printer, want)
	}
	if c.Site.TRN != "" || c.Site.Address != "" {
		t.Errorf("site TRN %q, address %q", c.Site.TRN, c.Site.Address)
	}
}

func TestPrinterConfig(t *testing.T) {
	cases := []struct {
		name  string
		edits []string // pairs: old, new
		want  []string // problems ("" : loads)
		check func(*testing.T, *Config)
	}{
		{
			name: "a printer and a TRN",
			edits: []string{
				`port = ""                    # e.g. /dev/exitlane-printer`, `port = "/dev/exitlane-printer" #`,
				`width = 80`, `width = 58`,
				`auto_print = false`, `auto_print = true`,
				`arabic_name = true`, `arabic_name = false`,
				`address = ""`, `address = "Sheikh Zayed Road, Dubai"`,
				`tax_registration_number = ""`, `tax_registration_number = "100123456700003"`,
			},
			check: func(t *testing.T, c *Config) {
				if c.Printer.Port != "/dev/exitlane-printer" || c.Printer.Width != 58 || !c.Printer.AutoPrint || c.Printer.ArabicName {
					t.Errorf("printer %+v", c.Printer)
				}
				if c.Site.TRN != "100123456700003" || c.Site.Address != "Sheikh Zayed Road, Dubai" {
					t.Errorf("site %+v", c.Site)
				}
			},
		},
		{
			name: "every printer problem",
			edits: []string{
				`width = 80`, `width = 76`,
				`auto_print = false`, `auto_print = true`,
				`baud = 9600                  # RS-232`, `baud = 0 # RS-232`,
				`timeout = "5s"               # a receipt`, `timeout = "1m" # a receipt`,
			},
			want: []string{
				"printer.width: 76 is not 58 or 80",
				"printer.auto_print: true with no printer.port",
				"printer.baud: 0 must be positive",
				"printer.timeout: 1m0s is not between 1s and 30s",
			},
		},
		{
			name: "a tax invoice with a VAT rate that is not whole",
			edits: []string{
				`port = ""                    # e.g. /dev/exitlane-printer`, `port = "/dev/exitlane-printer" #`,
				`address = ""`, `address = "Sheikh Zayed Road, Dubai"`,
				`tax_registration_number = ""`, `tax_registration_number = "100123456700003"`,
				"[tariff]\n", "[tariff]\nvat_percent = \"7.7\"\n",
			},
			want: []string{"tariff.vat_percent: 7.7% with a printer and site.tax_registration_number: the receipt's tax invoice prints whole VAT rates only"},
		},
		{
			name:  "a TRN that is not one",
			edits: []string{`tax_registration_number = ""`, `tax_registration_number = "TRN-1234"`},
			want: []string{
				`site.tax_registration_number: "TRN-1234" is not a TRN: 15 digits`,
				"site.address: missing: a simplified tax invoice",
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := lay(t, func(s string) string {
				for i := 0; i < len(c.edits); i += 2 {
					if !strings.Contains(s, c.edits[i]) {
						t.Fatalf("example has no %q", c.edits[i])
					}
					s = strings.Replace(s, c.edits[i], c.edits[i+1], 1)
				}
				return s
			})
			if len(c.want) == 0 {
				cfg, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				c.check(t, cfg)
				return
			}
			msg := mustProblems(t, path)
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
		})
	}
}

// tariff.reentry loads, and is named as a setting the lane cannot apply.
func TestReentryWarning(t *testing.T) {
	c, err := Load(lay(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("the example warns: %q", w)
	}
	c, err = Load(lay(t, func(s string) string { return strings.Replace(s, "[tariff]\n", "[tariff]\nreentry = \"2h\"\n", 1) }))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 1 || !strings.Contains(w[0], "tariff.reentry: 2h0m0s is not applied at the lane") || !strings.Contains(w[0], "no plate") {
		t.Fatalf("warnings: %q", w)
	}
}
