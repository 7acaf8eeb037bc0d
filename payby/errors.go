package payby

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Callers test them with errors.Is.
var (
	// ErrAmbiguous means a create, cancel, revoke or refund may or may not
	// have taken effect, and the client could not find out within its
	// budget (see Client for how it tries). Query the order before acting.
	ErrAmbiguous = errors.New("payby: outcome unknown")
	// ErrTransport wraps network failures, timeouts and HTTP statuses
	// other than 200.
	ErrTransport = errors.New("payby: transport failure")
	// ErrBadSignature means a response or notification carried a sign
	// header that does not verify with PayBy's public key.
	ErrBadSignature = errors.New("payby: bad signature")
	// ErrNoSignature means a response or notification had no sign header
	// where one is required.
	ErrNoSignature = errors.New("payby: missing signature")
	// ErrMalformed means a signed body could not be decoded, or held an
	// amount with a third decimal.
	ErrMalformed = errors.New("payby: malformed body")
	// ErrOrderPaid is returned (with the order) when the client learned by
	// querying that an order it was cancelling had been paid; IsAlreadyPaid
	// reports it like PayBy's own 62001/62003.
	ErrOrderPaid = errors.New("payby: order already paid")
)

// Error is a response whose head is not SUCCESS/"0": a business failure
// (apply status FAIL), a rejected merchant signature (ERROR), or a gateway
// error.
type Error struct {
	Op          string // the client method, e.g. "create order"
	ApplyStatus string // SUCCESS, FAIL or ERROR
	Code        string // e.g. "62016"
	Msg         string // e.g. "MERCHANT_ORDER_NO_EXIST"
	TraceCode   string // PayBy's trace id; quote it to PayBy support
	HTTPStatus  int
	// Unsigned is true for a gateway error that came without a signature
	// (allowed only for the codes PayBy's SDK allows).
	Unsigned bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("payby: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s %s (%s", e.Code, e.Msg, e.ApplyStatus)
	if e.TraceCode != "" {
		fmt.Fprintf(&b, ", trace %s", e.TraceCode)
	}
	b.WriteString(")")
	return b.String()
}

// Is lets errors.Is(err, ErrAmbiguous) hold for the gateway's "retry later
// or query" codes 500 and 504: the request may have been processed.
func (e *Error) Is(target error) bool {
	return target == ErrAmbiguous && (e.Code == "500" || e.Code == "504")
}

func apiCode(err error) (string, *Error) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e
	}
	return "", nil
}

func hasCode(err error, codes ...string) bool {
	c, e := apiCode(err)
	if e == nil {
		return false
	}
	for _, want := range codes {
		if c == want {
			return true
		}
	}
	return false
}

// IsAlreadyPaid reports whether err says the order is already paid or
// settled (62001 ORDER_PAID, 62003 ORDER_SETTLED, or ErrOrderPaid). A cancel
// that fails this way lost a race with the payment: treat the order as paid.
func IsAlreadyPaid(err error) bool {
	return errors.Is(err, ErrOrderPaid) || hasCode(err, "62001", "62003")
}

// IsOrderFailed reports 62002 ORDER_FAILURE: the order is closed unpaid.
func IsOrderFailed(err error) bool { return hasCode(err, "62002") }

// IsNotFound reports that the order, refund or token URL does not exist:
// 62004, 62035, 62007 (refund) or 62082 (token URL gone or expired).
func IsNotFound(err error) bool { return hasCode(err, "62004", "62035", "62007", "62082") }

// IsDuplicateMismatch reports 62016 (or 62017 for refunds): the number is
// already used with other parameters.
func IsDuplicateMismatch(err error) bool { return hasCode(err, "62016", "62017") }

// IsRateLimited reports 402 RATE_LIMIT_REJECT.
func IsRateLimited(err error) bool { return hasCode(err, "402") }

// IsClockSkew reports that PayBy refused the requestTime as more than 15
// minutes from its clock (REQUESTTIME_TOO_EARLY / REQUESTTIME_TOO_LATER):
// fix the lane's NTP.
func IsClockSkew(err error) bool {
	_, e := apiCode(err)
	return e != nil && (e.Msg == "REQUESTTIME_TOO_EARLY" || e.Msg == "REQUESTTIME_TOO_LATER")
}

// IsSignatureRejected reports apply status ERROR: PayBy could not verify
// the merchant's signature (wrong key pair configured or uploaded).
func IsSignatureRejected(err error) bool {
	_, e := apiCode(err)
	return e != nil && strings.EqualFold(e.ApplyStatus, "ERROR")
}
