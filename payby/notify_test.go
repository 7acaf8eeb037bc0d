package payby_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

// recorder is an idempotent notification store, as the lane's would be.
type recorder struct {
	mu    sync.Mutex
	calls int
	seen  map[string]*payby.Notification
	fail  error
	got   chan *payby.Notification
}

func newRecorder() *recorder {
	return &recorder{seen: map[string]*payby.Notification{}, got: make(chan *payby.Notification, 16)}
}

func (r *recorder) record(_ context.Context, n *payby.Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	r.seen[n.Key()] = n
	r.got <- n
	return nil
}

func paidOrder() *payby.Order {
	return &payby.Order{
		MerchantOrderNo: "GRG01-L2-T1-1", OrderNo: "131767225600512377", Status: payby.StatusPaidSuccess,
		Amount: money.MustParse("25.00"), PaidAmount: money.MustParse("25.00"),
		PaidTime: time.UnixMilli(1767225702000).UTC(), RequestTime: time.UnixMilli(1767225600000).UTC(),
	}
}

func TestNotificationHandler(t *testing.T) {
	keys(t)
	body, sign, err := payby.SignedNotification(paybyKey, "N1", time.UnixMilli(1767225703500), paidOrder())
	if err != nil {
		t.Fatal(err)
	}
	wrongSign, _ := payby.Sign(otherKey, body)
	tampered := bytes.Replace(body, []byte(`"amount":25.00`), []byte(`"amount":2.50`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("tamper did not change the body")
	}
	big := append(bytes.Repeat([]byte(" "), payby.MaxNotification), body...)
	bigSign, _ := payby.Sign(paybyKey, big)
	for _, tc := range []struct {
		name       string
		method     string
		body       []byte
		sign       string
		wantStatus int
		recorded   bool
	}{
		{"valid", "POST", body, sign, 200, true},
		{"tampered body", "POST", tampered, sign, 401, false},
		{"wrong key", "POST", body, wrongSign, 401, false},
		{"missing sign", "POST", body, "", 401, false},
		{"garbage sign", "POST", body, "not base64!", 401, false},
		{"oversize", "POST", big, bigSign, 413, false},
		{"wrong method", "GET", nil, "", 405, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newRecorder()
			h := payby.NotificationHandler(&paybyKey.PublicKey, rec.record, payby.HandlerOptions{})
			req := httptest.NewRequest(tc.method, "/payby/notify", bytes.NewReader(tc.body))
			if tc.sign != "" {
				req.Header.Set("Sign", tc.sign) // PayBy's sample capitalises it
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.wantStatus, w.Body)
			}
			if (rec.calls > 0) != tc.recorded {
				t.Fatalf("recorded %d times", rec.calls)
			}
			if tc.wantStatus == 200 {
				if w.Body.String() != `{"response":"SUCCESS"}` || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
					t.Fatalf("reply %q %q", w.Body, w.Header())
				}
				n := rec.seen[rec.keys()[0]]
				if n.Order.MerchantOrderNo != "GRG01-L2-T1-1" || !n.Order.Paid() || n.Order.PaidAmount != 2500 || n.NotifyID != "N1" {
					t.Fatalf("notification %+v %+v", n, n.Order)
				}
			}
			if tc.wantStatus == 405 && w.Header().Get("Allow") != "POST" {
				t.Fatal("no Allow header")
			}
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		rec := newRecorder()
		h := payby.NotificationHandler(&paybyKey.PublicKey, rec.record, payby.HandlerOptions{})
		for i := 0; i < 2; i++ {
			w := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
			req.Header.Set("sign", sign)
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				t.Fatalf("delivery %d: %d", i, w.Code)
			}
		}
		if rec.calls != 2 || len(rec.seen) != 1 {
			t.Fatalf("calls %d, distinct %d", rec.calls, len(rec.seen))
		}
	})
	t.Run("record fails", func(t *testing.T) {
		rec := newRecorder()
		rec.fail = errors.New("disk full")
		h := payby.NotificationHandler(&paybyKey.PublicKey, rec.record, payby.HandlerOptions{})
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("sign", sign)
		h.ServeHTTP(w, req)
		if w.Code != 500 || strings.Contains(w.Body.String(), "SUCCESS") {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
	})
	t.Run("plain reply", func(t *testing.T) {
		h := payby.NotificationHandler(&paybyKey.PublicKey, newRecorder().record, payby.HandlerOptions{Reply: payby.ReplyPlain})
		w := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("sign", sign)
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Body.String() != "SUCCESS" {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
	})
	t.Run("signed but malformed", func(t *testing.T) {
		for _, b := range []string{`{"notify_id":"1"}`, `not json`, `{"acquireOrder":{"merchantOrderNo":"A","status":"PAID_SUCCESS","totalAmount":{"amount":1.005,"currency":"AED"}}}`} {
			s, _ := payby.Sign(paybyKey, []byte(b))
			if _, err := payby.VerifyNotification(&paybyKey.PublicKey, []byte(b), s); !errors.Is(err, payby.ErrMalformed) {
				t.Errorf("%s: %v", b, err)
			}
		}
	})
}

func (r *recorder) keys() []string {
	var out []string
	for k := range r.seen {
		out = append(out, k)
	}
	return out
}

// TestSandboxNotifications runs the whole loop: the sandbox pays an order
// and notifies the handler over loopback, retrying when it fails, sending
// duplicates when told to, and nothing when dropping.
func TestSandboxNotifications(t *testing.T) {
	keys(t)
	ctx := context.Background()
	rec := newRecorder()
	var failFirst sync.Once
	h := payby.NotificationHandler(&paybyKey.PublicKey, rec.record, payby.HandlerOptions{})
	flaky := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failed := false
		failFirst.Do(func() { failed = true })
		if failed {
			http.Error(w, "not yet", http.StatusServiceUnavailable) // PayBy must retry
			return
		}
		h.ServeHTTP(w, r)
	})
	ns := httptest.NewServer(flaky)
	defer ns.Close()
	e := newEnv(t, nil, nil)
	req := createReq(newNo("NOTE"), 2500)
	req.NotifyURL = ns.URL + "/payby/notify"
	c, err := e.client.CreateOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	e.sb.Pay(req.MerchantOrderNo)
	select {
	case n := <-rec.got:
		if n.Order.OrderNo != c.Order.OrderNo || !n.Order.Paid() {
			t.Fatalf("%+v", n.Order)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	rec.mu.Lock()
	calls := rec.calls // the 503 never reached the handler
	rec.mu.Unlock()
	if calls != 1 {
		t.Fatalf("calls %d", calls)
	}

	// A refund with a notifyUrl is notified too, as refundOrder.
	if _, err := e.client.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: req.MerchantOrderNo, Amount: 500, NotifyURL: req.NotifyURL}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-rec.got:
		if n.Refund == nil || n.Refund.Amount != 500 || n.Refund.OriginMerchantOrderNo != req.MerchantOrderNo || n.Order != nil {
			t.Fatalf("refund notification %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no refund notification")
	}

	e.sb.SetFaults(sandbox.Faults{DuplicateNotify: true})
	req2 := createReq(newNo("NOTE"), 100)
	req2.NotifyURL = req.NotifyURL
	e.client.CreateOrder(ctx, req2)
	e.sb.Pay(req2.MerchantOrderNo)
	for i := 0; i < 2; i++ {
		select {
		case <-rec.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("duplicate %d missing", i)
		}
	}

	e.sb.SetFaults(sandbox.Faults{DropNotify: true})
	req3 := createReq(newNo("NOTE"), 100)
	req3.NotifyURL = req.NotifyURL
	e.client.CreateOrder(ctx, req3)
	e.sb.Pay(req3.MerchantOrderNo)
	e.sb.Close() // waits for deliveries in flight: there must be none
	select {
	case n := <-rec.got:
		t.Fatalf("dropped notification arrived: %+v", n.Order)
	default:
	}
	info, _ := e.sb.Order(req.MerchantOrderNo)
	if info.Notified != 1 {
		t.Fatalf("notified %d", info.Notified)
	}
}
