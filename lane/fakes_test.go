package lane

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exitlane/exitlane/money"
)

// fakeTickets accepts codes "T<serial>" (or EL1-shaped codes, whose
// fourth field is the serial) resolved against a fixed entry map set by
// the test, plus "FORGED", "OTHER", "FUTURE" and anything else as
// malformed. Tariff: 15 min grace, then AED 10 per started hour; exit
// grace 10 min after a payment; lost ticket AED 150.
type fakeTickets struct {
	mu       sync.Mutex
	entries  map[string]time.Time // code -> entry
	quoteErr error                // set: every Quote fails with it
}

func (f *fakeTickets) add(code string, entry time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.entries == nil {
		f.entries = map[string]time.Time{}
	}
	f.entries[code] = entry
}

var errFake = errors.New("fake")

func (f *fakeTickets) Check(code string, now time.Time) (TicketInfo, string, error) {
	switch code {
	case "FORGED":
		return TicketInfo{}, "", &RefusedError{Kind: NoticeForged, Err: errFake}
	case "OTHER":
		return TicketInfo{}, "", &RefusedError{Kind: NoticeOtherSite, Err: errFake}
	case "FUTURE":
		return TicketInfo{}, "", &RefusedError{Kind: NoticeFutureEntry, Err: errFake}
	}
	f.mu.Lock()
	entry, ok := f.entries[code]
	f.mu.Unlock()
	if !ok {
		return TicketInfo{}, "", errFake
	}
	serial := strings.TrimPrefix(code, "T")
	if p := strings.Split(code, ":"); len(p) == 6 { // EL1:<SITE>:<LANE>:<SERIAL>:<ENTRY>:<MAC>
		serial = p[3]
	}
	return TicketInfo{Serial: serial, Format: FormatSigned, Site: "S", Lane: "E1", Entry: entry, Signed: true}, "S/E1/" + serial, nil
}

const hourly = money.Fils(1000)

// Validations: V1H takes an hour off the stay, VFREE makes it free.
func (f *fakeTickets) Validation(code string) (string, bool) {
	switch code {
	case "V1H":
		return "one hour", true
	case "VFREE":
		return "free", true
	}
	return "", false
}

func (f *fakeTickets) Quote(t TicketInfo, now time.Time, paid money.Fils, lastPaid time.Time, validation string) (Quote, error) {
	if f.quoteErr != nil {
		return Quote{}, f.quoteErr
	}
	return f.quote(t, now, paid, lastPaid, validation), nil
}

func (f *fakeTickets) quote(t TicketInfo, now time.Time, paid money.Fils, lastPaid time.Time, validation string) Quote {
	stay := now.Sub(t.Entry)
	billable := stay
	if validation == "V1H" {
		billable -= time.Hour
	}
	var fee money.Fils
	if validation == "VFREE" {
		return Quote{Stay: stay, Free: FreeValidation, Table: "fake"}
	}
	if billable > 15*time.Minute {
		fee = money.Fils(int64((billable+time.Hour-1)/time.Hour)) * hourly
	}
	q := Quote{Fee: fee, Paid: paid, Stay: stay, Table: "fake"}
	switch {
	case paid > 0 && now.Sub(lastPaid) <= 10*time.Minute:
		q.Free = FreeExitGrace
	case fee == 0:
		q.Free = FreeGrace
	default:
		q.Due = max(fee-paid, 0)
	}
	q.Steps = []string{fmt.Sprintf("stay %s", stay)}
	return q
}

func (f *fakeTickets) Lost(now time.Time) Quote {
	return Quote{Fee: 15000, Due: 15000, Table: "lost"}
}

// fakePay is PayBy in memory.
type fakePay struct {
	mu     sync.Mutex
	orders map[string]*fakeOrder
	down   bool
	calls  []string
	// payOnCancel makes the payment win the race against a cancel.
	payOnCancel bool
	refunds     map[string]money.Fils
}

type fakeOrder struct {
	amount money.Fils
	status OrderStatus
	paidAt time.Time
}

// payLatency and pulseTime make the order of async results deterministic
// in the synctest bubble (a PayBy round trip is quicker than a pulse).
const (
	payLatency = 20 * time.Millisecond
	pulseTime  = 500 * time.Millisecond
)

func (f *fakePay) call(s string) error {
	f.mu.Unlock()
	d := payLatency
	if strings.HasPrefix(s, "cancel") {
		d += 10 * time.Millisecond // distinct from a create sent at the same time
	}
	time.Sleep(d)
	f.mu.Lock()
	f.calls = append(f.calls, s)
	if f.down {
		return errors.New("payby unreachable")
	}
	return nil
}

func (f *fakePay) state(no string) OrderState {
	o := f.orders[no]
	if o == nil {
		return OrderState{Status: OrderNotFound}
	}
	st := OrderState{Status: o.status}
	if o.status == OrderPaid {
		st.Paid = o.amount
		st.PaidAt = o.paidAt
		st.PayByStatus = "PAID_SUCCESS"
	}
	return st
}

func (f *fakePay) Create(ctx context.Context, o OrderRequest) (Created, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("create " + o.MerchantOrderNo); err != nil {
		return Created{}, err
	}
	if f.orders == nil {
		f.orders = map[string]*fakeOrder{}
	}
	if f.orders[o.MerchantOrderNo] == nil {
		f.orders[o.MerchantOrderNo] = &fakeOrder{amount: o.Amount, status: OrderCreated}
	}
	st := f.state(o.MerchantOrderNo)
	c := Created{State: st}
	if st.Status == OrderCreated {
		c.TokenURL = "https://pay.example/" + o.MerchantOrderNo
	}
	return c, nil
}

func (f *fakePay) Get(ctx context.Context, no string) (OrderState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("get " + no); err != nil {
		return OrderState{}, err
	}
	return f.state(no), nil
}

func (f *fakePay) Cancel(ctx context.Context, no string) (OrderState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("cancel " + no); err != nil {
		return OrderState{}, err
	}
	o := f.orders[no]
	if o == nil {
		return OrderState{Status: OrderNotFound}, nil
	}
	if f.payOnCancel && o.status == OrderCreated {
		o.status, o.paidAt = OrderPaid, time.Now()
	}
	if o.status == OrderCreated {
		o.status = OrderFailed
	}
	return f.state(no), nil
}

func (f *fakePay) Refund(ctx context.Context, no, refundNo string, amount money.Fils, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.call("refund " + no + " " + amount.Decimal()); err != nil {
		return err
	}
	if f.refunds == nil {
		f.refunds = map[string]money.Fils{}
	}
	f.refunds[refundNo] = amount
	return nil
}

// pay simulates the driver paying order no on the phone.
func (f *fakePay) pay(no string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[no]
	if o == nil || o.status != OrderCreated {
		return false
	}
	o.status, o.paidAt = OrderPaid, time.Now()
	return true
}

func (f *fakePay) setDown(d bool) {
	f.mu.Lock()
	f.down = d
	f.mu.Unlock()
}

// fakeGate counts pulses.
type fakeGate struct {
	mu     sync.Mutex
	pulses []string
	fail   bool
}

func (g *fakeGate) Open(ctx context.Context, cause string) error {
	time.Sleep(pulseTime)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fail {
		return errors.New("relay: port gone")
	}
	g.pulses = append(g.pulses, cause)
	return nil
}

func (g *fakeGate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.pulses)
}

// fakeJournal is the ledger in memory, with the same rules the SQLite
// ledger enforces (anti-passback, one row per pulse, paid never lost).
type fakeJournal struct {
	mu      sync.Mutex
	recs    []Record
	orders  map[string]*jOrder
	exits   []*jExit
	auths   map[string]*jExit // auth -> exit (nil exit for plain opens)
	pulses  map[string]string // auth -> state
	visits  int64
	fail    bool
	failOn  string // a record name whose writes fail ("": none)
	refunds map[string]RefundRec
}

type jOrder struct {
	OrderRec
	status    OrderStatus
	paid      money.Fils
	paidAt    time.Time
	refunded  money.Fils
	abandoned bool
	exited    bool
	exitAuth  string // the exit that used this payment
	resolved  bool
}

type jExit struct {
	ExitRec
	state string
}

func newJournal() *fakeJournal {
	return &fakeJournal{orders: map[string]*jOrder{}, auths: map[string]*jExit{}, pulses: map[string]string{}, refunds: map[string]RefundRec{}}
}

func (j *fakeJournal) Lookup(ctx context.Context, ticketID, key string) (History, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var h History
	for _, e := range j.exits {
		if e.TicketID == ticketID && ticketID != "" && (e.state == "pending" || e.state == "completed") {
			h.Exited, h.ExitedAt = true, e.At
		}
	}
	for no, o := range j.orders {
		if o.Key == key && o.Attempt > h.Attempts {
			h.Attempts = o.Attempt
		}
		if o.TicketID == ticketID && (o.status == OrderUnknown || o.status == OrderCreated) {
			h.Open = append(h.Open, no)
		}
		if o.TicketID == ticketID && o.paid > 0 {
			h.Paid += o.paid - o.refunded
			if o.paidAt.After(h.LastPaid) || h.LastPaid.IsZero() {
				h.LastPaid, h.LastPaidOrder = o.paidAt, o.No
			}
		}
	}
	var lastUnused time.Time
	for _, o := range j.orders {
		if o.TicketID == ticketID && ticketID != "" && o.paid > o.refunded && !o.exited && !o.resolved {
			h.Unused += o.paid - o.refunded
			if o.paidAt.After(lastUnused) || h.UnusedOrder == "" {
				lastUnused, h.UnusedOrder = o.paidAt, o.No
			}
		}
	}
	return h, nil
}

func (j *fakeJournal) status(s StatusRec) error {
	o := j.orders[s.No]
	if o == nil {
		return fmt.Errorf("unknown order %s", s.No)
	}
	if o.status == OrderPaid {
		return nil
	}
	if s.State.Status == OrderCreated && o.status != OrderUnknown {
		return nil
	}
	o.status = s.State.Status
	if s.State.Status == OrderPaid {
		o.paid = s.State.Paid
		if o.paid == 0 {
			o.paid = o.Amount
		}
		o.paidAt = s.At
	}
	return nil
}

func (j *fakeJournal) Record(ctx context.Context, r Record) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail || j.failOn == r.recordName() {
		return errors.New("disk full")
	}
	switch x := r.(type) {
	case VisitRec:
		j.visits = max(j.visits, x.Visit)
	case OrderRec:
		if j.orders[x.No] != nil {
			return fmt.Errorf("duplicate order %s", x.No)
		}
		j.orders[x.No] = &jOrder{OrderRec: x}
	case StatusRec:
		if err := j.status(x); err != nil {
			return err
		}
	case AbandonRec:
		if o := j.orders[x.No]; o != nil {
			o.abandoned = true
		}
	case ExitRec:
		if x.Override && (x.Attendant == "" || x.Reason == "") {
			return errors.New("override without reason")
		}
		if !x.Override && x.TicketID != "" {
			for _, e := range j.exits {
				if e.TicketID == x.TicketID && !e.Override && (e.state == "pending" || e.state == "completed") {
					return ErrAlreadyExited
				}
			}
		}
		if _, dup := j.auths[x.Auth]; dup {
			return errors.New("second row for one pulse")
		}
		if x.Paid != nil {
			if err := j.status(*x.Paid); err != nil {
				return err
			}
		}
		e := &jExit{ExitRec: x, state: "pending"}
		j.exits = append(j.exits, e)
		j.auths[x.Auth] = e
		j.pulses[x.Auth] = "authorised"
		if o := j.orders[x.No]; o != nil {
			o.exited, o.exitAuth = true, x.Auth
		}
		// Earlier payments of the ticket were subtracted from this exit's
		// fee: this exit uses them too (as the SQLite ledger does).
		for _, o := range j.orders {
			if x.TicketID != "" && o.TicketID == x.TicketID && !o.exited && !o.resolved && o.paid > o.refunded {
				o.exited, o.exitAuth = true, x.Auth
			}
		}
	case OpenRec:
		if x.Attendant == "" || x.Reason == "" {
			return errors.New("open without reason")
		}
		if _, dup := j.auths[x.Auth]; dup {
			return errors.New("second row for one pulse")
		}
		j.auths[x.Auth] = nil
		j.pulses[x.Auth] = "authorised"
	case PulseStartRec:
		if _, ok := j.auths[x.Auth]; !ok {
			return errors.New("pulse start without authorisation")
		}
		if j.pulses[x.Auth] != "authorised" {
			return errors.New("pulse " + x.Auth + " already " + j.pulses[x.Auth])
		}
		j.pulses[x.Auth] = "started"
	case PulseRec:
		e, ok := j.auths[x.Auth]
		if !ok {
			return errors.New("pulse without authorisation")
		}
		j.pulses[x.Auth] = map[bool]string{true: "pulsed", false: "failed"}[x.OK]
		if e != nil {
			e.state = map[bool]string{true: "completed", false: "void"}[x.OK]
			for _, o := range j.orders {
				if !x.OK && o.exited && o.exitAuth == x.Auth {
					o.exited, o.exitAuth = false, ""
				}
			}
		}
	case RefundRec:
		prev, seen := j.refunds[x.RefundNo]
		j.refunds[x.RefundNo] = x
		if x.Status == "done" && (!seen || prev.Status != "done") {
			j.orders[x.No].refunded += x.Amount
		}
	case ResolveRec:
		if o := j.orders[x.No]; o != nil {
			o.resolved = true
		}
	}
	j.recs = append(j.recs, r)
	return nil
}

func (j *fakeJournal) NextVisit(ctx context.Context) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.visits + 1, nil
}

func (j *fakeJournal) Reconcilable(ctx context.Context, before int64) ([]string, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for no, o := range j.orders {
		if (o.status == OrderUnknown || o.status == OrderCreated) && (o.abandoned || o.Visit < before) {
			out = append(out, no)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (j *fakeJournal) Paid(ctx context.Context, no string) (money.Fils, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	o := j.orders[no]
	if o == nil {
		return 0, ErrNotFound
	}
	return o.paid - o.refunded, nil
}

func (j *fakeJournal) PendingRefunds(ctx context.Context) ([]RefundRec, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []RefundRec
	for _, r := range j.refunds {
		if r.Status == "pending" {
			out = append(out, r)
		}
	}
	return out, nil
}

func (j *fakeJournal) Totals(ctx context.Context, from, to time.Time) (Totals, error) {
	return Totals{From: from, To: to}, nil
}
func (j *fakeJournal) Shift(ctx context.Context) (ShiftReport, error) { return ShiftReport{}, nil }
func (j *fakeJournal) Transactions(ctx context.Context, before int64, limit int) ([]Transaction, error) {
	return nil, nil
}

func (j *fakeJournal) Unresolved(ctx context.Context) ([]Unresolved, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Unresolved
	for no, o := range j.orders {
		switch {
		case o.status == OrderUnknown || o.status == OrderCreated:
			out = append(out, Unresolved{Kind: UnresolvedNotFinal, MerchantOrderNo: no, Visit: o.Visit})
		case o.paid > o.refunded && !o.exited && !o.resolved:
			out = append(out, Unresolved{Kind: UnresolvedPaidNotExited, MerchantOrderNo: no, Visit: o.Visit, Amount: o.paid - o.refunded})
		}
	}
	for _, e := range j.exits {
		if e.Cause == CauseUnableToCollect && e.state != "void" {
			out = append(out, Unresolved{Kind: UnresolvedUnableToCollect, Visit: e.Visit, Amount: e.Amount})
		}
	}
	sort.Slice(out, func(a, b int) bool {
		return strconv.Itoa(int(out[a].Kind))+out[a].MerchantOrderNo < strconv.Itoa(int(out[b].Kind))+out[b].MerchantOrderNo
	})
	return out, nil
}

// authorisations counts barrier rows (every one must match one pulse).
func (j *fakeJournal) authorisations() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.auths)
}

// seedPaid records an earlier visit that paid no but whose exit was lost
// in a crash (exit "unknown").
func (j *fakeJournal) seedPaid(visit int64, ticketID, key, no string, amount money.Fils, at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.visits = max(j.visits, visit)
	j.orders[no] = &jOrder{OrderRec: OrderRec{Visit: visit, TicketID: ticketID, Key: key, No: no, Attempt: 1, Amount: amount, At: at},
		status: OrderPaid, paid: amount, paidAt: at}
}

func (j *fakeJournal) seedExit(visit int64, ticketID string, at time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.visits = max(j.visits, visit)
	j.exits = append(j.exits, &jExit{ExitRec: ExitRec{Visit: visit, TicketID: ticketID, At: at, Cause: CauseGrace, Auth: "seed"}, state: "completed"})
}

// lastExit is the last exit recorded.
func (j *fakeJournal) lastExit() ExitRec {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.exits) == 0 {
		return ExitRec{}
	}
	return j.exits[len(j.exits)-1].ExitRec
}
