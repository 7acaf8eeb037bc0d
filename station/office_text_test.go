package station

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/exitlane/exitlane/lane"
)

// TestScreenTextIsTheKiosks: the office reads the kiosk's own English
// words (assets/i18n/en.json, read as a file: station does not import
// assets).
func TestScreenTextIsTheKiosks(t *testing.T) {
	b, err := os.ReadFile("../assets/i18n/en.json")
	if err != nil {
		t.Fatal(err)
	}
	var en map[string]any
	if err := json.Unmarshal(b, &en); err != nil {
		t.Fatal(err)
	}
	for k, text := range noticeText {
		if got := en["notice."+k.String()]; got != text {
			t.Errorf("notice %s: %q here, %q on the kiosk", k, text, got)
		}
	}
	for key, text := range map[string]string{
		"welcome.title": textWelcome, "welcome.closed": textClosed, "welcome.starting": textStarting,
		"checking.title": textChecking, "fee.preparing": textPrepare, "opening.title": textOpening,
		"opening.paid": textPaid, "opening.free": textFree, "opening.attendant": textManual,
		"open.title": textOpen, "call.on_the_way": textCalled,
	} {
		if en[key] != text {
			t.Errorf("%s: %q here, %q on the kiosk", key, text, en[key])
		}
	}
	// Every notice has its words.
	for k := lane.NoticeInvalid; !strings.HasPrefix(k.String(), "notice("); k++ {
		if noticeText[k] == "" {
			t.Errorf("notice %s has no words for the office", k)
		}
	}
}

func TestScreenText(t *testing.T) {
	ready := lane.Snapshot{Ready: true, LaneOpen: true}
	with := func(f func(*lane.Snapshot)) lane.Snapshot { s := ready; f(&s); return s }
	for _, c := range []struct {
		s    lane.Snapshot
		want string
	}{
		{lane.Snapshot{}, "Starting, please wait"},
		{ready, "Scan your ticket"},
		{with(func(s *lane.Snapshot) { s.State = lane.Checking }), "Checking your ticket"},
		{with(func(s *lane.Snapshot) { s.State, s.Due, s.TokenURL = lane.FeeDue, 1500, "https://x" }), "AED 15.00 due, QR shown"},
		{with(func(s *lane.Snapshot) { s.State, s.Due = lane.FeeDue, 1500 }), "AED 15.00 due, Preparing your payment code"},
		{with(func(s *lane.Snapshot) { s.State, s.Due, s.Notice = lane.FeeDue, 1500, lane.NoticePaymentUnavailable }),
			"AED 15.00 due, Payment is unavailable right now, call attendant"},
		{with(func(s *lane.Snapshot) { s.State, s.Cause = lane.Opening, lane.CausePaid }), "Paid, thank you: The barrier is opening"},
		{with(func(s *lane.Snapshot) { s.State, s.Cause = lane.Opening, lane.CauseGrace }), "No charge: The barrier is opening"},
		{with(func(s *lane.Snapshot) { s.State, s.Cause = lane.Opening, lane.CauseManual }), "Opened by the attendant: The barrier is opening"},
		{with(func(s *lane.Snapshot) { s.State = lane.Open }), "Please drive on"},
		{with(func(s *lane.Snapshot) { s.State, s.Notice = lane.Notice, lane.NoticeAlreadyUsed }), "This ticket has already been used to exit"},
		{with(func(s *lane.Snapshot) { s.State, s.Notice = lane.Fault, lane.NoticeBarrierFault }), "The barrier did not open"},
		{with(func(s *lane.Snapshot) { s.State = lane.Fault }), "This lane has a technical fault"},
		{with(func(s *lane.Snapshot) { s.State, s.LaneOpen = lane.Closed, false }), "This lane is closed"},
		{with(func(s *lane.Snapshot) { s.AttendantCalled = true }), "Scan your ticket (An attendant is on the way)"},
	} {
		if got := screenText(c.s); got != c.want {
			t.Errorf("%s/%s: %q, want %q", c.s.State, c.s.Notice, got, c.want)
		}
	}
}
