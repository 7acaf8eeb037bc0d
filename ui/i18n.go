package ui

import (
	"fmt"
	"strings"
	"time"

	"github.com/exitlane/exitlane/assets"
	"github.com/exitlane/exitlane/money"
)

// Languages of the driver screens, in the order the switch cycles them.
const (
	LangEnglish = "en"
	LangArabic  = "ar"
)

var catalogs = map[string]assets.Catalog{}

func init() {
	for _, l := range assets.Languages() {
		c, err := assets.Translations(l)
		if err != nil {
			panic("ui: " + err.Error()) // embedded data; assets tests guard it
		}
		catalogs[l] = c
	}
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
	s, ok := t.cat[key]
	if !ok {
		if s, ok = catalogs[LangEnglish][key]; !ok {
			return key
		}
	}
	if len(kv) == 0 {
		return s
	}
	args := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args[kv[i]] = kv[i+1]
	}
	return assets.Format(s, args)
}

// amount is a fee in the language's words: "AED 12.50" / "12.50 درهم".
func (t tr) amount(f money.Fils) string { return t.T("fee.amount", "amount", f.Decimal()) }

// duration is a stay in hours and minutes, rounded down to the minute.
func (t tr) duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	h := int64(d / time.Hour)
	m := int64((d % time.Hour) / time.Minute)
	if h == 0 {
		return t.T("duration.m", "m", fmt.Sprint(m))
	}
	return t.T("duration.hm", "h", fmt.Sprint(h), "m", fmt.Sprint(m))
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
