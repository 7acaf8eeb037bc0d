package ui

import (
	"context"
	"image/color"
	"log/slog"
	"slices"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
)

// Actions is what the screens need to drive the lane: *lane.Runner
// satisfies it; tests use a fake that records the actions.
type Actions interface {
	Do(ctx context.Context, a lane.Action) error
}

// KioskOptions configures the driver screens. Zero fields mean defaults.
type KioskOptions struct {
	// Lang is the initial language, LangEnglish by default. The driver
	// can switch; the kiosk returns to it when the lane goes idle.
	Lang string
	// Location is the site's time zone for entry times (UTC if nil).
	Location *time.Location
	// Now is the clock for the countdown (time.Now if nil).
	Now func() time.Time
	// SiteName is shown in the header instead of the snapshot's site code.
	SiteName string
	// SiteNameAr is the site's name in Arabic (config site.name_ar), shown
	// beside SiteName.
	SiteNameAr string
	// Panel is the physical screen: text and touch targets keep their
	// minimum physical sizes on it (see MinCapMM, MinTargetMM).
	Panel Panel
	// BannerTime is how long "Payment cancelled" stays on the welcome
	// screen after the driver cancels (5 s by default).
	BannerTime time.Duration
	// OnAdmin is called after a long press on the top-left corner.
	OnAdmin func()
	// LongPress is how long the corner must be held (3 s by default).
	LongPress time.Duration
	// Logger receives refused actions (slog.Default if nil).
	Logger *slog.Logger
	// ActionTimeout bounds one lane action (10 s by default).
	ActionTimeout time.Duration

	// afterFunc replaces time.AfterFunc in tests.
	afterFunc func(time.Duration, func()) (stop func() bool)
	// tick replaces the 1 s countdown ticker in tests (nil: real ticker).
	noTicker bool
}

// Kiosk is the driver-facing screen. Build it with NewKiosk, put
// Content() in a window, and feed it snapshots with Show (on the Fyne
// goroutine) or Follow.
type Kiosk struct {
	act  Actions
	opt  KioskOptions
	log  *slog.Logger
	root *fyne.Container

	tr      tr
	snap    lane.Snapshot
	size    fyne.Size
	visit   int64
	called  bool // "call attendant" pressed, not yet in a snapshot
	actions sync.WaitGroup

	// cancelVisit is the visit the driver cancelled; cancelShown says
	// "Payment cancelled" is on the welcome screen until cancelStop.
	cancelVisit int64
	cancelShown bool
	cancelStop  func() bool
	cancelGen   int
	// callInBody: the screen's primary step is calling the attendant, so
	// the footer leaves out its own call button and banner.
	callInBody bool
	// footerCancel is Cancel moved into the footer row (small panels have
	// no room for it under a failure's next step).
	footerCancel fyne.CanvasObject

	// per-screen objects updated in place
	countdown *BidiText
	qrToken   string
	qr        *canvas.Image

	tickMu   sync.Mutex
	tickStop chan struct{}
}

// NewKiosk builds the driver screens around act.
func NewKiosk(act Actions, opt KioskOptions) *Kiosk {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.LongPress <= 0 {
		opt.LongPress = 3 * time.Second
	}
	if opt.ActionTimeout <= 0 {
		opt.ActionTimeout = 10 * time.Second
	}
	if opt.BannerTime <= 0 {
		opt.BannerTime = 5 * time.Second
	}
	if opt.afterFunc == nil {
		opt.afterFunc = func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }
	}
	k := &Kiosk{act: act, opt: opt, log: opt.Logger, tr: newTr(opt.Lang)}
	if k.log == nil {
		k.log = slog.Default()
	}
	k.root = container.New(&rootLayout{k: k})
	k.snap = lane.Snapshot{LaneOpen: true}
	return k
}

// Content is the canvas object to put in the kiosk window.
func (k *Kiosk) Content() fyne.CanvasObject { return k.root }

// Lang is the language shown.
func (k *Kiosk) Lang() string { return k.tr.lang }

// SetLang switches the language and redraws. Call on the Fyne goroutine.
func (k *Kiosk) SetLang(lang string) {
	k.tr = newTr(lang)
	k.rebuild()
}

// Show draws a snapshot. Call on the Fyne goroutine (Follow does).
func (k *Kiosk) Show(s lane.Snapshot) {
	// The snapshot says whether the attendant was called; the local flag
	// only shows the tap at once, until the lane's next snapshot.
	k.visit, k.called = s.Visit, false
	// The driver's cancel ends the visit with no notice of the lane's:
	// the welcome screen says "Payment cancelled" for a moment.
	switch {
	case s.State == lane.Idle && k.cancelVisit != 0 && k.snap.Visit == k.cancelVisit && k.snap.State != lane.Idle:
		k.cancelVisit = 0
		k.showCancelled()
	case s.State != lane.Idle:
		k.hideCancelled()
		// A cancel that did not take (the payment won the race, the lane
		// refused) says nothing.
		if s.Visit != k.cancelVisit || (s.State != lane.FeeDue && s.State != lane.Checking) {
			k.cancelVisit = 0
		}
	}
	// Back to the default language when the lane is idle again.
	if s.State == lane.Idle && k.snap.State != lane.Idle && k.tr.lang != k.defaultLang() {
		k.tr = newTr(k.defaultLang())
	}
	k.snap = s
	k.rebuild()
}

func (k *Kiosk) defaultLang() string {
	if k.opt.Lang == "" {
		return LangEnglish
	}
	return k.opt.Lang
}

// Snapshot is the snapshot shown.
func (k *Kiosk) Snapshot() lane.Snapshot { return k.snap }

// Follow shows every snapshot received on ch until it is closed or ctx
// ends, through fyne.Do: the runner's goroutine never touches widgets.
func (k *Kiosk) Follow(ctx context.Context, ch <-chan lane.Snapshot) {
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-ch:
			if !ok {
				return
			}
			fyne.Do(func() { k.Show(s) })
		}
	}
}

// Close stops the countdown ticker and the banner timer, and waits for
// pending actions.
func (k *Kiosk) Close() {
	k.stopTicker()
	k.hideCancelled()
	k.actions.Wait()
}

func (k *Kiosk) showCancelled() {
	k.hideCancelled()
	k.cancelShown = true
	k.cancelGen++
	gen := k.cancelGen
	k.cancelStop = k.opt.afterFunc(k.opt.BannerTime, func() {
		fyne.Do(func() {
			if k.cancelShown && k.cancelGen == gen {
				k.cancelShown, k.cancelStop = false, nil
				k.rebuild()
			}
		})
	})
}

func (k *Kiosk) hideCancelled() {
	if k.cancelStop != nil {
		k.cancelStop()
	}
	k.cancelShown, k.cancelStop = false, nil
}

// do submits a lane action without blocking the Fyne goroutine.
func (k *Kiosk) do(a lane.Action) {
	k.actions.Add(1)
	go func() {
		defer k.actions.Done()
		ctx, cancel := context.WithTimeout(context.Background(), k.opt.ActionTimeout)
		defer cancel()
		if err := k.act.Do(ctx, a); err != nil {
			k.log.Warn("kiosk action refused", "action", lane.ActionName(a), "err", err)
		}
	}()
}

// unit scales type and spacing to the screen: 1 on a 1080-pixel short side.
func (k *Kiosk) unit() float32 {
	s := min(k.size.Width, k.size.Height)
	if s <= 0 {
		s = 1080
	}
	return s / 1080
}

// kioskSizes are the text sizes and the touch-target height of one
// screen: scaled with the screen, never below the panel's physical
// minimums (capitals MinCapMM high, targets MinTargetMM).
type kioskSizes struct {
	title, big, step, body, small float32
	button                        float32 // button labels
	target                        float32 // height of touch targets
}

func (k *Kiosk) sizes() kioskSizes {
	u := k.unit()
	scale := canvasScale(k.root)
	m := k.opt.Panel.minText(k.size, scale)
	return kioskSizes{
		title: max(72*u, m*1.35), big: max(120*u, m*1.9), step: max(60*u, m*1.2),
		body: max(42*u, m), small: max(30*u, m), button: max(36*u, m),
		target: max(88*u, k.opt.Panel.minTarget(k.size, scale)),
	}
}

func (k *Kiosk) landscape() bool { return k.size.Width >= k.size.Height }

// compact: a small panel (800x480): only what the driver needs, no header.
func (k *Kiosk) compact() bool { return k.unit() < 0.6 }

// rootLayout rebuilds the screen when the window size changes, so type
// and the QR scale with the screen (1920x1080, 1080x1920, 800x480).
type rootLayout struct{ k *Kiosk }

func (l *rootLayout) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	k := l.k
	if size != k.size {
		k.size = size
		k.rebuild()
		return
	}
	for _, o := range k.root.Objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *rootLayout) MinSize([]fyne.CanvasObject) fyne.Size { return fyne.NewSize(320, 240) }

// rebuild replaces the screen's objects for the current snapshot,
// language and size. Screens change a few times per visit, so building
// afresh is cheap and keeps each screen a plain function of its inputs.
func (k *Kiosk) rebuild() {
	k.countdown = nil
	k.callInBody, k.footerCancel = false, nil
	bg := canvas.NewRectangle(colBackground)
	body := k.screen() // first: it decides what the footer leaves out
	var top fyne.CanvasObject
	if h := k.header(); h != nil {
		top = h
	}
	content := container.NewBorder(top, k.footer(), nil, nil, body)
	// No container.ThemeOverride here or anywhere that is rebuilt: in Fyne
	// 2.7.1 every override (and every refresh of one) opens a new font
	// cache scope that parses the fonts again and is never freed, so a
	// kiosk rebuilding per snapshot would grow without bound.
	pad := container.New(layout.NewCustomPaddedLayout(8, 8, 12, 12), content)
	corner := newCornerPress(k.opt.LongPress, k.opt.afterFunc, k.opt.OnAdmin)
	cs := 110 * k.unit()
	cornerBox := container.NewWithoutLayout(corner)
	corner.Resize(fyne.NewSquareSize(max(cs, 60)))
	k.root.Objects = []fyne.CanvasObject{bg, pad, cornerBox}
	for _, o := range k.root.Objects {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(k.size)
	}
	corner.Resize(fyne.NewSquareSize(max(cs, 60)))
	k.root.Refresh()
	k.updateTicker()
}

// other is the translator of the language not chosen.
func (k *Kiosk) other() tr {
	if k.tr.lang == LangArabic {
		return newTr(LangEnglish)
	}
	return newTr(LangArabic)
}

// textIn is a centred, wrapping text in t's language and direction.
func textIn(t tr, s string, size float32, bold bool, col color.Color) *BidiText {
	x := NewBidiText(s, t.rtl(), size)
	x.Bold = bold
	if col != nil {
		x.Color = col
	}
	x.Align = fyne.TextAlignCenter
	x.Wrap = true
	return x
}

// text is a detail in the chosen language.
func (k *Kiosk) text(s string, size float32, bold bool, col color.Color) *BidiText {
	return textIn(k.tr, s, size, bold, col)
}

// both is a message in the chosen language, then in the other one, one
// above the other: drivers at rest read either.
func (k *Kiosk) both(key string, size float32, bold bool, col color.Color, kv ...string) fyne.CanvasObject {
	o := k.other()
	return container.NewVBox(textIn(k.tr, k.tr.T(key, kv...), size, bold, col), textIn(o, o.T(key, kv...), size, bold, col))
}

// pair is a short label in both languages on one line, English on the
// left and Arabic on the right whichever is chosen: "Amount due · المبلغ
// المستحق".
func (k *Kiosk) pair(key string) string {
	return k.tr.T(key) + " · " + k.other().T(key)
}

// header: the site's name and lane, small: English on the left, Arabic on
// the right. Small panels have no room for it: the driver reads the
// screen, the attendant knows the lane.
func (k *Kiosk) header() fyne.CanvasObject {
	if k.compact() {
		return nil
	}
	sz := k.sizes()
	name := k.snap.Site
	if k.opt.SiteName != "" {
		name = k.opt.SiteName
	}
	withLane := func(n string) string {
		if k.snap.Lane == "" {
			return n
		}
		if n == "" {
			return k.snap.Lane
		}
		return n + " · " + k.snap.Lane
	}
	en := textIn(newTr(LangEnglish), withLane(name), sz.small, false, colMuted)
	en.Wrap = false
	if k.opt.SiteNameAr == "" {
		return en
	}
	ar := textIn(newTr(LangArabic), withLane(k.opt.SiteNameAr), sz.small, false, colMuted)
	ar.Wrap = false
	en.Align, ar.Align = fyne.TextAlignLeading, fyne.TextAlignTrailing
	return container.NewGridWithColumns(2, en, ar)
}

// banner is a message on an amber band across the screen, in both
// languages on one line when it fits and wrapped when not, so it is
// never clipped.
func (k *Kiosk) banner(key string, size float32) fyne.CanvasObject {
	t := k.text(k.pair(key), size, true, colOnPrimary)
	bg := canvas.NewRectangle(colPrimary)
	bg.CornerRadius = 10
	return container.NewStack(bg, container.New(layout.NewCustomPaddedLayout(6, 6, 16, 16), t))
}

// called: the driver or the lane says the attendant was called.
func (k *Kiosk) attendantCalled() bool { return k.called || k.snap.AttendantCalled }

// callButton is "Call attendant" in both languages.
func (k *Kiosk) callButton(size float32) *bigButton {
	return newBigButton(k.pair("call.button"), k.tr.rtl(), size, widget.WarningImportance, func() {
		k.called = true
		k.do(lane.CallAttendant{})
		k.rebuild()
	})
}

// footer: "call attendant" (unless the screen's own step is to call) and
// the language switch, mirrored for Arabic; above them, a banner once
// the attendant is called or after the driver cancelled.
func (k *Kiosk) footer() fyne.CanvasObject {
	sz := k.sizes()
	other := LangArabic
	if k.tr.lang == LangArabic {
		other = LangEnglish
	}
	sw := newBigButton(k.tr.T("lang.switch"), other == LangArabic, sz.button, widget.MediumImportance, func() { k.SetLang(other) })
	swBox := container.New(&minBox{w: max(sz.target, 200*k.unit()), h: sz.target}, sw)
	// The row: "call attendant" on the start side (or, once called, the
	// banner saying someone is coming, as wide as there is room), Cancel
	// when moved here, the language switch on the end side.
	var banners []fyne.CanvasObject
	if k.attendantCalled() && !k.callInBody {
		banners = append(banners, container.New(&minBox{h: sz.target}, k.banner("call.on_the_way", sz.body)))
	}
	if k.cancelShown && k.snap.State == lane.Idle {
		banners = append(banners, container.New(&minBox{h: sz.target}, k.banner("notice.cancelled", sz.body)))
	}
	var start fyne.CanvasObject
	switch {
	case len(banners) > 0:
		start = container.NewVBox(banners...)
	case !k.callInBody:
		call := container.New(&minBox{w: sz.target, h: sz.target}, k.callButton(sz.button))
		start = container.NewHBox(call)
		if k.tr.rtl() {
			start = container.NewHBox(layout.NewSpacer(), call)
		}
	}
	end := []fyne.CanvasObject{swBox}
	if k.footerCancel != nil {
		end = []fyne.CanvasObject{k.footerCancel, swBox}
	}
	gap := func() fyne.CanvasObject { return hgap(sz.target / 2) }
	if k.tr.rtl() {
		slices.Reverse(end)
		return container.NewBorder(nil, nil, container.NewHBox(append(end, gap())...), nil, start)
	}
	return container.NewBorder(nil, nil, nil, container.NewHBox(append([]fyne.CanvasObject{gap()}, end...)...), start)
}

func hgap(w float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(w, 1))
	return r
}

// minBox gives its one child at least w x h, and its own min size
// beyond that.
type minBox struct{ w, h float32 }

func (l *minBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *minBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	s := fyne.NewSize(l.w, l.h)
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

// screen is the middle of the screen for the current state.
func (k *Kiosk) screen() fyne.CanvasObject {
	s := k.snap
	sz := k.sizes()
	switch {
	case !s.Ready && s.State == lane.Idle:
		return k.message("welcome.starting", "", colMuted)
	case s.State == lane.Closed || (!s.LaneOpen && s.State == lane.Idle):
		return k.message("welcome.closed", "welcome.closed_hint", colWarning)
	}
	switch s.State {
	case lane.Idle:
		return k.welcome()
	case lane.Checking:
		return k.message("checking.title", "checking.hint", colForeground)
	case lane.FeeDue:
		return k.feeScreen()
	case lane.Opening, lane.Open:
		return k.openingScreen()
	case lane.Notice:
		return k.noticeScreen()
	case lane.Fault:
		kind := s.Notice
		if kind == lane.NoticeNone {
			kind = lane.NoticeDeviceFault
		}
		return k.failure(nil, "notice."+kind.String(), colError, k.callStep(sz.title), nil)
	}
	return k.message("welcome.title", "", colForeground)
}

// vgap is a vertical gap of half h (a sixth on small panels, where
// every line counts).
func (k *Kiosk) vgap(h float32) fyne.CanvasObject {
	if k.compact() {
		h /= 3
	}
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(1, h/2))
	return r
}

// welcome: "scan your ticket" in both languages, side by side on a
// landscape screen (English left, Arabic right), one above the other on
// a portrait one (the chosen language first).
func (k *Kiosk) welcome() fyne.CanvasObject {
	sz := k.sizes()
	col := func(t tr) fyne.CanvasObject {
		return container.NewVBox(
			textIn(t, t.T("welcome.title"), sz.title*1.1, true, colPrimary),
			k.vgap(sz.body),
			textIn(t, t.T("welcome.hint"), sz.body, false, colForeground))
	}
	arrow := k.text("▼", sz.title*1.3, true, colPrimary)
	arrow.Wrap = false
	var both fyne.CanvasObject
	if k.landscape() {
		both = container.NewGridWithColumns(2, col(newTr(LangEnglish)), col(newTr(LangArabic)))
	} else {
		both = container.NewVBox(col(k.tr), k.vgap(sz.title), col(k.other()))
	}
	return container.NewVBox(layout.NewSpacer(), both, k.vgap(sz.body), arrow, layout.NewSpacer())
}

// message is a big centred title and a hint, both in both languages.
func (k *Kiosk) message(title, hint string, col color.Color) fyne.CanvasObject {
	sz := k.sizes()
	objs := []fyne.CanvasObject{layout.NewSpacer(), k.both(title, sz.title, true, col)}
	if hint != "" {
		objs = append(objs, k.vgap(sz.body), k.both(hint, sz.body, false, colForeground))
	}
	objs = append(objs, layout.NewSpacer())
	return container.NewVBox(objs...)
}

// noticeRetry says whether scanning again may help; otherwise the next
// step is to call the attendant.
func noticeRetry(n lane.NoticeKind) bool {
	switch n {
	case lane.NoticeInvalid, lane.NoticeExpired, lane.NoticeCancelled, lane.NoticePaymentFailed:
		return true
	}
	return false
}

func noticeColour(n lane.NoticeKind) color.Color {
	switch n {
	case lane.NoticeCancelled, lane.NoticeExpired:
		return colWarning
	case lane.NoticePaidNotExited:
		return colSuccess
	}
	return colError
}

// callStep is the primary step "call the attendant": a large button in
// both languages, or, once called, the answer that someone is coming.
func (k *Kiosk) callStep(size float32) fyne.CanvasObject {
	k.callInBody = true
	if k.attendantCalled() {
		return k.banner("call.on_the_way", size)
	}
	o := k.other()
	b := newBigButton(k.tr.T("call.button"), k.tr.rtl(), size, widget.WarningImportance, func() {
		k.called = true
		k.do(lane.CallAttendant{})
		k.rebuild()
	}).bilingual(o.T("call.button"), o.rtl())
	return container.New(&minBox{h: k.sizes().target}, b)
}

// failure is a screen with something wrong: the fee (on the fee screen),
// what happened (reason, in both languages) and one next step, the
// largest text after the amount; Cancel, if any, is a small secondary
// button below.
func (k *Kiosk) failure(fee fyne.CanvasObject, reason string, col color.Color, step fyne.CanvasObject, cancel fyne.CanvasObject) fyne.CanvasObject {
	sz := k.sizes()
	objs := []fyne.CanvasObject{layout.NewSpacer()}
	if fee != nil {
		objs = append(objs, fee, k.vgap(sz.body))
	}
	if reason != "" {
		objs = append(objs, k.both(reason, sz.body, true, col), k.vgap(sz.body))
	}
	objs = append(objs, step)
	if cancel != nil {
		objs = append(objs, k.vgap(sz.body), container.NewCenter(cancel))
	}
	objs = append(objs, layout.NewSpacer())
	return container.New(&maxWidth{w: max(1100*k.unit(), 600)}, container.NewVBox(objs...))
}

func (k *Kiosk) noticeScreen() fyne.CanvasObject {
	n := k.snap.Notice
	sz := k.sizes()
	var step fyne.CanvasObject
	if noticeRetry(n) {
		step = k.both("notice.hint_retry", sz.title, true, colForeground)
	} else {
		step = k.callStep(sz.title)
	}
	reason := "notice." + n.String()
	if n == lane.NoticeCallAttendant { // its words are the step itself
		reason = "fee.attendant_collects"
	}
	return k.failure(nil, reason, noticeColour(n), step, nil)
}

func (k *Kiosk) openingScreen() fyne.CanvasObject {
	s := k.snap
	sz := k.sizes()
	var head, sub string
	switch s.Cause {
	case lane.CausePaid:
		head = "opening.paid"
	case lane.CauseGrace:
		head, sub = "opening.free", "opening.free_grace"
	case lane.CauseExitGrace:
		head, sub = "opening.free", "opening.free_exit_grace"
	case lane.CauseValidation:
		head, sub = "opening.free", "opening.free_validation"
	case lane.CauseManual, lane.CauseExempt, lane.CauseUnableToCollect, lane.CauseOverride:
		head = "opening.attendant"
	default:
		head = "opening.free"
	}
	action := "opening.title"
	if s.State == lane.Open {
		action = "open.title"
	}
	objs := []fyne.CanvasObject{layout.NewSpacer(), k.both(head, sz.title, true, colSuccess)}
	if sub != "" {
		objs = append(objs, k.text(k.tr.T(sub), sz.body, false, colForeground))
	}
	objs = append(objs, k.vgap(sz.body*2), k.both(action, sz.title*0.8, true, colPrimary))
	if s.State == lane.Open {
		objs = append(objs, k.text(k.tr.T("open.hint"), sz.body, false, colMuted))
	}
	objs = append(objs, layout.NewSpacer())
	return container.NewVBox(objs...)
}

// remaining is the countdown, m:ss, or "" without a deadline.
func (k *Kiosk) remaining() string {
	d := k.snap.Deadline
	if d.IsZero() {
		return ""
	}
	return countdown(d.Sub(k.opt.Now()))
}

// amountBlock is "Amount due" in both languages above the amount.
func (k *Kiosk) amountBlock() fyne.CanvasObject {
	sz := k.sizes()
	objs := []fyne.CanvasObject{}
	if !k.compact() {
		objs = append(objs, k.text(k.pair("fee.title"), sz.body, false, colMuted))
	}
	objs = append(objs, k.text(k.tr.amount(k.snap.Due), sz.big, true, colPrimary))
	return container.NewVBox(objs...)
}

// details are the fee's labelled values: English label, value (in the
// chosen language), Arabic label.
func (k *Kiosk) details(withStay bool) fyne.CanvasObject {
	s := k.snap
	sz := k.sizes()
	en, ar := newTr(LangEnglish), newTr(LangArabic)
	var cells []fyne.CanvasObject
	row := func(key string, value *BidiText) {
		l := textIn(en, en.T(key), sz.small, false, colMuted)
		r := textIn(ar, ar.T(key), sz.small, false, colMuted)
		l.Wrap, r.Wrap, value.Wrap = false, false, false
		l.Align, r.Align = fyne.TextAlignLeading, fyne.TextAlignTrailing
		cells = append(cells, l, value, r)
	}
	if s.Ticket != nil && !s.Ticket.Entry.IsZero() {
		row("fee.entry", k.text(k.tr.clock(s.Ticket.Entry, s.At, k.opt.Location), sz.small, true, colForeground))
	}
	if s.Stay > 0 && withStay {
		row("fee.stay", k.text(k.tr.duration(s.Stay), sz.small, true, colForeground))
	}
	if !s.Deadline.IsZero() {
		k.countdown = k.text(k.remaining(), sz.body, true, colWarning)
		row("fee.left", k.countdown)
	}
	if len(cells) == 0 {
		return nil
	}
	// not wider than needed: labels far from their values read badly
	return container.New(&maxWidth{w: max(820*k.unit(), 300)}, container.New(&labelRows{gap: 12 * k.unit()}, cells...))
}

// newCodeKeepsTime: the lane gives a replacement order the window of the
// first one (lane.Machine.newOrder keeps the deadline once a code was
// shown), so the screen says the time does not restart.
func (k *Kiosk) newCodeKeepsTime() bool { return k.snap.Attempt > 1 && !k.snap.Deadline.IsZero() }

func (k *Kiosk) feeScreen() fyne.CanvasObject {
	s := k.snap
	sz := k.sizes()
	cancel := newBigButton(k.tr.T("fee.cancel"), k.tr.rtl(), sz.button, widget.MediumImportance, func() {
		k.cancelVisit = k.visit
		k.do(lane.Cancel{})
	})
	cancelBox := container.New(&minBox{w: max(sz.target*2, 240*k.unit()), h: sz.target}, cancel)
	if s.TokenURL == "" && s.Notice != lane.NoticeNone {
		return k.feeFailure(cancelBox)
	}
	info := []fyne.CanvasObject{layout.NewSpacer(), k.amountBlock()}
	if d := k.details(!k.compact()); d != nil {
		info = append(info, k.vgap(sz.small), d)
	}
	if s.Paid > 0 {
		info = append(info, k.text(k.tr.T("fee.paid_before", "amount", s.Paid.Decimal()), sz.small, false, colMuted))
	}
	var qrPane fyne.CanvasObject
	buttons := []fyne.CanvasObject{cancelBox}
	if s.TokenURL != "" {
		info = append(info, k.vgap(sz.small), k.text(k.tr.T("fee.scan"), sz.body, true, colForeground))
		if k.qr == nil || k.qrToken != s.TokenURL {
			k.qr, k.qrToken = newQR(s.TokenURL), s.TokenURL
		}
		if k.qr != nil {
			ground := canvas.NewRectangle(colQRGround)
			ground.CornerRadius = 12
			qrPane = container.NewStack(ground, container.New(layout.NewCustomPaddedLayout(6, 6, 6, 6), k.qr))
		}
		// New code: replace the shown order (it keeps the time left).
		nq := newBigButton(k.tr.T("fee.new_code"), k.tr.rtl(), sz.button, widget.MediumImportance, func() { k.do(lane.NewQR{}) })
		buttons = append(buttons, container.New(&minBox{h: sz.target}, nq))
	} else {
		msg := []fyne.CanvasObject{layout.NewSpacer()}
		if k.newCodeKeepsTime() {
			msg = append(msg, k.text(k.tr.T("fee.preparing_new"), sz.title, true, colMuted), k.vgap(sz.body),
				k.text(k.tr.T("fee.same_time"), sz.body, false, colForeground))
		} else {
			msg = append(msg, k.text(k.tr.T("fee.preparing"), sz.title, true, colMuted))
		}
		qrPane = container.NewVBox(append(msg, layout.NewSpacer())...)
	}
	if k.tr.rtl() {
		for i, j := 0, len(buttons)-1; i < j; i, j = i+1, j-1 {
			buttons[i], buttons[j] = buttons[j], buttons[i]
		}
	}
	info = append(info, k.vgap(sz.body), container.NewGridWithColumns(len(buttons), buttons...), layout.NewSpacer())
	return container.New(&feeLayout{landscape: k.landscape(), rtl: k.tr.rtl()}, container.NewVBox(info...), qrPane)
}

// feeFailure is the fee screen without a QR: what went wrong and one next
// step (a new code after a failed payment, otherwise the attendant).
func (k *Kiosk) feeFailure(cancel fyne.CanvasObject) fyne.CanvasObject {
	s := k.snap
	sz := k.sizes()
	fee := []fyne.CanvasObject{k.amountBlock()}
	if d := k.details(false); d != nil && !k.compact() {
		fee = append(fee, k.vgap(sz.small), container.NewCenter(d))
	}
	reason := "notice." + s.Notice.String()
	var step fyne.CanvasObject
	switch s.Notice {
	case lane.NoticePaymentFailed:
		// PayBy said no: a fresh code may work (a new order at PayBy).
		o := k.other()
		b := newBigButton(k.tr.T("fee.retry"), k.tr.rtl(), sz.step, widget.HighImportance, func() { k.do(lane.NewQR{}) }).
			bilingual(o.T("fee.retry"), o.rtl())
		step = container.New(&minBox{h: sz.target}, b)
	case lane.NoticeCallAttendant:
		reason = "fee.attendant_collects"
		step = k.callStep(sz.step)
	default:
		step = k.callStep(sz.step)
	}
	if k.compact() {
		k.footerCancel, cancel = cancel, nil
	}
	return k.failure(container.NewVBox(fee...), reason, colError, step, cancel)
}

// maxWidth centres its one child horizontally at no more than w wide
// (or its min width, if wider).
type maxWidth struct{ w float32 }

func (l *maxWidth) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		w := min(size.Width, max(l.w, o.MinSize().Width))
		o.Move(fyne.NewPos((size.Width-w)/2, 0))
		o.Resize(fyne.NewSize(w, size.Height))
	}
}

func (l *maxWidth) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		s = s.Max(o.MinSize())
	}
	return s
}

// labelRows lays out rows of three cells: a label on the left, a value
// centred, a label on the right; the label columns are as wide as their
// widest label, so the values line up.
type labelRows struct{ gap float32 }

func (l *labelRows) widths(objs []fyne.CanvasObject) (left, mid, right float32) {
	for i := 0; i+2 < len(objs); i += 3 {
		left = max(left, objs[i].MinSize().Width)
		mid = max(mid, objs[i+1].MinSize().Width)
		right = max(right, objs[i+2].MinSize().Width)
	}
	return
}

func (l *labelRows) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	left, _, right := l.widths(objs)
	mid := max(size.Width-left-right-2*l.gap, 0)
	y := float32(0)
	for i := 0; i+2 < len(objs); i += 3 {
		h := max(objs[i].MinSize().Height, objs[i+1].MinSize().Height, objs[i+2].MinSize().Height)
		objs[i].Move(fyne.NewPos(0, y))
		objs[i].Resize(fyne.NewSize(left, h))
		objs[i+1].Move(fyne.NewPos(left+l.gap, y))
		objs[i+1].Resize(fyne.NewSize(mid, h))
		objs[i+2].Move(fyne.NewPos(size.Width-right, y))
		objs[i+2].Resize(fyne.NewSize(right, h))
		y += h
	}
}

func (l *labelRows) MinSize(objs []fyne.CanvasObject) fyne.Size {
	left, mid, right := l.widths(objs)
	var h float32
	for i := 0; i+2 < len(objs); i += 3 {
		h += max(objs[i].MinSize().Height, objs[i+1].MinSize().Height, objs[i+2].MinSize().Height)
	}
	return fyne.NewSize(left+mid+right+2*l.gap, h)
}

// feeLayout puts the QR beside the fee (landscape; on the left for
// Arabic, on the right for English) or below it (portrait), as a square
// as large as fits beside the fee's narrowest layout: at least 60% of the
// screen's shorter side on the supported screens.
type feeLayout struct{ landscape, rtl bool }

func (l *feeLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	info, qr := objs[0], objs[1]
	if l.landscape {
		side := min(size.Height, size.Width*0.55, size.Width-info.MinSize().Width-16)
		infoW := size.Width - side - 16
		qrX, infoX := size.Width-side, float32(0)
		if l.rtl {
			qrX, infoX = 0, side+16
		}
		qr.Move(fyne.NewPos(qrX, (size.Height-side)/2))
		qr.Resize(fyne.NewSquareSize(side))
		info.Move(fyne.NewPos(infoX, 0))
		info.Resize(fyne.NewSize(infoW, size.Height))
		return
	}
	infoH := info.MinSize().Height
	side := min(size.Width, size.Height-infoH-16)
	info.Move(fyne.NewPos(0, 0))
	info.Resize(fyne.NewSize(size.Width, infoH))
	qr.Move(fyne.NewPos((size.Width-side)/2, infoH+16+(size.Height-infoH-16-side)/2))
	qr.Resize(fyne.NewSquareSize(side))
}

func (l *feeLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	m := objs[0].MinSize()
	return fyne.NewSize(m.Width, m.Height)
}

// fixedHeight gives its one child the full width and a fixed height.
type fixedHeight struct{ h float32 }

func (l *fixedHeight) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	for _, o := range objs {
		o.Move(fyne.NewPos(0, 0))
		o.Resize(size)
	}
}

func (l *fixedHeight) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w float32
	for _, o := range objs {
		w = max(w, o.MinSize().Width)
	}
	return fyne.NewSize(w, l.h)
}

// updateTicker runs a 1 s ticker only while a countdown is on screen: an
// idle lane draws nothing (software rendering makes every frame count).
func (k *Kiosk) updateTicker() {
	if k.countdown == nil || k.opt.noTicker {
		k.stopTicker()
		return
	}
	k.tickMu.Lock()
	defer k.tickMu.Unlock()
	if k.tickStop != nil {
		return
	}
	stop := make(chan struct{})
	k.tickStop = stop
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				fyne.Do(k.tick)
			}
		}
	}()
}

func (k *Kiosk) tick() {
	if k.countdown != nil {
		k.countdown.SetText(k.remaining())
	}
}

func (k *Kiosk) stopTicker() {
	k.tickMu.Lock()
	defer k.tickMu.Unlock()
	if k.tickStop != nil {
		close(k.tickStop)
		k.tickStop = nil
	}
}
