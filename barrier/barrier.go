// Package barrier drives the exit barrier through a serial relay board.
//
// A Board is one relay-board wire protocol (LCUS, KMtronic, Numato,
// Devantech, Modbus-RTU) working on a serialport.Port; a Barrier turns one
// authorisation into exactly one pulse of the barrier's OPEN contact over
// a serialport.Link (which opens and re-opens the port and reports Up,
// Down and Fault events); a Loop reads an optional vehicle-presence input.
//
// Safety rules (see docs/devices.md): nothing but "off" is ever sent at
// start-up, on reconnect or on reload: each time its port is opened, the
// barrier channel is switched off (and read back where the board can
// tell), because an "off" cannot open a barrier and a process killed
// during a pulse leaves the relay on; no pulse is ever sent then. The
// kiosk never sends "close" (the barrier's own loops close it); every
// pulse ends with an "off", even when its context ends mid-pulse; pulses
// are never merged, replayed or dropped silently.
package barrier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/exitlane/exitlane/serialport"
)

// Pulse limits. Barrier controllers want a momentary closure of their OPEN
// input; a closure held too long keeps the arm up.
const (
	DefaultPulse = 500 * time.Millisecond
	MinPulse     = 100 * time.Millisecond
	MaxPulse     = 3 * time.Second
	// DefaultGap is the least time between the end of one pulse and the
	// start of the next, so the controller sees two closures (vend
	// counting) rather than one long one.
	DefaultGap = 300 * time.Millisecond
)

// Options configures a Barrier. Zero fields mean the defaults.
type Options struct {
	// Board is the board family (see Boards); default "lcus".
	Board string
	// Channel is the relay wired to the barrier's OPEN input, from 1;
	// default 1.
	Channel int
	// Channels is how many relays Halt switches off (1..Channels);
	// default Channel. At connect only Channel is switched off.
	Channels int
	// Pulse is how long the contact is closed; default 500ms, allowed
	// 100ms to 3s.
	Pulse time.Duration
	// Gap is the least pause between two pulses; default 300ms. Negative
	// means none.
	Gap time.Duration
	// ActiveLow: the board closes the contact when the relay is switched
	// "off" (inverted boards or wiring to the normally-closed contact).
	ActiveLow bool
	// Address is the Modbus slave address; default 1.
	Address int
	// ReplyTimeout bounds each board reply; default 200ms.
	ReplyTimeout time.Duration
	Logger       *slog.Logger
}

// Barrier pulses the barrier's OPEN contact through a relay board.
type Barrier struct {
	link  *serialport.Link
	board Board
	opts  Options
	log   *slog.Logger

	turn    chan struct{} // one pulse at a time, in arrival order
	lastOff time.Time     // guarded by turn
}

// New makes a Barrier on link. From then on, each time link opens its
// port (at start-up and on every reconnect) the barrier channel is
// switched off, and read back where the board can tell, before anything
// else is sent; a board that does not confirm it is reported as a Fault.
// A pulse is never sent at connect.
func New(link *serialport.Link, opts Options) (*Barrier, error) {
	if opts.Channel == 0 {
		opts.Channel = 1
	}
	if opts.Channels == 0 {
		opts.Channels = opts.Channel
	}
	if opts.Pulse == 0 {
		opts.Pulse = DefaultPulse
	}
	if opts.Gap == 0 {
		opts.Gap = DefaultGap
	}
	if opts.Pulse < MinPulse || opts.Pulse > MaxPulse {
		return nil, fmt.Errorf("barrier: %w: pulse %v (%v to %v)", ErrBoard, opts.Pulse, MinPulse, MaxPulse)
	}
	board, err := NewBoard(opts.Board, opts.Address, opts.ReplyTimeout)
	if err != nil {
		return nil, fmt.Errorf("barrier: %w", err)
	}
	if err := checkChannel(board, opts.Channel); err != nil {
		return nil, fmt.Errorf("barrier: %w", err)
	}
	if opts.Channels < opts.Channel || opts.Channels > board.MaxChannel() {
		return nil, fmt.Errorf("barrier: %w: channels %d (%d-%d)", ErrBoard, opts.Channels, opts.Channel, board.MaxChannel())
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Barrier{link: link, board: board, opts: opts, log: log, turn: make(chan struct{}, 1)}
	link.OnOpen(b.offAtConnect)
	return b, nil
}

// offAtConnect switches the barrier channel off on a freshly opened port.
// The relay may have been left on: the process was killed between "on"
// and "off", or the port was lost during a pulse on a board with its own
// supply. An "off" cannot open a barrier, so it is always safe to send.
func (b *Barrier) offAtConnect(p serialport.Port) error {
	ch := b.opts.Channel
	err := b.board.Set(p, ch, b.raw(false))
	if err == nil {
		err = b.readBack(p, ch, b.raw(false))
	}
	if err != nil {
		return fmt.Errorf("barrier: switch channel %d off at connect: %w", ch, err)
	}
	b.log.Info("barrier relay off at connect", "channel", ch)
	return nil
}

// Board is the barrier's board driver.
func (b *Barrier) Board() Board { return b.board }

// Options returns the options with defaults filled in.
func (b *Barrier) Options() Options { return b.opts }

// raw is the relay state that puts the contact closed (true) or open.
func (b *Barrier) raw(closed bool) bool { return closed != b.opts.ActiveLow }

// set switches ch and, where the board can tell, reads it back. A
// read-back that fails or disagrees is reported as a Fault and returned
// (ErrMismatch for a disagreement).
func (b *Barrier) set(ch int, closed bool) error {
	want := b.raw(closed)
	var rbErr error
	err := b.link.Do(func(p serialport.Port) error {
		if err := b.board.Set(p, ch, want); err != nil {
			return err
		}
		rbErr = b.readBack(p, ch, want)
		return rbErr
	})
	if rbErr != nil {
		b.link.Fault(rbErr)
	}
	return err
}

// readBack checks that relay ch is in state want; nil when the board
// cannot tell.
func (b *Barrier) readBack(p serialport.Port, ch int, want bool) error {
	got, err := b.board.State(p, ch)
	switch {
	case errors.Is(err, ErrNoReadback):
		return nil
	case err != nil:
		return fmt.Errorf("read back channel %d: %w", ch, err)
	case got != want:
		return fmt.Errorf("%w: channel %d is %s, want %s", ErrMismatch, ch, onOff(got), onOff(want))
	}
	return nil
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

// Open lifts the barrier: one pulse (contact closed, hold, open). cause is
// logged with the pulse (the ledger row that authorises it is the caller's).
//
// Pulses are serialised in arrival order with at least Gap between them:
// two authorisations give two pulses. When ctx ends while waiting for its
// turn nothing is sent and ctx's error is returned. When ctx ends during
// the hold, the contact is opened at once and an error wrapping ctx's is
// returned: the barrier may have lifted. The contact is always opened
// again, whatever happened; if that fails a Fault is reported (the relay
// may be stuck closed) and the error says so.
func (b *Barrier) Open(ctx context.Context, cause string) error {
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("barrier: open: %w", ctx.Err())
	}
	defer func() { <-b.turn }()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("barrier: open: %w", err)
	}
	if wait := time.Until(b.lastOff.Add(b.opts.Gap)); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("barrier: open: %w", ctx.Err())
		}
	}
	ch := b.opts.Channel
	start := time.Now()
	onErr := b.set(ch, true)
	if errors.Is(onErr, serialport.ErrDown) {
		// The port could not be opened (or not switched off at
		// connect): no "on" was sent.
		b.log.Error("barrier pulse not sent", "cause", cause, "channel", ch, "err", onErr)
		return fmt.Errorf("barrier: open: %w", onErr)
	}
	if onErr != nil && !errors.Is(onErr, ErrMismatch) && !errors.Is(onErr, ErrNoReply) && !errors.Is(onErr, ErrBadReply) {
		// The "on" may or may not have reached the board: send "off"
		// anyway, then report.
		offErr := b.release(ch)
		b.log.Error("barrier pulse failed", "cause", cause, "channel", ch, "err", onErr)
		return fmt.Errorf("barrier: open: %w", errors.Join(onErr, offErr))
	}
	var cut error
	t := time.NewTimer(b.opts.Pulse - time.Since(start))
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		cut = fmt.Errorf("pulse cut short after %v: %w", time.Since(start).Round(time.Millisecond), ctx.Err())
	}
	offErr := b.release(ch)
	b.lastOff = time.Now()
	err := errors.Join(onErr, cut, offErr)
	if err != nil {
		b.log.Error("barrier pulse", "cause", cause, "channel", ch, "held_ms", b.lastOff.Sub(start).Milliseconds(), "err", err)
		return fmt.Errorf("barrier: open: %w", err)
	}
	b.log.Info("barrier pulse", "cause", cause, "channel", ch, "held_ms", b.lastOff.Sub(start).Milliseconds())
	// A whole pulse confirmed (where the board can tell) is what clears
	// an earlier Fault; a confirmed "off" alone would not show that a
	// relay stuck open works again.
	b.link.Healthy()
	return nil
}

// release opens the contact, retrying a few times: a relay left closed
// holds the barrier up.
func (b *Barrier) release(ch int) error {
	var err error
	for i := range 3 {
		if i > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		if err = b.set(ch, false); err == nil {
			return nil
		}
	}
	err = fmt.Errorf("relay %d may be stuck closed: %w", ch, err)
	b.link.Fault(err)
	return err
}

// Halt opens the contact of every relay (1..Channels) and reads each back
// where the board can tell: the safe state. It does not wait for a pulse
// in progress (that pulse's own "off" follows).
func (b *Barrier) Halt() error {
	var errs []error
	for ch := 1; ch <= b.opts.Channels; ch++ {
		if err := b.set(ch, false); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("barrier: halt: %w", err)
	}
	return nil
}

// ContactClosed reads whether the barrier relay's contact is closed now
// (true only during a pulse); ErrNoReadback for boards that cannot tell.
func (b *Barrier) ContactClosed() (bool, error) {
	var on bool
	err := b.link.Do(func(p serialport.Port) (err error) {
		on, err = b.board.State(p, b.opts.Channel)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("barrier: state: %w", err)
	}
	return on == b.raw(true), nil
}
