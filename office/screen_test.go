package office

import (
	"strings"
	"testing"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/sitestore"
)

func words(t *testing.T) screenWords {
	t.Helper()
	w, err := loadScreenWords()
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// The office shows a lane's screen in the kiosk's English words, composed
// as it always was: every state, every notice and every cause.
func TestScreenText(t *testing.T) {
	w := words(t)
	ready := sitestore.LaneStatus{Lane: "A", State: "idle", Ready: true, LaneOpen: true}
	with := func(f func(*sitestore.LaneStatus)) sitestore.LaneStatus { s := ready; f(&s); return s }
	state := func(st string) sitestore.LaneStatus { return with(func(s *sitestore.LaneStatus) { s.State = st }) }
	notice := func(st string, n lane.NoticeKind) sitestore.LaneStatus {
		return with(func(s *sitestore.LaneStatus) { s.State, s.Notice = st, n.String() })
	}
	due := func(d money.Fils, qr bool, n lane.NoticeKind) sitestore.LaneStatus {
		return with(func(s *sitestore.LaneStatus) {
			s.State, s.Due, s.Fee, s.QR = "fee_due", d, d, qr
			if n != lane.NoticeNone {
				s.Notice = n.String()
			}
		})
	}
	opening := func(st string, c lane.Cause) sitestore.LaneStatus {
		return with(func(s *sitestore.LaneStatus) {
			s.State = st
			if c != lane.CauseNone {
				s.Cause = c.String()
			}
		})
	}
	called := func(s sitestore.LaneStatus) sitestore.LaneStatus { s.AttendantCalled = true; return s }
	for _, c := range []struct {
		name string
		st   sitestore.LaneStatus
		want string
	}{
		{"never published", sitestore.LaneStatus{Lane: "A", State: sitestore.StateUnknown}, ""},
		{"starting", sitestore.LaneStatus{Lane: "A", State: "idle"}, "Starting, please wait"},
		// As the kiosk: "starting" only on the welcome screen; a closed
		// lane, or an idle one the attendant closed, says it is closed.
		{"starting, closed", sitestore.LaneStatus{Lane: "A", State: "closed"}, "This lane is closed"},
		{"not ready, checking", sitestore.LaneStatus{Lane: "A", State: "checking"}, "Checking your ticket"},
		{"idle, closed by the attendant", with(func(s *sitestore.LaneStatus) { s.LaneOpen = false }), "This lane is closed"},
		{"idle", ready, "Scan your ticket"},
		{"checking", state("checking"), "Checking your ticket"},
		{"closed", with(func(s *sitestore.LaneStatus) { s.State, s.LaneOpen = "closed", false }), "This lane is closed"},

		{"fee due, QR", due(1500, true, lane.NoticeNone), "AED 15.00 due, QR shown"},
		{"fee due, QR, 20", due(2000, true, lane.NoticeNone), "AED 20.00 due, QR shown"},
		{"fee due, preparing", due(1500, false, lane.NoticeNone), "AED 15.00 due, Preparing your payment code"},
		{"fee due, fils", due(1205, true, lane.NoticeNone), "AED 12.05 due, QR shown"},
		{"fee due, payment unavailable", due(1500, false, lane.NoticePaymentUnavailable),
			"AED 15.00 due, Payment is unavailable right now, call attendant"},
		{"fee due, payment failed", due(1500, false, lane.NoticePaymentFailed), "AED 15.00 due, The payment did not go through"},
		{"fee due, expired", due(1500, false, lane.NoticeExpired), "AED 15.00 due, The time to pay has run out"},
		// The kiosk's reason line for "call the attendant" (its own words
		// are the kiosk's next step).
		{"fee due, call attendant", due(90000, false, lane.NoticeCallAttendant), "AED 900.00 due, This fee is paid to the attendant"},
		{"fee due, a notice before the QR", due(1500, true, lane.NoticePaymentFailed), "AED 15.00 due, The payment did not go through"},

		{"opening, paid", opening("opening", lane.CausePaid), "Paid, thank you: The barrier is opening"},
		{"opening, grace", opening("opening", lane.CauseGrace), "No charge: The barrier is opening"},
		{"opening, exit grace", opening("opening", lane.CauseExitGrace), "No charge: The barrier is opening"},
		{"opening, validation", opening("opening", lane.CauseValidation), "No charge: The barrier is opening"},
		{"opening, no cause", opening("opening", lane.CauseNone), "No charge: The barrier is opening"},
		{"opening, manual", opening("opening", lane.CauseManual), "Opened by the attendant: The barrier is opening"},
		{"opening, exempt", opening("opening", lane.CauseExempt), "Opened by the attendant: The barrier is opening"},
		{"opening, unable to collect", opening("opening", lane.CauseUnableToCollect), "Opened by the attendant: The barrier is opening"},
		{"opening, override", opening("opening", lane.CauseOverride), "Opened by the attendant: The barrier is opening"},
		{"opening, a cause of a newer lane", with(func(s *sitestore.LaneStatus) { s.State, s.Cause = "opening", "teleport" }),
			"No charge: The barrier is opening"},
		{"open, paid", opening("open", lane.CausePaid), "Please drive on"},
		{"open, manual", opening("open", lane.CauseManual), "Please drive on"},

		{"notice, invalid", notice("notice", lane.NoticeInvalid), "This ticket cannot be read"},
		{"notice, forged", notice("notice", lane.NoticeForged), "This ticket is not valid"},
		{"notice, already used", notice("notice", lane.NoticeAlreadyUsed), "This ticket has already been used to exit"},
		{"notice, expired", notice("notice", lane.NoticeExpired), "The time to pay has run out"},
		{"notice, payment unavailable", notice("notice", lane.NoticePaymentUnavailable), "Payment is unavailable right now"},
		{"notice, payment failed", notice("notice", lane.NoticePaymentFailed), "The payment did not go through"},
		{"notice, device fault", notice("notice", lane.NoticeDeviceFault), "This lane has a technical fault"},
		{"notice, lane closed", notice("notice", lane.NoticeLaneClosed), "This lane is closed"},
		{"notice, other site", notice("notice", lane.NoticeOtherSite), "This ticket belongs to another car park"},
		{"notice, future entry", notice("notice", lane.NoticeFutureEntry), "The entry time on this ticket is wrong"},
		{"notice, paid not exited", notice("notice", lane.NoticePaidNotExited), "Your ticket is already paid"},
		{"notice, cancelled", notice("notice", lane.NoticeCancelled), "Payment cancelled"},
		{"notice, call attendant", notice("notice", lane.NoticeCallAttendant), "This fee is paid to the attendant"},
		{"notice, ledger fault", notice("notice", lane.NoticeLedgerFault), "This lane has a technical fault"},
		{"notice, barrier fault", notice("notice", lane.NoticeBarrierFault), "The barrier did not open"},
		{"notice, a kind of a newer lane", with(func(s *sitestore.LaneStatus) { s.State, s.Notice = "notice", "teleported" }), "teleported"},
		{"notice, none", state("notice"), "notice"},

		{"fault", state("fault"), "This lane has a technical fault"},
		{"fault, barrier", notice("fault", lane.NoticeBarrierFault), "The barrier did not open"},
		{"fault, ledger", notice("fault", lane.NoticeLedgerFault), "This lane has a technical fault"},
		{"fault, device", notice("fault", lane.NoticeDeviceFault), "This lane has a technical fault"},
		{"a state of a newer lane", state("levitating"), "levitating"},

		{"called, idle", called(ready), "Scan your ticket (An attendant is on the way)"},
		{"called, fee due", called(due(1500, false, lane.NoticePaymentUnavailable)),
			"AED 15.00 due, Payment is unavailable right now, call attendant (An attendant is on the way)"},
		{"called, fault", called(notice("fault", lane.NoticeBarrierFault)), "The barrier did not open (An attendant is on the way)"},
		{"called, starting", called(sitestore.LaneStatus{Lane: "A", State: "idle"}), "Starting, please wait (An attendant is on the way)"},
	} {
		if got := w.screen(c.st); got != c.want {
			t.Errorf("%s (%+v): %q, want %q", c.name, c.st, got, c.want)
		}
	}
}

// Every notice kind the lane defines has the kiosk's words: the office
// never shows a bare kind name or an empty line for one.
func TestScreenEveryNoticeHasWords(t *testing.T) {
	w := words(t)
	n := 0
	for k := lane.NoticeInvalid; !strings.HasPrefix(k.String(), "notice("); k++ {
		n++
		if text := w.cat["notice."+k.String()].Other(); text == "" {
			t.Errorf("notice %s: no text in the kiosk's catalogue", k)
		}
		for _, state := range []string{"notice", "fault"} {
			st := sitestore.LaneStatus{Lane: "A", State: state, Notice: k.String(), Ready: true}
			if got := w.screen(st); got == "" || got == k.String() {
				t.Errorf("notice %s in %s: %q", k, state, got)
			}
		}
		st := sitestore.LaneStatus{Lane: "A", State: "fee_due", Notice: k.String(), Ready: true, Due: 100}
		if got := w.screen(st); strings.HasSuffix(got, ", "+k.String()) || !strings.HasPrefix(got, "AED 1.00 due, ") {
			t.Errorf("notice %s while a fee is due: %q", k, got)
		}
	}
	if n < 15 {
		t.Errorf("%d notice kinds: the loop stopped early", n)
	}
	// And every lane state has a line of its own.
	for s := lane.Idle; !strings.HasPrefix(s.String(), "state("); s++ {
		st := sitestore.LaneStatus{Lane: "A", State: s.String(), Ready: true}
		if got := w.screen(st); got == "" || got == s.String() && s != lane.Notice {
			t.Errorf("state %s: %q", s, got)
		}
	}
}
