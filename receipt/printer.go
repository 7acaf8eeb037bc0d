package receipt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/exitlane/exitlane/serialport"
)

// Errors from Printer. A caller decides with errors.Is; an unplugged
// printer (or one whose port cannot be opened) is serialport.ErrDown.
var (
	// ErrOutOfPaper: the printer reports no paper. It printed nothing
	// (asked before printing), or ran out during the receipt (asked
	// after).
	ErrOutOfPaper = fmt.Errorf("%w: printer out of paper", serialport.ErrDevice)
	// ErrNoReply: the printer did not answer its paper-status query in
	// time: switched off behind a powered adapter, cable loose, or not an
	// ESC/POS printer. Nothing was printed.
	ErrNoReply = fmt.Errorf("%w: printer does not answer", serialport.ErrDevice)
	// ErrTimeout: the receipt was not printed within Options.Timeout; it
	// may still come out (the send goes on in the background).
	ErrTimeout = errors.New("printer timed out")
	// ErrBusy: an earlier receipt is still being sent (or stuck); this
	// one was not printed.
	ErrBusy = errors.New("printer busy")
)

// Options configures a Printer. Zero fields mean the defaults.
type Options struct {
	Layout
	// NoStatus: the printer does not answer DLE EOT 4 (some USB printers
	// in "printer class" mode behind a serial bridge); print without
	// asking, so an empty roll goes unnoticed.
	NoStatus bool
	// Timeout bounds Print: how long the caller may wait for a receipt
	// to be sent and confirmed; default 5s.
	Timeout time.Duration
	// StatusTimeout bounds the wait for the status byte before printing;
	// default 500ms. After printing the wait is longer by the time the
	// receipt takes to send at Baud.
	StatusTimeout time.Duration
	// Baud is the port's speed, for that estimate; default 9600. (USB
	// printers are faster than their nominal baud, so this errs long.)
	Baud int
	// Logger receives a line per receipt and per fault.
	Logger *slog.Logger
}

// Printer prints receipts on an ESC/POS printer over a serialport.Link.
// Printer faults go to the Link as events (Fault for an empty roll or a
// silent printer, Up once a receipt prints again; the Link itself reports
// Down for an unplugged printer), so the station shows them to the
// attendant the way it shows every device's state.
type Printer struct {
	link *serialport.Link
	opts Options
	log  *slog.Logger
	busy chan struct{} // one send at a time; held while a send runs
}

// New makes a Printer on link (which the caller runs: link.Run keeps the
// port open and re-opens it when the printer is plugged back in).
func New(link *serialport.Link, opts Options) (*Printer, error) {
	if err := opts.Layout.Validate(); err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.StatusTimeout <= 0 {
		opts.StatusTimeout = 500 * time.Millisecond
	}
	if opts.Baud <= 0 {
		opts.Baud = 9600
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Printer{link: link, opts: opts, log: log.With("device", link.Name()), busy: make(chan struct{}, 1)}, nil
}

// Options returns the options with the defaults filled in.
func (p *Printer) Options() Options { return p.opts }

// Print lays r out and prints it. It returns when the printer has
// confirmed the receipt (paper still there after it), or with an error
// after at most Options.Timeout or when ctx ends, whichever is first:
// ErrOutOfPaper, ErrNoReply, serialport.ErrDown (unplugged), ErrBusy,
// ErrTimeout, or ErrInvalid for a receipt that cannot be laid out. The
// send itself is never abandoned half-way (that would leave the printer
// in the middle of a command); after a timeout it finishes in the
// background, and its outcome is logged.
func (p *Printer) Print(ctx context.Context, r Receipt) error {
	data, err := Encode(r, p.opts.Layout)
	if err != nil {
		return err
	}
	return p.send(ctx, data, "receipt_printed", "order", r.OrderNo)
}

// Check asks the printer for its paper status, bounded like Print: an
// empty roll is ErrOutOfPaper (with the status). A fault is reported to
// the Link as Print does, so a station can poll it
// (every minute, say) to show an empty roll before a driver asks for a
// receipt. It returns ErrBusy at once while a receipt is being sent.
func (p *Printer) Check(ctx context.Context) (PaperStatus, error) {
	var st PaperStatus
	err := p.run(ctx, func() error {
		return p.link.Do(func(port serialport.Port) error {
			var err error
			st, err = p.status(port, p.opts.StatusTimeout)
			if err == nil && st.End {
				err = ErrOutOfPaper
			}
			return err
		})
	}, "paper_checked")
	return st, err
}

// send writes data between two status queries.
func (p *Printer) send(ctx context.Context, data []byte, what string, attrs ...any) error {
	return p.run(ctx, func() error {
		return p.link.Do(func(port serialport.Port) error {
			if !p.opts.NoStatus {
				st, err := p.status(port, p.opts.StatusTimeout)
				if err != nil {
					return err
				}
				if st.End {
					return ErrOutOfPaper
				}
			}
			if _, err := port.Write(data); err != nil {
				return fmt.Errorf("receipt: send: %w", err)
			}
			if p.opts.NoStatus {
				return nil
			}
			// The status query waits behind the receipt in the port and
			// the printer's buffer, so it is answered once the receipt
			// has arrived; an empty roll then means it ran out mid-way.
			wait := p.opts.StatusTimeout + time.Duration(len(data))*10*time.Second/time.Duration(p.opts.Baud)
			st, err := p.status(port, wait)
			if err != nil {
				return err
			}
			if st.End {
				return fmt.Errorf("%w: ran out during the receipt", ErrOutOfPaper)
			}
			if st.NearEnd {
				p.log.Warn("printer paper nearly used up")
			}
			return nil
		})
	}, what, append(attrs, "bytes", len(data))...)
}

// run does job on its own goroutine, one at a time, and waits for it at
// most Timeout. Faults go to the Link after the exchange (never inside
// it).
//
// A write that blocks in the kernel (a USB printer that stops taking
// data) cannot be interrupted: the job then holds the Link, and the
// Link's own checks, until the device goes away and the write fails. The
// caller is released at Timeout all the same, and later calls get
// ErrBusy at once. The paper query before each receipt makes this rare:
// data is only sent to a printer that has just answered.
func (p *Printer) run(ctx context.Context, job func() error, what string, attrs ...any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case p.busy <- struct{}{}:
	default:
		return ErrBusy
	}
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		err := job()
		switch {
		case err == nil:
			p.link.Healthy()
			p.log.Info(what, append(attrs, "ms", time.Since(start).Milliseconds())...)
		case errors.Is(err, serialport.ErrDevice):
			p.link.Fault(err)
			p.log.Warn(what+"_failed", append(attrs, "err", err)...)
		default:
			// A port error: the Link has reported Down already.
			p.log.Warn(what+"_failed", append(attrs, "err", err)...)
		}
		// Free the printer before answering, so that a caller told of a
		// failure can try again at once without being told "busy".
		<-p.busy
		done <- err
	}()
	t := time.NewTimer(p.opts.Timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("receipt: %w after %v", ErrTimeout, p.opts.Timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// status sends DLE EOT 4 and reads the answer, skipping bytes that are
// not a paper status (an automatic status a printer may send unasked).
func (p *Printer) status(port serialport.Port, timeout time.Duration) (PaperStatus, error) {
	discardInput(port)
	if _, err := port.Write(StatusQuery); err != nil {
		return PaperStatus{}, fmt.Errorf("receipt: status query: %w", err)
	}
	deadline := time.Now().Add(timeout)
	var b [1]byte
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return PaperStatus{}, fmt.Errorf("receipt: %w within %v", ErrNoReply, timeout)
		}
		if err := port.SetReadTimeout(left); err != nil {
			return PaperStatus{}, err
		}
		n, err := port.Read(b[:])
		if n == 1 {
			if st, ok := ParsePaperStatus(b[0]); ok {
				return st, nil
			}
		}
		if err != nil {
			return PaperStatus{}, fmt.Errorf("receipt: status: %w", err)
		}
	}
}

// discardInput drops stale input (a late answer to an earlier query).
func discardInput(port serialport.Port) {
	if r, ok := port.(interface{ ResetInputBuffer() error }); ok {
		_ = r.ResetInputBuffer()
	}
}
