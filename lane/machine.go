// Package lane is the exit lane: a pure state machine (Machine.Step) that
// decides, and a Runner, the one goroutine that owns the machine, executes
// its commands (ledger writes, PayBy calls, the barrier pulse) under
// timeouts, feeds their results back as events and publishes snapshots to
// the screens.
//
// The machine reads no clock and does no I/O; the small interfaces it needs
// (Tickets, Payments, Gate, Journal) are declared here and satisfied by
// the ledger (Journal) and the adapters in package station.
package lane

import (
	"errors"
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
	// HavePrinter: a receipt printer is configured (the runner sets it
	// when Deps.Receipts is given); a paid exit then offers a receipt.
	// AutoPrint prints it without the driver asking (printer.auto_print).
	HavePrinter, AutoPrint bool
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
//
// Every change of state goes through a become… helper that sets all that
// the new state needs (as etcd-io/raft's becomeFollower and becomeLeader
// do). The PayBy order of a visit whose fee is due is in order.go, the
// driver's and attendants' actions in act.go.
type Machine struct {
	p      Params
	state  State
	next   int64
	v      *visit
	notice NoticeKind
	// why is the reason for the notice, for the log (the driver never
	// reads it); shown counts notices shown, so each is logged once.
	why      string
	shown    uint64
	deadline time.Time
	// held: the Fault interrupted what only an attendant can settle (a
	// pulse, a payment, the ledger). Otherwise the lane leaves Fault by
	// itself once the relay and the scanner are back.
	held     bool
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
	// used is what earlier payments of the ticket, not used by any exit,
	// add to this visit's exit (History.Unused, and payments found on
	// inherited orders): the exit records it in its amount.
	used      money.Fils
	payBy     time.Time // end of the payment window
	everShown bool

	validationName string
	// receipt is the receipt of the visit's exit (Opening, Open).
	receipt ReceiptState
}

// NewMachine returns a machine in Idle with the given parameters.
func NewMachine(p Params) *Machine {
	p = p.withDefaults()
	return &Machine{p: p, state: Idle, next: p.FirstVisit, laneOpen: true,
		health: Health{Loop: loopHealth(p.HaveLoop), Printer: loopHealth(p.HavePrinter)}}
}

// loopHealth is the health of an optional device before it reports:
// unknown if configured, absent if not.
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
		return m.loopChanged(e)
	case WriteFailed:
		return m.writeFailed(now, e)
	case Acted:
		return m.act(now, e.Action)
	case Validated:
		return m.validated(now, e)
	case ReceiptDone:
		return m.receiptDone(e)
	}
	return nil
}

// Next is when the machine next wants a Tick (zero: no timer).
func (m *Machine) Next() time.Time {
	switch m.state {
	case Notice, Open:
		return m.deadline
	case FeeDue:
		return m.v.nextTick()
	}
	return time.Time{}
}

// The become… helpers: one per state, each setting everything that state
// needs, so that no transition leaves a field of the previous state behind.

// show sets the notice the driver sees and why (a stable snake_case
// reason, for the log). A notice that changes counts as shown once more.
func (m *Machine) show(n NoticeKind, why string) {
	if n == NoticeNone {
		why = ""
	}
	if n == m.notice && why == m.why {
		return
	}
	m.notice, m.why = n, why
	if n != NoticeNone {
		m.shown++
	}
}

// reset leaves the current state for s: no vehicle, no notice, no timer.
func (m *Machine) reset(s State) {
	m.state = s
	m.v = nil
	m.show(NoticeNone, "")
	m.deadline = time.Time{}
	m.held = false
}

// becomeIdle ends the service of a vehicle: Idle, or Fault while the relay
// or the scanner is down, or Closed while an attendant has closed the lane.
// No vehicle is being served, so such a Fault ends by itself when the
// device is back.
func (m *Machine) becomeIdle() {
	m.called = false
	switch {
	case m.health.Relay == DeviceDown:
		m.becomeFault(NoticeDeviceFault, "relay_down", false)
	case m.health.Scanner == DeviceDown:
		m.becomeFault(NoticeDeviceFault, "scanner_down", false)
	case !m.laneOpen:
		m.reset(Closed)
		m.show(NoticeLaneClosed, "closed_by_attendant")
	default:
		m.reset(Idle)
	}
}

// becomeChecking starts serving the vehicle of visit v: its ticket is
// checked and priced.
func (m *Machine) becomeChecking(v *visit) []Command {
	m.reset(Checking)
	v.id = m.next
	m.next++
	m.v = v
	m.refused = nil // a new vehicle: an earlier refusal is no longer at the barrier
	m.called = false
	return []Command{CheckTicket{Visit: v.id, Code: v.code, Lost: v.lost}}
}

// becomeFeeDue shows the visit's fee, with notice n (for why); the
// payment window starts now (and again when the QR first shows, see
// orderCreated).
func (m *Machine) becomeFeeDue(now time.Time, n NoticeKind, why string) {
	m.state = FeeDue
	m.show(n, why)
	m.deadline = time.Time{}
	m.v.payBy = now.Add(m.p.PayWindow)
}

// becomeOpening authorises one open pulse for cause and returns its id:
// for the exit of visit v, or with v nil for an attendant's manual open
// (visitID is then the visit it ended, if any).
func (m *Machine) becomeOpening(v *visit, visitID int64, cause Cause) (auth string) {
	auth = m.newAuth(visitID)
	m.state = Opening
	m.v = v
	m.show(NoticeNone, "")
	if cause == CauseExitGrace {
		m.show(NoticePaidNotExited, "paid_within_exit_grace")
	}
	m.deadline = time.Time{}
	m.opening = &authorisation{auth: auth, cause: cause}
	return auth
}

// becomeOpen: the barrier was pulsed; the vehicle has OpenedFor to pass
// (with a loop, until it clears, or six times as long).
func (m *Machine) becomeOpen(now time.Time) {
	m.state = Open
	m.deadline = now.Add(m.p.OpenedFor)
	if m.p.HaveLoop {
		m.deadline = now.Add(6 * m.p.OpenedFor)
	}
}

// becomeNotice shows notice n (for why) for NoticeFor, then Idle.
func (m *Machine) becomeNotice(now time.Time, n NoticeKind, why string) {
	m.reset(Notice)
	m.show(n, why)
	m.deadline = now.Add(m.p.NoticeFor)
}

// becomeFault stops serving: fault n (for why). If held, only an attendant
// clears it; otherwise it also ends when the relay and the scanner are
// back (see device).
func (m *Machine) becomeFault(n NoticeKind, why string, held bool) {
	m.reset(Fault)
	m.show(n, why)
	m.held = held
}

func (m *Machine) scanned(now time.Time, code string) []Command {
	switch m.state {
	case Idle, Notice, Open:
		return m.becomeChecking(&visit{code: code})
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

func (m *Machine) checked(now time.Time, e Checked) []Command {
	v := m.v
	if m.state != Checking || v == nil || v.id != e.Visit {
		return nil // late result of an earlier visit
	}
	if e.Err != nil {
		m.health.Ledger = DeviceDown
		m.becomeFault(NoticeLedgerFault, "ledger_lookup_failed", true)
		return nil
	}
	m.health.Ledger = DeviceOK
	v.ticket, v.ticketID, v.quote, v.hist, v.checked = e.Ticket, e.ID, e.Quote, e.History, true
	v.key = OrderKey(m.p.Site, m.p.Lane, v.ticket.Serial)
	if v.lost {
		v.key = OrderKey(m.p.Site, m.p.Lane, "L"+itoa(v.id))
	}
	v.attempt = e.History.Attempts
	v.used = e.History.Unused
	rec := VisitRec{Visit: v.id, At: now, TicketID: e.ID, Ticket: e.Ticket, Quote: e.Quote,
		Refused: e.Refused, Override: v.override, Attendant: v.by, Reason: v.reason, Offline: e.History.Offline}
	refused, why := e.Refused, "ticket_refused"
	if refused == NoticeNone && e.History.Exited && !v.override {
		refused, why = NoticeAlreadyUsed, "ticket_exited_before"
	}
	if refused != NoticeNone {
		rec.Refused = refused
		if refused == NoticeAlreadyUsed {
			m.refused, m.refusedAt = v, now
		}
		m.becomeNotice(now, refused, why)
		return []Command{Write{Visit: v.id, Rec: rec}}
	}
	cmds := []Command{Write{Visit: v.id, Rec: rec}}
	due := e.Quote.Due
	switch {
	case due <= 0:
		cause := CauseGrace
		switch e.Quote.Free {
		case FreeExitGrace:
			cause = CauseExitGrace
		case FreeValidation:
			cause = CauseValidation
		case FreeGrace:
		default:
			if e.History.Paid > 0 {
				cause = CauseExitGrace
			}
		}
		no := ""
		if e.History.Paid > 0 {
			no = e.History.LastPaidOrder
		}
		if v.used <= 0 {
			return append(cmds, m.authoriseExit(now, cause, 0, no, v.by, v.reason, nil)...)
		}
		// A payment no exit has used yet (found after a crash, late, or
		// after a failed pulse) pays this exit: it is booked as paid, with
		// the amount and the order, so exits agree with PayBy.
		cmds = append(cmds, m.authoriseExit(now, CausePaid, v.used, e.History.UnusedOrder, v.by, v.reason, nil)...)
		m.notice = NoticePaidNotExited
		return cmds
	case m.p.MaxAmount > 0 && due > m.p.MaxAmount:
		m.becomeFeeDue(now, NoticeCallAttendant, "above_max_amount")
		return cmds
	}
	m.becomeFeeDue(now, NoticeNone, "")
	// Orders of this ticket left open by an earlier visit: cancel them,
	// and count a payment that lands on one of them as this visit's.
	for _, no := range e.History.Open {
		v.orders = append(v.orders, no)
		v.inherited = append(v.inherited, no)
		cmds = append(cmds, CancelOrder{Visit: v.id, No: no})
	}
	return append(cmds, m.newOrder(now)...)
}

// authoriseExit ends the visit with its exit: one ledger row (with the
// payment, if paid) authorises one pulse.
//
// A paid exit offers a receipt when a printer is configured, and with
// AutoPrint prints it at once: after the pulse, in the background, so
// that no printer can delay or stop the exit.
func (m *Machine) authoriseExit(now time.Time, cause Cause, amount money.Fils, no, by, reason string, paid *StatusRec) []Command {
	v := m.v
	auth := m.becomeOpening(v, v.id, cause)
	cmds := []Command{
		Write{Visit: v.id, Rec: ExitRec{Visit: v.id, TicketID: v.ticketID, At: now, Cause: cause, Amount: amount,
			No: no, Attendant: by, Reason: reason, Override: v.override, Auth: auth, Paid: paid, VATRate: v.quote.VATRate}},
		Pulse{Visit: v.id, Auth: auth, Cause: cause},
	}
	if cause == CausePaid && m.p.HavePrinter {
		v.receipt = ReceiptAvailable
		if m.p.AutoPrint {
			v.receipt = ReceiptPrinting
			cmds = append(cmds, PrintReceipt{Visit: v.id})
		}
	}
	return cmds
}

// receipt: the driver asks for the receipt of the paid exit on screen.
func (m *Machine) receipt(x Receipt) []Command {
	v := m.v
	if (m.state != Opening && m.state != Open) || v == nil || v.id != x.Visit ||
		(v.receipt != ReceiptAvailable && v.receipt != ReceiptFailed) {
		return m.refuse(ErrNotNow)
	}
	v.receipt = ReceiptPrinting
	return []Command{PrintReceipt{Visit: v.id}}
}

// receiptDone records the outcome of a receipt for the screen; a
// receipt of a visit no longer shown is only logged (by the runner).
func (m *Machine) receiptDone(e ReceiptDone) []Command {
	v := m.v
	if v == nil || v.id != e.Visit || v.receipt != ReceiptPrinting {
		return nil
	}
	v.receipt = ReceiptPrinted
	if e.Err != nil {
		v.receipt = ReceiptFailed
	}
	return nil
}

func (m *Machine) newAuth(visitID int64) string {
	m.authCount++
	a := itoa(visitID) + "-" + itoa(int64(m.authCount))
	if m.p.Epoch != "" {
		a = m.p.Epoch + "-" + a
	}
	return a
}

// dropVisit records the end of the visit being served (its order
// abandoned) and lets go of it; the caller chooses the next state.
func (m *Machine) dropVisit(now time.Time, outcome string) []Command {
	v := m.v
	cmds := m.dropOrder(now)
	cmds = append(cmds, Write{Visit: v.id, Rec: VisitEndRec{Visit: v.id, At: now, Outcome: outcome}})
	m.v = nil
	return cmds
}

// endVisit ends the visit being served with notice n for why (NoticeNone:
// Idle).
func (m *Machine) endVisit(now time.Time, n NoticeKind, why, outcome string) []Command {
	cmds := m.dropVisit(now, outcome)
	if n == NoticeNone {
		m.becomeIdle()
	} else {
		m.becomeNotice(now, n, why)
	}
	return cmds
}

func (m *Machine) tick(now time.Time) []Command {
	switch m.state {
	case Notice, Open:
		if !m.deadline.IsZero() && !now.Before(m.deadline) {
			m.becomeIdle()
		}
	case FeeDue:
		return m.tickFeeDue(now)
	}
	return nil
}

func (m *Machine) barrierDone(now time.Time, e BarrierDone) []Command {
	a := m.opening
	if a == nil || a.auth != e.Auth || m.state != Opening {
		return nil
	}
	if e.Err != nil {
		// An authorised exit did not happen: the driver (who may have
		// paid) waits for an attendant, whatever the relay does next.
		m.health.Relay = DeviceDown
		m.becomeFault(NoticeBarrierFault, "pulse_failed", true)
		return []Command{Write{Visit: e.Visit, Rec: PulseRec{Auth: e.Auth, At: now, OK: false, Err: e.Err.Error()}}}
	}
	m.health.Relay = DeviceOK
	m.becomeOpen(now)
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
	case DevPrinter:
		// Shown to the attendant only: no state changes for a printer.
		m.health.Printer = e.State
		return nil
	}
	why := e.Device.String() + "_down"
	if e.State != DeviceDown {
		return m.deviceBack(now, e.Device)
	}
	switch m.state {
	case Idle, Notice, Open:
		m.becomeFault(NoticeDeviceFault, why, false)
	case Checking, FeeDue:
		if e.Device != DevRelay {
			return nil // the visit can finish without the scanner
		}
		// A driver who may have paid (a QR PayBy holds as payable) is
		// left to an attendant; a visit with nothing to pay yet is
		// simply dropped, and the driver scans again once it is back.
		held := m.v.order != nil && (m.v.order.payable() || m.v.order.phase == orderPaid)
		cmds := m.dropVisit(now, "fault")
		m.becomeFault(NoticeDeviceFault, why, held)
		return cmds
	}
	// Opening: the pulse's own result decides. Fault, Closed: unchanged.
	return nil
}

// SystemActor is the actor of audit records the lane writes by itself
// (a recovery), where attendant actions name the attendant.
const SystemActor = "system"

// deviceBack: device d is up again. A Fault that nothing held ends once
// the relay and the scanner are both back, and says so in the audit.
func (m *Machine) deviceBack(now time.Time, d Device) []Command {
	if m.state != Fault || m.held || m.health.Relay == DeviceDown || m.health.Scanner == DeviceDown {
		return nil
	}
	m.becomeIdle()
	return []Command{Write{Rec: AuditRec{At: now, Attendant: SystemActor, Action: "recovered", Reason: d.String() + " back"}}}
}

func (m *Machine) loopChanged(e LoopChanged) []Command {
	m.health.VehiclePresent = e.Present
	if m.p.HaveLoop {
		m.health.Loop = DeviceOK
	}
	if !e.Present && m.state == Open {
		m.becomeIdle()
	}
	return nil
}

// writeFailed: the ledger refused a write, so nothing it authorised
// happens; an order PayBy holds open is cancelled and the lane waits for
// an attendant.
func (m *Machine) writeFailed(now time.Time, e WriteFailed) []Command {
	// The exit was refused as already used: at a site of several lanes,
	// another lane claimed the ticket's exit between this visit's check
	// and its exit (the site store arbitrates). No pulse was sent; the
	// driver sees "already used" and the lane goes on serving (an
	// attendant may override).
	if v := m.v; errors.Is(e.Err, ErrAlreadyExited) && m.state == Opening && v != nil && v.id == e.Visit {
		m.opening = nil
		m.refused, m.refusedAt = v, now
		m.becomeNotice(now, NoticeAlreadyUsed, "ticket_exited_at_another_lane")
		return []Command{Write{Visit: v.id, Rec: VisitEndRec{Visit: v.id, At: now, Outcome: "already_used"}}}
	}
	m.health.Ledger = DeviceDown
	var cmds []Command
	if v := m.v; v != nil && v.order != nil && v.order.payable() {
		cmds = append(cmds, CancelOrder{Visit: v.id, No: v.order.req.MerchantOrderNo})
	}
	m.becomeFault(NoticeLedgerFault, "ledger_write_failed", true)
	return cmds
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
		if v := m.v; v != nil {
			s.Receipt = v.receipt
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
			t.Format = FormatLost
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
