// Package serialport opens, watches and re-opens serial ports: the one
// place in exitlane that talks to go.bug.st/serial.
//
// Open opens a port by path (a device, a udev symlink such as
// /dev/exitlane-relay, or a simulator's pty link) with a line setting
// (Config). Two ways of keeping a port open follow from how it is used:
//
//   - a Link is for devices that answer queries (relay boards, modem-line
//     inputs): it hands the port to one exchange at a time (Do), notices
//     when it is lost and re-opens it with backoff (Run), and runs
//     OnOpen functions on every open before any exchange;
//   - Serve is for devices that talk on their own (barcode scanners): it
//     hands the open port to one reader until the reader fails, then
//     re-opens it with backoff.
//
// Both report Up and Down events (and a Link, device Faults) to an
// OnEvent callback. Drivers work on the small Port interface, so tests and
// the simulator use in-memory fakes or pseudo-terminals.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// Port is a serial port as drivers see it. *Serial satisfies it; tests use
// in-memory fakes.
type Port interface {
	io.ReadWriteCloser
	// SetReadTimeout bounds each Read. A Read that times out returns 0, nil.
	SetReadTimeout(d time.Duration) error
}

// Config is the line setting of a serial port. Zero fields mean 9600 baud,
// 8 data bits, no parity, 1 stop bit (what LCUS boards and most scanners
// ship with).
type Config struct {
	Baud int
	// Parity is "none" (default), "even", "odd", "mark" or "space".
	Parity   string
	DataBits int
	StopBits int
}

// ErrConfig reports a Config that cannot be applied.
var ErrConfig = errors.New("bad port config")

// Validate checks the settings without opening anything.
func (c Config) Validate() error {
	_, err := c.mode()
	return err
}

func (c Config) mode() (*serial.Mode, error) {
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
		return nil, fmt.Errorf("%w: parity %q (none, even, odd, mark, space)", ErrConfig, c.Parity)
	}
	switch c.StopBits {
	case 0, 1:
		m.StopBits = serial.OneStopBit
	case 2:
		m.StopBits = serial.TwoStopBits
	default:
		return nil, fmt.Errorf("%w: stop bits %d (1 or 2)", ErrConfig, c.StopBits)
	}
	if m.BaudRate < 0 || m.DataBits < 5 || m.DataBits > 8 {
		return nil, fmt.Errorf("%w: baud %d, data bits %d", ErrConfig, m.BaudRate, m.DataBits)
	}
	// InitialStatusBits stays nil: DTR and RTS are left alone at open. The
	// modem ioctls fail on pseudo-terminals, and toggling DTR resets some
	// boards (and could click a relay).
	return m, nil
}

// Serial is an open serial port. It remembers which file its path named
// when it was opened, so a watcher can tell when an adapter was unplugged
// or its stable name (udev symlink, simulator link) now points elsewhere.
type Serial struct {
	port serial.Port
	path string
	info os.FileInfo
}

// Open opens the serial port at path.
func Open(path string, cfg Config) (*Serial, error) {
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
	return &Serial{port: p, path: path, info: info}, nil
}

func (s *Serial) Read(b []byte) (int, error)           { return s.port.Read(b) }
func (s *Serial) Write(b []byte) (int, error)          { return s.port.Write(b) }
func (s *Serial) SetReadTimeout(d time.Duration) error { return s.port.SetReadTimeout(d) }

// Close closes the port; closing it again does nothing.
func (s *Serial) Close() error { return s.port.Close() }

// ResetInputBuffer drops input not yet read (a late reply to an earlier
// query).
func (s *Serial) ResetInputBuffer() error { return s.port.ResetInputBuffer() }

// ModemBits are the modem status input lines.
type ModemBits struct {
	CTS, DSR, RI, DCD bool
}

// ModemStatus reads the modem status lines (real serial ports only:
// pseudo-terminals have none).
func (s *Serial) ModemStatus() (ModemBits, error) {
	b, err := s.port.GetModemStatusBits()
	if err != nil {
		return ModemBits{}, err
	}
	return ModemBits{CTS: b.CTS, DSR: b.DSR, RI: b.RI, DCD: b.DCD}, nil
}

// Path is the path the port was opened by.
func (s *Serial) Path() string { return s.path }

// Gone reports whether the path no longer names the file that was opened:
// the adapter was unplugged, or re-plugged as a different device node. It
// only stats the path, so it is cheap enough to call before each exchange.
func (s *Serial) Gone() bool {
	info, err := os.Stat(s.path)
	return err != nil || !os.SameFile(info, s.info)
}

// HungUp reports whether the open port has been hung up (its device went
// away, even if a new one now has the same name, as pseudo-terminal and
// ttyUSB numbers are reused). It reads with a 1ms timeout, so any stray
// input waiting in the port is consumed: call it only on ports whose
// drivers discard stale input before each query anyway.
func (s *Serial) HungUp() bool {
	if err := s.SetReadTimeout(time.Millisecond); err != nil {
		return true
	}
	var b [64]byte
	_, err := s.Read(b[:])
	return err != nil
}

// OpenFunc opens a port; a Link or Serve calls it again after the port is
// lost.
type OpenFunc func() (Port, error)

// Opener returns an OpenFunc for Open(path, cfg).
func Opener(path string, cfg Config) OpenFunc {
	return func() (Port, error) {
		p, err := Open(path, cfg)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
}

// Info describes a serial port present on the machine.
type Info struct {
	// Name is the device path, e.g. /dev/ttyUSB0.
	Name string
	USB  bool
	// VID and PID are the USB vendor and product ids (hex), SerialNumber,
	// Manufacturer and Product the USB strings, where known.
	VID, PID                            string
	SerialNumber, Manufacturer, Product string
}

// List lists the serial ports present, with USB details where known.
func List() ([]Info, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("list serial ports: %w", err)
	}
	out := make([]Info, 0, len(ports))
	for _, p := range ports {
		out = append(out, Info{Name: p.Name, USB: p.IsUSB, VID: p.VID, PID: p.PID,
			SerialNumber: p.SerialNumber, Manufacturer: p.Manufacturer, Product: p.Product})
	}
	return out, nil
}
