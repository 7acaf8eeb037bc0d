package lane

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Deps are what a Runner drives. Zero durations mean the defaults.
type Deps struct {
	Tickets  Tickets
	Payments Payments
	Gate     Gate
	Journal  Journal
	// Receipts prints receipts (nil: no printer). With it, paid exits
	// offer a receipt (Params.HavePrinter is set).
	Receipts Receipts
	Logger   *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Timeout bounds each PayBy call (default 10 s, PayBy's own advice).
	Timeout time.Duration
	// CheckTimeout bounds a ticket check with its ledger lookup (default 5 s).
	CheckTimeout time.Duration
	// PulseTimeout bounds one barrier pulse (default 5 s).
	PulseTimeout time.Duration
	// Trace, if set, is called after every step with the event, its
	// commands and the new state (scenario transcripts, debugging).
	// Events carry scanned codes whole: render them with Describe, which
	// leaves the code and its MAC out.
	Trace func(at time.Time, ev Event, cmds []Command, st State, err error)
	// Failpoint, if set, is called at the steps where a crash matters
	// ("write:<record>" after each ledger write, "created" after
	// placeOrder answered, "pulsed" after the pulse, before its record).
	// The crash test makes it SIGKILL the process; nil in production.
	Failpoint func(name string)
	// ReconcileEvery is the cadence of the background reconciler of
	// orders no visit waits for (default 30 s; first run at start).
	ReconcileEvery time.Duration
	// ReceiptTimeout bounds one Receipts.Print (default 35 s; the printer
	// bounds itself more tightly).
	ReceiptTimeout time.Duration
}

// Runner is the one goroutine that owns a Machine: it executes the
// machine's commands, feeds their results back, arms its timer and
// publishes snapshots. Create it with New, start it with Run.
type Runner struct {
	m     *Machine
	d     Deps
	log   *slog.Logger
	first int64 // first visit of this process: older non-final orders are reconciled

	events  chan Event
	acts    chan actReq
	pings   chan struct{}
	stopped chan struct{}
	running atomic.Bool

	mu   sync.Mutex
	last Snapshot
	subs map[int]chan Snapshot
	nsub int

	unresolved atomic.Int64
	skew       atomic.Int64 // local clock minus PayBy's Date header, ns (0 unknown)
	reconBusy  atomic.Bool
	wg         sync.WaitGroup
	flMu       sync.Mutex
	inFlight   map[string]int // guarded by flMu: what the wg's goroutines do

	outage outage // PayBy, for the log (runner goroutine only)
}

type actReq struct {
	a     Action
	ev    Event // or an event that wants the outcome of its writes (notifications)
	reply chan error
}

// New prepares a runner: it reads the next visit id from the journal (so
// the ledger must be open and migrated) and sets up the machine. No device
// is touched: the lane never pulses at start-up.
func New(ctx context.Context, p Params, d Deps) (*Runner, error) {
	if d.Tickets == nil || d.Payments == nil || d.Gate == nil || d.Journal == nil {
		return nil, errors.New("lane: new runner: tickets, payments, gate and journal are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Timeout <= 0 {
		d.Timeout = 10 * time.Second
	}
	if d.CheckTimeout <= 0 {
		d.CheckTimeout = 5 * time.Second
	}
	if d.PulseTimeout <= 0 {
		d.PulseTimeout = 5 * time.Second
	}
	if d.ReconcileEvery <= 0 {
		d.ReconcileEvery = 30 * time.Second
	}
	if d.ReceiptTimeout <= 0 {
		d.ReceiptTimeout = 35 * time.Second
	}
	next, err := d.Journal.NextVisit(ctx)
	if err != nil {
		return nil, fmt.Errorf("lane: new runner: %w", err)
	}
	p.FirstVisit = next
	p.HavePrinter = d.Receipts != nil
	if p.Epoch == "" {
		p.Epoch = strconv.FormatInt(d.Now().UnixMilli(), 36)
	}
	m := NewMachine(p)
	m.health.Ledger = DeviceOK // open and migrated, or New would have failed
	r := &Runner{
		m: m, d: d, first: next,
		log:     d.Logger, // the caller tags it (station adds "lane")
		events:  make(chan Event, 64),
		acts:    make(chan actReq),
		pings:   make(chan struct{}),
		stopped: make(chan struct{}),
		subs:    map[int]chan Snapshot{},

		inFlight: map[string]int{},
	}
	r.last = m.Snapshot(d.Now())
	r.last.Ready = false
	return r, nil
}

// Machine exposes the machine's parameters (read-only use).
func (r *Runner) Params() Params { return r.m.Params() }

// Run runs the lane until ctx ends. It returns ctx's error.
func (r *Runner) Run(ctx context.Context) error {
	r.running.Store(true)
	defer func() {
		close(r.stopped)
		r.wg.Wait()
	}()
	r.publish()
	r.log.Info("lane running", "first_visit", r.first)
	r.reconcile(ctx)
	recon := time.NewTicker(r.d.ReconcileEvery)
	defer recon.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if next := r.m.Next(); !next.IsZero() {
			timer.Reset(max(next.Sub(r.d.Now()), 0))
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			r.log.Info("lane stopping", "state", r.m.State().String())
			r.finishPulse(ctx)
			return ctx.Err()
		case ev := <-r.events:
			r.step(ctx, ev)
		case req := <-r.acts:
			var err error
			if req.a != nil {
				now := r.d.Now()
				b := r.before()
				var cmds []Command
				cmds, err = r.m.Act(now, req.a)
				if r.d.Trace != nil {
					r.d.Trace(now, Acted{Action: req.a}, cmds, r.m.State(), err)
				}
				attrs := []any{"action", req.a.actionName(), "state", r.m.State().String(), "refused", errString(err)}
				if x, ok := req.a.(EnterCode); ok {
					attrs = append(attrs, "ticket", refCode(x.Code))
				}
				r.log.Info("action", attrs...)
				r.logStep(now, nil, cmds, b)
				if err == nil {
					err = r.exec(ctx, cmds)
				}
			} else {
				err = r.step(ctx, req.ev)
			}
			req.reply <- err
		case <-timer.C:
			r.step(ctx, Tick{})
		case <-recon.C:
			r.reconcile(ctx)
		case <-r.pings:
			continue
		}
		r.publish()
	}
}

// finishPulse, on a clean stop during Opening, waits for the pulse in
// flight and records its outcome, so that a restart finds it "pulsed"
// rather than "unknown".
func (r *Runner) finishPulse(ctx context.Context) {
	if r.m.State() != Opening {
		return
	}
	wctx := context.WithoutCancel(ctx)
	t := time.NewTimer(r.d.PulseTimeout + time.Second)
	defer t.Stop()
	for r.m.State() == Opening {
		select {
		case ev := <-r.events:
			if _, ok := ev.(BarrierDone); ok {
				r.step(wctx, ev)
			}
		case <-t.C:
			r.log.Warn("stopped with a pulse unconfirmed")
			return
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (r *Runner) step(ctx context.Context, ev Event) error {
	now := r.d.Now()
	var server time.Time
	switch e := ev.(type) {
	case CreateResult:
		server = e.Res.State.ServerTime
	case OrderUpdate:
		if e.Source != SourceNotification {
			server = e.State.ServerTime
		}
	}
	if !server.IsZero() {
		// The Date header has whole seconds: the skew is known to about 1 s,
		// enough to warn long before PayBy's 15-minute limit.
		skew := now.Sub(server).Truncate(time.Second)
		if skew == 0 {
			skew = 1 // known, and small
		}
		r.skew.Store(int64(skew))
	}
	b := r.before()
	cmds := r.m.Step(now, ev)
	_, tick := ev.(Tick)
	if r.d.Trace != nil {
		if !tick || len(cmds) > 0 || b.state != r.m.State() {
			r.d.Trace(now, ev, cmds, r.m.State(), nil)
		}
	}
	r.logStep(now, ev, cmds, b)
	if !tick || len(cmds) > 0 || b.state != r.m.State() {
		r.log.Debug("event", "event", Describe(ev), "state", r.m.State().String(), "from", b.state.String(), "commands", len(cmds))
	}
	return r.exec(ctx, cmds)
}

// exec executes commands in order. Ledger writes run here, synchronously;
// if one fails the rest of the batch (the side effects it authorises) is
// dropped and WriteFailed is fed back. Other commands run in goroutines
// under a timeout and answer with events.
func (r *Runner) exec(ctx context.Context, cmds []Command) error {
	refresh := false
	defer func() {
		if refresh {
			r.refreshUnresolved(ctx)
		}
	}()
	for i, c := range cmds {
		switch c := c.(type) {
		case Write:
			wctx, cancel := context.WithTimeout(ctx, r.d.CheckTimeout)
			err := r.d.Journal.Record(wctx, c.Rec)
			cancel()
			if _, status := c.Rec.(StatusRec); status && errors.Is(err, ErrUnknownOrder) {
				r.log.Warn("status of an order this lane never stored; ignored", "record", Describe(c), "err", err)
				continue
			}
			if err != nil {
				r.log.Error("ledger write failed; side effects dropped", "visit", c.Visit, "record", Describe(c), "dropped", len(cmds)-i-1, "err", err)
				r.step(ctx, WriteFailed{Visit: c.Visit, Err: err})
				return fmt.Errorf("ledger: %w", err)
			}
			r.log.Debug("ledger", "visit", c.Visit, "record", Describe(c))
			r.failpoint("write:" + c.Rec.recordName())
			switch c.Rec.(type) {
			case StatusRec, PulseRec, ExitRec:
				refresh = true
			}
		case CheckTicket:
			r.goCheck(ctx, c)
		case CheckValidation:
			now := r.d.Now()
			r.async(ctx, "check validation", r.d.CheckTimeout, func(ctx context.Context) Event {
				name, ok := r.d.Tickets.Validation(c.Code)
				ev := Validated{Visit: c.Visit, Code: c.Code, Name: name, OK: ok, Attendant: c.Attendant}
				if ok {
					q, err := r.d.Tickets.Quote(c.Ticket, now, c.Paid, c.LastPaid, c.Code)
					if err != nil {
						r.log.Error("fee cannot be computed", "visit", c.Visit, "validation", c.Code, "err", err)
						ev.OK = false
					}
					ev.Quote = q
				}
				return ev
			})
		case CreateOrder:
			r.log.Info("create order", "visit", c.Visit, "merchant_order_no", c.Req.MerchantOrderNo, "fee_fils", int64(c.Req.Amount))
			r.async(ctx, "create order", r.d.Timeout, func(ctx context.Context) Event {
				res, err := r.d.Payments.Create(ctx, c.Req)
				r.failpoint("created")
				return CreateResult{Visit: c.Visit, No: c.Req.MerchantOrderNo, Res: res, Err: err}
			})
		case GetOrder:
			r.async(ctx, "get order", r.d.Timeout, func(ctx context.Context) Event {
				st, err := r.d.Payments.Get(ctx, c.No)
				return OrderUpdate{Visit: c.Visit, No: c.No, State: st, Source: SourcePoll, Err: err}
			})
		case CancelOrder:
			r.log.Info("cancel order", "visit", c.Visit, "merchant_order_no", c.No)
			r.async(ctx, "cancel order", r.d.Timeout, func(ctx context.Context) Event {
				st, err := r.d.Payments.Cancel(ctx, c.No)
				return OrderUpdate{Visit: c.Visit, No: c.No, State: st, Source: SourceCancel, Err: err}
			})
		case Pulse:
			// The pulse is recorded as started before the ON frame (and as
			// completed after OFF, by the PulseRec its BarrierDone brings),
			// so a crash inside the hold leaves a row that says so. Without
			// that row there is no pulse.
			wctx, cancel := context.WithTimeout(ctx, r.d.CheckTimeout)
			err := r.d.Journal.Record(wctx, PulseStartRec{Auth: c.Auth, At: r.d.Now()})
			cancel()
			if err != nil {
				r.log.Error("ledger write failed; pulse not sent", "visit", c.Visit, "auth", c.Auth, "err", err)
				r.step(ctx, WriteFailed{Visit: c.Visit, Err: err})
				return fmt.Errorf("ledger: %w", err)
			}
			r.failpoint("write:pulse_start")
			r.log.Info("pulse", "visit", c.Visit, "auth", c.Auth, "cause", c.Cause.String())
			// The pulse is authorised and recorded: it must not be cut by a
			// shutdown half-way.
			r.async(context.WithoutCancel(ctx), "pulse", r.d.PulseTimeout, func(ctx context.Context) Event {
				err := r.d.Gate.Open(ctx, c.Cause.String())
				r.failpoint("pulsed")
				return BarrierDone{Visit: c.Visit, Auth: c.Auth, Err: err}
			})
		case PrintReceipt:
			if r.d.Receipts == nil {
				continue
			}
			r.log.Info("print receipt", "visit", c.Visit)
			r.async(ctx, "print receipt", r.d.ReceiptTimeout, func(ctx context.Context) Event {
				return ReceiptDone{Visit: c.Visit, Err: r.printReceipt(ctx, c.Visit)}
			})
		}
	}
	return nil
}

// printReceipt prints a visit's receipt, off the runner's goroutine. A
// failure is logged and written to the ledger's history for the
// attendant (who may hand the driver a receipt later); it never touches
// the lane's state beyond the screen's "no receipt".
func (r *Runner) printReceipt(ctx context.Context, visit int64) error {
	err := r.d.Receipts.Print(ctx, visit)
	if err == nil {
		r.log.Info("receipt printed", "visit", visit, "device", DevPrinter.String())
		return nil
	}
	r.log.Warn("receipt not printed", "visit", visit, "device", DevPrinter.String(), "err", err)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.d.CheckTimeout)
	defer cancel()
	if jerr := r.d.Journal.Record(wctx, AuditRec{At: r.d.Now(), Attendant: SystemActor, Action: "receipt_failed",
		Reason: err.Error(), Visit: visit}); jerr != nil {
		r.log.Error("receipt failure not recorded", "visit", visit, "err", jerr)
	}
	return err
}

func (r *Runner) goCheck(ctx context.Context, c CheckTicket) {
	now := r.d.Now()
	p := r.m.Params()
	r.async(ctx, "check ticket", r.d.CheckTimeout, func(ctx context.Context) Event {
		ev := Checked{Visit: c.Visit}
		if c.Lost {
			ev.Ticket = TicketInfo{Format: FormatLost, Lost: true, Serial: "L" + strconv.FormatInt(c.Visit, 10)}
			ev.Quote = r.d.Tickets.Lost(now)
			return ev
		}
		t, id, err := r.d.Tickets.Check(c.Code, now)
		if err != nil {
			ev.Refused = NoticeInvalid
			var re *RefusedError
			if errors.As(err, &re) {
				ev.Refused = re.Kind
			}
			r.log.Info("ticket refused", "visit", c.Visit, "ticket", refCode(c.Code), "notice", ev.Refused.String(), "err", err)
			return ev
		}
		ev.Ticket, ev.ID = t, id
		h, err := r.d.Journal.Lookup(ctx, id, OrderKey(p.Site, p.Lane, t.Serial))
		if err != nil {
			ev.Err = err
			return ev
		}
		ev.History = h
		ev.Quote, err = r.d.Tickets.Quote(t, now, h.Paid, h.LastPaid, "")
		if err != nil {
			// Never a guessed amount: the driver is told to call the
			// attendant, who can price the stay another way.
			ev.Refused = NoticeInvalid
			r.log.Error("fee cannot be computed", "visit", c.Visit, "ticket", t, "notice", ev.Refused.String(), "err", err)
		}
		return ev
	})
}

func (r *Runner) failpoint(name string) {
	if r.d.Failpoint != nil {
		r.d.Failpoint(name)
	}
}

// async runs f in a goroutine with a timeout and feeds its event back.
// name says what it does while it runs (InFlight).
func (r *Runner) async(ctx context.Context, name string, timeout time.Duration, f func(context.Context) Event) {
	r.wg.Add(1)
	end := r.begin(name)
	go func() {
		defer r.wg.Done()
		defer end()
		cctx, cancel := context.WithTimeout(ctx, timeout)
		ev := f(cctx)
		cancel()
		select {
		case r.events <- ev:
		case <-r.stopped:
		}
	}()
}

// begin counts name among the operations in flight until the returned
// function is called.
func (r *Runner) begin(name string) (end func()) {
	r.flMu.Lock()
	r.inFlight[name]++
	r.flMu.Unlock()
	return func() {
		r.flMu.Lock()
		if r.inFlight[name]--; r.inFlight[name] <= 0 {
			delete(r.inFlight, name)
		}
		r.flMu.Unlock()
	}
}

// InFlight names the operations the runner's goroutines are busy with
// (a PayBy call, a ticket check, a pulse, a reconcile pass), sorted; the
// log of a stop that overran its limit says which.
func (r *Runner) InFlight() []string {
	r.flMu.Lock()
	defer r.flMu.Unlock()
	out := make([]string, 0, len(r.inFlight))
	for name, n := range r.inFlight {
		if n > 1 {
			name += " ×" + strconv.Itoa(n)
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// post feeds an event from outside (scanner, devices).
func (r *Runner) post(ev Event) {
	select {
	case r.events <- ev:
	case <-r.stopped:
	}
}

// Scan feeds a code read by the scanner.
func (r *Runner) Scan(code string) { r.post(Scanned{Code: code}) }

// Device reports a device going up or down.
func (r *Runner) Device(d Device, s DeviceState) { r.post(DeviceChanged{Device: d, State: s}) }

// Loop reports the vehicle loop's presence input.
func (r *Runner) Loop(present bool) { r.post(LoopChanged{Present: present}) }

// Ping goes once around the runner's loop: it returns nil once the loop
// has taken it, ErrStopped if the runner has stopped, ctx's error if the
// loop did not turn in time (it is stuck in a step). The systemd watchdog
// is fed only while Ping answers, so a hung lane is restarted.
func (r *Runner) Ping(ctx context.Context) error {
	select {
	case r.pings <- struct{}{}:
		return nil
	case <-r.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Notify feeds a verified PayBy notification and returns once it is
// recorded; an error means the ledger could not record it (reply failure
// so that PayBy retries).
func (r *Runner) Notify(ctx context.Context, no string, st OrderState) error {
	return r.submit(ctx, actReq{ev: OrderUpdate{No: no, State: st, Source: SourceNotification}})
}

func (r *Runner) submit(ctx context.Context, req actReq) error {
	req.reply = make(chan error, 1)
	select {
	case r.acts <- req:
	case <-r.stopped:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Do submits a driver or attendant action (see Console).
func (r *Runner) Do(ctx context.Context, a Action) error {
	switch x := a.(type) {
	case Refund:
		return r.refund(ctx, x)
	case Resolve:
		if err := needs(x.Attendant, x.Reason); err != nil {
			return err
		}
		if x.MerchantOrderNo == "" && x.Visit == 0 {
			return ErrNotFound
		}
		now := r.d.Now()
		if err := r.d.Journal.Record(ctx, ResolveRec{No: x.MerchantOrderNo, Visit: x.Visit, At: now, Attendant: x.Attendant, Reason: x.Reason}); err != nil {
			return fmt.Errorf("resolve: %w", err)
		}
		r.refreshUnresolved(ctx)
		return r.d.Journal.Record(ctx, AuditRec{At: now, Attendant: x.Attendant, Action: "resolve", Reason: x.Reason, Visit: x.Visit, No: x.MerchantOrderNo})
	case StartShift, EndShift:
		id := ""
		start := false
		if s, ok := x.(StartShift); ok {
			id, start = s.Attendant, true
		} else {
			id = x.(EndShift).Attendant
		}
		if strings.TrimSpace(id) == "" {
			return ErrAttendantRequired
		}
		now := r.d.Now()
		if err := r.d.Journal.Record(ctx, ShiftRec{At: now, Attendant: id, Start: start}); err != nil {
			return fmt.Errorf("shift: %w", err)
		}
		return r.d.Journal.Record(ctx, AuditRec{At: now, Attendant: id, Action: a.actionName()})
	}
	return r.submit(ctx, actReq{a: a})
}

func needs(attendant, reason string) error {
	if strings.TrimSpace(attendant) == "" {
		return ErrAttendantRequired
	}
	if strings.TrimSpace(reason) == "" {
		return ErrReasonRequired
	}
	return nil
}

// refund records the refund before sending it (so a crash leaves a
// "pending" row to check), sends it, records the outcome.
func (r *Runner) refund(ctx context.Context, x Refund) error {
	if err := needs(x.Attendant, x.Reason); err != nil {
		return err
	}
	paid, err := r.d.Journal.Paid(ctx, x.MerchantOrderNo)
	if err != nil {
		return fmt.Errorf("refund %s: %w", x.MerchantOrderNo, err)
	}
	amount := x.Amount
	if amount == 0 {
		amount = paid
	}
	if amount <= 0 || amount > paid {
		return fmt.Errorf("refund %s of %s (paid %s): %w", x.MerchantOrderNo, amount, paid, ErrAmount)
	}
	now := r.d.Now()
	base := x.MerchantOrderNo
	suffix := "-R" + strconv.FormatInt(now.UnixMilli(), 36)
	if len(base)+len(suffix) > 64 {
		base = base[len(base)+len(suffix)-64:]
	}
	rec := RefundRec{RefundNo: base + suffix, No: x.MerchantOrderNo, Amount: amount, At: now,
		Attendant: x.Attendant, Reason: x.Reason, Status: RefundPending}
	if err := r.d.Journal.Record(ctx, rec); err != nil {
		return fmt.Errorf("refund %s: %w", x.MerchantOrderNo, err)
	}
	cctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
	perr := r.d.Payments.Refund(cctx, x.MerchantOrderNo, rec.RefundNo, amount, x.Reason)
	cancel()
	rec.Status, rec.At = RefundDone, r.d.Now()
	if perr != nil {
		rec.Status = RefundFailed
	}
	r.log.Info("refund", "merchant_order_no", x.MerchantOrderNo, "refund_no", rec.RefundNo, "amount_fils", int64(amount), "attendant", x.Attendant, "err", errString(perr))
	if err := r.d.Journal.Record(ctx, rec); err != nil {
		return fmt.Errorf("refund %s: %w", x.MerchantOrderNo, err)
	}
	if err := r.d.Journal.Record(ctx, AuditRec{At: rec.At, Attendant: x.Attendant, Action: "refund", Reason: x.Reason, No: x.MerchantOrderNo, Amount: amount}); err != nil {
		return err
	}
	r.refreshUnresolved(ctx)
	if perr != nil {
		return fmt.Errorf("refund %s: %w", x.MerchantOrderNo, perr)
	}
	return nil
}

// reconcile starts one background pass over orders that are not final and
// that no visit waits for: get; cancel if still CREATED; record. A pass
// never touches the live visit's orders.
func (r *Runner) reconcile(ctx context.Context) {
	if !r.reconBusy.CompareAndSwap(false, true) {
		return
	}
	r.wg.Add(1)
	end := r.begin("reconcile")
	go func() {
		defer r.wg.Done()
		defer end()
		defer r.reconBusy.Store(false)
		defer r.refreshUnresolved(ctx)
		nos, err := r.d.Journal.Reconcilable(ctx, r.first)
		if err != nil {
			r.log.Error("reconcile: list", "err", err)
			return
		}
		if len(nos) == 0 {
			r.probe(ctx)
		}
		for _, no := range nos {
			if ctx.Err() != nil {
				return
			}
			r.reconcileOne(ctx, no)
		}
		r.resendRefunds(ctx)
	}()
}

// resendRefunds sends again, byte for byte under the same refund number,
// each refund whose outcome was never recorded: PayBy answers a repeat
// with the existing refund, so this completes it without refunding twice.
func (r *Runner) resendRefunds(ctx context.Context) {
	refunds, err := r.d.Journal.PendingRefunds(ctx)
	if err != nil {
		r.log.Error("reconcile: pending refunds", "err", err)
		return
	}
	for _, rec := range refunds {
		if ctx.Err() != nil || r.d.Now().Sub(rec.At) < r.d.Timeout {
			continue // possibly still in flight from Do
		}
		cctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
		err := r.d.Payments.Refund(cctx, rec.No, rec.RefundNo, rec.Amount, rec.Reason)
		cancel()
		if err != nil {
			r.log.Warn("reconcile: refund", "refund_no", rec.RefundNo, "err", err)
			continue
		}
		rec.Status, rec.At = RefundDone, r.d.Now()
		if err := r.d.Journal.Record(ctx, rec); err != nil {
			r.log.Error("reconcile: record refund", "refund_no", rec.RefundNo, "err", err)
			continue
		}
		r.log.Info("reconciled refund", "refund_no", rec.RefundNo, "merchant_order_no", rec.No, "amount_fils", int64(rec.Amount))
	}
}

// probe asks PayBy for an order number that never exists, to show its
// reachability to the attendant while the lane is idle.
func (r *Runner) probe(ctx context.Context) {
	p := r.m.Params()
	cctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
	_, err := r.d.Payments.Get(cctx, OrderKey(p.Site, p.Lane, "PROBE")+"-0")
	cancel()
	r.payByHealth(err)
}

func (r *Runner) payByHealth(err error) {
	st := DeviceOK
	if err != nil {
		st = DeviceDown
		r.log.Warn("payby unreachable", "err", err)
	}
	select {
	case r.events <- DeviceChanged{Device: DevPayBy, State: st}:
	case <-r.stopped:
	default: // the lane is busy; its own calls will tell
	}
}

func (r *Runner) reconcileOne(ctx context.Context, no string) {
	cctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
	st, err := r.d.Payments.Get(cctx, no)
	cancel()
	r.payByHealth(err)
	if err != nil {
		r.log.Warn("reconcile: get", "merchant_order_no", no, "err", err)
		return
	}
	if st.Status == OrderCreated {
		cctx, cancel := context.WithTimeout(ctx, r.d.Timeout)
		st, err = r.d.Payments.Cancel(cctx, no)
		cancel()
		if err != nil {
			r.log.Warn("reconcile: cancel", "merchant_order_no", no, "err", err)
			return
		}
	}
	if st.Status == OrderUnknown {
		return
	}
	if err := r.d.Journal.Record(ctx, StatusRec{No: no, State: st, Source: SourceReconcile, At: r.d.Now()}); err != nil {
		r.log.Error("reconcile: record", "merchant_order_no", no, "err", err)
		return
	}
	lvl := slog.LevelInfo
	if st.Status == OrderPaid {
		lvl = slog.LevelWarn // paid, not exited: an attendant must look
	}
	r.log.Log(ctx, lvl, "reconciled", "merchant_order_no", no, "status", st.Status.String())
}

func (r *Runner) refreshUnresolved(ctx context.Context) {
	u, err := r.d.Journal.Unresolved(ctx)
	if err != nil {
		return
	}
	n := 0
	for _, e := range u {
		if e.Kind != UnresolvedNotFinal {
			n++
		}
	}
	r.unresolved.Store(int64(n))
}

// publish sends the current snapshot to every subscriber (latest wins).
func (r *Runner) publish() {
	s := r.m.Snapshot(r.d.Now())
	s.Unresolved = int(r.unresolved.Load())
	s.Health.ClockSkew = time.Duration(r.skew.Load())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last.Seq++
	s.Seq = r.last.Seq
	r.last = s
	for _, ch := range r.subs {
		select {
		case ch <- s:
		default:
			select {
			case <-ch:
			default:
			}
			ch <- s
		}
	}
}

// Snapshot returns the latest published snapshot.
func (r *Runner) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Subscribe returns a channel of snapshots (latest wins) and its cancel.
// The current snapshot is delivered at once.
func (r *Runner) Subscribe() (<-chan Snapshot, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ch := make(chan Snapshot, 1)
	ch <- r.last
	id := r.nsub
	r.nsub++
	r.subs[id] = ch
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			r.mu.Lock()
			delete(r.subs, id)
			close(ch)
			r.mu.Unlock()
		})
	}
}

// Audit records an attendant event that is not a lane action (a PIN
// attempt, a log-in or log-out, a lockout) in the ledger's audit trail.
// It does not touch the state machine, so it may be called from any
// goroutine.
func (r *Runner) Audit(ctx context.Context, attendant, event, detail string) error {
	return r.d.Journal.Record(ctx, AuditRec{At: r.d.Now(), Attendant: attendant, Action: event, Reason: detail})
}

// Reports, read from the journal.

func (r *Runner) Totals(ctx context.Context, from, to time.Time) (Totals, error) {
	return r.d.Journal.Totals(ctx, from, to)
}
func (r *Runner) Shift(ctx context.Context) (ShiftReport, error) { return r.d.Journal.Shift(ctx) }
func (r *Runner) Unresolved(ctx context.Context) ([]Unresolved, error) {
	return r.d.Journal.Unresolved(ctx)
}
func (r *Runner) Transactions(ctx context.Context, before int64, limit int) ([]Transaction, error) {
	return r.d.Journal.Transactions(ctx, before, limit)
}

var _ Console = (*Runner)(nil)
