// Package station assembles one exit lane from a config: it opens the
// ledger, builds the ticket checker and tariff, the PayBy client (and the
// optional notification listener), the relay barrier, the vehicle loop,
// the scanner and the optional receipt printer, and the lane.Runner that
// owns them.
//
// The adapters from lane's small interfaces to the real packages live
// here, one file each: tickets.go (ticket), payments.go (payby),
// devices.go (barrier and scanner), printer.go (receipt: lane.Receipts),
// notify.go (PayBy notifications), site.go and replicate.go (the site
// store), listen.go (the office's notifications through the site store),
// office.go (the lane's status for the office, and the office's commands),
// metrics.go (figures and health, [metrics] listen); the ledger needs
// none, since *ledger.DB implements lane.Journal with lane's own types.
// Package lane imports none of them; "exitlane run", the
// simulated world (package sim) and the tests all open a lane through
// Open, and differ only in their Options.
package station

import (
	"context"
	"errors"
	"fmt"

	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/sitestore"
)

// Options are what differs between production, simulation and tests. The
// zero value opens the devices and PayBy named in the config.
type Options struct {
	// Logger receives the lane's log, tagged with "lane"; nil discards it.
	Logger *slog.Logger
	// Payments replaces the PayBy client built from [payby]; with it, no
	// notification listener is served.
	Payments lane.Payments
	// RelayOpen replaces opening the [relay] port.
	RelayOpen serialport.OpenFunc
	// LoopOpen replaces opening the [loop] port (when it is not the
	// relay's port, which the loop then shares).
	LoopOpen serialport.OpenFunc
	// ScannerOpen replaces opening the [scanner] port.
	ScannerOpen serialport.OpenFunc
	// PrinterOpen replaces opening the [printer] port (used only when
	// printer.port is set).
	PrinterOpen serialport.OpenFunc
	// ScanFilter, if set, sees every scanned code first, on the scanner's
	// goroutine; true keeps the code from the lane. The display uses it
	// for attendants' badges, which open the PIN pad instead of reaching
	// the lane as a ticket.
	ScanFilter func(code string) bool
	// NotifyListener, if set, serves PayBy's notifications instead of
	// listening on [payby] listen (unused with Payments). The station
	// closes it.
	NotifyListener net.Listener
	// MetricsListener, if set, serves /metrics, /healthz and /readyz
	// instead of listening on [metrics] listen. The station closes it.
	MetricsListener net.Listener
	// Failpoint, if set, is called at the steps where a crash matters
	// (see lane.Deps.Failpoint); the crash test makes it kill the process.
	Failpoint func(name string)
	// Trace is passed to the runner (transcripts, latency figures).
	Trace func(time.Time, lane.Event, []lane.Command, lane.State, error)
	// StopLimit replaces the package's StopLimit (tests).
	StopLimit time.Duration
	// CommandPoll replaces how often the lane looks for office commands
	// without an announcement (5 s). A test sets it to hours to see that
	// the announcement alone delivers a command.
	CommandPoll time.Duration
}

// StopLimit is how long a station may take to stop once its Run's
// context ends (or Close is called): the notification listener, the
// runner (a pulse in progress completes: at most a 3 s hold), the
// barrier's Halt (every relay off, read back) and the device links. What
// has not stopped by then is logged by name and left; Run returns and
// Close closes the ledger anyway. "exitlane run" exits at most 2 s later
// whatever still runs (docs/lane.md, "Stopping").
const StopLimit = 8 * time.Second

// Station is one assembled lane. Open builds it, Run runs it, Close
// releases it.
type Station struct {
	log       *slog.Logger
	opened    time.Time
	stopLimit time.Duration
	cmdPoll   time.Duration // commandPoll unless Options.CommandPoll
	db        *ledger.DB
	r         *lane.Runner
	dev       *devices
	prt       *printer         // nil: no receipt printer
	notify    *notifier        // nil: no notification listener
	store     *sitestore.Store // nil: no site store
	ship      *shipper
	// storeTimeout bounds a status write ([site_store] timeout);
	// remoteOpen: the office may open the barrier (office.go).
	storeTimeout time.Duration
	remoteOpen   bool
	parts        parts // the goroutines Run started that have not ended

	metrics   *metrics.Lane   // the lane's figures (metrics.go)
	mserv     *metrics.Server // nil: no metrics listener
	listening atomic.Bool     // hearing the office's notifications (listen.go)

	mu      sync.Mutex
	running bool
	closed  bool
	cancel  context.CancelFunc // ends a Run in progress
	done    chan struct{}      // closed when that Run returned
	stopErr error              // what Run's stop left running; set before done is closed
}

// Open opens the ledger (migrating it), builds the devices, the PayBy
// client and the runner from cfg, and binds the notification listener.
// Nothing runs until Run: no port is opened and no relay is switched, so a
// lane never pulses at start-up. ctx bounds the opening only.
func Open(ctx context.Context, cfg *config.Config, o Options) (_ *Station, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("lane", cfg.Site.Lane)
	for _, w := range cfg.Warnings() {
		log.Warn("config setting not applied", "warning", w)
	}
	s := &Station{log: log, opened: time.Now(), stopLimit: o.StopLimit, cmdPoll: o.CommandPoll, metrics: metrics.NewLane(cfg.Site.ID, cfg.Site.Lane)}
	if s.stopLimit <= 0 {
		s.stopLimit = StopLimit
	}
	if s.cmdPoll <= 0 {
		s.cmdPoll = commandPoll
	}
	defer func() {
		if err != nil {
			s.release()
		}
	}()

	if s.db, err = ledger.Open(ctx, cfg.Ledger.Path); err != nil {
		return nil, err
	}
	log.Info("ledger open", "path", cfg.Ledger.Path, "took_ms", time.Since(s.opened).Milliseconds())

	tickets, err := newTickets(cfg)
	if err != nil {
		return nil, err
	}
	pay := o.Payments
	var client *paybyClient
	if pay == nil {
		if client, err = newPayByClient(cfg, log, s.metrics.ObservePayBy); err != nil {
			return nil, err
		}
		pay = &payments{c: client.c, cfg: cfg}
	}
	if s.dev, err = newDevices(cfg, o, log); err != nil {
		return nil, err
	}
	var journal lane.Journal = s.db
	if cfg.SiteStore.Enabled() {
		if journal, err = s.openStore(ctx, cfg, pay, log); err != nil {
			return nil, err
		}
	}
	if s.prt, err = newPrinter(cfg, o, s.db, s.dev, log); err != nil {
		return nil, err
	}
	var receipts lane.Receipts // nil without a printer (not a nil *printer)
	if s.prt != nil {
		receipts = s.prt
	}
	journal = s.metrics.Journal(journal)
	s.r, err = lane.New(ctx, lane.Params{
		Site: cfg.Site.ID, Lane: cfg.Site.Lane,
		PayWindow: cfg.PayBy.PayWindow, PollInterval: cfg.PayBy.PollInterval,
		NoticeFor: cfg.Lane.Notice, OpenedFor: cfg.Lane.Opened, MaxAmount: cfg.PayBy.MaxAmount,
		ExitGrace: cfg.Tariff.ExitGrace, ExpiryMargin: cfg.PayBy.ExpiryMargin, RetryInterval: cfg.PayBy.RetryInterval,
		HaveLoop: s.dev.loop != nil, AutoPrint: cfg.Printer.AutoPrint,
		Classes: cfg.Tariff.Classes(), Reentry: cfg.Tariff.Reentry,
	}, lane.Deps{
		Tickets: tickets, Payments: pay, Gate: s.dev.gate, Journal: journal, Receipts: receipts,
		Logger: log, Timeout: cfg.PayBy.Timeout, Trace: o.Trace, Failpoint: o.Failpoint,
		ReconcileEvery: cfg.PayBy.ReconcileInterval,
		// A receipt may wait for the one before it, then take its own time.
		ReceiptTimeout: 2*cfg.Printer.Timeout + 5*time.Second,
	})
	if err != nil {
		return nil, err
	}
	if client != nil && (cfg.PayBy.Listen != "" || o.NotifyListener != nil) {
		if s.notify, err = newNotifier(cfg, client.pub, o.NotifyListener, s.r, s.metrics.Notifications, log); err != nil {
			return nil, err
		}
	}
	if err := s.openMetrics(cfg, o, client != nil); err != nil {
		return nil, err
	}
	return s, nil
}

// openStore joins the site store: a lane starts while the store is down
// (it decides offline meanwhile), but never on a schema newer than this
// exitlane knows.
func (s *Station) openStore(ctx context.Context, cfg *config.Config, pay lane.Payments, log *slog.Logger) (lane.Journal, error) {
	st, err := sitestore.New(cfg.SiteStore.URL, sitestore.Options{Site: cfg.Site.ID})
	if err != nil {
		return nil, fmt.Errorf("station: site store: %w", err)
	}
	s.store, s.storeTimeout, s.remoteOpen = st, cfg.SiteStore.Timeout, cfg.SiteStore.RemoteOpen
	if s.storeTimeout <= 0 {
		s.storeTimeout = time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, max(cfg.SiteStore.Timeout, 2*time.Second))
	err = st.Check(cctx)
	cancel()
	switch {
	case errors.Is(err, sitestore.ErrSchemaNewer):
		return nil, fmt.Errorf("station: site store: %w", err)
	case err != nil:
		log.Warn("site store not reached at start; the lane decides offline until it is", "err", err)
	}
	first, err := s.db.NextVisit(ctx)
	if err != nil {
		return nil, err
	}
	s.ship = newShipper(s.db, st, cfg.Site.Lane, first, log)
	return &siteJournal{DB: s.db, store: st, lane: cfg.Site.Lane, timeout: cfg.SiteStore.Timeout, pay: pay,
		ship: s.ship, log: log, auths: map[string]int64{}}, nil
}

// StoreHealth is the site store as this lane sees it (Configured false:
// the lane has none).
func (s *Station) StoreHealth() StoreHealth {
	if s.ship == nil {
		return StoreHealth{}
	}
	return s.ship.Health()
}

// Incidents lists the site's open incidents from the site store (none
// without one), for the admin status screen: a call to the store, so not
// on a UI goroutine.
func (s *Station) Incidents(ctx context.Context) ([]lane.Incident, error) {
	if s.store == nil {
		return nil, nil
	}
	return s.store.Incidents(ctx, true)
}

// siteReportTimeout bounds one read of the site's takings or unresolved
// entries for the admin's "whole site" view: a report, not a scan, so
// longer than [site_store] timeout, yet short enough that a store gone
// says so while the attendant looks.
const siteReportTimeout = 3 * time.Second

// errNoSiteStore answers the site-wide reads of a lane without a site
// store.
var errNoSiteStore = errors.New("station: no site store")

// SiteTakings are the site's takings over [from, to), lane by lane and
// summed, from the site store (within siteReportTimeout), for the admin's
// "whole site" view. They are what the lanes have shipped: a lane whose
// records are behind counts when they arrive.
func (s *Station) SiteTakings(ctx context.Context, from, to time.Time) (lane.SiteTakings, error) {
	if s.store == nil {
		return lane.SiteTakings{}, errNoSiteStore
	}
	ctx, cancel := context.WithTimeout(ctx, siteReportTimeout)
	defer cancel()
	return s.store.Takings(ctx, from, to)
}

// SiteUnresolved lists the site's entries needing an attendant ("paid,
// not exited", "unable to collect", orders not final), each with its
// lane, from the site store (within siteReportTimeout).
func (s *Station) SiteUnresolved(ctx context.Context) ([]lane.SiteUnresolved, error) {
	if s.store == nil {
		return nil, errNoSiteStore
	}
	ctx, cancel := context.WithTimeout(ctx, siteReportTimeout)
	defer cancel()
	return s.store.Unresolved(ctx)
}

// Store is the site store (nil: none), for reports and tests.
func (s *Station) Store() *sitestore.Store { return s.store }

// Ledger is the lane's own ledger, for tools and tests.
func (s *Station) Ledger() *ledger.DB { return s.db }

// Runner is the lane's runner: snapshots, actions, reports. Its actions
// wait until Run runs it.
func (s *Station) Runner() *lane.Runner { return s.r }

// Run runs the lane, its devices and the notification listener until ctx
// ends (or Close is called), then stops them in order within the stop
// limit (see stop) and returns what the stop left running as an error
// (nil: everything stopped). A station runs once.
func (s *Station) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.running {
		s.mu.Unlock()
		return errors.New("station: run: already running or closed")
	}
	s.running = true
	ctx, cancel := context.WithCancel(ctx)
	s.cancel, s.done = cancel, make(chan struct{})
	s.mu.Unlock()
	defer close(s.done)
	defer cancel()

	// The parts get contexts of their own, ended in order by stop: the
	// runner and the inputs (scanner, loop, device events) first, the
	// links (which close their ports) last, after the barrier's Halt.
	base := context.WithoutCancel(ctx)
	laneCtx, laneCancel := context.WithCancel(base)
	defer laneCancel()
	linkCtx, linkCancel := context.WithCancel(base)
	defer linkCancel()
	s.parts.goRun(partRunner, func() { s.r.Run(laneCtx) })
	s.dev.run(laneCtx, linkCtx, s.r, &s.parts)
	if s.prt != nil {
		s.prt.run(laneCtx, linkCtx, &s.parts)
	}
	if s.notify != nil {
		s.notify.serve(&s.parts)
	}
	if s.ship != nil {
		s.parts.goRun(partShipper, func() { s.ship.run(laneCtx) })
		s.parts.goRun(partStoreListener, func() { s.listenStore(laneCtx) })
		s.parts.goRun(partStatus, func() { s.publishStatus(laneCtx) })
		s.parts.goRun(partCommands, func() { s.runCommands(laneCtx) })
	}
	s.runMetrics(laneCtx)
	s.log.Info("lane started", "took_ms", time.Since(s.opened).Milliseconds())

	<-ctx.Done()
	err := s.stop(laneCancel, linkCancel)
	s.mu.Lock()
	s.stopErr = err
	s.mu.Unlock()
	return err
}

// Names of the parts (Running).
const (
	partRunner        = "lane runner"
	partNotify        = "notification listener"
	partHalt          = "barrier halt"
	partShipper       = "site store shipper"
	partStoreListener = "site store listener"
	// The office's view of the lane and its commands (office.go).
	partStatus          = "site store status"
	partCommands        = "office commands"
	partCommandListener = "office command listener"
	partMetrics         = "metrics"
)

// stop ends the parts in order, within the stop limit: the notification
// listener first (notifications in flight still reach the runner), then
// the runner, the inputs and the site store's shipper and listener (a
// pulse in progress completes and is recorded), then the barrier's Halt
// (every relay off, read back where the board can tell), the metrics
// listener, and the links, which close their ports. It returns once all
// have ended, or when the limit passes, naming what is still running.
func (s *Station) stop(laneCancel, linkCancel context.CancelFunc) error {
	start := time.Now()
	deadline := start.Add(s.stopLimit)
	s.log.Info("lane stopping", "limit", s.stopLimit.String())
	if s.notify != nil {
		s.notify.shutdown(min(2*time.Second, time.Until(deadline)))
	}
	laneCancel()
	s.parts.waitUntil(deadline, func(running map[string]int) bool {
		for name := range running {
			if !linkPart(name) && name != partNotify {
				return false
			}
		}
		return true
	})
	// Halt goes through the relay's link: it must run before the link
	// closes its port (after that, a Halt would open it again).
	s.parts.goRun(partHalt, func() {
		if err := s.dev.gate.Halt(); err != nil {
			s.log.Warn("relay not confirmed off at stop", "err", err)
			return
		}
		s.log.Info("relay off at stop")
	})
	s.parts.waitUntil(deadline, func(running map[string]int) bool { return running[partHalt] == 0 })
	// A scrape in flight may finish, within the limit.
	s.stopMetrics(min(2*time.Second, max(time.Until(deadline), 0)))
	linkCancel()
	s.parts.waitUntil(deadline, func(running map[string]int) bool { return len(running) == 0 })
	if left := s.Running(); len(left) > 0 {
		s.log.Error("lane stop limit passed; left running", "limit", s.stopLimit.String(), "still_running", left)
		return fmt.Errorf("station: stop: still running after %v: %s", s.stopLimit, strings.Join(left, ", "))
	}
	s.log.Info("lane stopped", "took_ms", time.Since(start).Milliseconds())
	return nil
}

// Running names the parts of a running or stopping lane that have not
// ended: "lane runner" (with what it is busy with, e.g. "lane runner
// (pulse)"), "notification listener", "relay link", "loop link", "loop",
// "scanner", "device events", "relay watch", "printer link", "printer
// watch", "site store shipper", "site store listener", "site store
// status", "office commands", "office command listener", "barrier halt". A lane that
// stopped cleanly has none.
func (s *Station) Running() []string {
	names := s.parts.names()
	for i, n := range names {
		if n == partRunner {
			if busy := s.r.InFlight(); len(busy) > 0 {
				names[i] = n + " (" + strings.Join(busy, ", ") + ")"
			}
		}
	}
	return names
}

// Close stops a Run in progress (and waits for it: at most the stop
// limit), then closes the devices, the notification listener and the
// ledger. Its error includes what the stop left running.
func (s *Station) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	var stopErr error
	if cancel != nil {
		cancel()
		<-done
		s.mu.Lock()
		stopErr = s.stopErr
		s.mu.Unlock()
	}
	return errors.Join(stopErr, s.release())
}

// release closes what Open acquired, in reverse order. The ledger is
// closed even if a part is stuck: the runner, its only writer, has
// stopped or will find it closed.
func (s *Station) release() error {
	var errs []error
	if s.notify != nil {
		errs = append(errs, s.notify.close())
	}
	if s.mserv != nil {
		errs = append(errs, s.mserv.Close())
	}
	if s.dev != nil {
		if stuck := s.parts.linksRunning(); stuck {
			// A link stuck in an exchange holds its port's lock: closing
			// it would block. The process exit closes the port.
			s.log.Warn("device ports left to the process exit (a link did not stop)")
		} else {
			s.dev.close()
			if s.prt != nil {
				s.prt.close()
			}
		}
	}
	if s.store != nil {
		if s.parts.isRunning(partShipper) || s.parts.isRunning(partRunner) || s.parts.isRunning(partStatus) ||
			s.parts.isRunning(partCommands) || s.parts.isRunning(partCommandListener) || s.parts.isRunning(partStoreListener) {
			// Closing the pool waits for its connections in use.
			s.log.Warn("site store connections left to the process exit (its user did not stop)")
		} else {
			s.store.Close()
		}
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("station: close: %w", err)
	}
	return nil
}

// parts counts the station's goroutines by name until they end.
type parts struct {
	mu      sync.Mutex
	running map[string]int
	changed chan struct{} // closed and replaced when a part ends
}

// goRun runs f in a goroutine counted as name until it returns.
func (p *parts) goRun(name string, f func()) {
	p.mu.Lock()
	p.initLocked()
	p.running[name]++
	p.mu.Unlock()
	go func() {
		defer p.end(name)
		f()
	}()
}

func (p *parts) initLocked() {
	if p.running == nil {
		p.running, p.changed = map[string]int{}, make(chan struct{})
	}
}

func (p *parts) end(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.running[name]--; p.running[name] <= 0 {
		delete(p.running, name)
	}
	close(p.changed)
	p.changed = make(chan struct{})
}

// waitUntil waits until done holds for the running parts or the deadline
// passes; it reports whether done held.
func (p *parts) waitUntil(deadline time.Time, done func(running map[string]int) bool) bool {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		p.mu.Lock()
		p.initLocked()
		ok := done(p.running)
		changed := p.changed
		p.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-t.C:
			return false
		}
	}
}

// names are the running parts, sorted.
func (p *parts) names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.running))
	for name := range p.running {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// isRunning reports whether a part named name is still running.
func (p *parts) isRunning(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.running[name] > 0
}

// linksRunning reports whether a link's goroutine is still running.
func (p *parts) linksRunning() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for name := range p.running {
		if linkPart(name) {
			return true
		}
	}
	return false
}
