package barrier

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.bug.st/serial"
)

// Port is a serial link as the drivers see it. *SerialPort (go.bug.st/serial)
// satisfies it; tests use in-memory fakes.
type Port interface {
	io.ReadWriteCloser
	// SetReadTimeout bounds each Read. A Read that times out returns 0, nil.
	SetReadTimeout(d time.Duration) error
}

// PortConfig is the line setting of a serial port. Zero fields mean 9600
// baud, 8 data bits, no parity, 1 stop bit (what LCUS boards and most
// scanners ship with).
type PortConfig struct {
	Baud int
	// Parity is "none" (default), "even", "odd", "mark" or "space".
	Parity   string
	DataBits int
	StopBits int
}

// ErrPortConfig reports a PortConfig that cannot be applied.
var ErrPortConfig = errors.New("bad port config")

// Validate checks the settings without opening anything.
func (c PortConfig) Validate() error {
	_, err := c.mode()
	return err
}

func (c PortConfig) mode() (*serial.Mode, error) {
	m := &serial.Mode{BaudRate: c.Baud, DataBits: c.DataBits}
	if m.BaudRate == 0 {
		m.BaudRate = 9600
	}
	if m.DataBits == 0 {
		m.DataBits = 8
	}
	switch strings.ToLower(c.Parity) {
	case "", "none", "n":
		m.Parity = serial.NoParity
	case "even", "e":
		m.Parity = serial.EvenParity
	case "odd", "o":
		m.Parity = serial.OddParity
	case "mark", "m":
		m.Parity = serial.MarkParity
	case "space", "s":
		m.Parity = serial.SpaceParity
	default:
		return nil, fmt.Errorf("%w: parity %q (none, even, odd, mark, space)", ErrPortConfig, c.Parity)
	}
	switch c.StopBits {
	case 0, 1:
		m.StopBits = serial.OneStopBit
	case 2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("%w: stop bits %d (1 or 2)", ErrPortConfig, c.StopBits)
	}
	if m.BaudRate < 0 || m.DataBits < 5 || m.DataBits > 8 {
		return nil, fmt.Errorf("%w: baud %d, data bits %d", ErrPortConfig, m.BaudRate, m.DataBits)
	}
	// InitialStatusBits stays nil: DTR and RTS are left alone at open. The
	// modem ioctls fail on pseudo-terminals, and toggling DTR resets some
	// boards (and could click a relay).
	return m, nil
}

// SerialPort is an open serial port. It remembers which file its path named
// when it was opened, so a watcher can tell when an adapter was unplugged
// or its stable name (udev symlink, simulator link) now points elsewhere.
type SerialPort struct {
	serial.Port
	path string
	info os.FileInfo
}

// OpenPort opens the serial port at path (a device, a udev symlink such as
// /dev/exitlane-relay, or a simulator's pty link).
func OpenPort(path string, cfg PortConfig) (*SerialPort, error) {
	mode, err := cfg.mode()
	if err != nil {
		return nil, fmt.Errorf("open port %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("open port %s: %w", path, err)
	}
	p, err := serial.Open(path, mode)
	if err != nil {
		return nil, fmt.Errorf("open port %s: %w", path, err)
	}
	return &SerialPort{Port: p, path: path, info: info}, nil
}

// Path is the path the port was opened by.
func (p *SerialPort) Path() string { return p.path }

// Gone reports whether the path no longer names the file that was opened:
// the adapter was unplugged, or re-plugged as a different device node. It
// only stats the path, so it is cheap enough to call before each exchange.
func (p *SerialPort) Gone() bool {
	info, err := os.Stat(p.path)
	return err != nil || !os.SameFile(info, p.info)
}

// HungUp reports whether the open port has been hung up (its device went
// away, even if a new one now has the same name, as pseudo-terminal and
// ttyUSB numbers are reused). It reads with a 1ms timeout, so any stray
// input waiting in the port is consumed; the drivers discard stale input
// before each query anyway.
func (p *SerialPort) HungUp() bool {
	if err := p.SetReadTimeout(time.Millisecond); err != nil {
		return true
	}
	var b [64]byte
	_, err := p.Read(b[:])
	return err != nil
}

// Opener opens a port; the Link calls it again after the port is lost.
type Opener func() (Port, error)

// PortOpener returns an Opener for OpenPort(path, cfg).
func PortOpener(path string, cfg PortConfig) Opener {
	return func() (Port, error) {
		p, err := OpenPort(path, cfg)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// readFull reads exactly n bytes or fails with ErrNoReply once timeout has
// passed (the bytes that did arrive are returned with the error).
func readFull(p Port, n int, timeout time.Duration) ([]byte, error) {
	buf := make([]byte, n)
	got := 0
	deadline := time.Now().Add(timeout)
	for got < n {
		left := time.Until(deadline)
		if left <= 0 {
			return buf[:got], fmt.Errorf("%w: %d of %d bytes in %v", ErrNoReply, got, n, timeout)
		}
		if err := p.SetReadTimeout(left); err != nil {
			return buf[:got], err
		}
		k, err := p.Read(buf[got:])
		got += k
		if err != nil {
			return buf[:got], err
		}
	}
	return buf, nil
}

// readUntil reads until the byte stop arrives (included in the result), at
// most max bytes, or fails with ErrNoReply after timeout.
func readUntil(p Port, stop byte, max int, timeout time.Duration) ([]byte, error) {
	var out []byte
	one := make([]byte, 64)
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return out, fmt.Errorf("%w: no %q in %v (got %q)", ErrNoReply, stop, timeout, out)
		}
		if err := p.SetReadTimeout(left); err != nil {
			return out, err
		}
		// Read one byte at a time so that bytes after the stop byte stay
		// in the port for the next exchange.
		k, err := p.Read(one[:1])
		if k > 0 {
			out = append(out, one[0])
			if one[0] == stop {
				return out, nil
			}
			if len(out) >= max {
				return out, fmt.Errorf("%w: reply longer than %d bytes", ErrBadReply, max)
			}
		}
		if err != nil {
			return out, err
		}
	}
}

// discardInput drops stale input (a late reply to an earlier query) so the
// next reply is read from a clean start.
func discardInput(p Port) {
	if r, ok := p.(interface{ ResetInputBuffer() error }); ok {
		_ = r.ResetInputBuffer()
	}
}
