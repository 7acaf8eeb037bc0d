package office

// What a lane's driver sees, in the office: the lane publishes the facts
// (state, notice, cause, whether a QR is shown, the amount due, ready,
// attendant called) and the office words them here with the kiosk's own
// English catalogue (package assets), the one the kiosk's screens are
// drawn from, so the office and the kiosk cannot say different things.
// The choice of words for a state mirrors ui/kiosk.go.

import (
	"fmt"

	"github.com/exitlane/exitlane/assets"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sitestore"
)

// screenLang is the kiosk language the office shows a lane's screen in.
const screenLang = "en"

// screenWords words lanes' screens with the kiosk's catalogue, loaded
// once when the console is built.
type screenWords struct{ cat assets.Catalog }

func loadScreenWords() (screenWords, error) {
	cat, err := assets.Translations(screenLang)
	if err != nil {
		return screenWords{}, fmt.Errorf("office: the kiosk's words: %w", err)
	}
	return screenWords{cat: cat}, nil
}

// text is key's text with its {name} placeholders filled from kv pairs,
// as the kiosk shows it (assets.Format). A key the catalogue lacks is
// shown as itself, as on the kiosk: never an empty line.
func (w screenWords) text(key string, kv ...string) string {
	if s, ok := w.cat.Message(key, kv...); ok && s != "" {
		return s
	}
	return key
}

// notice is the kiosk's words for a notice kind (lane.NoticeKind's name):
// its reason line, which for "call the attendant" is what the attendant
// collects (its own words are the kiosk's next step). A kind the catalogue
// does not know (a newer lane's) is its name.
func (w screenWords) notice(kind string) string {
	key := "notice." + kind
	if kind == lane.NoticeCallAttendant.String() {
		key = "fee.attendant_collects"
	}
	if t := w.cat[key].Other(); t != "" {
		return t
	}
	return kind
}

// screen is what st's driver sees now, in the kiosk's English words ("Scan
// your ticket", "AED 20.00 due, QR shown"); "" for a lane that never
// published its status.
func (w screenWords) screen(st sitestore.LaneStatus) string {
	if st.State == sitestore.StateUnknown {
		return ""
	}
	var state lane.State
	known := state.UnmarshalText([]byte(st.State)) == nil
	var out string
	switch {
	case !known:
		out = st.State // a newer lane's state: its name
	case !st.Ready && state == lane.Idle:
		out = w.text("welcome.starting")
	case state == lane.Closed || (!st.LaneOpen && state == lane.Idle):
		out = w.text("welcome.closed")
	case state == lane.Idle:
		out = w.text("welcome.title")
	case state == lane.Checking:
		out = w.text("checking.title")
	case state == lane.FeeDue:
		out = w.text("fee.amount", "amount", st.Due.Decimal()) + " due"
		switch {
		case st.Notice == lane.NoticePaymentUnavailable.String():
			out += ", " + w.notice(st.Notice) + ", call attendant"
		case st.Notice != "":
			out += ", " + w.notice(st.Notice)
		case st.QR:
			out += ", QR shown"
		default:
			out += ", " + w.text("fee.preparing")
		}
	case state == lane.Opening:
		var c lane.Cause
		_ = c.UnmarshalText([]byte(st.Cause)) // a cause this office does not know: as none
		head := "opening.free"
		switch c {
		case lane.CausePaid:
			head = "opening.paid"
		case lane.CauseManual, lane.CauseExempt, lane.CauseUnableToCollect, lane.CauseOverride:
			head = "opening.attendant"
		}
		out = w.text(head) + ": " + w.text("opening.title")
	case state == lane.Open:
		out = w.text("open.title")
	case st.Notice != "":
		out = w.notice(st.Notice)
	case state == lane.Fault:
		out = w.notice(lane.NoticeDeviceFault.String())
	default:
		out = st.State
	}
	if st.AttendantCalled {
		out += " (" + w.text("call.on_the_way") + ")"
	}
	return out
}
