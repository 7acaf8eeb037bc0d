package assets

import (
	"bytes"
	"image/png"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
)

// placeholders returns the sorted placeholders of a text ("{amount}", ...).
func placeholders(text string) []string {
	p := placeholder.FindAllString(text, -1)
	sort.Strings(p)
	return p
}

func TestCatalogsAgree(t *testing.T) {
	langs := Languages()
	if !slices.Equal(langs, []string{"ar", "en"}) {
		t.Fatalf("Languages() = %v, want [ar en]", langs)
	}
	en, err := Translations("en")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := Translations("ar")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range en {
		a, ok := ar[k]
		if !ok {
			t.Errorf("ar lacks %q", k)
			continue
		}
		if strings.TrimSpace(a.Other()) == "" || strings.TrimSpace(v.Other()) == "" {
			t.Errorf("%q is empty", k)
		}
		if !slices.Equal(placeholders(v.Other()), placeholders(a.Other())) {
			t.Errorf("%q placeholders differ: en %v ar %v", k, placeholders(v.Other()), placeholders(a.Other()))
		}
		// A plural form may leave out {count} ("ساعتان", two hours) but
		// has no placeholder its "other" form lacks.
		for lang, text := range map[string]Text{"en": v, "ar": a} {
			for cat, form := range text {
				for _, p := range placeholders(form) {
					if !slices.Contains(placeholders(text.Other()), p) {
						t.Errorf("%s %q %s: placeholder %s is not in the other form", lang, k, cat, p)
					}
				}
			}
		}
		if (len(v) > 1) != (len(a) > 1) {
			t.Errorf("%q is counted in one language only", k)
		}
	}
	for k := range ar {
		if _, ok := en[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		text string
		args map[string]string
		want string
	}{
		{"AED {amount}", map[string]string{"amount": "12.50"}, "AED 12.50"},
		{"{h} h {m} min", map[string]string{"h": "2", "m": "5"}, "2 h 5 min"},
		{"{missing} x", map[string]string{"a": "b"}, "{missing} x"},
		{"plain", nil, "plain"},
	} {
		if got := Format(tc.text, tc.args); got != tc.want {
			t.Errorf("Format(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}

func TestEmbedded(t *testing.T) {
	// Not embedded: fyne package bundles the icon (FyneApp.toml), and the
	// linker dropped an embedded licence nothing read.
	icon, err := os.ReadFile("icon.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(icon)); err != nil {
		t.Errorf("icon: %v", err)
	}
	for name, b := range map[string][]byte{"regular": FontRegular(), "bold": FontBold()} {
		if len(b) < 1000 || !bytes.HasPrefix(b, []byte{0, 1, 0, 0}) {
			t.Errorf("font %s is not a TrueType file", name)
		}
	}
	if licence, err := os.ReadFile("fonts/OFL.txt"); err != nil || !strings.Contains(string(licence), "SIL Open Font License") {
		t.Errorf("font licence: %v", err)
	}
}

func TestParseCatalogRejectsNonStrings(t *testing.T) {
	if _, err := ParseCatalog([]byte(`{"a": 1}`)); err == nil {
		t.Error("want error for a number value")
	}
}

func TestParseCatalogPlurals(t *testing.T) {
	c, err := ParseCatalog([]byte(`{"h": {"one": "1 hour", "other": "{count} hours"}, "p": "plain"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c["h"]["one"] != "1 hour" || c["h"].Other() != "{count} hours" || c["p"].Other() != "plain" || len(c["p"]) != 1 {
		t.Errorf("parsed %v", c)
	}
	for _, bad := range []string{
		`{"h": {"one": "1 hour"}}`,             // no other
		`{"h": {"single": "x", "other": "y"}}`, // not a category
		`{"h": {"one": 1, "other": "y"}}`,      // not a string
		`{"h": ["x"]}`,
	} {
		if _, err := ParseCatalog([]byte(bad)); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"a":"b {x}"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCatalog(b)
		if err != nil {
			return
		}
		for _, v := range c {
			for _, form := range v {
				_ = Format(form, map[string]string{"x": "1"})
			}
		}
	})
}

func TestCatalogMessage(t *testing.T) {
	c := Catalog{"fee.amount": Text{"other": "AED {amount}"}, "plain": Text{"other": "Scan"}}
	if s, ok := c.Message("fee.amount", "amount", "20.00"); !ok || s != "AED 20.00" {
		t.Errorf("fee.amount: %q %v", s, ok)
	}
	if s, ok := c.Message("plain"); !ok || s != "Scan" {
		t.Errorf("plain: %q %v", s, ok)
	}
	if s, ok := c.Message("missing", "a", "b"); ok || s != "" {
		t.Errorf("missing: %q %v", s, ok)
	}
}
