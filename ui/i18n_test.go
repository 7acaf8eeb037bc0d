package ui

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Dubai without system zoneinfo

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// TestEveryNoticeHasWords fails when the lane gains a notice kind the
// driver screens have no words for (in either language).
func TestEveryNoticeHasWords(t *testing.T) {
	for n := lane.NoticeKind(1); !strings.HasPrefix(n.String(), "notice("); n++ {
		for _, lang := range []string{LangEnglish, LangArabic} {
			if _, ok := catalogs[lang]["notice."+n.String()]; !ok {
				t.Errorf("%s: no text for notice.%s", lang, n)
			}
		}
	}
}

func TestTranslatorFormats(t *testing.T) {
	en, ar := newTr(LangEnglish), newTr(LangArabic)
	for _, tc := range []struct{ got, want string }{
		{en.amount(money.MustParse("12.50")), "AED 12.50"},
		{ar.amount(money.MustParse("12.50")), "12.50 درهم"},
		{en.duration(2*time.Hour + 17*time.Minute + 59*time.Second), "2 hours 17 minutes"},
		{en.duration(45 * time.Minute), "45 minutes"},
		{en.duration(time.Hour + time.Minute), "1 hour 1 minute"},
		{en.duration(3 * time.Hour), "3 hours"},
		{en.duration(0), "0 minutes"},
		// Arabic: CLDR zero, one, two, few (3-10), many (11-99), other.
		{ar.duration(90 * time.Minute), "ساعة واحدة و30 دقيقة"},
		{ar.duration(2 * time.Hour), "ساعتان"},
		{ar.duration(3 * time.Hour), "3 ساعات"},
		{ar.duration(10 * time.Hour), "10 ساعات"},
		{ar.duration(11 * time.Hour), "11 ساعة"},
		{ar.duration(100 * time.Hour), "100 ساعة"},
		{ar.duration(103 * time.Hour), "103 ساعات"},
		{ar.duration(2*time.Hour + 17*time.Minute), "ساعتان و17 دقيقة"},
		{ar.duration(3*time.Hour + 5*time.Minute), "3 ساعات و5 دقائق"},
		{ar.duration(2*time.Hour + 2*time.Minute), "ساعتان ودقيقتان"},
		{ar.duration(time.Hour + time.Minute), "ساعة واحدة ودقيقة واحدة"},
		{ar.duration(0), "0 دقيقة"},
		{countdown(150 * time.Second), "2:30"},
		{countdown(61 * time.Second), "1:01"},
		{countdown(9*time.Second + time.Millisecond), "0:10"},
		{countdown(-time.Second), "0:00"},
		{countdown(12 * time.Minute), "12:00"},
		{en.T("no.such.key"), "no.such.key"},
		{newTr("fr").lang, LangEnglish},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	dubai, _ := time.LoadLocation("Asia/Dubai")
	if got := en.clock(testEntry, testNow, dubai); got != "11:13" {
		t.Errorf("clock = %q", got)
	}
	if got := en.clock(testEntry.Add(-24*time.Hour), testNow, dubai); got != "2026-11-25 11:13" {
		t.Errorf("clock other day = %q", got)
	}
}

// Every counted text has the form each language's plural rules pick for
// any count (go-i18n reports a missing form as an error).
func TestPluralFormsComplete(t *testing.T) {
	for lang, c := range catalogs {
		for key, text := range c {
			if len(text) < 2 {
				continue
			}
			for n := int64(0); n <= 250; n++ {
				_, err := localizers[lang].Localize(&i18n.LocalizeConfig{MessageID: key, PluralCount: n, TemplateData: map[string]string{"count": "1"}, TemplateParser: braces{}})
				if err != nil {
					t.Errorf("%s %s %d: %v", lang, key, n, err)
					break
				}
			}
		}
	}
}
