package ui

import (
	"context"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// fakeLane records the actions the screens submit.
type fakeLane struct {
	mu      sync.Mutex
	actions chan lane.Action
	err     error
}

func newFakeLane() *fakeLane { return &fakeLane{actions: make(chan lane.Action, 16)} }

func (f *fakeLane) Do(_ context.Context, a lane.Action) error {
	f.actions <- a
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// next waits for the next action (the kiosk submits off the UI goroutine).
func (f *fakeLane) next(t *testing.T) lane.Action {
	t.Helper()
	select {
	case a := <-f.actions:
		return a
	case <-time.After(5 * time.Second):
		t.Fatal("no action submitted")
		return nil
	}
}

var (
	testNow   = time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	testEntry = testNow.Add(-2*time.Hour - 17*time.Minute)
)

func baseSnap() lane.Snapshot {
	return lane.Snapshot{
		Seq: 1, At: testNow, Site: "City Mall Parking", Lane: "Exit 2",
		State: lane.Idle, Ready: true, LaneOpen: true,
		Health: lane.Health{Scanner: lane.DeviceOK, Relay: lane.DeviceOK, PayBy: lane.DeviceOK, Ledger: lane.DeviceOK, Loop: lane.DeviceAbsent},
	}
}

func feeSnap() lane.Snapshot {
	s := baseSnap()
	s.State, s.Visit = lane.FeeDue, 7
	s.Ticket = &lane.TicketInfo{Serial: "000123", Format: "EL1", Site: "CM", Lane: "E1", Entry: testEntry, Signed: true}
	s.Stay = testNow.Sub(testEntry)
	s.Fee, s.Due = money.MustParse("25.00"), money.MustParse("25.00")
	s.MerchantOrderNo = "CM-X2-7-1"
	s.TokenURL = "https://sandbox.payby.test/checkout/tok_7f3a9c2e1b"
	s.Deadline = testNow.Add(2*time.Minute + 30*time.Second)
	return s
}

// screens are the driver screens, each a snapshot, named for goldens and
// docs/screenshots.
func screens() []struct {
	name string
	snap lane.Snapshot
} {
	idle := baseSnap()
	starting := baseSnap()
	starting.Ready = false
	checking := baseSnap()
	checking.State, checking.Visit = lane.Checking, 7
	fee := feeSnap()
	preparing := feeSnap()
	preparing.TokenURL, preparing.Attempt = "", 1
	newCode := feeSnap() // New code pressed: the lane keeps the deadline
	newCode.TokenURL, newCode.Attempt = "", 2
	unavailable := feeSnap()
	unavailable.TokenURL, unavailable.Deadline, unavailable.Notice = "", time.Time{}, lane.NoticePaymentUnavailable
	failed := feeSnap()
	failed.TokenURL, failed.Deadline, failed.Notice = "", time.Time{}, lane.NoticePaymentFailed
	above := feeSnap() // above payby.max_amount: no QR, the attendant collects
	above.TokenURL, above.Deadline, above.Notice = "", time.Time{}, lane.NoticeCallAttendant
	paid := feeSnap()
	paid.State, paid.Cause, paid.TokenURL = lane.Opening, lane.CausePaid, ""
	open := paid
	open.State = lane.Open
	free := baseSnap()
	free.State, free.Cause, free.Visit = lane.Opening, lane.CauseGrace, 8
	closed := baseSnap()
	closed.State, closed.LaneOpen = lane.Closed, false
	fault := baseSnap()
	fault.State, fault.Notice = lane.Fault, lane.NoticeDeviceFault
	out := []struct {
		name string
		snap lane.Snapshot
	}{
		{"welcome", idle}, {"starting", starting}, {"checking", checking},
		{"fee", fee}, {"fee-preparing", preparing}, {"fee-new_code", newCode}, {"fee-unavailable", unavailable},
		{"fee-failed", failed}, {"fee-call_attendant", above},
		{"paid", paid}, {"open", open}, {"free", free},
		{"closed", closed}, {"fault", fault},
	}
	for _, n := range []lane.NoticeKind{lane.NoticeInvalid, lane.NoticeForged, lane.NoticeAlreadyUsed, lane.NoticeExpired, lane.NoticeCallAttendant} {
		s := baseSnap()
		s.State, s.Notice = lane.Notice, n
		out = append(out, struct {
			name string
			snap lane.Snapshot
		}{"notice-" + n.String(), s})
	}
	return out
}

// testPanels are the supported panels: each size with a plausible
// diagonal (a 21.5-inch 1080p panel, landscape or portrait; a 10.1-inch
// 720p one; a 7-inch 800x480 one).
var testPanels = []struct {
	name  string
	size  fyne.Size
	panel Panel
	// shot names the docs/screenshots variant ("" for the main size).
	shot string
}{
	{"1920x1080", fyne.NewSize(1920, 1080), Panel{DiagonalInches: 21.5}, ""},
	{"1280x720", fyne.NewSize(1280, 720), Panel{DiagonalInches: 10.1}, "720p"},
	{"800x480", fyne.NewSize(800, 480), Panel{DiagonalInches: 7}, "small"},
	{"1080x1920", fyne.NewSize(1080, 1920), Panel{DiagonalInches: 21.5}, "portrait"},
}

func newTestKiosk(t *testing.T, f *fakeLane, lang string) (*Kiosk, fyne.Window) {
	t.Helper()
	k, w, _ := newPanelKiosk(t, f, lang, Panel{DiagonalInches: 21.5})
	return k, w
}

// newPanelKiosk builds a kiosk on panel, with the banner timer under the
// test's control (fire calls the last timer armed).
func newPanelKiosk(t *testing.T, f *fakeLane, lang string, panel Panel) (k *Kiosk, w fyne.Window, fire func()) {
	t.Helper()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	var last func()
	k = NewKiosk(f, KioskOptions{Lang: lang, Now: func() time.Time { return testNow }, noTicker: true,
		SiteNameAr: "مواقف سيتي مول", Panel: panel,
		afterFunc: func(_ time.Duration, f func()) func() bool { last = f; return func() bool { last = nil; return true } },
	})
	w = test.NewTempWindow(t, k.Content())
	w.SetPadded(false)
	return k, w, func() {
		t.Helper()
		if last == nil {
			t.Fatal("no timer armed")
		}
		f := last
		last = nil
		f()
	}
}

// TestKioskScreensMarkup renders every driver screen in both languages on
// every supported panel.
func TestKioskScreensMarkup(t *testing.T) {
	for _, p := range testPanels {
		for _, lang := range []string{LangEnglish, LangArabic} {
			for _, sc := range screens() {
				t.Run(p.name+"/"+lang+"/"+sc.name, func(t *testing.T) {
					k, w, _ := newPanelKiosk(t, newFakeLane(), lang, p.panel)
					w.Resize(p.size)
					k.Show(sc.snap)
					test.AssertRendersToMarkup(t, "kiosk/"+p.name+"/"+lang+"/"+sc.name+".xml", w.Canvas())
					switch {
					case p.shot == "":
						writeScreenshot(t, "kiosk-"+sc.name+"-"+lang, w)
					case sc.name == "fee":
						writeScreenshot(t, "kiosk-fee-"+p.shot+"-"+lang, w)
					case p.shot == "small" && (sc.name == "welcome" || sc.name == "fee-failed" || sc.name == "fee-unavailable"):
						writeScreenshot(t, "kiosk-"+sc.name+"-small-"+lang, w)
					}
				})
			}
		}
	}
}

// The QR is a square as large as fits: at least 60% of the screen's
// shorter side on every panel.
func TestKioskQRSize(t *testing.T) {
	for _, p := range testPanels {
		for _, lang := range []string{LangEnglish, LangArabic} {
			k, w, _ := newPanelKiosk(t, newFakeLane(), lang, p.panel)
			w.Resize(p.size)
			k.Show(feeSnap())
			if k.qr == nil {
				t.Fatal("no QR on the fee screen")
			}
			short := min(p.size.Width, p.size.Height)
			if got := k.qr.Size(); got.Width < 0.6*short-12 || got.Height < 0.6*short-12 {
				t.Errorf("%s %s: QR is %v, want at least 60%% of %v", p.name, lang, got, short)
			}
		}
	}
}

func TestKioskTaps(t *testing.T) {
	f := newFakeLane()
	k, w := newTestKiosk(t, f, LangEnglish)
	w.Resize(fyne.NewSize(1920, 1080))
	k.Show(feeSnap())
	tapButton(t, w, "Cancel")
	if a := f.next(t); a != (lane.Cancel{}) {
		t.Errorf("Cancel tapped: got %#v", a)
	}
	tapButton(t, w, "New code")
	if a := f.next(t); a != (lane.NewQR{}) {
		t.Errorf("New code tapped: got %#v", a)
	}
	failed := feeSnap()
	failed.TokenURL, failed.Notice = "", lane.NoticePaymentFailed
	k.Show(failed)
	tapButton(t, w, "Try again with a new code")
	if a := f.next(t); a != (lane.NewQR{}) {
		t.Errorf("New code tapped after a failed payment: got %#v", a)
	}
	tapButton(t, w, "Call attendant · اطلب الموظف")
	if a := f.next(t); a != (lane.CallAttendant{}) {
		t.Errorf("Call attendant tapped: got %#v", a)
	}
	k.Close()
}

func TestKioskLanguageSwitch(t *testing.T) {
	k, w := newTestKiosk(t, newFakeLane(), LangEnglish)
	w.Resize(fyne.NewSize(1920, 1080))
	k.Show(feeSnap())
	tapButton(t, w, "العربية")
	if k.Lang() != LangArabic {
		t.Fatalf("language after switch = %q", k.Lang())
	}
	if findButton(w.Canvas().Content(), "إلغاء") == nil {
		t.Error("no Arabic cancel button after switching")
	}
	// The next driver gets the default language back.
	k.Show(baseSnap())
	if k.Lang() != LangEnglish {
		t.Errorf("language after the visit = %q, want en", k.Lang())
	}
}

func TestKioskCountdown(t *testing.T) {
	now := testNow
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	k := NewKiosk(newFakeLane(), KioskOptions{Now: func() time.Time { return now }, noTicker: true})
	w := test.NewTempWindow(t, k.Content())
	w.Resize(fyne.NewSize(1920, 1080))
	k.Show(feeSnap())
	if got := k.countdown.Text; got != "2:30" {
		t.Errorf("countdown = %q", got)
	}
	now = now.Add(61 * time.Second)
	k.tick()
	if got := k.countdown.Text; got != "1:29" {
		t.Errorf("countdown after 61 s = %q", got)
	}
	k.Show(baseSnap())
	if k.countdown != nil {
		t.Error("countdown still present on the welcome screen")
	}
}

func TestKioskIdleRunsNoTicker(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	k := NewKiosk(newFakeLane(), KioskOptions{Now: func() time.Time { return testNow }})
	w := test.NewTempWindow(t, k.Content())
	w.Resize(fyne.NewSize(1920, 1080))
	k.Show(baseSnap())
	if k.tickStop != nil {
		t.Error("a ticker runs on the welcome screen")
	}
	k.Show(feeSnap())
	if k.tickStop == nil {
		t.Error("no ticker on the fee screen")
	}
	k.Show(baseSnap())
	if k.tickStop != nil {
		t.Error("ticker kept running after the fee screen")
	}
	k.Close()
}

func TestKioskLongPressCorner(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	var fire func()
	opened := 0
	k := NewKiosk(newFakeLane(), KioskOptions{
		OnAdmin:   func() { opened++ },
		afterFunc: func(_ time.Duration, f func()) func() bool { fire = f; return func() bool { fire = nil; return true } },
	})
	w := test.NewTempWindow(t, k.Content())
	w.Resize(fyne.NewSize(1920, 1080))
	k.Show(baseSnap())
	corner := findCorner(w.Canvas().Content())
	if corner == nil {
		t.Fatal("no corner")
	}
	// A short press does nothing.
	corner.MouseDown(nil)
	corner.MouseUp(nil)
	if fire != nil || opened != 0 {
		t.Fatal("short press opened admin")
	}
	corner.MouseDown(nil)
	fire()
	if opened != 1 {
		t.Errorf("long press: admin opened %d times", opened)
	}
}

func tapButton(t *testing.T, w fyne.Window, label string) {
	t.Helper()
	b := findButton(w.Canvas().Content(), label)
	if b == nil {
		t.Fatalf("no button %q", label)
	}
	test.Tap(b)
}

func walk(o fyne.CanvasObject, f func(fyne.CanvasObject) bool) bool {
	if f(o) {
		return true
	}
	switch v := o.(type) {
	case *container.Scroll:
		return walk(v.Content, f)
	case *container.ThemeOverride:
		return walk(v.Content, f)
	case *fyne.Container:
		for _, c := range v.Objects {
			if walk(c, f) {
				return true
			}
		}
	}
	return false
}

func findButton(root fyne.CanvasObject, label string) fyne.Tappable {
	var found fyne.Tappable
	walk(root, func(o fyne.CanvasObject) bool {
		switch b := o.(type) {
		case *widget.Button:
			if b.Text == label {
				found = b
			}
		case *bigButton:
			if b.Text == label {
				found = b
			}
		}
		return found != nil
	})
	return found
}

func findCorner(root fyne.CanvasObject) *cornerPress {
	var found *cornerPress
	walk(root, func(o fyne.CanvasObject) bool {
		if c, ok := o.(*cornerPress); ok {
			found = c
			return true
		}
		return false
	})
	return found
}

// writeScreenshot saves the software-painted window as a PNG under
// $EXITLANE_SCREENSHOTS (docs/screenshots), when that is set.
func writeScreenshot(t *testing.T, name string, w fyne.Window) {
	dir := os.Getenv("EXITLANE_SCREENSHOTS")
	if dir == "" {
		return
	}
	img := w.Canvas().Capture()
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestKioskRebuildsDoNotLeak shows many snapshots: memory must not grow
// with them (a container.ThemeOverride per rebuild used to add megabytes
// of font tables each time).
func TestKioskRebuildsDoNotLeak(t *testing.T) {
	k, w := newTestKiosk(t, newFakeLane(), LangArabic)
	w.Resize(fyne.NewSize(1920, 1080))
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	show := func(n int) {
		for i := 0; i < n; i++ {
			s := feeSnap()
			if i%2 == 0 {
				s = baseSnap()
			}
			k.Show(s)
			if i%50 == 0 {
				w.Canvas().Capture()
			}
		}
	}
	show(20)
	before := heap()
	show(200)
	after := heap()
	if after > before+8<<20 {
		t.Errorf("heap grew from %d to %d KB over 200 screens", before>>10, after>>10)
	}
}
