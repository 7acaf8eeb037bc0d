package lane

import (
	"time"

	"github.com/exitlane/exitlane/money"
)

// State is where the lane is in serving one vehicle.
//
//	Idle → Checking → FeeDue → Opening → Open → Idle
//
// plus Notice (a timed message, then Idle), Fault (until an attendant
// clears it) and Closed (lane closed by an attendant).
type State int

const (
	Idle     State = iota // waiting for a ticket ("scan your ticket")
	Checking              // a ticket was read; verifying, pricing, creating the order
	FeeDue                // fee shown; QR shown when Snapshot.TokenURL is set
	Opening               // exit recorded; the open pulse is being sent
	Open                  // barrier pulsed; waiting for the vehicle to pass
	Notice                // a timed message (Snapshot.Notice), then Idle
	Fault                 // a device or the ledger failed; attendant must clear
	Closed                // lane closed by an attendant
)

var stateNames = [...]string{"idle", "checking", "fee_due", "opening", "open", "notice", "fault", "closed"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "state(" + itoa(int64(s)) + ")"
}

// NoticeKind says which message the screen shows. The UI chooses the
// words (in English and Arabic) for each kind; the driver never reads an
// error string. NoticeNone means no message.
type NoticeKind int

const (
	NoticeNone               NoticeKind = iota
	NoticeInvalid                       // unreadable or malformed ticket
	NoticeForged                        // signature does not verify
	NoticeAlreadyUsed                   // this ticket already exited (anti-passback)
	NoticeExpired                       // payment window over, nothing paid
	NoticePaymentUnavailable            // PayBy unreachable or failing: "please call the attendant"
	NoticePaymentFailed                 // PayBy reported the payment failed
	NoticeDeviceFault                   // relay or scanner gone (Fault state)
	NoticeLaneClosed                    // lane closed by an attendant
	NoticeOtherSite                     // ticket of another car park
	NoticeFutureEntry                   // entry time in the future (clock problem)
	NoticePaidNotExited                 // a paid ticket honoured again (re-scan within exit grace)
	NoticeCancelled                     // the driver cancelled
	NoticeCallAttendant                 // the fee needs an attendant (above the QR limit, lost ticket...)
	NoticeLedgerFault                   // the ledger could not be written (Fault state)
	NoticeBarrierFault                  // the open pulse failed (Fault state)
)

var noticeNames = [...]string{
	"none", "invalid", "forged", "already_used", "expired", "payment_unavailable",
	"payment_failed", "device_fault", "lane_closed", "other_site", "future_entry",
	"paid_not_exited", "cancelled", "call_attendant", "ledger_fault", "barrier_fault",
}

func (n NoticeKind) String() string {
	if n >= 0 && int(n) < len(noticeNames) {
		return noticeNames[n]
	}
	return "notice(" + itoa(int64(n)) + ")"
}

// ReceiptState is where the receipt of the exit on screen stands.
type ReceiptState int

const (
	// ReceiptNone: no receipt to offer (no printer, not a paid exit, or
	// no exit on screen).
	ReceiptNone ReceiptState = iota
	// ReceiptAvailable: a paid exit with a printer; the driver may ask.
	ReceiptAvailable
	// ReceiptPrinting: being printed (asked for, or printer.auto_print).
	ReceiptPrinting
	// ReceiptPrinted: printed; not offered again.
	ReceiptPrinted
	// ReceiptFailed: the printer failed (out of paper, off, unplugged):
	// "No receipt: please ask the attendant". The driver may try again.
	ReceiptFailed
)

var receiptNames = [...]string{"none", "available", "printing", "printed", "failed"}

func (r ReceiptState) String() string {
	if r >= 0 && int(r) < len(receiptNames) {
		return receiptNames[r]
	}
	return "receipt(" + itoa(int64(r)) + ")"
}

// Cause is why the barrier opened (or why a visit ended without payment).
// Every pulse has exactly one ledger row naming its cause.
type Cause int

const (
	CauseNone            Cause = iota
	CausePaid                  // a PayBy order was paid
	CauseGrace                 // free: stay within the entry grace period
	CauseExitGrace             // free: paid earlier, still within exit grace
	CauseValidation            // free: a validation covers the stay
	CauseManual                // attendant manual open, with a reason
	CauseExempt                // attendant exemption of this visit, with a reason
	CauseUnableToCollect       // attendant let the car out while payment was impossible; amount owed recorded
	CauseOverride              // attendant overrode anti-passback, with a reason
)

var causeNames = [...]string{"none", "paid", "grace", "exit_grace", "validation", "manual", "exempt", "unable_to_collect", "override"}

func (c Cause) String() string {
	if c >= 0 && int(c) < len(causeNames) {
		return causeNames[c]
	}
	return "cause(" + itoa(int64(c)) + ")"
}

// DeviceState is the health of one device or service.
type DeviceState int

const (
	DeviceUnknown DeviceState = iota // not heard from yet
	DeviceOK
	DeviceDown
	DeviceAbsent // not configured (e.g. no vehicle loop)
)

var deviceNames = [...]string{"unknown", "ok", "down", "absent"}

func (d DeviceState) String() string {
	if d >= 0 && int(d) < len(deviceNames) {
		return deviceNames[d]
	}
	return "device(" + itoa(int64(d)) + ")"
}

// Health is what the lane knows about its devices and services.
type Health struct {
	Scanner DeviceState
	Relay   DeviceState
	Loop    DeviceState
	PayBy   DeviceState // reachability of the PayBy API, from the last calls
	Ledger  DeviceState
	// Printer is the receipt printer (DeviceAbsent: none configured). It
	// is for the attendant: a printer down never stops the lane.
	Printer DeviceState
	// ClockSkew is local clock minus PayBy's clock as last seen (0:
	// unknown; 1ns: known and under a second; whole seconds otherwise).
	// PayBy refuses requests more than 15 minutes off.
	ClockSkew time.Duration
	// VehiclePresent is the vehicle loop's presence input (false without a loop).
	VehiclePresent bool
}

// TicketInfo is the part of a ticket the screens show.
type TicketInfo struct {
	Serial string
	Format TicketFormat
	Site   string
	Lane   string // entry lane
	Entry  time.Time
	// Signed is false for codes that cannot be authenticated (third-party
	// unsigned format, lost ticket); the admin screen says so plainly.
	Signed bool
	Lost   bool
	// Class is the vehicle class the ticket carries ("": none, priced as
	// the tariff's default class "car").
	Class string
}

// TicketFormat is how a ticket's code was read; its text is stored in the
// ledger (visits.format).
type TicketFormat string

const (
	FormatSigned  TicketFormat = "signed"  // exitlane's signed code (EL1), authenticated
	FormatPattern TicketFormat = "pattern" // a third-party code read by a pattern, unsigned
	FormatLost    TicketFormat = "lost"    // no ticket: priced at the lost-ticket fee
)

// Snapshot is the whole visible state of the lane at one moment. The
// runner publishes a new one after every change; it is a value, safe to
// keep and read from any goroutine (slices are never shared with the runner).
type Snapshot struct {
	// Seq increases by one with every snapshot.
	Seq uint64
	// At is the runner's clock when the snapshot was taken.
	At   time.Time
	Site string
	Lane string

	State State
	// Visit identifies the vehicle being served (0: none). A screen can
	// use it to reset per-visit UI state.
	Visit int64

	// Ticket is nil when no ticket is being served.
	Ticket *TicketInfo
	// Stay is from entry to At (0 without a ticket).
	Stay time.Duration
	// Fee is the tariff's fee for the stay, Paid what was paid earlier for
	// this ticket, Due what the driver owes now.
	Fee, Paid, Due money.Fils
	// Free is why nothing is due (NotFree: something is).
	Free FreeReason
	// Validation names the validation applied to this visit ("": none).
	Validation string
	// Table names the tariff table; Steps explain the fee line by line.
	Table string
	Steps []string

	// MerchantOrderNo and TokenURL describe the open PayBy order; the QR
	// encodes TokenURL verbatim. Empty TokenURL in FeeDue: no QR (see Notice).
	MerchantOrderNo string
	Attempt         int
	TokenURL        string
	// Deadline is when the current state times out (payment window, notice,
	// opening screen); zero means none. The UI draws the countdown.
	Deadline time.Time

	// Notice is the message to show, in any state (FeeDue with
	// NoticePaymentUnavailable: fee shown, no QR, "call the attendant").
	Notice NoticeKind
	// Cause is why the barrier is opening (Opening, Open).
	Cause Cause
	// Receipt is the receipt of the exit being shown (Opening, Open): the
	// kiosk offers its "Receipt" button while it is ReceiptAvailable (or
	// ReceiptFailed, to try again) and sends Receipt{Visit: Visit}.
	Receipt ReceiptState

	Health Health
	// LaneOpen is false while an attendant has closed the lane.
	LaneOpen bool
	// AttendantCalled is set when the driver pressed "call attendant" and
	// cleared by any attendant action or the end of the visit.
	AttendantCalled bool
	// Unresolved counts ledger entries that need an attendant (orders not
	// final, paid not exited); the admin screen lists them via Reports.
	Unresolved int
	// Ready is false until the ledger is open and start-up recovery has
	// queued; scans are refused before.
	Ready bool
}

func itoa(v int64) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
