package lane

import (
	"slices"
	"strings"
	"time"
)

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

// payable reports whether PayBy holds the order as CREATED.
func (o *order) payable() bool { return o.created && !o.status.Final() }

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
	v.quote, v.validationName = e.Quote, e.Name
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

func (v *visit) nextTick() time.Time {
	var t time.Time
	earliest := func(c time.Time) {
		if !c.IsZero() && (t.IsZero() || c.Before(t)) {
			t = c
		}
	}
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
	return t
}

func (m *Machine) tickFeeDue(now time.Time) []Command {
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
	return nil
}
