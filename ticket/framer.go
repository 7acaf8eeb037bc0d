package ticket

// The scanner line framer. A serial barcode scanner sends each code as a
// line; the Framer turns the byte stream into codes, dropping what cannot
// be a code. It is pure: the caller feeds bytes with the time they arrived
// and calls Flush when no byte came for the inter-character timeout. The
// device reader (package scanner) owns the port, the timer and the log.

import (
	"maps"
	"strconv"
	"strings"
	"time"
)

// Framer defaults.
const (
	DefaultDedup   = 2 * time.Second
	DefaultMaxLine = 256
)

// DropReason says why a line was not taken as a code.
type DropReason string

const (
	// DropControl: the line had a control or non-printable byte (anything
	// outside printable ASCII 0x20-0x7E): line noise, a wrong baud rate or
	// parity, or a scanner programmed to send other things.
	DropControl DropReason = "control_byte"
	// DropTooLong: the line was longer than MaxLine bytes.
	DropTooLong DropReason = "too_long"
	// DropIncomplete: bytes with no terminator within the inter-character
	// timeout (a scanner without a CR/LF suffix, or a glitch).
	DropIncomplete DropReason = "incomplete"
	// DropEmpty: nothing left after the AIM prefix.
	DropEmpty DropReason = "empty"
)

// Line is one finished line: a code, or a dropped line.
type Line struct {
	// Code is the code without its AIM prefix, terminator or surrounding
	// spaces ("" for a drop).
	Code string
	// Symbology is the AIM identifier that led the code ("]C0", "]Q1"),
	// or "".
	Symbology string
	// Reason says why the line was dropped ("" for a code). Len is the
	// dropped line's length and Sample its first bytes, quoted, for the
	// log.
	Reason DropReason
	Len    int
	Sample string
	// Duplicate: the same code as the last one, within the dedup window.
	// It is not a new read.
	Duplicate bool
}

// ScanStats counts what a Framer saw.
type ScanStats struct {
	Codes      int
	Duplicates int
	Drops      map[DropReason]int
}

// FramerOptions configures a Framer. Zero fields mean the defaults.
type FramerOptions struct {
	// Dedup: the same code read again within Dedup of its last sighting
	// is one read (a scanner in continuous mode re-reads a ticket held in
	// front of it); default 2s, negative turns it off.
	Dedup time.Duration
	// MaxLine is the longest line taken; default 256 bytes.
	MaxLine int
}

// Framer splits a scanner's byte stream into lines. It is not safe for
// concurrent use.
type Framer struct {
	dedup time.Duration
	max   int

	buf []byte // the first max bytes of the line
	n   int    // the line's full length
	ctl bool   // a control or non-printable byte was seen

	last     string
	lastSeen time.Time
	stats    ScanStats
}

// NewFramer makes a Framer.
func NewFramer(opts FramerOptions) *Framer {
	if opts.Dedup == 0 {
		opts.Dedup = DefaultDedup
	}
	if opts.MaxLine <= 0 {
		opts.MaxLine = DefaultMaxLine
	}
	return &Framer{dedup: opts.Dedup, max: opts.MaxLine, stats: ScanStats{Drops: map[DropReason]int{}}}
}

// Feed takes bytes that arrived at at and returns the lines they finish.
// CR, LF or CR LF end a line; blank lines are ignored.
func (f *Framer) Feed(b []byte, at time.Time) []Line {
	var out []Line
	for _, c := range b {
		if c == '\r' || c == '\n' {
			// The LF of a CR LF pair (and any blank line) ends an empty
			// line, which is ignored.
			if f.n > 0 {
				out = append(out, f.finish("", at))
			}
			continue
		}
		f.n++
		if c < 0x20 || c > 0x7E {
			f.ctl = true
		}
		if len(f.buf) < f.max {
			f.buf = append(f.buf, c)
		}
	}
	return out
}

// Flush ends a partial line when the inter-character timeout passed: it
// is dropped as DropIncomplete.
func (f *Framer) Flush() (Line, bool) {
	if f.n == 0 {
		return Line{}, false
	}
	return f.finish(DropIncomplete, time.Time{}), true
}

// Pending reports whether a partial line is buffered.
func (f *Framer) Pending() bool { return f.n > 0 }

// Reset forgets a partial line (the stream it came from ended). The dedup
// window and the counts are kept.
func (f *Framer) Reset() { f.buf, f.n, f.ctl = nil, 0, false }

// Stats returns the counts so far.
func (f *Framer) Stats() ScanStats {
	st := f.stats
	st.Drops = maps.Clone(f.stats.Drops)
	return st
}

func (f *Framer) finish(reason DropReason, at time.Time) Line {
	line, n := f.buf, f.n
	switch {
	case n > f.max:
		reason = DropTooLong
	case reason != "":
	case f.ctl:
		reason = DropControl
	}
	f.Reset()
	if reason == "" {
		aim, code := splitAIM(strings.TrimSpace(string(line)))
		if code != "" {
			dup := code == f.last && f.dedup > 0 && at.Sub(f.lastSeen) < f.dedup
			f.last, f.lastSeen = code, at
			if dup {
				f.stats.Duplicates++
			} else {
				f.stats.Codes++
			}
			return Line{Code: code, Symbology: aim, Duplicate: dup}
		}
		reason = DropEmpty
	}
	f.stats.Drops[reason]++
	return Line{Reason: reason, Len: n, Sample: sample(line)}
}

// splitAIM removes a leading AIM symbology identifier: ']', a code
// character (a letter) and a modifier (a letter or digit).
func splitAIM(line string) (aim, code string) {
	if len(line) >= 3 && line[0] == ']' && isLetter(line[1]) && (isLetter(line[2]) || line[2] >= '0' && line[2] <= '9') {
		return line[:3], line[3:]
	}
	return "", line
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

func sample(b []byte) string {
	const n = 32
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "..."
	}
	return strconv.Quote(string(b))
}
