package main

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/station"
)

// An attendant's badge scanned at the lane goes to the display (which
// opens the PIN pad) through the badge hook, never to the lane as a
// ticket; admin events reach the ledger's audit trail with the
// attendant's id.
func TestBadgeAndAdminAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	hook := &badgeHook{}
	st, err := station.Open(context.Background(), cfg, station.Options{Logger: simtest.Logger(), ScanFilter: hook.scan})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	go st.Run(context.Background())
	r := st.Runner()
	simtest.WaitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})

	var badges atomic.Int32
	hook.set(func(code string) bool {
		if code == "STAFF-A01" {
			badges.Add(1)
			return true
		}
		return false
	})
	defer hook.set(nil)

	before := r.Snapshot().Seq
	if err := rig.Scanner.Send("STAFF-A01"); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "badge seen by the display", 5*time.Second, func() bool { return badges.Load() == 1 })
	// A ticket scanned after the badge is served; the badge made no visit.
	if err := rig.Scanner.Send(rig.Ticket(t, 7001, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the ticket's visit", 5*time.Second, func() bool { return r.Snapshot().Visit != 0 })
	if s := r.Snapshot(); s.Visit != 1 || s.Notice == lane.NoticeInvalid {
		t.Fatalf("after the badge: visit %d notice %s (seq %d -> %d)", s.Visit, s.Notice, before, s.Seq)
	}

	auditFn := auditLedger(r, simtest.Logger())
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

// The hook holds nothing back until the display installs its check, and
// nothing after it removed it.
func TestBadgeHook(t *testing.T) {
	var h badgeHook
	if h.scan("STAFF-A01") {
		t.Fatal("held back with no display")
	}
	h.set(func(code string) bool { return code == "STAFF-A01" })
	if !h.scan("STAFF-A01") || h.scan("EL1:GRG01:E1:42:1772431200:C3C4CDEC411498DF") {
		t.Fatal("the display's check is not applied")
	}
	h.set(nil)
	if h.scan("STAFF-A01") {
		t.Fatal("held back after the display closed")
	}
}
