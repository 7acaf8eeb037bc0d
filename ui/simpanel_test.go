package ui

import (
	"errors"
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"

	"github.com/exitlane/exitlane/lane"
)

type fakeSim struct {
	calls []string
	st    SimStatus
	fail  error // what Pay returns
}

func (f *fakeSim) Present(k TicketKind, ago time.Duration) (string, error) {
	f.calls = append(f.calls, fmt.Sprintf("present %s %s", k, ago))
	return "EL1:CM:E1:1:2:X", nil
}
func (f *fakeSim) Pay(decline bool) error {
	f.calls = append(f.calls, fmt.Sprintf("pay decline=%v", decline))
	return f.fail
}
func (f *fakeSim) ExpireQR() error      { f.calls = append(f.calls, "expire"); return nil }
func (f *fakeSim) VehiclePasses() error { f.calls = append(f.calls, "passes"); return nil }
func (f *fakeSim) Plug(d string, p bool) error {
	f.calls = append(f.calls, fmt.Sprintf("plug %s %v", d, p))
	if d == "scanner" {
		f.st.ScannerPlugged = p
	}
	return nil
}
func (f *fakeSim) SetPayBy(m PayByMode) error {
	f.calls = append(f.calls, "payby "+string(m))
	f.st.PayBy = m
	return nil
}
func (f *fakeSim) Status() SimStatus { return f.st }
func (f *fakeSim) SetLane(id string) error {
	f.calls = append(f.calls, "lane "+id)
	f.st.Lane = id
	return nil
}

// With several lanes the panel has a lane chooser and a line per lane;
// the controls act at the chosen lane, whose state the panel shows.
func TestSimPanelLanes(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	open := baseSnap()
	open.State = lane.Open
	f := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus", Lane: "X1",
		Lanes: []SimLane{{ID: "X1", Snapshot: feeSnap(), Store: "up"}, {ID: "X2", Snapshot: open, RelayOn: true, RelayPulses: 3, Store: "down, 4 behind"}}}}
	p := NewSimPanel(f, nil)
	p.sync = true
	w := test.NewTempWindow(t, p.Content())
	w.Resize(fyne.NewSize(1280, 900))
	p.Show(baseSnap())
	has := func(sub string) bool {
		return walk(w.Canvas().Content(), func(o fyne.CanvasObject) bool {
			tx, ok := o.(*canvas.Text)
			return ok && strings.Contains(tx.Text, sub)
		})
	}
	for _, want := range []string{"Ticket at the scanner of X1", "Lane: fee_due", "X2   open     relay ON   3 pulses  store down, 4 behind"} {
		if !has(want) {
			t.Errorf("no text %q", want)
		}
	}
	tapButton(t, w, "X2")
	tapButton(t, w, "Present ticket")
	if want := "[lane X2 present valid 2h17m0s]"; fmt.Sprint(f.calls) != want {
		t.Errorf("calls %v, want %s", f.calls, want)
	}
	if !has("Ticket at the scanner of X2") || !has("Lane: open") {
		t.Error("the panel does not show the chosen lane")
	}
	if h := p.Content().MinSize().Height; h > 900 {
		t.Errorf("panel min height %v with two lanes, want at most 900", h)
	}
}

func TestSimPanel(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	f := &fakeSim{st: SimStatus{
		CheckoutURL: "http://127.0.0.1:8480/checkout/tok_7f3a", SandboxURL: "http://127.0.0.1:8480/",
		ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus", RelayPulses: 1,
		RelayFrames: []string{"A0 01 00 A1  ch1 off", "A0 01 01 A2  ch1 on"},
		Ledger: []SimLedgerRow{{ID: 12, At: time.Date(2026, 3, 1, 6, 5, 9, 0, time.UTC), Text: "exit paid AED 25.00 ticket 000123"},
			{ID: 11, At: time.Date(2026, 3, 1, 6, 4, 1, 0, time.UTC), Text: "order PAID_SUCCESS CM-X2-7-1"}},
	}}
	p := NewSimPanel(f, nil)
	p.sync = true
	w := test.NewTempWindow(t, p.Content())
	w.Resize(fyne.NewSize(600, 900))
	s := feeSnap()
	p.Show(s)
	test.AssertRendersToMarkup(t, "sim/panel.xml", w.Canvas())
	writeScreenshot(t, "sim-panel", w)

	tapButton(t, w, "45 min")
	tapButton(t, w, "Present ticket")
	tapButton(t, w, "Forged")
	tapButton(t, w, "Pay")
	tapButton(t, w, "Decline")
	tapButton(t, w, "Let QR expire")
	tapButton(t, w, "Vehicle passes")
	tapButton(t, w, "Unplug scanner")
	tapButton(t, w, "Replug scanner")
	tapButton(t, w, "PayBy unreachable")
	want := []string{"present valid 45m0s", "present forged 45m0s", "pay decline=false", "pay decline=true", "expire", "passes", "plug scanner false", "plug scanner true", "payby unreachable"}
	if fmt.Sprint(f.calls) != fmt.Sprint(want) {
		t.Errorf("calls = %q\nwant %q", f.calls, want)
	}
}

func TestStationSwitchesToAdmin(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	var fire func()
	ko := KioskOptions{afterFunc: func(_ time.Duration, f func()) func() bool { fire = f; return func() bool { return true } }, noTicker: true}
	st := NewStation(newFakeConsole(), NewGate(testAttendants(t), GatePolicy{}, nil), ko, AdminOptions{sync: true})
	w := test.NewTempWindow(t, st.Content())
	w.Resize(fyne.NewSize(1920, 1080))
	st.Show(baseSnap())
	findCorner(w.Canvas().Content()).MouseDown(nil)
	fire()
	if !st.InAdmin() {
		t.Fatal("long press did not open admin")
	}
	tapButton(t, w, "Back to the lane")
	if st.InAdmin() {
		t.Fatal("still in admin")
	}
	if !st.IsBadge("BADGE-A1") || st.IsBadge("EL1:CM:E1:1:2:X") {
		t.Fatal("badge recognition")
	}
	if !st.InAdmin() || st.Admin.selected != "A1" {
		t.Errorf("badge did not open the login for A1")
	}
	_ = lane.Snapshot{}
}

// A long checkout URL or ledger line must not widen the panel: Fyne grows a
// window to its content's minimum size, and the panel's right-hand buttons
// (unplug relay, PayBy slow, unreachable) went off the 1280 px it is made for.
func TestSimPanelLongLinesDoNotWiden(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	long := "http://127.0.0.1:41429/pay-page/main?BIZ_TYPE=202&ft=79ae7814e0e994fe6ba15e65f7f7428a&t=1795658357251"
	short := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus"}}
	wide := &fakeSim{st: short.st}
	wide.st.CheckoutURL = long
	wide.st.SandboxURL = long
	wide.st.Ledger = []SimLedgerRow{{ID: 5, At: time.Now(), Text: "exit    5835701 AED 20.00 paid pending " + long}}
	wide.st.RelayFrames = []string{long}
	ps, pw := NewSimPanel(short, nil), NewSimPanel(wide, nil)
	ps.Show(feeSnap())
	pw.Show(feeSnap())
	if ws, ww := ps.Content().MinSize().Width, pw.Content().MinSize().Width; ww > ws || ww > 1280 {
		t.Errorf("panel min width %v with long lines, %v without (at most 1280)", ww, ws)
	}
}

// Twelve ledger rows and four relay frames do not make the panel taller
// than its 900 px window: the status scrolls.
func TestSimPanelLongLedgerDoesNotGrow(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	f := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus",
		SandboxURL: "http://127.0.0.1:8480/", CheckoutURL: "http://127.0.0.1:8480/checkout/tok"}}
	for i := 0; i < 12; i++ {
		f.st.Ledger = append(f.st.Ledger, SimLedgerRow{ID: 1, At: time.Now(), Text: "exit paid AED 25.00 ticket 000123"})
	}
	for i := 0; i < 4; i++ {
		f.st.RelayFrames = append(f.st.RelayFrames, "A0 01 01 A2  ch1 on")
	}
	p := NewSimPanel(f, nil)
	p.Show(feeSnap())
	if h := p.Content().MinSize().Height; h > 900 {
		t.Errorf("panel min height %v with 12 ledger rows, want at most 900", h)
	}
}

// exitlane sim's one window (issue 14, item 8): the panel stands beside a
// 1280x720 kiosk on a 1920x1080 screen, two lanes and long lines
// included; nothing overlaps, since there is no second window.
func TestSimWindowFits1920x1080(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	long := "http://127.0.0.1:41429/pay-page/main?BIZ_TYPE=202&ft=79ae7814e0e994fe6ba15e65f7f7428a&t=1795658357251"
	f := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus", Lane: "X1",
		CheckoutURL: long, SandboxURL: long, RelayFrames: []string{long, long, long, long},
		Lanes: []SimLane{{ID: "X1", Snapshot: feeSnap(), Store: "up"}, {ID: "X2", Snapshot: baseSnap(), Store: "down, 4 behind"}}}}
	for i := range 12 {
		f.st.Ledger = append(f.st.Ledger, SimLedgerRow{ID: int64(12 - i), At: time.Now(), Text: "exit    5835701 AED 20.00 paid " + long})
	}
	p := NewSimPanel(f, nil)
	p.sync = true
	p.Show(feeSnap())
	if w := p.Content().MinSize().Width; w > SimPanelMaxWidth {
		t.Errorf("panel min width %v, want at most %v", w, SimPanelMaxWidth)
	}
	ko := KioskOptions{noTicker: true}
	kiosk := NewStation(newFakeConsole(), NewGate(testAttendants(t), GatePolicy{}, nil), ko, AdminOptions{sync: true})
	kiosk.Show(feeSnap())
	sw := NewSimWindow(kiosk.Content(), p)
	size := sw.Size(fyne.NewSize(1280, 720))
	// 1080 less a title bar, should a window manager add one.
	if size.Width > 1920 || size.Height > 1080-40 {
		t.Errorf("window %v does not fit a 1920x1080 screen", size)
	}
	if m := sw.Content().MinSize(); m.Width > size.Width || m.Height > size.Height {
		t.Errorf("content min size %v exceeds the window %v", m, size)
	}
	w := test.NewTempWindow(t, sw.Content())
	w.SetPadded(false) // as exitlane sim's
	w.Resize(size)
	kpos, ksize := kiosk.Content().Position(), kiosk.Content().Size()
	ppos, psize := p.Content().Position(), p.Content().Size()
	if ksize.Width < 1280 || ksize.Height < 720 {
		t.Errorf("kiosk %v, want at least 1280x720", ksize)
	}
	if kpos.X+ksize.Width > ppos.X || ppos.X+psize.Width > size.Width+1 {
		t.Errorf("kiosk at %v size %v and panel at %v size %v overlap or leave the window %v", kpos, ksize, ppos, psize, size)
	}
	writeScreenshot(t, "sim-window", w)
}

// The panel shows the ledger's times in the site's zone (as the kiosk
// does), not the machine's.
func TestSimPanelLedgerInSiteZone(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	dubai, err := time.LoadLocation("Asia/Dubai")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 6, 5, 9, 0, time.UTC) // 10:05:09 in Dubai
	f := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus", Location: dubai,
		Ledger: []SimLedgerRow{{ID: 7, At: at.In(time.FixedZone("machine", -5*3600)), Text: "exit    101 AED 20.00 paid"}}}}
	p := NewSimPanel(f, nil)
	w := test.NewTempWindow(t, p.Content())
	w.Resize(fyne.NewSize(600, 900))
	p.Show(feeSnap())
	has := func(sub string) bool {
		return walk(w.Canvas().Content(), func(o fyne.CanvasObject) bool {
			tx, ok := o.(*canvas.Text)
			return ok && strings.Contains(tx.Text, sub)
		})
	}
	if !has("#7 10:05:09 exit    101 AED 20.00 paid") {
		t.Error("ledger row not in the site's zone (10:05:09 Dubai)")
	}
}

// A step that worked says "ok" in the text colour, not in warning orange;
// one that failed says why in the error colour.
func TestSimPanelResultColour(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	f := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus"}}
	p := NewSimPanel(f, nil)
	p.sync = true
	w := test.NewTempWindow(t, p.Content())
	w.Resize(fyne.NewSize(600, 900))
	p.Show(feeSnap())
	colour := func(text string) color.Color {
		t.Helper()
		var c color.Color
		walk(w.Canvas().Content(), func(o fyne.CanvasObject) bool {
			if tx, ok := o.(*canvas.Text); ok && tx.Text == text {
				c = tx.Color
				return true
			}
			return false
		})
		if c == nil {
			t.Fatalf("no text %q", text)
		}
		return c
	}
	tapButton(t, w, "Vehicle passes")
	if c := colour("Vehicle passes: ok"); c != colForeground {
		t.Errorf("ok in %v, want the text colour %v", c, colForeground)
	}
	f.fail = errors.New("no QR on screen")
	tapButton(t, w, "Pay")
	if c := colour("Pay: no QR on screen"); c != colError {
		t.Errorf("error in %v, want the error colour %v", c, colError)
	}
}

// Choosing a lane tells the display, which shows that lane's kiosk.
func TestSimWindowShowsChosenLane(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	f := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, RelayBoard: "lcus", Lane: "X1",
		Lanes: []SimLane{{ID: "X1", Snapshot: feeSnap()}, {ID: "X2", Snapshot: baseSnap()}}}}
	p := NewSimPanel(f, nil)
	p.sync = true
	k1, k2 := canvas.NewText("kiosk X1", colForeground), canvas.NewText("kiosk X2", colForeground)
	sw := NewSimWindow(k1, p)
	p.OnLane(func(id string) {
		if id == "X2" {
			sw.ShowKiosk(k2)
		}
	})
	w := test.NewTempWindow(t, sw.Content())
	w.Resize(sw.Size(fyne.NewSize(1280, 720)))
	p.Show(baseSnap())
	tapButton(t, w, "X2")
	shown := func(o fyne.CanvasObject) bool {
		return walk(w.Canvas().Content(), func(x fyne.CanvasObject) bool { return x == o })
	}
	if !shown(k2) || shown(k1) {
		t.Errorf("after choosing X2: kiosk X1 shown %t, kiosk X2 shown %t", shown(k1), shown(k2))
	}
}

// Issue 14: the panel's button labels are centred vertically, as the
// admin's are (widget.Button drew a Latin label a few pixels high).
func TestSimPanelButtonLabelsCentred(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(NewTheme())
	f := &fakeSim{st: SimStatus{ScannerPlugged: true, RelayPlugged: true, PayBy: PayByOK, Lane: "X1",
		Lanes: []SimLane{{ID: "X1", Snapshot: baseSnap()}, {ID: "X2", Snapshot: baseSnap()}}}}
	p := NewSimPanel(f, nil)
	p.sync = true
	p.Show(baseSnap())
	w := test.NewTempWindow(t, p.Content())
	w.Resize(fyne.NewSize(640, 1000))
	img := w.Canvas().Capture()
	d := fyne.CurrentApp().Driver()
	for _, label := range []string{"Present ticket", "Decline", "45 min", "X2", "26 h"} {
		b, ok := findButton(w.Canvas().Content(), label).(fyne.CanvasObject)
		if !ok {
			t.Fatalf("no button %q", label)
		}
		pos, s := d.AbsolutePositionForObject(b), b.Size()
		top, bottom := -1, -1
		for y := int(pos.Y) + 2; y < int(pos.Y+s.Height)-2; y++ {
			for x := int(pos.X) + 4; x < int(pos.X+s.Width)-4; x++ {
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
		ink := float32(top+bottom) / 2
		mid := pos.Y + s.Height/2
		if top < 0 || ink < mid-2.5 || ink > mid+2.5 {
			t.Errorf("%q: ink %d..%d (centre %.1f) in a button %.0f..%.0f (centre %.1f)", label, top, bottom, ink, pos.Y, pos.Y+s.Height, mid)
		}
	}
}
