package ui

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestVisualRuns(t *testing.T) {
	for _, tc := range []struct {
		name  string
		in    string
		rtl   bool
		runs  []bidiRun // visual order, left to right
		shown string    // what a reader sees left to right
	}{
		{
			name: "pure arabic is one run",
			in:   "امسح تذكرتك",
			rtl:  true,
			runs: []bidiRun{{"امسح تذكرتك", true}},
		},
		{
			name: "amount after arabic word",
			in:   "السعر 25 ريال",
			rtl:  true,
			// visual: ريال on the left, then 25, then السعر on the right
			runs: []bidiRun{{" ريال", true}, {"25", false}, {"السعر ", true}},
		},
		{
			name: "a closing bracket belongs to the latin run that opened it",
			in:   "الموظف: Sara (A1)",
			rtl:  true,
			runs: []bidiRun{{"Sara (A1)", false}, {"الموظف: ", true}},
		},
		{
			name: "decimal amount then currency",
			in:   "12.50 درهم",
			rtl:  true,
			runs: []bidiRun{{" درهم", true}, {"12.50", false}},
		},
		{
			name: "latin brand names inside arabic",
			in:   "امسح رمز QR بتطبيق PayBy أو BOTIM للدفع",
			rtl:  true,
			runs: []bidiRun{
				{" للدفع", true}, {"BOTIM", false}, {" أو ", true}, {"PayBy", false},
				{" بتطبيق ", true}, {"QR", false}, {"امسح رمز ", true},
			},
		},
		{
			name: "time with colon",
			in:   "الدخول 09:30",
			rtl:  true,
			runs: []bidiRun{{"09:30", false}, {"الدخول ", true}},
		},
		{
			name: "date with hyphens stays one number",
			in:   "الدخول 2026-11-25 04:18",
			rtl:  true,
			runs: []bidiRun{{"04:18", false}, {" ", true}, {"2026-11-25", false}, {"الدخول ", true}},
		},
		{
			name: "hyphen between a number and a word is no separator",
			in:   "25- ريال",
			rtl:  true,
			runs: []bidiRun{{"- ريال", true}, {"25", false}},
		},
		{
			name: "colon after arabic stays with the word",
			in:   "المبلغ: 7.00 درهم",
			rtl:  true,
			runs: []bidiRun{{" درهم", true}, {"7.00", false}, {"المبلغ: ", true}},
		},
		{
			name: "english stays as is",
			in:   "Scan with PayBy or BOTIM",
			rtl:  false,
			runs: []bidiRun{{"Scan with PayBy or BOTIM", false}},
		},
		{
			name: "arabic site name inside english",
			in:   "Welcome to مواقف دبي mall",
			rtl:  false,
			runs: []bidiRun{{"Welcome to ", false}, {"مواقف دبي", true}, {" mall", false}},
		},
		{
			name: "number between arabic words in english text",
			in:   "Gate بوابة 3 شرق",
			rtl:  false,
			runs: []bidiRun{{"Gate ", false}, {" شرق", true}, {"3", false}, {"بوابة ", true}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := visualRuns(tc.in, tc.rtl)
			if !equalRuns(got, tc.runs) {
				t.Errorf("visualRuns(%q) =\n%+v\nwant\n%+v", tc.in, got, tc.runs)
			}
			// Runs keep every character exactly once.
			var all int
			for _, r := range got {
				all += utf8.RuneCountInString(r.Text)
			}
			if all != utf8.RuneCountInString(tc.in) {
				t.Errorf("runs hold %d runes, input %d", all, utf8.RuneCountInString(tc.in))
			}
		})
	}
}

func equalRuns(a, b []bidiRun) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestVisualString(t *testing.T) {
	// What a reader sees, left to right: the currency word (its letters
	// reversed because they are drawn right to left), the amount in normal
	// digit order, then the first word.
	got := visualString(visualRuns("السعر 25 ريال", true))
	want := "لاير 25 رعسلا"
	if got != want {
		t.Errorf("visualString = %q, want %q", got, want)
	}
}

// drawRuns cuts RTL runs at punctuation and edge spaces, which Fyne
// would place in logical order, into pieces in visual order.
func TestDrawRuns(t *testing.T) {
	for _, tc := range []struct {
		in   []bidiRun
		want []bidiRun
	}{
		{[]bidiRun{{"المبلغ المستحق · ", true}, {"Amount due", false}}, []bidiRun{{" · ", false}, {"المبلغ المستحق", true}, {"Amount due", false}}},
		{[]bidiRun{{"الزيارات / المخارج", true}}, []bidiRun{{"المخارج", true}, {" / ", false}, {"الزيارات", true}}},
		{[]bidiRun{{"المستحق (تعذر التحصيل)", true}}, []bidiRun{{"(", false}, {"تعذر التحصيل", true}, {") ", false}, {"المستحق", true}}},
		{[]bidiRun{{"تم الدفع، شكراً لك", true}}, []bidiRun{{"شكراً لك", true}, {" ،", false}, {"تم الدفع", true}}},
		{[]bidiRun{{"امسح تذكرتك", true}}, []bidiRun{{"امسح تذكرتك", true}}},
	} {
		if got := drawRuns(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("drawRuns(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRunTextMarks(t *testing.T) {
	if got := runText(bidiRun{"abc", false}); !strings.HasPrefix(got, lrm) {
		t.Errorf("LTR run lacks LRM: %q", got)
	}
	if got := runText(bidiRun{"مرحبا ", true}); !strings.HasPrefix(got, rlm) {
		t.Errorf("RTL run lacks RLM: %q", got)
	}
}

func TestWrapWords(t *testing.T) {
	width := func(s string) float32 { return float32(utf8.RuneCountInString(s)) }
	for _, tc := range []struct {
		in   string
		max  float32
		want []string
	}{
		{"one two three", 100, []string{"one two three"}},
		{"one two three", 7, []string{"one two", "three"}},
		{"one two three", 3, []string{"one", "two", "three"}},
		{"verylongword x", 4, []string{"verylongword", "x"}},
		{"امسح تذكرتك الآن", 11, []string{"امسح تذكرتك", "الآن"}},
	} {
		got := wrapWords(tc.in, tc.max, width)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("wrapWords(%q, %v) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func FuzzVisualRuns(f *testing.F) {
	f.Add("السعر 25 ريال", true)
	f.Add("Gate بوابة 3 شرق (x)", false)
	f.Add("الموظف: Sara (A1)", true)
	f.Add("المستحق (تعذر التحصيل) · ", true)
	f.Fuzz(func(t *testing.T, s string, rtl bool) {
		if !utf8.ValidString(s) || strings.ContainsAny(s, "\n\r\u2029\u0085\u001c\u001d\u001e\u000b\u000c") {
			return
		}
		runs := visualRuns(s, rtl)
		var n int
		for _, r := range runs {
			n += utf8.RuneCountInString(r.Text)
		}
		if n != utf8.RuneCountInString(s) {
			t.Fatalf("lost characters: %q -> %+v", s, runs)
		}
		// drawing cuts runs into pieces, losing nothing either
		var d int
		for _, r := range drawRuns(runs) {
			if r.Text == "" {
				t.Fatalf("an empty piece: %q -> %+v", s, drawRuns(runs))
			}
			d += utf8.RuneCountInString(r.Text)
		}
		if d != n {
			t.Fatalf("drawRuns lost characters: %q -> %+v", s, drawRuns(runs))
		}
	})
}
