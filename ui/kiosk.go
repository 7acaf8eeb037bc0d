package ui

import (
	"context"
	"fmt"
	"image/color"
	"log/slog"
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

// Close stops the countdown ticker and waits for pending actions.
func (k *Kiosk) Close() {
	k.stopTicker()
	k.actions.Wait()
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

func (k *Kiosk) sizes() (title, big, body, small float32) {
	u := k.unit()
	return max(72*u, 28), max(120*u, 40), max(42*u, 18), max(30*u, 14)
}

func (k *Kiosk) landscape() bool { return k.size.Width >= k.size.Height }

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
	bg := canvas.NewRectangle(colBackground)
	body := k.screen()
	content := container.NewBorder(k.header(), k.footer(), nil, nil, body)
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

func (k *Kiosk) text(s string, size float32, bold bool, col color.Color) *BidiText {
	t := NewBidiText(s, k.tr.rtl(), size)
	t.Bold = bold
	if col != nil {
		t.Color = col
	}
	t.Align = fyne.TextAlignCenter
	t.Wrap = true
	return t
}

// header: the site's name and lane, small, on the start side.
func (k *Kiosk) header() fyne.CanvasObject {
	_, _, _, small := k.sizes()
	name := k.snap.Site
	if k.opt.SiteName != "" {
		name = k.opt.SiteName
	}
	if k.snap.Lane != "" {
		if name != "" {
			name += " · "
		}
		name += k.snap.Lane
	}
	t := k.text(name, small, false, colMuted)
	t.Wrap = false
	return t
}

// footer: "call attendant" (always there) and the language switch,
// mirrored for Arabic.
func (k *Kiosk) footer() fyne.CanvasObject {
	callText := k.tr.T("call.button")
	if k.called || k.snap.AttendantCalled {
		callText = k.tr.T("call.called")
	}
	_, _, body, _ := k.sizes()
	call := newBigButton(callText, k.tr.rtl(), body*0.8, widget.WarningImportance, func() {
		k.called = true
		k.do(lane.CallAttendant{})
		k.rebuild()
	})
	other := LangArabic
	if k.tr.lang == LangArabic {
		other = LangEnglish
	}
	sw := newBigButton(k.tr.T("lang.switch"), other == LangArabic, body*0.8, widget.MediumImportance, func() { k.SetLang(other) })
	h := max(84*k.unit(), 44)
	callBox := container.NewGridWrap(fyne.NewSize(max(420*k.unit(), 230), h), call)
	swBox := container.NewGridWrap(fyne.NewSize(max(260*k.unit(), 150), h), sw)
	if k.tr.rtl() {
		return container.NewHBox(swBox, layout.NewSpacer(), callBox)
	}
	return container.NewHBox(callBox, layout.NewSpacer(), swBox)
}

// screen is the middle of the screen for the current state.
func (k *Kiosk) screen() fyne.CanvasObject {
	s := k.snap
	title, _, body, _ := k.sizes()
	switch {
	case !s.Ready && s.State == lane.Idle:
		return k.message(k.tr.T("welcome.starting"), "", colMuted)
	case s.State == lane.Closed || (!s.LaneOpen && s.State == lane.Idle):
		return k.message(k.tr.T("welcome.closed"), k.tr.T("welcome.closed_hint"), colWarning)
	}
	switch s.State {
	case lane.Idle:
		t := k.text(k.tr.T("welcome.title"), title*1.2, true, colPrimary)
		h := k.text(k.tr.T("welcome.hint"), body, false, colForeground)
		arrow := k.text("▼", title*1.5, true, colPrimary)
		arrow.Wrap = false
		return container.NewVBox(layout.NewSpacer(), t, vgap(body), h, vgap(body), arrow, layout.NewSpacer())
	case lane.Checking:
		return k.message(k.tr.T("checking.title"), k.tr.T("checking.hint"), colForeground)
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
		return k.message(k.noticeText(kind), k.tr.T("notice.hint_attendant"), colError)
	}
	return k.message(k.tr.T("welcome.title"), "", colForeground)
}

func vgap(h float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(1, h/2))
	return r
}

// message is a big centred title and a hint.
func (k *Kiosk) message(title, hint string, col color.Color) fyne.CanvasObject {
	ts, _, body, _ := k.sizes()
	objs := []fyne.CanvasObject{layout.NewSpacer(), k.text(title, ts, true, col)}
	if hint != "" {
		objs = append(objs, vgap(body), k.text(hint, body, false, colForeground))
	}
	objs = append(objs, layout.NewSpacer())
	return container.NewVBox(objs...)
}

// noticeText is the word for a notice kind; the driver never reads an error.
func (k *Kiosk) noticeText(n lane.NoticeKind) string {
	return k.tr.T("notice." + n.String())
}

// noticeRetry says whether scanning again may help; otherwise the hint is
// to call the attendant.
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

func (k *Kiosk) noticeScreen() fyne.CanvasObject {
	n := k.snap.Notice
	hint := k.tr.T("notice.hint_attendant")
	if noticeRetry(n) {
		hint = k.tr.T("notice.hint_retry")
	}
	return k.message(k.noticeText(n), hint, noticeColour(n))
}

func (k *Kiosk) openingScreen() fyne.CanvasObject {
	s := k.snap
	ts, _, body, _ := k.sizes()
	var head, sub string
	switch s.Cause {
	case lane.CausePaid:
		head = k.tr.T("opening.paid")
	case lane.CauseGrace:
		head, sub = k.tr.T("opening.free"), k.tr.T("opening.free_grace")
	case lane.CauseExitGrace:
		head, sub = k.tr.T("opening.free"), k.tr.T("opening.free_exit_grace")
	case lane.CauseValidation:
		head, sub = k.tr.T("opening.free"), k.tr.T("opening.free_validation")
	case lane.CauseManual, lane.CauseExempt, lane.CauseUnableToCollect, lane.CauseOverride:
		head = k.tr.T("opening.attendant")
	default:
		head = k.tr.T("opening.free")
	}
	action := k.tr.T("opening.title")
	if s.State == lane.Open {
		action = k.tr.T("open.title")
	}
	objs := []fyne.CanvasObject{layout.NewSpacer(), k.text(head, ts, true, colSuccess)}
	if sub != "" {
		objs = append(objs, k.text(sub, body, false, colForeground))
	}
	objs = append(objs, vgap(body*2), k.text(action, ts*0.8, true, colPrimary))
	if s.State == lane.Open {
		objs = append(objs, k.text(k.tr.T("open.hint"), body, false, colMuted))
	}
	objs = append(objs, layout.NewSpacer())
	return container.NewVBox(objs...)
}

// remaining is the countdown text, or "" without a deadline.
func (k *Kiosk) remaining() string {
	d := k.snap.Deadline
	if d.IsZero() {
		return ""
	}
	left := d.Sub(k.opt.Now())
	secs := int64((left + time.Second - 1) / time.Second)
	if secs < 0 {
		secs = 0
	}
	return k.tr.T("fee.countdown", "seconds", fmt.Sprint(secs))
}

func (k *Kiosk) feeScreen() fyne.CanvasObject {
	s := k.snap
	_, big, body, small := k.sizes()
	compact := k.unit() < 0.6 // 800x480 panels: only what the driver needs
	info := []fyne.CanvasObject{layout.NewSpacer()}
	if !compact {
		info = append(info, k.text(k.tr.T("fee.title"), body, false, colMuted))
	}
	info = append(info, k.text(k.tr.amount(s.Due), big, true, colPrimary))
	if s.Ticket != nil && !s.Ticket.Entry.IsZero() {
		info = append(info, k.text(k.tr.T("fee.entry", "time", k.tr.clock(s.Ticket.Entry, s.At, k.opt.Location)), small, false, colForeground))
	}
	if s.Stay > 0 && !compact {
		info = append(info, k.text(k.tr.T("fee.stay", "duration", k.tr.duration(s.Stay)), small, false, colForeground))
	}
	if s.Paid > 0 {
		info = append(info, k.text(k.tr.T("fee.paid_before", "amount", s.Paid.Decimal()), small, false, colMuted))
	}
	if !compact {
		info = append(info, vgap(body))
	}
	var qrPane fyne.CanvasObject
	switch {
	case s.TokenURL != "":
		info = append(info, k.text(k.tr.T("fee.scan"), body, true, colForeground))
		k.countdown = k.text(k.remaining(), body, false, colWarning)
		k.countdown.Wrap = false
		info = append(info, k.countdown)
		if k.qr == nil || k.qrToken != s.TokenURL {
			k.qr, k.qrToken = newQR(s.TokenURL), s.TokenURL
		}
		if k.qr != nil {
			ground := canvas.NewRectangle(colQRGround)
			ground.CornerRadius = 12
			qrPane = container.NewStack(ground, container.New(layout.NewCustomPaddedLayout(6, 6, 6, 6), k.qr))
		}
	case s.Notice != lane.NoticeNone:
		info = append(info, k.text(k.noticeText(s.Notice), body, true, colError))
		if s.Notice != lane.NoticeCallAttendant { // it already says so
			info = append(info, k.text(k.tr.T("notice.hint_attendant"), small, false, colForeground))
		}
		noQR := k.tr.T("fee.no_qr")
		if s.Notice == lane.NoticePaymentFailed {
			// the New QR button below offers a fresh code: do not say
			// paying by QR is impossible
			noQR = k.tr.T("fee.retry_new_qr")
		}
		qrPane = k.message(noQR, "", colMuted)
	default:
		qrPane = k.message(k.tr.T("fee.preparing"), "", colMuted)
	}
	cancel := newBigButton(k.tr.T("fee.cancel"), k.tr.rtl(), body*0.9, widget.DangerImportance, func() { k.do(lane.Cancel{}) })
	buttons := []fyne.CanvasObject{cancel}
	// New QR: replace the shown order, or try again after PayBy reported
	// the payment failed (not while PayBy is unreachable).
	if s.TokenURL != "" || s.Notice == lane.NoticePaymentFailed {
		nq := newBigButton(k.tr.T("fee.new_qr"), k.tr.rtl(), body*0.9, widget.MediumImportance, func() { k.do(lane.NewQR{}) })
		buttons = append(buttons, nq)
	}
	if k.tr.rtl() {
		for i, j := 0, len(buttons)-1; i < j; i, j = i+1, j-1 {
			buttons[i], buttons[j] = buttons[j], buttons[i]
		}
	}
	bh := max(96*k.unit(), 44)
	row := container.NewGridWithColumns(len(buttons), buttons...)
	if !compact {
		info = append(info, vgap(body))
	}
	info = append(info, container.New(&fixedHeight{h: bh}, row), layout.NewSpacer())
	infoBox := container.NewVBox(info...)
	if qrPane == nil {
		return infoBox
	}
	return container.New(&feeLayout{landscape: k.landscape(), rtl: k.tr.rtl()}, infoBox, qrPane)
}

// feeLayout puts the QR beside the fee (landscape; on the left for
// Arabic, on the right for English) or below it (portrait), as a square
// as large as fits: at least 60% of the screen's shorter side on the
// supported screens.
type feeLayout struct{ landscape, rtl bool }

func (l *feeLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	info, qr := objs[0], objs[1]
	if l.landscape {
		side := min(size.Height, size.Width*0.55)
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
