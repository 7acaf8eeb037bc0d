package main

// wire.go builds a running lane from a *config.Config: ledger, ticket
// checker and tariff, PayBy client (and notification listener), relay
// barrier, scanner and loop, and the lane.Runner that owns them. Both
// "exitlane run --headless" and the display/simulation commands call
// startLane. The adapters between lane's small interfaces and the real
// packages live here, so lane imports none of them; the ledger is the
// lane's Journal itself.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exitlane/exitlane/barrier"
	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/scanner"
	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/ticket"
)

// laneOptions adjust startLane for simulation and tests. Zero: the
// devices and PayBy named in the config.
type laneOptions struct {
	// Payments replaces the PayBy client built from [payby].
	Payments lane.Payments
	// ScannerOpen replaces opening [scanner] port (e.g. a pty).
	ScannerOpen serialport.OpenFunc
	// RelayOpen replaces opening [relay] port.
	RelayOpen serialport.OpenFunc
	// Trace is passed to the runner (transcripts).
	Trace func(time.Time, lane.Event, []lane.Command, lane.State, error)
	// NotifyListener, if set, serves the notification handler instead of
	// listening on [payby] listen.
	NotifyListener net.Listener
}

// badgeFilter, when set by the display, sees every scanned code first and
// keeps attendant badges from reaching the lane as tickets.
var badgeFilter atomic.Pointer[func(code string) bool]

// setBadgeFilter installs f (nil removes it).
func setBadgeFilter(f func(code string) bool) {
	if f == nil {
		badgeFilter.Store(nil)
		return
	}
	badgeFilter.Store(&f)
}

// startLane opens the ledger (migrating it), builds the devices and PayBy
// client from cfg and starts the runner. The lane accepts scans only once
// this returned. stop ends everything in order (runner, devices, listener,
// ledger) and waits.
func startLane(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*lane.Runner, func(), error) {
	return startLaneWith(ctx, cfg, logger, laneOptions{})
}

func startLaneWith(ctx context.Context, cfg *config.Config, logger *slog.Logger, o laneOptions) (r *lane.Runner, stop func(), err error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("lane", cfg.Site.Lane)
	ctx, cancel := context.WithCancel(ctx)
	var closers []func()
	cleanup := func() {
		cancel()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()

	start := time.Now()
	db, err := ledger.Open(ctx, cfg.Ledger.Path)
	if err != nil {
		return nil, nil, err
	}
	closers = append(closers, func() { db.Close() })
	logger.Info("ledger open", "path", cfg.Ledger.Path, "took_ms", time.Since(start).Milliseconds())

	chk, err := checker(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("ticket checker: %w", err)
	}
	tariff := cfg.Tariff
	tk := &ticketsAdapter{chk: chk, tariff: &tariff}

	pay := o.Payments
	var client *payby.Client
	if pay == nil {
		key, err := payby.LoadPrivateKey(cfg.PayBy.PrivateKeyFile)
		if err != nil {
			return nil, nil, err
		}
		pub, err := payby.LoadPublicKey(cfg.PayBy.PublicKeyFile)
		if err != nil {
			return nil, nil, err
		}
		client, err = payby.New(payby.Options{BaseURL: cfg.PayBy.BaseURL, PartnerID: cfg.PayBy.PartnerID, Key: key, PayByKey: pub,
			Timeout: cfg.PayBy.Timeout, Logger: logger.With("component", "payby")})
		if err != nil {
			return nil, nil, err
		}
		pay = &paymentsAdapter{c: client, cfg: cfg}
	}

	// Device events arrive before the runner exists: buffer them.
	devEvents := make(chan func(*lane.Runner), 256)
	send := func(f func(*lane.Runner)) {
		select {
		case devEvents <- f:
		default:
			logger.Warn("device event dropped (lane busy)")
		}
	}

	relayOpen := o.RelayOpen
	if relayOpen == nil {
		relayOpen = serialport.Opener(cfg.Relay.Port, serialport.Config{Baud: cfg.Relay.Baud})
	}
	var relaySeen atomic.Bool
	onDevice := func(ev serialport.Event) {
		if ev.Device != "loop" {
			relaySeen.Store(true)
		}
		switch ev.Kind {
		case serialport.Up:
			dev := lane.DevRelay
			if ev.Device == "loop" {
				dev = lane.DevLoop
			}
			send(func(r *lane.Runner) { r.Device(dev, lane.DeviceOK) })
		case serialport.Down, serialport.Fault:
			dev := lane.DevRelay
			if ev.Device == "loop" {
				dev = lane.DevLoop
			}
			send(func(r *lane.Runner) { r.Device(dev, lane.DeviceDown) })
		}
	}
	link := serialport.NewLink(relayOpen, serialport.Options{Name: "relay", OnEvent: onDevice, Logger: logger.With("component", "relay")})
	gate, err := barrier.New(link, barrier.Options{Board: cfg.Relay.Board, Channel: cfg.Relay.Channel, Pulse: cfg.Relay.Pulse,
		ActiveLow: cfg.Relay.ActiveLow, Address: cfg.Relay.Address, Logger: logger.With("component", "barrier")})
	if err != nil {
		return nil, nil, fmt.Errorf("barrier: %w", err)
	}
	closers = append(closers, func() { link.Close() })

	var loop *barrier.Loop
	var loopLink *serialport.Link
	if cfg.Loop.Port != "" {
		if cfg.Loop.Port == cfg.Relay.Port {
			loopLink = link
		} else {
			loopLink = serialport.NewLink(serialport.Opener(cfg.Loop.Port, serialport.Config{Baud: 9600}),
				serialport.Options{Name: "loop", OnEvent: onDevice, Logger: logger.With("component", "loop")})
			closers = append(closers, func() { loopLink.Close() })
		}
		onLoop := func(present bool) { send(func(r *lane.Runner) { r.Loop(present) }) }
		loop, err = barrier.NewLoop(loopLink, barrier.LoopOptions{Line: cfg.Loop.Line, GPIO: cfg.Loop.GPIO, ActiveLow: cfg.Loop.ActiveLow, Debounce: cfg.Loop.Debounce, OnChange: onLoop})
		if err != nil {
			return nil, nil, err
		}
	}

	scanOpen := o.ScannerOpen
	if scanOpen == nil {
		scanOpen = serialport.Opener(cfg.Scanner.Port, serialport.Config{Baud: cfg.Scanner.Baud, Parity: cfg.Scanner.Parity})
	}
	scan := scanner.New(scanOpen, scanner.Options{Dedup: cfg.Scanner.Dedup, Logger: logger.With("component", "scanner")})

	r, err = lane.New(ctx, lane.Params{
		Site: cfg.Site.ID, Lane: cfg.Site.Lane,
		PayWindow: cfg.PayBy.PayWindow, PollInterval: cfg.PayBy.PollInterval,
		NoticeFor: cfg.Lane.Notice, OpenedFor: cfg.Lane.Opened, MaxAmount: cfg.PayBy.MaxAmount,
		ExitGrace: cfg.Tariff.ExitGrace, ExpiryMargin: cfg.PayBy.ExpiryMargin, RetryInterval: cfg.PayBy.RetryInterval,
		HaveLoop: loop != nil,
	}, lane.Deps{
		Tickets: tk, Payments: pay, Gate: gate, Journal: db,
		Logger: logger, Timeout: cfg.PayBy.Timeout, Trace: o.Trace, Failpoint: envFailpoint(logger),
		ReconcileEvery: cfg.PayBy.ReconcileInterval,
	})
	if err != nil {
		return nil, nil, err
	}

	var wg sync.WaitGroup
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				logger.Error(name+" stopped", "err", err)
			}
		}()
	}
	laneDone := make(chan struct{})
	go func() {
		defer close(laneDone)
		r.Run(ctx)
	}()
	goRun("device events", func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case f := <-devEvents:
				f(r)
			}
		}
	})
	goRun("relay link", link.Run)
	// The link reports nothing while a port never opened: after a grace,
	// say so, so that the lane shows a fault instead of taking payments it
	// could not open the barrier for.
	goRun("relay watch", func(ctx context.Context) error {
		t := time.NewTimer(3 * time.Second)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
			if !relaySeen.Load() {
				logger.Error("relay did not come up", "port", cfg.Relay.Port)
				send(func(r *lane.Runner) { r.Device(lane.DevRelay, lane.DeviceDown) })
			}
		}
		return nil
	})
	if loopLink != nil && loopLink != link {
		goRun("loop link", loopLink.Run)
	}
	if loop != nil {
		goRun("loop", loop.Run)
	}
	goRun("scanner", func(ctx context.Context) error {
		return scan.Run(ctx, func(ev scanner.Event) {
			switch ev.Kind {
			case scanner.Code:
				if f := badgeFilter.Load(); f != nil && (*f)(ev.Code) {
					logger.Info("attendant badge scanned") // the code itself is not logged
					return
				}
				r.Scan(ev.Code)
			case scanner.Up:
				r.Device(lane.DevScanner, lane.DeviceOK)
			case scanner.Down:
				r.Device(lane.DevScanner, lane.DeviceDown)
			}
		})
	})

	// Optional notification listener: polling stays the source of truth.
	var srv *http.Server
	if client != nil && (cfg.PayBy.Listen != "" || o.NotifyListener != nil) {
		pub, _ := payby.LoadPublicKey(cfg.PayBy.PublicKeyFile)
		h := payby.NotificationHandler(pub, func(ctx context.Context, n *payby.Notification) error {
			if n.Order == nil {
				return nil // refund notifications: the refund call already answered
			}
			return r.Notify(ctx, n.Order.MerchantOrderNo, orderState(n.Order))
		}, payby.HandlerOptions{Reply: payby.Reply(cfg.PayBy.NotifyReply), Logger: logger.With("component", "notify")})
		ln := o.NotifyListener
		if ln == nil {
			ln, err = net.Listen("tcp", cfg.PayBy.Listen)
			if err != nil {
				cancel()
				<-laneDone
				return nil, nil, fmt.Errorf("notification listener: %w", err)
			}
		}
		srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		logger.Info("notification listener", "addr", ln.Addr().String())
	}
	logger.Info("lane started", "took_ms", time.Since(start).Milliseconds())

	var once sync.Once
	stop = func() {
		once.Do(func() {
			if srv != nil {
				sctx, c := context.WithTimeout(context.Background(), 2*time.Second)
				srv.Shutdown(sctx)
				c()
			}
			cancel()
			<-laneDone
			wg.Wait()
			cleanup()
		})
	}
	return r, stop, nil
}

// ticketsAdapter is lane.Tickets over the ticket package.
type ticketsAdapter struct {
	chk    ticket.Checker
	tariff *ticket.Tariff
}

func (a *ticketsAdapter) Check(code string, now time.Time) (lane.TicketInfo, string, error) {
	t, err := a.chk.Check(code, now)
	if err != nil {
		kind := lane.NoticeInvalid
		switch {
		case errors.Is(err, ticket.ErrForged):
			kind = lane.NoticeForged
		case errors.Is(err, ticket.ErrOtherSite):
			kind = lane.NoticeOtherSite
		case errors.Is(err, ticket.ErrFutureEntry):
			kind = lane.NoticeFutureEntry
		}
		return lane.TicketInfo{}, "", &lane.RefusedError{Kind: kind, Err: err}
	}
	return lane.TicketInfo{Serial: t.Serial, Format: lane.TicketFormat(t.Format), Site: t.Site, Lane: t.Lane, Entry: t.Entry, Signed: t.Signed}, t.ID(), nil
}

func (a *ticketsAdapter) Quote(t lane.TicketInfo, now time.Time, paid money.Fils, lastPaid time.Time, validation string) lane.Quote {
	stay := ticket.Stay{Entry: t.Entry, Exit: now, Paid: paid, LastPaid: lastPaid}
	if v, ok := a.tariff.Validation(validation); ok {
		stay.Validation = v.Validation
	}
	q, err := a.tariff.Quote(stay)
	if err != nil {
		// Unreachable for a tariff that config.Load validated (every
		// amount is bounded); lane.Tickets has no error, so a fee that
		// cannot be computed is charged as a lost ticket, saying why.
		lost := a.Lost(now)
		lost.Steps = append([]string{"fee cannot be computed (" + err.Error() + "): priced as a lost ticket"}, lost.Steps...)
		return lost
	}
	return laneQuote(q)
}

func (a *ticketsAdapter) Validation(code string) (string, bool) {
	v, ok := a.tariff.Validation(code)
	return v.Name, ok
}

func (a *ticketsAdapter) Lost(now time.Time) lane.Quote {
	q, _ := a.tariff.Quote(ticket.Stay{Entry: now, Exit: now, Lost: true}) // the flat lost_fee: nothing to overflow
	return laneQuote(q)
}

func laneQuote(q ticket.Quote) lane.Quote {
	return lane.Quote{Fee: q.Fee, Paid: q.Paid, Due: q.Due, Stay: q.Stay, Free: lane.FreeReason(q.Free), Table: q.Table, Steps: q.Steps}
}

// paymentsAdapter is lane.Payments over the PayBy client: business
// answers become statuses, only transport and gateway failures are errors.
type paymentsAdapter struct {
	c   *payby.Client
	cfg *config.Config
}

func orderState(o *payby.Order) lane.OrderState {
	st := lane.OrderState{PayByStatus: string(o.Status), Paid: o.PaidAmount, PaidAt: o.PaidTime, ServerTime: o.ServerTime}
	switch {
	case o.Status.IsPaid() && !o.Revoked:
		st.Status = lane.OrderPaid
		if st.Paid == 0 {
			st.Paid = o.Amount
		}
	case o.Status == payby.StatusCreated:
		st.Status = lane.OrderCreated
	case o.Status == payby.StatusFailure, o.Revoked:
		st.Status = lane.OrderFailed
	default:
		st.Status = lane.OrderUnknown
	}
	return st
}

func (a *paymentsAdapter) Create(ctx context.Context, o lane.OrderRequest) (lane.Created, error) {
	reserved := "ticket " + o.Serial
	if len(reserved) > payby.MaxReserved {
		reserved = reserved[:payby.MaxReserved]
	}
	c, err := a.c.CreateOrder(ctx, payby.CreateOrder{
		MerchantOrderNo: o.MerchantOrderNo, Amount: o.Amount, Subject: a.cfg.PayBy.Subject, Expire: o.Expire,
		NotifyURL: a.cfg.PayBy.NotifyURL, StoreID: a.cfg.Site.ID, TerminalID: a.cfg.Site.Lane,
		MerchantName: a.cfg.Site.Merchant, StoreName: a.cfg.Site.Name, Reserved: reserved,
	})
	switch {
	case err == nil:
		return lane.Created{TokenURL: c.TokenURL, State: orderState(&c.Order)}, nil
	case payby.IsAlreadyPaid(err):
		st, gerr := a.Get(ctx, o.MerchantOrderNo)
		return lane.Created{State: st}, gerr
	case payby.IsOrderFailed(err):
		return lane.Created{State: lane.OrderState{Status: lane.OrderFailed}}, nil
	}
	return lane.Created{}, err
}

func (a *paymentsAdapter) Get(ctx context.Context, no string) (lane.OrderState, error) {
	o, err := a.c.GetOrder(ctx, no)
	if err != nil {
		if payby.IsNotFound(err) {
			return lane.OrderState{Status: lane.OrderNotFound}, nil
		}
		return lane.OrderState{}, err
	}
	return orderState(o), nil
}

func (a *paymentsAdapter) Cancel(ctx context.Context, no string) (lane.OrderState, error) {
	o, err := a.c.CancelOrder(ctx, no)
	switch {
	case err == nil:
		return orderState(o), nil
	case payby.IsAlreadyPaid(err), errors.Is(err, payby.ErrOrderPaid):
		// The payment won the race: the order is paid.
		if o != nil {
			return orderState(o), nil
		}
		return a.Get(ctx, no)
	case payby.IsOrderFailed(err):
		return lane.OrderState{Status: lane.OrderFailed, PayByStatus: string(payby.StatusFailure)}, nil
	case payby.IsNotFound(err):
		return lane.OrderState{Status: lane.OrderNotFound}, nil
	}
	return lane.OrderState{}, err
}

func (a *paymentsAdapter) Refund(ctx context.Context, no, refundNo string, amount money.Fils, reason string) error {
	if len(reason) > payby.MaxReason {
		reason = reason[:payby.MaxReason]
	}
	_, err := a.c.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: refundNo, OriginMerchantOrderNo: no, Amount: amount, Reason: reason})
	return err
}

// envFailpoint reads EXITLANE_FAILPOINT ("write:exit" or "write:exit@2":
// the second time) for the crash test: at that step the process kills
// itself with SIGKILL, as a power cut or OOM kill would. Unset: nil.
func envFailpoint(logger *slog.Logger) func(string) {
	spec := os.Getenv("EXITLANE_FAILPOINT")
	if spec == "" {
		return nil
	}
	name, nth := spec, 1
	if n, c, ok := strings.Cut(spec, "@"); ok {
		name = n
		if v, err := strconv.Atoi(c); err == nil && v > 0 {
			nth = v
		}
	}
	logger.Warn("failpoint armed: the process will SIGKILL itself", "failpoint", name, "nth", nth)
	var hits atomic.Int64
	return func(at string) {
		if at != name || hits.Add(1) != int64(nth) {
			return
		}
		logger.Warn("failpoint reached: SIGKILL", "failpoint", at)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
