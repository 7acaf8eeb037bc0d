package ui

import (
	"fmt"
	"image/color"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"

	"github.com/exitlane/exitlane/lane"
)

// TicketKind is what the simulation panel presents at the scanner.
type TicketKind string

// Tickets the panel can present.
const (
	TicketValid   TicketKind = "valid"   // signed, entered N minutes ago
	TicketLost    TicketKind = "lost"    // no ticket: the attendant's lost-ticket action
	TicketForged  TicketKind = "forged"  // a valid code with its entry time edited
	TicketUsed    TicketKind = "used"    // the last ticket that already exited
	TicketGarbage TicketKind = "garbage" // bytes that are no ticket at all
)

// PayByMode is the sandbox's behaviour.
type PayByMode string

// PayBy behaviours the panel offers.
const (
	PayByOK          PayByMode = "ok"
	PayBySlow        PayByMode = "slow"        // answers after several seconds
	PayByFailing     PayByMode = "failing"     // 5xx / gateway errors
	PayByUnreachable PayByMode = "unreachable" // connection refused
)

// SimControls is what the developer simulation panel drives. exitlane sim
// implements it over the sim package's pty devices, the PayBy sandbox and
// the ledger; tests use a fake.
type SimControls interface {
	// Present writes a ticket code to the scanner emulator and returns it.
	Present(kind TicketKind, enteredAgo time.Duration) (string, error)
	// Pay pays (or declines) the open order through the sandbox's checkout,
	// as the driver's phone would.
	Pay(decline bool) error
	// ExpireQR makes the open order's payment window end now.
	ExpireQR() error
	// VehiclePasses reports the vehicle through the barrier.
	VehiclePasses() error
	// Plug plugs or unplugs a device: "scanner" or "relay".
	Plug(device string, plugged bool) error
	// SetPayBy switches the sandbox's behaviour.
	SetPayBy(PayByMode) error
	// Status is the simulation's state for display.
	Status() SimStatus
	// SetLane makes the controls act at lane id (one of Status().Lanes):
	// its scanner, its phone, its devices.
	SetLane(id string) error
}

// SimLane is one lane of a simulated site (exitlane sim --lanes N).
type SimLane struct {
	ID          string
	Snapshot    lane.Snapshot
	RelayOn     bool
	RelayPulses int
	Store       string // the site store as the lane sees it: "up", "down, 12 behind", ...
}

// SimLedgerRow is one row of the chosen lane's ledger: its id, its
// instant and the rest of its line (kind, ticket, amount, cause...).
type SimLedgerRow struct {
	ID   int64
	At   time.Time
	Text string
}

// SimStatus is what the panel shows besides the lane's snapshot.
type SimStatus struct {
	CheckoutURL    string // the open order's tokenUrl ("" none)
	SandboxURL     string // the sandbox's base URL
	RelayOn        bool
	RelayFrames    []string // last frames the relay board received, newest first
	ScannerPlugged bool
	RelayPlugged   bool
	PayBy          PayByMode
	Ledger         []SimLedgerRow // last ledger rows, newest first
	LedgerErr      string         // why the ledger could not be read ("": it was)
	// Location is the site's time zone (site.timezone), in which the
	// panel shows the ledger's times, as the kiosk shows the driver's;
	// nil: UTC.
	Location    *time.Location
	RelayPulses int
	RelayBoard  string
	// Lane is the lane the controls act at, Lanes the site's lanes. With
	// one lane Lanes is empty and the panel shows no chooser.
	Lane  string
	Lanes []SimLane
}

// SimPanel is the developer simulation panel (exitlane sim only).
type SimPanel struct {
	ctl     SimControls
	log     *slog.Logger
	root    *fyne.Container
	content fyne.CanvasObject // root in the panel's theme

	snap    lane.Snapshot
	minutes string
	message string
	failed  bool // message is an error
	onLane  func(id string)
	pending sync.WaitGroup
	sync    bool
}

// SimPanelMaxWidth is the widest the panel's minimum size may be: it
// stands beside a 1280 px kiosk in one window on a 1920 px screen.
const SimPanelMaxWidth = 640

// OnLane sets f to be called, on the Fyne goroutine, when the panel has
// chosen another lane (the display then shows that lane's kiosk).
func (p *SimPanel) OnLane(f func(id string)) { p.onLane = f }

// NewSimPanel builds the panel.
func NewSimPanel(ctl SimControls, log *slog.Logger) *SimPanel {
	if log == nil {
		log = slog.Default()
	}
	p := &SimPanel{ctl: ctl, log: log, root: container.NewStack(), minutes: "137"}
	// One override for the panel's life: one per rebuild would add font
	// tables each time (see TestKioskRebuildsDoNotLeak).
	p.content = container.NewThemeOverride(p.root, panelTheme{NewTheme()})
	p.rebuild()
	return p
}

// Content is the panel's window content.
func (p *SimPanel) Content() fyne.CanvasObject { return p.content }

// Show redraws with a new lane snapshot. Fyne goroutine.
func (p *SimPanel) Show(s lane.Snapshot) {
	p.snap = s
	p.rebuild()
}

// Close waits for pending simulated actions.
func (p *SimPanel) Close() { p.pending.Wait() }

// run performs a simulation step off the Fyne goroutine (the pty devices
// and the sandbox's checkout take a moment) and shows its outcome.
func (p *SimPanel) run(label string, f func() error) {
	done := func(err error) {
		p.failed = err != nil
		if err != nil {
			p.message = label + ": " + err.Error()
		} else {
			p.message = label + ": ok"
		}
		p.rebuild()
	}
	if p.sync {
		done(f())
		return
	}
	p.pending.Add(1)
	go func() {
		defer p.pending.Done()
		err := f()
		if err != nil {
			p.log.Warn("simulation step failed", "step", label, "err", err)
		}
		fyne.Do(func() { done(err) })
	}()
}

func monoLines(lines []string, size float32) fyne.CanvasObject {
	var objs []fyne.CanvasObject
	for _, l := range lines {
		t := canvas.NewText(l, colForeground)
		t.TextSize = size
		t.TextStyle.Monospace = true
		objs = append(objs, t)
	}
	if len(objs) == 0 {
		t := canvas.NewText("(none)", colMuted)
		t.TextSize = size
		objs = append(objs, t)
	}
	return container.NewVBox(objs...)
}

// simButton is a panel button with its label centred (bigButton):
// widget.Button measures its text with the theme's Arabic-capable font,
// whose tall line metrics leave a Latin label a few pixels high. The
// label has the panel's text size, as widget.Button's had.
func simButton(label string, imp widget.Importance, tapped func()) *bigButton {
	return newBigButton(label, false, simTextSize, imp, tapped)
}

func section(title string) fyne.CanvasObject {
	t := canvas.NewText(title, colPrimary)
	t.TextSize = 16
	t.TextStyle.Bold = true
	return t
}

func (p *SimPanel) rebuild() {
	st := p.ctl.Status()
	s := p.snap
	btn := func(label string, f func() error) *bigButton {
		return simButton(label, widget.MediumImportance, func() { p.run(label, f) })
	}
	agoLabel := canvas.NewText("entered minutes ago", colForeground)
	agoLabel.TextSize = 15
	// Wide enough for "1560" (26 h): the entry's own minimum shows two
	// digits.
	minsWidth := canvas.NewRectangle(color.Transparent)
	minsWidth.SetMinSize(fyne.NewSize(64, 0))
	mins := widget.NewEntry()
	mins.SetText(p.minutes)
	mins.OnChanged = func(v string) { p.minutes = v }
	ago := func() time.Duration {
		n, err := strconv.Atoi(strings.TrimSpace(p.minutes))
		if err != nil || n < 0 {
			n = 0
		}
		return time.Duration(n) * time.Minute
	}
	present := func(k TicketKind) func() error {
		return func() error { _, err := p.ctl.Present(k, ago()); return err }
	}
	presets := container.NewGridWithColumns(4,
		simButton("5 min", widget.MediumImportance, func() { p.minutes = "5"; p.rebuild() }),
		simButton("45 min", widget.MediumImportance, func() { p.minutes = "45"; p.rebuild() }),
		simButton("2 h 17", widget.MediumImportance, func() { p.minutes = "137"; p.rebuild() }),
		simButton("26 h", widget.MediumImportance, func() { p.minutes = "1560"; p.rebuild() }),
	)
	title := "Ticket at the scanner"
	var chooser []fyne.CanvasObject
	if len(st.Lanes) > 1 {
		// The site's lanes share the sandbox and the site store; the
		// controls act at the chosen lane, whose kiosk the display shows.
		title = "Ticket at the scanner of " + st.Lane
		var bs []fyne.CanvasObject
		for _, l := range st.Lanes {
			imp := widget.MediumImportance
			if l.ID == st.Lane {
				imp = widget.HighImportance
				s = l.Snapshot
			}
			bs = append(bs, simButton(l.ID, imp, func() { p.chooseLane(l.ID) }))
		}
		lbl := canvas.NewText("Lane", colPrimary)
		lbl.TextSize, lbl.TextStyle.Bold = 16, true
		chooser = []fyne.CanvasObject{container.NewBorder(nil, nil, lbl, nil, container.NewGridWithColumns(min(len(bs), 8), bs...))}
	}
	tickets := container.NewVBox(append(chooser,
		section(title),
		container.NewBorder(nil, nil, container.NewCenter(agoLabel), presets, container.NewStack(minsWidth, mins)),
		container.NewGridWithColumns(3,
			btn("Present ticket", present(TicketValid)),
			btn("Forged", present(TicketForged)),
			btn("Already used", present(TicketUsed)),
			btn("Garbage bytes", present(TicketGarbage)),
			btn("Lost (attendant)", present(TicketLost)),
		),
	)...)
	phone := container.NewVBox(
		section("Driver's phone"),
		container.NewGridWithColumns(4,
			btn("Pay", func() error { return p.ctl.Pay(false) }),
			btn("Decline", func() error { return p.ctl.Pay(true) }),
			btn("Let QR expire", p.ctl.ExpireQR),
			btn("Vehicle passes", p.ctl.VehiclePasses),
		),
	)
	plug := func(dev string, plugged bool) *bigButton {
		label := "Unplug " + dev
		if !plugged {
			label = "Replug " + dev
		}
		return btn(label, func() error { return p.ctl.Plug(dev, !plugged) })
	}
	var modeButtons []fyne.CanvasObject
	for _, m := range []PayByMode{PayByOK, PayBySlow, PayByFailing, PayByUnreachable} {
		imp := widget.MediumImportance
		if m == st.PayBy {
			imp = widget.HighImportance
		}
		modeButtons = append(modeButtons, simButton("PayBy "+string(m), imp, func() {
			p.run("PayBy "+string(m), func() error { return p.ctl.SetPayBy(m) })
		}))
	}
	devices := container.NewVBox(
		section("Devices and PayBy"),
		container.NewGridWithColumns(3, append([]fyne.CanvasObject{plug("scanner", st.ScannerPlugged), plug("relay", st.RelayPlugged)},
			modeButtons...)...),
	)
	relay := "OFF"
	relayCol := colMuted
	if st.RelayOn {
		relay, relayCol = "ON (barrier pulse)", colSuccess
	}
	pulses := fmt.Sprintf("%d pulses", st.RelayPulses)
	if st.RelayPulses == 1 {
		pulses = "1 pulse"
	}
	relayText := canvas.NewText(fmt.Sprintf("Relay %s · %s · board %s", relay, pulses, st.RelayBoard), relayCol)
	relayText.TextSize = 17
	relayText.TextStyle.Bold = true
	laneText := canvas.NewText(fmt.Sprintf("Lane: %s  notice: %s  due: %s  visit: %d", s.State, s.Notice, s.Due, s.Visit), colForeground)
	laneText.TextSize = 17
	// The last step's outcome: an error in the error colour, "ok" as
	// plain text (it is no warning).
	msgCol := colForeground
	if p.failed {
		msgCol = colError
	}
	msg := canvas.NewText(p.message, msgCol)
	msg.TextSize = 16
	var site []fyne.CanvasObject
	if len(st.Lanes) > 1 {
		var lines []string
		for _, l := range st.Lanes {
			mark := " "
			if l.ID == st.Lane {
				mark = "›"
			}
			relay := "off"
			if l.RelayOn {
				relay = "ON"
			}
			due := ""
			if l.Snapshot.Due != 0 {
				due = " due " + l.Snapshot.Due.String()
			}
			lines = append(lines, fmt.Sprintf("%s %-4s %-8s relay %-3s %2d pulses  store %s%s", mark, l.ID, l.Snapshot.State, relay, l.RelayPulses, l.Store, due))
		}
		site = []fyne.CanvasObject{section("Site"), monoLines(lines, 13)}
	}
	status := container.NewVBox(append(site,
		section("State"),
		laneText, relayText,
		small(orNone("sandbox: ", st.SandboxURL)),
		small(orNone("checkout: ", st.CheckoutURL)),
		monoLines(lastN(st.RelayFrames, 4), 13),
		section("Ledger (newest first)"),
		monoLines(ledgerLines(st, 12), 13),
	)...)
	// One column, at most SimPanelMaxWidth wide, beside the kiosk: the
	// controls on top, the last step's outcome under them, and the status
	// below taking the height that is left, scrolling (twelve ledger rows,
	// a long checkout URL or ledger line would otherwise grow the window,
	// which Fyne sizes to its content, past the screen).
	controls := container.NewVBox(tickets, widget.NewSeparator(), phone, widget.NewSeparator(), devices, msg, widget.NewSeparator())
	body := container.NewBorder(controls, nil, nil, nil, container.NewScroll(status))
	p.root.Objects = []fyne.CanvasObject{canvas.NewRectangle(colBackground), container.NewPadded(body)}
	// Through the override: it gives the new widgets its theme.
	p.content.Refresh()
}

// chooseLane makes the controls act at lane id and tells OnLane's
// function, once the lane is chosen.
func (p *SimPanel) chooseLane(id string) {
	p.run("lane "+id, func() error {
		if err := p.ctl.SetLane(id); err != nil {
			return err
		}
		if p.onLane != nil {
			if p.sync {
				p.onLane(id)
			} else {
				fyne.Do(func() { p.onLane(id) })
			}
		}
		return nil
	})
}

// ledgerLines are the newest n ledger rows, their times in the site's
// zone.
func ledgerLines(st SimStatus, n int) []string {
	loc := st.Location
	if loc == nil {
		loc = time.UTC
	}
	var lines []string
	if st.LedgerErr != "" {
		lines = append(lines, "ledger: "+st.LedgerErr)
	}
	for _, r := range st.Ledger {
		if len(lines) == n {
			break
		}
		lines = append(lines, fmt.Sprintf("#%d %s %s", r.ID, r.At.In(loc).Format("15:04:05"), r.Text))
	}
	return lines
}

func small(s string) fyne.CanvasObject {
	t := canvas.NewText(s, colMuted)
	t.TextSize = 16
	return t
}

func orNone(prefix, s string) string {
	if s == "" {
		return prefix + "(none)"
	}
	return prefix + s
}

func lastN(lines []string, n int) []string {
	if len(lines) > n {
		return lines[:n]
	}
	return lines
}
