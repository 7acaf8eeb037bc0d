// Package scanner reads codes from a serial barcode scanner. A Reader
// keeps the scanner's port open (serialport.Serve re-opens it with backoff
// after it is unplugged), feeds what arrives to ticket's line framer, ends
// a partial line after the inter-character timeout, and reports codes,
// dropped lines and the scanner going down and up.
package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/ticket"
)

// DefaultInterChar is how long a partial line may wait for its next byte.
const DefaultInterChar = 100 * time.Millisecond

// Kind is the kind of an Event.
type Kind int

const (
	// Code: a code was read.
	Code Kind = iota + 1
	// Drop: a line was dropped (Reason says why).
	Drop
	// Up: the port was opened.
	Up
	// Down: the port was lost or cannot be opened (Err says why); it is
	// re-opened with backoff. Reported once per outage.
	Down
)

func (k Kind) String() string {
	switch k {
	case Code:
		return "code"
	case Drop:
		return "drop"
	case Up:
		return "scanner_up"
	case Down:
		return "scanner_down"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Event is what the Reader reports.
type Event struct {
	Kind Kind
	// Line is the code (Code: Code, Symbology) or the dropped line (Drop:
	// Reason, Len, Sample).
	ticket.Line
	// Err is why the port is down (Down).
	Err error
	At  time.Time
}

// Options configures a Reader. Zero fields mean the defaults.
type Options struct {
	// Dedup: the same code read again within Dedup of its last sighting
	// is one read; default ticket.DefaultDedup (2s), negative turns it
	// off.
	Dedup time.Duration
	// InterChar: a partial line with no byte for this long is dropped;
	// default 100ms.
	InterChar time.Duration
	// MaxLine is the longest line taken; default ticket.DefaultMaxLine
	// (256 bytes).
	MaxLine int
	// MinBackoff and MaxBackoff bound the wait between re-open attempts;
	// defaults 250ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	Logger                 *slog.Logger
}

// ErrGone: the scanner's stream ended (the device went away).
var ErrGone = errors.New("scanner stream ended")

// Reader reads codes from a serial barcode scanner.
type Reader struct {
	open serialport.OpenFunc
	opts Options
	log  *slog.Logger

	mu sync.Mutex // guards f (Stats may be called from any goroutine)
	f  *ticket.Framer
}

// New makes a Reader whose port is opened (and re-opened after it is
// lost) by open, e.g. serialport.Opener(path, serialport.Config{Baud:
// 115200}).
func New(open serialport.OpenFunc, opts Options) *Reader {
	if opts.InterChar <= 0 {
		opts.InterChar = DefaultInterChar
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Reader{open: open, opts: opts, log: opts.Logger,
		f: ticket.NewFramer(ticket.FramerOptions{Dedup: opts.Dedup, MaxLine: opts.MaxLine})}
}

// Stats returns the counts so far.
func (r *Reader) Stats() ticket.ScanStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Stats()
}

// Run opens the port and reports codes, drops and port changes to emit
// until ctx ends. A lost port is reported once (Down) and re-opened with
// backoff; Up follows when it is back. emit is called from Run's
// goroutine only.
func (r *Reader) Run(ctx context.Context, emit func(Event)) error {
	opts := serialport.Options{Name: "scanner", MinBackoff: r.opts.MinBackoff, MaxBackoff: r.opts.MaxBackoff,
		OnEvent: func(ev serialport.Event) {
			switch ev.Kind {
			case serialport.Up:
				r.log.Info("scanner up")
				emit(Event{Kind: Up, At: ev.At})
			case serialport.Down:
				r.log.Warn("scanner down", "err", ev.Err)
				emit(Event{Kind: Down, Err: ev.Err, At: ev.At})
			}
		}}
	return serialport.Serve(ctx, r.open, opts, func(ctx context.Context, p serialport.Port) error {
		return r.Read(ctx, p, emit)
	})
}

// Read reads one stream until it fails or ctx ends, reporting codes and
// drops to emit. If rd is an io.Closer it is closed when ctx ends, to
// unblock a pending read. A Read that returns 0, nil (a serial read
// timeout) is not an error. A partial line left when the stream ends is
// forgotten.
func (r *Reader) Read(ctx context.Context, rd io.Reader, emit func(Event)) error {
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
			n, err := rd.Read(buf)
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
	defer func() {
		r.mu.Lock()
		r.f.Reset()
		r.mu.Unlock()
	}()
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
			if c, ok := rd.(io.Closer); ok {
				c.Close()
			}
			return ctx.Err()
		case <-timeout:
			timeout = nil
			r.mu.Lock()
			ln, ok := r.f.Flush()
			r.mu.Unlock()
			if ok {
				r.report(ln, time.Now(), emit)
			}
		case c := <-chunks:
			r.mu.Lock()
			lines := r.f.Feed(c.b, c.at)
			pending := r.f.Pending()
			r.mu.Unlock()
			for _, ln := range lines {
				r.report(ln, c.at, emit)
			}
			if c.err != nil {
				if errors.Is(c.err, io.EOF) {
					c.err = ErrGone
				}
				return fmt.Errorf("scanner read: %w", c.err)
			}
			if pending {
				if timer == nil {
					timer = time.NewTimer(r.opts.InterChar)
				} else {
					timer.Reset(r.opts.InterChar)
				}
				timeout = timer.C
			} else {
				timeout = nil
			}
		}
	}
}

// report logs a line and passes it on; a duplicate is only logged.
func (r *Reader) report(ln ticket.Line, at time.Time, emit func(Event)) {
	switch {
	case ln.Reason != "":
		r.log.Warn("scanner line dropped", "reason", string(ln.Reason), "len", ln.Len, "sample", withoutMAC(ln.Sample))
		emit(Event{Kind: Drop, Line: ln, At: at})
	case ln.Duplicate:
		r.log.Debug("scanner duplicate read", "len", len(ln.Code)) // never the code: it carries the ticket's MAC
	default:
		emit(Event{Kind: Code, Line: ln, At: at})
	}
}

// withoutMAC cuts a logged sample before the sixth field of a ticket code
// (EL1:<SITE>:<LANE>:<SERIAL>:<ENTRY>:<MAC>), so that a damaged code never
// puts its MAC, or the start of it, in the log.
func withoutMAC(sample string) string {
	n := 0
	for i := 0; i < len(sample); i++ {
		if sample[i] == ':' {
			n++
			if n == 5 {
				return sample[:i+1] + "…"
			}
		}
	}
	return sample
}
