package ui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
)

// visible reports whether o is wholly inside the window and, inside a
// scroll container, inside its viewport.
func visible(w fyne.Window, o fyne.CanvasObject) bool {
	d := fyne.CurrentApp().Driver()
	p, s := d.AbsolutePositionForObject(o), o.Size()
	size := w.Canvas().Size()
	if p.X < -0.5 || p.Y < -0.5 || p.X+s.Width > size.Width+0.5 || p.Y+s.Height > size.Height+0.5 {
		return false
	}
	ok := true
	walk(w.Canvas().Content(), func(c fyne.CanvasObject) bool {
		sc, isScroll := c.(*container.Scroll)
		if !isScroll || !contains2(sc.Content, o) {
			return false
		}
		sp, ss := d.AbsolutePositionForObject(sc), sc.Size()
		ok = ok && p.Y >= sp.Y-0.5 && p.Y+s.Height <= sp.Y+ss.Height+0.5 && p.X >= sp.X-0.5 && p.X+s.Width <= sp.X+ss.Width+0.5
		return false
	})
	return ok
}

func contains2(root, o fyne.CanvasObject) bool {
	return walk(root, func(c fyne.CanvasObject) bool { return c == o })
}

// Issue 14.7: at 1280x720 (and the other landscape and portrait panels)
// every action button is in sight without scrolling (three of ten were).
func TestAdminActionsAllVisible(t *testing.T) {
	for _, p := range testPanels {
		if p.name == "800x480" {
			continue // scrolls: the form and ten 10 mm buttons need more than 480 px
		}
		for _, lang := range []string{LangEnglish, LangArabic} {
			h := newAdminHarness(t)
			h.a.opt.Panel = p.panel
			h.a.opt.Lang = lang
			h.a.Open("")
			h.w.Resize(p.size)
			h.enter(t, "2468")
			tr := newTr(lang)
			tapButton(t, h.w, tr.T("admin.tab.actions"))
			n := 0
			for _, key := range []string{"open", "lost", "exempt", "unable", "override", "code", "close", "clear", "start_shift", "end_shift"} {
				b := findButton(h.w.Canvas().Content(), tr.T("admin.a."+key))
				if b == nil {
					t.Fatalf("%s %s: no %s button", p.name, lang, key)
				}
				if visible(h.w, b.(fyne.CanvasObject)) {
					n++
				} else {
					t.Errorf("%s %s: %q is out of sight", p.name, lang, tr.T("admin.a."+key))
				}
			}
			if n != 10 {
				t.Errorf("%s %s: %d of 10 action buttons in sight", p.name, lang, n)
			}
		}
	}
}

// Issue 14.7: the scroll bar is drawn over the right edge of a scroll's
// content: no text field, menu or button may sit under it.
func TestAdminScrollBarClear(t *testing.T) {
	bar := theme.Size(theme.SizeNameScrollBar)
	for _, p := range testPanels {
		h := newAdminHarness(t)
		h.w.Resize(p.size)
		h.enter(t, "2468")
		d := fyne.CurrentApp().Driver()
		for _, tab := range []string{"Status", "Actions", "Reports"} {
			tapButton(t, h.w, tab)
			walk(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
				sc, ok := o.(*container.Scroll)
				if !ok {
					return false
				}
				edge := d.AbsolutePositionForObject(sc).X + sc.Size().Width - bar
				walk(sc.Content, func(c fyne.CanvasObject) bool {
					switch c.(type) {
					case *widget.Entry, *widget.Select, *bigButton:
						if right := d.AbsolutePositionForObject(c).X + c.Size().Width; right > edge+0.5 {
							t.Errorf("%s %s: a %T reaches %.0f, under the scroll bar from %.0f", p.name, tab, c, right, edge)
						}
					}
					return false
				})
				return false
			})
		}
	}
}

// Issue 14.7: a refusal belongs to the tab it happened on; switching tabs
// clears it.
func TestAdminTabSwitchClearsMessage(t *testing.T) {
	h := newAdminHarness(t)
	h.con.err = lane.ErrReasonRequired
	h.enter(t, "2468")
	tapButton(t, h.w, "Actions")
	tapButton(t, h.w, "Open barrier")
	h.con.next(t)
	if findText(h.w.Canvas().Content(), "choose or type a reason first") == nil {
		t.Fatalf("no refusal shown: %q", textStrings(h.w.Canvas().Content()))
	}
	tapButton(t, h.w, "Reports")
	if s := findText(h.w.Canvas().Content(), "reason first"); s != nil || h.a.message != "" {
		t.Errorf("the refusal stays on the reports tab: %q", h.a.message)
	}
}

// Issue 14.7: values sit on their labels' baseline (a value starting with
// a digit was drawn 0.3 em lower than its label).
func TestAdminValuesBesideLabels(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	ad := &Admin{tr: newTr(LangEnglish), size: fyne.NewSize(1280, 720)}
	for _, value := range []string{"11", "AED 20.00", "none started"} {
		o := ad.kv("Exits", value)
		img := render(t, o, fyne.NewSize(400, 40))
		kw := (&kvLayout{}).keyWidth(o.(*fyne.Container).Objects)
		// ink bottoms: keys and values here have no descenders
		bottom := func(x0, x1 int) int {
			b := -1
			for y := 0; y < 40; y++ {
				for x := x0; x < x1; x++ {
					r, g, bl, _ := img.At(x, y).RGBA()
					if r > 0x8000 && g > 0x8000 && bl > 0x8000 {
						b = y
					}
				}
			}
			return b
		}
		k, v := bottom(0, int(kw)-1), bottom(int(kw), 400)
		if k < 0 || v < 0 || k-v > 1 || v-k > 1 {
			t.Errorf("value %q: label's baseline at %d, value's at %d", value, k, v)
		}
	}
}

// Issue 14.7: history columns line up whatever the width of the row
// number (#9 and #10 on one page).
func TestAdminHistoryColumns(t *testing.T) {
	h := newAdminHarness(t)
	h.con.txs = h.con.txs[len(h.con.txs)-12:] // ids 12 down to 1: page 1 holds 12..3
	h.enter(t, "2468")
	tapButton(t, h.w, "History")
	d := fyne.CurrentApp().Driver()
	xs := map[string]float32{}
	for _, x := range texts(h.w.Canvas().Content()) {
		if strings.HasPrefix(x.Text, "26 Nov") {
			xs[x.Text] = d.AbsolutePositionForObject(x).X
		}
	}
	if len(xs) < 10 {
		t.Fatalf("%d time cells: %q", len(xs), textStrings(h.w.Canvas().Content()))
	}
	var first float32 = -1
	for s, x := range xs {
		if first < 0 {
			first = x
		}
		if x != first {
			t.Errorf("time cell %q at x %.1f, another at %.1f", s, x, first)
		}
	}
}

// Issue 14.7: button labels are centred vertically (widget.Button drew
// a Latin label 0.3 em above the middle).
func TestAdminButtonLabelsCentred(t *testing.T) {
	h := newAdminHarness(t)
	h.w.Resize(fyne.NewSize(1280, 720))
	h.enter(t, "2468")
	img := h.w.Canvas().Capture()
	d := fyne.CurrentApp().Driver()
	for _, label := range []string{"Actions", "Log out"} {
		b := findButton(h.w.Canvas().Content(), label).(fyne.CanvasObject)
		p, s := d.AbsolutePositionForObject(b), b.Size()
		top, bottom := -1, -1
		for y := int(p.Y) + 2; y < int(p.Y+s.Height)-2; y++ {
			for x := int(p.X) + 4; x < int(p.X+s.Width)-4; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if r > 0xC000 && g > 0xC000 && bl > 0xC000 {
					if top < 0 {
						top = y
					}
					bottom = y
					break
				}
			}
		}
		if label == "Log out" {
			// "g" descends: centre the x-height band instead, roughly
			bottom -= 5
		}
		ink := float32(top+bottom) / 2
		mid := p.Y + s.Height/2
		if top < 0 || ink < mid-3 || ink > mid+3 {
			t.Errorf("%q: ink %d..%d (centre %.1f) in a button %.0f..%.0f (centre %.1f)", label, top, bottom, ink, p.Y, p.Y+s.Height, mid)
		}
	}
}

// Issue 14.7: the admin is in both languages: its own switch, headings in
// both, Arabic words, and the default language again after logging out.
func TestAdminBilingual(t *testing.T) {
	h := newAdminHarness(t)
	h.a.opt.OnExit = func() {}
	h.w.Resize(fyne.NewSize(1280, 720))
	tapButton(t, h.w, "العربية")
	if findText(h.w.Canvas().Content(), "دخول الموظف") == nil {
		t.Fatalf("login in Arabic: %q", textStrings(h.w.Canvas().Content()))
	}
	h.enter(t, "2468")
	tapButton(t, h.w, "التقارير")
	all := strings.Join(textStrings(h.w.Canvas().Content()), "|")
	for _, want := range []string{"اليوم · Today", "المحصّل", "612.50 درهم", "تسجيل الخروج"} {
		if !strings.Contains(all, want) {
			t.Errorf("reports in Arabic: no %q in %s", want, all)
		}
	}
	tapButton(t, h.w, "تسجيل الخروج")
	if h.a.Lang() != LangEnglish {
		t.Errorf("language after logout: %s", h.a.Lang())
	}
}
