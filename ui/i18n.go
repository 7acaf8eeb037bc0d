package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/nicksnyder/go-i18n/v2/i18n/template"
	"golang.org/x/text/language"

	"github.com/exitlane/exitlane/assets"
	"github.com/exitlane/exitlane/money"
)

// Languages of the driver screens, in the order the switch cycles them.
const (
	LangEnglish = "en"
	LangArabic  = "ar"
)

var (
	catalogs = map[string]assets.Catalog{}
	// bundle holds every catalog for go-i18n, which picks the CLDR plural
	// category of a count (Arabic has six: 0 zero, 1 one, 2 two, 3-10
	// few, 11-99 many, 100 other).
	bundle     = i18n.NewBundle(language.English)
	localizers = map[string]*i18n.Localizer{}
)

func init() {
	for _, l := range assets.Languages() {
		c, err := assets.Translations(l)
		if err != nil {
			panic("ui: " + err.Error()) // embedded data; assets tests guard it
		}
		catalogs[l] = c
		tag := language.Make(l)
		for key, text := range c {
			if len(text) < 2 {
				continue // not counted: T reads it directly
			}
			m := &i18n.Message{ID: key, Zero: text["zero"], One: text["one"], Two: text["two"],
				Few: text["few"], Many: text["many"], Other: text["other"]}
			if err := bundle.AddMessages(tag, m); err != nil {
				panic("ui: " + err.Error())
			}
		}
		localizers[l] = i18n.NewLocalizer(bundle, l)
	}
}

// braces fills go-i18n's chosen plural form with the catalogs' own {name}
// placeholders instead of Go templates.
type braces struct{}

func (braces) Cacheable() bool { return true }

func (braces) Parse(src, _, _ string) (template.ParsedTemplate, error) { return bracesText(src), nil }

type bracesText string

func (t bracesText) Execute(data any) (string, error) {
	args, _ := data.(map[string]string)
	return assets.Format(string(t), args), nil
}

// tr translates for one language.
type tr struct {
	lang string
	cat  assets.Catalog
}

func newTr(lang string) tr {
	c, ok := catalogs[lang]
	if !ok {
		lang, c = LangEnglish, catalogs[LangEnglish]
	}
	return tr{lang: lang, cat: c}
}

func (t tr) rtl() bool { return t.lang == LangArabic }

// T returns the text of key with {name} placeholders filled from kv pairs.
// A missing key shows the key itself, never an empty screen.
func (t tr) T(key string, kv ...string) string {
	if s, ok := t.cat.Message(key, kv...); ok {
		return s
	}
	if s, ok := catalogs[LangEnglish].Message(key, kv...); ok {
		return s
	}
	return key
}

// N returns the form of a counted text for n, chosen by the language's
// CLDR plural rules, with {count} set to n and other placeholders from kv.
func (t tr) N(key string, n int64, kv ...string) string {
	args := assets.Pairs(kv...)
	args["count"] = fmt.Sprint(n)
	s, err := localizers[t.lang].Localize(&i18n.LocalizeConfig{
		MessageID: key, PluralCount: n, TemplateData: args, TemplateParser: braces{},
	})
	if err != nil && s == "" {
		return t.T(key, "count", args["count"])
	}
	return s
}

// amount is a fee in the language's words: "AED 12.50" / "12.50 درهم".
func (t tr) amount(f money.Fils) string { return t.T("fee.amount", "amount", f.Decimal()) }

// duration is a stay in hours and minutes, rounded down to the minute,
// with the language's plural forms: "2 hours 17 minutes", "ساعتان و17
// دقيقة"; a zero part is left out.
func (t tr) duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := int64(d / time.Hour)
	m := int64((d % time.Hour) / time.Minute)
	switch {
	case h == 0:
		return t.N("duration.minutes", m)
	case m == 0:
		return t.N("duration.hours", h)
	}
	return t.T("duration.hm", "hours", t.N("duration.hours", h), "minutes", t.N("duration.minutes", m))
}

// countdown is the time left as m:ss, the same in both languages: "2:05".
func countdown(left time.Duration) string {
	secs := int64((left + time.Second - 1) / time.Second)
	if secs < 0 {
		secs = 0
	}
	return fmt.Sprintf("%d:%02d", secs/60, secs%60)
}

// clock is an entry time in the site's zone: "09:30", or "24 Nov 09:30"
// when not on the same day as now.
func (t tr) clock(at, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	at, now = at.In(loc), now.In(loc)
	if at.YearDay() == now.YearDay() && at.Year() == now.Year() {
		return at.Format("15:04")
	}
	return strings.TrimSpace(at.Format("2006-01-02 15:04"))
}
