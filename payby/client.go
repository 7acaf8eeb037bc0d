package payby

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
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
// versions disagree the smaller limit is used (reference §3.1, §9).
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
	// Retries is how many more attempts a read makes after a transport
	// failure, 5xx, 500/504 or rate limit, and how many times an ambiguous
	// create, cancel, revoke or refund is resolved (default 3; negative:
	// none).
	Retries int
	// RetryBase and RetryMax shape the capped, jittered backoff
	// (defaults 250 ms and 2 s).
	RetryBase, RetryMax time.Duration
	// Now stamps requestTime (default time.Now). PayBy refuses a
	// requestTime more than 15 minutes from its own clock.
	Now      func() time.Time
	Logger   *slog.Logger
	Language string // Content-Language (default "en")
}

// Client calls PayBy's acquiring API. It is safe for concurrent use.
//
// Every request is signed over its exact bytes and every response is
// verified over its raw bytes before decoding. Reads (GetOrder, GetRefund,
// CashierInfo) are retried with capped, jittered backoff. Create, cancel,
// revoke and refund are never blindly repeated: when their outcome is
// ambiguous (timeout, 5xx, unverifiable reply) the client resolves it the
// way PayBy documents: create and refund are re-sent with byte-identical
// bizContent (PayBy returns the existing order instead of a second one),
// cancel and revoke are resolved by querying the order first. If that
// still fails, the error satisfies errors.Is(err, ErrAmbiguous).
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
	bizBytes, err := wire.Marshal(biz)
	if err != nil {
		return nil, fmt.Errorf("payby: %s: %w", op, err)
	}
	var out wire.OrderBody
	// Byte-identical bizContent on every attempt: PayBy answers a repeat
	// with the existing order, so re-sending resolves an ambiguous outcome.
	date, err := c.idempotent(ctx, op, r.MerchantOrderNo, wire.PathPlaceOrder, bizBytes, &out)
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
	date, err := c.read(ctx, op, merchantOrderNo, wire.PathGetOrder, wire.OrderIndex{MerchantOrderNo: merchantOrderNo}, &out)
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
	bizBytes, err := wire.Marshal(wire.OrderIndex{MerchantOrderNo: no})
	if err != nil {
		return nil, err
	}
	var last error
	saw := false // some attempt may have taken effect
	for attempt := 0; ; attempt++ {
		var out wire.OrderBody
		body, date, err := c.attempt(ctx, op, no, path, bizBytes)
		switch {
		case err == nil:
			if err = decodeBody(body, &out); err == nil {
				return c.checkOrder(op, no, out.AcquireOrder, date)
			}
			err = fmt.Errorf("payby: %s %s: %w", op, no, err)
			saw = true
		case isAmbiguous(err):
			saw = true
		case !IsRateLimited(err):
			return nil, err
		}
		last = err
		if attempt >= c.o.Retries || c.sleep(ctx, attempt) != nil {
			return nil, conclude(op, no, attempt+1, saw, last)
		}
		// Not blindly: look first, send again only if it did not happen.
		o, gerr := c.GetOrder(ctx, no)
		if gerr != nil {
			if IsNotFound(gerr) {
				return nil, gerr
			}
			last = gerr
			continue
		}
		done, serr := settled(o)
		if done {
			if serr != nil {
				return o, fmt.Errorf("payby: %s %s: %w", op, no, serr)
			}
			return o, nil
		}
		c.o.Logger.Info("payby: resending after ambiguous outcome", "op", op, "merchant_order_no", no, "status", string(o.Status))
	}
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
	bizBytes, err := wire.Marshal(wire.PlaceRefund{
		RefundMerchantOrderNo: r.RefundMerchantOrderNo,
		OriginMerchantOrderNo: r.OriginMerchantOrderNo,
		Amount:                wire.AED(r.Amount),
		OperatorName:          r.Operator,
		Reason:                r.Reason,
		NotifyURL:             r.NotifyURL,
	})
	if err != nil {
		return nil, err
	}
	no := r.RefundMerchantOrderNo
	var last error
	saw := false
	for attempt := 0; ; attempt++ {
		var out wire.RefundBody
		body, _, err := c.attempt(ctx, op, no, wire.PathRefund, bizBytes)
		switch {
		case err == nil:
			if err = decodeBody(body, &out); err == nil {
				ref, err := refundFromWire(out.RefundOrder, out.RefundSummary)
				if err != nil {
					return nil, fmt.Errorf("payby: %s %s: %w", op, no, err)
				}
				return ref, nil
			}
			err = fmt.Errorf("payby: %s %s: %w", op, no, err)
			saw = true
		case isAmbiguous(err):
			saw = true
		case !IsRateLimited(err):
			return nil, err
		}
		last = err
		if attempt >= c.o.Retries || c.sleep(ctx, attempt) != nil {
			return nil, conclude(op, no, attempt+1, saw, last)
		}
		ref, gerr := c.GetRefund(ctx, no)
		if gerr == nil {
			return ref, nil
		}
		if !IsNotFound(gerr) {
			last = gerr
		}
	}
}

// GetRefund queries a refund by its refund merchant order number.
func (c *Client) GetRefund(ctx context.Context, refundMerchantOrderNo string) (*Refund, error) {
	const op = "get refund"
	if !validOrderNo(refundMerchantOrderNo) {
		return nil, invalid(op, "refund merchant order number %q", refundMerchantOrderNo)
	}
	var out wire.RefundBody
	if _, err := c.read(ctx, op, refundMerchantOrderNo, wire.PathGetRefund, wire.RefundIndex{RefundMerchantOrderNo: refundMerchantOrderNo}, &out); err != nil {
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
	if _, err := c.read(ctx, op, "", wire.PathCashierInfo, wire.CashierInfo{TokenURL: tokenURL}, &out); err != nil {
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

// read performs an idempotent query, retrying transient failures.
func (c *Client) read(ctx context.Context, op, no, path string, biz any, out any) (time.Time, error) {
	bizBytes, err := wire.Marshal(biz)
	if err != nil {
		return time.Time{}, err
	}
	for attempt := 0; ; attempt++ {
		body, date, err := c.attempt(ctx, op, no, path, bizBytes)
		if err == nil {
			if err := decodeBody(body, out); err != nil {
				return time.Time{}, fmt.Errorf("payby: %s %s: %w", op, no, err)
			}
			return date, nil
		}
		if !retryable(err) || attempt >= c.o.Retries {
			return time.Time{}, err
		}
		if serr := c.sleep(ctx, attempt); serr != nil {
			return time.Time{}, err
		}
	}
}

// idempotent sends bizBytes until a conclusive answer, re-sending the same
// bytes after an ambiguous outcome (create only: PayBy documents it).
func (c *Client) idempotent(ctx context.Context, op, no, path string, bizBytes []byte, out any) (time.Time, error) {
	var last error
	saw := false
	for attempt := 0; ; attempt++ {
		body, date, err := c.attempt(ctx, op, no, path, bizBytes)
		switch {
		case err == nil:
			if err = decodeBody(body, out); err == nil {
				return date, nil
			}
			err = fmt.Errorf("payby: %s %s: %w", op, no, err)
			saw = true
		case isAmbiguous(err):
			saw = true
		case !IsRateLimited(err):
			return time.Time{}, err
		}
		last = err
		if attempt >= c.o.Retries || c.sleep(ctx, attempt) != nil {
			return time.Time{}, conclude(op, no, attempt+1, saw, last)
		}
		c.o.Logger.Info("payby: re-sending identical request", "op", op, "merchant_order_no", no, "attempt", attempt+2, "err", err)
	}
}

// conclude is the error after the last attempt: ambiguous if any attempt
// may have taken effect, else the last (rate-limit) error.
func conclude(op, no string, attempts int, saw bool, last error) error {
	if saw {
		return ambiguous(op, no, attempts, last)
	}
	return last
}

type ambiguousError struct {
	op, no   string
	attempts int
	cause    error
}

func (e *ambiguousError) Error() string {
	return fmt.Sprintf("payby: %s %s: outcome unknown after %d attempt(s): %v", e.op, e.no, e.attempts, e.cause)
}

func (e *ambiguousError) Unwrap() []error { return []error{ErrAmbiguous, e.cause} }

func ambiguous(op, no string, attempts int, cause error) error {
	return &ambiguousError{op: op, no: no, attempts: attempts, cause: cause}
}

// isAmbiguous reports whether a request with this failure may have been
// processed by PayBy.
func isAmbiguous(err error) bool {
	return errors.Is(err, ErrTransport) || errors.Is(err, ErrBadSignature) ||
		errors.Is(err, ErrNoSignature) || errors.Is(err, ErrMalformed) || errors.Is(err, ErrAmbiguous)
}

// retryable reports whether a read should be tried again.
func retryable(err error) bool {
	return errors.Is(err, ErrTransport) || errors.Is(err, ErrAmbiguous) || IsRateLimited(err)
}

// sleep waits a capped, jittered backoff: a uniform pick in [d/2, d] with
// d = min(RetryMax, RetryBase·2^attempt).
func (c *Client) sleep(ctx context.Context, attempt int) error {
	d := c.o.RetryBase << min(attempt, 16)
	if d > c.o.RetryMax || d <= 0 {
		d = c.o.RetryMax
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func decodeBody(body json.RawMessage, out any) error {
	if len(body) == 0 || string(body) == "null" {
		return fmt.Errorf("%w: success without body", ErrMalformed)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// attempt makes one signed HTTP call and returns the verified body of a
// SUCCESS/"0" response, a *Error for any other head, or a wrapped sentinel.
func (c *Client) attempt(ctx context.Context, op, no, path string, bizBytes []byte) (json.RawMessage, time.Time, error) {
	start := time.Now()
	body, err := wire.Marshal(wire.Request{RequestTime: c.o.Now().UnixMilli(), BizContent: bizBytes})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("payby: %s: %w", op, err)
	}
	sign, err := wire.Sign(c.o.Key, body)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("payby: %s: %w", op, err)
	}
	actx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("payby: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set(wire.HeaderPartnerID, c.o.PartnerID)
	req.Header.Set(wire.HeaderSign, sign)
	req.Header.Set(wire.HeaderLanguage, c.o.Language)
	req.Header.Set(wire.HeaderVersion, "v1")
	res, err := c.o.HTTP.Do(req)
	if err != nil {
		c.log(op, no, start, "", "", err)
		return nil, time.Time{}, fmt.Errorf("payby: %s %s: %w: %v", op, no, ErrTransport, err)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, MaxResponse+1))
	res.Body.Close()
	if err == nil && len(raw) > MaxResponse {
		err = errors.New("response larger than 1 MiB")
	}
	if err != nil {
		c.log(op, no, start, "", "", err)
		return nil, time.Time{}, fmt.Errorf("payby: %s %s: %w: reading response: %v", op, no, ErrTransport, err)
	}
	if res.StatusCode != http.StatusOK {
		c.log(op, no, start, "", "", fmt.Errorf("HTTP %d", res.StatusCode))
		return nil, time.Time{}, fmt.Errorf("payby: %s %s: %w: HTTP %d", op, no, ErrTransport, res.StatusCode)
	}
	out, err := c.decodeResponse(raw, res.Header.Get(wire.HeaderSign), res.StatusCode)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Op = op
			c.log(op, no, start, e.Code, e.TraceCode, nil)
			return nil, time.Time{}, err
		}
		c.log(op, no, start, "", "", err)
		return nil, time.Time{}, fmt.Errorf("payby: %s %s: %w", op, no, err)
	}
	c.log(op, no, start, "0", "", nil)
	date, _ := http.ParseTime(res.Header.Get("Date"))
	return out, date, nil
}

func (c *Client) log(op, no string, start time.Time, code, trace string, err error) {
	attrs := []any{"op", op, "ms", time.Since(start).Milliseconds()}
	if no != "" {
		attrs = append(attrs, "merchant_order_no", no)
	}
	if code != "" {
		attrs = append(attrs, "code", code)
	}
	if trace != "" {
		attrs = append(attrs, "trace_code", trace)
	}
	if err != nil {
		c.o.Logger.Warn("payby call failed", append(attrs, "err", err)...)
		return
	}
	c.o.Logger.Debug("payby call", attrs...)
}

// decodeResponse verifies and decodes a raw response body. It is the
// single place where PayBy's answer is trusted.
func (c *Client) decodeResponse(raw []byte, sign string, status int) (json.RawMessage, error) {
	return DecodeResponse(c.o.PayByKey, raw, sign, status)
}

// DecodeResponse verifies a raw API response with PayBy's public key and
// returns its body for a SUCCESS/"0" head. A signed non-success head, or an
// unsigned one with a gateway code PayBy's SDK allows unsigned, becomes a
// *Error; a missing or wrong signature is ErrNoSignature or
// ErrBadSignature; a body that does not decode is ErrMalformed. Exported
// for fuzzing and for tools that replay captured responses.
func DecodeResponse(pub *rsa.PublicKey, raw []byte, sign string, httpStatus int) (json.RawMessage, error) {
	signed := strings.TrimSpace(sign) != ""
	if signed {
		if err := wire.Verify(pub, raw, sign); err != nil {
			return nil, fmt.Errorf("%w: response", ErrBadSignature)
		}
	}
	var resp wire.Response
	if err := wire.DecodeStrict(raw, &resp); err != nil {
		if !signed {
			return nil, fmt.Errorf("%w: unsigned response", ErrNoSignature)
		}
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if !signed {
		if resp.Head.OK() || !wire.UnsignedAllowed(resp.Head.Code) {
			return nil, fmt.Errorf("%w: response with code %q", ErrNoSignature, resp.Head.Code)
		}
	}
	if resp.Head.ApplyStatus == "" || resp.Head.Code == "" {
		return nil, fmt.Errorf("%w: response without head", ErrMalformed)
	}
	if !resp.Head.OK() {
		return nil, &Error{
			ApplyStatus: resp.Head.ApplyStatus,
			Code:        resp.Head.Code,
			Msg:         resp.Head.Msg,
			TraceCode:   resp.Head.TraceCode,
			HTTPStatus:  httpStatus,
			Unsigned:    !signed,
		}
	}
	return resp.Body, nil
}
