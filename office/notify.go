// Package office is the site's office server ("exitlane office"): one
// public PayBy notifyUrl for every lane of the site, recorded in the site
// store and announced to the lane that waits for the order, with the
// office's /metrics, /healthz and /readyz. The web console over the site
// store is to be built on it.
package office

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/sitestore"
)

// recordTimeout bounds recording one notification in the store. Past it
// the handler answers failure and PayBy notifies again later.
const recordTimeout = 5 * time.Second

// NotifyOptions configure NotifyHandler. Zero fields mean defaults.
type NotifyOptions struct {
	Reply  payby.Reply // default payby.ReplyJSON
	Logger *slog.Logger
	// Metrics counts received, rejected and recorded notifications (nil:
	// none).
	Metrics *metrics.Office
	// Now is the office's clock, for received times (default time.Now).
	Now func() time.Time
}

type rawKey struct{}

// NotifyHandler is PayBy's notifyUrl for every lane of the site. The
// signature is checked on the raw body before anything else
// (payby.NotificationHandler: a missing or bad sign is 401 and nothing is
// decoded or stored); a verified notification is recorded in store with
// the hash of its raw body, which announces an order's to the lanes
// (sitestore.RecordNotification); PayBy gets its success reply only once
// it is recorded, else HTTP 500 and PayBy notifies again.
func NotifyHandler(store *sitestore.Store, pub *rsa.PublicKey, o NotifyOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	record := func(ctx context.Context, n *payby.Notification) error {
		raw, _ := ctx.Value(rawKey{}).([]byte)
		sum := sha256.Sum256(raw)
		sn := sitestore.Notification{NotifyID: n.NotifyID, NotifiedAt: n.Time, ReceivedAt: o.Now(), BodySHA256: sum[:]}
		switch {
		case n.Order != nil:
			sn.Kind, sn.No, sn.Status, sn.Revoked = sitestore.KindOrder, n.Order.MerchantOrderNo, string(n.Order.Status), n.Order.Revoked
			sn.Amount, sn.Paid, sn.PaidAt = n.Order.Amount, n.Order.PaidAmount, n.Order.PaidTime
		case n.Refund != nil:
			sn.Kind, sn.No, sn.Status, sn.Amount = sitestore.KindRefund, n.Refund.RefundMerchantOrderNo, n.Refund.Status, n.Refund.Amount
		default:
			return errors.New("office: a notification of neither an order nor a refund")
		}
		ctx, cancel := context.WithTimeout(ctx, recordTimeout)
		defer cancel()
		rec, err := store.RecordNotification(ctx, sn)
		if err != nil {
			return err
		}
		if o.Metrics != nil {
			o.Metrics.Recorded.WithLabelValues(rec.Kind, strconv.FormatBool(rec.Repeats > 0)).Inc()
		}
		o.Logger.Debug("notification stored", "id", rec.ID, "merchant_order_no", rec.No, "status", rec.Status, "repeats", rec.Repeats)
		return nil
	}
	h := payby.NotificationHandler(pub, record, payby.HandlerOptions{Reply: o.Reply, Logger: o.Logger})
	// Keep the raw body for its hash. Only buffered here: the handler
	// verifies the signature on these same bytes before record sees them.
	var served http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			buf, err := io.ReadAll(io.LimitReader(r.Body, payby.MaxNotification+1))
			if err != nil {
				http.Error(w, "read error", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(buf), r.Body))
			r = r.WithContext(context.WithValue(r.Context(), rawKey{}, buf))
		}
		h.ServeHTTP(w, r)
	})
	if o.Metrics != nil {
		served = o.Metrics.Notifications.Wrap(served)
	}
	return served
}
