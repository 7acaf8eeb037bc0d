package lane

import (
	"slices"
	"strings"
	"time"
)

// orderPhase is where the PayBy order of a visit whose fee is due stands.
// Its number is written to the ledger before placeOrder is sent (the Write
// comes first in the same batch), so no phase waits for the store.
//
//	creating    → shown (CREATED), unconfirmed (no answer)
//	unconfirmed → creating (getOrder: PayBy has it, or never saw it)
//	shown       → closing (window over), replacing (new QR, validation, top-up)
//	closing     → cancelling (still CREATED), or dead and the visit ends
//	replacing   → cancelling (window over), or dead and the next attempt
//	cancelling  → dead, and the visit ends
//
// A payment takes any phase to paid; FAILURE (or "not found" once
// cancelled) takes it to dead.
type orderPhase int

const (
	// orderCreating: placeOrder was sent; no answer yet.
	orderCreating orderPhase = iota
	// orderUnconfirmed: placeOrder failed, so PayBy may or may not hold
	// the order. getOrder on the stored number decides (retried every
	// RetryInterval); if PayBy has it or has never seen it, the identical
	// placeOrder is sent again (idempotent at PayBy) to get the QR.
	orderUnconfirmed
	// orderShown: CREATED; the QR is offered and getOrder polls it.
	orderShown
	// orderClosing: the payment window is over; the next getOrder decides
	// (paid: open; created: cancel).
	orderClosing
	// orderReplacing: cancelled so that a new QR can follow (new QR, a
	// validation, a top-up). The next attempt is created only once this
	// one is dead, so the driver can never pay both.
	orderReplacing
	// orderCancelling: cancelled because the window is over; the visit
	// ends once the order is dead.
	orderCancelling
	// orderPaid: paid; the exit is authorised.
	orderPaid
	// orderDead: FAILURE (cancelled, expired or failed). It cannot be
	// paid any more: "new QR" starts the next attempt. Answers still in
	// flight for it are recorded, and a payment is still honoured.
	orderDead
)

var orderPhaseNames = [...]string{"creating", "unconfirmed", "shown", "closing", "replacing", "cancelling", "paid", "dead"}

func (p orderPhase) String() string {
	if p >= 0 && int(p) < len(orderPhaseNames) {
		return orderPhaseNames[p]
	}
	return "order_phase(" + itoa(int64(p)) + ")"
}

type order struct {
	req   OrderRequest
	phase orderPhase
	// busy: a placeOrder, getOrder or cancelOrder for this order is
	// outstanding. One at a time: the next is sent when it answers.
	busy    bool
	token   string    // the QR's tokenUrl ("": none to show)
	pollAt  time.Time // next getOrder while shown or closing
	retryAt time.Time // next try after a failure (unconfirmed, replacing, cancelling)
	// failingSince is when PayBy calls for this order started failing
	// (zero: the last one answered).
	failingSince time.Time
}

// payable reports whether PayBy holds the order as CREATED, so that it may
// still be paid.
func (o *order) payable() bool {
	switch o.phase {
	case orderShown, orderClosing, orderReplacing, orderCancelling:
		return true
	}
	return false
}

// status is the order's PayBy status as the lane last knew it.
func (o *order) status() OrderStatus {
	switch {
	case o.payable():
		return OrderCreated
	case o.phase == orderPaid:
		return OrderPaid
	case o.phase == orderDead:
		return OrderFailed
	}
	return OrderUnknown
}

// alertAfter is how long PayBy may fail to answer while a QR is shown
// before the driver is told to call the attendant (PayBy's acceptance
// rules: alert a human after 10 s of failures).
const alertAfter = 10 * time.Second

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

// newOrder starts the visit's next attempt: its number is stored, then
// placed.
func (m *Machine) newOrder(now time.Time) []Command {
	v := m.v
	v.attempt++
	no := v.key + "-" + itoa(int64(v.attempt))
	req := OrderRequest{MerchantOrderNo: no, Amount: v.quote.Due,
		Expire: now.Add(m.p.PayWindow + m.p.ExpiryMargin), Serial: v.ticket.Serial}
	v.order = &order{req: req, phase: orderCreating, busy: true}
	v.orders = append(v.orders, no)
	if v.payBy.IsZero() || !v.everShown {
		v.payBy = now.Add(m.p.PayWindow)
	}
	m.show(NoticeNone, "")
	return []Command{
		Write{Visit: v.id, Rec: OrderRec{Visit: v.id, TicketID: v.ticketID, Key: v.key, No: no,
			Attempt: v.attempt, Amount: req.Amount, At: now, Expire: req.Expire, VATRate: v.quote.VATRate}},
		CreateOrder{Visit: v.id, Req: req},
	}
}

// nextTick is when the visit whose fee is due next needs a tick: the end of
// the payment window (once it is over, the order's own expiry), or the
// order's next call.
func (v *visit) nextTick() time.Time {
	o := v.order
	if o == nil {
		return v.payBy
	}
	t := v.payBy
	if o.phase == orderClosing || o.phase == orderCancelling {
		t = o.req.Expire
	}
	if o.busy {
		return t
	}
	switch o.phase {
	case orderUnconfirmed, orderReplacing, orderCancelling:
		return earliest(t, o.retryAt)
	case orderShown, orderClosing:
		return earliest(t, o.pollAt)
	}
	return t
}

// earliest is the earlier of a and b, ignoring zero times.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

// tickFeeDue ends the payment window, or sends the order's next call.
func (m *Machine) tickFeeDue(now time.Time) []Command {
	v := m.v
	o := v.order
	over := !now.Before(v.payBy)
	switch {
	case o == nil || !o.payable():
		if over {
			if m.health.PayBy == DeviceDown {
				return m.endVisit(now, NoticePaymentUnavailable, "payby_unreachable", "expired")
			}
			return m.endVisit(now, NoticeExpired, "pay_window_over", "expired")
		}
	case o.phase == orderShown || o.phase == orderReplacing:
		if over {
			// Window over: query first; the answer decides (paid: open;
			// created: cancel).
			if o.phase == orderShown {
				o.phase = orderClosing
			} else {
				o.phase = orderCancelling
			}
			return m.call(o, GetOrder{Visit: v.id, No: o.req.MerchantOrderNo})
		}
	default: // closing, cancelling
		if !now.Before(o.req.Expire) {
			// PayBy did not answer until the order's own expiry: stop
			// holding the driver; the reconciler settles the order.
			return m.endVisit(now, NoticePaymentUnavailable, "payby_no_answer", "unresolved")
		}
	}
	if o == nil || o.busy {
		return nil
	}
	return m.nextCall(now, o)
}

// nextCall sends the idle order's next call once it is due.
func (m *Machine) nextCall(now time.Time, o *order) []Command {
	no := o.req.MerchantOrderNo
	switch o.phase {
	case orderReplacing, orderCancelling:
		if !now.Before(o.retryAt) {
			return m.call(o, CancelOrder{Visit: m.v.id, No: no})
		}
	case orderUnconfirmed:
		if !now.Before(o.retryAt) {
			// A create failed: resolve it by querying the stored number.
			return m.call(o, GetOrder{Visit: m.v.id, No: no})
		}
	case orderShown, orderClosing:
		if !now.Before(o.pollAt) {
			// Polls keep a fixed cadence from when they are sent, so the
			// round trip does not stretch it.
			o.pollAt = o.pollAt.Add(m.p.PollInterval)
			if !o.pollAt.After(now) {
				o.pollAt = now.Add(m.p.PollInterval)
			}
			return m.call(o, GetOrder{Visit: m.v.id, No: no})
		}
	}
	return nil
}

// call sends c, a call about order o, unless one is outstanding: one at a
// time (the answer in flight decides what comes next).
func (m *Machine) call(o *order, c Command) []Command {
	if o.busy {
		return nil
	}
	o.busy = true
	return []Command{c}
}

// live reports whether the order no belongs to the visit being served and
// that visit is waiting for payment.
func (m *Machine) live(visitID int64, no string) bool {
	v := m.v
	if m.state != FeeDue || v == nil || (visitID != 0 && visitID != v.id) {
		return false
	}
	return slices.Contains(v.orders, no)
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
	o.busy = false
	if e.Err != nil {
		m.health.PayBy = DeviceDown
		if o.phase == orderCreating {
			o.phase = orderUnconfirmed
		}
		o.retryAt = now.Add(m.p.RetryInterval)
		m.show(NoticePaymentUnavailable, "payby_unreachable")
		return nil
	}
	m.health.PayBy = DeviceOK
	rec := Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.Res.State, Source: SourceCreate, At: now}}
	switch e.Res.State.Status {
	case OrderPaid:
		return m.paid(now, e.No, e.Res.State, SourceCreate)
	case OrderFailed:
		o.phase = orderDead
		o.token = ""
		m.show(NoticePaymentFailed, "payby_order_failed")
		return []Command{rec}
	}
	if o.phase == orderDead {
		return []Command{rec} // an answer overtaken by FAILURE: recorded only
	}
	if o.phase == orderCreating || o.phase == orderUnconfirmed {
		o.phase = orderShown
	}
	o.token = e.Res.TokenURL
	o.pollAt = now.Add(m.p.PollInterval)
	if m.notice == NoticePaymentUnavailable || m.notice == NoticePaymentFailed {
		m.show(NoticeNone, "")
	}
	if !v.everShown {
		// The driver gets the whole window from the moment the QR shows.
		v.everShown = true
		v.payBy = now.Add(m.p.PayWindow)
	}
	return []Command{rec}
}

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
		o.busy = false
	}
	if e.Err != nil {
		m.unanswered(now, o)
		return nil
	}
	m.health.PayBy = DeviceOK
	o.failingSince = time.Time{}
	if m.notice == NoticePaymentUnavailable && o.payable() {
		m.show(NoticeNone, "")
	}
	var cmds []Command
	placing := o.phase == orderCreating || o.phase == orderUnconfirmed
	resolving := placing && e.State.Status == OrderNotFound // the stored number was never created: create it now
	if e.State.Status != o.status() && e.State.Status != OrderUnknown && !resolving {
		cmds = append(cmds, Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.State, Source: e.Source, At: now}})
	}
	switch e.State.Status {
	case OrderPaid:
		return m.paid(now, e.No, e.State, e.Source) // the paid exit records the status
	case OrderCreated, OrderNotFound:
		return append(cmds, m.orderOpen(now, o, e)...)
	case OrderFailed:
		switch o.phase {
		case orderClosing, orderReplacing, orderCancelling:
			return append(cmds, m.cancelled(now)...)
		}
		o.phase = orderDead
		o.token = ""
		m.show(NoticePaymentFailed, "payby_order_failed") // "new QR" or cancel
	}
	return cmds
}

// orderOpen continues after PayBy said the current order is CREATED or
// that it does not know it.
func (m *Machine) orderOpen(now time.Time, o *order, e OrderUpdate) []Command {
	v := m.v
	switch o.phase {
	case orderCreating, orderUnconfirmed:
		if e.Source == SourceNotification {
			return nil
		}
		// Resolving a create that failed: the number is stored; send the
		// identical create again (idempotent at PayBy) to get the QR.
		o.phase = orderCreating
		return m.call(o, CreateOrder{Visit: v.id, Req: o.req})
	case orderShown:
		if o.pollAt.IsZero() {
			o.pollAt = now.Add(m.p.PollInterval)
		}
	case orderReplacing, orderCancelling, orderClosing:
		if e.State.Status == OrderNotFound && o.phase != orderClosing {
			return m.cancelled(now) // PayBy has no such order: it is dead
		}
		if e.Source == SourceNotification {
			return nil
		}
		if o.phase == orderClosing {
			o.phase = orderCancelling
		}
		return m.call(o, CancelOrder{Visit: v.id, No: e.No})
	}
	return nil // dead: FAILURE is final, so a CREATED answer is stale
}

// unanswered: a getOrder or cancelOrder for the current order failed.
func (m *Machine) unanswered(now time.Time, o *order) {
	m.health.PayBy = DeviceDown
	if o.failingSince.IsZero() {
		o.failingSince = now
	}
	switch o.phase {
	case orderUnconfirmed, orderReplacing:
		m.show(NoticePaymentUnavailable, "payby_unreachable") // no QR to pay while PayBy is away
	default:
		if o.payable() && now.Sub(o.failingSince) >= alertAfter {
			m.show(NoticePaymentUnavailable, "payby_unanswered") // the QR stays: it may still be paid
		}
	}
	switch o.phase {
	case orderUnconfirmed, orderReplacing, orderCancelling:
		o.retryAt = now.Add(m.p.RetryInterval)
	default:
		o.pollAt = now.Add(m.p.PollInterval)
	}
}

// replace cancels the current order so that a new one can follow, once
// it is dead (after the window, the visit ends instead). Its QR goes at
// once.
func (m *Machine) replace(o *order) []Command {
	if o.phase == orderClosing {
		o.phase = orderCancelling
	} else {
		o.phase = orderReplacing
	}
	o.token = ""
	// With a call outstanding, its answer sends the cancel (orderOpen).
	return m.call(o, CancelOrder{Visit: m.v.id, No: o.req.MerchantOrderNo})
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
	v.used += e.State.Paid
	v.quote.Due = owed
	cmds = []Command{Write{Visit: v.id, Rec: StatusRec{No: e.No, State: e.State, Source: e.Source, At: now}}}
	o := v.order
	switch {
	case o == nil || o.phase == orderDead:
		return append(cmds, m.newOrder(now)...), true
	case o.phase == orderCreating || o.phase == orderUnconfirmed:
		// No QR of the old amount was ever shown: leave that number to
		// the reconciler and go on at once with the new amount.
		cmds = append(cmds, m.dropOrder(now)...)
		return append(cmds, m.newOrder(now)...), true
	case o.phase == orderShown || o.phase == orderClosing:
		// The current order asks for the old amount: replace it once it
		// is dead, so the driver can never pay both.
		return append(cmds, m.replace(o)...), true
	}
	return cmds, true // already being cancelled
}

// cancelled continues once the current order is dead: a replaced order
// makes way for the next attempt; otherwise the visit ends.
func (m *Machine) cancelled(now time.Time) []Command {
	o := m.v.order
	replaced := o.phase == orderReplacing
	o.phase = orderDead
	if replaced {
		m.v.everShown = false // the new QR gets the whole window again
		return m.newOrder(now)
	}
	return m.endVisit(now, NoticeExpired, "pay_window_over", "expired")
}

// paid authorises the exit paid by order no: one transaction records the
// payment, the exit and the barrier authorisation; then one pulse.
func (m *Machine) paid(now time.Time, no string, st OrderState, src Source) []Command {
	v := m.v
	if o := v.order; o != nil && o.req.MerchantOrderNo == no {
		o.phase = orderPaid
		o.token = ""
	}
	amount := st.Paid
	if amount <= 0 {
		amount = v.quote.Due
	}
	// The exit also uses the ticket's earlier payments that no exit used
	// (a top-up): its amount is all it used.
	amount += v.used
	return m.authoriseExit(now, CausePaid, amount, no, v.by, v.reason,
		&StatusRec{No: no, State: st, Source: src, At: now})
}

// dropOrder abandons the visit's current order (cancelling it if PayBy
// may hold it).
func (m *Machine) dropOrder(now time.Time) []Command {
	v := m.v
	o := v.order
	if o == nil || o.phase == orderPaid || o.phase == orderDead {
		return nil
	}
	no := o.req.MerchantOrderNo
	cmds := []Command{Write{Visit: v.id, Rec: AbandonRec{No: no, At: now}}}
	if o.phase != orderCreating || o.busy {
		cmds = append(cmds, CancelOrder{Visit: v.id, No: no})
	}
	v.order = nil
	return cmds
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
	// Re-price only while no answer from PayBy is awaited (the driver can
	// scan again).
	quiet := o == nil || o.phase == orderDead || !o.busy && (o.phase == orderUnconfirmed || o.phase == orderShown)
	if !quiet {
		return nil
	}
	v.quote, v.validationName = e.Quote, e.Name
	cmds := []Command{Write{Visit: v.id, Rec: ValidationRec{Visit: v.id, At: now, Code: e.Code, Name: e.Name, Quote: e.Quote, Attendant: e.Attendant}}}
	switch {
	case e.Quote.Due <= 0:
		cmds = append(cmds, m.dropOrder(now)...)
		return append(cmds, m.authoriseExit(now, CauseValidation, 0, "", v.by, v.reason, nil)...)
	case o == nil || o.phase == orderDead:
		if m.p.MaxAmount > 0 && e.Quote.Due > m.p.MaxAmount {
			return cmds
		}
		return append(cmds, m.newOrder(now)...)
	case o.phase == orderUnconfirmed:
		// A create that failed (PayBy down): leave that number to the
		// reconciler and go on with the next attempt at the new price.
		cmds = append(cmds, m.dropOrder(now)...)
		return append(cmds, m.newOrder(now)...)
	case o.req.Amount == e.Quote.Due:
		return cmds
	}
	return append(cmds, m.replace(o)...)
}
