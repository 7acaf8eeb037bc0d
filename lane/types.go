package lane

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exitlane/exitlane/money"
)

// The small interfaces the lane needs, and the record types they carry.
// The ledger implements Journal itself with these types (it imports lane);
// adapters to ticket, payby and the devices live in package station, where a lane is
// assembled, so lane depends on none of them and is tested with in-memory
// fakes.

// Tickets checks codes and prices stays. It is pure: no I/O, no clock.
type Tickets interface {
	// Check parses and verifies a scanned code. A refusal is a
	// *RefusedError naming the notice to show; any other error is shown as
	// NoticeInvalid. id is the ticket's stable identity (anti-passback).
	Check(code string, now time.Time) (t TicketInfo, id string, err error)
	// Quote prices the stay of t up to now, given what was paid earlier
	// for the same ticket and when, and the validation code applied ("":
	// none).
	// An error is a fee the tariff cannot compute (it never returns a
	// wrapped or guessed amount); the lane refuses the ticket and tells
	// the attendant.
	Quote(t TicketInfo, now time.Time, paid money.Fils, lastPaid time.Time, validation string) (Quote, error)
	// Lost prices a lost ticket.
	Lost(now time.Time) Quote
	// Validation reports whether code is a validation the tariff accepts,
	// and its name.
	Validation(code string) (name string, ok bool)
}

// Quote is the price of one stay (see ticket.Quote).
type Quote struct {
	Fee, Paid, Due money.Fils
	Stay           time.Duration
	Free           FreeReason // why nothing is due ("": something is)
	Table          string
	Steps          []string
	// VATRate is the VAT rate the tariff's prices include, in hundredths
	// of a percent (500 is 5 %; 0: none); VAT is the VAT part of Due
	// (money.VATPart) and Net is Due less VAT.
	VATRate  int64
	VAT, Net money.Fils
}

// FreeReason says why nothing is due for a stay. Its text is stored in the
// ledger (visits.free) and shown in transcripts.
type FreeReason string

const (
	NotFree        FreeReason = ""
	FreeGrace      FreeReason = "grace"      // within the entry grace period
	FreeExitGrace  FreeReason = "exit_grace" // paid earlier, still within the exit grace
	FreeValidation FreeReason = "validation" // a validation covers the stay
)

// RefusedError is a ticket the lane will not serve, with the notice to show.
type RefusedError struct {
	Kind NoticeKind
	Err  error
}

func (e *RefusedError) Error() string {
	return "ticket refused (" + e.Kind.String() + "): " + e.Err.Error()
}
func (e *RefusedError) Unwrap() error { return e.Err }

// OrderStatus is a PayBy order's status as the lane sees it.
type OrderStatus int

const (
	OrderUnknown  OrderStatus = iota // no answer yet
	OrderNotFound                    // PayBy does not know the number
	OrderCreated                     // CREATED: payable, cancellable
	OrderPaid                        // PAID_SUCCESS or SETTLED, not revoked
	OrderFailed                      // FAILURE: cancelled, expired, failed, revoked
)

var orderStatusNames = [...]string{"unknown", "not_found", "created", "paid", "failed"}

func (s OrderStatus) String() string {
	if s >= 0 && int(s) < len(orderStatusNames) {
		return orderStatusNames[s]
	}
	return "order_status(" + itoa(int64(s)) + ")"
}

// Final reports whether the status can no longer change (for the lane).
func (s OrderStatus) Final() bool { return s == OrderPaid || s == OrderFailed || s == OrderNotFound }

// OrderState is what PayBy said about an order.
type OrderState struct {
	Status OrderStatus
	// PayByStatus is PayBy's own spelling (CREATED, PAID_SUCCESS, ...).
	PayByStatus string
	Paid        money.Fils
	PaidAt      time.Time
	// ServerTime is PayBy's clock if known (for Health.ClockSkew).
	ServerTime time.Time
}

// OrderRequest is one DYNQR order to create.
type OrderRequest struct {
	MerchantOrderNo string
	Amount          money.Fils
	Expire          time.Time
	Serial          string // ticket serial, for the order's description
}

// Created is PayBy's answer to a create.
type Created struct {
	TokenURL string
	State    OrderState
}

// Payments is the PayBy client as the lane uses it. Errors are transport
// or gateway failures (PayBy unavailable); business outcomes are statuses:
// a cancel refused because the order is paid returns OrderPaid and no error,
// an unknown number returns OrderNotFound.
type Payments interface {
	Create(ctx context.Context, o OrderRequest) (Created, error)
	Get(ctx context.Context, merchantOrderNo string) (OrderState, error)
	Cancel(ctx context.Context, merchantOrderNo string) (OrderState, error)
	// Refund refunds amount of a paid order under refundNo (idempotent per refundNo).
	Refund(ctx context.Context, merchantOrderNo, refundNo string, amount money.Fils, reason string) error
}

// Gate pulses the barrier open, once per call.
type Gate interface {
	Open(ctx context.Context, cause string) error
}

// Receipts prints the receipt of a visit's exit, as the journal recorded
// it (package station, over package receipt). It is optional: a lane
// without a printer has none, and a printer's failure never holds up an
// exit. Print is called off the runner's goroutine, once per receipt, and
// returns within its own timeout whatever the printer does (out of paper,
// switched off, unplugged); an error means no receipt was printed.
type Receipts interface {
	Print(ctx context.Context, visit int64) error
}

// Journal is the ledger as the lane writes it. Record writes one record in
// one transaction; the lane performs no side effect that a record
// authorises until Record returned nil.
type Journal interface {
	// Lookup returns what the ledger knows about a ticket (by its id) and
	// the attempts made under an order key.
	Lookup(ctx context.Context, ticketID, orderKey string) (History, error)
	Record(ctx context.Context, r Record) error
	// NextVisit is one more than the highest visit id ever recorded.
	NextVisit(ctx context.Context) (int64, error)
	// Reconcilable lists orders that are not final and that no running
	// visit waits for (abandoned, or from before start).
	Reconcilable(ctx context.Context, beforeVisit int64) ([]string, error)
	// Paid returns the amount paid (less refunds) on an order, for refunds.
	Paid(ctx context.Context, merchantOrderNo string) (money.Fils, error)
	// PendingRefunds lists refunds recorded as sent whose outcome was
	// never recorded (the lane stopped mid-refund).
	PendingRefunds(ctx context.Context) ([]RefundRec, error)
	Reports
}

// ErrAlreadyExited is returned by Journal.Record for an exit of a ticket
// that already exited (anti-passback) without an attendant override.
var ErrAlreadyExited = errors.New("ticket already exited")

// ErrUnknownOrder is returned by Journal.Record for a status of an order
// the ledger never stored (e.g. a notification meant for another lane);
// the runner logs and ignores it.
var ErrUnknownOrder = errors.New("unknown order")

// History is what the ledger knows about one ticket.
type History struct {
	// Exited: the ticket completed an exit (or one is being authorised).
	Exited   bool
	ExitedAt time.Time
	// Paid is the total paid (less refunds) on the ticket's orders.
	Paid          money.Fils
	LastPaid      time.Time
	LastPaidOrder string
	// Unused is the part of Paid that no exit has used yet and no
	// attendant resolved (a payment found after a crash, a late payment,
	// a payment whose pulse failed): the ticket's next exit uses it and
	// records it as its amount. UnusedOrder is the latest of those orders.
	Unused      money.Fils
	UnusedOrder string
	// Attempts is the highest attempt number used under the order key.
	Attempts int
	// Open lists the ticket's orders not known to be final (a driver who
	// gave up while PayBy could not be reached, a lane that stopped): a new
	// visit cancels them first and takes a payment that lands on them.
	Open []string
	// Offline: the site store (a site of several lanes) could not be
	// asked in time; this is what this lane's ledger alone knows.
	Offline bool
}

// Source says where an order status came from.
type Source int

const (
	SourceCreate Source = iota
	SourcePoll
	SourceNotification
	SourceReconcile
	SourceCancel
)

var sourceNames = [...]string{"create", "poll", "notification", "reconcile", "cancel"}

func (s Source) String() string {
	if s >= 0 && int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "source(" + itoa(int64(s)) + ")"
}

// Record is one ledger write.
type Record interface{ recordName() string }

type (
	// VisitRec starts a visit: a ticket was checked (accepted or refused).
	VisitRec struct {
		Visit     int64
		At        time.Time
		TicketID  string
		Ticket    TicketInfo
		Quote     Quote
		Refused   NoticeKind
		Override  bool
		Attendant string
		Reason    string
		// Offline: priced from this lane's ledger alone, the site store
		// not reached within its timeout.
		Offline bool
	}
	// VisitEndRec ends a visit that did not exit (cancelled, expired, fault).
	VisitEndRec struct {
		Visit   int64
		At      time.Time
		Outcome string
	}
	// OrderRec stores an order number before placeOrder is sent (invariant 1).
	OrderRec struct {
		Visit    int64
		TicketID string
		Key      string
		No       string
		Attempt  int
		Amount   money.Fils
		At       time.Time
		Expire   time.Time
		// VATRate is the VAT rate included in Amount (the visit's
		// Quote.VATRate): the ledger books the VAT of what is paid on the
		// order at this rate.
		VATRate int64
	}
	// StatusRec records one status seen for an order, with its source.
	StatusRec struct {
		No     string
		State  OrderState
		Source Source
		At     time.Time
	}
	// AbandonRec: no visit waits for the order any more; the reconciler
	// owns it until it is final.
	AbandonRec struct {
		No string
		At time.Time
	}
	// ExitRec authorises one exit and its one pulse (Auth), in one
	// transaction with the payment that pays for it (Paid, optional).
	ExitRec struct {
		Visit     int64
		TicketID  string
		At        time.Time
		Cause     Cause
		Amount    money.Fils // paid, waived or owed
		No        string     // the paying order, if any
		Attendant string
		Reason    string
		Override  bool
		Auth      string
		Paid      *StatusRec
		// Offline: authorised without a site-wide claim, the site store
		// not reached within its timeout (set by the site journal).
		Offline bool
		// VATRate is the VAT rate included in Amount (the visit's
		// Quote.VATRate); the ledger books the exit's VAT at it.
		VATRate int64
	}
	// OpenRec authorises one pulse that is not a visit's exit (manual open
	// with no ticket).
	OpenRec struct {
		Auth      string
		At        time.Time
		Cause     Cause
		Attendant string
		Reason    string
		Visit     int64
	}
	// PulseStartRec records that the pulse authorised under Auth is being
	// sent: the runner writes it before it calls Gate.Open (before the ON
	// frame), PulseRec after Open returned (after OFF). A crash inside the
	// hold leaves a pulse started and never completed.
	PulseStartRec struct {
		Auth string
		At   time.Time
	}
	// PulseRec records the outcome of the pulse authorised under Auth.
	PulseRec struct {
		Auth string
		At   time.Time
		OK   bool
		Err  string
	}
	// AuditRec records an attendant action.
	AuditRec struct {
		At        time.Time
		Attendant string
		Action    string
		Reason    string
		Visit     int64
		No        string
		Amount    money.Fils
	}
	// RefundRec records a refund before (RefundPending) and after it is sent.
	RefundRec struct {
		RefundNo  string
		No        string
		Amount    money.Fils
		At        time.Time
		Attendant string
		Reason    string
		Status    RefundStatus
	}
	// ResolveRec closes an unresolved entry (by order number or visit).
	ResolveRec struct {
		No        string
		Visit     int64
		At        time.Time
		Attendant string
		Reason    string
	}
	// ValidationRec records a validation applied to a visit and the new price.
	ValidationRec struct {
		Visit     int64
		At        time.Time
		Code      string
		Name      string
		Quote     Quote
		Attendant string // "" when the driver scanned it
	}
	// ShiftRec starts or ends an attendant's shift.
	ShiftRec struct {
		At        time.Time
		Attendant string
		Start     bool
	}
)

func (VisitRec) recordName() string      { return "visit" }
func (VisitEndRec) recordName() string   { return "visit_end" }
func (OrderRec) recordName() string      { return "order" }
func (StatusRec) recordName() string     { return "status" }
func (AbandonRec) recordName() string    { return "abandon" }
func (ExitRec) recordName() string       { return "exit" }
func (OpenRec) recordName() string       { return "open" }
func (PulseStartRec) recordName() string { return "pulse_start" }
func (PulseRec) recordName() string      { return "pulse" }
func (AuditRec) recordName() string      { return "audit" }
func (RefundRec) recordName() string     { return "refund" }
func (ResolveRec) recordName() string    { return "resolve" }
func (ShiftRec) recordName() string      { return "shift" }
func (ValidationRec) recordName() string { return "validation" }

// RefundStatus is where a refund stands; its text is stored in the ledger.
type RefundStatus string

const (
	RefundPending RefundStatus = "pending" // recorded, sent, outcome not yet known
	RefundDone    RefundStatus = "done"
	RefundFailed  RefundStatus = "failed"
)

// RecordName is the stable snake_case name of a record ("visit", "exit", ...).
func RecordName(r Record) string { return r.recordName() }

// Device names a device whose health the runner is told about.
type Device int

const (
	DevScanner Device = iota
	DevRelay
	DevLoop
	// DevPayBy is PayBy's reachability as seen by the background probe
	// and reconciler (the machine also learns it from its own calls).
	DevPayBy
	// DevPrinter is the optional receipt printer. It is shown to the
	// attendant and never puts the lane into Fault: a driver leaves
	// without a receipt rather than not at all.
	DevPrinter
)

func (d Device) String() string {
	switch d {
	case DevScanner:
		return "scanner"
	case DevRelay:
		return "relay"
	case DevLoop:
		return "loop"
	case DevPayBy:
		return "payby"
	case DevPrinter:
		return "printer"
	}
	return "device"
}

// Events are the inputs of Step.
type Event interface{ eventName() string }

type (
	// Scanned: the scanner read a code.
	Scanned struct{ Code string }
	// Tick: the time asked for by Machine.Next has come.
	Tick struct{}
	// Checked: the result of a CheckTicket command.
	Checked struct {
		Visit   int64
		Ticket  TicketInfo
		ID      string
		Quote   Quote
		History History
		Refused NoticeKind // NoticeNone: accepted
		Err     error      // the ledger lookup failed
	}
	// CreateResult: the result of a CreateOrder command.
	CreateResult struct {
		Visit int64
		No    string
		Res   Created
		Err   error
	}
	// OrderUpdate: a status from a poll, a cancel or a notification.
	OrderUpdate struct {
		Visit  int64 // 0 for notifications
		No     string
		State  OrderState
		Source Source
		Err    error
	}
	// BarrierDone: the result of a Pulse command.
	BarrierDone struct {
		Visit int64
		Auth  string
		Err   error
	}
	// DeviceChanged: a device went up or down.
	DeviceChanged struct {
		Device Device
		State  DeviceState
	}
	// LoopChanged: the vehicle loop's presence input changed.
	LoopChanged struct{ Present bool }
	// WriteFailed: a ledger write failed; the rest of its batch was dropped.
	WriteFailed struct {
		Visit int64
		Err   error
	}
	// Acted: a driver or attendant action (see Machine.Act).
	Acted struct{ Action Action }
	// Validated: the result of a CheckValidation command.
	Validated struct {
		Visit     int64
		Code      string
		Name      string
		OK        bool
		Quote     Quote
		Attendant string
	}
	// ReceiptDone: the result of a PrintReceipt command (Err nil:
	// printed).
	ReceiptDone struct {
		Visit int64
		Err   error
	}
)

func (Scanned) eventName() string       { return "scanned" }
func (Tick) eventName() string          { return "tick" }
func (Checked) eventName() string       { return "checked" }
func (CreateResult) eventName() string  { return "order_created" }
func (OrderUpdate) eventName() string   { return "order_update" }
func (BarrierDone) eventName() string   { return "barrier_done" }
func (DeviceChanged) eventName() string { return "device_changed" }
func (LoopChanged) eventName() string   { return "loop_changed" }
func (WriteFailed) eventName() string   { return "write_failed" }
func (Acted) eventName() string         { return "acted" }
func (Validated) eventName() string     { return "validated" }

func (ReceiptDone) eventName() string { return "receipt_done" }

// Commands are the outputs of Step, executed by the runner in order.
type Command interface{ commandName() string }

type (
	// CheckTicket: check Code (or price a lost ticket), look it up in the
	// ledger and price it; answer with Checked.
	CheckTicket struct {
		Visit int64
		Code  string
		Lost  bool
	}
	// CheckValidation: is Code a validation? If so, price the visit's
	// ticket with it; answer with Validated.
	CheckValidation struct {
		Visit     int64
		Code      string
		Ticket    TicketInfo
		Paid      money.Fils
		LastPaid  time.Time
		Attendant string
	}
	// Write: one ledger record, executed synchronously; if it fails, the
	// rest of the batch is dropped and WriteFailed is fed back.
	Write struct {
		Visit int64
		Rec   Record
	}
	// CreateOrder: placeOrder; answer with CreateResult.
	CreateOrder struct {
		Visit int64
		Req   OrderRequest
	}
	// GetOrder: getOrder; answer with OrderUpdate (SourcePoll).
	GetOrder struct {
		Visit int64
		No    string
	}
	// CancelOrder: cancelOrder; answer with OrderUpdate (SourceCancel).
	CancelOrder struct {
		Visit int64
		No    string
	}
	// Pulse: one open pulse, authorised by the Write before it; the runner
	// records it started (PulseStartRec) before it calls the Gate; answer
	// with BarrierDone.
	Pulse struct {
		Visit int64
		Auth  string
		Cause Cause
	}
	// PrintReceipt: print the receipt of the visit's exit (Receipts.Print)
	// in the background; answer with ReceiptDone. Nothing waits for it.
	PrintReceipt struct {
		Visit int64
	}
)

func (CheckTicket) commandName() string     { return "check" }
func (CheckValidation) commandName() string { return "check_validation" }
func (Write) commandName() string           { return "write" }
func (CreateOrder) commandName() string     { return "create_order" }
func (GetOrder) commandName() string        { return "get_order" }
func (CancelOrder) commandName() string     { return "cancel_order" }
func (Pulse) commandName() string           { return "pulse" }
func (PrintReceipt) commandName() string    { return "print_receipt" }

// Describe renders an event or command on one line, for logs and
// transcripts. A ticket code is shown by its site, lane and serial (see
// codeRef), never whole: its MAC stays out of every log.
func Describe(v any) string {
	switch x := v.(type) {
	case Scanned:
		return "scanned " + refCode(x.Code).String()
	case Tick:
		return "tick"
	case Checked:
		if x.Err != nil {
			return fmt.Sprintf("checked visit=%d err=%v", x.Visit, x.Err)
		}
		if x.Refused != NoticeNone {
			return fmt.Sprintf("checked visit=%d refused=%s", x.Visit, x.Refused)
		}
		return fmt.Sprintf("checked visit=%d serial=%s fee=%s paid=%s due=%s free=%q exited=%t",
			x.Visit, x.Ticket.Serial, x.Quote.Fee.Decimal(), x.Quote.Paid.Decimal(), x.Quote.Due.Decimal(), x.Quote.Free, x.History.Exited)
	case CreateResult:
		if x.Err != nil {
			return fmt.Sprintf("order_created visit=%d no=%s err=%v", x.Visit, x.No, x.Err)
		}
		return fmt.Sprintf("order_created visit=%d no=%s status=%s", x.Visit, x.No, x.Res.State.Status)
	case OrderUpdate:
		if x.Err != nil {
			return fmt.Sprintf("order_update visit=%d no=%s source=%s err=%v", x.Visit, x.No, x.Source, x.Err)
		}
		return fmt.Sprintf("order_update visit=%d no=%s source=%s status=%s", x.Visit, x.No, x.Source, x.State.Status)
	case BarrierDone:
		if x.Err != nil {
			return fmt.Sprintf("barrier_done visit=%d auth=%s err=%v", x.Visit, x.Auth, x.Err)
		}
		return fmt.Sprintf("barrier_done visit=%d auth=%s", x.Visit, x.Auth)
	case DeviceChanged:
		return fmt.Sprintf("device %s %s", x.Device, x.State)
	case LoopChanged:
		return fmt.Sprintf("loop present=%t", x.Present)
	case WriteFailed:
		return fmt.Sprintf("write_failed visit=%d err=%v", x.Visit, x.Err)
	case Acted:
		return "act " + describeAction(x.Action)
	case Validated:
		if !x.OK {
			return fmt.Sprintf("validated visit=%d %s not a validation", x.Visit, refCode(x.Code))
		}
		return fmt.Sprintf("validated visit=%d code=%s name=%q fee=%s due=%s free=%q", x.Visit, x.Code, x.Name, x.Quote.Fee.Decimal(), x.Quote.Due.Decimal(), x.Quote.Free)
	case ReceiptDone:
		if x.Err != nil {
			return fmt.Sprintf("receipt_done visit=%d err=%v", x.Visit, x.Err)
		}
		return fmt.Sprintf("receipt_done visit=%d", x.Visit)
	case PrintReceipt:
		return fmt.Sprintf("print_receipt visit=%d", x.Visit)
	case CheckValidation:
		return fmt.Sprintf("check_validation visit=%d %s", x.Visit, refCode(x.Code))
	case CheckTicket:
		if x.Lost {
			return fmt.Sprintf("check visit=%d lost", x.Visit)
		}
		return fmt.Sprintf("check visit=%d ticket=%s", x.Visit, refCode(x.Code))
	case Write:
		return "write " + describeRecord(x.Rec)
	case CreateOrder:
		return fmt.Sprintf("create_order visit=%d no=%s amount=%s expire=%s", x.Visit, x.Req.MerchantOrderNo, x.Req.Amount.Decimal(), x.Req.Expire.UTC().Format(time.RFC3339))
	case GetOrder:
		return fmt.Sprintf("get_order visit=%d no=%s", x.Visit, x.No)
	case CancelOrder:
		return fmt.Sprintf("cancel_order visit=%d no=%s", x.Visit, x.No)
	case Pulse:
		return fmt.Sprintf("pulse visit=%d auth=%s cause=%s", x.Visit, x.Auth, x.Cause)
	}
	return fmt.Sprintf("%T", v)
}

func describeAction(a Action) string {
	switch x := a.(type) {
	case ManualOpen:
		return fmt.Sprintf("manual_open by=%s reason=%q", x.Attendant, x.Reason)
	case Exempt:
		return fmt.Sprintf("exempt by=%s reason=%q", x.Attendant, x.Reason)
	case UnableToCollect:
		return fmt.Sprintf("unable_to_collect by=%s reason=%q", x.Attendant, x.Reason)
	case Override:
		return fmt.Sprintf("override by=%s reason=%q", x.Attendant, x.Reason)
	case LostTicket:
		return fmt.Sprintf("lost_ticket by=%s", x.Attendant)
	case EnterCode:
		return fmt.Sprintf("enter_code by=%s ticket=%s", x.Attendant, refCode(x.Code))
	case CloseLane:
		return fmt.Sprintf("close_lane by=%s reason=%q", x.Attendant, x.Reason)
	case OpenLane:
		return fmt.Sprintf("open_lane by=%s", x.Attendant)
	case ClearFault:
		return fmt.Sprintf("clear_fault by=%s", x.Attendant)
	case Validate:
		return fmt.Sprintf("validate by=%s code=%s", x.Attendant, x.Code)
	case Receipt:
		return fmt.Sprintf("receipt visit=%d", x.Visit)
	}
	return a.actionName()
}

func describeRecord(r Record) string {
	switch x := r.(type) {
	case VisitRec:
		if x.Refused != NoticeNone {
			return fmt.Sprintf("visit %d refused=%s", x.Visit, x.Refused)
		}
		return fmt.Sprintf("visit %d ticket=%s due=%s override=%t", x.Visit, x.TicketID, x.Quote.Due.Decimal(), x.Override)
	case VisitEndRec:
		return fmt.Sprintf("visit_end %d outcome=%s", x.Visit, x.Outcome)
	case OrderRec:
		return fmt.Sprintf("order %s visit=%d amount=%s", x.No, x.Visit, x.Amount.Decimal())
	case StatusRec:
		return fmt.Sprintf("status %s %s source=%s", x.No, x.State.Status, x.Source)
	case AbandonRec:
		return fmt.Sprintf("abandon %s", x.No)
	case ExitRec:
		s := fmt.Sprintf("exit visit=%d cause=%s amount=%s auth=%s", x.Visit, x.Cause, x.Amount.Decimal(), x.Auth)
		if x.No != "" {
			s += " order=" + x.No
		}
		if x.Paid != nil {
			s += " paid_by=" + x.Paid.Source.String()
		}
		if x.Attendant != "" {
			s += fmt.Sprintf(" by=%s reason=%q", x.Attendant, x.Reason)
		}
		return s
	case OpenRec:
		return fmt.Sprintf("open cause=%s auth=%s by=%s reason=%q", x.Cause, x.Auth, x.Attendant, x.Reason)
	case PulseStartRec:
		return fmt.Sprintf("pulse_start %s", x.Auth)
	case PulseRec:
		return fmt.Sprintf("pulse %s ok=%t", x.Auth, x.OK)
	case AuditRec:
		if x.Attendant == SystemActor {
			return fmt.Sprintf("audit %s by=%s reason=%q", x.Action, x.Attendant, x.Reason)
		}
		return fmt.Sprintf("audit %s by=%s", x.Action, x.Attendant)
	case ValidationRec:
		return fmt.Sprintf("validation visit=%d code=%s due=%s", x.Visit, x.Code, x.Quote.Due.Decimal())
	}
	return r.recordName()
}
