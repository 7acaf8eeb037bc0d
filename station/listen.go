package station

// At a site with a site store, PayBy notifies the office (one notifyUrl
// for every lane), which records each notification in the store and
// announces it with NOTIFY. The lane listens and feeds its own orders'
// to the runner within milliseconds. Polling stays the fallback: a lane
// that is not listening (store down, connection lost) pays a poll
// interval, never a payment.

import (
	"context"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/sitestore"
)

// catchUpMax bounds the notifications fed after a reconnection.
const catchUpMax = 1000

// listenStore hears the office's notifications of this lane's orders
// until ctx ends, listening again after a failure with backoff. On its
// first connection it starts from the latest notification (older orders
// are the reconciler's); after a reconnection it first feeds what it
// missed.
func (s *Station) listenStore(ctx context.Context) {
	p := s.r.Params()
	prefix := lane.OrderKey(p.Site, p.Lane, "")
	log := s.log.With("component", "store_listener")
	last := int64(-1) // the highest notification id fed (-1: not yet connected)
	backoff := backoffFirst
	quiet := false // a failure was logged; log the next ones at DEBUG
	feed := func(n sitestore.Notification) {
		last = max(last, n.ID)
		st := orderState(&payby.Order{MerchantOrderNo: n.No, Status: payby.Status(n.Status), Revoked: n.Revoked,
			Amount: n.Amount, PaidAmount: n.Paid, PaidTime: n.PaidAt})
		nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.r.Notify(nctx, n.No, st)
		cancel()
		if err != nil {
			log.Warn("notification from the office not recorded; polling will find it", "merchant_order_no", n.No, "err", err)
			return
		}
		log.Debug("notification from the office", "merchant_order_no", n.No, "status", n.Status, "id", n.ID)
	}
	for ctx.Err() == nil {
		err := s.store.Listen(ctx, prefix, func(ctx context.Context) error {
			if last < 0 {
				id, err := s.store.LastNotificationID(ctx)
				if err != nil {
					return err
				}
				last = id
			} else {
				missed, err := s.store.NotificationsAfter(ctx, prefix, last, catchUpMax)
				if err != nil {
					return err
				}
				for _, n := range missed {
					feed(n)
				}
				if len(missed) > 0 {
					log.Info("notifications caught up", "count", len(missed))
				}
			}
			s.listening.Store(true)
			backoff, quiet = backoffFirst, false
			log.Info("listening for the office's notifications", "after", last)
			return nil
		}, feed)
		s.listening.Store(false)
		if ctx.Err() != nil {
			return
		}
		lvl := log.Warn
		if quiet {
			lvl = log.Debug
		}
		lvl("not listening for the office's notifications; polling meanwhile", "err", err, "retry_in", backoff.String())
		quiet = true
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, backoffMax)
	}
}
