package ui

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Dubai without system zoneinfo

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
		{en.duration(2*time.Hour + 17*time.Minute + 59*time.Second), "2 h 17 min"},
		{en.duration(45 * time.Minute), "45 min"},
		{ar.duration(90 * time.Minute), "1 ساعة 30 دقيقة"},
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
