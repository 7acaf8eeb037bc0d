package lane

import "testing"

// The text forms are the ledger's stored spellings; they must not move.
func TestStatusAndCauseText(t *testing.T) {
	statuses := map[OrderStatus]string{OrderUnknown: "new", OrderNotFound: "not_found", OrderCreated: "created", OrderPaid: "paid", OrderFailed: "failed"}
	for s, want := range statuses {
		b, err := s.MarshalText()
		if err != nil || string(b) != want {
			t.Errorf("%s: text %q %v, want %q", s, b, err, want)
		}
		var got OrderStatus = -1
		if err := got.UnmarshalText([]byte(want)); err != nil || got != s {
			t.Errorf("%q: read %s %v, want %s", want, got, err, s)
		}
	}
	var s OrderStatus
	if err := s.UnmarshalText([]byte("unknown")); err != nil || s != OrderUnknown {
		t.Errorf(`"unknown": %s %v`, s, err)
	}
	if err := s.UnmarshalText([]byte("PAID_SUCCESS")); err == nil {
		t.Error("PayBy's spelling read as a ledger status")
	}
	if _, err := OrderStatus(99).MarshalText(); err == nil {
		t.Error("out-of-range status has a text")
	}

	causes := map[Cause]string{CauseNone: "", CausePaid: "paid", CauseGrace: "grace", CauseExitGrace: "exit_grace", CauseValidation: "validation",
		CauseManual: "manual", CauseExempt: "exempt", CauseUnableToCollect: "unable_to_collect", CauseOverride: "override"}
	if len(causes) != len(causeNames) {
		t.Fatalf("%d causes tested, %d exist", len(causes), len(causeNames))
	}
	for c, want := range causes {
		b, err := c.MarshalText()
		if err != nil || string(b) != want {
			t.Errorf("%s: text %q %v, want %q", c, b, err, want)
		}
		var got Cause = -1
		if err := got.UnmarshalText([]byte(want)); err != nil || got != c {
			t.Errorf("%q: read %s %v, want %s", want, got, err, c)
		}
	}
	var c Cause
	if err := c.UnmarshalText([]byte("none")); err != nil || c != CauseNone {
		t.Errorf(`"none": %s %v`, c, err)
	}
	if err := c.UnmarshalText([]byte("free")); err == nil {
		t.Error("unknown cause read without error")
	}
}

func TestStateText(t *testing.T) {
	for s := Idle; int(s) < len(stateNames); s++ {
		var got State
		if err := got.UnmarshalText([]byte(s.String())); err != nil || got != s {
			t.Errorf("%s: read back %v, %v", s, got, err)
		}
	}
	var s State
	if err := s.UnmarshalText([]byte("state(99)")); err == nil {
		t.Error("an unknown state read without an error")
	}
}
