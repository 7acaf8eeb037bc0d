package station_test

// The receipt printer in the assembled lane: the real ledger, the PayBy
// sandbox, the pty relay and scanner, and the ESC/POS printer emulator on
// a pty (sim.Printer).

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/sim"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/station"
)

// printerRig is a rig with a printer emulator and a config with a TRN and
// 5 % VAT; the paid screen ("barrier open") stays for opened.
func printerRig(t *testing.T, autoPrint bool, opened time.Duration) (*simtest.Rig, *sim.Printer, *config.Config) {
	t.Helper()
	rig := simtest.New(t, "1s")
	pr, err := sim.NewPrinter(sim.PrinterOptions{Width: 80})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pr.Close() })
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Printer.Port, cfg.Printer.AutoPrint = pr.Path(), autoPrint
	cfg.Site.TRN, cfg.Site.Address = "100123456700003", "Sheikh Zayed Road, Dubai"
	cfg.Tariff.VATPercent = 500
	cfg.Lane.Opened = opened
	return rig, pr, cfg
}

// payVisit presents a ticket that entered ago, pays its order at the
// sandbox and waits for the n-th pulse; it returns the visit.
func payVisit(t *testing.T, rig *simtest.Rig, r *lane.Runner, serial uint64, ago time.Duration, n int) lane.Snapshot {
	t.Helper()
	simtest.WaitFor(t, "idle", 10*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	if err := rig.Scanner.Send(rig.Ticket(t, serial, ago)); err != nil {
		t.Fatal(err)
	}
	no := fmt.Sprintf("GRG01-X1-%d-1", serial)
	simtest.WaitFor(t, "QR "+no, 5*time.Second, func() bool { return r.Snapshot().MerchantOrderNo == no && r.Snapshot().TokenURL != "" })
	if err := rig.Sandbox.Pay(no); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "pulse", 5*time.Second, func() bool { m, _ := rig.Pulses(); return m == n })
	simtest.WaitFor(t, "open", 5*time.Second, func() bool { return r.Snapshot().State == lane.Open })
	return r.Snapshot()
}

// printer.auto_print: a paid exit prints its receipt, a simplified tax
// invoice with the PayBy order number and the VAT the ledger booked.
func TestReceiptAutoPrintToEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig, pr, cfg := printerRig(t, true, 30*time.Second)
	r, stop := start(t, cfg, station.Options{Logger: simtest.Logger()})
	simtest.WaitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK && h.Printer == lane.DeviceOK
	})
	s := payVisit(t, rig, r, 1001, 2*time.Hour+10*time.Minute, 1) // AED 20.00
	simtest.WaitFor(t, "receipt", 10*time.Second, func() bool { return len(pr.Printouts()) == 1 })
	text := pr.Printouts()[0].Text
	for _, want := range []string{
		"|             T e s t   G a r a g e              | bold wide tall", "TRN 100123456700003", "Simplified tax invoice", "|Lane                                          X1|",
		"|Ticket                                      1001|", "|Parking fee                            AED 20.00|",
		"|Total paid                             AED 20.00| bold tall", "|Amount excl. VAT                       AED 19.05|",
		"|VAT 5% included                         AED 0.95|", "|Paid with PayBy, order           GRG01-X1-1001-1|",
		"[QR M 6: GRG01-X1-1001-1]", "(cut)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	simtest.WaitFor(t, "printed on screen", 5*time.Second, func() bool { return r.Snapshot().Receipt == lane.ReceiptPrinted })
	if s.Cause != lane.CausePaid || s.State != lane.Open {
		t.Fatalf("paid screen: %+v", s)
	}
	// Printed once: the driver's button is not offered again.
	if err := r.Do(context.Background(), lane.Receipt{Visit: s.Visit}); err == nil {
		t.Fatal("a second receipt of a printed one")
	}

	// The ledger booked the VAT the receipt shows.
	stop()
	db, err := ledger.Open(context.Background(), cfg.Ledger.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tot, err := db.Totals(context.Background(), time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil || tot.Collected != 2000 || tot.VAT != 95 || tot.Net != 1905 {
		t.Fatalf("totals %+v, %v", tot, err)
	}
}

// A printer out of paper, or unplugged, never holds up the exit: the
// barrier opens, the lane stays in service, the printer shows down to the
// attendant with a history line, and the driver's screen says no receipt
// (and may ask again once paper is loaded).
func TestReceiptPrinterFaultsNeverBlockTheExit(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	rig, pr, cfg := printerRig(t, true, 5*time.Second)
	pr.SetPaperOut(true)
	r, _ := start(t, cfg, station.Options{Logger: simtest.Logger()})
	simtest.WaitFor(t, "devices up", 5*time.Second, func() bool {
		h := r.Snapshot().Health
		return h.Relay == lane.DeviceOK && h.Scanner == lane.DeviceOK
	})
	// The first paper check, a few seconds after start, finds the roll
	// empty.
	simtest.WaitFor(t, "printer down", 10*time.Second, func() bool { return r.Snapshot().Health.Printer == lane.DeviceDown })
	if st := r.Snapshot().State; st != lane.Idle {
		t.Fatalf("the lane is %s with the printer down", st)
	}

	// 1. Out of paper: out all the same.
	s := payVisit(t, rig, r, 2001, time.Hour, 1)
	simtest.WaitFor(t, "no receipt", 10*time.Second, func() bool { return r.Snapshot().Receipt == lane.ReceiptFailed })
	if len(pr.Printouts()) != 0 {
		t.Fatalf("printed without paper: %q", pr.Printouts()[0].Text)
	}
	ctx := context.Background()
	simtest.WaitFor(t, "history line", 5*time.Second, func() bool {
		txs, _ := r.Transactions(ctx, 0, 20)
		for _, tx := range txs {
			if tx.Kind == "audit" && tx.Status == "receipt_failed" && tx.Visit == s.Visit && strings.Contains(tx.Reason, "out of paper") {
				return true
			}
		}
		return false
	})
	// Paper loaded: the driver presses "Receipt" again.
	pr.SetPaperOut(false)
	if err := r.Do(ctx, lane.Receipt{Visit: s.Visit}); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "printed", 10*time.Second, func() bool { return r.Snapshot().Receipt == lane.ReceiptPrinted })
	simtest.WaitFor(t, "printer ok", 5*time.Second, func() bool { return r.Snapshot().Health.Printer == lane.DeviceOK })
	if n := len(pr.Printouts()); n != 1 || !strings.Contains(pr.Printouts()[0].Text, "GRG01-X1-2001-1") {
		t.Fatalf("printouts %d", n)
	}
	if err := r.Do(ctx, lane.Receipt{Visit: s.Visit}); err == nil {
		t.Fatal("a second copy")
	}

	// 2. Unplugged: the lane sees it go, the next paid exit opens.
	pr.Unplug()
	simtest.WaitFor(t, "printer unplugged", 10*time.Second, func() bool { return r.Snapshot().Health.Printer == lane.DeviceDown })
	s = payVisit(t, rig, r, 2002, time.Hour, 2)
	simtest.WaitFor(t, "no receipt", 10*time.Second, func() bool { return r.Snapshot().Receipt == lane.ReceiptFailed })
	if st := r.Snapshot().State; st != lane.Open {
		t.Fatalf("state %s after a receipt failed", st)
	}
	if err := pr.Replug(); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "printer back", 10*time.Second, func() bool { return r.Snapshot().Health.Printer == lane.DeviceOK })
	if err := r.Do(ctx, lane.Receipt{Visit: s.Visit}); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "printed after the replug", 10*time.Second, func() bool { return len(pr.Printouts()) == 2 })
	if !strings.Contains(pr.Printouts()[1].Text, "GRG01-X1-2002-1") {
		t.Fatalf("second receipt:\n%s", pr.Printouts()[1].Text)
	}
	if n, _ := rig.Pulses(); n != 2 {
		t.Fatalf("pulses %d", n)
	}
}
