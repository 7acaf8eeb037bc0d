package ui

import (
	"fmt"
	"image"
	"regexp"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
)

// texts lists every text of the screen: BidiTexts and the labels of big
// buttons.
func texts(root fyne.CanvasObject) []*BidiText {
	var out []*BidiText
	walk(root, func(o fyne.CanvasObject) bool {
		switch v := o.(type) {
		case *BidiText:
			out = append(out, v)
		case *bigButton:
			out = append(out, v.label)
			if v.second != nil {
				out = append(out, v.second)
			}
		}
		return false
	})
	return out
}

func textStrings(root fyne.CanvasObject) []string {
	var out []string
	for _, t := range texts(root) {
		out = append(out, t.Text)
	}
	return out
}

func bigButtons(root fyne.CanvasObject) []*bigButton {
	var out []*bigButton
	walk(root, func(o fyne.CanvasObject) bool {
		if b, ok := o.(*bigButton); ok {
			out = append(out, b)
		}
		return false
	})
	return out
}

// clipped lists the texts that do not fit: a line wider than its text,
// a text lower than its lines, or a text outside the window.
func clipped(w fyne.Window) []string {
	size := w.Canvas().Size()
	d := fyne.CurrentApp().Driver()
	var out []string
	for _, t := range texts(w.Canvas().Content()) {
		r := test.WidgetRenderer(t).(*bidiRenderer)
		sz := t.Size()
		for _, l := range r.lines {
			if l.width > sz.Width+1 {
				out = append(out, fmt.Sprintf("%q: a line %.0f wide in %.0f", t.Text, l.width, sz.Width))
			}
		}
		if need := blockHeight(len(r.lines), t.TextSize); sz.Height+1 < need {
			out = append(out, fmt.Sprintf("%q: %.0f high for %d lines of %.0f", t.Text, sz.Height, len(r.lines), need))
		}
		p := d.AbsolutePositionForObject(t)
		if p.X < -0.5 || p.Y < -0.5 || p.X+sz.Width > size.Width+0.5 || p.Y+sz.Height > size.Height+0.5 {
			out = append(out, fmt.Sprintf("%q: off the window at %v %v", t.Text, p, sz))
		}
	}
	for _, b := range bigButtons(w.Canvas().Content()) {
		if m := b.MinSize(); b.Size().Width+1 < m.Width || b.Size().Height+1 < m.Height {
			out = append(out, fmt.Sprintf("button %q: %v, needs %v", b.Text, b.Size(), m))
		}
	}
	return out
}

// Every screen, in both languages and on every panel, fits: no text is
// cut off or squeezed, no button smaller than its label.
func TestKioskScreensFit(t *testing.T) {
	for _, p := range testPanels {
		for _, lang := range []string{LangEnglish, LangArabic} {
			for _, sc := range screens() {
				k, w, _ := newPanelKiosk(t, newFakeLane(), lang, p.panel)
				w.Resize(p.size)
				k.Show(sc.snap)
				if c := clipped(w); len(c) > 0 {
					t.Errorf("%s %s %s: %s", p.name, lang, sc.name, strings.Join(c, "; "))
				}
			}
		}
	}
}

func findText(root fyne.CanvasObject, sub string) *BidiText {
	for _, t := range texts(root) {
		if strings.Contains(t.Text, sub) {
			return t
		}
	}
	return nil
}

// Issue 14.1: after "Call attendant", a banner says an attendant is on
// the way, in both languages, fitting at every size (the button's own
// fixed width clipped "The attendant has been c…").
func TestKioskCallAttendantBanner(t *testing.T) {
	for _, p := range testPanels {
		for _, lang := range []string{LangEnglish, LangArabic} {
			for _, snap := range []lane.Snapshot{baseSnap(), feeSnap()} {
				f := newFakeLane()
				k, w, _ := newPanelKiosk(t, f, lang, p.panel)
				w.Resize(p.size)
				k.Show(snap)
				var call *bigButton
				for _, b := range bigButtons(w.Canvas().Content()) {
					if strings.Contains(b.Text, "Call attendant") {
						call = b
					}
				}
				if call == nil {
					t.Fatalf("%s %s: no call button", p.name, lang)
				}
				test.Tap(call)
				if a := f.next(t); a != (lane.CallAttendant{}) {
					t.Fatalf("tapped call: %#v", a)
				}
				where := fmt.Sprintf("%s %s %s", p.name, lang, snap.State)
				for _, step := range []string{"after the tap", "in the lane's snapshot"} {
					b := findText(w.Canvas().Content(), "An attendant is on the way")
					if b == nil || !strings.Contains(b.Text, "الموظف في الطريق إليك") {
						t.Fatalf("%s %s: no banner in both languages: %q", where, step, textStrings(w.Canvas().Content()))
					}
					if c := clipped(w); len(c) > 0 {
						t.Errorf("%s %s: %s", where, step, strings.Join(c, "; "))
					}
					snap.AttendantCalled = true
					k.Show(snap)
				}
				if p.name == "1920x1080" && snap.State == lane.FeeDue {
					test.AssertRendersToMarkup(t, "kiosk/banner/called-"+lang+".xml", w.Canvas())
					writeScreenshot(t, "kiosk-fee-called-"+lang, w)
				}
			}
		}
	}
}

// Issue 14.2: every failure screen has one next step, in the largest
// type after the amount and in both languages; Cancel is secondary.
func TestKioskFailureOneStep(t *testing.T) {
	en, ar := newTr(LangEnglish), newTr(LangArabic)
	retry := []string{en.T("notice.hint_retry"), ar.T("notice.hint_retry")}
	call := []string{en.T("call.button"), ar.T("call.button")}
	steps := map[string][]string{
		"fee-failed":            {en.T("fee.retry"), ar.T("fee.retry")},
		"fee-unavailable":       call,
		"fee-call_attendant":    call,
		"fault":                 call,
		"notice-invalid":        retry,
		"notice-expired":        retry,
		"notice-forged":         call,
		"notice-already_used":   call,
		"notice-call_attendant": call,
	}
	for _, p := range testPanels {
		for _, lang := range []string{LangEnglish, LangArabic} {
			for _, sc := range screens() {
				want, ok := steps[sc.name]
				if !ok {
					continue
				}
				k, w, _ := newPanelKiosk(t, newFakeLane(), lang, p.panel)
				w.Resize(p.size)
				k.Show(sc.snap)
				where := p.name + " " + lang + " " + sc.name
				amount := k.tr.amount(sc.snap.Due)
				var largest float32
				seen := map[string]int{}
				for _, x := range texts(w.Canvas().Content()) {
					seen[x.Text]++
					if x.Text != amount {
						largest = max(largest, x.TextSize)
					}
				}
				var top []string
				for _, x := range texts(w.Canvas().Content()) {
					if x.Text != amount && x.TextSize == largest {
						top = append(top, x.Text)
					}
				}
				slices.Sort(top)
				w2 := slices.Clone(want)
				slices.Sort(w2)
				if !slices.Equal(top, w2) {
					t.Errorf("%s: the largest texts are %q, want the one next step %q", where, top, want)
				}
				for s, n := range seen {
					if n > 1 {
						t.Errorf("%s: %q shown %d times", where, s, n)
					}
					if strings.Contains(s, "Please call") || strings.Contains(s, "Press New") {
						t.Errorf("%s: a second instruction %q", where, s)
					}
				}
				for _, b := range bigButtons(w.Canvas().Content()) {
					if (b.Text == en.T("fee.cancel") || b.Text == ar.T("fee.cancel")) && b.btn.Importance != widget.MediumImportance {
						t.Errorf("%s: Cancel has importance %v, want secondary (medium)", where, b.btn.Importance)
					}
				}
			}
		}
	}
}

// Issue 14.2: Cancel went straight to the welcome screen without a word;
// "Payment cancelled" now shows there for a moment.
func TestKioskCancelSaysCancelled(t *testing.T) {
	f := newFakeLane()
	k, w, fire := newPanelKiosk(t, f, LangEnglish, Panel{DiagonalInches: 21.5})
	w.Resize(fyne.NewSize(1920, 1080))
	k.Show(feeSnap())
	tapButton(t, w, "Cancel")
	if a := f.next(t); a != (lane.Cancel{}) {
		t.Fatalf("cancel: %#v", a)
	}
	k.Show(baseSnap()) // the lane ended the visit
	b := findText(w.Canvas().Content(), "Payment cancelled")
	if b == nil || !strings.Contains(b.Text, "تم إلغاء الدفع") || findText(w.Canvas().Content(), "Scan your ticket") == nil {
		t.Fatalf("after Cancel: %q", textStrings(w.Canvas().Content()))
	}
	test.AssertRendersToMarkup(t, "kiosk/banner/cancelled-en.xml", w.Canvas())
	writeScreenshot(t, "kiosk-welcome-cancelled-en", w)
	fire()
	if findText(w.Canvas().Content(), "Payment cancelled") != nil {
		t.Error("still shown after its time")
	}
	// A visit that ends otherwise (paid while the cancel was on its way)
	// says nothing of a cancel.
	k.Show(feeSnap())
	tapButton(t, w, "Cancel")
	f.next(t)
	paid := feeSnap()
	paid.State, paid.Cause = lane.Opening, lane.CausePaid
	k.Show(paid)
	k.Show(baseSnap())
	if findText(w.Canvas().Content(), "Payment cancelled") != nil {
		t.Error("cancelled shown after a paid exit")
	}
}

// Issue 14.3: at rest (no language chosen) the welcome screen, notices
// and the fee screen's labels are in Arabic and English; details follow
// the chosen language; the site's name is shown in both.
func TestKioskBilingualAtRest(t *testing.T) {
	en, ar := newTr(LangEnglish), newTr(LangArabic)
	k, w := newTestKiosk(t, newFakeLane(), LangEnglish)
	w.Resize(fyne.NewSize(1920, 1080))
	has := func(what string, subs ...string) {
		t.Helper()
		all := strings.Join(textStrings(w.Canvas().Content()), "|")
		for _, s := range subs {
			if !strings.Contains(all, s) {
				t.Errorf("%s: no %q in %s", what, s, all)
			}
		}
	}
	k.Show(baseSnap())
	has("welcome", en.T("welcome.title"), ar.T("welcome.title"), en.T("welcome.hint"), ar.T("welcome.hint"), "City Mall Parking", "مواقف سيتي مول")
	notice := baseSnap()
	notice.State, notice.Notice = lane.Notice, lane.NoticeAlreadyUsed
	k.Show(notice)
	has("notice", en.T("notice.already_used"), ar.T("notice.already_used"), en.T("call.button"), ar.T("call.button"))
	k.Show(feeSnap())
	has("fee", en.T("fee.title"), ar.T("fee.title"), en.T("fee.entry"), ar.T("fee.entry"), en.T("fee.stay"), ar.T("fee.stay"),
		en.T("fee.left"), ar.T("fee.left"), "2 hours 17 minutes", en.T("fee.scan"))
	tapButton(t, w, "العربية")
	has("fee in Arabic", en.T("fee.title"), ar.T("fee.title"), en.T("fee.entry"), ar.T("fee.entry"), "ساعتان و17 دقيقة", ar.T("fee.scan"))
	if findText(w.Canvas().Content(), "2 hours 17 minutes") != nil {
		t.Error("the English stay stays after choosing Arabic")
	}
}

// Issue 14.5: on every panel, driver-screen capitals are at least 4 mm
// and touch targets at least 10 mm; small panels have no header.
func TestKioskPhysicalMinimums(t *testing.T) {
	for _, p := range testPanels {
		minText := p.panel.minText(p.size, 1)
		minTarget := p.panel.minTarget(p.size, 1)
		for _, lang := range []string{LangEnglish, LangArabic} {
			for _, sc := range screens() {
				k, w, _ := newPanelKiosk(t, newFakeLane(), lang, p.panel)
				w.Resize(p.size)
				k.Show(sc.snap)
				where := p.name + " " + lang + " " + sc.name
				for _, x := range texts(w.Canvas().Content()) {
					if x.Text != "" && x.TextSize < minText-0.01 {
						t.Errorf("%s: %q is %.1f, capitals %.1f mm (want %.0f mm: %.1f)", where, x.Text, x.TextSize, x.TextSize*capRatio/p.panel.unitsPerMM(p.size, 1), MinCapMM, minText)
					}
				}
				for _, b := range bigButtons(w.Canvas().Content()) {
					if s := b.Size(); s.Height < minTarget-0.01 || s.Width < minTarget-0.01 {
						t.Errorf("%s: button %q is %v, want at least %.0f (10 mm)", where, b.Text, s, minTarget)
					}
				}
				if sc.name == "welcome" && p.name == "800x480" && findText(w.Canvas().Content(), "City Mall") != nil {
					t.Errorf("%s: a header on a small panel", where)
				}
			}
		}
	}
}

// The capital height per TextSize (capRatio) is what the painter draws.
func TestCapRatio(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	x := NewBidiText("HHH", false, 100)
	img := render(t, x, fyne.NewSize(400, 200))
	top, bottom := inkRows(img)
	if h := float32(bottom - top + 1); h < capRatio*100-1 || h > capRatio*100+2 {
		t.Errorf("an H of size 100 is %v px high, capRatio says %v", h, capRatio*100)
	}
}

func TestPanelDensity(t *testing.T) {
	seven := Panel{DiagonalInches: 7}
	// 800x480 on 7 inches: 133 px per inch, 5.25 per mm.
	if got := seven.unitsPerMM(fyne.NewSize(800, 480), 1.5); got < 5.2 || got > 5.3 {
		t.Errorf("7 inch 800x480: %v units/mm", got)
	}
	if got := (Panel{DPI: 254}).unitsPerMM(fyne.NewSize(800, 480), 2); got != 5 {
		t.Errorf("254 dpi at scale 2: %v units/mm, want 5", got)
	}
	if got := (Panel{}).unitsPerMM(fyne.NewSize(1920, 1080), 1); got != DefaultDPI/25.4 {
		t.Errorf("default: %v", got)
	}
}

// inkRows is the first and last row with light pixels.
func inkRows(img image.Image) (top, bottom int) {
	top, bottom = -1, -1
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r > 0x8000 && g > 0x8000 && bl > 0x8000 {
				if top < 0 {
					top = y
				}
				bottom = y
				break
			}
		}
	}
	return top, bottom
}

// Issue 14.6: wrapped lines are 1.3 em apart (they were 2.1 em, "double
// spacing": 102 px between lines of 48 px text).
func TestBidiTextLineSpacing(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	for _, rtl := range []bool{false, true} {
		x := NewBidiText("HHHH HHHH", rtl, 48)
		x.Wrap = true
		img := render(t, x, fyne.NewSize(160, 300))
		// the two lines' ink: rows with light pixels, in two bands
		var bands [][2]int
		b := img.Bounds()
		in := false
		for y := b.Min.Y; y < b.Max.Y; y++ {
			lit := false
			for xx := b.Min.X; xx < b.Max.X && !lit; xx++ {
				r, _, _, _ := img.At(xx, y).RGBA()
				lit = r > 0x8000
			}
			switch {
			case lit && !in:
				bands = append(bands, [2]int{y, y})
				in = true
			case lit:
				bands[len(bands)-1][1] = y
			default:
				in = false
			}
		}
		if len(bands) != 2 {
			t.Fatalf("rtl %v: %d bands of ink, want 2 lines", rtl, len(bands))
		}
		step := float32(bands[1][1] - bands[0][1]) // baseline to baseline
		if step < 1.2*48 || step > 1.35*48 {
			t.Errorf("rtl %v: lines %v px apart for 48 px text (%.2f em), want 1.2-1.3 em", rtl, step, step/48)
		}
	}
}

// Issue 14.6: no "New QR" and no seconds counted in words anywhere; the
// countdown is m:ss.
func TestKioskWording(t *testing.T) {
	seconds := regexp.MustCompile(`\d+ s\b|ثانية|New QR|QR جديد`)
	for _, lang := range []string{LangEnglish, LangArabic} {
		for _, sc := range screens() {
			k, w := newTestKiosk(t, newFakeLane(), lang)
			w.Resize(fyne.NewSize(1280, 720))
			k.Show(sc.snap)
			for _, s := range textStrings(w.Canvas().Content()) {
				if seconds.MatchString(s) {
					t.Errorf("%s %s: %q", lang, sc.name, s)
				}
			}
		}
	}
	for _, c := range catalogs {
		for key, text := range c {
			if seconds.MatchString(text.Other()) {
				t.Errorf("%s: %q", key, text.Other())
			}
		}
	}
}

// Issue 14.6: the lane keeps the payment window when the driver asks for
// a new code (lane.Machine.newOrder sets it only before a code was first
// shown), so the screen says the time does not restart and keeps counting.
func TestKioskNewCodeKeepsTime(t *testing.T) {
	f := newFakeLane()
	k, w, _ := newPanelKiosk(t, f, LangEnglish, Panel{DiagonalInches: 21.5})
	w.Resize(fyne.NewSize(1920, 1080))
	s := feeSnap()
	s.Attempt = 1
	k.Show(s)
	before := k.countdown.Text
	tapButton(t, w, "New code")
	if a := f.next(t); a != (lane.NewQR{}) {
		t.Fatalf("new code: %#v", a)
	}
	s.Attempt, s.TokenURL = 2, "" // the lane cancels the old order, creates the next
	k.Show(s)
	if findText(w.Canvas().Content(), "does not restart") == nil || k.countdown == nil || k.countdown.Text != before {
		t.Errorf("preparing a new code: %q (countdown was %q)", textStrings(w.Canvas().Content()), before)
	}
	s.TokenURL = "https://sandbox.payby.test/checkout/tok_second"
	k.Show(s)
	if k.countdown.Text != before {
		t.Errorf("the new code's countdown %q, want the same deadline %q", k.countdown.Text, before)
	}
}
