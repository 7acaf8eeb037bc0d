package sitestore

// PayBy's notifications for the whole site: the office records each one
// (RecordNotification) and the lanes hear of their orders' at once
// through LISTEN/NOTIFY (Listen), or catch up after an outage
// (NotificationsAfter). Polling by the lanes stays the fallback, so a
// notification missed here costs a poll interval, never a payment.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/money"
)

// NotifyChannel is the PostgreSQL channel the office announces recorded
// order notifications on; the payload is the Notification as JSON
// (without its body hash), a few hundred bytes.
const NotifyChannel = "exitlane_payby"

// Notification kinds.
const (
	KindOrder  = "order"
	KindRefund = "refund"
)

// Notification is one PayBy notification the office verified and
// recorded. Amounts are fils; instants UTC.
type Notification struct {
	ID   int64  `json:"id"`
	Site string `json:"site"`
	Kind string `json:"kind"` // KindOrder or KindRefund
	// No is the order's merchant order number (a refund's: the refund's
	// own), which names its lane (lane.OrderKey).
	No      string     `json:"no"`
	Status  string     `json:"status"` // PayBy's spelling: CREATED, PAID_SUCCESS, SETTLED, FAILURE, ...
	Revoked bool       `json:"revoked,omitempty"`
	Amount  money.Fils `json:"amount"`
	Paid    money.Fils `json:"paid,omitempty"`
	PaidAt  time.Time  `json:"paid_at,omitzero"`
	// NotifyID and NotifiedAt are PayBy's.
	NotifyID   string    `json:"notify_id,omitempty"`
	NotifiedAt time.Time `json:"notified_at,omitzero"`
	// ReceivedAt is when the office received the first copy.
	ReceivedAt time.Time `json:"received_at"`
	// BodySHA256 is the hash of the raw body that verified (not in the
	// payload).
	BodySHA256 []byte `json:"-"`
	// Repeats counts the byte-identical copies received after the first.
	Repeats int `json:"repeats,omitempty"`
}

// RecordNotification records n (Site is the store's; ReceivedAt zero:
// now) and, for an order, announces it on NotifyChannel in the same
// transaction, so a lane hears only of what is recorded. A byte-identical
// repeat (same body hash) adds no row: it counts as a repeat and is
// announced again, since PayBy repeats what it thinks was not taken. It
// returns the row as stored.
func (s *Store) RecordNotification(ctx context.Context, n Notification) (Notification, error) {
	if err := s.ready(ctx); err != nil {
		return n, err
	}
	switch {
	case n.Kind != KindOrder && n.Kind != KindRefund:
		return n, fmt.Errorf("sitestore: record notification: kind %q", n.Kind)
	case n.No == "" || n.Status == "":
		return n, errors.New("sitestore: record notification: no order number or status")
	case len(n.BodySHA256) != 32:
		return n, errors.New("sitestore: record notification: the body's SHA-256 is required")
	}
	n.Site = s.site
	if n.ReceivedAt.IsZero() {
		n.ReceivedAt = time.Now()
	}
	n.ReceivedAt, n.PaidAt, n.NotifiedAt = n.ReceivedAt.UTC(), n.PaidAt.UTC(), n.NotifiedAt.UTC()
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var first time.Time
		if err := tx.QueryRow(ctx, `INSERT INTO notifications (site, kind, merchant_order_no, status, revoked, amount, paid, paid_at,
				notify_id, notified_at, received_at, last_received_at, body_sha256)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12)
			ON CONFLICT (site, body_sha256) DO UPDATE SET repeats = notifications.repeats + 1, last_received_at = EXCLUDED.last_received_at
			RETURNING id, repeats, received_at`,
			n.Site, n.Kind, n.No, n.Status, n.Revoked, int64(n.Amount), int64(n.Paid), ts(n.PaidAt),
			n.NotifyID, ts(n.NotifiedAt), n.ReceivedAt, n.BodySHA256).Scan(&n.ID, &n.Repeats, &first); err != nil {
			return err
		}
		n.ReceivedAt = first.UTC()
		if n.Kind != KindOrder {
			return nil
		}
		payload, err := json.Marshal(n)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, string(payload))
		return err
	})
	if err != nil {
		return n, fmt.Errorf("sitestore: record notification %s: %w", n.No, err)
	}
	return n, nil
}

const notificationCols = `id, site, kind, merchant_order_no, status, revoked, amount, paid, paid_at, notify_id, notified_at, received_at, body_sha256, repeats`

func scanNotification(r pgx.CollectableRow) (Notification, error) {
	var n Notification
	var amount, paid int64
	var paidAt, notifiedAt *time.Time
	err := r.Scan(&n.ID, &n.Site, &n.Kind, &n.No, &n.Status, &n.Revoked, &amount, &paid, &paidAt, &n.NotifyID, &notifiedAt, &n.ReceivedAt, &n.BodySHA256, &n.Repeats)
	n.Amount, n.Paid, n.PaidAt, n.NotifiedAt, n.ReceivedAt = money.Fils(amount), money.Fils(paid), utcOf(paidAt), utcOf(notifiedAt), n.ReceivedAt.UTC()
	return n, err
}

// Notifications lists the notifications recorded for order number no
// (oldest first): what PayBy said about it, for history and audits.
func (s *Store) Notifications(ctx context.Context, no string) ([]Notification, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+notificationCols+` FROM notifications WHERE site = $1 AND merchant_order_no = $2 ORDER BY id`, s.site, no)
	if err != nil {
		return nil, fmt.Errorf("sitestore: notifications: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanNotification)
	if err != nil {
		return nil, fmt.Errorf("sitestore: notifications: %w", err)
	}
	return out, nil
}

// NotificationsAfter lists up to limit order notifications with an id
// above after whose order number starts with prefix, oldest first: what a
// lane missed while it was not listening.
func (s *Store) NotificationsAfter(ctx context.Context, prefix string, after int64, limit int) ([]Notification, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+notificationCols+` FROM notifications
		WHERE site = $1 AND kind = 'order' AND id > $2 AND starts_with(merchant_order_no, $3) ORDER BY id LIMIT $4`,
		s.site, after, prefix, limit)
	if err != nil {
		return nil, fmt.Errorf("sitestore: notifications after %d: %w", after, err)
	}
	out, err := pgx.CollectRows(rows, scanNotification)
	if err != nil {
		return nil, fmt.Errorf("sitestore: notifications after %d: %w", after, err)
	}
	return out, nil
}

// LastNotificationID is the highest notification id recorded (0: none):
// where a lane that starts listening begins.
func (s *Store) LastNotificationID(ctx context.Context) (int64, error) {
	if err := s.ready(ctx); err != nil {
		return 0, err
	}
	var id int64
	if err := s.pool.QueryRow(ctx, `SELECT COALESCE(max(id), 0) FROM notifications WHERE site = $1`, s.site).Scan(&id); err != nil {
		return 0, fmt.Errorf("sitestore: last notification: %w", err)
	}
	return id, nil
}

// Listen hears the order notifications of the store's site whose order
// number starts with prefix (a lane's: lane.OrderKey(site, lane, "")),
// on a connection of its own outside the pool. Once it is listening it
// calls listening (the moment to catch up with NotificationsAfter: from
// then on nothing is missed); then it calls f for each notification, in
// order, on its goroutine. It returns when ctx ends or the connection
// fails, with the error; the caller listens again (a lane retries with
// backoff, and polls meanwhile).
func (s *Store) Listen(ctx context.Context, prefix string, listening func(context.Context) error, f func(Notification)) error {
	return s.listenOnce(ctx, NotifyChannel, listening, func(payload string) {
		var n Notification
		if err := json.Unmarshal([]byte(payload), &n); err != nil {
			return // not ours: another writer on the channel
		}
		if n.Site != s.site || n.Kind != KindOrder || !strings.HasPrefix(n.No, prefix) {
			return
		}
		f(n)
	})
}
