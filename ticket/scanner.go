package ticket

// The scanner line reader. A serial barcode scanner sends each code as a
// line; this file turns the byte stream into codes, dropping what cannot be
// a code, and keeps the port open across unplugging.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scanner defaults.
const (
	DefaultDedup     = 2 * time.Second
	DefaultInterChar = 100 * time.Millisecond
	DefaultMaxLine   = 256
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

// ScanKind is the kind of a ScanEvent.
type ScanKind int

const (
	// ScanCode: a code was read.
	ScanCode ScanKind = iota + 1
	// ScanDrop: a line was dropped (Reason says why).
	ScanDrop
	// ScannerUp: the port was opened.
	ScannerUp
	// ScannerDown: the port was lost or cannot be opened (Err says why);
	// it is re-opened with backoff.
	ScannerDown
)

func (k ScanKind) String() string {
	switch k {
	case ScanCode:
		return "code"
	case ScanDrop:
		return "drop"
	case ScannerUp:
		return "scanner_up"
	case ScannerDown:
		return "scanner_down"
	}
	return "ScanKind(" + strconv.Itoa(int(k)) + ")"
}

// ScanEvent is what the reader reports.
type ScanEvent struct {
	Kind ScanKind
	// Code is the code without its AIM prefix or terminator (ScanCode).
	Code string
	// Symbology is the AIM identifier that led the code ("]C0", "]Q1"),
	// or "" (ScanCode).
	Symbology string
	// Reason, Len and Sample describe a dropped line: Sample is its first
	// bytes, quoted, for the log (ScanDrop).
	Reason DropReason
	Len    int
	Sample string
	// Err is why the port is down (ScannerDown).
	Err error
	At  time.Time
}

// ScannerStats counts what the reader saw.
type ScannerStats struct {
	Codes      int
	Duplicates int
	Drops      map[DropReason]int
}

// ScannerOptions configures a Scanner. Zero fields mean the defaults.
type ScannerOptions struct {
	// Dedup: the same code read again within Dedup of its last sighting
	// is one read (a scanner in continuous mode re-reads a ticket held in
	// front of it); default 2s, negative turns it off.
	Dedup time.Duration
	// InterChar: a partial line with no byte for this long is dropped;
	// default 100ms.
	InterChar time.Duration
	// MaxLine is the longest line taken; default 256 bytes.
	MaxLine int
	// MinBackoff and MaxBackoff bound the wait between re-open attempts;
	// defaults 250ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

func (o *ScannerOptions) fill() {
	if o.Dedup == 0 {
		o.Dedup = DefaultDedup
	}
	if o.InterChar <= 0 {
		o.InterChar = DefaultInterChar
	}
	if o.MaxLine <= 0 {
		o.MaxLine = DefaultMaxLine
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// framer splits a byte stream into lines. It is pure: the caller feeds
// bytes and calls flush when the inter-character timeout passes.
type framer struct {
	max int
	buf []byte // the first max bytes of the line
	n   int    // the line's full length
	ctl bool   // a control or non-printable byte was seen
}

// frame is a finished line: a code candidate or a drop.
type frame struct {
	line   []byte
	reason DropReason
	n      int
}

// feed takes one byte and returns a finished frame, if any.
func (f *framer) feed(b byte) (frame, bool) {
	if b == '\r' || b == '\n' {
		// CR, LF or CR LF: the LF of a CR LF pair (and any blank line)
		// ends an empty line, which is ignored.
		if f.n == 0 {
			return frame{}, false
		}
		return f.finish(""), true
	}
	f.n++
	if b < 0x20 || b > 0x7E {
		f.ctl = true
	}
	if len(f.buf) < f.max {
		f.buf = append(f.buf, b)
	}
	return frame{}, false
}

// flush ends a partial line after the inter-character timeout.
func (f *framer) flush() (frame, bool) {
	if f.n == 0 {
		return frame{}, false
	}
	return f.finish(DropIncomplete), true
}

// pending reports whether a partial line is buffered.
func (f *framer) pending() bool { return f.n > 0 }

func (f *framer) finish(reason DropReason) frame {
	fr := frame{line: f.buf, n: f.n, reason: reason}
	switch {
	case f.n > f.max:
		fr.reason = DropTooLong
	case reason != "":
	case f.ctl:
		fr.reason = DropControl
	}
	f.buf, f.n, f.ctl = nil, 0, false
	return fr
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

// lineReader turns frames into events: AIM stripping and de-duplication.
type lineReader struct {
	opts     ScannerOptions
	last     string
	lastSeen time.Time

	mu    sync.Mutex
	stats ScannerStats
}

// take turns a finished frame into an event (ok false: a duplicate).
func (r *lineReader) take(fr frame, at time.Time) (ScanEvent, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stats.Drops == nil {
		r.stats.Drops = map[DropReason]int{}
	}
	ev := ScanEvent{At: at}
	if fr.reason == "" {
		aim, code := splitAIM(strings.TrimSpace(string(fr.line)))
		if code == "" {
			fr.reason = DropEmpty
		} else {
			dup := code == r.last && r.opts.Dedup > 0 && at.Sub(r.lastSeen) < r.opts.Dedup
			r.last, r.lastSeen = code, at
			if dup {
				r.stats.Duplicates++
				r.opts.Logger.Debug("scanner duplicate read", "ticket", code)
				return ScanEvent{}, false
			}
			r.stats.Codes++
			ev.Kind, ev.Code, ev.Symbology = ScanCode, code, aim
			return ev, true
		}
	}
	r.stats.Drops[fr.reason]++
	ev.Kind, ev.Reason, ev.Len, ev.Sample = ScanDrop, fr.reason, fr.n, sample(fr.line)
	r.opts.Logger.Warn("scanner line dropped", "reason", string(fr.reason), "len", fr.n, "sample", ev.Sample)
	return ev, true
}

// Scanner reads codes from a serial barcode scanner.
type Scanner struct {
	open func() (io.ReadCloser, error)
	lr   lineReader
}

// NewScanner makes a Scanner whose port is opened (and re-opened after it
// is lost) by open; main passes barrier.OpenPort with the [scanner] port,
// baud and parity.
func NewScanner(open func() (io.ReadCloser, error), opts ScannerOptions) *Scanner {
	opts.fill()
	return &Scanner{open: open, lr: lineReader{opts: opts}}
}

// Stats returns the counts so far.
func (s *Scanner) Stats() ScannerStats {
	s.lr.mu.Lock()
	defer s.lr.mu.Unlock()
	st := s.lr.stats
	st.Drops = make(map[DropReason]int, len(s.lr.stats.Drops))
	for k, v := range s.lr.stats.Drops {
		st.Drops[k] = v
	}
	return st
}

// Run opens the port and reports codes, drops and port changes to emit
// until ctx ends. A lost port is reported once (ScannerDown) and re-opened
// with backoff; ScannerUp follows when it is back. emit is called from
// Run's goroutine only.
func (s *Scanner) Run(ctx context.Context, emit func(ScanEvent)) error {
	log := s.lr.opts.Logger
	backoff := s.lr.opts.MinBackoff
	down := false
	for {
		rc, err := s.open()
		if err == nil {
			backoff = s.lr.opts.MinBackoff
			down = false
			log.Info("scanner up")
			emit(ScanEvent{Kind: ScannerUp, At: time.Now()})
			err = s.Read(ctx, rc, emit)
			rc.Close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if !down {
			down = true
			log.Warn("scanner down", "err", err)
			emit(ScanEvent{Kind: ScannerDown, Err: err, At: time.Now()})
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, s.lr.opts.MaxBackoff)
	}
}

// ErrScannerGone: the scanner's stream ended (the device went away).
var ErrScannerGone = errors.New("scanner stream ended")

// Read reads one stream until it fails or ctx ends, reporting codes and
// drops to emit. If r is an io.Closer it is closed when ctx ends, to
// unblock a pending read. A Read that returns 0, nil (a serial read
// timeout) is not an error.
func (s *Scanner) Read(ctx context.Context, r io.Reader, emit func(ScanEvent)) error {
	type chunk struct {
		b   []byte
		err error
		at  time.Time
	}
	chunks := make(chan chunk)
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		buf := make([]byte, 512)
		for {
			n, err := r.Read(buf)
			if n == 0 && err == nil {
				continue
			}
			c := chunk{b: append([]byte(nil), buf[:n]...), err: err, at: time.Now()}
			select {
			case chunks <- c:
			case <-quit:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	f := framer{max: s.lr.opts.MaxLine}
	var timer *time.Timer
	var timeout <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			if c, ok := r.(io.Closer); ok {
				c.Close()
			}
			return ctx.Err()
		case <-timeout:
			timeout = nil
			if fr, ok := f.flush(); ok {
				if ev, ok := s.lr.take(fr, time.Now()); ok {
					emit(ev)
				}
			}
		case c := <-chunks:
			for _, b := range c.b {
				if fr, ok := f.feed(b); ok {
					if ev, ok := s.lr.take(fr, c.at); ok {
						emit(ev)
					}
				}
			}
			if c.err != nil {
				if errors.Is(c.err, io.EOF) {
					c.err = ErrScannerGone
				}
				return fmt.Errorf("scanner read: %w", c.err)
			}
			if f.pending() {
				if timer == nil {
					timer = time.NewTimer(s.lr.opts.InterChar)
				} else {
					timer.Reset(s.lr.opts.InterChar)
				}
				timeout = timer.C
			} else {
				timeout = nil
			}
		}
	}
}
