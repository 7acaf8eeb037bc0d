package lane

import (
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A fee the tariff cannot compute is never charged as a guess: the ticket
// is refused with a notice, no order is made and no barrier opens.
func TestQuoteErrorRefusesTicket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.tk.quoteErr = errors.New("ticket: fee overflows")
		w.ticket("T1", 3*time.Hour)
		w.scan("T1")
		snap := w.r.Snapshot()
		if snap.State != Notice || snap.Notice != NoticeInvalid {
			t.Fatalf("state %v notice %v, want notice %v", snap.State, snap.Notice, NoticeInvalid)
		}
		w.pay.mu.Lock()
		orders := len(w.pay.orders)
		w.pay.mu.Unlock()
		if orders != 0 {
			t.Fatalf("%d orders created", orders)
		}
		w.gate.mu.Lock()
		pulses := len(w.gate.pulses)
		w.gate.mu.Unlock()
		if pulses != 0 {
			t.Fatalf("barrier opened %d times", pulses)
		}
		if !strings.Contains(w.logs.text(), "fee cannot be computed") {
			t.Fatal("no ERROR log line for the fee")
		}
		w.stop()
	})
}
