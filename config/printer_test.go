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
			// The receipt prints a fractional rate as written ("VAT 7.7%").
			name: "a tax invoice with a VAT rate that is not whole",
			edits: []string{
				`port = ""                    # e.g. /dev/exitlane-printer`, `port = "/dev/exitlane-printer" #`,
				`address = ""`, `address = "Sheikh Zayed Road, Dubai"`,
				`tax_registration_number = ""`, `tax_registration_number = "100123456700003"`,
				"[tariff]\n", "[tariff]\nvat_percent = \"7.7\"\n",
			},
			check: func(t *testing.T, c *Config) {
				if c.Tariff.VATPercent != 770 || c.Site.TRN == "" || c.Printer.Port == "" {
					t.Errorf("VAT %s, TRN %q, printer %q", c.Tariff.VATPercent, c.Site.TRN, c.Printer.Port)
				}
			},
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

// tariff.reentry loads; the lane matches a re-entry by the plate that
// signed (EL3) codes or a pattern's plate group carry, so only a pattern
// without one warns that the attendant's action is the only way.
func TestReentryWarning(t *testing.T) {
	c, err := Load(lay(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("the example warns: %q", w)
	}
	reentry := func(s string) string { return strings.Replace(s, "[tariff]\n", "[tariff]\nreentry = \"2h\"\n", 1) }
	c, err = Load(lay(t, reentry))
	if err != nil {
		t.Fatal(err)
	}
	if w := c.Warnings(); len(w) != 0 {
		t.Fatalf("signed codes (EL3 carries a plate): %q", w)
	}
	for _, c := range []struct {
		pattern string
		warns   bool
	}{
		{`(?P<serial>\d{8})(?P<entry>\d{12})`, true},
		{`(?P<serial>\d{8})(?P<entry>\d{12})(?P<plate>[A-Z0-9]*)`, false},
	} {
		pat := func(s string) string {
			s = strings.Replace(reentry(s), `format = "signed"`, `format = "pattern"`, 1)
			return strings.Replace(s, "#pattern = '(?P<serial>\\d{8})(?P<entry>\\d{12})'", "pattern = '"+c.pattern+"'\ntime_layout = \"060102150405\"", 1)
		}
		cfg, err := Load(lay(t, pat))
		if err != nil {
			t.Fatal(err)
		}
		w := cfg.Warnings()
		if c.warns != (len(w) == 1) || c.warns && (!strings.Contains(w[0], "tariff.reentry: 2h0m0s: the ticket pattern has no plate group") || !strings.Contains(w[0], "Re-entry of ticket")) {
			t.Errorf("%s: warnings %q", c.pattern, w)
		}
	}
}
