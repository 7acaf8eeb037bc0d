package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/receipt"
	"github.com/exitlane/exitlane/serialport"
)

// printerCheck is how often an idle printer is asked for its paper, so
// that the attendant sees an empty roll before a driver asks for a
// receipt.
const printerCheck = time.Minute

// printer is the optional receipt printer of [printer]: a serialport.Link
// (run in its own goroutine, re-opening the port when the printer is
// plugged back in) and a receipt.Printer on it. It is the lane's
// lane.Receipts: Print reads the visit's exit from the ledger, lays out
// the receipt and prints it.
//
// Its health reaches the lane as lane.DevPrinter (the Link's Up, Down and
// Fault events, and the outcome of each receipt and paper check), which
// the attendant sees; the lane never faults on it, and the exit never
// waits for it.
type printer struct {
	cfg  *config.Config
	db   *ledger.DB
	dev  *devices
	log  *slog.Logger
	link *serialport.Link
	p    *receipt.Printer
	seen atomic.Bool // the port opened at least once
	// sem lets one receipt or check use the printer at a time: a receipt
	// waits for the one before it (or a paper check) rather than failing
	// with receipt.ErrBusy; a check skips while a receipt prints.
	sem chan struct{}
}

// newPrinter builds the printer [printer] configures, or returns nil when
// port is empty. No port is opened until run.
func newPrinter(cfg *config.Config, o Options, db *ledger.DB, dev *devices, log *slog.Logger) (*printer, error) {
	if cfg.Printer.Port == "" {
		return nil, nil
	}
	log = log.With("component", "printer")
	open := o.PrinterOpen
	if open == nil {
		open = serialport.Opener(cfg.Printer.Port, serialport.Config{Baud: cfg.Printer.Baud})
	}
	p := &printer{cfg: cfg, db: db, dev: dev, log: log, sem: make(chan struct{}, 1)}
	p.link = serialport.NewLink(open, serialport.Options{Name: "printer", OnEvent: p.onEvent, Logger: log})
	var err error
	p.p, err = receipt.New(p.link, receipt.Options{
		Layout:   receipt.Layout{Width: cfg.Printer.Width, NoImages: !cfg.Printer.ArabicName},
		NoStatus: !cfg.Printer.PaperStatus, Timeout: cfg.Printer.Timeout, Baud: cfg.Printer.Baud, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	return p, nil
}

func (p *printer) onEvent(ev serialport.Event) {
	if ev.Kind == serialport.Up {
		p.seen.Store(true)
	}
	p.dev.onEvent(ev)
}

// report tells the lane the printer's health after a receipt or a check.
// A busy printer, a receipt that cannot be laid out and a cancelled call
// say nothing about it.
func (p *printer) report(err error) {
	switch {
	case err == nil:
		p.dev.send(func(r *lane.Runner) { r.Device(lane.DevPrinter, lane.DeviceOK) })
	case errors.Is(err, receipt.ErrBusy), errors.Is(err, receipt.ErrInvalid),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	default:
		p.dev.send(func(r *lane.Runner) { r.Device(lane.DevPrinter, lane.DeviceDown) })
	}
}

// Print implements lane.Receipts: the receipt of visit's exit as the
// ledger recorded it. It is called off the runner's goroutine and returns
// within the printer's timeout (plus the wait for a receipt before it).
func (p *printer) Print(ctx context.Context, visit int64) error {
	x, err := p.db.ExitReceipt(ctx, visit)
	if err != nil {
		return fmt.Errorf("receipt of visit %d: %w", visit, err)
	}
	r := p.receipt(x)
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("receipt of visit %d: %w", visit, ctx.Err())
	}
	defer func() { <-p.sem }()
	err = p.p.Print(ctx, r)
	p.report(err)
	if err != nil {
		return fmt.Errorf("receipt of visit %d: %w", visit, err)
	}
	p.log.Info("receipt", "visit", visit, "merchant_order_no", x.OrderNo, "paid_fils", int64(x.Paid), "vat_fils", int64(r.VAT()))
	return nil
}

// receipt lays the ledger's record of an exit out as receipt.Receipt
// (docs/receipts.md, "For the station and the kiosk").
func (p *printer) receipt(x ledger.ExitReceipt) receipt.Receipt {
	s := p.cfg.Site
	r := receipt.Receipt{
		Site: s.Name, Merchant: s.Merchant, Address: s.Address, TRN: s.TRN,
		// A whole percent: config refuses another rate with a TRN.
		VATPercent: int(x.VATRate / 100),
		Lane:       s.Lane, Ticket: x.Serial, Lost: x.Lost, Entry: x.Entry, Exit: x.Exit, Zone: s.Location,
		Fee: x.Fee, PaidBefore: x.PaidBefore, Paid: x.Paid, OrderNo: x.OrderNo,
	}
	if x.Lost {
		r.Ticket, r.Entry = "", time.Time{}
	}
	if !r.Entry.IsZero() && x.Exit.After(r.Entry) {
		r.Stay = x.Exit.Sub(r.Entry)
	}
	if x.Validation != "" {
		r.Validations = []receipt.Validation{{Name: x.Validation}}
	}
	return r
}

// check asks for the paper unless a receipt is printing.
func (p *printer) check(ctx context.Context) {
	select {
	case p.sem <- struct{}{}:
	default:
		return
	}
	defer func() { <-p.sem }()
	_, err := p.p.Check(ctx)
	p.report(err)
}

// run starts the printer's goroutines as parts of p: the Link, which
// ends with links (after the runner, which prints, has stopped), and a
// watch, ending with inputs, that reports a printer that never came up
// and checks the paper of an idle one every printerCheck.
func (p *printer) run(inputs, links context.Context, parts *parts) {
	parts.goRun(partPrinterLink, func() {
		if err := p.link.Run(links); err != nil && !errors.Is(err, context.Canceled) {
			p.log.Error("printer link stopped", "err", err)
		}
	})
	parts.goRun("printer watch", func() {
		ctx := inputs
		t := time.NewTimer(relayGrace)
		defer t.Stop()
		for first := true; ; first = false {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			switch {
			case first && !p.seen.Load():
				// A receipt will fail until it comes up; the lane runs on.
				p.log.Error("printer did not come up", "port", p.cfg.Printer.Port)
				p.report(serialport.ErrDown)
			case p.cfg.Printer.PaperStatus && p.link.Up():
				p.check(ctx)
			}
			t.Reset(printerCheck)
		}
	})
}

// close closes the printer's port.
func (p *printer) close() { p.link.Close() }
