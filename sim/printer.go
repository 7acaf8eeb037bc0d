package sim

import (
	"os"
	"sync"
)

// PrinterOptions configures the receipt-printer emulator. Zero fields
// mean the defaults.
type PrinterOptions struct {
	// Width is the paper width in millimetres, 58 or 80; default 80.
	Width int
	// OnPrintout is called with each printout when it is cut, in order,
	// from the emulator's goroutine (the sim panel shows it). It may call
	// the Printer's methods.
	OnPrintout func(Printout)
}

// Printer emulates an ESC/POS thermal receipt printer on a pty: it
// interprets what it receives (see Render), keeps each printout as text
// and as an image, and answers the real-time status queries (DLE EOT n)
// as an Epson printer does. Switches make it run out of paper, go silent
// (switched off behind a powered USB adapter) or vanish (Unplug).
type Printer struct {
	ep   *endpoint
	opts PrinterOptions

	mu        sync.Mutex
	in        *interp
	nearEnd   bool
	offline   bool
	queries   int
	ignored   int // bytes read while offline
	printouts []Printout
	outbox    []Printout // printouts not yet passed to OnPrintout
}

// NewPrinter starts a printer emulator with paper loaded.
func NewPrinter(opts PrinterOptions) (*Printer, error) {
	if opts.Width != 58 {
		opts.Width = 80
	}
	p := &Printer{opts: opts, in: newInterp(opts.Width)}
	ep, err := newEndpoint("printer", p.serve)
	if err != nil {
		return nil, err
	}
	p.ep = ep
	return p, nil
}

// Path is the stable path of the printer's port (a symlink to the pty).
func (p *Printer) Path() string { return p.ep.link }

// Width is the emulated paper width in millimetres.
func (p *Printer) Width() int { return p.opts.Width }

// SetPaperOut takes the paper out (true) or loads a new roll. Without
// paper the printer answers its status queries ("paper end") and prints
// nothing of what it receives.
func (p *Printer) SetPaperOut(out bool) {
	p.mu.Lock()
	p.in.discard = out
	p.mu.Unlock()
}

// SetNearEnd sets the roll's near-end sensor.
func (p *Printer) SetNearEnd(near bool) {
	p.mu.Lock()
	p.nearEnd = near
	p.mu.Unlock()
}

// SetOffline switches the printer off (true) while its port stays: what
// is sent is lost and nothing is answered, as with an RS-232 printer
// switched off behind a USB adapter.
func (p *Printer) SetOffline(off bool) {
	p.mu.Lock()
	p.offline = off
	p.mu.Unlock()
}

// Unplug makes the printer vanish: its port fails and its path is gone.
func (p *Printer) Unplug() { p.ep.unplug() }

// Replug brings the printer back behind the same Path.
func (p *Printer) Replug() error { return p.ep.plug() }

// Close unplugs the printer and removes its directory.
func (p *Printer) Close() error {
	p.ep.close()
	return nil
}

// Printouts returns every printout cut so far.
func (p *Printer) Printouts() []Printout {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Printout(nil), p.printouts...)
}

// Queries is the number of status queries answered.
func (p *Printer) Queries() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queries
}

// Dropped is the number of print bytes received and not printed: lost
// while switched off, or thrown away while out of paper.
func (p *Printer) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ignored + p.in.dropped
}

// serve reads the master side until the pty is closed.
func (p *Printer) serve(m *os.File) {
	var pending []byte
	buf := make([]byte, 4096)
	for {
		n, err := m.Read(buf)
		if n > 0 {
			p.mu.Lock()
			if p.offline {
				p.ignored += n
				pending = nil
				p.mu.Unlock()
				continue
			}
			pending = append(pending, buf[:n]...)
			var replies []byte
			for len(pending) > 0 {
				used, query := p.in.step(pending)
				if used == 0 {
					break
				}
				pending = pending[used:]
				if query != 0 {
					if b, ok := p.status(query); ok {
						p.queries++
						replies = append(replies, b)
					}
				}
			}
			for _, d := range p.in.done {
				p.printouts = append(p.printouts, d)
				if p.opts.OnPrintout != nil {
					p.outbox = append(p.outbox, d)
				}
			}
			p.in.done = nil
			p.mu.Unlock()
			if len(replies) > 0 {
				m.Write(replies)
			}
			p.deliver()
		}
		if err != nil {
			return
		}
	}
}

// status answers DLE EOT n; p.mu is held.
func (p *Printer) status(n byte) (byte, bool) {
	const fixed = 0x12 // bits 1 and 4 are always set
	out := p.in.discard
	switch n {
	case 1: // printer: bit 3 offline
		if out {
			return fixed | 0x08, true
		}
		return fixed, true
	case 2: // offline cause: bit 5 stopped at paper end
		if out {
			return fixed | 0x20, true
		}
		return fixed, true
	case 3: // errors: none emulated
		return fixed, true
	case 4: // roll paper: bits 2-3 near end, 5-6 end
		b := byte(fixed)
		if p.nearEnd {
			b |= 0x0C
		}
		if out {
			b |= 0x60
		}
		return b, true
	}
	p.in.note("DLE EOT with an unknown n")
	return 0, false
}

// deliver passes cut printouts to OnPrintout, outside p.mu.
func (p *Printer) deliver() {
	p.mu.Lock()
	out := p.outbox
	p.outbox = nil
	p.mu.Unlock()
	for _, d := range out {
		p.opts.OnPrintout(d)
	}
}
