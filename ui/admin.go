package ui

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"log/slog"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// AdminConsole is what the attendant screen needs from the lane: actions
// and the ledger's read-only reports. *lane.Runner satisfies it.
type AdminConsole interface {
	Actions
	lane.Reports
}

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

	afterFunc func(time.Duration, func()) func() bool
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
	before    []int64 // paging stack of "before" ids; last is the current page
	pending   sync.WaitGroup

	idleStop func() bool
	size     fyne.Size
}

// adminLayout rebuilds the admin screen when the window size changes
// (1920x1080, 1080x1920, 800x480 panels).
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

// wide: room for two columns; short: an 800x480 panel.
func (a *Admin) wide() bool  { return a.size.Width == 0 || a.size.Width >= 1200 }
func (a *Admin) short() bool { return a.size.Height > 0 && a.size.Height < 700 }

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
	a := &Admin{con: con, gate: gate, opt: opt, log: opt.Logger}
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

// Open shows the login (or the session if one is active). A badge scan
// passes the attendant's id; the PIN is still required.
func (a *Admin) Open(attendant string) {
	if attendant != "" {
		a.selected = attendant
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
		a.message, a.msgErr = "Session ended after "+minutes(a.gate.policy.Idle)+" without a touch", false
		a.rebuild()
		a.exit()
		return
	}
	a.armIdle()
}

// minutes says a configured duration in words: "2 minutes", "1 minute",
// "90s".
func minutes(d time.Duration) string {
	switch {
	case d == time.Minute:
		return "1 minute"
	case d > 0 && d%time.Minute == 0:
		return fmt.Sprintf("%d minutes", d/time.Minute)
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

func heading(s string) *canvas.Text {
	t := canvas.NewText(s, colForeground)
	t.TextSize = 40
	t.TextStyle.Bold = true
	return t
}

func (a *Admin) messageLine() fyne.CanvasObject {
	col := color.Color(colSuccess)
	if a.msgErr {
		col = colError
	}
	t := canvas.NewText(a.message, col)
	t.TextSize = 26
	return t
}

func (a *Admin) loginScreen() fyne.CanvasObject {
	now := a.opt.Now()
	var who []fyne.CanvasObject
	for _, at := range a.gate.Attendants() {
		b := widget.NewButton(at.Name, func() { a.selected = at.ID; a.message = ""; a.rebuild() })
		if at.ID == a.selected {
			b.Importance = widget.HighImportance
		}
		who = append(who, b)
	}
	if len(who) == 0 {
		who = append(who, widget.NewLabel("No attendants are configured ([[admin.attendants]] in the config)."))
	}
	cell := fyne.NewSize(150, 96)
	if a.short() {
		cell = fyne.NewSize(110, 72)
	}
	kp := newKeypad(func(pin string) { a.login(pin) }, nil, cell)
	msg := a.message
	if until := a.gate.LockedUntil(now); !until.IsZero() {
		msg, a.msgErr = fmt.Sprintf("Locked after %d wrong PINs until %s", a.gate.policy.MaxAttempts, until.In(a.opt.Location).Format("15:04:05")), true
	}
	a.message = msg
	back := widget.NewButton("Back to the lane", a.exit)
	// Below 800 px of height the names, message and keypad do not fit one
	// above the other (at 1280x720 the keypad's last row was cut off).
	if a.short() || (a.size.Height > 0 && a.size.Height < 800) {
		// Side by side: names and message on the left, keypad on the right.
		left := container.NewVBox(heading("Attendant login"), container.NewGridWithColumns(2, who...), a.messageLine(), back)
		return container.NewGridWithColumns(2, left, container.NewCenter(kp.box))
	}
	top := container.NewBorder(nil, nil, heading("Attendant login"), container.NewGridWrap(fyne.NewSize(300, 72), back))
	return container.NewBorder(top, nil, nil, nil,
		container.NewVBox(
			container.NewCenter(container.NewHBox(who...)),
			container.NewCenter(a.messageLine()),
			kp.box,
		))
}

func (a *Admin) login(pin string) {
	if a.selected == "" {
		a.message, a.msgErr = "Choose your name first", true
		a.rebuild()
		return
	}
	err := a.gate.Login(a.opt.Now(), a.selected, pin)
	switch {
	case err == nil:
		a.message, a.msgErr, a.tab, a.scroll = "", false, 0, nil
		a.armIdle()
	case errors.Is(err, ErrLocked):
		a.message, a.msgErr = "Too many wrong PINs: admin locked", true
	default:
		left := a.gate.policy.MaxAttempts - a.gate.wrong
		a.message, a.msgErr = fmt.Sprintf("Wrong PIN (%d tries left before lockout)", left), true
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

func (a *Admin) sessionScreen() fyne.CanvasObject {
	// Leaving the admin screen always ends the session: the kiosk is in
	// the driver's reach, and a long press must not reopen an attendant's
	// session (with manual open) without the PIN.
	logout := widget.NewButton("Log out", func() {
		a.gate.Logout() // audits "logout"
		a.stopIdle()
		a.rebuild()
		a.exit()
	})
	title := heading("Attendant: " + a.attendantName())
	bw, bh := float32(280), float32(72)
	if !a.wide() {
		title.TextSize, bw, bh = 26, 220, 56
	}
	top := container.NewBorder(nil, nil, title, container.NewGridWrap(fyne.NewSize(bw, bh), logout))
	tabs := []struct {
		name  string
		build func() fyne.CanvasObject
	}{
		{"Status", a.statusTab}, {"Actions", a.actionsTab}, {"Reports", a.reportsTab}, {"History", a.historyTab},
	}
	var tabButtons []fyne.CanvasObject
	for i, tb := range tabs {
		b := widget.NewButton(tb.name, func() { a.touch(); a.tab, a.scroll = i, nil; a.rebuild() })
		if i == a.tab {
			b.Importance = widget.HighImportance
		}
		tabButtons = append(tabButtons, b)
	}
	bar := container.NewGridWithColumns(len(tabButtons), tabButtons...)
	body := tabs[a.tab].build()
	return container.NewBorder(container.NewVBox(top, container.New(&fixedHeight{h: bh}, bar), a.messageLine()), nil, nil, nil, body)
}

// kv lists key/value pairs in two columns with compact fixed rows
// (the Arabic-capable font has tall line metrics; Fyne's form layout
// would space rows far apart).
func kv(pairs ...string) fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for i := 0; i+1 < len(pairs); i += 2 {
		k := canvas.NewText(pairs[i], colMuted)
		k.TextSize = 24
		v := canvas.NewText(pairs[i+1], colForeground)
		v.TextSize = 24
		v.TextStyle.Bold = true
		objs = append(objs, k, v)
	}
	return container.New(&kvLayout{rowH: 40}, objs...)
}

// kvLayout places key/value pairs in rows of rowH, values aligned after
// the widest key.
type kvLayout struct{ rowH float32 }

func (l *kvLayout) keyWidth(objs []fyne.CanvasObject) float32 {
	var w float32
	for i := 0; i < len(objs); i += 2 {
		w = max(w, objs[i].MinSize().Width)
	}
	return w + 24
}

func (l *kvLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	kw := l.keyWidth(objs)
	for i := 0; i+1 < len(objs); i += 2 {
		y := float32(i/2) * l.rowH
		objs[i].Move(fyne.NewPos(0, y))
		objs[i].Resize(fyne.NewSize(kw, l.rowH))
		objs[i+1].Move(fyne.NewPos(kw, y))
		objs[i+1].Resize(fyne.NewSize(max(size.Width-kw, 0), l.rowH))
	}
}

func (l *kvLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var vw float32
	for i := 1; i < len(objs); i += 2 {
		vw = max(vw, objs[i].MinSize().Width)
	}
	return fyne.NewSize(l.keyWidth(objs)+vw, float32(len(objs)/2)*l.rowH)
}

func deviceText(d lane.DeviceState) string {
	switch d {
	case lane.DeviceOK:
		return "OK"
	case lane.DeviceDown:
		return "DOWN"
	case lane.DeviceAbsent:
		return "not configured"
	}
	return "unknown"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func (a *Admin) statusTab() fyne.CanvasObject {
	s := a.snap
	h := s.Health
	open := "open"
	if !s.LaneOpen {
		open = "CLOSED"
	}
	skew := "unknown"
	if h.ClockSkew != 0 {
		skew = h.ClockSkew.Round(time.Second).String()
		if h.ClockSkew > 10*time.Minute || h.ClockSkew < -10*time.Minute {
			skew += " (PayBy refuses requests 15 min off)"
		}
	}
	lanePairs := []string{
		"Lane", s.Site + " " + s.Lane + " · " + open,
		"State", words(s.State.String()),
		"Notice", words(s.Notice.String()),
		"Attendant called", yesNo(s.AttendantCalled),
		"Unresolved entries", fmt.Sprint(s.Unresolved),
	}
	if t := s.Ticket; t != nil {
		auth := "signed, verified"
		if !t.Signed {
			auth = "NOT authenticated (unsigned format or lost ticket)"
		}
		lanePairs = append(lanePairs,
			"Ticket", t.Serial+" ("+string(t.Format)+", "+auth+")",
			"Entry", t.Entry.In(a.opt.Location).Format("2006-01-02 15:04"),
			"Fee / paid / due", s.Fee.String()+" / "+s.Paid.String()+" / "+s.Due.String(),
		)
		if s.MerchantOrderNo != "" {
			lanePairs = append(lanePairs, "Order", fmt.Sprintf("%s (attempt %d)", s.MerchantOrderNo, s.Attempt))
		}
	}
	devices := kv(
		"Scanner", deviceText(h.Scanner),
		"Relay", deviceText(h.Relay),
		"Vehicle loop", deviceText(h.Loop),
		"Receipt printer", deviceText(h.Printer),
		"Vehicle present", yesNo(h.VehiclePresent),
		"PayBy", deviceText(h.PayBy),
		"Clock skew to PayBy", skew,
		"Ledger", deviceText(h.Ledger),
	)
	laneBox := container.NewVBox(heading("Lane"), kv(lanePairs...))
	devBox := container.NewVBox(heading("Devices"), devices)
	var tariff fyne.CanvasObject
	if len(a.opt.Tariff) > 0 {
		l := widget.NewLabel(strings.Join(a.opt.Tariff, "\n"))
		l.Wrapping = fyne.TextWrapWord
		tariff = container.NewVBox(heading("Tariff"), l)
	}
	if a.wide() {
		top := container.NewGridWithColumns(2, laneBox, devBox)
		if tariff == nil {
			return top
		}
		return a.keepScroll(container.NewVScroll(container.NewVBox(top, tariff)))
	}
	objs := []fyne.CanvasObject{laneBox, devBox}
	if tariff != nil {
		objs = append(objs, tariff)
	}
	return a.keepScroll(container.NewVScroll(container.NewVBox(objs...)))
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
				a.message, a.msgErr = label+": "+describe(err), true
			} else {
				a.message, a.msgErr = label+": done", false
				// A reason (and a typed code) belongs to one action: kept,
				// it would be recorded silently on the next one.
				a.reason, a.code = "", ""
			}
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

// describe turns a lane error into words for the attendant.
func describe(err error) string {
	switch {
	case errors.Is(err, lane.ErrReasonRequired):
		return "choose or type a reason first"
	case errors.Is(err, lane.ErrNotNow):
		return "not possible in the lane's current state"
	case errors.Is(err, lane.ErrAmount):
		return "invalid amount"
	case errors.Is(err, lane.ErrNotFound):
		return "no such order"
	case errors.Is(err, lane.ErrStopped):
		return "the lane has stopped"
	}
	return err.Error()
}

func (a *Admin) actionsTab() fyne.CanvasObject {
	id := a.gate.session
	sel := widget.NewSelect(a.opt.Reasons, func(s string) { a.touch(); a.reason = s })
	sel.PlaceHolder = "Choose a reason"
	if contains(a.opt.Reasons, a.reason) {
		sel.Selected = a.reason
	}
	typed := widget.NewEntry()
	typed.SetPlaceHolder("or type a reason")
	if !contains(a.opt.Reasons, a.reason) {
		typed.Text = a.reason
	}
	typed.OnChanged = func(s string) { a.touch(); a.reason = s }
	code := widget.NewEntry()
	code.SetPlaceHolder("ticket code typed from the ticket")
	code.Text = a.code
	code.OnChanged = func(s string) { a.touch(); a.code = s }
	r := func() string { return strings.TrimSpace(a.reason) }
	btn := func(label string, imp widget.Importance, f func()) fyne.CanvasObject {
		b := widget.NewButton(label, f)
		b.Importance = imp
		return b
	}
	laneBtn := btn("Close lane", widget.WarningImportance, func() { a.act("Close lane", lane.CloseLane{Attendant: id, Reason: r()}) })
	if !a.snap.LaneOpen {
		laneBtn = btn("Open lane", widget.SuccessImportance, func() { a.act("Open lane", lane.OpenLane{Attendant: id}) })
	}
	buttons := []fyne.CanvasObject{
		btn("Open barrier", widget.HighImportance, func() { a.act("Open barrier", lane.ManualOpen{Attendant: id, Reason: r()}) }),
		btn("Lost ticket", widget.MediumImportance, func() { a.act("Lost ticket", lane.LostTicket{Attendant: id, Reason: r()}) }),
		btn("Exempt", widget.MediumImportance, func() { a.act("Exempt", lane.Exempt{Attendant: id, Reason: r()}) }),
		btn("Can't collect", widget.MediumImportance, func() { a.act("Unable to collect", lane.UnableToCollect{Attendant: id, Reason: r()}) }),
		btn("Override used", widget.MediumImportance, func() { a.act("Override", lane.Override{Attendant: id, Reason: r()}) }),
		btn("Typed code", widget.MediumImportance, func() { a.act("Typed code", lane.EnterCode{Attendant: id, Code: strings.TrimSpace(a.code)}) }),
		laneBtn,
		btn("Clear fault", widget.MediumImportance, func() { a.act("Clear fault", lane.ClearFault{Attendant: id}) }),
		btn("Start shift", widget.MediumImportance, func() { a.act("Start shift", lane.StartShift{Attendant: id}) }),
		btn("End shift", widget.MediumImportance, func() { a.act("End shift", lane.EndShift{Attendant: id}) }),
	}
	reasonLabel := "Reason (required for opens, exemptions, closes, refunds)"
	if a.short() {
		reasonLabel = "Reason"
	}
	form := container.NewVBox(
		kv(reasonLabel, ""),
		sel, typed,
		kv("Unreadable barcode", ""), code,
	)
	if a.short() {
		// 800x480: the form beside a two-column grid of buttons.
		cw := (a.size.Width/2 - 40) / 2
		grid := container.New(&cellGrid{cols: 2, cell: fyne.NewSize(cw, 52), gap: 6}, buttons...)
		// scrolls: the form and the last row of buttons do not fit 480 px
		return a.keepScroll(container.NewVScroll(container.NewGridWithColumns(2, form, grid)))
	}
	cols := 3
	if a.size.Width > 0 && a.size.Width < 1160 {
		cols = 2
	}
	cw := float32(360)
	if a.size.Width > 0 {
		cw = min(cw, (a.size.Width-40-float32(cols-1)*10)/float32(cols))
	}
	grid := container.New(&cellGrid{cols: cols, cell: fyne.NewSize(cw, 84), gap: 10}, buttons...)
	return a.keepScroll(container.NewVScroll(container.NewVBox(form, widget.NewSeparator(), container.NewCenter(grid))))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (a *Admin) reportsTab() fyne.CanvasObject {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	now := a.opt.Now().In(a.opt.Location)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, a.opt.Location)
	today := []fyne.CanvasObject{heading("Today")}
	if t, err := a.con.Totals(ctx, day.UTC(), now.UTC()); err != nil {
		today = append(today, errText(err))
	} else {
		today = append(today, totalsView(t))
	}
	shift := []fyne.CanvasObject{heading("Shift")}
	// The ledger answers ErrNotFound before the first shift is started.
	if sh, err := a.con.Shift(ctx); err != nil && !errors.Is(err, lane.ErrNotFound) {
		shift = append(shift, errText(err))
	} else if err != nil || sh.ID == 0 {
		shift = append(shift, kv("Shift", "none started"))
	} else {
		end := "open"
		if !sh.End.IsZero() {
			end = sh.End.In(a.opt.Location).Format("15:04")
		}
		shift = append(shift, kv("Attendant", sh.Attendant, "From", sh.Start.In(a.opt.Location).Format("2006-01-02 15:04"), "To", end), totalsView(sh.Totals))
	}
	cols := 1
	if a.wide() {
		cols = 2
	}
	objs := []fyne.CanvasObject{
		container.NewGridWithColumns(cols, container.NewVBox(today...), container.NewVBox(shift...)),
		heading("Unresolved"),
	}
	us, err := a.con.Unresolved(ctx)
	switch {
	case err != nil:
		objs = append(objs, errText(err))
	case len(us) == 0:
		objs = append(objs, kv("Nothing to resolve", ""))
	}
	id := a.gate.session
	for _, u := range us {
		parts := []string{unresolvedText(u.Kind), "ticket " + u.Ticket, u.Amount.String()}
		if u.MerchantOrderNo != "" {
			parts = append(parts, u.MerchantOrderNo+" "+u.Status)
		}
		parts = append(parts, "since "+u.Since.In(a.opt.Location).Format("02 Jan 15:04"))
		if u.Note != "" {
			parts = append(parts, u.Note)
		}
		label := strings.Join(parts, " · ")
		row := []fyne.CanvasObject{}
		if u.MerchantOrderNo != "" && u.Kind == lane.UnresolvedPaidNotExited {
			row = append(row, widget.NewButton("Refund", func() {
				a.act("Refund", lane.Refund{Attendant: id, MerchantOrderNo: u.MerchantOrderNo, Reason: strings.TrimSpace(a.reason)})
			}))
		}
		if u.Kind != lane.UnresolvedNotFinal {
			row = append(row, widget.NewButton("Resolve", func() {
				a.act("Resolve", lane.Resolve{Attendant: id, MerchantOrderNo: u.MerchantOrderNo, Reason: strings.TrimSpace(a.reason)})
			}))
		}
		t := widget.NewLabel(label)
		t.Wrapping = fyne.TextWrapWord
		objs = append(objs, container.NewBorder(nil, nil, nil, container.NewHBox(row...), t))
	}
	refresh := widget.NewButton("Refresh", func() { a.touch(); a.rebuild() })
	objs = append(objs, container.NewHBox(refresh, widget.NewLabel("Refunds and resolutions use the reason chosen on the Actions tab.")))
	return a.keepScroll(container.NewVScroll(container.NewVBox(objs...)))
}

// keepScroll gives a rebuilt tab the scroll position it had before, so an
// action's result (or a lane update) does not throw the attendant back to
// the top of a tab taller than the screen (1280x720).
func (a *Admin) keepScroll(sc *container.Scroll) *container.Scroll {
	if a.scroll != nil && a.scrollTab == a.tab {
		sc.Offset = a.scroll.Offset
	}
	a.scroll, a.scrollTab = sc, a.tab
	return sc
}

func unresolvedText(k lane.UnresolvedKind) string {
	switch k {
	case lane.UnresolvedPaidNotExited:
		return "paid, not exited"
	case lane.UnresolvedUnableToCollect:
		return "unable to collect"
	}
	return "order not final"
}

func errText(err error) fyne.CanvasObject {
	t := canvas.NewText("could not read the ledger: "+err.Error(), colError)
	t.TextSize = 24
	return t
}

// words turns the lane's snake_case names into words for the attendant
// ("fee_due" -> "fee due").
func words(name string) string { return strings.ReplaceAll(name, "_", " ") }

func totalsView(t lane.Totals) fyne.CanvasObject {
	pairs := []string{
		"Visits / exits", fmt.Sprintf("%d / %d", t.Visits, t.Exits),
		"Collected", fmt.Sprintf("%s · VAT %s · net %s", t.Collected, t.VAT, t.Net),
		"Refunded", t.Refunded.String(),
		"Owed (unable to collect)", t.Owed.String(),
		"Manual opens (no exit)", fmt.Sprint(t.Openings),
	}
	for c := lane.CausePaid; c <= lane.CauseOverride; c++ {
		if ct, ok := t.ByCause[c]; ok {
			// Words, not the ledger's snake_case, and what the amount is:
			// only paid exits collected it.
			what := "fee waived"
			switch c {
			case lane.CausePaid:
				what = "paid"
			case lane.CauseUnableToCollect:
				what = "owed"
			}
			pairs = append(pairs, "Exits: "+words(c.String()), fmt.Sprintf("%d · %s %s", ct.Count, ct.Amount, what))
		}
	}
	return kv(pairs...)
}

func (a *Admin) historyTab() fyne.CanvasObject {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	before := a.before[len(a.before)-1]
	txs, err := a.con.Transactions(ctx, before, a.opt.PageSize)
	if err != nil {
		return errText(err)
	}
	rows := []fyne.CanvasObject{}
	for _, tx := range txs {
		ticket := "" // audit rows of lane-wide actions have none
		if tx.Ticket != "" {
			ticket = "ticket " + tx.Ticket
		}
		line := fmt.Sprintf("#%d  %s  %-7s  %s  %s  %s", tx.ID, tx.At.In(a.opt.Location).Format("02 Jan 15:04:05"), tx.Kind, ticket, amountOrEmpty(tx.Amount), tx.Status)
		if tx.Cause != lane.CauseNone {
			line += "  " + tx.Cause.String()
		}
		if tx.Attendant != "" {
			line += "  by " + tx.Attendant
		}
		if tx.Reason != "" {
			line += ": " + tx.Reason
		}
		t := canvas.NewText(line, colForeground)
		t.TextSize = 22
		t.TextStyle.Monospace = true
		rows = append(rows, t)
	}
	if len(rows) == 0 {
		rows = append(rows, kv("No transactions", ""))
	}
	newer := widget.NewButton("< Newer", func() {
		a.touch()
		if len(a.before) > 1 {
			a.before = a.before[:len(a.before)-1]
		}
		a.rebuild()
	})
	if len(a.before) == 1 {
		newer.Disable()
	}
	older := widget.NewButton("Older >", func() {
		a.touch()
		a.before = append(a.before, txs[len(txs)-1].ID)
		a.rebuild()
	})
	if len(txs) < a.opt.PageSize {
		older.Disable()
	}
	page := canvas.NewText(fmt.Sprintf("page %d", len(a.before)), colMuted)
	page.TextSize = 24
	nav := container.NewHBox(container.NewGridWrap(fyne.NewSize(220, 72), newer), page, container.NewGridWrap(fyne.NewSize(220, 72), older))
	// rows with a long reason are wider than an 800 px screen: they scroll
	return container.NewBorder(nil, container.NewCenter(nav), nil, nil, container.NewScroll(container.NewVBox(rows...)))
}

func amountOrEmpty(f money.Fils) string {
	if f == 0 {
		return ""
	}
	return f.String()
}
