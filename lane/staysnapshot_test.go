package lane

import (
	"testing"
	"time"
)

// The fee screen shows the stay that was priced, not one that keeps
// growing while the driver pays (a stay shown as 3 h 1 min beside the fee
// for 2 h 59 min reads as a wrong price).
func TestSnapshotStayIsThePricedStay(t *testing.T) {
	h := newHistory()
	ev := checkedDue(1, 1000)
	ev.Quote.Stay = time.Hour
	for _, e := range []Event{Scanned{Code: "T7"}, ev} {
		if _, err := h.step(t, tt0, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.m.Snapshot(tt0.Add(2 * time.Minute)).Stay; got != time.Hour {
		t.Errorf("stay two minutes into paying = %v, want the priced 1h0m0s", got)
	}
}
