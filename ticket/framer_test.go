package ticket

import (
	"strings"
	"testing"
	"time"
)

// feedAll feeds chunks at the given offsets (a negative offset flushes a
// partial line, as the reader does after the inter-character timeout)
// and returns the lines as "code:X", "dup:X" or "drop:reason".
func feedAll(f *Framer, chunks []chunk) []string {
	var got []string
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(ln Line) {
		switch {
		case ln.Reason != "":
			got = append(got, "drop:"+string(ln.Reason))
		case ln.Duplicate:
			got = append(got, "dup:"+ln.Symbology+ln.Code)
		default:
			got = append(got, "code:"+ln.Symbology+ln.Code)
		}
	}
	for _, c := range chunks {
		if c.flush {
			if ln, ok := f.Flush(); ok {
				add(ln)
			}
			continue
		}
		for _, ln := range f.Feed([]byte(c.data), t0.Add(c.at)) {
			add(ln)
		}
	}
	return got
}

type chunk struct {
	at    time.Duration
	data  string
	flush bool
}

func TestFramer(t *testing.T) {
	long := strings.Repeat("7", 256)
	flush := chunk{flush: true}
	tests := []struct {
		name   string
		opts   FramerOptions
		chunks []chunk
		want   []string
	}{
		{"CR", FramerOptions{}, []chunk{{0, "EL1:A:B:1:2:X\r", false}}, []string{"code:EL1:A:B:1:2:X"}},
		{"LF", FramerOptions{}, []chunk{{0, "ABC\n", false}}, []string{"code:ABC"}},
		{"CR LF", FramerOptions{}, []chunk{{0, "ABC\r\n", false}}, []string{"code:ABC"}},
		{"two in one chunk", FramerOptions{}, []chunk{{0, "ABC\r\nDEF\r\n", false}}, []string{"code:ABC", "code:DEF"}},
		{"split across chunks", FramerOptions{}, []chunk{{0, "AB", false}, {0, "C\r", false}, {0, "\n", false}}, []string{"code:ABC"}},
		{"blank lines ignored", FramerOptions{}, []chunk{{0, "\r\n\n\rABC\r\n\r\n", false}}, []string{"code:ABC"}},
		{"AIM", FramerOptions{}, []chunk{{0, "]C0EL1:X\r\n]Q1HELLO\r", false}}, []string{"code:]C0EL1:X", "code:]Q1HELLO"}},
		{"AIM only", FramerOptions{}, []chunk{{0, "]C0\r", false}}, []string{"drop:empty"}},
		{"surrounding spaces", FramerOptions{}, []chunk{{0, "  ABC \r", false}}, []string{"code:ABC"}},
		{"control byte", FramerOptions{}, []chunk{{0, "AB\x01C\r", false}}, []string{"drop:control_byte"}},
		{"high byte", FramerOptions{}, []chunk{{0, "AB\xffC\r", false}}, []string{"drop:control_byte"}},
		{"256 bytes", FramerOptions{}, []chunk{{0, long + "\r", false}}, []string{"code:" + long}},
		{"257 bytes", FramerOptions{}, []chunk{{0, long + "7\rOK\r", false}}, []string{"drop:too_long", "code:OK"}},
		{"too long beats control", FramerOptions{MaxLine: 4}, []chunk{{0, "AB\x01DE\r", false}}, []string{"drop:too_long"}},
		{"flush partial", FramerOptions{}, []chunk{{0, "AB", false}, flush, {0, "CD\r", false}}, []string{"drop:incomplete", "code:CD"}},
		{"flush nothing", FramerOptions{}, []chunk{{0, "AB\r", false}, flush}, []string{"code:AB"}},
		{"dedup", FramerOptions{}, []chunk{{0, "ABC\r", false}, {time.Second, "ABC\r", false}, {2900 * time.Millisecond, "ABC\r", false}}, []string{"code:ABC", "dup:ABC", "dup:ABC"}},
		{"dedup window passed", FramerOptions{}, []chunk{{0, "ABC\r", false}, {2 * time.Second, "ABC\r", false}}, []string{"code:ABC", "code:ABC"}},
		{"dedup ignores AIM", FramerOptions{}, []chunk{{0, "]C0ABC\rABC\r", false}}, []string{"code:]C0ABC", "dup:ABC"}},
		{"dedup other code between", FramerOptions{}, []chunk{{0, "ABC\rDEF\rABC\r", false}}, []string{"code:ABC", "code:DEF", "code:ABC"}},
		{"dedup off", FramerOptions{Dedup: -1}, []chunk{{0, "ABC\rABC\r", false}}, []string{"code:ABC", "code:ABC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := feedAll(NewFramer(tt.opts), tt.chunks)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFramerResetAndStats(t *testing.T) {
	f := NewFramer(FramerOptions{})
	got := feedAll(f, []chunk{{0, "A\rA\r\x01\rB\rPART", false}})
	f.Reset() // the stream ended: the partial line is forgotten
	got = append(got, feedAll(f, []chunk{{0, "IAL\r", false}})...)
	if strings.Join(got, "|") != "code:A|dup:A|drop:control_byte|code:B|code:IAL" {
		t.Errorf("lines %q", got)
	}
	st := f.Stats()
	if st.Codes != 3 || st.Duplicates != 1 || st.Drops[DropControl] != 1 {
		t.Errorf("stats %+v", st)
	}
	st.Drops[DropEmpty] = 9
	if f.Stats().Drops[DropEmpty] != 0 {
		t.Error("Stats shares its map")
	}
}

func TestSplitAIM(t *testing.T) {
	for _, tt := range []struct{ in, aim, code string }{
		{"]C0ABC", "]C0", "ABC"},
		{"]d2X", "]d2", "X"},
		{"]QZX", "]QZ", "X"},
		{"]C", "", "]C"},
		{"]!0X", "", "]!0X"},
		{"ABC", "", "ABC"},
	} {
		aim, code := splitAIM(tt.in)
		if aim != tt.aim || code != tt.code {
			t.Errorf("splitAIM(%q) = %q, %q", tt.in, aim, code)
		}
	}
}

// FuzzScannerFramer checks that whatever bytes arrive, every code taken is
// printable ASCII of at most MaxLine bytes with no terminator, and every
// non-blank line is accounted for exactly once.
func FuzzScannerFramer(f *testing.F) {
	for _, s := range []string{"ABC\r\n", "]C0X\r", "\x00\xff\r\n", strings.Repeat("a", 300) + "\n", "A\rB\nC\r\nD", "]Q1\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := NewFramer(FramerOptions{Dedup: -1, MaxLine: 16})
		lines := fr.Feed(data, time.Time{})
		if x, ok := fr.Flush(); ok {
			lines = append(lines, x)
		}
		n := 0
		for _, l := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\r' || r == '\n' }) {
			if l != "" {
				n++
			}
		}
		if len(lines) != n {
			t.Fatalf("%d lines for %d lines", len(lines), n)
		}
		for _, ln := range lines {
			if ln.Reason != "" {
				continue
			}
			if ln.Duplicate {
				t.Fatalf("duplicate %q with dedup off", ln.Code)
			}
			if len(ln.Code) == 0 || len(ln.Symbology)+len(ln.Code) > 16 {
				t.Fatalf("code %q of bad length", ln.Code)
			}
			for i := 0; i < len(ln.Code); i++ {
				if c := ln.Code[i]; c < 0x20 || c > 0x7E {
					t.Fatalf("code %q has byte %#x", ln.Code, c)
				}
			}
		}
	})
}
