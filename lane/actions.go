package lane

import (
	"context"
	"errors"
	"time"

	"github.com/exitlane/exitlane/money"
)

// Console is what a screen (kiosk, admin, simulation panel) needs from a
// running lane. *Runner implements it; UI tests can fake it.
type Console interface {
	// Snapshot returns the latest snapshot.
	Snapshot() Snapshot
	// Subscribe returns a channel that receives the latest snapshot after
	// every change (a slow reader skips intermediate snapshots, never the
	// last one) and a cancel func that closes it.
	Subscribe() (<-chan Snapshot, func())
	// Do submits a driver or attendant action and returns once the lane
	// accepted or refused it (ErrNotNow, ErrReasonRequired, ...). Refund
	// returns once PayBy answered.
	Do(ctx context.Context, a Action) error
	Reports
}

// Action is a driver or attendant action submitted with Console.Do.
type Action interface{ actionName() string }

// Errors returned by Do.
var (
	// ErrNotNow: the action does not apply in the lane's current state
	// (e.g. "new QR" with no order shown).
	ErrNotNow = errors.New("action not possible now")
	// ErrReasonRequired: manual opens, exemptions, unable-to-collect exits,
	// overrides, refunds and resolutions need a reason.
	ErrReasonRequired = errors.New("a reason is required")
	// ErrAttendantRequired: attendant actions need the attendant's id.
	ErrAttendantRequired = errors.New("an attendant id is required")
	// ErrStopped: the runner has stopped.
	ErrStopped = errors.New("lane stopped")
	// ErrAmount: a refund amount is not positive or exceeds what was paid.
	ErrAmount = errors.New("invalid amount")
	// ErrNotFound: no such order (refund, resolve).
	ErrNotFound = errors.New("not found")
)

// Driver actions (from the kiosk's touch screen).
type (
	// Cancel: the driver gives up; any open order is cancelled.
	Cancel struct{}
	// NewQR: cancel the shown order and show a new one (attempt + 1).
	NewQR struct{}
	// CallAttendant raises Snapshot.AttendantCalled.
	CallAttendant struct{}
	// Receipt asks for the receipt of the paid exit on screen (Visit is
	// Snapshot.Visit): printed in the background, its progress in
	// Snapshot.Receipt. Refused with ErrNotNow when no receipt is
	// offered (no printer, not a paid exit, another visit, already
	// printed or printing).
	Receipt struct{ Visit int64 }
)

// Attendant actions (from the PIN-protected admin screen). Each carries the
// attendant's id, written to the ledger's audit with the action.
type (
	// ManualOpen pulses the barrier once, with a mandatory reason. With a
	// visit in progress, the visit ends with cause "manual"; any open order
	// is cancelled.
	ManualOpen struct{ Attendant, Reason string }
	// LostTicket starts a visit charged the tariff's lost-ticket fee (the
	// driver pays by QR like any fee).
	LostTicket struct{ Attendant, Reason string }
	// Exempt lets the current visit out free, with a mandatory reason.
	Exempt struct{ Attendant, Reason string }
	// UnableToCollect lets the current visit out while payment is
	// impossible (PayBy down); the amount owed is recorded.
	UnableToCollect struct{ Attendant, Reason string }
	// Override lets the last refused ticket (already used) be served again,
	// with a mandatory reason: it is priced and paid like a normal visit.
	Override struct{ Attendant, Reason string }
	// EnterCode serves a ticket code typed by the attendant (unreadable
	// barcode) as if it had been scanned.
	EnterCode struct{ Attendant, Code string }
	// CloseLane stops serving tickets; OpenLane resumes.
	CloseLane struct{ Attendant, Reason string }
	OpenLane  struct{ Attendant string }
	// Refund refunds a paid order in full (Amount 0) or in part.
	Refund struct {
		Attendant       string
		MerchantOrderNo string
		Amount          money.Fils
		Reason          string
	}
	// Resolve marks a "paid, not exited" or "unable to collect" entry as
	// dealt with (credited, refunded elsewhere, collected in cash...).
	Resolve struct {
		Attendant       string
		MerchantOrderNo string
		Visit           int64 // for "unable to collect" entries without an order
		Reason          string
	}
	// Validate applies a tariff validation (by code) to the visit whose
	// fee is due, as a driver scanning a validation stamp does.
	Validate struct{ Attendant, Code string }
	// ClearFault leaves the Fault state (after the device is back).
	ClearFault struct{ Attendant string }
	// StartShift / EndShift delimit an attendant's shift for the shift report.
	StartShift struct{ Attendant string }
	EndShift   struct{ Attendant string }
)

func (Cancel) actionName() string          { return "cancel" }
func (NewQR) actionName() string           { return "new_qr" }
func (CallAttendant) actionName() string   { return "call_attendant" }
func (Receipt) actionName() string         { return "receipt" }
func (ManualOpen) actionName() string      { return "manual_open" }
func (LostTicket) actionName() string      { return "lost_ticket" }
func (Exempt) actionName() string          { return "exempt" }
func (UnableToCollect) actionName() string { return "unable_to_collect" }
func (Override) actionName() string        { return "override" }
func (EnterCode) actionName() string       { return "enter_code" }
func (CloseLane) actionName() string       { return "close_lane" }
func (OpenLane) actionName() string        { return "open_lane" }
func (Refund) actionName() string          { return "refund" }
func (Resolve) actionName() string         { return "resolve" }
func (ClearFault) actionName() string      { return "clear_fault" }
func (Validate) actionName() string        { return "validate" }
func (StartShift) actionName() string      { return "start_shift" }
func (EndShift) actionName() string        { return "end_shift" }

// ActionName is the stable snake_case name of an action, as logged and audited.
func ActionName(a Action) string { return a.actionName() }

// Reports are the read-only queries of the admin screen. They read the
// ledger directly and never block the lane.
type Reports interface {
	// Totals sums exits and money between from and to (UTC instants).
	Totals(ctx context.Context, from, to time.Time) (Totals, error)
	// Shift reports the current shift (or the last one if none is open).
	Shift(ctx context.Context) (ShiftReport, error)
	// Unresolved lists what needs an attendant: orders not final, paid
	// not exited, unable to collect.
	Unresolved(ctx context.Context) ([]Unresolved, error)
	// Transactions lists ledger events newest first, those with ID below
	// before (0: from the newest), at most limit.
	Transactions(ctx context.Context, before int64, limit int) ([]Transaction, error)
}

// Totals are counts and sums over a period.
type Totals struct {
	From, To time.Time
	Visits   int
	Exits    int
	// ByCause counts exits and sums the amounts of each cause (paid:
	// collected; unable_to_collect: owed; others: the fee waived).
	ByCause map[Cause]CauseTotal
	// Collected is what paid orders brought in (gross, VAT included);
	// VAT is the VAT it includes, the sum of each payment's VAT at the
	// rate its tariff included (money.VATPart per payment, as receipts
	// show it), and Net is Collected less VAT.
	Collected money.Fils
	VAT, Net  money.Fils
	// Refunded is what was refunded, RefundedVAT the VAT it included (at
	// the rate of the order refunded).
	Refunded    money.Fils
	RefundedVAT money.Fils
	Owed        money.Fils // unable to collect
	// Openings counts barrier openings that are no vehicle's exit (manual
	// opens with a reason).
	Openings int
}

// CauseTotal is one line of Totals.ByCause.
type CauseTotal struct {
	Count  int
	Amount money.Fils
	// VAT is the VAT included in Amount (the sum over the exits).
	VAT money.Fils
}

// ShiftReport is one attendant shift with its totals.
type ShiftReport struct {
	ID         int64
	Attendant  string
	Start, End time.Time // End zero while open
	Totals     Totals
}

// UnresolvedKind classifies an Unresolved entry.
type UnresolvedKind int

const (
	UnresolvedNotFinal        UnresolvedKind = iota // order status unknown or CREATED; being reconciled
	UnresolvedPaidNotExited                         // paid, but no exit: refund or credit
	UnresolvedUnableToCollect                       // let out without paying; amount owed
)

var unresolvedNames = [...]string{"not_final", "paid_not_exited", "unable_to_collect"}

func (k UnresolvedKind) String() string {
	if k >= 0 && int(k) < len(unresolvedNames) {
		return unresolvedNames[k]
	}
	return "unresolved(" + itoa(int64(k)) + ")"
}

// Unresolved is one entry needing an attendant.
type Unresolved struct {
	Kind            UnresolvedKind
	Visit           int64
	Ticket          string // ticket serial
	MerchantOrderNo string // "" for unable to collect without an order
	Status          string // PayBy status as last known
	Amount          money.Fils
	Since           time.Time
	// Note says more for the attendant, in words ("": nothing more): a
	// paid ticket whose pulse was interrupted may have left already.
	Note string
}

// Transaction is one line of the admin screen's history.
type Transaction struct {
	ID              int64
	At              time.Time
	Kind            string // "exit", "order", "refund", "barrier", "audit"
	Visit           int64
	Ticket          string
	Cause           Cause
	Amount          money.Fils
	MerchantOrderNo string
	Status          string
	Attendant       string
	Reason          string
}
