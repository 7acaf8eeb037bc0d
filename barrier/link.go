package barrier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// EventKind says what happened to a device.
type EventKind int

const (
	// Up: the port was opened (at start or after it was lost), or the
	// board works again after a Fault.
	Up EventKind = iota + 1
	// Down: the port was lost (unplugged, I/O error); the Link re-opens it
	// with backoff.
	Down
	// Fault: the board misbehaved (no reply, state read back wrong, relay
	// may be stuck). The port stays open.
	Fault
	// VehiclePresent and VehicleClear come from the loop input.
	VehiclePresent
	VehicleClear
)

func (k EventKind) String() string {
	switch k {
	case Up:
		return "up"
	case Down:
		return "down"
	case Fault:
		return "fault"
	case VehiclePresent:
		return "vehicle_present"
	case VehicleClear:
		return "vehicle_clear"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a device health or input change, delivered to the OnEvent
// callback of the Link that saw it.
type Event struct {
	// Device is the Link's name (DeviceRelay, DeviceLoop).
	Device DeviceName
	Kind   EventKind
	// Err is the cause of Down and Fault.
	Err error
	At  time.Time
}

// DeviceName names the device a Link serves, in its events and logs.
type DeviceName string

const (
	DeviceRelay DeviceName = "relay" // the relay board that pulses the barrier
	DeviceLoop  DeviceName = "loop"  // the vehicle loop's input, when on its own port
)

// ErrDown: the port is not open (unplugged, not yet re-opened).
var ErrDown = errors.New("device not connected")

// LinkOptions configures a Link. Zero fields mean the documented defaults.
type LinkOptions struct {
	// Name names the device in events and logs; default DeviceRelay.
	Name DeviceName
	// MinBackoff and MaxBackoff bound the wait between re-open attempts;
	// defaults 250ms and 5s (doubling).
	MinBackoff, MaxBackoff time.Duration
	// Check is how often an idle open port is checked for having vanished
	// (its path gone or re-pointed); default 1s.
	Check time.Duration
	// OnEvent receives Up, Down and Fault events (and the Barrier's and
	// Loop's events), in order, one call at a time, never while the port
	// is in use. It must not block and must not call back into the Link,
	// Barrier or Loop: hand the event to a channel.
	OnEvent func(Event)
	Logger  *slog.Logger
}

// Link owns one serial port: it opens it, hands it to one exchange at a
// time, notices when it is lost and re-opens it with backoff. It never
// writes anything by itself, so nothing reaches the board at start-up or
// on reconnect.
type Link struct {
	open Opener
	opts LinkOptions
	log  *slog.Logger

	mu   sync.Mutex // held for a whole exchange
	port Port
	err  error // why the port is down

	qMu     sync.Mutex // guards queue and faulted
	queue   []Event    // events not yet delivered
	faulted bool       // a Fault was reported and the board has not yet recovered
	evMu    sync.Mutex // serialises deliveries
	kick    chan struct{}
}

// NewLink makes a Link that opens its port with open. The port is opened
// by Run (or by the first exchange).
func NewLink(open Opener, opts LinkOptions) *Link {
	if opts.Name == "" {
		opts.Name = DeviceRelay
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 250 * time.Millisecond
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(5*time.Second, opts.MinBackoff)
	}
	if opts.Check <= 0 {
		opts.Check = time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Link{open: open, opts: opts, log: log.With("device", string(opts.Name)), kick: make(chan struct{}, 1), err: ErrDown}
}

// Name is the Link's device name.
func (l *Link) Name() DeviceName { return l.opts.Name }

// emit queues an event; flush delivers it once no lock is held, so that
// OnEvent never runs inside an exchange.
func (l *Link) emit(kind EventKind, err error) {
	l.qMu.Lock()
	l.queue = append(l.queue, Event{Device: l.opts.Name, Kind: kind, Err: err, At: time.Now()})
	l.qMu.Unlock()
}

// flush delivers queued events in order. l.mu must not be held.
func (l *Link) flush() {
	l.evMu.Lock()
	defer l.evMu.Unlock()
	for {
		l.qMu.Lock()
		q := l.queue
		l.queue = nil
		l.qMu.Unlock()
		if len(q) == 0 {
			return
		}
		if l.opts.OnEvent != nil {
			for _, ev := range q {
				l.opts.OnEvent(ev)
			}
		}
	}
}

// fault queues a board fault (delivered at the end of the exchange).
func (l *Link) fault(err error) {
	l.log.Warn("device fault", "err", err)
	l.qMu.Lock()
	l.faulted = true
	l.qMu.Unlock()
	l.emit(Fault, err)
}

// healthy reports that the board did what it was told (and confirmed it
// where it can): after a Fault, an Up event says the device is well again.
// The caller flushes.
func (l *Link) healthy() {
	l.qMu.Lock()
	was := l.faulted
	l.faulted = false
	l.qMu.Unlock()
	if was {
		l.log.Info("device recovered")
		l.emit(Up, nil)
	}
}

// Up reports whether the port is open now.
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.port != nil
}

// tryOpen opens the port if it is not open; l.mu is held.
func (l *Link) tryOpen() bool {
	if l.port != nil {
		return true
	}
	p, err := l.open()
	if err != nil {
		l.err = fmt.Errorf("%w: %w", ErrDown, err)
		return false
	}
	l.port, l.err = p, nil
	l.qMu.Lock()
	l.faulted = false
	l.qMu.Unlock()
	l.log.Info("device up")
	l.emit(Up, nil)
	return true
}

// lost closes the port after an I/O error; l.mu is held.
func (l *Link) lost(err error) {
	if l.port == nil {
		return
	}
	_ = l.port.Close()
	l.port = nil
	l.err = fmt.Errorf("%w: %w", ErrDown, err)
	l.log.Warn("device down", "err", err)
	l.emit(Down, err)
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// boardFault reports whether err is the board's fault rather than the
// link's: the port is kept for those.
func boardFault(err error) bool {
	return errors.Is(err, ErrNoReply) || errors.Is(err, ErrBadReply) ||
		errors.Is(err, ErrMismatch) || errors.Is(err, ErrNoReadback) || errors.Is(err, ErrBoard)
}

// Do runs one exchange with the port, alone. When the port is down it
// tries one open first and fails with ErrDown if that fails. An I/O error
// from fn (anything but a board fault) closes the port and reports Down.
func (l *Link) Do(fn func(Port) error) error {
	defer l.flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	if sp, ok := l.port.(interface{ Gone() bool }); ok && sp.Gone() {
		l.lost(errors.New("port vanished"))
	}
	if !l.tryOpen() {
		return l.err
	}
	err := fn(l.port)
	if err != nil && !boardFault(err) {
		l.lost(err)
	}
	return err
}

// Run keeps the port open until ctx ends, then closes it. It re-opens a
// lost port with backoff and checks an idle port for having vanished.
func (l *Link) Run(ctx context.Context) error {
	backoff := l.opts.MinBackoff
	down := false
	for {
		l.mu.Lock()
		if sp, ok := l.port.(interface{ Gone() bool }); ok && sp.Gone() {
			l.lost(errors.New("port vanished"))
		}
		if sp, ok := l.port.(interface{ HungUp() bool }); ok && sp.HungUp() {
			l.lost(errors.New("port hung up"))
		}
		up := l.tryOpen()
		if !up && !down {
			l.log.Warn("device not available, retrying", "err", l.err)
		}
		l.mu.Unlock()
		wait := l.opts.Check
		if up {
			backoff = l.opts.MinBackoff
		} else {
			wait = backoff
			backoff = min(backoff*2, l.opts.MaxBackoff)
		}
		down = !up
		l.flush()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			l.Close()
			return ctx.Err()
		case <-l.kick:
			t.Stop()
		case <-t.C:
		}
	}
}

// Close closes the port (Run or a later Do may open it again).
func (l *Link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.port == nil {
		return nil
	}
	err := l.port.Close()
	l.port, l.err = nil, ErrDown
	return err
}
