package payby

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/exitlane/exitlane/payby/internal/wire"
)

// MaxNotification is the largest notification body the handler reads.
const MaxNotification = 64 << 10

// Notification is a verified asynchronous result from PayBy: an order's
// new state (Order) or a refund's (Refund). The same notification may
// arrive several times; Key identifies its content for de-duplication.
type Notification struct {
	NotifyID string    `json:"notifyId"`
	Time     time.Time `json:"time,omitzero"`
	Order    *Order    `json:"order,omitempty"`
	Refund   *Refund   `json:"refund,omitempty"`
}

// Key identifies what the notification says, (orderNo, status, revoked)
// as PayBy's documents recommend (docs/payby-reference.md §13), so a
// repeat can be recognised whether or not PayBy keeps notify_id across
// retries.
func (n *Notification) Key() string {
	switch {
	case n.Order != nil:
		return fmt.Sprintf("order/%s/%s/%t", n.Order.OrderNo, n.Order.Status, n.Order.Revoked)
	case n.Refund != nil:
		return fmt.Sprintf("refund/%s/%s", n.Refund.OrderNo, n.Refund.Status)
	}
	return "notify/" + n.NotifyID
}

// VerifyNotification verifies sign (the notification's sign header) over
// the exact raw body with PayBy's public key, and only then decodes it.
// Errors: ErrNoSignature, ErrBadSignature, ErrMalformed.
func VerifyNotification(pub *rsa.PublicKey, rawBody []byte, sign string) (*Notification, error) {
	if strings.TrimSpace(sign) == "" {
		return nil, fmt.Errorf("payby: notification: %w", ErrNoSignature)
	}
	if err := wire.Verify(pub, rawBody, sign); err != nil {
		return nil, fmt.Errorf("payby: notification: %w", ErrBadSignature)
	}
	return decodeNotification(rawBody)
}

func decodeNotification(raw []byte) (*Notification, error) {
	var w wire.Notification
	if err := wire.DecodeStrict(raw, &w); err != nil {
		return nil, fmt.Errorf("payby: notification: %w: %v", ErrMalformed, err)
	}
	n := &Notification{NotifyID: w.NotifyID, Time: msTime(w.NotifyTimestamp)}
	switch {
	case w.AcquireOrder != nil:
		o, err := orderFromWire(w.AcquireOrder)
		if err != nil {
			return nil, fmt.Errorf("payby: notification: %w", err)
		}
		n.Order = o
	case w.RefundOrder != nil:
		r, err := refundFromWire(w.RefundOrder, nil)
		if err != nil {
			return nil, fmt.Errorf("payby: notification: %w", err)
		}
		n.Refund = r
	default:
		return nil, fmt.Errorf("payby: notification: %w: neither acquireOrder nor refundOrder", ErrMalformed)
	}
	return n, nil
}

// Reply is the body the notification handler answers with.
type Reply string

// Reply forms. PayBy's documents disagree (docs/payby-reference.md §12):
// JSON is the sample's and the knowledge base's form, plain is the old
// servlet's.
const (
	ReplyJSON  Reply = "json"  // {"response":"SUCCESS"}, the default
	ReplyPlain Reply = "plain" // SUCCESS
)

// HandlerOptions configure NotificationHandler. Zero fields mean defaults.
type HandlerOptions struct {
	Reply  Reply // default ReplyJSON
	Logger *slog.Logger
	// MaxBody bounds the body (default MaxNotification, 64 KiB).
	MaxBody int64
}

// NotificationHandler returns an http.Handler for PayBy's notifyUrl. It
// accepts POST only, reads at most 64 KiB, verifies the sign header over the
// raw body before decoding, and calls record with the notification. It
// answers the success reply (HTTP 200) only after record returned nil, so
// PayBy retries anything not recorded. A missing or bad signature gets
// 401 and record is not called. Duplicates reach record again; record must
// be idempotent (Notification.Key helps).
func NotificationHandler(pub *rsa.PublicKey, record func(context.Context, *Notification) error, o HandlerOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = MaxNotification
	}
	reply, ctype := []byte(`{"response":"SUCCESS"}`), "application/json; charset=UTF-8"
	if o.Reply == ReplyPlain {
		reply = []byte("SUCCESS")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, o.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				o.Logger.Warn("payby notification too large", "limit", o.MaxBody, "remote", r.RemoteAddr)
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		n, err := VerifyNotification(pub, raw, r.Header.Get(wire.HeaderSign))
		switch {
		case errors.Is(err, ErrNoSignature) || errors.Is(err, ErrBadSignature):
			o.Logger.Warn("payby notification refused", "err", err, "remote", r.RemoteAddr)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		case err != nil:
			o.Logger.Warn("payby notification undecodable", "err", err, "remote", r.RemoteAddr)
			http.Error(w, "malformed notification", http.StatusBadRequest)
			return
		}
		attrs := []any{"notify_id", n.NotifyID, "key", n.Key()}
		if n.Order != nil {
			attrs = append(attrs, "merchant_order_no", n.Order.MerchantOrderNo, "status", string(n.Order.Status))
		}
		if err := record(r.Context(), n); err != nil {
			o.Logger.Error("payby notification not recorded", append(attrs, "err", err)...)
			http.Error(w, "not recorded", http.StatusInternalServerError)
			return
		}
		o.Logger.Info("payby notification recorded", attrs...)
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(http.StatusOK)
		w.Write(reply)
	})
}

// IsSuccessReply reports whether a notification reply body is one of the
// accepted success forms ({"response":"SUCCESS"} with any spacing, or the
// bare word SUCCESS). The sandbox uses it to decide whether to retry.
func IsSuccessReply(body []byte) bool {
	s := strings.TrimSpace(string(body))
	if strings.EqualFold(s, "SUCCESS") {
		return true
	}
	s = strings.Join(strings.Fields(s), "")
	return s == `{"response":"SUCCESS"}`
}

// Sign signs body as PayBy and merchants do (SHA256withRSA, standard
// Base64): for tests that fake PayBy's notifications, and for the sandbox.
func Sign(key *rsa.PrivateKey, body []byte) (string, error) { return wire.Sign(key, body) }

// Verify checks a sign header value over body.
func Verify(pub *rsa.PublicKey, body []byte, sign string) error {
	if err := wire.Verify(pub, body, sign); err != nil {
		return ErrBadSignature
	}
	return nil
}

// SignedNotification builds the body PayBy would POST for o and signs it
// with key (playing PayBy's part): for tests of a notification consumer.
func SignedNotification(key *rsa.PrivateKey, notifyID string, at time.Time, o *Order) (body []byte, sign string, err error) {
	body, err = MarshalNotification(notifyID, at, orderToWire(o), nil)
	if err != nil {
		return nil, "", err
	}
	sign, err = wire.Sign(key, body)
	return body, sign, err
}
