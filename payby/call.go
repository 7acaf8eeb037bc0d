package payby

// The call path: every PayBy call, read or write, goes through Client.do,
// the one retry loop, with shouldRetry as its one policy.

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/exitlane/exitlane/payby/internal/wire"
)

// call is one PayBy operation as the loop in do sends it.
type call struct {
	op   string // the client method, e.g. "create order", for errors and logs
	no   string // the order or refund number it concerns, for errors and logs
	path string // the endpoint, e.g. wire.PathPlaceOrder
	biz  any    // bizContent, marshalled once: every attempt sends the same bytes
	// write marks an operation that changes PayBy's state and may have
	// taken effect though its answer was lost: create, cancel, revoke,
	// refund. A write is never sent again blindly after such an answer.
	write bool
	// resolve finds out whether a write whose outcome is unknown took
	// effect, before it may be sent again. It reports settled when the
	// call's outcome is known (err is then the call's error, nil for
	// success); not settled with a nil error when the write did not take
	// effect, so it is sent again; not settled with an error when it could
	// not find out, so it looks again in the next round. A write without
	// resolve (create) is re-sent as it is: PayBy's idempotency for
	// byte-identical bizContent is its resolution.
	resolve func(ctx context.Context) (settled bool, err error)
}

// do runs k to a conclusive answer and decodes a success body into out,
// returning the answer's Date header. It is the client's only retry loop,
// in the shape of stripe-go's request loop: send, let shouldRetry judge
// the failure, back off, and go again within Options.Retries more rounds.
// Before a write whose last attempt may have taken effect is sent again,
// k.resolve looks (a read, through this same loop); resolved reports that
// the look, not an answer to k, concluded the call. When the rounds or
// ctx run out, a write that may have taken effect fails with ErrAmbiguous;
// anything else fails with the last error.
func (c *Client) do(ctx context.Context, k call, out any) (date time.Time, resolved bool, err error) {
	biz, err := wire.Marshal(k.biz)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("payby: %s: %w", k.op, err)
	}
	var (
		last    error
		maybe   bool // some attempt may have taken effect: conclude with ErrAmbiguous
		unknown bool // the last attempt may have taken effect and no look has said otherwise
	)
	for round := 1; ; round++ {
		if round > 1 && (round > c.o.Retries+1 || c.sleep(ctx, round-2) != nil) {
			if maybe {
				return time.Time{}, false, &ambiguousError{op: k.op, no: k.no, rounds: round - 1, cause: last}
			}
			return time.Time{}, false, last
		}
		if unknown && k.resolve != nil {
			settled, rerr := k.resolve(ctx)
			if settled {
				return time.Time{}, true, rerr
			}
			if rerr != nil {
				last = rerr // still unknown: look again next round
				continue
			}
			unknown = false
			c.o.Logger.Info("payby: re-sending: a query found it not done", "op", k.op, "merchant_order_no", k.no, "attempt", round)
		} else if unknown {
			c.o.Logger.Info("payby: re-sending identical request", "op", k.op, "merchant_order_no", k.no, "attempt", round)
		}
		date, err := c.send(ctx, k, round, biz, out)
		if err == nil {
			return date, false, nil
		}
		last = err
		retry, mayHaveHappened := shouldRetry(k.write, err)
		if mayHaveHappened {
			maybe, unknown = true, true
		}
		if !retry {
			return time.Time{}, false, err
		}
	}
}

// shouldRetry is the retry policy. A read is tried again after a failure
// that may pass: a transport failure or HTTP 5xx, gateway 500/504
// ("retry later or query") or 402 (rate limit). A write is tried again
// after 402, which PayBy answers without processing, and after any
// answer that leaves its outcome unknown (mayHaveHappened): a transport
// failure, 500/504, or an answer that does not verify or decode. Any other
// answer is PayBy's decision and ends the call.
func shouldRetry(write bool, err error) (retry, mayHaveHappened bool) {
	transient := errors.Is(err, ErrTransport) || errors.Is(err, ErrAmbiguous)
	if !write {
		return transient || IsRateLimited(err), false
	}
	unknown := transient || errors.Is(err, ErrBadSignature) || errors.Is(err, ErrNoSignature) || errors.Is(err, ErrMalformed)
	return unknown || IsRateLimited(err), unknown
}

type ambiguousError struct {
	op, no string
	rounds int
	cause  error
}

func (e *ambiguousError) Error() string {
	return fmt.Sprintf("payby: %s %s: outcome unknown after %d attempt(s): %v", e.op, e.no, e.rounds, e.cause)
}

func (e *ambiguousError) Unwrap() []error { return []error{ErrAmbiguous, e.cause} }

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

// send makes one signed HTTP attempt of k and decodes the verified body of
// a SUCCESS/"0" answer into out. Any other answer is a *Error; everything
// else is a wrapped sentinel. It logs the attempt, DEBUG when it
// succeeded, WARN when it failed, and tells Options.Observe.
func (c *Client) send(ctx context.Context, k call, attempt int, biz []byte, out any) (time.Time, error) {
	start := time.Now()
	date, err := c.roundTrip(ctx, k, biz, out)
	took := time.Since(start)
	attrs := []any{"op", k.op, "endpoint", k.path, "attempt", attempt, "ms", took.Milliseconds()}
	if k.no != "" {
		attrs = append(attrs, "merchant_order_no", k.no)
	}
	a := Attempt{Op: k.op, Endpoint: k.path, N: attempt, Took: took, Code: "0"}
	if err == nil {
		c.observe(a)
		c.o.Logger.Debug("payby call", append(attrs, "code", "0")...)
		return date, nil
	}
	var e *Error
	if errors.As(err, &e) {
		e.Op = k.op
		a.Code = e.Code
		a.Failed = errors.Is(err, ErrAmbiguous) || IsRateLimited(err) || IsSignatureRejected(err)
		attrs = append(attrs, "code", e.Code, "msg", e.Msg, "apply_status", e.ApplyStatus)
		if e.TraceCode != "" {
			attrs = append(attrs, "trace_code", e.TraceCode)
		}
	} else {
		a.Code, a.Failed = failureCode(err), true
		attrs = append(attrs, "code", a.Code, "err", err)
	}
	c.observe(a)
	c.o.Logger.Warn("payby call failed", attrs...)
	return time.Time{}, err
}

// observe tells Options.Observe about an attempt.
func (c *Client) observe(a Attempt) {
	if c.o.Observe != nil {
		c.o.Observe(a)
	}
}

// failureCode names a failure that carries no PayBy code, for the log.
func failureCode(err error) string {
	var h httpStatus
	switch {
	case errors.As(err, &h):
		return fmt.Sprintf("http_%d", int(h))
	case errors.Is(err, ErrBadSignature):
		return "bad_signature"
	case errors.Is(err, ErrNoSignature):
		return "no_signature"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "transport"
}

// httpStatus is an HTTP status other than 200: PayBy's answers all come
// with 200, so anything else is a transport failure (Java SDK).
type httpStatus int

func (h httpStatus) Error() string { return fmt.Sprintf("HTTP %d", int(h)) }

func (c *Client) roundTrip(ctx context.Context, k call, biz []byte, out any) (time.Time, error) {
	body, err := wire.Marshal(wire.Request{RequestTime: c.o.Now().UnixMilli(), BizContent: biz})
	if err != nil {
		return time.Time{}, fmt.Errorf("payby: %s: %w", k.op, err)
	}
	sign, err := wire.Sign(c.o.Key, body)
	if err != nil {
		return time.Time{}, fmt.Errorf("payby: %s: %w", k.op, err)
	}
	actx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.base+k.path, bytes.NewReader(body))
	if err != nil {
		return time.Time{}, fmt.Errorf("payby: %s: %w", k.op, err)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set(wire.HeaderPartnerID, c.o.PartnerID)
	req.Header.Set(wire.HeaderSign, sign)
	req.Header.Set(wire.HeaderLanguage, c.o.Language)
	req.Header.Set(wire.HeaderVersion, "v1")
	res, err := c.o.HTTP.Do(req)
	if err != nil {
		return time.Time{}, fmt.Errorf("payby: %s %s: %w: %v", k.op, k.no, ErrTransport, err)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, MaxResponse+1))
	res.Body.Close()
	if err == nil && len(raw) > MaxResponse {
		err = errors.New("response larger than 1 MiB")
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("payby: %s %s: %w: reading response: %v", k.op, k.no, ErrTransport, err)
	}
	if res.StatusCode != http.StatusOK {
		return time.Time{}, fmt.Errorf("payby: %s %s: %w: %w", k.op, k.no, ErrTransport, httpStatus(res.StatusCode))
	}
	resBody, err := DecodeResponse(c.o.PayByKey, raw, res.Header.Get(wire.HeaderSign), res.StatusCode)
	if err != nil {
		if _, e := apiCode(err); e != nil {
			return time.Time{}, err
		}
		return time.Time{}, fmt.Errorf("payby: %s %s: %w", k.op, k.no, err)
	}
	if err := decodeBody(resBody, out); err != nil {
		return time.Time{}, fmt.Errorf("payby: %s %s: %w", k.op, k.no, err)
	}
	date, _ := http.ParseTime(res.Header.Get("Date"))
	return date, nil
}

// decodeBody decodes a success body into out, a pointer to a zeroed
// value: an earlier attempt's partial decode never leaks into this one.
func decodeBody(body json.RawMessage, out any) error {
	if len(body) == 0 || string(body) == "null" {
		return fmt.Errorf("%w: success without body", ErrMalformed)
	}
	reflect.ValueOf(out).Elem().SetZero()
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
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
