package barrier

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/exitlane/exitlane/serialport"
)

// LoopOptions configures the vehicle-loop input. Zero fields mean the
// defaults.
type LoopOptions struct {
	// Line is the modem status line carrying the loop detector's presence
	// contact ("cts", "dsr", "dcd", "ri"), or "gpio" for a Numato GPIO.
	Line string
	// GPIO is the Numato GPIO index (Line "gpio").
	GPIO int
	// ActiveLow: the line reads low while a vehicle is present.
	ActiveLow bool
	// Debounce is how long a new reading must hold before it counts;
	// default 200ms.
	Debounce time.Duration
	// Poll is the reading interval; default 20ms.
	Poll time.Duration
	// OnChange receives each debounced change (true: a vehicle is
	// present), from Run's goroutine. It must not block.
	OnChange func(present bool)
}

// ModemStatus is what a port needs for a modem-line loop input;
// *serialport.Serial satisfies it (real serial ports only: ptys have no
// modem lines).
type ModemStatus interface {
	ModemStatus() (serialport.ModemBits, error)
}

// Loop reads a vehicle-presence contact and reports debounced changes to
// LoopOptions.OnChange. It starts out "clear"; a vehicle already present
// at start is reported once the reading has held for Debounce. A reading
// that fails is reported as a Fault on its Link.
type Loop struct {
	link    *serialport.Link
	opts    LoopOptions
	read    func(serialport.Port) (bool, error)
	present atomic.Bool
}

// NewLoop makes a Loop that reads through link (the link of the Numato
// relay board for "gpio", so both share the port).
func NewLoop(link *serialport.Link, opts LoopOptions) (*Loop, error) {
	if opts.Debounce <= 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.Poll <= 0 {
		opts.Poll = 20 * time.Millisecond
	}
	l := &Loop{link: link, opts: opts}
	line := strings.ToLower(opts.Line)
	switch line {
	case "cts", "dsr", "dcd", "ri":
		l.read = func(p serialport.Port) (bool, error) {
			m, ok := p.(ModemStatus)
			if !ok {
				return false, fmt.Errorf("%w: port has no modem lines", ErrBoard)
			}
			bits, err := m.ModemStatus()
			if err != nil {
				return false, err
			}
			return map[string]bool{"cts": bits.CTS, "dsr": bits.DSR, "dcd": bits.DCD, "ri": bits.RI}[line], nil
		}
	case "gpio":
		nb := Numato{Timeout: DefaultReplyTimeout}
		if opts.GPIO < 0 || opts.GPIO > 31 {
			return nil, fmt.Errorf("loop: %w: gpio %d (0-31)", ErrBoard, opts.GPIO)
		}
		l.read = func(p serialport.Port) (bool, error) { return nb.GPIO(p, opts.GPIO) }
	default:
		return nil, fmt.Errorf("loop: %w: line %q (cts, dsr, dcd, ri or gpio)", ErrBoard, opts.Line)
	}
	return l, nil
}

// Present reports the debounced state.
func (l *Loop) Present() bool { return l.present.Load() }

// Run polls the input until ctx ends; the Link's Run must be running (it
// opens the port). A failed read is not a vehicle change: the state is
// kept until readings resume (the Link reports the port going down).
func (l *Loop) Run(ctx context.Context) error {
	t := time.NewTicker(l.opts.Poll)
	defer t.Stop()
	var cand bool
	var since time.Time
	faulted := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if !l.link.Up() {
			// Down: the Link's Run re-opens the port with backoff; do
			// not hammer the open path every poll.
			since = time.Time{}
			continue
		}
		var level bool
		err := l.link.Do(func(p serialport.Port) (err error) {
			level, err = l.read(p)
			return err
		})
		if err != nil {
			if !faulted && errors.Is(err, serialport.ErrDevice) {
				l.link.Fault(fmt.Errorf("loop input: %w", err))
			}
			faulted = true
			since = time.Time{}
			continue
		}
		faulted = false
		now := time.Now()
		present := level != l.opts.ActiveLow
		if present == l.present.Load() {
			since = time.Time{}
			continue
		}
		if since.IsZero() || present != cand {
			cand, since = present, now
		}
		if now.Sub(since) >= l.opts.Debounce {
			l.present.Store(present)
			since = time.Time{}
			if l.opts.OnChange != nil {
				l.opts.OnChange(present)
			}
		}
	}
}
