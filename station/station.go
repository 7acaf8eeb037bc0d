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
}

// Station is one assembled lane. Open builds it, Run runs it, Close
// releases it.
type Station struct {
	log    *slog.Logger
	opened time.Time
	db     *ledger.DB
	r      *lane.Runner
	dev    *devices
	prt    *printer         // nil: no receipt printer
	notify *notifier        // nil: no notification listener
	store  *sitestore.Store // nil: no site store
	ship   *shipper

	metrics   *metrics.Lane   // the lane's figures (metrics.go)
	mserv     *metrics.Server // nil: no metrics listener
	listening atomic.Bool     // hearing the office's notifications (listen.go)

	mu      sync.Mutex
	running bool
	closed  bool
	cancel  context.CancelFunc // ends a Run in progress
	done    chan struct{}      // closed when that Run returned
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
	s := &Station{log: log, opened: time.Now(), metrics: metrics.NewLane(cfg.Site.ID, cfg.Site.Lane)}
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
	s.store = st
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

// Store is the site store (nil: none), for reports and tests.
func (s *Station) Store() *sitestore.Store { return s.store }

// Ledger is the lane's own ledger, for tools and tests.
func (s *Station) Ledger() *ledger.DB { return s.db }

// Runner is the lane's runner: snapshots, actions, reports. Its actions
// wait until Run runs it.
func (s *Station) Runner() *lane.Runner { return s.r }

// Run runs the lane, its devices and the notification listener until ctx
// ends (or Close is called), then stops them in order, letting a pulse in
// progress complete, and returns nil. A station runs once.
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

	// The runner's context is a child of ctx, so that on a stop without a
	// signal the notification listener shuts down before the runner ends.
	lctx, lcancel := context.WithCancel(ctx)
	defer lcancel()
	laneDone := make(chan struct{})
	go func() {
		defer close(laneDone)
		s.r.Run(lctx)
	}()
	var wg sync.WaitGroup
	s.dev.run(lctx, s.r, &wg)
	if s.prt != nil {
		s.prt.run(lctx, &wg)
	}
	if s.notify != nil {
		s.notify.serve()
	}
	if s.ship != nil {
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.ship.run(lctx)
		}()
		go func() {
			defer wg.Done()
			s.listenStore(lctx)
		}()
	}
	s.runMetrics(lctx, &wg)
	s.log.Info("lane started", "took_ms", time.Since(s.opened).Milliseconds())

	<-ctx.Done()
	if s.notify != nil {
		s.notify.shutdown(2 * time.Second)
	}
	lcancel()
	<-laneDone
	wg.Wait()
	s.stopMetrics()
	return nil
}

// Close stops a Run in progress (and waits for it), then closes the
// devices, the notification listener and the ledger.
func (s *Station) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return s.release()
}

// release closes what Open acquired, in reverse order.
func (s *Station) release() error {
	var errs []error
	if s.notify != nil {
		errs = append(errs, s.notify.close())
	}
	if s.prt != nil {
		s.prt.close()
	}
	if s.mserv != nil {
		errs = append(errs, s.mserv.Close())
	}
	if s.dev != nil {
		s.dev.close()
	}
	if s.store != nil {
		s.store.Close()
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("station: close: %w", err)
	}
	return nil
}
