package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
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
