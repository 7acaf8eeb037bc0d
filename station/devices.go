package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/exitlane/exitlane/barrier"
	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/scanner"
	"github.com/exitlane/exitlane/serialport"
)

// relayGrace is how long the relay may stay silent at start before the
// lane is told it is down.
const relayGrace = 3 * time.Second

// devices are the lane's serial devices: the relay board behind the
// barrier (lane.Gate), the optional vehicle loop and the scanner. Their
// events reach the runner as lane device, loop and scan events.
type devices struct {
	log       *slog.Logger
	relayPort string
	link      *serialport.Link
	gate      *barrier.Barrier
	loopLink  *serialport.Link // nil: no loop; == link: the loop shares the relay's port
	loop      *barrier.Loop
	scanner   *scanner.Reader
	filter    func(code string) bool

	// Links report events from their own goroutines, which must not
	// block: they are queued here and handed to the runner in order.
	events    chan func(*lane.Runner)
	relaySeen atomic.Bool
}

// newDevices builds the devices from [relay], [loop] and [scanner]. No
// port is opened until run.
func newDevices(cfg *config.Config, o Options, log *slog.Logger) (_ *devices, err error) {
	d := &devices{log: log, relayPort: cfg.Relay.Port, filter: o.ScanFilter, events: make(chan func(*lane.Runner), 256)}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	relayOpen := o.RelayOpen
	if relayOpen == nil {
		relayOpen = serialport.Opener(cfg.Relay.Port, serialport.Config{Baud: cfg.Relay.Baud})
	}
	d.link = serialport.NewLink(relayOpen, serialport.Options{Name: "relay", OnEvent: d.onEvent, Logger: log.With("component", "relay")})
	d.gate, err = barrier.New(d.link, barrier.Options{Board: cfg.Relay.Board, Channel: cfg.Relay.Channel, Pulse: cfg.Relay.Pulse,
		ActiveLow: cfg.Relay.ActiveLow, Address: cfg.Relay.Address, Logger: log.With("component", "barrier")})
	if err != nil {
		return nil, fmt.Errorf("barrier: %w", err)
	}

	if cfg.Loop.Port != "" {
		if cfg.Loop.Port == cfg.Relay.Port {
			d.loopLink = d.link
		} else {
			loopOpen := o.LoopOpen
			if loopOpen == nil {
				loopOpen = serialport.Opener(cfg.Loop.Port, serialport.Config{Baud: 9600})
			}
			d.loopLink = serialport.NewLink(loopOpen, serialport.Options{Name: "loop", OnEvent: d.onEvent, Logger: log.With("component", "loop")})
		}
		d.loop, err = barrier.NewLoop(d.loopLink, barrier.LoopOptions{Line: cfg.Loop.Line, GPIO: cfg.Loop.GPIO, ActiveLow: cfg.Loop.ActiveLow, Debounce: cfg.Loop.Debounce,
			OnChange: func(present bool) { d.send(func(r *lane.Runner) { r.Loop(present) }) }})
		if err != nil {
			return nil, err
		}
	}

	scanOpen := o.ScannerOpen
	if scanOpen == nil {
		scanOpen = serialport.Opener(cfg.Scanner.Port, serialport.Config{Baud: cfg.Scanner.Baud, Parity: cfg.Scanner.Parity})
	}
	d.scanner = scanner.New(scanOpen, scanner.Options{Dedup: cfg.Scanner.Dedup, Logger: log.With("component", "scanner")})
	return d, nil
}

// send queues an event for the runner; a full queue drops it (the lane
// is stuck, and the device's next change will tell again).
func (d *devices) send(f func(*lane.Runner)) {
	select {
	case d.events <- f:
	default:
		d.log.Warn("device event dropped (lane busy)")
	}
}

// onEvent turns the links' events into the lane's device and loop events
// (the receipt printer's link reports here too, as lane.DevPrinter).
func (d *devices) onEvent(ev serialport.Event) {
	dev := lane.DevRelay
	switch ev.Device {
	case "loop":
		dev = lane.DevLoop
	case "printer":
		dev = lane.DevPrinter
	default:
		d.relaySeen.Store(true)
	}
	switch ev.Kind {
	case serialport.Up:
		d.send(func(r *lane.Runner) { r.Device(dev, lane.DeviceOK) })
	case serialport.Down, serialport.Fault:
		d.send(func(r *lane.Runner) { r.Device(dev, lane.DeviceDown) })
	}
}

// onScan hands a scanner event to the runner; codes the filter claims
// (attendants' badges) do not reach the lane.
func (d *devices) onScan(r *lane.Runner, ev scanner.Event) {
	switch ev.Kind {
	case scanner.Code:
		if d.filter != nil && d.filter(ev.Code) {
			d.log.Info("attendant badge scanned") // the code itself is not logged
			return
		}
		r.Scan(ev.Code)
	case scanner.Up:
		r.Device(lane.DevScanner, lane.DeviceOK)
	case scanner.Down:
		r.Device(lane.DevScanner, lane.DeviceDown)
	}
}

// Names of the devices' parts (Station.Running).
const (
	partRelayLink   = "relay link"
	partLoopLink    = "loop link"
	partPrinterLink = "printer link"
)

// linkPart reports whether a part is a link, which outlives the runner so
// that the barrier can be halted through it (and a receipt printed at the
// end completes).
func linkPart(name string) bool {
	return name == partRelayLink || name == partLoopLink || name == partPrinterLink
}

// run starts the devices' goroutines: the inputs (scanner, loop, device
// events, the relay watch) end with inputs, the links (which close their
// ports as they end) with links.
func (d *devices) run(inputs, links context.Context, r *lane.Runner, p *parts) {
	goRun := func(ctx context.Context, name string, f func(context.Context) error) {
		p.goRun(name, func() {
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				d.log.Error(name+" stopped", "err", err)
			}
		})
	}
	goRun(inputs, "device events", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case f := <-d.events:
				f(r)
			}
		}
	})
	goRun(links, partRelayLink, d.link.Run)
	// The link reports nothing while a port never opened: after a grace,
	// say so, so that the lane shows a fault instead of taking payments it
	// could not open the barrier for.
	goRun(inputs, "relay watch", func(ctx context.Context) error {
		t := time.NewTimer(relayGrace)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			if !d.relaySeen.Load() {
				d.log.Error("relay did not come up", "port", d.relayPort)
				d.send(func(r *lane.Runner) { r.Device(lane.DevRelay, lane.DeviceDown) })
			}
		}
		return nil
	})
	if d.loopLink != nil && d.loopLink != d.link {
		goRun(links, partLoopLink, d.loopLink.Run)
	}
	if d.loop != nil {
		goRun(inputs, "loop", d.loop.Run)
	}
	goRun(inputs, "scanner", func(ctx context.Context) error {
		return d.scanner.Run(ctx, func(ev scanner.Event) { d.onScan(r, ev) })
	})
}

// close closes the links' ports.
func (d *devices) close() {
	if d.loopLink != nil && d.loopLink != d.link {
		d.loopLink.Close()
	}
	if d.link != nil {
		d.link.Close()
	}
}
