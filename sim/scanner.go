package sim

import (
	"fmt"
	"sync"
)

// ScannerOptions configures the scanner emulator. Zero fields mean the
// defaults.
type ScannerOptions struct {
	// Suffix ends each code; default "\r\n" (Honeywell's RS-232 default).
	Suffix string
	// AIM, when set (e.g. "]Q1"), leads each code as a symbology
	// identifier.
	AIM string
}

// Scanner emulates a serial barcode scanner on a pty.
type Scanner struct {
	ep   *endpoint
	opts ScannerOptions

	mu   sync.Mutex
	sent int
}

// NewScanner creates the pty and its link; open Path with the reader.
func NewScanner(opts ScannerOptions) (*Scanner, error) {
	if opts.Suffix == "" {
		opts.Suffix = "\r\n"
	}
	ep, err := newEndpoint("scanner", nil)
	if err != nil {
		return nil, err
	}
	return &Scanner{ep: ep, opts: opts}, nil
}

// Path is the stable path of the scanner's port (a symlink to the pty).
func (s *Scanner) Path() string { return s.ep.link }

// Send scans one code: AIM prefix (if set), the code and the suffix, in
// one write, as a scanner sends a frame.
func (s *Scanner) Send(code string) error {
	return s.SendRaw([]byte(s.opts.AIM + code + s.opts.Suffix))
}

// SendRaw sends bytes as they are.
func (s *Scanner) SendRaw(b []byte) error {
	if err := s.ep.write(b); err != nil {
		return fmt.Errorf("sim: scanner send: %w", err)
	}
	s.mu.Lock()
	s.sent++
	s.mu.Unlock()
	return nil
}

// Noise is what SendNoise sends: a burst of line noise (control bytes,
// high bytes, a bare ESC sequence) ending in CR LF, then a fragment with no
// terminator that only the inter-character timeout ends.
var Noise = []byte("\x00\x1b[2J\xff\xfe~\x07\r\n\x11\x13garbage")

// SendNoise sends Noise.
func (s *Scanner) SendNoise() error { return s.SendRaw(Noise) }

// Unplug makes the scanner vanish: the port fails and its path is gone.
func (s *Scanner) Unplug() { s.ep.unplug() }

// Replug brings the scanner back (a new pty behind the same Path).
func (s *Scanner) Replug() error { return s.ep.plug() }

// Close unplugs the scanner and removes its directory.
func (s *Scanner) Close() error {
	s.ep.close()
	return nil
}
