package lane

import (
	"context"
	"testing"
	"time"
)

// recoveries returns the audit records the lane wrote by itself.
func (j *fakeJournal) recoveries() []AuditRec {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []AuditRec
	for _, r := range j.recs {
		if a, ok := r.(AuditRec); ok && a.Attendant == SystemActor {
			out = append(out, a)
		}
	}
	return out
}

func (w *world) wantRecoveries(reasons ...string) {
	w.t.Helper()
	got := w.j.recoveries()
	ok := len(got) == len(reasons)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Action == "recovered" && got[i].Reason == reasons[i]
	}
	if !ok {
		w.t.Fatalf("recoveries = %+v, want %q\n%s", got, reasons, w.out.String())
	}
}

func (w *world) device(d Device, s DeviceState) {
	w.note("%s %s", d, s)
	w.r.Device(d, s)
	w.sleep(100 * time.Millisecond)
}

// Devices that come back: a Fault with nothing in flight ends by itself
// when the device is back; one that interrupted a pulse or a payment, or
// that the ledger caused, waits for an attendant.
func TestDeviceScenarios(t *testing.T) {
	scenario(t, "relay_back_while_idle", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T140", 5*time.Minute)
		w.device(DevRelay, DeviceDown) // a USB glitch: the port is gone
		w.want(Fault)
		w.scan("T140") // refused while faulted
		w.want(Fault)
		w.wantRecoveries()
		w.device(DevRelay, DeviceOK) // ... and back
		w.want(Idle)
		w.wantRecoveries("relay back")
		w.scan("T140")
		w.want(Open)
		w.wantPulses(1)
		w.finish("relay_back_while_idle")
	})
	scenario(t, "relay_back_after_pulse_failed", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T141", 5*time.Minute)
		w.scan("T141") // free: the pulse is in flight
		w.want(Opening)
		w.gate.mu.Lock()
		w.gate.fail = true
		w.gate.mu.Unlock()
		w.device(DevRelay, DeviceDown)
		w.sleep(time.Second)
		w.want(Fault)
		w.gate.mu.Lock()
		w.gate.fail = false
		w.gate.mu.Unlock()
		w.device(DevRelay, DeviceOK)
		w.sleep(time.Minute)
		w.want(Fault) // the exit it authorised did not happen: an attendant decides
		w.wantRecoveries()
		if err := w.do(ClearFault{Attendant: "a1"}); err != nil {
			t.Fatal(err)
		}
		w.want(Idle)
		w.wantPulses(0)
		w.finish("relay_back_after_pulse_failed")
	})
	scenario(t, "relay_back_after_paid_visit", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T142", time.Hour)
		w.scan("T142")
		w.want(FeeDue)
		w.payNow("S-X1-142-1")
		w.device(DevRelay, DeviceDown) // before the lane heard of the payment
		w.want(Fault)
		u, _ := w.j.Unresolved(context.Background())
		if len(u) != 1 || u[0].Kind != UnresolvedPaidNotExited {
			t.Fatalf("payment that lost the race: %+v", u)
		}
		w.device(DevRelay, DeviceOK)
		w.sleep(time.Minute)
		w.want(Fault) // a paid driver waits at the barrier: an attendant decides
		w.wantRecoveries()
		if err := w.do(ClearFault{Attendant: "a1"}); err != nil {
			t.Fatal(err)
		}
		w.scan("T142") // within exit grace: opens without a second charge
		w.want(Open)
		w.wantPulses(1)
		w.finish("relay_back_after_paid_visit")
	})
	scenario(t, "scanner_back", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T143", time.Hour)
		w.device(DevScanner, DeviceDown)
		w.want(Fault)
		w.device(DevScanner, DeviceOK)
		w.want(Idle)
		w.wantRecoveries("scanner back")
		w.scan("T143")
		w.want(FeeDue)
		w.device(DevScanner, DeviceDown) // the visit can finish without it
		w.want(FeeDue)
		w.payNow("S-X1-143-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.sleep(10 * time.Second) // the vehicle has passed: nothing in flight
		w.want(Fault)
		w.device(DevScanner, DeviceOK)
		w.want(Idle)
		w.wantRecoveries("scanner back", "scanner back")
		w.finish("scanner_back")
	})
	scenario(t, "ledger_fault_outlives_devices", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T144", time.Hour)
		w.scan("T144")
		w.j.mu.Lock()
		w.j.fail = true
		w.j.mu.Unlock()
		w.payNow("S-X1-144-1")
		w.sleep(2 * time.Second)
		w.want(Fault)
		w.j.mu.Lock()
		w.j.fail = false
		w.j.mu.Unlock()
		w.device(DevRelay, DeviceDown)
		w.device(DevRelay, DeviceOK)
		w.device(DevScanner, DeviceDown)
		w.device(DevScanner, DeviceOK)
		w.sleep(time.Minute)
		w.want(Fault) // the ledger failed, not a device
		w.wantRecoveries()
		if err := w.do(ClearFault{Attendant: "a1"}); err != nil {
			t.Fatal(err)
		}
		w.want(Idle)
		w.wantPulses(0)
		w.finish("ledger_fault_outlives_devices")
	})
	scenario(t, "relay_and_scanner_back", func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.device(DevRelay, DeviceDown)
		w.device(DevScanner, DeviceDown)
		w.device(DevRelay, DeviceOK)
		w.want(Fault) // the scanner is still gone
		w.wantRecoveries()
		w.device(DevScanner, DeviceOK)
		w.want(Idle)
		w.wantRecoveries("scanner back")
		w.note("lane closed while the relay is gone: back to closed, not idle")
		w.do(CloseLane{Attendant: "a1", Reason: "cleaning"})
		w.device(DevRelay, DeviceDown)
		w.want(Closed)
		w.do(OpenLane{Attendant: "a1"})
		w.want(Fault)
		w.do(CloseLane{Attendant: "a1", Reason: "cleaning"})
		w.device(DevRelay, DeviceOK)
		w.want(Closed)
		w.wantRecoveries("scanner back", "relay back")
		w.finish("relay_and_scanner_back")
	})
}
