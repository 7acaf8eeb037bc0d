package lane

import (
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
)

// act steps a driver or attendant action: one function per action. A
// refusal is left in m.err (see Act).
func (m *Machine) act(now time.Time, a Action) []Command {
	switch x := a.(type) {
	case Cancel:
		return m.cancel(now)
	case NewQR:
		return m.newQR(now)
	case CallAttendant:
		m.called = true
		return nil
	case Receipt:
		return m.receipt(x)
	case ManualOpen:
		return m.manualOpen(now, x)
	case Exempt:
		return m.exempt(now, x)
	case UnableToCollect:
		return m.unableToCollect(now, x)
	case Override:
		return m.override(now, x)
	case LostTicket:
		return m.lostTicket(now, x)
	case EnterCode:
		return m.enterCode(now, x)
	case CloseLane:
		return m.closeLane(now, x)
	case OpenLane:
		return m.openLane(now, x)
	case Validate:
		return m.validate(now, x)
	case ClearFault:
		return m.clearFault(now, x)
	}
	// Refunds, resolutions and shifts are the runner's (ledger and PayBy
	// only); the machine has no part in them.
	return m.refuse(ErrNotNow)
}

func (m *Machine) refuse(err error) []Command {
	m.err = err
	return nil
}

// cancel: the driver gives up.
func (m *Machine) cancel(now time.Time) []Command {
	switch m.state {
	case Checking, FeeDue:
		return m.endVisit(now, NoticeNone, "", "cancelled")
	case Notice:
		m.becomeIdle()
		return nil
	}
	return m.refuse(ErrNotNow)
}

// newQR: the driver asks for a new QR, after a failed payment or to
// replace the one shown.
func (m *Machine) newQR(now time.Time) []Command {
	if m.state != FeeDue || m.v.order == nil {
		return m.refuse(ErrNotNow)
	}
	switch o := m.v.order; o.phase {
	case orderDead:
		return m.newOrder(now)
	case orderShown:
		return m.replace(o)
	}
	return m.refuse(ErrNotNow)
}

// attendance is an attendant action that passed the checks every
// attendant action needs: who, and why where a reason is required.
type attendance struct {
	now        time.Time
	action     Action
	by, reason string
}

// audit is the ledger's audit row for the action, about visit (0: none).
func (s attendance) audit(visit int64, amount money.Fils) Command {
	return Write{Visit: visit, Rec: AuditRec{At: s.now, Attendant: s.by, Action: s.action.actionName(),
		Reason: s.reason, Visit: visit, Amount: amount}}
}

// attend checks attendant action a by attendant by, with reason (required
// if needReason). Any attendant action that passes answers the driver's
// call; ok is false when the action is refused.
func (m *Machine) attend(now time.Time, a Action, by, reason string, needReason bool) (s attendance, ok bool) {
	if strings.TrimSpace(by) == "" {
		m.refuse(ErrAttendantRequired)
		return s, false
	}
	if needReason && strings.TrimSpace(reason) == "" {
		m.refuse(ErrReasonRequired)
		return s, false
	}
	if strings.TrimSpace(reason) == "" || reason == "-" {
		reason = "" // a blank reason, or a lone "-", is recorded as none
	}
	m.called = false
	return attendance{now: now, action: a, by: by, reason: reason}, true
}

// manualOpen pulses the barrier once; a visit in progress ends with it.
func (m *Machine) manualOpen(now time.Time, x ManualOpen) []Command {
	s, ok := m.attend(now, x, x.Attendant, x.Reason, true)
	switch {
	case !ok:
		return nil
	case m.state == Opening:
		return m.refuse(ErrNotNow)
	case m.state == FeeDue:
		return m.attendantExit(now, CauseManual, s)
	}
	var cmds []Command
	var visitID int64
	if m.state == Checking {
		visitID = m.v.id
		cmds = append(cmds, Write{Visit: visitID, Rec: VisitEndRec{Visit: visitID, At: now, Outcome: "manual_open"}})
	}
	auth := m.becomeOpening(nil, visitID, CauseManual)
	return append(cmds,
		Write{Visit: visitID, Rec: OpenRec{Auth: auth, At: now, Cause: CauseManual, Attendant: s.by, Reason: s.reason, Visit: visitID}},
		s.audit(visitID, 0),
		Pulse{Visit: visitID, Auth: auth, Cause: CauseManual})
}

// exempt lets the visit whose fee is due out free.
func (m *Machine) exempt(now time.Time, x Exempt) []Command {
	s, ok := m.attend(now, x, x.Attendant, x.Reason, true)
	if !ok {
		return nil
	}
	if m.state != FeeDue {
		return m.refuse(ErrNotNow)
	}
	return m.attendantExit(now, CauseExempt, s)
}

// unableToCollect lets the visit whose fee is due out while payment is
// impossible; the amount owed is recorded.
func (m *Machine) unableToCollect(now time.Time, x UnableToCollect) []Command {
	s, ok := m.attend(now, x, x.Attendant, x.Reason, true)
	if !ok {
		return nil
	}
	if m.state != FeeDue {
		return m.refuse(ErrNotNow)
	}
	return m.attendantExit(now, CauseUnableToCollect, s)
}

// attendantExit ends the visit in FeeDue with an attendant's exit: any open
// order is abandoned and cancelled first (a payment that still wins the race
// shows up as "paid, not exited").
func (m *Machine) attendantExit(now time.Time, cause Cause, s attendance) []Command {
	v := m.v
	v.by, v.reason = s.by, s.reason
	cmds := m.dropOrder(now)
	cmds = append(cmds, s.audit(v.id, v.quote.Due))
	return append(cmds, m.authoriseExit(now, cause, v.quote.Due, "", s.by, s.reason, nil)...)
}

// override serves again the ticket last refused as already used.
func (m *Machine) override(now time.Time, x Override) []Command {
	s, ok := m.attend(now, x, x.Attendant, x.Reason, true)
	if !ok {
		return nil
	}
	// The attendant may need a minute to walk over: the ticket refused
	// as already used can be overridden while its notice shows, or
	// afterwards in Idle for overrideWindow, unless another ticket was
	// scanned since.
	r := m.refused
	showing := m.state == Notice && m.notice == NoticeAlreadyUsed
	recent := m.state == Idle && !now.After(m.refusedAt.Add(overrideWindow))
	if r == nil || !(showing || recent) {
		return m.refuse(ErrNotNow)
	}
	m.refused = nil
	cmds := m.becomeChecking(&visit{code: r.code, override: true, by: s.by, reason: s.reason})
	return append([]Command{s.audit(m.v.id, 0)}, cmds...)
}

// lostTicket serves a vehicle without a ticket at the lost-ticket fee.
func (m *Machine) lostTicket(now time.Time, x LostTicket) []Command {
	s, ok := m.attend(now, x, x.Attendant, "", false)
	if !ok {
		return nil
	}
	return m.serve(s, &visit{lost: true, by: s.by})
}

// enterCode serves a ticket code the attendant typed in.
func (m *Machine) enterCode(now time.Time, x EnterCode) []Command {
	s, ok := m.attend(now, x, x.Attendant, "", false)
	if !ok {
		return nil
	}
	return m.serve(s, &visit{code: strings.TrimSpace(x.Code)})
}

// serve starts visit v for an attendant, when no vehicle is being served.
func (m *Machine) serve(s attendance, v *visit) []Command {
	switch m.state {
	case Idle, Notice, Open:
	default:
		return m.refuse(ErrNotNow)
	}
	cmds := m.becomeChecking(v)
	return append([]Command{s.audit(v.id, 0)}, cmds...)
}

// closeLane stops serving tickets once no vehicle is being served.
func (m *Machine) closeLane(now time.Time, x CloseLane) []Command {
	s, ok := m.attend(now, x, x.Attendant, x.Reason, false) // optional, but recorded when given
	if !ok {
		return nil
	}
	m.laneOpen = false
	if m.state == Idle || m.state == Notice {
		m.becomeIdle()
	}
	return []Command{s.audit(0, 0)}
}

// openLane resumes serving tickets.
func (m *Machine) openLane(now time.Time, x OpenLane) []Command {
	s, ok := m.attend(now, x, x.Attendant, "", false)
	if !ok {
		return nil
	}
	m.laneOpen = true
	if m.state == Closed {
		m.becomeIdle()
	}
	return []Command{s.audit(0, 0)}
}

// validate applies a validation code to the visit whose fee is due.
func (m *Machine) validate(now time.Time, x Validate) []Command {
	s, ok := m.attend(now, x, x.Attendant, "", false)
	if !ok {
		return nil
	}
	v := m.v
	code := strings.TrimSpace(x.Code)
	if m.state != FeeDue || !v.checked || v.lost || code == "" {
		return m.refuse(ErrNotNow)
	}
	return []Command{s.audit(v.id, 0), m.checkValidation(code, s.by)}
}

// clearFault leaves Fault once the relay and the scanner are back.
func (m *Machine) clearFault(now time.Time, x ClearFault) []Command {
	s, ok := m.attend(now, x, x.Attendant, "", false)
	if !ok {
		return nil
	}
	if m.state != Fault || m.health.Relay == DeviceDown || m.health.Scanner == DeviceDown {
		return m.refuse(ErrNotNow)
	}
	if m.health.Ledger == DeviceDown {
		m.health.Ledger = DeviceUnknown
	}
	m.becomeIdle()
	return []Command{s.audit(0, 0)}
}
