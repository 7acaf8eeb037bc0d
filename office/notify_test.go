package office_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/metrics/metricstest"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/sitestore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Keys are generated once per test binary: RSA-2048 generation is slow.
var (
	keysOnce           sync.Once
	paybyKey, otherKey *rsa.PrivateKey
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		for _, k := range []**rsa.PrivateKey{&paybyKey, &otherKey} {
			if *k, err = payby.GenerateKey(); err != nil {
				panic(err)
			}
		}
	})
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// migrated returns a migrated store for site GRG01 on a fresh database.
func migrated(t *testing.T, url string) *sitestore.Store {
	t.Helper()
	s, err := sitestore.New(url, sitestore.Options{Site: "GRG01"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

func paidOrder(no string) *payby.Order {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	return &payby.Order{MerchantOrderNo: no, OrderNo: "P" + no, Status: payby.StatusPaidSuccess, Amount: 2000, PaidAmount: 2000, PaidTime: at}
}

func post(t *testing.T, url string, body []byte, sign string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sign != "" {
		req.Header.Set("sign", sign)
	}
	res, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func count(t *testing.T, s *sitestore.Store) int64 {
	t.Helper()
	var n int64
	if err := s.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM notifications`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNotifyRecordsVerifiedOnly: a notification signed by PayBy is
// recorded with the hash of its body and announced; an unsigned one, a
// tampered one and one signed with another key are refused with 401 and
// change nothing in the store.
func TestNotifyRecordsVerifiedOnly(t *testing.T) {
	keys(t)
	store := migrated(t, pgtest.NewDB(t))
	m := metrics.NewOffice("GRG01")
	srv := httptest.NewServer(office.NotifyHandler(store, &paybyKey.PublicKey, office.NotifyOptions{Metrics: m}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	heard := make(chan sitestore.Notification, 10)
	listening := make(chan struct{})
	go store.Listen(ctx, "GRG01-X1-", func(context.Context) error { close(listening); return nil }, func(n sitestore.Notification) { heard <- n })
	select {
	case <-listening:
	case <-time.After(10 * time.Second):
		t.Fatal("not listening")
	}

	body, sign, err := payby.SignedNotification(paybyKey, "N1", time.Now(), paidOrder("GRG01-X1-1001-1"))
	if err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Replace(body, []byte(`"amount":20.00`), []byte(`"amount":2000.00`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatalf("the amount is not in the body: %s", body)
	}
	_, otherSign, err := payby.SignedNotification(otherKey, "N1", time.Now(), paidOrder("GRG01-X1-1001-1"))
	if err != nil {
		t.Fatal(err)
	}
	otherBodySign, _ := payby.Sign(otherKey, body)
	for _, tc := range []struct {
		name string
		body []byte
		sign string
	}{
		{"unsigned", body, ""},
		{"tampered", tampered, sign},
		{"signed by another key", body, otherBodySign},
		{"another body's signature", body, otherSign},
		{"garbage signature", body, "bm90IGEgc2lnbmF0dXJl"},
	} {
		if code := post(t, srv.URL, tc.body, tc.sign); code != http.StatusUnauthorized {
			t.Errorf("%s: HTTP %d, want 401", tc.name, code)
		}
	}
	if n := count(t, store); n != 0 {
		t.Fatalf("%d notifications stored after refusals", n)
	}
	select {
	case n := <-heard:
		t.Fatalf("a refused notification was announced: %+v", n)
	case <-time.After(100 * time.Millisecond):
	}

	if code := post(t, srv.URL, body, sign); code != http.StatusOK {
		t.Fatalf("signed: HTTP %d", code)
	}
	select {
	case n := <-heard:
		if n.No != "GRG01-X1-1001-1" || n.Status != "PAID_SUCCESS" || n.Paid != 2000 || n.Kind != sitestore.KindOrder {
			t.Errorf("heard %+v", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the recorded notification was not announced")
	}
	// PayBy repeats it: still one row.
	if code := post(t, srv.URL, body, sign); code != http.StatusOK {
		t.Fatalf("repeat: HTTP %d", code)
	}
	ns, err := store.Notifications(ctxT(t), "GRG01-X1-1001-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 1 || ns[0].Repeats != 1 || ns[0].NotifyID != "N1" || len(ns[0].BodySHA256) != 32 {
		t.Fatalf("stored %+v", ns)
	}
	if post(t, srv.URL, []byte("{"), sign) != http.StatusUnauthorized {
		t.Error("a body that does not match its signature must be refused before it is decoded")
	}

	rec := httptest.NewRecorder()
	metrics.Handler(m.Registry(), nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	s, err := metricstest.Parse(strings.NewReader(rec.Body.String()))
	if err != nil {
		t.Fatal(err)
	}
	s.Want(t, map[string]float64{
		`exitlane_notifications_received_total`:                                     8,
		`exitlane_notifications_rejected_total{reason="bad_signature"}`:             6,
		`exitlane_office_notifications_recorded_total{kind="order",repeat="false"}`: 1,
		`exitlane_office_notifications_recorded_total{kind="order",repeat="true"}`:  1,
	})
}
