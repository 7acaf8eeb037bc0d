package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgcluster"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sitestore"
	"github.com/exitlane/exitlane/station"
	"github.com/exitlane/exitlane/ui"
)

// TestSimControls drives the simulation panel's controls against a real
// simulated lane (sandbox, ptys, ledger), with no display.
func TestSimControls(t *testing.T) {
	if testing.Short() {
		t.Skip("simulated lane")
	}
	world, err := NewWorld(WorldOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := world.Open(ctx, station.Options{}); err != nil {
		t.Fatal(err)
	}
	go world.Run(ctx)
	r := world.Runner()
	var frames atomic.Int32
	world.OnRelayFrame(func() { frames.Add(1) })
	wait := func(what string, f func(lane.Snapshot) bool) lane.Snapshot {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if s := r.Snapshot(); f(s) {
				return s
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s: %+v", what, r.Snapshot())
		return lane.Snapshot{}
	}
	wait("devices up", func(s lane.Snapshot) bool {
		return s.Ready && s.Health.Scanner == lane.DeviceOK && s.Health.Relay == lane.DeviceOK
	})

	// Present a ticket, pay through the checkout page, the vehicle passes.
	if _, err := world.Present(ui.TicketValid, 137*time.Minute); err != nil {
		t.Fatal(err)
	}
	s := wait("QR", func(s lane.Snapshot) bool { return s.TokenURL != "" })
	if s.Due.String() != "AED 20.00" { // 10.00 first hour + 2 started hours at 5.00
		t.Errorf("due %s for 2 h 17 min, want AED 20.00", s.Due)
	}
	if got := world.Status().CheckoutURL; got != s.TokenURL {
		t.Errorf("status checkout %q, want %q", got, s.TokenURL)
	}
	if err := world.Pay(false); err != nil {
		t.Fatal(err)
	}
	wait("open", func(s lane.Snapshot) bool { return s.State == lane.Open })
	if err := world.VehiclePasses(); err != nil {
		t.Fatal(err)
	}
	wait("idle", func(s lane.Snapshot) bool { return s.State == lane.Idle })
	st := world.Status()
	if st.RelayPulses != 1 || len(st.Ledger) == 0 {
		t.Errorf("status after a paid exit: %+v", st)
	}
	// The panel shows the ledger's times in the site's zone, not the
	// machine's.
	if st.Location == nil || st.Location.String() != "Asia/Dubai" {
		t.Errorf("status time zone %v, want the site's Asia/Dubai", st.Location)
	}
	if n := frames.Load(); n < 2 {
		t.Errorf("OnRelayFrame called %d times after a pulse (on and off), want at least 2", n)
	}

	// The same ticket again is refused.
	time.Sleep(1100 * time.Millisecond)
	if _, err := world.Present(ui.TicketUsed, 0); err != nil {
		t.Fatal(err)
	}
	wait("already used", func(s lane.Snapshot) bool { return s.Notice == lane.NoticeAlreadyUsed })
	wait("idle", func(s lane.Snapshot) bool { return s.State == lane.Idle })

	// Decline on the phone: the lane reports the failed payment.
	if _, err := world.Present(ui.TicketValid, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	wait("QR", func(s lane.Snapshot) bool { return s.TokenURL != "" })
	if err := world.Pay(true); err != nil {
		t.Fatal(err)
	}
	if err := r.Do(ctx, lane.Cancel{}); err != nil {
		t.Fatal(err)
	}
	wait("idle", func(s lane.Snapshot) bool { return s.State == lane.Idle })

	// A lost ticket: the attendant's action prices the lost-ticket fee.
	if _, err := world.Present(ui.TicketLost, 0); err != nil {
		t.Fatal(err)
	}
	if s := wait("lost-ticket QR", func(s lane.Snapshot) bool { return s.TokenURL != "" }); s.Due.String() != "AED 150.00" {
		t.Errorf("lost ticket due %s, want AED 150.00", s.Due)
	}
	if err := r.Do(ctx, lane.Cancel{}); err != nil {
		t.Fatal(err)
	}
	wait("idle", func(s lane.Snapshot) bool { return s.State == lane.Idle })

	// Unplug and replug the relay: the lane sees it go and come back.
	if err := world.Plug("relay", false); err != nil {
		t.Fatal(err)
	}
	wait("relay down", func(s lane.Snapshot) bool { return s.Health.Relay == lane.DeviceDown })
	if err := world.Plug("relay", true); err != nil {
		t.Fatal(err)
	}
	wait("relay up", func(s lane.Snapshot) bool { return s.Health.Relay == lane.DeviceOK })
	if s := r.Snapshot(); s.State == lane.Fault {
		if err := r.Do(ctx, lane.ClearFault{Attendant: "sim"}); err != nil {
			t.Fatal(err)
		}
	}

	// PayBy unreachable: no QR, payment unavailable.
	if err := world.SetPayBy(ui.PayByUnreachable); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := world.Present(ui.TicketValid, 4*time.Hour); err != nil {
		t.Fatal(err)
	}
	wait("payment unavailable", func(s lane.Snapshot) bool { return s.Notice == lane.NoticePaymentUnavailable })
	if err := world.SetPayBy(ui.PayByOK); err != nil {
		t.Fatal(err)
	}
	if n := world.Status().RelayPulses; n != 1 {
		t.Errorf("relay pulses %d, want 1", n)
	}
	if len(world.Status().Ledger) == 0 {
		t.Error("empty ledger tail")
	}
	txs, err := r.Transactions(ctx, 0, 200)
	if err != nil {
		t.Fatal(err)
	}
	paid := 0
	for _, x := range txs {
		if x.Cause == lane.CausePaid {
			paid++
		}
	}
	if paid == 0 {
		t.Errorf("no paid exit in the ledger: %+v", txs)
	}
}

// With WorldOptions.Printer the world has a receipt printer on a pty and
// a VAT-registered site: a paid exit prints a simplified tax invoice,
// kept as text (LastReceipt) and saved beside the ledger.
func TestWorldPrintsReceipts(t *testing.T) {
	if testing.Short() {
		t.Skip("simulated lane")
	}
	dir := t.TempDir()
	world, err := NewWorld(WorldOptions{Dir: dir, Printer: 58, AutoPrint: true})
	if err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	if world.Printer() == nil || world.Config().Printer.Port != world.Printer().Path() || !world.Config().Printer.AutoPrint ||
		world.Config().Tariff.VATPercent != 500 || world.Config().Site.TRN == "" {
		t.Fatalf("config: printer %+v, VAT %s, TRN %q", world.Config().Printer, world.Config().Tariff.VATPercent, world.Config().Site.TRN)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := world.Open(ctx, station.Options{}); err != nil {
		t.Fatal(err)
	}
	go world.Run(ctx)
	r := world.Runner()
	waitFor := func(what string, f func() bool) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !f() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, r.Snapshot())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("devices up", func() bool {
		h := r.Snapshot().Health
		return h.Scanner == lane.DeviceOK && h.Relay == lane.DeviceOK && h.Printer == lane.DeviceOK
	})
	if _, err := world.Present(ui.TicketValid, 137*time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor("QR", func() bool { return r.Snapshot().TokenURL != "" })
	no := r.Snapshot().MerchantOrderNo
	if err := world.Pay(false); err != nil {
		t.Fatal(err)
	}
	waitFor("receipt", func() bool { return world.LastReceipt() != "" })
	text := world.LastReceipt()
	for _, want := range []string{"Simplified tax invoice", "|VAT 5% included         AED 0.95|", no, "[QR M 6: " + no + "]"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	if saved, err := os.ReadFile(filepath.Join(dir, "receipt-001.txt")); err != nil || string(saved) != text {
		t.Errorf("saved receipt: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "receipt-001.png")); err != nil {
		t.Error(err)
	}
}

// Two lanes of one site share the sandbox and a site store the world
// starts itself (PostgreSQL in its directory): a ticket that exits at X1
// is "already used" at X2, and both lanes' records reach the store.
func TestWorldTwoLanesOneExit(t *testing.T) {
	if testing.Short() {
		t.Skip("simulated lanes and PostgreSQL")
	}
	if _, err := pgcluster.BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	if _, err := NewWorld(WorldOptions{Lanes: MaxLanes + 1}); err == nil {
		t.Fatal("a world of too many lanes")
	}
	world, err := NewWorld(WorldOptions{Lanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		dir := world.Dir()
		if err := world.Close(); err != nil {
			t.Error(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s left behind: %v", dir, err)
		}
	}()
	if world.StoreCluster() == nil || world.StoreURL() == "" {
		t.Fatal("no site store of the world's own")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := world.Open(ctx, station.Options{}); err != nil {
		t.Fatal(err)
	}
	go world.Run(ctx)
	x1, x2 := world.Lane("X1"), world.Lane("X2")
	if x1 == nil || x2 == nil || world.Lane("X3") != nil || x1.Config().Ledger.Path == x2.Config().Ledger.Path {
		t.Fatalf("lanes %v", world.Lanes())
	}
	wait := func(l *WorldLane, what string, f func(lane.Snapshot) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !f(l.Runner().Snapshot()) {
			if time.Now().After(deadline) {
				t.Fatalf("lane %s: timed out waiting for %s: %+v", l.ID(), what, l.Runner().Snapshot())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, l := range world.Lanes() {
		wait(l, "devices up", func(s lane.Snapshot) bool {
			return s.Ready && s.Health.Scanner == lane.DeviceOK && s.Health.Relay == lane.DeviceOK
		})
	}

	// At X1 (the panel's first lane): inside the grace period, out free.
	if _, err := world.Present(ui.TicketValid, 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	wait(x1, "open", func(s lane.Snapshot) bool { return s.State == lane.Open })
	// The same ticket at X2: already used, site-wide.
	if err := world.SetLane("X2"); err != nil {
		t.Fatal(err)
	}
	if err := world.SetLane("X9"); err == nil {
		t.Fatal("chose a lane that does not exist")
	}
	if _, err := world.Present(ui.TicketUsed, 0); err != nil {
		t.Fatal(err)
	}
	wait(x2, "already used", func(s lane.Snapshot) bool { return s.Notice == lane.NoticeAlreadyUsed })
	if n, m := pulses(x1.Relay()), pulses(x2.Relay()); n != 1 || m != 0 {
		t.Fatalf("pulses X1 %d, X2 %d; want 1 and 0", n, m)
	}
	st := world.Status()
	if st.Lane != "X2" || len(st.Lanes) != 2 || st.Lanes[0].RelayPulses != 1 || st.Lanes[1].Snapshot.Notice != lane.NoticeAlreadyUsed {
		t.Errorf("status %+v", st)
	}

	// Both lanes' ledgers reach the store: one exit, at X1; X2's visit refused.
	s, err := sitestore.New(world.StoreURL(), sitestore.Options{Site: "SIM"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, l := range world.Lanes() {
		last, err := l.Station().Ledger().OutboxSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			got, err := s.LastSeq(ctx, l.ID())
			if err == nil && got == last && l.Station().StoreHealth().Up {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lane %s: store at %d (%v), ledger at %d", l.ID(), got, err, last)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var exits int
	var exitLane string
	if err := s.Pool().QueryRow(ctx, `SELECT count(*), max(lane) FROM exits WHERE site = 'SIM'`).Scan(&exits, &exitLane); err != nil {
		t.Fatal(err)
	}
	var refused string
	if err := s.Pool().QueryRow(ctx, `SELECT refused FROM visits WHERE site = 'SIM' AND lane = 'X2'`).Scan(&refused); err != nil {
		t.Fatal(err)
	}
	if exits != 1 || exitLane != "X1" || refused != lane.NoticeAlreadyUsed.String() {
		t.Errorf("store: %d exits (lane %s), X2's visit refused %q", exits, exitLane, refused)
	}
	if st := world.Status(); st.Lanes[0].Store != "up" || st.Lanes[1].Store != "up" {
		t.Errorf("store as the lanes see it: %q, %q", st.Lanes[0].Store, st.Lanes[1].Store)
	}
}
