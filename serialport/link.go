package serialport

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
	// device works again after a Fault.
	Up EventKind = iota + 1
	// Down: the port was lost (unplugged, I/O error, path gone or
	// re-pointed, tty hung up); it is re-opened with backoff.
	Down
	// Fault: the device misbehaved (no reply, a state read back wrong);
	// the port stays open.
	Fault
)

func (k EventKind) String() string {
	switch k {
	case Up:
		return "up"
	case Down:
		return "down"
	case Fault:
		return "fault"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is a device health change, delivered to Options.OnEvent.
type Event struct {
	// Device is Options.Name ("relay", "loop", "scanner").
	Device string
	Kind   EventKind
	// Err is the cause of Down and Fault.
	Err error
	At  time.Time
}

var (
	// ErrDown: the port is not open (unplugged, not yet re-opened).
	ErrDown = errors.New("device not connected")
	// ErrDevice marks an error as the device's rather than the port's (no
	// reply, a bad reply, a state read back wrong): a Link keeps the port
	// open when an exchange fails with an error that errors.Is ErrDevice,
	// and closes it for any other error. Drivers declare their protocol
	// errors so that they match it.
	ErrDevice = errors.New("device fault")
)

// Options configures a Link or Serve. Zero fields mean the documented
// defaults.
type Options struct {
	// Name names the device in events and logs; default "serial".
	Name string
	// MinBackoff and MaxBackoff bound the wait between re-open attempts;
	// defaults 250ms and 5s (doubling).
	MinBackoff, MaxBackoff time.Duration
	// Check is how often a Link checks an idle open port for having
	// vanished (its path gone or re-pointed, the tty hung up); default 1s.
	Check time.Duration
	// OnEvent receives Up, Down and Fault events in order, one call at a
	// time. A Link never calls it while the port is in use; Serve calls it
	// from its own goroutine. It must not block and must not call back
	// into the Link: hand the event to a channel.
	OnEvent func(Event)
	Logger  *slog.Logger
}

func (o *Options) fill() {
	if o.Name == "" {
		o.Name = "serial"
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.Check <= 0 {
		o.Check = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Link owns one serial port of a device that answers queries: it opens
// it, hands it to one exchange at a time, notices when it is lost and
// re-opens it with backoff. Apart from the OnOpen functions it writes
// nothing by itself.
type Link struct {
	open  OpenFunc
	opts  Options
	log   *slog.Logger
	hooks []func(Port) error // guarded by mu

	mu   sync.Mutex // held for a whole exchange
	port Port
	err  error // why the port is down

	qMu     sync.Mutex // guards queue and faulted
	queue   []Event    // events not yet delivered
	faulted bool       // a Fault was reported and the device has not yet recovered
	evMu    sync.Mutex // serialises deliveries
	kick    chan struct{}
}

// NewLink makes a Link that opens its port with open. The port is opened
// by Run (or by the first exchange).
func NewLink(open OpenFunc, opts Options) *Link {
	opts.fill()
	return &Link{open: open, opts: opts, log: opts.Logger.With("device", opts.Name), kick: make(chan struct{}, 1), err: ErrDown}
}

// Name is the Link's device name.
func (l *Link) Name() string { return l.opts.Name }

// OnOpen adds f to the functions run, in the order added, each time the
// port is opened, before the Up event and before any exchange (a relay
// board is put in its safe state there). If the port is open already, f
// runs at once. An error from f that matches ErrDevice keeps the port:
// Up is reported, then a Fault. Any other error counts as the open
// failing: the port is closed and re-opened with backoff.
func (l *Link) OnOpen(f func(Port) error) {
	defer l.flush()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hooks = append(l.hooks, f)
	if l.port == nil {
		return
	}
	if err := f(l.port); err != nil {
		if errors.Is(err, ErrDevice) {
			l.fault(err)
		} else {
			l.lost(err)
		}
	}
}

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

// Fault reports that the device misbehaved while its port stays open (a
// relay that may be stuck, an input that cannot be read). Call it outside
// Do: the event is delivered before Fault returns.
func (l *Link) Fault(err error) {
	l.fault(err)
	l.flush()
}

func (l *Link) fault(err error) {
	l.log.Warn("device fault", "err", err)
	l.qMu.Lock()
	l.faulted = true
	l.qMu.Unlock()
	l.emit(Fault, err)
}

// Healthy reports that the device did what it was told (and confirmed it
// where it can): after a Fault, an Up event says it is well again. Call it
// outside Do.
func (l *Link) Healthy() {
	l.qMu.Lock()
	was := l.faulted
	l.faulted = false
	l.qMu.Unlock()
	if was {
		l.log.Info("device recovered")
		l.emit(Up, nil)
	}
	l.flush()
}

// Up reports whether the port is open now.
func (l *Link) Up() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.port != nil
}

// tryOpen opens the port if it is not open and runs the OnOpen functions;
// l.mu is held.
func (l *Link) tryOpen() bool {
	if l.port != nil {
		return true
	}
	p, err := l.open()
	if err != nil {
		l.err = fmt.Errorf("%w: %w", ErrDown, err)
		return false
	}
	var devErr error
	for _, f := range l.hooks {
		err := f(p)
		switch {
		case err == nil:
		case errors.Is(err, ErrDevice):
			devErr = errors.Join(devErr, err)
		default:
			_ = p.Close()
			l.err = fmt.Errorf("%w: %w", ErrDown, err)
			return false
		}
	}
	l.port, l.err = p, nil
	l.qMu.Lock()
	l.faulted = false
	l.qMu.Unlock()
	l.log.Info("device up")
	l.emit(Up, nil)
	if devErr != nil {
		l.fault(devErr)
	}
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

// Do runs one exchange with the port, alone. When the port is down it
// tries one open first and fails with ErrDown if that fails. An error
// from fn that does not match ErrDevice closes the port and reports Down.
// fn's error is returned as is.
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
	if err != nil && !errors.Is(err, ErrDevice) {
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
