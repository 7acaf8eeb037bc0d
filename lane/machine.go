// Package lane is the exit lane: a pure state machine (Machine.Step) that
// decides, and a Runner, the one goroutine that owns the machine, executes
// its commands (ledger writes, PayBy calls, the barrier pulse) under
// timeouts, feeds their results back as events and publishes snapshots to
// the screens.
//
// The machine reads no clock and does no I/O; the small interfaces it needs
// (Tickets, Payments, Gate, Journal) are declared here and satisfied by
// adapters in the main package.
package lane

import (
	"slices"
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
)

// Params configure a Machine. Zero fields mean the documented defaults.
type Params struct {
	Site, Lane string
	// PayWindow is how long the QR is offered (default 3 min).
	PayWindow time.Duration
	// ExpiryMargin is added to PayWindow for the order's expiredTime, so
	// PayBy never expires an order the lane still offers (default 2 min).
	ExpiryMargin time.Duration
	// PollInterval is the getOrder cadence while waiting (default 2 s,
	// clamped to PayBy's accepted 1-6 s).
	PollInterval time.Duration
	// RetryInterval is the wait before retrying PayBy after a failure
	// (default 5 s; PayBy asks for cancel retries every 3-10 s).
	RetryInterval time.Duration
	// NoticeFor is how long a notice stays on screen (default 8 s).
	NoticeFor time.Duration
	// OpenedFor is how long "barrier opening" stays without a loop
	// (default 10 s); with a loop it is the fallback if the loop never clears.
	OpenedFor time.Duration
	// MaxAmount sends larger fees to the attendant instead of a QR (0: no limit).
	MaxAmount money.Fils
	// ExitGrace is the tariff's exit grace after a payment (the same value
	// the ticket quotes use). A payment found on an order left open by an
	// earlier visit covers this visit only if it was made within ExitGrace
	// of now; otherwise the driver is asked for the difference.
	ExitGrace time.Duration
	// FirstVisit is the first visit id to use (from Journal.NextVisit).
	FirstVisit int64
	// HaveLoop: a vehicle loop is configured (Open ends when it clears).
	HaveLoop bool
	// Epoch prefixes barrier authorisation ids so they stay unique across
	// restarts (the runner uses its start time); may be empty in tests.
	Epoch string
}

func (p Params) withDefaults() Params {
	if p.PayWindow <= 0 {
		p.PayWindow = 3 * time.Minute
	}
	if p.ExpiryMargin <= 0 {
		p.ExpiryMargin = 2 * time.Minute
	}
	if p.PollInterval <= 0 {
		p.PollInterval = 2 * time.Second
	}
	p.PollInterval = min(max(p.PollInterval, time.Second), 6*time.Second)
	if p.RetryInterval <= 0 {
		p.RetryInterval = 5 * time.Second
	}
	if p.NoticeFor <= 0 {
		p.NoticeFor = 8 * time.Second
	}
	if p.OpenedFor <= 0 {
		p.OpenedFor = 10 * time.Second
	}
	if p.FirstVisit <= 0 {
		p.FirstVisit = 1
	}
	return p
}

// overrideWindow is how long after an "already used" refusal an attendant
// can still override it from the admin screen.
const overrideWindow = 3 * time.Minute

// Machine is the exit lane's state machine. It is not safe for concurrent
// use: one goroutine (the Runner, or a test) owns it.
type Machine struct {
	p        Params
	state    State
	next     int64
	v        *visit
	notice   NoticeKind
	deadline time.Time
	health   Health
	laneOpen bool
	called   bool
	// refused is the last ticket refused as already used, for Override.
	refused   *visit
	refusedAt time.Time // when refused was refused
	// opening is the pulse in flight or last done.
	opening   *authorisation
	authCount int
	err       error // refusal of the action being stepped (see Act)
}

type authorisation struct {
	auth  string
	visit int64
	cause Cause
}

type visit struct {
	id       int64
	code     string
	lost     bool
	ticket   TicketInfo
	ticketID string
	quote    Quote
	hist     History
	checked  bool

	override bool
	by       string
	reason   string
	attempt  int
	key      string
	order    *order
	orders   []string
	// inherited are the orders an earlier visit of this ticket left open;
	// a payment on one of them was priced for that earlier stay.
	inherited []string
	payBy     time.Time // end of the payment window
	cause     Cause
	everShown bool

	validation     string // code applied
	validationName string
}

type cancelPurpose int

const (
	cancelNone cancelPurpose = iota
	cancelNewQR
	cancelWindow
)

type order struct {
	req        OrderRequest
	token      string
	created    bool // PayBy confirmed it exists (CREATED)
	failed     bool // a create failed; resolve by querying the number
	inflight   bool // a create, get or cancel is outstanding
	pollAt     time.Time
	retryAt    time.Time
	windowOver bool
	cancel     cancelPurpose
	status     OrderStatus
	// failingSince is when PayBy calls for this order started failing
	// (zero: the last one answered).
	failingSince time.Time
}

// alertAfter is how long PayBy may fail to answer while a QR is shown
// before the driver is told to call the attendant (PayBy's acceptance
// rules: alert a human after 10 s of failures).
const alertAfter = 10 * time.Second

// NewMachine returns a machine in Idle with the given parameters.
func NewMachine(p Params) *Machine {
	p = p.withDefaults()
	return &Machine{p: p, state: Idle, next: p.FirstVisit, laneOpen: true,
		health: Health{Loop: loopHealth(p.HaveLoop)}}
}

func loopHealth(have bool) DeviceState {
	if have {
		return DeviceUnknown
	}
	return DeviceAbsent
}

// Params returns the machine's parameters with defaults applied.
func (m *Machine) Params() Params { return m.p }

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Act steps an action and returns its commands, or why it was refused.
func (m *Machine) Act(now time.Time, a Action) ([]Command, error) {
	m.err = nil
	cmds := m.Step(now, Acted{Action: a})
	err := m.err
	m.err = nil
	return cmds, err
}

// Step feeds one event to the machine and returns the commands to execute,
// in order. Every (state, event) pair is decided; pairs that do nothing
// return no commands.
func (m *Machine) Step(now time.Time, ev Event) []Command {
	switch e := ev.(type) {
	case Scanned:
		return m.scanned(now, e.Code)
	case Tick:
		return m.tick(now)
	case Checked:
		return m.checked(now, e)
	case CreateResult:
		return m.orderCreated(now, e)
	case OrderUpdate:
		return m.orderUpdate(now, e)
	case BarrierDone:
		return m.barrierDone(now, e)
	case DeviceChanged:
		return m.device(now, e)
	case LoopChanged:
		m.health.VehiclePresent = e.Present
		if m.p.HaveLoop {
			m.health.Loop = DeviceOK
		}
		if !e.Present && m.state == Open {
			return m.toIdle(now)
		}
		return nil
	case WriteFailed:
		m.health.Ledger = DeviceDown
		var cmds []Command
		if v := m.v; v != nil && v.order != nil && v.order.created && !v.order.status.Final() {
			cmds = append(cmds, CancelOrder{Visit: v.id, No: v.order.req.MerchantOrderNo})
		}
		m.v = nil
		m.fault(NoticeLedgerFault)
		return cmds
	case Acted:
		return m.act(now, e.Action)
	case Validated:
		return m.validated(now, e)
	}
	return nil
}

// Next is when the machine next wants a Tick (zero: no timer).
func (m *Machine) Next() time.Time {
	var t time.Time
	earliest := func(c time.Time) {
		if !c.IsZero() && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
	switch m.state {
	case Notice, Open:
		earliest(m.deadline)
	case FeeDue:
		v := m.v
		o := v.order
		if o == nil || !o.windowOver {
			earliest(v.payBy)
		}
		if o != nil {
			if o.windowOver {
				earliest(o.req.Expire)
			}
			if !o.inflight {
				switch {
				case o.cancel != cancelNone, o.failed && !o.created:
					earliest(o.retryAt)
				case o.created && o.status == OrderCreated:
					earliest(o.pollAt)
				}
			}
		}
	}
	return t
}

func (m *Machine) scanned(now time.Time, code string) []Command {
	switch m.state {
	case Idle, Notice, Open:
		return m.begin(now, &visit{code: code})
	case FeeDue:
		// A code scanned while the fee is shown may be a validation stamp.
		if v := m.v; v.checked && !v.lost && code != v.code {
			return []Command{m.checkValidation(code, "")}
		}
	}
	// Checking, FeeDue, Opening: a vehicle is being served; Fault, Closed:
	// no service. The scan is ignored (the screen already says why).
	return nil
}

func (m *Machine) checkValidation(code, attendant string) Command {
	v := m.v
	return CheckValidation{Visit: v.id, Code: code, Ticket: v.ticket, Paid: v.hist.Paid, LastPaid: v.hist.LastPaid, Attendant: attendant}
}

// validated re-prices the visit with a validation: free now → open (cause
// validation, any order cancelled); a new amount → the shown order is
// cancelled and the next attempt created with it, as for "new QR".
func (m *Machine) validated(now time.Time, e Validated) []Command {
	v := m.v
	if m.state != FeeDue || v == nil || v.id != e.Visit || !e.OK {
		return nil
	}
	o := v.order
	quiet := o == nil || o.status == OrderFailed || (!o.created && o.failed && !o.inflight) ||
		(o.created && o.status == OrderCreated && !o.inflight && o.cancel == cancelNone && !o.windowOver)
	if !quiet {
		return nil // an answer from PayBy is awaited; the driver can scan again
	}
	v.quote, v.validation, v.validationName = e.Quote, e.Code, e.Name
	cmds := []Command{Write{Visit: v.id, Rec: ValidationRec{Visit: v.id, At: now, Code: e.Code, Name: e.Name, Quote: e.Quote, Attendant: e.Attendant}}}
	switch {
	case e.Quote.Due <= 0:
		cmds = append(cmds, m.dropOrder(now)...)
		return append(cmds, m.authoriseExit(now, CauseValidation, 0, "", v.by, v.reason, nil)...)
	case o == nil || o.status == OrderFailed:
		if m.p.MaxAmount > 0 && e.Quote.Due > m.p.MaxAmount {
			return cmds
		}
		return append(cmds, m.newOrder(now)...)
	case !o.created:
		// A create that failed (PayBy down): leave that number to the
		// reconciler and go on with the next attempt at the new price.
		cmds = append(cmds, m.dropOrder(now)...)
		return append(cmds, m.newOrder(now)...)
	case o.req.Amount == e.Quote.Due:
		return cmds
	}
	o.cancel = cancelNewQR
	o.token = ""
	o.inflight = true
	return append(cmds, CancelOrder{Visit: v.id, No: o.req.MerchantOrderNo})
}

func (m *Machine) begin(now time.Time, v *visit) []Command {
	v.id = m.next
	m.next++
	m.v = v
	m.refused = nil // a new vehicle: an earlier refusal is no longer at the barrier
	m.state = Checking
	m.notice = NoticeNone
	m.deadline = time.Time{}
	m.called = false
	return []Command{CheckTicket{Visit: v.id, Code: v.code, Lost: v.lost}}
}

func (m *Machine) checked(now time.Time, e Checked) []Command {
	v := m.v
	if m.state != Checking || v == nil || v.id != e.Visit {
		return nil // late result of an earlier visit
	}
	if e.Err != nil {
		m.health.Ledger = DeviceDown
		m.v = nil
		m.fault(NoticeLedgerFault)
		return nil
	}
	m.health.Ledger = DeviceOK
	v.ticket, v.ticketID, v.quote, v.hist, v.checked = e.Ticket, e.ID, e.Quote, e.History, true
	v.key = OrderKey(m.p.Site, m.p.Lane, v.ticket.Serial)
	if v.lost {
		v.key = OrderKey(m.p.Site, m.p.Lane, "L"+itoa(v.id))
	}
	v.attempt = e.History.Attempts
	rec := VisitRec{Visit: v.id, At: now, TicketID: e.ID, Ticket: e.Ticket, Quote: e.Quote,
		Refused: e.Refused, Override: v.override, Attendant: v.by, Reason: v.reason}
	refused := e.Refused
	if refused == NoticeNone && e.History.Exited && !v.override {
		refused = NoticeAlreadyUsed
	}
	if refused != NoticeNone {
		rec.Refused = refused
		if refused == NoticeAlreadyUsed {
			m.refused, m.refusedAt = v, now
		}
		m.v = nil
		m.toNotice(now, refused)
		return []Command{Write{Visit: v.id, Rec: rec}}
	}
	cmds := []Command{Write{Visit: v.id, Rec: rec}}
	due := e.Quote.Due
	switch {
	case due <= 0:
		cause := CauseGrace
		switch e.Quote.Free {
		case "exit_grace":
			cause = CauseExitGrace
		case "validation":
			cause = CauseValidation
		case "grace":
		default:
			if e.History.Paid > 0 {
				cause = CauseExitGrace
			}
		}
		no := ""
		if e.History.Paid > 0 {
			no = e.History.LastPaidOrder
		}
		return append(cmds, m.authoriseExit(now, cause, 0, no, v.by, v.reason, nil)...)
	case m.p.MaxAmount > 0 && due > m.p.MaxAmount:
		m.state = FeeDue
		m.notice = NoticeCallAttendant
		v.payBy = now.Add(m.p.PayWindow)
		return cmds
	}
	m.state = FeeDue
	// Orders of this ticket left open by an earlier visit: cancel them,
	// and count a payment that lands on one of them as this visit's.
	for _, no := range e.History.Open {
		v.orders = append(v.orders, no)
		v.inherited = append(v.inherited, no)
		cmds = append(cmds, CancelOrder{Visit: v.id, No: no})
	}
	return append(cmds, m.newOrder(now)...)
}

// OrderKey is the part of a merchantOrderNo before the attempt:
// <site>-<lane>-<serial>, with characters PayBy refuses replaced by '_'
// and the serial shortened from the left so a full number fits 64.
func OrderKey(site, lane, serial string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			switch {
			case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
				return r
			}
			return '_'
		}, s)
	}
	site, lane, serial = clean(site), clean(lane), clean(serial)
	const room = 64 - 1 - 6 // "-" and up to 6 digits of attempt
	if n := len(site) + len(lane) + len(serial) + 2; n > room {
		cut := n - room
		if cut < len(serial) {
			serial = serial[cut:]
		} else {
			serial = ""
		}
	}
	return site + "-" + lane + "-" + serial
}

func (m *Machine) newOrder(now time.Time) []Command {
	v := m.v
	v.attempt++
	no := v.key + "-" + itoa(int64(v.attempt))
	req := OrderRequest{MerchantOrderNo: no, Amount: v.quote.Due,
		Expire: now.Add(m.p.PayWindow + m.p.ExpiryMargin), Serial: v.ticket.Serial}
	v.order = &order{req: req, inflight: true}
	v.orders = append(v.orders, no)
	if v.payBy.IsZero() || !v.everShown {
		v.payBy = now.Add(m.p.PayWindow)
	}
	m.notice = NoticeNone
	return []Command{
		Write{Visit: v.id, Rec: OrderRec{Visit: v.id, TicketID: v.ticketID, Key: v.key, No: no,
			Attempt: v.attempt, Amount: req.Amount, At: now, Expire: req.Expire}},
		CreateOrder{Visit: v.id, Req: req},
	}
}

// live reports whether the order no belongs to the visit being served and
// that visit is waiting for payment.
func (m *Machine) live(visitID int64, no string) bool {
	v := m.v
	if m.state != FeeDue || v == nil || (visitID != 0 && visitID != v.id) {
		return false
	}
	for _, n := range v.orders {
		if n == no {
			return true
		}
	}
	return false
}

func (m *Machine) orderCreated(now time.Time, e CreateResult) []Command {
	if !m.live(e.Visit, e.No) || m.v.order == nil || m.v.order.req.MerchantOrderNo != e.No {
		// Late: nobody waits for this order; record what PayBy said and
		// release it.
		if e.Err != nil {
			return nil
		}
		cmds := []Command{Write{Visit: e.Visit, Rec: StatusRec{No: e.No, State: e.Res.State, Source: SourceCreate, At: now}}}
		if e.Res.State.Status == OrderCreated {
			cmds = append(cmds, CancelOrder{Visit: e.Visit, No: e.No})
		}
		return cmds
	}
	v, o := m.v, m.v.order
	o.inflight = false
	if e.Err != nil {
		m.health.PayBy = DeviceDown
		o.failed = true
		o.retryAt = now.Add(m.p.RetryInterval)
		m.notice = NoticePaymentUnavailable
		return nil
	}
	m.payByOK(e.Res.State)
	switch e.Res.State.Status {
	case OrderPaid:
		return m.paid(now, e.No, e.Res.State, SourceCreate)
	case OrderFailed:
		o.status = OrderFailed
		o.token = ""
		m.notice = NoticePaymentFailed
		return []Command{Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.Res.State, Source: SourceCreate, At: now}}}
	}
	o.created, o.failed = true, false
	o.status = OrderCreated
	o.token = e.Res.TokenURL
	o.pollAt = now.Add(m.p.PollInterval)
	if m.notice == NoticePaymentUnavailable || m.notice == NoticePaymentFailed {
		m.notice = NoticeNone
	}
	if !v.everShown {
		// The driver gets the whole window from the moment the QR shows.
		v.everShown = true
		v.payBy = now.Add(m.p.PayWindow)
	}
	return []Command{Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.Res.State, Source: SourceCreate, At: now}}}
}

func (m *Machine) payByOK(OrderState) { m.health.PayBy = DeviceOK }

func (m *Machine) orderUpdate(now time.Time, e OrderUpdate) []Command {
	if !m.live(e.Visit, e.No) {
		if e.Err != nil || e.State.Status == OrderUnknown {
			return nil
		}
		// Not the live visit: record it. A payment here is a late payment
		// (the driver gave up or the cancel lost the race): the ledger lists
		// it as "paid, not exited" (invariant 5).
		return []Command{Write{Visit: e.Visit, Rec: StatusRec{No: e.No, State: e.State, Source: e.Source, At: now}}}
	}
	v, o := m.v, m.v.order
	if o == nil || o.req.MerchantOrderNo != e.No {
		// An earlier attempt of this visit. Only a payment matters: the
		// driver paid the old QR, so take it and drop the current order.
		if e.Err != nil || e.State.Status != OrderPaid {
			if e.Err == nil && e.State.Status != OrderUnknown {
				return []Command{Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.State, Source: e.Source, At: now}}}
			}
			return nil
		}
		if cmds, ok := m.topUp(now, e); ok {
			return cmds
		}
		cmds := m.dropOrder(now)
		return append(cmds, m.paid(now, e.No, e.State, e.Source)...)
	}
	if e.Source != SourceNotification {
		o.inflight = false
	}
	if e.Err != nil {
		m.health.PayBy = DeviceDown
		if o.failingSince.IsZero() {
			o.failingSince = now
		}
		if o.created && now.Sub(o.failingSince) >= alertAfter {
			m.notice = NoticePaymentUnavailable // the QR stays: it may still be paid
		}
		switch {
		case o.cancel != cancelNone || (o.failed && !o.created):
			o.retryAt = now.Add(m.p.RetryInterval)
			if o.cancel == cancelNewQR || !o.created {
				m.notice = NoticePaymentUnavailable
			}
		default:
			o.pollAt = now.Add(m.p.PollInterval)
		}
		return nil
	}
	m.payByOK(e.State)
	o.failingSince = time.Time{}
	if m.notice == NoticePaymentUnavailable && o.created {
		m.notice = NoticeNone
	}
	var cmds []Command
	resolving := !o.created && e.State.Status == OrderNotFound // the stored number was never created: create it now
	if e.State.Status != o.status && e.State.Status != OrderUnknown && !resolving {
		cmds = append(cmds, Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.State, Source: e.Source, At: now}})
	}
	switch e.State.Status {
	case OrderPaid:
		return m.paid(now, e.No, e.State, e.Source) // the paid exit records the status
	case OrderCreated, OrderNotFound:
		if !o.created {
			if e.Source == SourceNotification {
				return cmds
			}
			// Resolving a create that failed: the number is stored; send the
			// identical create again (idempotent at PayBy) to get the QR.
			o.inflight = true
			return append(cmds, CreateOrder{Visit: v.id, Req: o.req})
		}
		if e.State.Status == OrderNotFound && o.cancel != cancelNone {
			return append(cmds, m.cancelled(now)...)
		}
		o.status = OrderCreated
		switch {
		case o.cancel != cancelNone || o.windowOver:
			if e.Source == SourceNotification {
				return cmds
			}
			if o.cancel == cancelNone {
				o.cancel = cancelWindow
			}
			o.inflight = true
			return append(cmds, CancelOrder{Visit: v.id, No: e.No})
		}
		if o.pollAt.IsZero() {
			o.pollAt = now.Add(m.p.PollInterval)
		}
		return cmds
	case OrderFailed:
		o.status = OrderFailed
		o.token = ""
		if o.cancel != cancelNone || o.windowOver {
			return append(cmds, m.cancelled(now)...)
		}
		m.notice = NoticePaymentFailed // "new QR" or cancel
		return cmds
	}
	return cmds
}

// topUp handles a payment found on an order that an earlier visit of this
// ticket left open (a late payment the lane had not heard of). That
// payment was priced for the earlier stay: if it was made more than the
// exit grace ago and the stay now costs more, the payment is recorded and
// the driver is shown a new QR for the difference, exactly as a re-scan
// after a recorded payment would (fee(entry..now) minus what was paid).
// ok is false when the payment covers this visit.
func (m *Machine) topUp(now time.Time, e OrderUpdate) (cmds []Command, ok bool) {
	v := m.v
	i := slices.Index(v.inherited, e.No)
	if i < 0 || e.State.Paid <= 0 {
		return nil, false
	}
	// A payment whose time PayBy did not give is taken as recent: the
	// driver is not held at the barrier on a guess.
	owed := v.quote.Due - e.State.Paid
	if owed <= 0 || e.State.PaidAt.IsZero() || !now.After(e.State.PaidAt.Add(m.p.ExitGrace)) {
		return nil, false
	}
	v.inherited = slices.Delete(v.inherited, i, i+1)
	v.quote.Paid += e.State.Paid
	v.quote.Due = owed
	cmds = []Command{Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.State, Source: e.Source, At: now}}}
	o := v.order
	switch {
	case o == nil || o.status == OrderFailed:
		return append(cmds, m.newOrder(now)...), true
	case o.cancel == cancelNone:
		// The current order asks for the old amount: replace it once it is
		// dead, so the driver can never pay both.
		o.cancel = cancelNewQR
		o.token = ""
		if !o.inflight {
			o.inflight = true
			cmds = append(cmds, CancelOrder{Visit: v.id, No: o.req.MerchantOrderNo})
		}
	}
	return cmds, true
}

// cancelled continues after the current order was confirmed dead.
func (m *Machine) cancelled(now time.Time) []Command {
	o := m.v.order
	o.status = OrderFailed
	if o.cancel == cancelNewQR && !o.windowOver {
		m.v.everShown = false // the new QR gets the whole window again
		return m.newOrder(now)
	}
	return m.endVisit(now, NoticeExpired, "expired")
}

// paid authorises the exit paid by order no: one transaction records the
// payment, the exit and the barrier authorisation; then one pulse.
func (m *Machine) paid(now time.Time, no string, st OrderState, src Source) []Command {
	v := m.v
	if o := v.order; o != nil && o.req.MerchantOrderNo == no {
		o.status = OrderPaid
		o.token = ""
	}
	amount := st.Paid
	if amount <= 0 {
		amount = v.quote.Due
	}
	return m.authoriseExit(now, CausePaid, amount, no, v.by, v.reason,
		&StatusRec{No: no, State: st, Source: src, At: now})
}

func (m *Machine) authoriseExit(now time.Time, cause Cause, amount money.Fils, no, by, reason string, paid *StatusRec) []Command {
	v := m.v
	auth := m.newAuth(v.id)
	v.cause = cause
	m.state = Opening
	m.notice = NoticeNone
	if cause == CauseExitGrace {
		m.notice = NoticePaidNotExited
	}
	m.deadline = time.Time{}
	m.opening = &authorisation{auth: auth, visit: v.id, cause: cause}
	return []Command{
		Write{Visit: v.id, Rec: ExitRec{Visit: v.id, TicketID: v.ticketID, At: now, Cause: cause, Amount: amount,
			No: no, Attendant: by, Reason: reason, Override: v.override, Auth: auth, Paid: paid}},
		Pulse{Visit: v.id, Auth: auth, Cause: cause},
	}
}

func (m *Machine) newAuth(visitID int64) string {
	m.authCount++
	a := itoa(visitID) + "-" + itoa(int64(m.authCount))
	if m.p.Epoch != "" {
		a = m.p.Epoch + "-" + a
	}
	return a
}

// dropOrder abandons the visit's current order (cancelling it if PayBy
// may still take a payment for it).
func (m *Machine) dropOrder(now time.Time) []Command {
	v := m.v
	o := v.order
	if o == nil || o.status.Final() {
		return nil
	}
	no := o.req.MerchantOrderNo
	cmds := []Command{Write{Visit: v.id, Rec: AbandonRec{No: no, At: now}}}
	if o.created || o.failed || o.inflight {
		cmds = append(cmds, CancelOrder{Visit: v.id, No: no})
	}
	v.order = nil
	return cmds
}

func (m *Machine) endVisit(now time.Time, n NoticeKind, outcome string) []Command {
	v := m.v
	cmds := m.dropOrder(now)
	cmds = append(cmds, Write{Visit: v.id, Rec: VisitEndRec{Visit: v.id, At: now, Outcome: outcome}})
	m.v = nil
	if n == NoticeNone {
		return append(cmds, m.toIdle(now)...)
	}
	m.toNotice(now, n)
	return cmds
}

func (m *Machine) tick(now time.Time) []Command {
	switch m.state {
	case Notice, Open:
		if !m.deadline.IsZero() && !now.Before(m.deadline) {
			return m.toIdle(now)
		}
	case FeeDue:
		v := m.v
		o := v.order
		if o == nil || !o.created || o.status == OrderFailed {
			if !now.Before(v.payBy) {
				n := NoticeExpired
				if m.health.PayBy == DeviceDown {
					n = NoticePaymentUnavailable
				}
				return m.endVisit(now, n, "expired")
			}
		} else if !o.windowOver && !now.Before(v.payBy) {
			// Window over: query first; the answer decides (paid: open;
			// created: cancel).
			o.windowOver = true
			if o.cancel == cancelNewQR {
				o.cancel = cancelWindow
			}
			if !o.inflight {
				o.inflight = true
				return []Command{GetOrder{Visit: v.id, No: o.req.MerchantOrderNo}}
			}
			return nil
		} else if o.windowOver && !now.Before(o.req.Expire) {
			// PayBy did not answer until the order's own expiry: stop
			// holding the driver; the reconciler settles the order.
			return m.endVisit(now, NoticePaymentUnavailable, "unresolved")
		}
		if o == nil || o.inflight {
			return nil
		}
		switch {
		case o.cancel != cancelNone && !now.Before(o.retryAt):
			o.inflight = true
			return []Command{CancelOrder{Visit: v.id, No: o.req.MerchantOrderNo}}
		case o.failed && !o.created && !now.Before(o.retryAt):
			// A create failed: resolve it by querying the stored number.
			o.inflight = true
			return []Command{GetOrder{Visit: v.id, No: o.req.MerchantOrderNo}}
		case o.created && o.status == OrderCreated && !now.Before(o.pollAt):
			// Polls keep a fixed cadence from when they are sent, so the
			// round trip does not stretch it.
			o.inflight = true
			o.pollAt = o.pollAt.Add(m.p.PollInterval)
			if !o.pollAt.After(now) {
				o.pollAt = now.Add(m.p.PollInterval)
			}
			return []Command{GetOrder{Visit: v.id, No: o.req.MerchantOrderNo}}
		}
	}
	return nil
}

func (m *Machine) barrierDone(now time.Time, e BarrierDone) []Command {
	a := m.opening
	if a == nil || a.auth != e.Auth || m.state != Opening {
		return nil
	}
	if e.Err != nil {
		m.health.Relay = DeviceDown
		m.v = nil
		m.fault(NoticeBarrierFault)
		return []Command{Write{Visit: e.Visit, Rec: PulseRec{Auth: e.Auth, At: now, OK: false, Err: e.Err.Error()}}}
	}
	m.health.Relay = DeviceOK
	m.state = Open
	m.deadline = now.Add(m.p.OpenedFor)
	if m.p.HaveLoop {
		m.deadline = now.Add(6 * m.p.OpenedFor)
	}
	return []Command{Write{Visit: e.Visit, Rec: PulseRec{Auth: e.Auth, At: now, OK: true}}}
}

func (m *Machine) device(now time.Time, e DeviceChanged) []Command {
	switch e.Device {
	case DevScanner:
		m.health.Scanner = e.State
	case DevRelay:
		m.health.Relay = e.State
	case DevLoop:
		m.health.Loop = e.State
		return nil
	case DevPayBy:
		m.health.PayBy = e.State
		return nil
	}
	if e.State != DeviceDown {
		return nil
	}
	switch m.state {
	case Idle, Notice, Open:
		m.v = nil
		m.fault(NoticeDeviceFault)
	case Checking, FeeDue:
		if e.Device != DevRelay {
			return nil // the visit can finish without the scanner
		}
		cmds := m.endVisit(now, NoticeDeviceFault, "fault")
		m.fault(NoticeDeviceFault)
		return cmds
	}
	// Opening: the pulse's own result decides. Fault, Closed: unchanged.
	return nil
}

func (m *Machine) fault(n NoticeKind) {
	m.state = Fault
	m.notice = n
	m.deadline = time.Time{}
}

func (m *Machine) toNotice(now time.Time, n NoticeKind) {
	m.state = Notice
	m.notice = n
	m.deadline = now.Add(m.p.NoticeFor)
}

func (m *Machine) toIdle(now time.Time) []Command {
	m.v = nil
	m.notice = NoticeNone
	m.deadline = time.Time{}
	m.called = false
	switch {
	case m.health.Relay == DeviceDown || m.health.Scanner == DeviceDown:
		m.fault(NoticeDeviceFault)
	case !m.laneOpen:
		m.state = Closed
		m.notice = NoticeLaneClosed
	default:
		m.state = Idle
	}
	return nil
}

func (m *Machine) refuse(err error) []Command {
	m.err = err
	return nil
}

func (m *Machine) act(now time.Time, a Action) []Command {
	attendant, reason := "", ""
	switch x := a.(type) {
	case Cancel:
		switch m.state {
		case Checking, FeeDue:
			return m.endVisit(now, NoticeNone, "cancelled")
		case Notice:
			return m.toIdle(now)
		}
		return m.refuse(ErrNotNow)
	case CallAttendant:
		m.called = true
		return nil
	case NewQR:
		if m.state != FeeDue || m.v.order == nil {
			return m.refuse(ErrNotNow)
		}
		o := m.v.order
		switch {
		case o.status == OrderFailed:
			return m.newOrder(now)
		case o.created && o.status == OrderCreated && o.cancel == cancelNone && !o.windowOver:
			// Cancel first: a new order exists only once the old one is
			// dead, so the driver can never pay both.
			o.cancel = cancelNewQR
			o.token = ""
			if o.inflight {
				return nil // the answer in flight triggers the cancel
			}
			o.inflight = true
			return []Command{CancelOrder{Visit: m.v.id, No: o.req.MerchantOrderNo}}
		}
		return m.refuse(ErrNotNow)
	case ManualOpen:
		attendant, reason = x.Attendant, x.Reason
	case Exempt:
		attendant, reason = x.Attendant, x.Reason
	case UnableToCollect:
		attendant, reason = x.Attendant, x.Reason
	case Override:
		attendant, reason = x.Attendant, x.Reason
	case LostTicket:
		attendant, reason = x.Attendant, "-"
	case EnterCode:
		attendant, reason = x.Attendant, "-"
	case CloseLane:
		// optional, but recorded when the attendant gave one
		attendant, reason = x.Attendant, x.Reason
		if strings.TrimSpace(reason) == "" {
			reason = "-"
		}
	case OpenLane:
		attendant, reason = x.Attendant, "-"
	case ClearFault:
		attendant, reason = x.Attendant, "-"
	case Validate:
		attendant, reason = x.Attendant, "-"
	default:
		return m.refuse(ErrNotNow)
	}
	if strings.TrimSpace(attendant) == "" {
		return m.refuse(ErrAttendantRequired)
	}
	if strings.TrimSpace(reason) == "" {
		return m.refuse(ErrReasonRequired)
	}
	if reason == "-" {
		reason = ""
	}
	audit := func(visit int64, no string, amount money.Fils) Command {
		return Write{Visit: visit, Rec: AuditRec{At: now, Attendant: attendant, Action: a.actionName(), Reason: reason,
			Visit: visit, No: no, Amount: amount}}
	}
	m.called = false
	switch x := a.(type) {
	case ManualOpen:
		if m.state == Opening {
			return m.refuse(ErrNotNow)
		}
		if m.state == FeeDue {
			return m.attendantExit(now, CauseManual, attendant, reason, audit)
		}
		var cmds []Command
		var visitID int64
		if m.state == Checking {
			visitID = m.v.id
			cmds = append(cmds, Write{Visit: visitID, Rec: VisitEndRec{Visit: visitID, At: now, Outcome: "manual_open"}})
		}
		auth := m.newAuth(visitID)
		m.v = nil
		m.state = Opening
		m.notice = NoticeNone
		m.deadline = time.Time{}
		m.opening = &authorisation{auth: auth, visit: visitID, cause: CauseManual}
		return append(cmds,
			Write{Visit: visitID, Rec: OpenRec{Auth: auth, At: now, Cause: CauseManual, Attendant: attendant, Reason: reason, Visit: visitID}},
			audit(visitID, "", 0),
			Pulse{Visit: visitID, Auth: auth, Cause: CauseManual})
	case Exempt:
		if m.state != FeeDue {
			return m.refuse(ErrNotNow)
		}
		return m.attendantExit(now, CauseExempt, attendant, reason, audit)
	case UnableToCollect:
		if m.state != FeeDue {
			return m.refuse(ErrNotNow)
		}
		return m.attendantExit(now, CauseUnableToCollect, attendant, reason, audit)
	case Override:
		// The attendant may need a minute to walk over: the ticket refused
		// as already used can be overridden while its notice shows, or
		// afterwards in Idle for overrideWindow, unless another ticket was
		// scanned since.
		r := m.refused
		showing := m.state == Notice && m.notice == NoticeAlreadyUsed
		if r == nil || !(showing || m.state == Idle && !now.After(m.refusedAt.Add(overrideWindow))) {
			return m.refuse(ErrNotNow)
		}
		m.refused = nil
		cmds := m.begin(now, &visit{code: r.code, override: true, by: attendant, reason: reason})
		return append([]Command{audit(m.v.id, "", 0)}, cmds...)
	case LostTicket, EnterCode:
		switch m.state {
		case Idle, Notice, Open:
		default:
			return m.refuse(ErrNotNow)
		}
		v := &visit{lost: true, by: attendant}
		if ec, ok := x.(EnterCode); ok {
			v = &visit{code: strings.TrimSpace(ec.Code)}
		}
		cmds := m.begin(now, v)
		return append([]Command{audit(v.id, "", 0)}, cmds...)
	case CloseLane:
		m.laneOpen = false
		if m.state == Idle || m.state == Notice {
			m.toIdle(now)
		}
		return []Command{audit(0, "", 0)}
	case OpenLane:
		m.laneOpen = true
		if m.state == Closed {
			m.toIdle(now)
		}
		return []Command{audit(0, "", 0)}
	case Validate:
		v := m.v
		if m.state != FeeDue || !v.checked || v.lost || strings.TrimSpace(x.Code) == "" {
			return m.refuse(ErrNotNow)
		}
		return []Command{audit(v.id, "", 0), m.checkValidation(strings.TrimSpace(x.Code), attendant)}
	case ClearFault:
		if m.state != Fault {
			return m.refuse(ErrNotNow)
		}
		if m.health.Relay == DeviceDown || m.health.Scanner == DeviceDown {
			return m.refuse(ErrNotNow)
		}
		if m.health.Ledger == DeviceDown {
			m.health.Ledger = DeviceUnknown
		}
		m.toIdle(now)
		return []Command{audit(0, "", 0)}
	}
	return m.refuse(ErrNotNow)
}

// attendantExit ends the visit in FeeDue with an attendant's exit: any open
// order is abandoned and cancelled first (a payment that still wins the race
// shows up as "paid, not exited").
func (m *Machine) attendantExit(now time.Time, cause Cause, by, reason string, audit func(int64, string, money.Fils) Command) []Command {
	v := m.v
	v.by, v.reason = by, reason
	cmds := m.dropOrder(now)
	cmds = append(cmds, audit(v.id, "", v.quote.Due))
	return append(cmds, m.authoriseExit(now, cause, v.quote.Due, "", by, reason, nil)...)
}

// Snapshot renders the machine's visible state at now.
func (m *Machine) Snapshot(now time.Time) Snapshot {
	s := Snapshot{
		At: now, Site: m.p.Site, Lane: m.p.Lane,
		State: m.state, Notice: m.notice, Deadline: m.deadline,
		Health: m.health, LaneOpen: m.laneOpen, AttendantCalled: m.called, Ready: true,
	}
	if m.state == Opening || m.state == Open {
		if a := m.opening; a != nil {
			s.Cause = a.cause
		}
	}
	v := m.v
	if v == nil {
		return s
	}
	s.Visit = v.id
	if v.checked {
		t := v.ticket
		if v.lost {
			t.Lost = true
			t.Format = "lost"
		}
		s.Ticket = &t
		s.Fee, s.Paid, s.Due = v.quote.Fee, v.quote.Paid, v.quote.Due
		s.Free, s.Table = v.quote.Free, v.quote.Table
		s.Validation = v.validationName
		s.Steps = append([]string(nil), v.quote.Steps...)
		// The stay that was priced: the fee does not move while the
		// driver pays, so neither does the stay shown beside it.
		if v.quote.Stay > 0 {
			s.Stay = v.quote.Stay
		} else if !t.Entry.IsZero() {
			s.Stay = now.Sub(t.Entry)
		}
	}
	if m.state == FeeDue {
		s.Deadline = v.payBy
		if o := v.order; o != nil {
			s.MerchantOrderNo = o.req.MerchantOrderNo
			s.Attempt = v.attempt
			s.TokenURL = o.token
		}
	}
	return s
}
