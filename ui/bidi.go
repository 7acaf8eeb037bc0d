package ui

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/bidi"
)

// Fyne 2.7 shapes each directional run correctly (HarfBuzz joins Arabic
// letters and lays an Arabic run out right to left) but places the runs of
// a line left to right in their logical order: it does not apply the
// reordering step (L2) of the Unicode bidirectional algorithm (fyne-io/fyne
// issue #90, open). "السعر 25 ريال" therefore shows its first Arabic word
// on the left. We split a line into directional runs with
// golang.org/x/text/unicode/bidi, order the runs visually ourselves, and
// draw each run as its own canvas.Text (see BidiText). Each run then holds
// a single direction, which Fyne renders correctly.

const (
	lrm = "\u200E" // LEFT-TO-RIGHT MARK: pins the base direction of an LTR run
	rlm = "\u200F" // RIGHT-TO-LEFT MARK: same for an RTL run
)

// bidiRun is a piece of a line with one direction, in logical order.
type bidiRun struct {
	Text string
	RTL  bool
}

// visualRuns splits one line into directional runs and returns them in
// visual order, left to right. rtl is the paragraph's base direction
// (true for Arabic screens). Characters inside each run stay in logical
// order: the shaper lays out an RTL run right to left itself.
//
// x/text reports only each run's direction, not its embedding level. In an
// RTL paragraph without explicit embeddings, levels are exactly 1 (RTL
// runs) and 2 (LTR runs), so reversing the run order is the complete L2
// step. In an LTR paragraph, a number between two RTL runs belongs to the
// RTL text (it resolves to level 2), so such a group is reversed as a
// block; other cases of numbers after Arabic inside English text are not
// handled (the kiosk's English texts hold no Arabic).
func visualRuns(s string, rtl bool) []bidiRun {
	if s == "" {
		return nil
	}
	var p bidi.Paragraph
	var err error
	if rtl {
		_, err = p.SetString(s, bidi.DefaultDirection(bidi.RightToLeft))
	} else {
		// x/text detects the direction from the first strong character
		// unless told RTL; an LRM in front makes LTR explicit.
		_, err = p.SetString(lrm+s, bidi.DefaultDirection(bidi.LeftToRight))
	}
	if err != nil {
		return []bidiRun{{Text: s, RTL: rtl}}
	}
	o, err := p.Order()
	if err != nil {
		return []bidiRun{{Text: s, RTL: rtl}}
	}
	runs := make([]bidiRun, 0, o.NumRuns())
	for i := 0; i < o.NumRuns(); i++ {
		r := o.Run(i)
		t := r.String()
		if !rtl && i == 0 {
			t = strings.TrimPrefix(t, lrm)
		}
		if t == "" {
			continue
		}
		runs = append(runs, bidiRun{Text: t, RTL: r.Direction() == bidi.RightToLeft})
	}
	runs = mergeRuns(joinSeparatedNumbers(runs))
	if rtl {
		runs = closeBrackets(runs)
		for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
			runs[i], runs[j] = runs[j], runs[i]
		}
		return runs
	}
	// LTR paragraph: reverse each group RTL (weak-LTR RTL)*.
	for i := 0; i < len(runs); i++ {
		if !runs[i].RTL {
			continue
		}
		end := i
		for j := i + 1; j < len(runs); j++ {
			if runs[j].RTL {
				end = j
				continue
			}
			if hasStrongLTR(runs[j].Text) {
				break
			}
		}
		for a, b := i, end; a < b; a, b = a+1, b-1 {
			runs[a], runs[b] = runs[b], runs[a]
		}
		i = end
	}
	return runs
}

// joinSeparatedNumbers applies rule W4 of the bidi algorithm for European
// separators, which x/text leaves out: a single "+" or "-" between two
// European digits is a digit too. Without it the date "2026-11-25" in an
// Arabic line was split at the hyphens and shown as "25-11-2026".
func joinSeparatedNumbers(runs []bidiRun) []bidiRun {
	for i := 1; i+1 < len(runs); i++ {
		sep, prev, next := runs[i], runs[i-1], runs[i+1]
		if !sep.RTL || prev.RTL || next.RTL || utf8.RuneCountInString(sep.Text) != 1 {
			continue
		}
		r, _ := utf8.DecodeRuneInString(sep.Text)
		last, _ := utf8.DecodeLastRuneInString(prev.Text)
		first, _ := utf8.DecodeRuneInString(next.Text)
		if bidiClass(r) == bidi.ES && bidiClass(last) == bidi.EN && bidiClass(first) == bidi.EN {
			runs[i].RTL = false
		}
	}
	return runs
}

func bidiClass(r rune) bidi.Class {
	p, _ := bidi.LookupRune(r)
	return p.Class()
}

// mergeRuns joins neighbours of the same direction.
func mergeRuns(runs []bidiRun) []bidiRun {
	out := runs[:0]
	for _, r := range runs {
		if n := len(out); n > 0 && out[n-1].RTL == r.RTL {
			out[n-1].Text += r.Text
			continue
		}
		out = append(out, r)
	}
	return out
}

func hasStrongLTR(s string) bool {
	for _, r := range s {
		p, _ := bidi.LookupRune(r)
		if p.Class() == bidi.L {
			return true
		}
	}
	return false
}

// runText is what one canvas.Text draws for a run: a directional mark in
// front makes Fyne's own direction detection agree with ours, so neutral
// characters at the run's ends (spaces, a colon) stay on the correct side.
func runText(r bidiRun) string {
	if r.RTL {
		return rlm + r.Text
	}
	return lrm + r.Text
}

// visualString is the runs of a line joined in visual order, each RTL run
// reversed character by character: what a reader sees, left to right. It
// exists for tests and logs; the screen draws runs, not this string.
func visualString(runs []bidiRun) string {
	var b strings.Builder
	for _, r := range runs {
		if !r.RTL {
			b.WriteString(r.Text)
			continue
		}
		rs := []rune(r.Text)
		for i := len(rs) - 1; i >= 0; i-- {
			b.WriteRune(mirror(rs[i]))
		}
	}
	return b.String()
}

func mirror(r rune) rune {
	switch r {
	case '«':
		return '»'
	case '»':
		return '«'
	case '<':
		return '>'
	case '>':
		return '<'
	case '{':
		return '}'
	case '}':
		return '{'
	case '(':
		return ')'
	case ')':
		return '('
	case '[':
		return ']'
	case ']':
		return '['
	}
	return r
}

// wrapWords breaks text into lines no wider than max, measured by width,
// breaking at spaces (logical order: wrapping happens before reordering,
// as the bidi algorithm requires). A word wider than max gets its own line.
func wrapWords(text string, max float32, width func(string) float32) []string {
	if max <= 0 || width(text) <= max {
		return []string{text}
	}
	words := strings.FieldsFunc(text, unicode.IsSpace)
	var lines []string
	cur := ""
	for _, w := range words {
		if cur == "" {
			cur = w
			continue
		}
		if width(cur+" "+w) <= max {
			cur += " " + w
			continue
		}
		lines = append(lines, cur)
		cur = w
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// closeBrackets applies rule N0 of the bidi algorithm for the one case
// the kiosk meets, which x/text leaves out: in an RTL paragraph, a closing
// bracket right after an LTR run that opened it belongs to that run.
// "الموظف: Sara (A1)" otherwise showed "(Sara (A1".
func closeBrackets(runs []bidiRun) []bidiRun {
	for i := 0; i+1 < len(runs); i++ {
		a, b := &runs[i], &runs[i+1]
		if a.RTL || !b.RTL {
			continue
		}
		for _, p := range [][2]string{{"(", ")"}, {"[", "]"}} {
			for strings.Count(a.Text, p[0]) > strings.Count(a.Text, p[1]) && strings.HasPrefix(b.Text, p[1]) {
				a.Text += p[1]
				b.Text = b.Text[len(p[1]):]
			}
		}
	}
	out := runs[:0]
	for _, r := range runs {
		if r.Text != "" {
			out = append(out, r)
		}
	}
	return out
}
