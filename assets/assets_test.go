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
		if strings.TrimSpace(a) == "" || strings.TrimSpace(v) == "" {
			t.Errorf("%q is empty", k)
		}
		if !slices.Equal(placeholders(v), placeholders(a)) {
			t.Errorf("%q placeholders differ: en %v ar %v", k, placeholders(v), placeholders(a))
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

func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"a":"b {x}"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCatalog(b)
		if err != nil {
			return
		}
		for _, v := range c {
			_ = Format(v, map[string]string{"x": "1"})
		}
	})
}
