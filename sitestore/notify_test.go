package sitestore

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"
	"testing"
	"time"
)

func note(no, status, body string) Notification {
	h := sha256.Sum256([]byte(body))
	return Notification{Kind: KindOrder, No: no, Status: status, Amount: 2000, Paid: 2000, PaidAt: t0,
		NotifyID: "N-" + body, NotifiedAt: t0, ReceivedAt: t0.Add(time.Second), BodySHA256: h[:]}
}

func TestRecordNotification(t *testing.T) {
	s := newStore(t)
	ctx := ctxT(t)
	n, err := s.RecordNotification(ctx, note("MALL1-A-1001-1", "PAID_SUCCESS", "body1"))
	if err != nil {
		t.Fatal(err)
	}
	if n.ID == 0 || n.Site != site || n.Repeats != 0 || !n.ReceivedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("recorded %+v", n)
	}
	// PayBy repeats the same bytes: one row, one repeat, first receipt kept.
	again := note("MALL1-A-1001-1", "PAID_SUCCESS", "body1")
	again.ReceivedAt = t0.Add(time.Minute)
	r, err := s.RecordNotification(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != n.ID || r.Repeats != 1 || !r.ReceivedAt.Equal(n.ReceivedAt) {
		t.Fatalf("repeat %+v", r)
	}
	if _, err := s.RecordNotification(ctx, note("MALL1-A-1001-1", "SETTLED", "body2")); err != nil {
		t.Fatal(err)
	}
	ns, err := s.Notifications(ctx, "MALL1-A-1001-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != 2 || ns[0].Status != "PAID_SUCCESS" || ns[1].Status != "SETTLED" || ns[0].Amount != 2000 ||
		!ns[0].PaidAt.Equal(t0) || ns[0].PaidAt.Location() != time.UTC || len(ns[0].BodySHA256) != 32 || ns[0].Repeats != 1 {
		t.Fatalf("notifications %+v", ns)
	}
	for _, bad := range []Notification{
		{Kind: "other", No: "X", Status: "PAID_SUCCESS", BodySHA256: make([]byte, 32)},
		{Kind: KindOrder, Status: "PAID_SUCCESS", BodySHA256: make([]byte, 32)},
		{Kind: KindOrder, No: "X", Status: "PAID_SUCCESS"},
	} {
		if _, err := s.RecordNotification(ctx, bad); err == nil {
			t.Errorf("recorded %+v", bad)
		}
	}
	if n := one[int64](t, s, `SELECT count(*) FROM notifications`); n != 2 {
		t.Fatalf("%d rows", n)
	}
}

// TestListenAndCatchUp: a lane hears its own orders' notifications, only
// those, once listening; what it missed it finds after its last id.
func TestListenAndCatchUp(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	missed, err := s.RecordNotification(ctx, note("MALL1-A-7-1", "PAID_SUCCESS", "before"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var heard []Notification
	ready := make(chan int64, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Listen(ctx, "MALL1-A-", func(ctx context.Context) error {
			id, err := s.LastNotificationID(ctx)
			ready <- id
			return err
		}, func(n Notification) {
			mu.Lock()
			heard = append(heard, n)
			mu.Unlock()
		})
	}()
	var last int64
	select {
	case last = <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("not listening")
	}
	if last != missed.ID {
		t.Fatalf("last id %d, want %d", last, missed.ID)
	}
	mine, err := s.RecordNotification(ctx, note("MALL1-A-8-1", "PAID_SUCCESS", "mine"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []Notification{
		note("MALL1-AB-9-1", "PAID_SUCCESS", "other lane"), // lane AB, not A
		{Kind: KindRefund, No: "MALL1-A-8-1-R1", Status: "SUCCESS", BodySHA256: note("", "", "refund").BodySHA256},
	} {
		if _, err := s.RecordNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	other, err := New(s.pool.Config().ConnString(), Options{Site: "OTHER"})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.RecordNotification(ctx, note("MALL1-A-10-1", "PAID_SUCCESS", "other site")); err != nil {
		t.Fatal(err)
	}
	final, err := s.RecordNotification(ctx, note("MALL1-A-11-1", "FAILURE", "last"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(heard)
		mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	if len(heard) != 2 || heard[0].ID != mine.ID || heard[0].Status != "PAID_SUCCESS" || heard[0].Paid != 2000 ||
		!heard[0].PaidAt.Equal(t0) || heard[1].ID != final.ID {
		t.Fatalf("heard %+v", heard)
	}
	mu.Unlock()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("listen ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("listen did not end with its context")
	}
	// Catching up: the lane's orders after an id, and no one else's.
	after, err := s.NotificationsAfter(ctxT(t), "MALL1-A-", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != 3 || after[0].ID != missed.ID || after[1].ID != mine.ID || after[2].ID != final.ID {
		t.Fatalf("after 0: %+v", after)
	}
	if after, _ := s.NotificationsAfter(ctxT(t), "MALL1-A-", mine.ID, 10); len(after) != 1 || after[0].ID != final.ID {
		t.Fatalf("after %d: %+v", mine.ID, after)
	}
}
