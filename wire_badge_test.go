package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
)

// An attendant's badge scanned at the lane goes to the display (which
// opens the PIN pad), never to the lane as a ticket; admin events reach
// the ledger's audit trail with the attendant's id.
func TestBadgeAndAdminAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := newSimRig(t, "1s")
	cfg, err := config.Load(rig.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	r, stop, err := startLaneWith(context.Background(), cfg, testLogger(t), laneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	waitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})

	var badges atomic.Int32
	setBadgeFilter(func(code string) bool {
		if code == "STAFF-A01" {
			badges.Add(1)
			return true
		}
		return false
	})
	defer setBadgeFilter(nil)

	before := r.Snapshot().Seq
	if err := rig.scanner.Send("STAFF-A01"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "badge seen by the display", 5*time.Second, func() bool { return badges.Load() == 1 })
	// A ticket scanned after the badge is served; the badge made no visit.
	if err := rig.scanner.Send(rig.ticket(t, 7001, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ticket's visit", 5*time.Second, func() bool { return r.Snapshot().Visit != 0 })
	if s := r.Snapshot(); s.Visit != 1 || s.Notice == lane.NoticeInvalid {
		t.Fatalf("after the badge: visit %d notice %s (seq %d -> %d)", s.Visit, s.Notice, before, s.Seq)
	}

	auditFn := auditLedger(r, testLogger(t))
	auditFn("A01", "pin_failed", "attempt 1 of 5")
	txs, err := r.Transactions(context.Background(), 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, tx := range txs {
		if tx.Kind == "audit" && tx.Attendant == "A01" && strings.Contains(tx.Status+tx.Reason, "pin_failed") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no audit row for the PIN attempt in %+v", txs)
	}
}
