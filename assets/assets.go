// Package assets holds the files the kiosk embeds so that it depends on
// nothing installed on the machine: an Arabic-capable font (Noto Sans
// Arabic, SIL Open Font License, see fonts/OFL.txt) and the driver-screen
// translations, kept as data (one JSON file per language under i18n/).
// The application icon, icon.png, is not embedded: fyne package puts it
// in the bundle (FyneApp.toml).
//
// The package has no Fyne dependency; ui wraps these bytes as resources.
package assets

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
)

//go:embed fonts/NotoSansArabic-Regular.ttf
var fontRegular []byte

//go:embed fonts/NotoSansArabic-Bold.ttf
var fontBold []byte

//go:embed i18n/*.json
var i18nFS embed.FS

// FontRegular and FontBold are Noto Sans Arabic. It covers Arabic letters,
// digits and common punctuation; Fyne falls back to its bundled Noto Sans
// for Latin letters, so both scripts render from embedded fonts.
func FontRegular() []byte { return fontRegular }

// FontBold is the bold face of FontRegular.
func FontBold() []byte { return fontBold }

// FontLicence is the text of the font's licence, shipped with the binary.

// Catalog maps message keys to the texts of one language.
type Catalog map[string]Text

// Text is one message: its text for each CLDR plural category of the
// language ("zero", "one", "two", "few", "many", "other"). A message that
// does not depend on a count has only "other"; in the JSON file it is a
// plain string, and a counted message is an object of categories, the
// format of github.com/nicksnyder/go-i18n: {"one": "1 hour", "other":
// "{count} hours"}. Texts may hold placeholders written {name}.
type Text map[string]string

// Plural categories a Text may have (CLDR).
var PluralCategories = []string{"zero", "one", "two", "few", "many", "other"}

// Other is the text for counts of the "other" category, and the text of a
// message without a count.
func (t Text) Other() string { return t["other"] }

// UnmarshalJSON reads a plain string or an object of plural categories.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Text{"other": s}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("a text is a string or an object of plural categories: %w", err)
	}
	for k := range m {
		if !slices.Contains(PluralCategories, k) {
			return fmt.Errorf("%q is not a CLDR plural category (%s)", k, strings.Join(PluralCategories, ", "))
		}
	}
	if _, ok := m["other"]; !ok {
		return fmt.Errorf(`a counted text needs its "other" form`)
	}
	*t = m
	return nil
}

var placeholder = regexp.MustCompile(`\{[a-z_]+\}`)

// Languages lists the languages with a translation file, sorted ("ar", "en").
func Languages() []string {
	ents, _ := fs.ReadDir(i18nFS, "i18n")
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Translations loads the catalog of one language.
func Translations(lang string) (Catalog, error) {
	b, err := i18nFS.ReadFile("i18n/" + lang + ".json")
	if err != nil {
		return nil, fmt.Errorf("load translations %q: %w", lang, err)
	}
	return ParseCatalog(b)
}

// ParseCatalog reads a translation file: one JSON object whose values are
// strings or objects of plural categories (see Text).
func ParseCatalog(b []byte) (Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parse translations: %w", err)
	}
	return c, nil
}

// Message is key's text (its "other" form) with its {name} placeholders
// filled from kv, pairs of name and value; false when the catalog has no
// such key.
func (c Catalog) Message(key string, kv ...string) (string, bool) {
	t, ok := c[key]
	if !ok {
		return "", false
	}
	return Format(t.Other(), Pairs(kv...)), true
}

// Pairs makes Format's arguments from pairs of name and value.
func Pairs(kv ...string) map[string]string {
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	return args
}

// Format replaces each {name} in text with args[name].
func Format(text string, args map[string]string) string {
	if len(args) == 0 {
		return text
	}
	return placeholder.ReplaceAllStringFunc(text, func(p string) string {
		if v, ok := args[p[1:len(p)-1]]; ok {
			return v
		}
		return p
	})
}
