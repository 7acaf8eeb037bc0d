package payby

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby/internal/wire"
)

// Base URLs of PayBy's environments.
const (
	ProductionURL = "https://api.payby.com/sgs/api"
	UATURL        = "https://uat.test2pay.com/sgs/api"
)

// Defaults for zero Options fields.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultRetries   = 3
	DefaultRetryBase = 250 * time.Millisecond
	DefaultRetryMax  = 2 * time.Second
	// MaxResponse bounds how much of a response body is read.
	MaxResponse = 1 << 20
)

// Field limits enforced before anything is sent. Where PayBy's document
// versions disagree the smaller limit is used (docs/payby-reference.md
// §6, §12).
const (
	MaxMerchantOrderNo = 64
	MaxSubject         = 12
	MaxReserved        = 20
	MaxNotifyURL       = 200
	MaxReason          = 64
)

// ErrInvalidRequest is returned, before anything is sent, for a request
// PayBy would refuse (bad order number, empty subject, zero amount, ...).
var ErrInvalidRequest = errors.New("payby: invalid request")

// Options configure a Client. Zero fields mean the documented defaults.
type Options struct {
	// BaseURL ends in /sgs/api: ProductionURL, UATURL or a sandbox's URL.
	BaseURL   string
	PartnerID string          // the merchant id (MID), sent as Partner-Id
	Key       *rsa.PrivateKey // the merchant's key; signs every request
	PayByKey  *rsa.PublicKey  // PayBy's key; verifies responses and notifications
	// HTTP is the client used for calls (default: a new http.Client).
	HTTP *http.Client
	// Timeout bounds each HTTP attempt (default 10 s, as PayBy's Java SDK).
	// The whole call, including retries, is bounded by the caller's ctx.
	Timeout time.Duration
	// Retries is how many more rounds a call makes after its first
	// attempt failed (default 3; negative: none). A round of a read, or of
	// a write that was rate limited, sends it again; a round of a write
	// whose outcome is unknown resolves it first (see Client).
	Retries int
	// RetryBase and RetryMax shape the capped, jittered backoff
	// (defaults 250 ms and 2 s).
	RetryBase, RetryMax time.Duration
	// Now stamps requestTime (default time.Now). PayBy refuses a
	// requestTime more than 15 minutes from its own clock.
	Now      func() time.Time
	Logger   *slog.Logger
	Language string // Content-Language (default "en")
	// Observe, if set, is told about every HTTP attempt of every call,
	// once it answered or failed, on the caller's goroutine: for metrics
	// and health (package metrics). It must be quick and must not call
	// the client.
	Observe func(Attempt)
}

// Attempt is one HTTP attempt of a call, as Options.Observe sees it. It
// carries no request or response content.
type Attempt struct {
	Op       string // the client method, e.g. "create order"
	Endpoint string // the API path, e.g. "/acquire2/placeOrder"
	N        int    // the attempt's number within its call (1: the first)
	Took     time.Duration
	// Code is "0" for a success, PayBy's code for an answer that is not
	// (e.g. "62004"), or, for a failure that carries no PayBy code,
	// "transport", "http_NNN", "bad_signature", "no_signature" or
	// "malformed" (the codes the call's WARN log line shows).
	Code string
	// Failed: PayBy could not be reached or did not answer usably (a
	// transport failure, HTTP other than 200, a response that does not
	// verify or decode, a gateway "retry later" 500/504, rate limiting
	// 402, or apply status ERROR: the merchant's signature refused). A
	// business answer such as 62004 "no such order" is not a failure:
	// PayBy is working.
	Failed bool
}

// Client calls PayBy's acquiring API. It is safe for concurrent use.
//
// Every request is signed over its exact bytes and every response is
// verified over its raw bytes before decoding. Every call goes through one
// loop (Client.do) with one retry policy (shouldRetry) and capped, jittered
// backoff. Reads (GetOrder, GetRefund, CashierInfo) are simply sent again
// after a transport failure, HTTP 5xx, gateway 500/504 or rate limit.
// Create, cancel, revoke and refund are never blindly repeated: when their
// outcome is ambiguous (timeout, 5xx, 500/504, unverifiable reply) the
// write's resolve hook decides what happens next. Create has none: it is
// re-sent with byte-identical bizContent, and PayBy answers a repeat with
// the existing order instead of a second one. Cancel and revoke query the
// order, refund queries the refund, and each is sent again only if the
// query shows that nothing happened. If the budget runs out first, the
// error satisfies errors.Is(err, ErrAmbiguous). Every failed attempt is
// logged at WARN with its endpoint, code and attempt number.
type Client struct {
	o    Options
	base string
}

// New returns a client. BaseURL, PartnerID, Key and PayByKey are required.
func New(o Options) (*Client, error) {
	var missing []string
	if o.BaseURL == "" {
		missing = append(missing, "base URL")
	}
	if o.PartnerID == "" {
		missing = append(missing, "partner id")
	}
	if o.Key == nil {
		missing = append(missing, "merchant private key")
	}
	if o.PayByKey == nil {
		missing = append(missing, "PayBy public key")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("payby: new client: missing %s", strings.Join(missing, ", "))
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{}
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	} else if o.Retries < 0 {
		o.Retries = 0
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = DefaultRetryMax
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Language == "" {
		o.Language = "en"
	}
	return &Client{o: o, base: strings.TrimRight(o.BaseURL, "/")}, nil
}

// CreateOrder is a DYNQR order to create.
type CreateOrder struct {
	// MerchantOrderNo is unique per QR shown: 1-64 of A-Z a-z 0-9 - _.
	MerchantOrderNo string
	Amount          money.Fils
	Subject         string    // at most 12 characters, e.g. "Parking fee"
	Expire          time.Time // zero: PayBy's default of 2 hours
	NotifyURL       string    // empty: no notification
	// Terminal detail: who is asking (site, lane).
	StoreID, TerminalID, MerchantName, StoreName, OperatorID string
	Reserved                                                 string // echoed back, at most 20 characters
	// LetOthersPay sends changePayer "false": once someone scans, others
	// may still pay. PayBy's default (and ours) binds the order to the
	// first person who scans it.
	LetOthersPay bool
	// OneTimePayment allows a single payment attempt only.
	OneTimePayment bool
}

// RefundRequest is a refund of (part of) a paid order.
type RefundRequest struct {
	RefundMerchantOrderNo string // unique per refund
	OriginMerchantOrderNo string
	Amount                money.Fils
	Reason                string
	Operator              string
	NotifyURL             string
}

func validOrderNo(s string) bool {
	if s == "" || len(s) > MaxMerchantOrderNo {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func invalid(op, format string, args ...any) error {
	return fmt.Errorf("payby: %s: %w: %s", op, ErrInvalidRequest, fmt.Sprintf(format, args...))
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// CreateOrder creates a DYNQR order and returns it with its tokenUrl.
//
// PayBy's answers for an order number already used: 62001/62003 (it is
// paid: IsAlreadyPaid), 62002 (closed unpaid: IsOrderFailed), 62016 (used
// with other parameters: IsDuplicateMismatch).
func (c *Client) CreateOrder(ctx context.Context, r CreateOrder) (*Created, error) {
	const op = "create order"
	switch {
	case !validOrderNo(r.MerchantOrderNo):
		return nil, invalid(op, "merchant order number %q must be 1-64 of A-Z a-z 0-9 - _", r.MerchantOrderNo)
	case r.Amount <= 0:
		return nil, invalid(op, "amount %s must be positive", r.Amount)
	case r.Subject == "" || utf8.RuneCountInString(r.Subject) > MaxSubject:
		return nil, invalid(op, "subject %q must be 1-%d characters", r.Subject, MaxSubject)
	case utf8.RuneCountInString(r.Reserved) > MaxReserved:
		return nil, invalid(op, "reserved must be at most %d characters", MaxReserved)
	case len(r.NotifyURL) > MaxNotifyURL:
		return nil, invalid(op, "notify URL longer than %d", MaxNotifyURL)
	}
	biz := wire.PlaceOrder{
		MerchantOrderNo: r.MerchantOrderNo,
		Subject:         r.Subject,
		TotalAmount:     wire.AED(r.Amount),
		PaySceneCode:    "DYNQR",
		PaySceneParams: map[string]string{
			"changePayer":    boolString(!r.LetOthersPay),
			"oneTimePayment": boolString(r.OneTimePayment),
		},
		NotifyURL: r.NotifyURL,
		Reserved:  r.Reserved,
	}
	if !r.Expire.IsZero() {
		biz.ExpiredTime = r.Expire.UnixMilli()
	}
	td := wire.TerminalDetail{OperatorID: r.OperatorID, StoreID: r.StoreID, TerminalID: r.TerminalID, MerchantName: r.MerchantName, StoreName: r.StoreName}
	if td != (wire.TerminalDetail{}) {
		biz.AccessoryContent = &wire.AccessoryContent{TerminalDetail: &td}
	}
	var out wire.OrderBody
	// No resolve hook: PayBy answers a byte-identical repeat with the
	// existing order, so re-sending resolves an ambiguous outcome
	// (docs/payby-reference.md §7).
	date, _, err := c.do(ctx, call{op: op, no: r.MerchantOrderNo, path: wire.PathPlaceOrder, biz: biz, write: true}, &out)
	if err != nil {
		return nil, err
	}
	o, err := orderFromWire(out.AcquireOrder)
	if err != nil {
		return nil, fmt.Errorf("payby: %s %s: %w", op, r.MerchantOrderNo, err)
	}
	if o.MerchantOrderNo != r.MerchantOrderNo {
		return nil, fmt.Errorf("payby: %s %s: %w: answer is for order %q", op, r.MerchantOrderNo, ErrMalformed, o.MerchantOrderNo)
	}
	o.ServerTime = date
	created := &Created{Order: *o, TokenURL: out.InterActionParams["tokenUrl"]}
	if created.TokenURL == "" && o.Status == StatusCreated {
		return nil, fmt.Errorf("payby: %s %s: %w: no tokenUrl", op, r.MerchantOrderNo, ErrMalformed)
	}
	return created, nil
}

// GetOrder queries an order by its merchant order number.
func (c *Client) GetOrder(ctx context.Context, merchantOrderNo string) (*Order, error) {
	const op = "get order"
	if !validOrderNo(merchantOrderNo) {
		return nil, invalid(op, "merchant order number %q", merchantOrderNo)
	}
	var out wire.OrderBody
	date, _, err := c.do(ctx, call{op: op, no: merchantOrderNo, path: wire.PathGetOrder, biz: wire.OrderIndex{MerchantOrderNo: merchantOrderNo}}, &out)
	if err != nil {
		return nil, err
	}
	return c.checkOrder(op, merchantOrderNo, out.AcquireOrder, date)
}

func (c *Client) checkOrder(op, no string, w *wire.AcquireOrder, date time.Time) (*Order, error) {
	o, err := orderFromWire(w)
	if err != nil {
		return nil, fmt.Errorf("payby: %s %s: %w", op, no, err)
	}
	if o.MerchantOrderNo != no {
		return nil, fmt.Errorf("payby: %s %s: %w: answer is for order %q", op, no, ErrMalformed, o.MerchantOrderNo)
	}
	o.ServerTime = date
	return o, nil
}

// CancelOrder closes an unpaid (CREATED) order; it becomes FAILURE.
//
// If the driver paid first, PayBy answers 62001/62003 and IsAlreadyPaid
// reports true: treat the order as paid. When the cancel's outcome is
// ambiguous the client queries the order: FAILURE means it is closed
// (returned with a nil error), paid returns the order with an error
// wrapping ErrOrderPaid, CREATED means the cancel did not happen and it is
// sent again.
func (c *Client) CancelOrder(ctx context.Context, merchantOrderNo string) (*Order, error) {
	return c.closeOrder(ctx, "cancel order", wire.PathCancelOrder, merchantOrderNo, func(o *Order) (done bool, err error) {
		switch {
		case o.Status == StatusFailure:
			return true, nil
		case o.Status.IsPaid():
			return true, ErrOrderPaid
		}
		return false, nil
	})
}

// RevokeOrder revokes an order whose payment state is unknown: an unpaid
// order becomes FAILURE with Revoked set, a paid one keeps its status,
// gets Revoked set, and PayBy refunds it. Ambiguous outcomes are resolved
// by querying the order for Revoked.
func (c *Client) RevokeOrder(ctx context.Context, merchantOrderNo string) (*Order, error) {
	return c.closeOrder(ctx, "revoke order", wire.PathRevokeOrder, merchantOrderNo, func(o *Order) (bool, error) {
		return o.Revoked, nil
	})
}

func (c *Client) closeOrder(ctx context.Context, op, path, no string, settled func(*Order) (bool, error)) (*Order, error) {
	if !validOrderNo(no) {
		return nil, invalid(op, "merchant order number %q", no)
	}
	var found *Order // the order as the resolving query found it
	resolve := func(ctx context.Context) (bool, error) {
		o, err := c.GetOrder(ctx, no)
		switch {
		case IsNotFound(err):
			return true, err
		case err != nil:
			return false, err
		}
		done, serr := settled(o)
		if !done {
			return false, nil
		}
		found = o
		if serr != nil {
			return true, fmt.Errorf("payby: %s %s: %w", op, no, serr)
		}
		return true, nil
	}
	var out wire.OrderBody
	date, resolved, err := c.do(ctx, call{op: op, no: no, path: path, biz: wire.OrderIndex{MerchantOrderNo: no}, write: true, resolve: resolve}, &out)
	switch {
	case resolved:
		return found, err
	case err != nil:
		return nil, err
	}
	return c.checkOrder(op, no, out.AcquireOrder, date)
}

// Refund refunds (part of) a paid order. Several partial refunds may be
// made up to the paid amount; each needs its own RefundMerchantOrderNo.
// An ambiguous outcome is resolved by GetRefund and, if the refund does
// not exist, by re-sending byte-identical bizContent.
func (c *Client) Refund(ctx context.Context, r RefundRequest) (*Refund, error) {
	const op = "refund"
	switch {
	case !validOrderNo(r.RefundMerchantOrderNo):
		return nil, invalid(op, "refund merchant order number %q", r.RefundMerchantOrderNo)
	case !validOrderNo(r.OriginMerchantOrderNo):
		return nil, invalid(op, "origin merchant order number %q", r.OriginMerchantOrderNo)
	case r.Amount <= 0:
		return nil, invalid(op, "amount %s must be positive", r.Amount)
	case utf8.RuneCountInString(r.Reason) > MaxReason:
		return nil, invalid(op, "reason longer than %d characters", MaxReason)
	}
	no := r.RefundMerchantOrderNo
	var found *Refund // the refund as the resolving query found it
	resolve := func(ctx context.Context) (bool, error) {
		ref, err := c.GetRefund(ctx, no)
		switch {
		case err == nil:
			found = ref
			return true, nil
		case IsNotFound(err):
			return false, nil // not made: send it again
		}
		return false, err
	}
	biz := wire.PlaceRefund{
		RefundMerchantOrderNo: r.RefundMerchantOrderNo,
		OriginMerchantOrderNo: r.OriginMerchantOrderNo,
		Amount:                wire.AED(r.Amount),
		OperatorName:          r.Operator,
		Reason:                r.Reason,
		NotifyURL:             r.NotifyURL,
	}
	var out wire.RefundBody
	_, resolved, err := c.do(ctx, call{op: op, no: no, path: wire.PathRefund, biz: biz, write: true, resolve: resolve}, &out)
	switch {
	case resolved:
		return found, err
	case err != nil:
		return nil, err
	}
	ref, err := refundFromWire(out.RefundOrder, out.RefundSummary)
	if err != nil {
		return nil, fmt.Errorf("payby: %s %s: %w", op, no, err)
	}
	return ref, nil
}

// GetRefund queries a refund by its refund merchant order number.
func (c *Client) GetRefund(ctx context.Context, refundMerchantOrderNo string) (*Refund, error) {
	const op = "get refund"
	if !validOrderNo(refundMerchantOrderNo) {
		return nil, invalid(op, "refund merchant order number %q", refundMerchantOrderNo)
	}
	var out wire.RefundBody
	if _, _, err := c.do(ctx, call{op: op, no: refundMerchantOrderNo, path: wire.PathGetRefund, biz: wire.RefundIndex{RefundMerchantOrderNo: refundMerchantOrderNo}}, &out); err != nil {
		return nil, err
	}
	ref, err := refundFromWire(out.RefundOrder, out.RefundSummary)
	if err != nil {
		return nil, fmt.Errorf("payby: %s %s: %w", op, refundMerchantOrderNo, err)
	}
	return ref, nil
}

// CashierInfo tells whether the QR of tokenURL has been scanned, and by
// whom (masked). PayBy answers 62082 (IsNotFound) for an unknown or
// expired token URL.
func (c *Client) CashierInfo(ctx context.Context, tokenURL string) (*Cashier, error) {
	const op = "cashier info"
	if tokenURL == "" {
		return nil, invalid(op, "empty token URL")
	}
	var out wire.CashierBody
	if _, _, err := c.do(ctx, call{op: op, path: wire.PathCashierInfo, biz: wire.CashierInfo{TokenURL: tokenURL}}, &out); err != nil {
		return nil, err
	}
	ci := &Cashier{}
	if out.Payer != nil && out.Payer.MobileNumberMask != "" {
		ci.Scanned = true
		ci.MobileNumberMask = out.Payer.MobileNumberMask
	}
	return ci, nil
}

// VerifyNotification verifies and decodes a notification with the
// client's PayBy key; see the package function VerifyNotification.
func (c *Client) VerifyNotification(rawBody []byte, sign string) (*Notification, error) {
	return VerifyNotification(c.o.PayByKey, rawBody, sign)
}
