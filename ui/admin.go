package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
)

// AdminConsole is what the attendant screen needs from the lane: actions
// and the ledger's read-only reports. *lane.Runner satisfies it.
type AdminConsole interface {
	Actions
	lane.Reports
}

// SiteStatus is the site store as the lane sees it: its health and the
// site's open incidents for the status tab, the site's takings and
// unresolved entries for the reports tab's "whole site" view.
// *station.Station satisfies it. All may do I/O (the ledger, the store):
// the admin calls them off the Fyne goroutine.
type SiteStatus interface {
	StoreHealth() lane.StoreHealth
	Incidents(ctx context.Context) ([]lane.Incident, error)
	// SiteTakings are every lane's totals over [from, to) and the
	// site's; SiteUnresolved the site's "paid, not exited", "unable to
	// collect" and orders not final, each with its lane.
	SiteTakings(ctx context.Context, from, to time.Time) (lane.SiteTakings, error)
	SiteUnresolved(ctx context.Context) ([]lane.SiteUnresolved, error)
}

// siteRefresh is how often the status tab asks for the store's health
// and incidents again while it is shown (a ticker, so an idle lane's
// screen follows the store too), and how long the reports tab's "whole
// site" view keeps what it read.
const siteRefresh = 5 * time.Second

// AdminOptions configures the attendant screen. Zero fields mean defaults.
type AdminOptions struct {
	// Reasons are the choices offered for opens, exemptions, closes and
	// refunds (config admin.reasons); a typed reason is always possible.
	Reasons []string
	// Location is the site's zone for times and "today" (UTC if nil).
	Location *time.Location
	Now      func() time.Time
	// OnExit returns to the driver screens.
	OnExit func()
	Logger *slog.Logger
	// PageSize is the number of transactions per page (10).
	PageSize int
	// ActionTimeout bounds one action (30 s: a refund waits for PayBy).
	ActionTimeout time.Duration
	// Tariff describes the tariff in words, one line each (shown on the
	// status tab, so a disputed fee can be checked at the booth).
	Tariff []string
	// Lang is the language the admin opens in (LangEnglish by default);
	// the attendant can switch, until logging out.
	Lang string
	// Panel is the physical screen: buttons keep MinTargetMM.
	Panel Panel
	// Site is the site store's status (nil: the status tab has no site
	// store section).
	Site SiteStatus

	afterFunc func(time.Duration, func()) func() bool
	// tickFunc arms the status tab's store refresh (time.AfterFunc).
	tickFunc func(time.Duration, func()) func() bool
	// sync runs actions on the calling goroutine (tests).
	sync bool
}

// DefaultReasons are offered when the config names none.
var DefaultReasons = []string{
	"Ticket unreadable", "Payment app problem", "Emergency vehicle",
	"Staff vehicle", "Customer complaint", "Barrier test",
}

// Admin is the PIN-protected attendant screen.
type Admin struct {
	con  AdminConsole
	gate *Gate
	opt  AdminOptions
	log  *slog.Logger
	root *fyne.Container
	tr   tr

	snap     lane.Snapshot
	selected string // attendant chosen on the login screen
	message  string
	msgErr   bool
	tab      int
	// the current tab's scroll container (see keepScroll)
	scroll    *container.Scroll
	scrollTab int
	reason    string
	code      string
	// the actions tab's vehicle class ("": car), a lost ticket's known
	// entry as typed, and the earlier ticket's number for a re-entry
	class, entry, prior string
	before              []int64 // paging stack of "before" ids; last is the current page
	pending             sync.WaitGroup

	idleStop func() bool
	size     fyne.Size

	// The site store as last read (site.read), for the status tab.
	site struct {
		read     bool
		at       time.Time
		busy     bool
		health   lane.StoreHealth
		incident []lane.Incident
		err      error
	}
	// siteTick stops the status tab's store refresh (nil: not armed).
	siteTick func() bool
	// siteView: the reports tab shows the whole site (the site store's
	// report, as last read), not this lane's ledger.
	siteView bool
	report   struct {
		read, busy, stale bool
		at                time.Time
		today, shift      lane.SiteTakings
		hasShift          bool
		unresolved        []lane.SiteUnresolved
		err               error
	}
}

// adminLayout rebuilds the admin screen when the window size changes
// (1920x1080, 1280x720, 1080x1920, 800x480 panels).
type adminLayout struct{ a *Admin }

func (l *adminLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	a := l.a
	if size != a.size {
		a.size = size
		a.rebuild()
	}
	for _, o := range a.root.Objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *adminLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(320, 240) }

// wide: room for two columns; short: an 800x480 panel; landscape: the
// actions' form goes beside their buttons.
func (a *Admin) wide() bool      { return a.size.Width == 0 || a.size.Width >= 1200 }
func (a *Admin) short() bool     { return a.size.Height > 0 && a.size.Height < 700 }
func (a *Admin) landscape() bool { return a.size.Width >= a.size.Height }

// target is the height of a touch target: h, or MinTargetMM if taller.
func (a *Admin) target(h float32) float32 {
	return max(h, a.opt.Panel.minTarget(a.size, canvasScale(a.root)))
}

// NewAdmin builds the attendant screen.
func NewAdmin(con AdminConsole, gate *Gate, opt AdminOptions) *Admin {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if len(opt.Reasons) == 0 {
		opt.Reasons = DefaultReasons
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 10
	}
	if opt.ActionTimeout <= 0 {
		opt.ActionTimeout = 30 * time.Second
	}
	if opt.afterFunc == nil {
		opt.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	if opt.tickFunc == nil {
		opt.tickFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	a := &Admin{con: con, gate: gate, opt: opt, log: opt.Logger, tr: newTr(opt.Lang)}
	a.root = container.New(&adminLayout{a: a})
	if a.log == nil {
		a.log = slog.Default()
	}
	if atts := gate.Attendants(); len(atts) == 1 {
		a.selected = atts[0].ID
	}
	a.before = []int64{0}
	a.rebuild()
	return a
}

// Content is the canvas object of the admin screen.
func (a *Admin) Content() fyne.CanvasObject { return a.root }

// Lang is the language shown.
func (a *Admin) Lang() string { return a.tr.lang }

// SetLang switches the language and redraws. Call on the Fyne goroutine.
func (a *Admin) SetLang(lang string) {
	a.tr = newTr(lang)
	a.rebuild()
}

// Open shows the login (or the session if one is active). A badge scan
// passes the attendant's id; the PIN is still required.
func (a *Admin) Open(attendant string) {
	if attendant != "" {
		a.selected = attendant
	}
	if a.gate.session == "" {
		a.tr = newTr(a.opt.Lang)
	}
	a.message, a.msgErr = "", false
	a.rebuild()
}

// Show updates the lane status shown. Call on the Fyne goroutine.
func (a *Admin) Show(s lane.Snapshot) {
	a.snap = s
	if a.gate.session != "" && a.tab == 0 {
		a.rebuild()
	}
}

// Session is the logged-in attendant ("" none).
func (a *Admin) Session() string { return a.gate.Session(a.opt.Now()) }

// Close ends the session and waits for pending actions.
func (a *Admin) Close() {
	a.gate.Logout()
	a.stopIdle()
	a.stopSiteTick()
	a.pending.Wait()
}

func (a *Admin) exit() {
	if a.opt.OnExit != nil {
		a.opt.OnExit()
	}
}

// touch records activity and re-arms the idle logout.
func (a *Admin) touch() {
	now := a.opt.Now()
	if a.gate.Session(now) == "" {
		return
	}
	a.gate.Touch(now)
	a.armIdle()
}

func (a *Admin) armIdle() {
	a.stopIdle()
	d := a.gate.IdleDeadline().Sub(a.opt.Now())
	a.idleStop = a.opt.afterFunc(d, func() { fyne.Do(a.checkIdle) })
}

func (a *Admin) stopIdle() {
	if a.idleStop != nil {
		a.idleStop()
		a.idleStop = nil
	}
}

// checkIdle ends an idle session and returns to the driver screens.
func (a *Admin) checkIdle() {
	if a.gate.session == "" {
		return
	}
	if a.gate.Session(a.opt.Now()) == "" {
		a.stopIdle()
		a.message, a.msgErr = a.tr.T("admin.idle_ended", "duration", minutes(a.tr, a.gate.policy.Idle)), false
		a.tr = newTr(a.opt.Lang)
		a.rebuild()
		a.exit()
		return
	}
	a.armIdle()
}

// minutes says a configured duration in words: "2 minutes", "1 minute",
// "1m30s" (in the language's plural forms).
func minutes(t tr, d time.Duration) string {
	if d > 0 && d%time.Minute == 0 {
		return t.N("duration.minutes", int64(d/time.Minute))
	}
	return d.String()
}

func (a *Admin) rebuild() {
	var c fyne.CanvasObject
	if a.gate.session == "" {
		c = a.loginScreen()
	} else {
		c = a.sessionScreen()
	}
	bg := canvas.NewRectangle(colBackground)
	a.root.Objects = []fyne.CanvasObject{bg, container.NewPadded(c)}
	for _, o := range a.root.Objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(a.size)
	}
	a.root.Refresh()
}

// text is one line in the admin's language, on its start side.
func (a *Admin) text(s string, size float32, bold bool, col color.Color) *BidiText {
	t := NewBidiText(s, a.tr.rtl(), size)
	t.Bold = bold
	if col != nil {
		t.Color = col
	}
	return t
}

// other is the translator of the language not shown.
func (a *Admin) other() tr {
	if a.tr.lang == LangArabic {
		return newTr(LangEnglish)
	}
	return newTr(LangArabic)
}

// heading is a section's title in both languages, the shown one first:
// "Today · اليوم".
func (a *Admin) heading(key string) *BidiText {
	size := float32(40)
	if !a.wide() {
		size = 30
	}
	return a.text(a.tr.T(key)+" · "+a.other().T(key), size, true, colForeground)
}

// button is an admin button: its label centred in it, in the admin's
// language (widget.Button draws its label near the top of a tall button).
func (a *Admin) button(label string, imp widget.Importance, tapped func()) *bigButton {
	return newBigButton(label, a.tr.rtl(), 24, imp, tapped)
}

// langSwitch offers the other language.
func (a *Admin) langSwitch() fyne.CanvasObject {
	other := a.other()
	b := newBigButton(a.tr.T("lang.switch"), other.rtl(), 24, widget.MediumImportance, func() { a.touch(); a.SetLang(other.lang) })
	return b
}

func (a *Admin) messageLine() fyne.CanvasObject {
	col := color.Color(colSuccess)
	if a.msgErr {
		col = colError
	}
	t := a.text(a.message, 26, false, col)
	t.Wrap = true
	return t
}

// mirror reverses objs for Arabic (start side on the right).
func (a *Admin) mirror(objs []fyne.CanvasObject) []fyne.CanvasObject {
	if a.tr.rtl() {
		objs = slices.Clone(objs)
		slices.Reverse(objs)
	}
	return objs
}

func (a *Admin) loginScreen() fyne.CanvasObject {
	now := a.opt.Now()
	var who []fyne.CanvasObject
	for _, at := range a.gate.Attendants() {
		imp := widget.MediumImportance
		if at.ID == a.selected {
			imp = widget.HighImportance
		}
		who = append(who, container.New(&minBox{w: 160, h: a.target(64)}, a.button(at.Name, imp, func() { a.selected = at.ID; a.message = ""; a.rebuild() })))
	}
	if len(who) == 0 {
		l := a.text(a.tr.T("admin.login.none"), 24, false, colForeground)
		l.Wrap = true
		who = append(who, l)
	}
	cell := fyne.NewSize(150, a.target(96))
	if a.short() {
		cell = fyne.NewSize(110, a.target(72))
	}
	kp := newKeypad(func(pin string) { a.login(pin) }, nil, cell, a.tr)
	if until := a.gate.LockedUntil(now); !until.IsZero() {
		a.message, a.msgErr = a.tr.N("admin.login.locked_until", int64(a.gate.policy.MaxAttempts), "time", until.In(a.opt.Location).Format("15:04:05")), true
	}
	back := container.New(&minBox{w: 300, h: a.target(72)}, a.button(a.tr.T("admin.login.back"), widget.MediumImportance, a.exit))
	lang := container.New(&minBox{w: 160, h: a.target(72)}, a.langSwitch())
	title := a.heading("admin.login.title")
	// Below 800 px of height the names, message and keypad do not fit one
	// above the other (at 1280x720 the keypad's last row was cut off).
	if a.short() || (a.size.Height > 0 && a.size.Height < 800) {
		// Side by side: names and message on the start side, keypad on
		// the other.
		left := container.NewVBox(title, container.NewGridWithColumns(2, a.mirror(who)...), a.messageLine(),
			container.NewHBox(a.mirror([]fyne.CanvasObject{back, lang})...))
		return container.NewGridWithColumns(2, a.mirror([]fyne.CanvasObject{left, container.NewCenter(kp.box)})...)
	}
	var top fyne.CanvasObject
	if a.tr.rtl() {
		top = container.NewBorder(nil, nil, container.NewHBox(back, lang), title)
	} else {
		top = container.NewBorder(nil, nil, title, container.NewHBox(lang, back))
	}
	return container.NewBorder(top, nil, nil, nil,
		container.NewVBox(
			container.NewCenter(container.NewHBox(a.mirror(who)...)),
			container.NewCenter(a.messageLine()),
			kp.box,
		))
}

func (a *Admin) login(pin string) {
	if a.selected == "" {
		a.message, a.msgErr = a.tr.T("admin.login.choose"), true
		a.rebuild()
		return
	}
	err := a.gate.Login(a.opt.Now(), a.selected, pin)
	switch {
	case err == nil:
		a.message, a.msgErr, a.tab, a.scroll = "", false, 0, nil
		a.armIdle()
	case errors.Is(err, ErrLocked):
		a.message, a.msgErr = a.tr.T("admin.login.too_many"), true
	default:
		left := a.gate.policy.MaxAttempts - a.gate.wrong
		a.message, a.msgErr = a.tr.N("admin.login.wrong", int64(left)), true
	}
	a.rebuild()
}

func (a *Admin) attendantName() string {
	for _, at := range a.gate.Attendants() {
		if at.ID == a.gate.session {
			return at.Name + " (" + at.ID + ")"
		}
	}
	return a.gate.session
}

// adminTabs are the session's tabs: their words' keys and builders.
func (a *Admin) adminTabs() []struct {
	key   string
	build func() fyne.CanvasObject
} {
	return []struct {
		key   string
		build func() fyne.CanvasObject
	}{
		{"admin.tab.status", a.statusTab}, {"admin.tab.actions", a.actionsTab}, {"admin.tab.reports", a.reportsTab}, {"admin.tab.history", a.historyTab},
	}
}

func (a *Admin) sessionScreen() fyne.CanvasObject {
	// Leaving the admin screen always ends the session: the kiosk is in
	// the driver's reach, and a long press must not reopen an attendant's
	// session (with manual open) without the PIN.
	logout := a.button(a.tr.T("admin.logout"), widget.MediumImportance, func() {
		a.gate.Logout() // audits "logout"
		a.stopIdle()
		a.tr = newTr(a.opt.Lang)
		a.rebuild()
		a.exit()
	})
	title := a.text(a.tr.T("admin.title", "name", a.attendantName()), 40, true, colForeground)
	bw, bh := float32(240), a.target(72)
	if !a.wide() {
		title.TextSize, bw, bh = 26, 200, a.target(56)
	}
	buttons := container.NewHBox(a.mirror([]fyne.CanvasObject{
		container.New(&minBox{w: 160, h: bh}, a.langSwitch()),
		container.New(&minBox{w: bw, h: bh}, logout),
	})...)
	var top fyne.CanvasObject
	if a.tr.rtl() {
		top = container.NewBorder(nil, nil, buttons, nil, title)
	} else {
		top = container.NewBorder(nil, nil, nil, buttons, title)
	}
	tabs := a.adminTabs()
	var tabButtons []fyne.CanvasObject
	for i, tb := range tabs {
		imp := widget.MediumImportance
		if i == a.tab {
			imp = widget.HighImportance
		}
		tabButtons = append(tabButtons, a.button(a.tr.T(tb.key), imp, func() {
			a.touch()
			// A tab starts clean: the last action's result (a refusal in
			// red) belongs to the tab it was done on.
			a.tab, a.scroll, a.message, a.msgErr = i, nil, "", false
			a.rebuild()
		}))
	}
	bar := container.NewGridWithColumns(len(tabButtons), a.mirror(tabButtons)...)
	body := tabs[a.tab].build()
	head := []fyne.CanvasObject{top, container.New(&fixedHeight{h: bh}, bar)}
	if a.message != "" {
		head = append(head, a.messageLine())
	}
	return container.NewBorder(container.NewVBox(head...), nil, nil, nil, body)
}

// kv lists key/value pairs in two columns, the values beside their keys
// on one baseline (BidiText draws every run on the same baseline; plain
// canvas.Texts starting with a digit sat 0.3 em below those starting with
// a Latin letter), keys on the start side.
func (a *Admin) kv(pairs ...string) fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for i := 0; i+1 < len(pairs); i += 2 {
		objs = append(objs, a.text(pairs[i], 24, false, colMuted), a.text(pairs[i+1], 24, true, colForeground))
	}
	return container.New(&kvLayout{rowH: 40, rtl: a.tr.rtl()}, objs...)
}

// kvLayout places key/value pairs in rows of rowH, values aligned after
// the widest key (before it, for Arabic).
type kvLayout struct {
	rowH float32
	rtl  bool
}

func (l *kvLayout) keyWidth(objs []fyne.CanvasObject) float32 {
	var w float32
	for i := 0; i < len(objs); i += 2 {
		w = max(w, objs[i].MinSize().Width)
	}
	return w + 24
}

func (l *kvLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	kw := l.keyWidth(objs)
	vw := max(size.Width-kw, 0)
	for i := 0; i+1 < len(objs); i += 2 {
		y := float32(i/2) * l.rowH
		kx, vx := float32(0), kw
		if l.rtl {
			kx, vx = size.Width-kw, 0
		}
		objs[i].Move(fyne.NewPos(kx, y))
		objs[i].Resize(fyne.NewSize(kw, l.rowH))
		objs[i+1].Move(fyne.NewPos(vx, y))
		objs[i+1].Resize(fyne.NewSize(vw, l.rowH))
	}
}

func (l *kvLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var vw float32
	for i := 1; i < len(objs); i += 2 {
		vw = max(vw, objs[i].MinSize().Width)
	}
	return fyne.NewSize(l.keyWidth(objs)+vw, float32(len(objs)/2)*l.rowH)
}

func (a *Admin) deviceText(d lane.DeviceState) string {
	switch d {
	case lane.DeviceOK:
		return a.tr.T("admin.dev.ok")
	case lane.DeviceDown:
		return a.tr.T("admin.dev.down")
	case lane.DeviceAbsent:
		return a.tr.T("admin.dev.absent")
	}
	return a.tr.T("admin.dev.unknown")
}

func (a *Admin) yesNo(b bool) string {
	if b {
		return a.tr.T("admin.yes")
	}
	return a.tr.T("admin.no")
}

// noticeWords is a notice in the admin's language: the driver's words.
func (a *Admin) noticeWords(n lane.NoticeKind) string {
	if n == lane.NoticeNone {
		return a.tr.T("admin.notice_none")
	}
	return a.tr.T("notice." + n.String())
}

func (a *Admin) causeWords(c lane.Cause) string { return a.tr.T("admin.cause." + c.String()) }

func (a *Admin) statusTab() fyne.CanvasObject {
	s := a.snap
	h := s.Health
	open := a.tr.T("admin.lane_open")
	if !s.LaneOpen {
		open = a.tr.T("admin.lane_closed")
	}
	skew := a.tr.T("admin.dev.unknown")
	if h.ClockSkew != 0 {
		skew = h.ClockSkew.Round(time.Second).String()
		if h.ClockSkew > 10*time.Minute || h.ClockSkew < -10*time.Minute {
			skew = a.tr.T("admin.skew_far", "skew", skew)
		}
	}
	t := a.tr.T
	lanePairs := []string{
		t("admin.k.lane"), s.Site + " " + s.Lane + " · " + open,
		t("admin.k.state"), t("admin.state." + s.State.String()),
		t("admin.k.notice"), a.noticeWords(s.Notice),
		t("admin.k.called"), a.yesNo(s.AttendantCalled),
		t("admin.k.unresolved"), fmt.Sprint(s.Unresolved),
	}
	if tk := s.Ticket; tk != nil {
		auth := t("admin.ticket_signed")
		if !tk.Signed {
			auth = t("admin.ticket_unsigned")
		}
		lanePairs = append(lanePairs,
			t("admin.k.ticket"), tk.Serial+" ("+string(tk.Format)+", "+auth+")",
			t("admin.k.entry"), tk.Entry.In(a.opt.Location).Format("2006-01-02 15:04"),
			t("admin.k.fee"), a.tr.amount(s.Fee),
			t("admin.k.paid"), a.tr.amount(s.Paid),
			t("admin.k.due"), a.tr.amount(s.Due),
		)
		if s.MerchantOrderNo != "" {
			lanePairs = append(lanePairs, t("admin.k.order"), t("admin.order_attempt", "order", s.MerchantOrderNo, "attempt", fmt.Sprint(s.Attempt)))
		}
	}
	devices := a.kv(
		t("admin.k.scanner"), a.deviceText(h.Scanner),
		t("admin.k.relay"), a.deviceText(h.Relay),
		t("admin.k.loop"), a.deviceText(h.Loop),
		t("admin.k.printer"), a.deviceText(h.Printer),
		t("admin.k.present"), a.yesNo(h.VehiclePresent),
		t("admin.k.payby"), a.deviceText(h.PayBy),
		t("admin.k.skew"), skew,
		t("admin.k.ledger"), a.deviceText(h.Ledger),
	)
	laneBox := container.NewVBox(a.heading("admin.h.lane"), a.kv(lanePairs...))
	devBox := container.NewVBox(a.heading("admin.h.devices"), devices)
	store := a.storeBox()
	var tariff fyne.CanvasObject
	if len(a.opt.Tariff) > 0 {
		// The tariff's own words (ticket.Tariff.Describe) are English.
		l := widget.NewLabel(strings.Join(a.opt.Tariff, "\n"))
		l.Wrapping = fyne.TextWrapWord
		tariff = container.NewVBox(a.heading("admin.h.tariff"), l)
	}
	if a.wide() {
		top := container.NewGridWithColumns(2, a.mirror([]fyne.CanvasObject{laneBox, devBox})...)
		if tariff == nil && store == nil {
			return top
		}
		objs := []fyne.CanvasObject{top}
		for _, o := range []fyne.CanvasObject{store, tariff} {
			if o != nil {
				objs = append(objs, o)
			}
		}
		return a.vscroll(container.NewVBox(objs...))
	}
	objs := []fyne.CanvasObject{laneBox, devBox}
	if store != nil {
		objs = append(objs, store)
	}
	if tariff != nil {
		objs = append(objs, tariff)
	}
	return a.vscroll(container.NewVBox(objs...))
}

// storeBox is the site store's section of the status tab (nil without
// AdminOptions.Site): its state as the lane sees it (not configured, up,
// down since when, replaying with the rows behind, stopped) and the
// site's open incidents, each with its lanes, times and amounts, a double
// payment with the refund proposed. It shows what was last read and asks
// again (off the Fyne goroutine) when that is older than siteRefresh.
func (a *Admin) storeBox() fyne.CanvasObject {
	if a.opt.Site == nil {
		return nil
	}
	a.refreshSite(false)
	a.armSiteTick()
	t := a.tr.T
	h := a.site.health
	var state string
	switch {
	case !a.site.read:
		state = t("admin.dev.unknown")
	case !h.Configured:
		state = t("admin.store.absent")
	case h.Stopped:
		state = t("admin.store.stopped")
	case !h.Up:
		state = t("admin.store.down", "since", a.when(h.Since, "02 Jan 15:04:05"))
		if h.Behind > 0 {
			state += " · " + t("admin.store.behind", "rows", fmt.Sprint(h.Behind))
		}
	case h.Behind > 0:
		state = t("admin.store.replaying", "rows", fmt.Sprint(h.Behind))
	default:
		state = t("admin.store.up")
	}
	objs := []fyne.CanvasObject{a.heading("admin.h.store"), a.kv(t("admin.k.store"), state)}
	if !a.site.read || !h.Configured {
		return container.NewVBox(objs...)
	}
	var lines []string
	switch {
	case a.site.err != nil:
		lines = []string{t("admin.incidents.unread")}
	case len(a.site.incident) == 0:
		lines = []string{t("admin.incidents.none")}
	}
	for _, in := range a.site.incident {
		lines = append(lines, t("admin.incident."+string(in.Kind),
			"ticket", in.Ticket, "lane", in.Lane, "at", a.when(in.At, "02 Jan 15:04"), "amount", a.tr.amount(in.Amount), "order", in.No,
			"other", in.OtherLane, "other_at", a.when(in.OtherAt, "02 Jan 15:04"), "other_amount", a.tr.amount(in.OtherAmount),
			"refund", a.tr.amount(in.Refund)))
	}
	objs = append(objs, a.text(t("admin.k.incidents"), 24, false, colMuted))
	for _, l := range lines {
		x := a.text(l, 24, true, colForeground)
		x.Wrap = true
		objs = append(objs, x)
	}
	return container.NewVBox(objs...)
}

// armSiteTick arms the status tab's store refresh: every siteRefresh
// while the tab is shown, the store's health and incidents are read again
// and the tab redrawn, snapshot or not (an idle lane sends none).
func (a *Admin) armSiteTick() {
	if a.siteTick != nil {
		return
	}
	a.siteTick = a.opt.tickFunc(siteRefresh, func() { fyne.Do(a.siteTicked) })
}

func (a *Admin) stopSiteTick() {
	if a.siteTick != nil {
		a.siteTick()
		a.siteTick = nil
	}
}

// siteTicked reads the store again if the status tab is still shown, and
// re-arms; otherwise the ticker stops until the tab is shown again.
func (a *Admin) siteTicked() {
	a.siteTick = nil
	if a.gate.session == "" || a.tab != 0 || a.opt.Site == nil {
		return
	}
	a.refreshSite(true)
	if a.opt.sync {
		a.rebuild()
	}
	a.armSiteTick()
}

// refreshSite reads the site store's health and incidents again if what
// was read is older than siteRefresh (or force): off the Fyne goroutine,
// then redraws the status or reports tab (in tests with sync, at once).
func (a *Admin) refreshSite(force bool) {
	now := a.opt.Now()
	if a.site.busy || (!force && a.site.read && now.Sub(a.site.at) < siteRefresh) {
		return
	}
	a.site.busy = true
	site := a.opt.Site
	read := func() (lane.StoreHealth, []lane.Incident, error) {
		ctx, cancel := context.WithTimeout(context.Background(), a.opt.ActionTimeout)
		defer cancel()
		h := site.StoreHealth()
		if !h.Configured {
			return h, nil, nil
		}
		in, err := site.Incidents(ctx)
		return h, in, err
	}
	store := func(h lane.StoreHealth, in []lane.Incident, err error) {
		a.site.read, a.site.at, a.site.busy = true, now, false
		a.site.health, a.site.incident, a.site.err = h, in, err
		if err != nil {
			a.log.Warn("admin: site incidents not read", "err", err)
		}
	}
	if a.opt.sync {
		store(read())
		return
	}
	a.pending.Add(1)
	go func() {
		defer a.pending.Done()
		h, in, err := read()
		fyne.Do(func() {
			store(h, in, err)
			if a.gate.session != "" && (a.tab == 0 || a.tab == reportsTab) {
				a.rebuild()
			}
		})
	}()
}

// act submits an attendant action off the Fyne goroutine and shows the
// outcome.
func (a *Admin) act(label string, x lane.Action) {
	a.touch()
	if a.gate.session == "" {
		return
	}
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), a.opt.ActionTimeout)
		defer cancel()
		err := a.con.Do(ctx, x)
		done := func() {
			if err != nil {
				a.message, a.msgErr = a.tr.T("admin.refused", "action", label, "why", a.describe(err)), true
			} else {
				a.message, a.msgErr = a.tr.T("admin.done", "action", label), false
				// A reason (and a typed code) belongs to one action: kept,
				// it would be recorded silently on the next one.
				a.reason, a.code = "", ""
				a.class, a.entry, a.prior = "", "", ""
			}
			// A refund or a resolution changes the site's lists too.
			a.report.stale = true
			a.rebuild()
		}
		if a.opt.sync {
			done()
		} else {
			fyne.Do(done)
		}
	}
	if a.opt.sync {
		run()
		return
	}
	a.pending.Add(1)
	go func() { defer a.pending.Done(); run() }()
}

// classLabel is a vehicle class in the attendant's language: the
// catalogue's "class.<name>" where it has one (car, motorcycle, ...),
// else the tariff's own name.
func (a *Admin) classLabel(c string) string {
	if l := a.tr.T("class." + c); l != "class."+c {
		return l
	}
	return c
}

// describe turns a lane error into words for the attendant.
func (a *Admin) describe(err error) string {
	var ce *lane.ClassError
	var re *lane.ReentryError
	switch {
	case errors.Is(err, lane.ErrReasonRequired):
		return a.tr.T("admin.err.reason")
	case errors.Is(err, lane.ErrNotNow):
		return a.tr.T("admin.err.not_now")
	case errors.Is(err, lane.ErrAmount):
		return a.tr.T("admin.err.amount")
	case errors.As(err, &ce):
		labels := make([]string, len(ce.Classes))
		for i, c := range ce.Classes {
			labels[i] = a.classLabel(c)
		}
		return a.tr.T("admin.err.class", "class", ce.Class, "classes", strings.Join(labels, a.tr.T("list.separator")))
	case errors.As(err, &re):
		if re.Exit.IsZero() {
			return a.tr.T("admin.err.no_exit", "serial", re.Serial)
		}
		if re.Window <= 0 {
			return a.tr.T("admin.err.no_reentry")
		}
		return a.tr.T("admin.err.reentry_window", "serial", re.Serial, "exit", re.Exit.In(a.opt.Location).Format("2006-01-02 15:04"), "window", a.tr.duration(re.Window))
	case errors.Is(err, lane.ErrEntryAfterNow):
		return a.tr.T("admin.err.entry_after_now")
	case errors.Is(err, lane.ErrNotFound):
		return a.tr.T("admin.err.not_found")
	case errors.Is(err, lane.ErrStopped):
		return a.tr.T("admin.err.stopped")
	}
	return err.Error()
}

// scrollInset keeps content clear of the scroll bar, which Fyne draws
// over the content's right edge (it covered the text fields).
func scrollInset() float32 {
	return theme.Size(theme.SizeNameScrollBar) + theme.Size(theme.SizeNamePadding)
}

// vscroll scrolls content vertically, clear of the scroll bar, and keeps
// the tab's scroll position across rebuilds (see keepScroll).
func (a *Admin) vscroll(content fyne.CanvasObject) *container.Scroll {
	return a.keepScroll(container.NewVScroll(container.New(layout.NewCustomPaddedLayout(0, 0, 0, scrollInset()), content)))
}

// selectAlign aligns a drop-down's chosen text and its list of options
// to the start of the admin's language: the right edge in Arabic.
func (a *Admin) selectAlign() fyne.TextAlign {
	if a.tr.rtl() {
		return fyne.TextAlignTrailing
	}
	return fyne.TextAlignLeading
}

func (a *Admin) actionsTab() fyne.CanvasObject {
	id := a.gate.session
	t := a.tr.T
	sel := widget.NewSelect(a.opt.Reasons, func(s string) { a.touch(); a.reason = s })
	sel.PlaceHolder = t("admin.reason_choose")
	sel.Alignment = a.selectAlign()
	if contains(a.opt.Reasons, a.reason) {
		sel.Selected = a.reason
	}
	typed := widget.NewEntry()
	typed.SetPlaceHolder(t("admin.reason_type"))
	if !contains(a.opt.Reasons, a.reason) {
		typed.Text = a.reason
	}
	typed.OnChanged = func(s string) { a.touch(); a.reason = s }
	code := widget.NewEntry()
	code.SetPlaceHolder(t("admin.code_placeholder"))
	code.Text = a.code
	code.OnChanged = func(s string) { a.touch(); a.code = s }
	r := func() string { return strings.TrimSpace(a.reason) }
	btn := func(key string, imp widget.Importance, f func(label string)) fyne.CanvasObject {
		label := t(key)
		return a.button(label, imp, func() { f(label) })
	}
	// The vehicle class of a lost ticket or of the visit being served:
	// the tariff's classes, car by default.
	classes := a.snap.Classes
	if len(classes) == 0 {
		classes = []string{lane.DefaultClass}
	}
	// Shown in the attendant's language where the catalogue names the
	// class; the lane is told the tariff's own name.
	labels := make([]string, len(classes))
	byLabel := make(map[string]string, len(classes))
	for i, c := range classes {
		labels[i] = a.classLabel(c)
		byLabel[labels[i]] = c
	}
	class := widget.NewSelect(labels, func(s string) { a.touch(); a.class = byLabel[s] })
	class.Alignment = a.selectAlign()
	class.Selected = a.classLabel(lane.DefaultClass)
	if contains(classes, a.class) {
		class.Selected = a.classLabel(a.class)
	}
	cls := func() string {
		if c, ok := byLabel[class.Selected]; ok {
			return c
		}
		return lane.DefaultClass
	}
	// A lost ticket's entry time, when known another way, in the site's
	// zone; blank: unknown.
	entry := widget.NewEntry()
	entry.SetPlaceHolder(t("admin.entry_placeholder", "example", a.opt.Now().In(a.opt.Location).Format(entryLayout)))
	entry.Text = a.entry
	entry.OnChanged = func(s string) { a.touch(); a.entry = s }
	prior := widget.NewEntry()
	prior.SetPlaceHolder(t("admin.prior_placeholder"))
	prior.Text = a.prior
	prior.OnChanged = func(s string) { a.touch(); a.prior = s }
	lost := func(l string) {
		at, ok := a.entryTime()
		if !ok {
			a.message, a.msgErr = t("admin.refused", "action", l, "why", t("admin.err.entry_format", "format", entryFormat)), true
			a.rebuild()
			return
		}
		a.act(l, lane.LostTicket{Attendant: id, Reason: r(), Class: cls(), Entry: at})
	}
	laneBtn := btn("admin.a.close", widget.WarningImportance, func(l string) { a.act(l, lane.CloseLane{Attendant: id, Reason: r()}) })
	if !a.snap.LaneOpen {
		laneBtn = btn("admin.a.open_lane", widget.SuccessImportance, func(l string) { a.act(l, lane.OpenLane{Attendant: id}) })
	}
	buttons := []fyne.CanvasObject{
		btn("admin.a.open", widget.HighImportance, func(l string) { a.act(l, lane.ManualOpen{Attendant: id, Reason: r()}) }),
		btn("admin.a.lost", widget.MediumImportance, lost),
		btn("admin.a.exempt", widget.MediumImportance, func(l string) { a.act(l, lane.Exempt{Attendant: id, Reason: r()}) }),
		btn("admin.a.unable", widget.MediumImportance, func(l string) { a.act(l, lane.UnableToCollect{Attendant: id, Reason: r()}) }),
		btn("admin.a.override", widget.MediumImportance, func(l string) { a.act(l, lane.Override{Attendant: id, Reason: r()}) }),
		btn("admin.a.code", widget.MediumImportance, func(l string) { a.act(l, lane.EnterCode{Attendant: id, Code: strings.TrimSpace(a.code)}) }),
		btn("admin.a.class", widget.MediumImportance, func(l string) { a.act(l, lane.SetClass{Attendant: id, Class: cls(), Reason: r()}) }),
		btn("admin.a.reentry", widget.MediumImportance, func(l string) {
			a.act(l, lane.Reentry{Attendant: id, Serial: strings.TrimSpace(a.prior), Reason: r()})
		}),
		laneBtn,
		btn("admin.a.clear", widget.MediumImportance, func(l string) { a.act(l, lane.ClearFault{Attendant: id}) }),
		btn("admin.a.start_shift", widget.MediumImportance, func(l string) { a.act(l, lane.StartShift{Attendant: id}) }),
		btn("admin.a.end_shift", widget.MediumImportance, func(l string) { a.act(l, lane.EndShift{Attendant: id}) }),
	}
	reasonLabel := t("admin.reason_label")
	if a.short() {
		reasonLabel = t("admin.reason_short")
	}
	label := func(s string) fyne.CanvasObject {
		l := a.text(s, 24, false, colMuted)
		l.Wrap = true
		return l
	}
	form := container.NewVBox(label(reasonLabel), sel, typed, label(t("admin.code_label")), code,
		label(t("admin.class_label")), class, label(t("admin.entry_label")), entry, label(t("admin.prior_label")), prior)
	// The buttons in a grid of fixed cells: as many columns as fit.
	width := a.size.Width - 2*theme.Size(theme.SizeNamePadding) - scrollInset()
	if width <= 0 {
		width = 1880
	}
	gap := float32(10)
	cellH := a.target(84)
	if a.short() {
		gap, cellH = 6, a.target(52)
	}
	grid := func(w float32) fyne.CanvasObject {
		cols := max(1, min(3, int((w+gap)/(200+gap))))
		cw := min(360, (w-float32(cols-1)*gap)/float32(cols))
		return container.New(&cellGrid{cols: cols, cell: fyne.NewSize(cw, cellH), gap: gap, rtl: a.tr.rtl()}, buttons...)
	}
	if a.landscape() {
		// The form beside the buttons: at 1280x720 the buttons below the
		// form were mostly out of sight (three of ten showed).
		formW := min(width*0.38, 560)
		split := container.New(&splitLayout{first: formW, gap: 2 * gap, rtl: a.tr.rtl()}, form, grid(width-formW-2*gap))
		return a.vscroll(split)
	}
	return a.vscroll(container.NewVBox(form, widget.NewSeparator(), container.NewCenter(grid(width))))
}

// entryLayout is how an attendant types a lost ticket's known entry, in
// the site's zone; entryFormat is how the screen names it.
const (
	entryLayout = "2006-01-02 15:04"
	entryFormat = "YYYY-MM-DD HH:MM"
)

// entryTime reads the lost ticket's known entry: zero when blank, ok
// false when it is not a time in entryLayout.
func (a *Admin) entryTime() (time.Time, bool) {
	s := strings.Join(strings.Fields(a.entry), " ")
	if s == "" {
		return time.Time{}, true
	}
	at, err := time.ParseInLocation(entryLayout, s, a.opt.Location)
	return at, err == nil
}

// splitLayout puts its first child in a column first wide (on the right
// for Arabic) and its second in the rest, gap apart, both at the top.
type splitLayout struct {
	first, gap float32
	rtl        bool
}

func (l *splitLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	a, b := objs[0], objs[1]
	rest := max(size.Width-l.first-l.gap, 0)
	ax, bx := float32(0), l.first+l.gap
	if l.rtl {
		ax, bx = size.Width-l.first, 0
	}
	a.Move(fyne.NewPos(ax, 0))
	a.Resize(fyne.NewSize(l.first, a.MinSize().Height))
	b.Move(fyne.NewPos(bx, 0))
	b.Resize(fyne.NewSize(rest, b.MinSize().Height))
}

func (l *splitLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	a, b := objs[0].MinSize(), objs[1].MinSize()
	return fyne.NewSize(l.first+l.gap+b.Width, max(a.Height, b.Height))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// reportsTab is the index of the reports tab in adminTabs.
const reportsTab = 2

// reportsTab shows this lane's takings today and in the shift, and its
// unresolved entries; with a site store, a switch shows the whole site's
// instead (siteReport).
func (a *Admin) reportsTab() fyne.CanvasObject {
	var objs []fyne.CanvasObject
	sw := a.viewSwitch()
	if sw != nil {
		objs = append(objs, sw)
	}
	if sw != nil && a.siteView {
		objs = append(objs, a.siteReport()...)
	} else {
		objs = append(objs, a.laneReport()...)
	}
	return a.vscroll(container.NewVBox(objs...))
}

// viewSwitch is the reports tab's "This lane / Whole site" switch (nil
// without a site store: the lane is the site).
func (a *Admin) viewSwitch() fyne.CanvasObject {
	if a.opt.Site == nil {
		return nil
	}
	a.refreshSite(false)
	if !a.site.read || !a.site.health.Configured {
		return nil
	}
	var btns []fyne.CanvasObject
	for _, v := range []struct {
		key  string
		site bool
	}{{"admin.view.lane", false}, {"admin.view.site", true}} {
		imp := widget.MediumImportance
		if v.site == a.siteView {
			imp = widget.HighImportance
		}
		btns = append(btns, container.New(&minBox{w: 220, h: a.target(56)}, a.button(a.tr.T(v.key), imp, func() {
			a.touch()
			if a.siteView != v.site {
				a.siteView, a.scroll = v.site, nil
				a.report.stale = true
			}
			a.rebuild()
		})))
	}
	row := container.NewHBox(a.mirror(btns)...)
	if a.tr.rtl() {
		return container.NewBorder(nil, nil, nil, row)
	}
	return container.NewBorder(nil, nil, row, nil)
}

// laneReport is this lane's part of the reports tab, from its ledger.
func (a *Admin) laneReport() []fyne.CanvasObject {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t := a.tr.T
	now := a.opt.Now().In(a.opt.Location)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, a.opt.Location)
	today := []fyne.CanvasObject{a.heading("admin.h.today")}
	if tot, err := a.con.Totals(ctx, day.UTC(), now.UTC()); err != nil {
		today = append(today, a.errText(err))
	} else {
		today = append(today, a.totalsView(tot, false))
	}
	shift := []fyne.CanvasObject{a.heading("admin.h.shift")}
	// The ledger answers ErrNotFound before the first shift is started.
	if sh, err := a.con.Shift(ctx); err != nil && !errors.Is(err, lane.ErrNotFound) {
		shift = append(shift, a.errText(err))
	} else if err != nil || sh.ID == 0 {
		shift = append(shift, a.kv(t("admin.h.shift"), t("admin.shift.none")))
	} else {
		end := t("admin.shift.open")
		if !sh.End.IsZero() {
			end = sh.End.In(a.opt.Location).Format("15:04")
		}
		shift = append(shift, a.kv(t("admin.shift.attendant"), sh.Attendant, t("admin.shift.from"), sh.Start.In(a.opt.Location).Format("2006-01-02 15:04"), t("admin.shift.to"), end), a.totalsView(sh.Totals, false))
	}
	objs := []fyne.CanvasObject{
		a.columns(container.NewVBox(today...), container.NewVBox(shift...)),
		a.heading("admin.h.unresolved"),
	}
	us, err := a.con.Unresolved(ctx)
	switch {
	case err != nil:
		objs = append(objs, a.errText(err))
	case len(us) == 0:
		objs = append(objs, a.text(t("admin.nothing"), 24, false, colMuted))
	}
	for _, u := range us {
		objs = append(objs, a.unresolvedRow(u, ""))
	}
	return append(objs, a.refreshRow(func() { a.touch(); a.rebuild() }))
}

// columns puts two sections side by side on a wide screen, one above the
// other otherwise.
func (a *Admin) columns(first, second fyne.CanvasObject) fyne.CanvasObject {
	cols := 1
	if a.wide() {
		cols = 2
	}
	return container.NewGridWithColumns(cols, a.mirror([]fyne.CanvasObject{first, second})...)
}

// unresolvedRow is one unresolved entry, with its refund and resolve
// buttons when it is this lane's; other ("" this lane) names the lane of
// a site-wide entry of another lane, which is resolved there or in the
// office, not here.
func (a *Admin) unresolvedRow(u lane.Unresolved, other string) fyne.CanvasObject {
	t := a.tr.T
	id := a.gate.session
	bh := a.target(56)
	parts := []string{a.unresolvedText(u.Kind), t("admin.u.ticket", "ticket", u.Ticket), a.tr.amount(u.Amount)}
	if u.MerchantOrderNo != "" {
		parts = append(parts, u.MerchantOrderNo+" "+u.Status)
	}
	parts = append(parts, t("admin.u.since", "time", a.when(u.Since, "02 Jan 15:04")))
	if u.Note != "" {
		parts = append(parts, u.Note)
	}
	if other != "" {
		parts = append([]string{t("admin.site.lane", "lane", other)}, parts...)
		parts = append(parts, t("admin.site.other_lane", "lane", other))
	}
	label := strings.Join(parts, " · ")
	row := []fyne.CanvasObject{}
	if other == "" && u.MerchantOrderNo != "" && u.Kind == lane.UnresolvedPaidNotExited {
		l := t("admin.a.refund")
		row = append(row, container.New(&minBox{w: 160, h: bh}, a.button(l, widget.MediumImportance, func() {
			a.act(l, lane.Refund{Attendant: id, MerchantOrderNo: u.MerchantOrderNo, Reason: strings.TrimSpace(a.reason)})
		})))
	}
	if other == "" && u.Kind != lane.UnresolvedNotFinal {
		l := t("admin.a.resolve")
		row = append(row, container.New(&minBox{w: 160, h: bh}, a.button(l, widget.MediumImportance, func() {
			a.act(l, lane.Resolve{Attendant: id, MerchantOrderNo: u.MerchantOrderNo, Reason: strings.TrimSpace(a.reason)})
		})))
	}
	txt := a.text(label, 24, false, colForeground)
	txt.Wrap = true
	btns := container.NewHBox(a.mirror(row)...)
	if a.tr.rtl() {
		return container.NewBorder(nil, nil, btns, nil, txt)
	}
	return container.NewBorder(nil, nil, nil, btns, txt)
}

// refreshRow is the Refresh button with the refund hint.
func (a *Admin) refreshRow(tapped func()) fyne.CanvasObject {
	refresh := container.New(&minBox{w: 160, h: a.target(56)}, a.button(a.tr.T("admin.a.refresh"), widget.MediumImportance, tapped))
	hint := a.text(a.tr.T("admin.refund_hint"), 24, false, colMuted)
	hint.Wrap = true
	if a.tr.rtl() {
		return container.NewBorder(nil, nil, nil, refresh, hint)
	}
	return container.NewBorder(nil, nil, refresh, nil, hint)
}

// siteReport is the whole site's part of the reports tab, from the site
// store as last read (refreshReport): the site's takings today and during
// this attendant's shift, by cause with VAT and net, lane by lane, and
// the site's unresolved entries with their lanes. The store down, it says
// so; the switch still leads back to this lane's view.
func (a *Admin) siteReport() []fyne.CanvasObject {
	t := a.tr.T
	a.refreshReport()
	r := &a.report
	refresh := a.refreshRow(func() { a.touch(); a.report.stale = true; a.rebuild() })
	switch {
	case r.err != nil:
		x := a.text(t("admin.site.down"), 24, true, colError)
		x.Wrap = true
		return []fyne.CanvasObject{x, refresh}
	case !r.read:
		return []fyne.CanvasObject{a.text(t("admin.site.reading"), 24, false, colMuted), refresh}
	}
	today := []fyne.CanvasObject{a.heading("admin.h.site_today"), a.totalsView(r.today.Site, true)}
	shift := []fyne.CanvasObject{a.heading("admin.h.site_shift")}
	if r.hasShift {
		shift = append(shift, a.totalsView(r.shift.Site, true))
	} else {
		shift = append(shift, a.kv(t("admin.h.shift"), t("admin.shift.none")))
	}
	// One column: a cause's line with its VAT and net is too wide for two.
	objs := append(append(today, shift...), a.heading("admin.h.site_lanes"))
	if ids := r.today.LaneIDs(); len(ids) == 0 {
		objs = append(objs, a.text(t("admin.site.none"), 24, false, colMuted))
	} else {
		var pairs []string
		for _, id := range ids {
			l := r.today.Lanes[id]
			pairs = append(pairs, t("admin.site.lane", "lane", id), t("admin.site.lane_line", "exits", fmt.Sprint(l.Exits),
				"collected", a.tr.amount(l.Collected), "vat", a.tr.amount(l.VAT), "net", a.tr.amount(l.Net)))
		}
		objs = append(objs, a.kv(pairs...))
	}
	objs = append(objs, a.heading("admin.h.site_unresolved"))
	if len(r.unresolved) == 0 {
		objs = append(objs, a.text(t("admin.nothing"), 24, false, colMuted))
	}
	for _, u := range r.unresolved {
		other := u.Lane
		if u.Lane == a.snap.Lane {
			other = ""
		}
		objs = append(objs, a.unresolvedRow(u.Unresolved, other))
	}
	return append(objs, refresh)
}

// refreshReport reads the site's report from the store again when what
// was read is older than siteRefresh or stale (switched to, refreshed,
// an action done): off the Fyne goroutine, then redraws the reports tab
// (in tests with sync, at once). Today is from the site's midnight; the
// shift's window is this lane's current (or last) shift.
func (a *Admin) refreshReport() {
	now := a.opt.Now()
	r := &a.report
	if r.busy || (r.read && !r.stale && now.Sub(r.at) < siteRefresh) {
		return
	}
	r.busy, r.stale = true, false
	local := now.In(a.opt.Location)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, a.opt.Location)
	var shiftFrom, shiftTo time.Time
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if sh, err := a.con.Shift(ctx); err == nil && sh.ID != 0 {
		shiftFrom, shiftTo = sh.Start, sh.End
		if shiftTo.IsZero() {
			shiftTo = now
		}
	}
	cancel()
	site := a.opt.Site
	type result struct {
		today, shift lane.SiteTakings
		us           []lane.SiteUnresolved
		err          error
	}
	read := func() (res result) {
		ctx, cancel := context.WithTimeout(context.Background(), a.opt.ActionTimeout)
		defer cancel()
		if res.today, res.err = site.SiteTakings(ctx, day.UTC(), now.UTC()); res.err != nil {
			return res
		}
		if !shiftFrom.IsZero() {
			if res.shift, res.err = site.SiteTakings(ctx, shiftFrom.UTC(), shiftTo.UTC()); res.err != nil {
				return res
			}
		}
		res.us, res.err = site.SiteUnresolved(ctx)
		return res
	}
	store := func(res result) {
		r.read, r.busy, r.at = true, false, now
		r.today, r.shift, r.hasShift, r.unresolved, r.err = res.today, res.shift, !shiftFrom.IsZero(), res.us, res.err
		if res.err != nil {
			a.log.Warn("admin: site report not read", "err", res.err)
		}
	}
	if a.opt.sync {
		store(read())
		return
	}
	a.pending.Add(1)
	go func() {
		defer a.pending.Done()
		res := read()
		fyne.Do(func() {
			store(res)
			if a.gate.session != "" && a.tab == reportsTab && a.siteView {
				a.rebuild()
			}
		})
	}()
}

// keepScroll gives a rebuilt tab the scroll position it had before, so an
// action's result (or a lane update) does not throw the attendant back to
// the top of a tab taller than the screen.
func (a *Admin) keepScroll(sc *container.Scroll) *container.Scroll {
	if a.scroll != nil && a.scrollTab == a.tab {
		sc.Offset = a.scroll.Offset
	}
	a.scroll, a.scrollTab = sc, a.tab
	return sc
}

// when is a time in the site's zone: layout in English; digits only in
// Arabic, where a Latin month name between numbers breaks the line's
// order ("26 Nov 08:50" reads "Nov 08:50 26" right to left).
func (a *Admin) when(t time.Time, layout string) string {
	t = t.In(a.opt.Location)
	if a.tr.rtl() {
		if strings.HasSuffix(layout, ":05") {
			return t.Format("2006-01-02 15:04:05")
		}
		return t.Format("2006-01-02 15:04")
	}
	return t.Format(layout)
}

func (a *Admin) unresolvedText(k lane.UnresolvedKind) string {
	switch k {
	case lane.UnresolvedPaidNotExited:
		return a.tr.T("admin.u.paid_not_exited")
	case lane.UnresolvedUnableToCollect:
		return a.tr.T("admin.u.unable")
	}
	return a.tr.T("admin.u.not_final")
}

func (a *Admin) errText(err error) fyne.CanvasObject {
	t := a.text(a.tr.T("admin.ledger_error", "err", err.Error()), 24, false, colError)
	t.Wrap = true
	return t
}

// totalsView lists totals; withVAT gives each cause's amount with its
// VAT and net too (the whole site's report).
func (a *Admin) totalsView(t lane.Totals, withVAT bool) fyne.CanvasObject {
	T := a.tr.T
	pairs := []string{
		T("admin.r.visits"), fmt.Sprint(t.Visits),
		T("admin.r.exit_count"), fmt.Sprint(t.Exits),
		T("admin.r.collected"), a.tr.amount(t.Collected),
		T("admin.r.vat"), a.tr.amount(t.VAT),
		T("admin.r.net"), a.tr.amount(t.Net),
		T("admin.r.refunded"), a.tr.amount(t.Refunded),
		T("admin.r.owed"), a.tr.amount(t.Owed),
		T("admin.r.openings"), fmt.Sprint(t.Openings),
	}
	for c := lane.CausePaid; c <= lane.CauseOverride; c++ {
		if ct, ok := t.ByCause[c]; ok {
			// Words, not the ledger's snake_case, and what the amount is:
			// only paid exits collected it.
			what := T("admin.r.waived")
			switch c {
			case lane.CausePaid:
				what = T("admin.r.paid")
			case lane.CauseUnableToCollect:
				what = T("admin.r.owed_word")
			}
			v := fmt.Sprintf("%d · %s %s", ct.Count, a.tr.amount(ct.Amount), what)
			if withVAT {
				v = T("admin.r.cause_vat", "count", fmt.Sprint(ct.Count), "gross", a.tr.amount(ct.Amount), "what", what,
					"vat", a.tr.amount(ct.VAT), "net", a.tr.amount(ct.Amount-ct.VAT))
			}
			pairs = append(pairs, T("admin.r.exits", "cause", a.causeWords(c)), v)
		}
	}
	return a.kv(pairs...)
}

// historyCols are the columns of the history table and whether each is
// aligned to its end (numbers).
var historyCols = []struct {
	key string
	end bool
}{{"", true}, {"admin.hist.time", false}, {"admin.hist.kind", false}, {"admin.hist.ticket", false}, {"admin.hist.amount", true}, {"admin.hist.status", false}, {"admin.hist.detail", false}}

func (a *Admin) historyTab() fyne.CanvasObject {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t := a.tr.T
	before := a.before[len(a.before)-1]
	txs, err := a.con.Transactions(ctx, before, a.opt.PageSize)
	if err != nil {
		return a.errText(err)
	}
	// A table: each column as wide as its widest cell, so that a row
	// number of more digits does not push the others along.
	var cells []fyne.CanvasObject
	cell := func(s string, col color.Color) *BidiText {
		x := a.text(s, 22, false, col)
		x.Align = fyne.TextAlignLeading
		if a.tr.rtl() {
			x.Align = fyne.TextAlignTrailing
		}
		return x
	}
	for _, c := range historyCols {
		h := ""
		if c.key != "" {
			h = t(c.key)
		}
		cells = append(cells, cell(h, colMuted))
	}
	for _, tx := range txs {
		var detail []string
		if tx.Cause != lane.CauseNone {
			detail = append(detail, a.causeWords(tx.Cause))
		}
		if tx.Attendant != "" {
			detail = append(detail, t("admin.hist.by", "who", tx.Attendant))
		}
		d := strings.Join(detail, " ")
		if tx.Reason != "" {
			d += ": " + tx.Reason
		}
		amount := ""
		if tx.Amount != 0 {
			amount = a.tr.amount(tx.Amount)
		}
		for _, s := range []string{"#" + fmt.Sprint(tx.ID), a.when(tx.At, "02 Jan 15:04:05"), tx.Kind, tx.Ticket, amount, tx.Status, d} {
			cells = append(cells, cell(s, colForeground))
		}
	}
	var table fyne.CanvasObject = container.New(&tableLayout{cols: len(historyCols), rowH: 34, gap: 24, rtl: a.tr.rtl(), end: historyEnds()}, cells...)
	if len(txs) == 0 {
		table = a.text(t("admin.hist.none"), 24, false, colMuted)
	}
	bh := a.target(72)
	newer := a.button(t("admin.hist.newer"), widget.MediumImportance, func() {
		a.touch()
		if len(a.before) > 1 {
			a.before = a.before[:len(a.before)-1]
		}
		a.rebuild()
	})
	if len(a.before) == 1 {
		newer.Disable()
	}
	older := a.button(t("admin.hist.older"), widget.MediumImportance, func() {
		a.touch()
		a.before = append(a.before, txs[len(txs)-1].ID)
		a.rebuild()
	})
	if len(txs) < a.opt.PageSize {
		older.Disable()
	}
	page := a.text(t("admin.hist.page", "n", fmt.Sprint(len(a.before))), 24, false, colMuted)
	nav := container.NewHBox(a.mirror([]fyne.CanvasObject{
		container.New(&minBox{w: 220, h: bh}, newer), container.NewCenter(page), container.New(&minBox{w: 220, h: bh}, older),
	})...)
	// rows with a long reason are wider than an 800 px screen: they scroll
	return container.NewBorder(nil, container.NewCenter(nav), nil, nil,
		container.NewScroll(container.New(layout.NewCustomPaddedLayout(0, scrollInset(), 0, scrollInset()), table)))
}

func historyEnds() []bool {
	var out []bool
	for _, c := range historyCols {
		out = append(out, c.end)
	}
	return out
}

// tableLayout places cells in rows of cols, each column as wide as its
// widest cell; end[i] aligns column i to its end (numbers); the columns
// run right to left for Arabic.
type tableLayout struct {
	cols      int
	rowH, gap float32
	rtl       bool
	end       []bool
}

func (l *tableLayout) widths(objs []fyne.CanvasObject) []float32 {
	w := make([]float32, l.cols)
	for i, o := range objs {
		w[i%l.cols] = max(w[i%l.cols], o.MinSize().Width)
	}
	return w
}

func (l *tableLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	w := l.widths(objs)
	xs := make([]float32, l.cols)
	x := float32(0)
	for c := range w {
		xs[c] = x
		x += w[c] + l.gap
	}
	total := x - l.gap
	for i, o := range objs {
		c, r := i%l.cols, i/l.cols
		cx := xs[c]
		if l.rtl {
			cx = max(size.Width, total) - xs[c] - w[c]
		}
		ow := o.MinSize().Width
		ox := cx
		if l.end[c] != l.rtl { // end-aligned: right in LTR, left in RTL
			ox = cx + w[c] - ow
		}
		o.Move(fyne.NewPos(ox, float32(r)*l.rowH))
		o.Resize(fyne.NewSize(ow, l.rowH))
	}
}

func (l *tableLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	w := l.widths(objs)
	var total float32
	for _, x := range w {
		total += x + l.gap
	}
	rows := (len(objs) + l.cols - 1) / l.cols
	return fyne.NewSize(total-l.gap, float32(rows)*l.rowH)
}
