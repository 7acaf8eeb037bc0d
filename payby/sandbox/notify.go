package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/internal/wire"
)

// notifyLocked sends the order's notification if it has a notifyUrl.
func (s *Server) notifyLocked(rec *record) {
	if rec.Order.NotifyURL == "" {
		return
	}
	order := rec.Order // a snapshot: the goroutine must not race later changes
	now := s.o.Now()
	body, err := payby.MarshalNotification(fmt.Sprintf("%d%06d", now.UnixMilli(), s.nextSeqLocked()%1000000), now, &order, nil)
	if err != nil {
		s.o.Logger.Error("sandbox: notification", "err", err)
		return
	}
	s.sendLocked(order.NotifyURL, body, order.MerchantOrderNo, func(ok bool, why string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if ok {
			rec.Notified++
			rec.NotifyErr = ""
		} else {
			rec.NotifyErr = why
		}
		s.saveLocked()
	})
}

func (s *Server) notifyRefundLocked(url string, ref *wire.RefundOrder) {
	r := *ref
	now := s.o.Now()
	body, err := payby.MarshalNotification(fmt.Sprintf("%d%06d", now.UnixMilli(), s.nextSeqLocked()%1000000), now, nil, &r)
	if err != nil {
		s.o.Logger.Error("sandbox: refund notification", "err", err)
		return
	}
	s.sendLocked(url, body, r.RefundMerchantOrderNo, nil)
}

// sendLocked starts the delivery of one notification, applying the
// notification faults.
func (s *Server) sendLocked(url string, body []byte, no string, done func(ok bool, why string)) {
	if s.faults.DropNotify {
		s.o.Logger.Info("sandbox: notification dropped (fault)", "merchant_order_no", no)
		return
	}
	sign, err := wire.Sign(s.o.Key, body)
	if err != nil {
		s.o.Logger.Error("sandbox: notification", "err", err)
		return
	}
	copies := 1
	if s.faults.DuplicateNotify {
		copies = 2
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for i := 0; i < copies; i++ {
			ok, why := s.deliver(url, body, sign, no)
			if done != nil {
				done(ok, why)
			}
			if !ok {
				return
			}
		}
	}()
}

// deliver POSTs one notification, retrying on PayBy's schedule divided by
// NotifyScale until the reply is a success or the schedule ends.
func (s *Server) deliver(url string, body []byte, sign string, no string) (bool, string) {
	var why string
	for attempt := 0; attempt <= len(notifySchedule); attempt++ {
		if attempt > 0 {
			t := time.NewTimer(notifySchedule[attempt-1] / time.Duration(s.o.NotifyScale))
			select {
			case <-s.ctx.Done():
				t.Stop()
				return false, "sandbox closed"
			case <-t.C:
			}
		}
		why = s.post(url, body, sign)
		if why == "" {
			s.o.Logger.Info("sandbox: notification delivered", "merchant_order_no", no, "attempt", attempt+1)
			return true, ""
		}
		s.o.Logger.Info("sandbox: notification not acknowledged", "merchant_order_no", no, "attempt", attempt+1, "why", why)
	}
	return false, why
}

func (s *Server) post(url string, body []byte, sign string) string {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set(wire.HeaderSign, sign)
	res, err := s.o.HTTP.Do(req)
	if err != nil {
		return err.Error()
	}
	defer res.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d", res.StatusCode)
	}
	if !payby.IsSuccessReply(reply) {
		return fmt.Sprintf("reply %q is not SUCCESS", truncate(string(reply), 40))
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
