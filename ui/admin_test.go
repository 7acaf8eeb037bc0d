package ui

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// fakeConsole is a lane with canned reports.
type fakeConsole struct {
	*fakeLane
	txs        []lane.Transaction
	shiftErr   error
	unresolved []lane.Unresolved // nil: the canned list
}

func (f *fakeConsole) Totals(_ context.Context, from, to time.Time) (lane.Totals, error) {
	return lane.Totals{From: from, To: to, Visits: 42, Exits: 40, Collected: money.MustParse("612.50"), VAT: money.MustParse("29.17"), Net: money.MustParse("583.33"), Refunded: money.MustParse("15.00"), Owed: money.MustParse("20.00"),
		ByCause: map[lane.Cause]lane.CauseTotal{lane.CausePaid: {Count: 30, Amount: money.MustParse("612.50")}, lane.CauseGrace: {Count: 8}, lane.CauseManual: {Count: 2}, lane.CauseUnableToCollect: {Count: 1, Amount: money.MustParse("20.00")}}}, nil
}

func (f *fakeConsole) Shift(context.Context) (lane.ShiftReport, error) {
	if f.shiftErr != nil {
		return lane.ShiftReport{}, f.shiftErr
	}
	return lane.ShiftReport{ID: 3, Attendant: "A1", Start: testNow.Add(-3 * time.Hour), Totals: lane.Totals{Visits: 12, Exits: 12, Collected: money.MustParse("180.00"), VAT: money.MustParse("8.57"), Net: money.MustParse("171.43")}}, nil
}

func (f *fakeConsole) Unresolved(context.Context) ([]lane.Unresolved, error) {
	if f.unresolved != nil {
		return f.unresolved, nil
	}
	return []lane.Unresolved{
		{Kind: lane.UnresolvedPaidNotExited, Visit: 5, Ticket: "000118", MerchantOrderNo: "CM-X2-5-1", Status: "PAID_SUCCESS", Amount: money.MustParse("25.00"), Since: testNow.Add(-40 * time.Minute)},
		{Kind: lane.UnresolvedUnableToCollect, Visit: 6, Ticket: "000121", Amount: money.MustParse("10.00"), Since: testNow.Add(-20 * time.Minute)},
	}, nil
}

func (f *fakeConsole) Transactions(_ context.Context, before int64, limit int) ([]lane.Transaction, error) {
	var out []lane.Transaction
	for _, t := range f.txs {
		if (before == 0 || t.ID < before) && len(out) < limit {
			out = append(out, t)
		}
	}
	return out, nil
}

func newFakeConsole() *fakeConsole {
	f := &fakeConsole{fakeLane: newFakeLane()}
	for id := int64(25); id >= 1; id-- {
		f.txs = append(f.txs, lane.Transaction{ID: id, At: testNow.Add(-time.Duration(25-id) * time.Minute), Kind: "exit", Visit: id, Ticket: "0001" + string(rune('0'+id%10)), Cause: lane.CausePaid, Amount: money.AED(id)})
	}
	// an attendant's lane-wide action: no ticket
	f.txs[0] = lane.Transaction{ID: 25, At: testNow, Kind: "audit", Status: "close_lane", Attendant: "A1", Reason: "Barrier test"}
	return f
}

type adminHarness struct {
	a    *Admin
	w    fyne.Window
	con  *fakeConsole
	now  time.Time
	idle func()
	// tick is the status tab's store refresh as last armed (nil: none
	// armed since it fired); ticks counts the arms.
	tick  func()
	ticks int
	log   auditLog
}

func newAdminHarness(t *testing.T) *adminHarness {
	t.Helper()
	app := test.NewTempApp(t)
	app.Settings().SetTheme(NewTheme())
	h := &adminHarness{con: newFakeConsole(), now: testNow}
	g := NewGate(testAttendants(t), GatePolicy{}, h.log.add)
	h.a = NewAdmin(h.con, g, AdminOptions{
		Now:       func() time.Time { return h.now },
		afterFunc: func(_ time.Duration, f func()) func() bool { h.idle = f; return func() bool { return true } },
		tickFunc: func(d time.Duration, f func()) func() bool {
			if d != siteRefresh {
				t.Errorf("store refresh every %v", d)
			}
			h.tick, h.ticks = func() { h.tick = nil; f() }, h.ticks+1
			return func() bool { h.tick = nil; return true }
		},
		sync: true,
	})
	h.a.Show(baseSnap())
	h.w = test.NewTempWindow(t, h.a.Content())
	h.w.Resize(fyne.NewSize(1920, 1080))
	return h
}

func (h *adminHarness) enter(t *testing.T, pin string) {
	t.Helper()
	for _, d := range pin {
		tapButton(t, h.w, string(d))
	}
	tapButton(t, h.w, h.a.tr.T("admin.login.ok"))
}

func TestAdminLoginAndActions(t *testing.T) {
	h := newAdminHarness(t)
	h.a.opt.Tariff = []string{ // as ticket.Tariff.Describe writes the GEN tariff
		"Grace: stays up to 15m are free",
		"Exit grace after paying: 20m",
		"Lost ticket: AED 150.00",
		"all week: AED 10.00 for the first 1h · then AED 5.00 per started 1h · at most AED 50.00 per 24 h · over 24 h: each 24 h block priced again",
	}
	h.enter(t, "2468")
	if h.a.Session() != "A1" {
		t.Fatalf("not logged in: %v", h.log)
	}

	tapButton(t, h.w, "Actions")
	sel := findSelect(h.w.Canvas().Content())
	sel.SetSelected("Emergency vehicle")
	tapButton(t, h.w, "Open barrier")
	if a := h.con.next(t); a != (lane.ManualOpen{Attendant: "A1", Reason: "Emergency vehicle"}) {
		t.Errorf("open barrier: %#v", a)
	}
	// A reason belongs to one action: the next one does not inherit it.
	tapButton(t, h.w, "Close lane")
	if a := h.con.next(t); a != (lane.CloseLane{Attendant: "A1"}) {
		t.Errorf("close lane after an open: %#v (the open's reason carried over?)", a)
	}
	findSelect(h.w.Canvas().Content()).SetSelected("Emergency vehicle")

	tapButton(t, h.w, "Reports")
	tapButton(t, h.w, "Refund")
	if a := h.con.next(t); a != (lane.Refund{Attendant: "A1", MerchantOrderNo: "CM-X2-5-1", Reason: "Emergency vehicle"}) {
		t.Errorf("refund: %#v", a)
	}

	tapButton(t, h.w, "History")
	for _, s := range textStrings(h.w.Canvas().Content()) {
		if strings.Contains(s, "ticket  ") {
			t.Errorf("history row names an empty ticket: %q", s)
		}
	}
	tapButton(t, h.w, "Older >")
	if got := h.a.before; len(got) != 2 || got[1] != 16 {
		t.Errorf("paging stack after Older = %v", got)
	}
	tapButton(t, h.w, "< Newer")
	if len(h.a.before) != 1 {
		t.Errorf("paging stack after Newer = %v", h.a.before)
	}
}

// Leaving the admin screen logs out: a long press on the kiosk then asks
// for the PIN again.
func TestAdminLeavingLogsOut(t *testing.T) {
	h := newAdminHarness(t)
	exited := 0
	h.a.opt.OnExit = func() { exited++ }
	h.enter(t, "2468")
	tapButton(t, h.w, "Log out")
	if h.a.Session() != "" || exited != 1 {
		t.Fatalf("session %q, exited %d", h.a.Session(), exited)
	}
	if last := h.log[len(h.log)-1]; last != "A1 logout" {
		t.Errorf("last audit %q", last)
	}
}

func TestAdminLockoutByTaps(t *testing.T) {
	h := newAdminHarness(t)
	for i := 0; i < 5; i++ {
		h.enter(t, "1111")
	}
	if !strings.Contains(strings.ToLower(h.a.message), "locked") {
		t.Errorf("message after 5 wrong PINs = %q", h.a.message)
	}
	h.a.Open("")
	test.AssertRendersToMarkup(t, "admin/1920x1080/en/locked.xml", h.w.Canvas())
	writeScreenshot(t, "admin-locked", h.w)
	h.enter(t, "2468")
	if h.a.Session() != "" {
		t.Fatal("logged in while locked")
	}
	h.now = h.now.Add(5 * time.Minute)
	h.enter(t, "2468")
	if h.a.Session() != "A1" {
		t.Fatal("not logged in after the lockout")
	}
	if n := strings.Count(strings.Join(h.log, ","), "pin_"); n != 7 {
		t.Errorf("audited %d PIN attempts, want 7: %v", n, h.log)
	}
}

func TestAdminIdleLogout(t *testing.T) {
	h := newAdminHarness(t)
	exited := 0
	h.a.opt.OnExit = func() { exited++ }
	h.enter(t, "2468")
	h.now = h.now.Add(time.Minute)
	tapButton(t, h.w, "Reports") // a touch re-arms the timer
	h.now = h.now.Add(119 * time.Second)
	h.idle()
	if h.a.Session() != "A1" {
		t.Fatal("logged out 119 s after the last touch")
	}
	h.now = h.now.Add(time.Second)
	h.idle()
	if h.a.Session() != "" || exited != 1 {
		t.Fatalf("session %q, exited %d after 2 min idle", h.a.Session(), exited)
	}
	if last := h.log[len(h.log)-1]; last != "A1 idle_logout" {
		t.Errorf("last audit %q", last)
	}
}

func TestAdminRefusedActionShown(t *testing.T) {
	h := newAdminHarness(t)
	h.con.err = lane.ErrReasonRequired
	h.enter(t, "2468")
	tapButton(t, h.w, "Actions")
	tapButton(t, h.w, "Exempt")
	h.con.next(t)
	if !strings.Contains(h.a.message, "reason") || !h.a.msgErr {
		t.Errorf("message = %q", h.a.message)
	}
}

func findSelect(root fyne.CanvasObject) *widget.Select {
	var found *widget.Select
	walk(root, func(o fyne.CanvasObject) bool {
		if s, ok := o.(*widget.Select); ok {
			found = s
			return true
		}
		return false
	})
	return found
}

// TestAdminScreensMarkup renders the login and every tab in both
// languages on every supported panel.
func TestAdminScreensMarkup(t *testing.T) {
	for _, p := range testPanels {
		for _, lang := range []string{LangEnglish, LangArabic} {
			t.Run(p.name+"/"+lang, func(t *testing.T) {
				h := newAdminHarness(t)
				h.a.opt.Tariff = []string{"Grace: stays up to 15m are free", "Lost ticket: AED 150.00"}
				h.a.opt.Panel = p.panel
				h.w.Resize(p.size)
				if lang == LangArabic {
					tapButton(t, h.w, "العربية")
				}
				shot := func(name string) {
					dir := "admin/" + p.name + "/" + lang + "/"
					test.AssertRendersToMarkup(t, dir+name+".xml", h.w.Canvas())
					switch {
					case p.shot == "" && lang == LangEnglish:
						writeScreenshot(t, "admin-"+name, h.w)
					case p.shot == "" || name == "login" || name == "actions":
						suffix := p.shot
						if lang == LangArabic {
							suffix = strings.TrimPrefix(suffix+"-ar", "-")
						}
						writeScreenshot(t, "admin-"+name+"-"+suffix, h.w)
					}
				}
				shot("login")
				h.enter(t, "2468")
				shot("status")
				tr := newTr(lang)
				for _, tab := range []string{"actions", "reports", "history"} {
					tapButton(t, h.w, tr.T("admin.tab."+tab))
					shot(tab)
				}
				tapButton(t, h.w, tr.T("admin.tab.actions"))
				tapButton(t, h.w, tr.T("admin.a.open"))
				if a := h.con.next(t); a != (lane.ManualOpen{Attendant: "A1"}) {
					t.Errorf("open barrier: %#v", a)
				}
			})
		}
	}
}

// offScreen lists the buttons and texts that do not fit in the window (not
// counting what is inside a scroll container, which the attendant can
// scroll to).
func offScreen(w fyne.Window) []string {
	size := w.Canvas().Size()
	d := fyne.CurrentApp().Driver()
	var out []string
	var visit func(o fyne.CanvasObject)
	visit = func(o fyne.CanvasObject) {
		if !o.Visible() {
			return
		}
		label := ""
		switch v := o.(type) {
		case *container.Scroll:
			return
		case *fyne.Container:
			for _, c := range v.Objects {
				visit(c)
			}
			return
		case *widget.Button:
			label = "button " + v.Text
		case *bigButton:
			label = "button " + v.Text
		case *BidiText:
			label = "text " + v.Text
		case *canvas.Text:
			label = "text " + v.Text
		default:
			return
		}
		p := d.AbsolutePositionForObject(o)
		sz := o.Size().Max(o.MinSize())
		if p.X < 0 || p.Y < 0 || p.X+sz.Width > size.Width+0.5 || p.Y+sz.Height > size.Height+0.5 {
			out = append(out, label)
		}
	}
	visit(w.Canvas().Content())
	return out
}

// At 1280x720 (exitlane sim's default window and common 720p panels)
// every admin screen fits: the keypad's last row (Clear, 0, OK) was below
// the bottom edge and the loop's status line ran off the right. At 800x480
// the last row of actions and long history rows were off screen; they
// scroll now. The other supported sizes are checked too.
func TestAdminFits720p(t *testing.T) {
	for _, size := range []fyne.Size{fyne.NewSize(1280, 720), fyne.NewSize(800, 480), fyne.NewSize(1080, 1920), fyne.NewSize(1920, 1080)} {
		h := newAdminHarness(t)
		h.w.Resize(size)
		if off := offScreen(h.w); len(off) > 0 {
			t.Errorf("%v login: off screen: %q", size, off)
		}
		h.enter(t, "2468")
		for _, tab := range []string{"Status", "Actions", "Reports", "History"} {
			tapButton(t, h.w, tab)
			if off := offScreen(h.w); len(off) > 0 {
				t.Errorf("%v %s: off screen: %q", size, tab, off)
			}
		}
	}
}

// Before the first shift the ledger answers ErrNotFound: that is "none
// started", not a ledger error in red.
func TestAdminReportsNoShiftYet(t *testing.T) {
	for _, tc := range []struct {
		err      error
		want     string
		ledgerOK bool
	}{
		{fmt.Errorf("%w: no shift yet", lane.ErrNotFound), "none started", true},
		{errors.New("disk I/O error"), "could not read the ledger: disk I/O error", false},
	} {
		h := newAdminHarness(t)
		h.con.shiftErr = tc.err
		h.enter(t, "2468")
		tapButton(t, h.w, "Reports")
		all := strings.Join(textStrings(h.w.Canvas().Content()), "|")
		if !strings.Contains(all, tc.want) {
			t.Errorf("shift error %v: want %q on the reports tab, got %s", tc.err, tc.want, all)
		}
		if m := regexp.MustCompile(`[a-z]+_[a-z]+`).FindString(all); m != "" {
			t.Errorf("snake_case %q on the reports tab: %s", m, all)
		}
		if got := strings.Contains(all, "could not read the ledger"); got == tc.ledgerOK {
			t.Errorf("shift error %v: ledger error shown = %v", tc.err, got)
		}
	}
}

// A paid ticket whose pulse was interrupted says so on the reports tab:
// the car may have left already.
func TestAdminUnresolvedShowsNote(t *testing.T) {
	h := newAdminHarness(t)
	h.con.unresolved = []lane.Unresolved{{Kind: lane.UnresolvedPaidNotExited, Visit: 5, Ticket: "000118", MerchantOrderNo: "CM-X2-5-1",
		Status: "PAID_SUCCESS", Amount: money.MustParse("25.00"), Since: testNow, Note: "pulse interrupted: the car may have left"}}
	h.enter(t, "2468")
	tapButton(t, h.w, "Reports")
	all := strings.Join(textStrings(h.w.Canvas().Content()), "|")
	if !strings.Contains(all, "pulse interrupted: the car may have left") {
		t.Fatalf("the unresolved row does not show its note: %s", all)
	}
}

// The lockout and idle messages say the configured numbers, not 5 and 2.
func TestAdminMessagesUsePolicy(t *testing.T) {
	h := newAdminHarness(t)
	h.a.gate.policy.MaxAttempts = 3
	h.a.gate.policy.Idle = 10 * time.Minute
	for i := 0; i < 3; i++ {
		h.enter(t, "1111")
	}
	h.a.rebuild()
	if want := "Locked after 3 wrong PINs until"; !strings.Contains(h.a.message, want) {
		t.Errorf("after 3 wrong PINs with a limit of 3: %q, want %q", h.a.message, want)
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{2 * time.Minute, "2 minutes"}, {time.Minute, "1 minute"}, {90 * time.Second, "1m30s"}} {
		if got := minutes(newTr(LangEnglish), tc.d); got != tc.want {
			t.Errorf("minutes(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// At 800x480 the reports are taller than the screen: after an action the
// tab keeps its scroll position instead of jumping back to the top; another
// tab starts at the top.
func TestAdminActionKeepsScroll(t *testing.T) {
	h := newAdminHarness(t)
	h.w.Resize(fyne.NewSize(800, 480))
	h.enter(t, "2468")
	tapButton(t, h.w, "Reports")
	h.a.scroll.ScrollToBottom()
	off := h.a.scroll.Offset
	if off.Y <= 0 {
		t.Fatalf("reports tab does not scroll at 800x480 (offset %v)", off)
	}
	tapButton(t, h.w, "Refund")
	h.con.next(t)
	if got := h.a.scroll.Offset; got != off {
		t.Errorf("offset after an action = %v, want %v", got, off)
	}
	tapButton(t, h.w, "Actions")
	if got := h.a.scroll.Offset; got.Y != 0 {
		t.Errorf("actions tab opened at offset %v", got)
	}
}

// The status tab shows the tariff in words when the lane gives it.
func TestAdminStatusShowsTariff(t *testing.T) {
	h := newAdminHarness(t)
	h.a.opt.Tariff = []string{"Lost ticket: AED 150.00", "all week: AED 10.00 for the first 1h"}
	h.enter(t, "2468")
	found := 0
	walk(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
		if l, ok := o.(*widget.Label); ok && strings.Contains(l.Text, "Lost ticket: AED 150.00\nall week: AED 10.00 for the first 1h") {
			found += 2
		}
		return false
	})
	if found != 2 {
		t.Fatalf("%d tariff lines on the status tab, want 2", found)
	}
}
