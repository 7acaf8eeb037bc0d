package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
)

// findSelects and findEntries list the drop-downs and text fields of
// root, in order.
func findSelects(root fyne.CanvasObject) []*widget.Select {
	var out []*widget.Select
	walk(root, func(o fyne.CanvasObject) bool {
		if s, ok := o.(*widget.Select); ok {
			out = append(out, s)
		}
		return false
	})
	return out
}

func findEntries(root fyne.CanvasObject) []*widget.Entry {
	var out []*widget.Entry
	walk(root, func(o fyne.CanvasObject) bool {
		if e, ok := o.(*widget.Entry); ok {
			out = append(out, e)
		}
		return false
	})
	return out
}

// The actions tab: a lost ticket with the class chosen from the tariff's
// and a known entry in the site's zone (validated), the class of the
// vehicle being served, and a re-entry by the earlier ticket's number.
func TestAdminLostClassEntryReentry(t *testing.T) {
	h := newAdminHarness(t)
	dubai, _ := time.LoadLocation("Asia/Dubai")
	h.a.opt.Location = dubai
	s := baseSnap()
	s.Classes = []string{"car", "motorcycle", "bus", "golf cart"}
	h.a.Show(s)
	h.enter(t, "2468")
	tapButton(t, h.w, "Actions")

	sels := findSelects(h.w.Canvas().Content())
	// The classes in the attendant's words; one the catalogue does not
	// know keeps the tariff's name.
	if len(sels) != 2 || sels[1].Selected != "Car" || strings.Join(sels[1].Options, ",") != "Car,Motorcycle,Bus,golf cart" {
		t.Fatalf("class drop-down: %d selects %+v", len(sels), sels)
	}
	entries := findEntries(h.w.Canvas().Content())
	if len(entries) != 4 {
		t.Fatalf("%d text fields, want reason, code, entry, earlier ticket", len(entries))
	}
	if ph := entries[2].PlaceHolder; ph != "YYYY-MM-DD HH:MM, e.g. 2026-11-26 13:30" {
		t.Errorf("entry placeholder %q (site time)", ph)
	}

	// No class chosen, no entry: a car, entry unknown.
	tapButton(t, h.w, "Lost ticket")
	if a := h.con.next(t); a != (lane.LostTicket{Attendant: "A1", Class: "car"}) {
		t.Errorf("lost ticket: %#v", a)
	}

	// A bad entry time: refused on the screen, nothing sent.
	entries = findEntries(h.w.Canvas().Content())
	test.Type(entries[2], "26/11 10:00")
	tapButton(t, h.w, "Lost ticket")
	if !h.a.msgErr || !strings.Contains(h.a.message, "type the entry time as YYYY-MM-DD HH:MM") {
		t.Errorf("message %q", h.a.message)
	}
	select {
	case a := <-h.con.actions:
		t.Fatalf("sent %#v with a bad entry", a)
	default:
	}

	// A bus that entered at 10:00 Dubai time.
	entries = findEntries(h.w.Canvas().Content())
	entries[2].SetText("2026-11-26 10:00")
	findSelects(h.w.Canvas().Content())[1].SetSelected("Bus")
	tapButton(t, h.w, "Lost ticket")
	want := lane.LostTicket{Attendant: "A1", Class: "bus", Entry: time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)}
	if a, ok := h.con.next(t).(lane.LostTicket); !ok || a.Class != want.Class || !a.Entry.Equal(want.Entry) || a.Attendant != "A1" {
		t.Errorf("lost bus: %#v, want %#v", a, want)
	}
	if h.a.entry != "" || h.a.class != "" {
		t.Errorf("entry %q and class %q kept after the action", h.a.entry, h.a.class)
	}

	// The vehicle at the barrier is a motorcycle.
	findSelects(h.w.Canvas().Content())[1].SetSelected("Motorcycle")
	tapButton(t, h.w, "Vehicle class")
	if a := h.con.next(t); a != (lane.SetClass{Attendant: "A1", Class: "motorcycle"}) {
		t.Errorf("set class: %#v", a)
	}
	findSelects(h.w.Canvas().Content())[1].SetSelected("golf cart")
	tapButton(t, h.w, "Vehicle class")
	if a := h.con.next(t); a != (lane.SetClass{Attendant: "A1", Class: "golf cart"}) {
		t.Errorf("set class: %#v", a)
	}

	// A re-entry: the earlier ticket's number.
	findEntries(h.w.Canvas().Content())[3].SetText(" 000118 ")
	tapButton(t, h.w, "Re-entry of ticket")
	if a := h.con.next(t); a != (lane.Reentry{Attendant: "A1", Serial: "000118"}) {
		t.Errorf("re-entry: %#v", a)
	}
}

// The lane's refusals of these actions read as words, in both languages.
func TestAdminClassAndReentryRefusals(t *testing.T) {
	h := newAdminHarness(t)
	exit := time.Date(2026, 11, 26, 6, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		err    error
		en, ar string
	}{
		{&lane.ClassError{Class: "truck", Classes: []string{"car", "bus"}}, `unknown vehicle class "truck"; the tariff's classes: Car, Bus`, "فئة مركبة غير معروفة \"truck\"؛ فئات التعرفة: سيارة، حافلة"},
		{&lane.ReentryError{Serial: "118"}, "no exit of ticket 118 is recorded", "لا يوجد خروج مسجل للتذكرة 118"},
		{&lane.ReentryError{Serial: "118", Exit: exit, Entry: exit.Add(3 * time.Hour), Window: 2 * time.Hour}, "ticket 118 exited at 2026-11-26 06:00: not within", "خرجت التذكرة 118"},
		{lane.ErrEntryAfterNow, "the entry time is later than now", "وقت الدخول بعد الوقت الحالي"},
	} {
		if got := h.a.describe(c.err); !strings.Contains(got, c.en) {
			t.Errorf("%v: %q", c.err, got)
		}
		h.a.tr = newTr(LangArabic)
		if got := h.a.describe(c.err); !strings.Contains(got, c.ar) {
			t.Errorf("%v in Arabic: %q", c.err, got)
		}
		h.a.tr = newTr(LangEnglish)
	}
	if !errors.Is(&lane.ReentryError{Serial: "1"}, lane.ErrNotFound) {
		t.Error("a re-entry of a ticket never exited is not ErrNotFound")
	}
}

// The actions tab's drop-downs (reason and vehicle class) and their option
// lists start at the right edge in Arabic and at the left in English.
func TestAdminSelectsFollowLanguage(t *testing.T) {
	for _, c := range []struct {
		lang  string
		align fyne.TextAlign
	}{{LangEnglish, fyne.TextAlignLeading}, {LangArabic, fyne.TextAlignTrailing}} {
		t.Run(c.lang, func(t *testing.T) {
			h := newAdminHarness(t)
			if c.lang == LangArabic {
				tapButton(t, h.w, "العربية")
			}
			h.enter(t, "2468")
			tapButton(t, h.w, newTr(c.lang).T("admin.tab.actions"))
			sels := findSelects(h.w.Canvas().Content())
			if len(sels) != 2 {
				t.Fatalf("%d drop-downs, want reason and class", len(sels))
			}
			// The class in the attendant's language ("Car", "سيارة").
			if want := map[string]string{LangEnglish: "Car", LangArabic: "سيارة"}[c.lang]; sels[1].Selected != want {
				t.Errorf("class drop-down shows %q, want %q", sels[1].Selected, want)
			}
			for i, s := range sels {
				if s.Alignment != c.align {
					t.Errorf("drop-down %d (%q): alignment %v, want %v", i, s.Selected, s.Alignment, c.align)
				}
			}
		})
	}
}
