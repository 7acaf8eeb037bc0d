package lane

import "testing"

// The admin screen asks for a reason when closing the lane; the audit row
// keeps it (it used to be dropped). Without one the lane still closes.
func TestCloseLaneRecordsReason(t *testing.T) {
	for _, reason := range []string{"cleaning", ""} {
		h := newHistory()
		cmds, err := h.step(t, tt0, Acted{Action: CloseLane{Attendant: "a1", Reason: reason}})
		if err != nil {
			t.Fatalf("close with reason %q: %v", reason, err)
		}
		var got []AuditRec
		for _, c := range cmds {
			if w, ok := c.(Write); ok {
				if a, ok := w.Rec.(AuditRec); ok {
					got = append(got, a)
				}
			}
		}
		if len(got) != 1 || got[0].Reason != reason || got[0].Action != "close_lane" || got[0].Attendant != "a1" {
			t.Errorf("close with reason %q: audit rows %+v", reason, got)
		}
		if h.m.State() != Closed {
			t.Errorf("close with reason %q: state %s", reason, h.m.State())
		}
	}
}
