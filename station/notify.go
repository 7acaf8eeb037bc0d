package station

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/payby"
)

// notifier serves PayBy's order notifications to the runner. It is
// optional: the kiosk may have no inbound address, and polling stays the
// source of truth.
type notifier struct {
	srv    *http.Server
	ln     net.Listener
	log    *slog.Logger
	served bool
}

// newNotifier binds [payby] listen (or serves on ln) with a handler that
// verifies each notification with PayBy's key and hands it to r, counted
// by count.
func newNotifier(cfg *config.Config, pub *rsa.PublicKey, ln net.Listener, r *lane.Runner, count *metrics.Notifications, log *slog.Logger) (*notifier, error) {
	log = log.With("component", "notify")
	h := payby.NotificationHandler(pub, func(ctx context.Context, n *payby.Notification) error {
		if n.Order == nil {
			return nil // refund notifications: the refund call already answered
		}
		return r.Notify(ctx, n.Order.MerchantOrderNo, orderState(n.Order))
	}, payby.HandlerOptions{Reply: payby.Reply(cfg.PayBy.NotifyReply), Logger: log})
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.PayBy.Listen); err != nil {
			return nil, fmt.Errorf("notification listener: %w", err)
		}
	}
	return &notifier{srv: &http.Server{Handler: count.Wrap(h), ReadHeaderTimeout: 10 * time.Second}, ln: ln, log: log}, nil
}

// serve accepts notifications until shutdown, in a part of p.
func (n *notifier) serve(p *parts) {
	n.served = true
	p.goRun(partNotify, func() { n.srv.Serve(n.ln) })
	n.log.Info("notification listener", "addr", n.ln.Addr().String())
}

// shutdown stops accepting and waits up to d for notifications in flight.
func (n *notifier) shutdown(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	n.srv.Shutdown(ctx)
}

// close closes the listener if it was never served (Shutdown closed it
// otherwise).
func (n *notifier) close() error {
	if n.served {
		return nil
	}
	return n.ln.Close()
}
