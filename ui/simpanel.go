package ui

import (
	"fmt"
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

// SimStatus is what the panel shows besides the lane's snapshot.
type SimStatus struct {
	CheckoutURL    string // the open order's tokenUrl ("" none)
	SandboxURL     string // the sandbox's base URL
	RelayOn        bool
	RelayFrames    []string // last frames the relay board received, newest first
	ScannerPlugged bool
	RelayPlugged   bool
	PayBy          PayByMode
	Ledger         []string // last ledger rows, newest first
	RelayPulses    int
	RelayBoard     string
	// Lane is the lane the controls act at, Lanes the site's lanes. With
	// one lane Lanes is empty and the panel shows no chooser.
	Lane  string
	Lanes []SimLane
}

// SimPanel is the developer simulation panel (exitlane sim only).
type SimPanel struct {
	ctl  SimControls
	log  *slog.Logger
	root *fyne.Container

	snap    lane.Snapshot
	minutes string
	message string
	pending sync.WaitGroup
	sync    bool
}

// NewSimPanel builds the panel.
func NewSimPanel(ctl SimControls, log *slog.Logger) *SimPanel {
	if log == nil {
		log = slog.Default()
	}
	p := &SimPanel{ctl: ctl, log: log, root: container.NewStack(), minutes: "137"}
	p.rebuild()
	return p
}

// Content is the panel's window content.
func (p *SimPanel) Content() fyne.CanvasObject { return p.root }

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

func section(title string) fyne.CanvasObject {
	t := canvas.NewText(title, colPrimary)
	t.TextSize = 18
	t.TextStyle.Bold = true
	return t
}

func (p *SimPanel) rebuild() {
	st := p.ctl.Status()
	s := p.snap
	btn := func(label string, f func() error) *widget.Button {
		return widget.NewButton(label, func() { p.run(label, f) })
	}
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
		widget.NewButton("5 min", func() { p.minutes = "5"; p.rebuild() }),
		widget.NewButton("45 min", func() { p.minutes = "45"; p.rebuild() }),
		widget.NewButton("2 h 17", func() { p.minutes = "137"; p.rebuild() }),
		widget.NewButton("26 h", func() { p.minutes = "1560"; p.rebuild() }),
	)
	title := "Ticket at the scanner"
	var chooser []fyne.CanvasObject
	if len(st.Lanes) > 1 {
		// The site's lanes share the sandbox and the site store; the
		// controls act at the chosen lane, and the kiosk window shows lane 1.
		title = "Ticket at the scanner of " + st.Lane
		var bs []fyne.CanvasObject
		for _, l := range st.Lanes {
			b := widget.NewButton(l.ID, func() { p.run("lane "+l.ID, func() error { return p.ctl.SetLane(l.ID) }) })
			if l.ID == st.Lane {
				b.Importance = widget.HighImportance
				s = l.Snapshot
			}
			bs = append(bs, b)
		}
		chooser = []fyne.CanvasObject{section("Lane"), container.NewGridWithColumns(min(len(bs), 6), bs...), widget.NewSeparator()}
	}
	tickets := container.NewVBox(append(chooser,
		section(title),
		container.NewBorder(nil, nil, widget.NewLabel("entered minutes ago"), nil, mins),
		presets,
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
		container.NewGridWithColumns(3,
			btn("Pay", func() error { return p.ctl.Pay(false) }),
			btn("Decline", func() error { return p.ctl.Pay(true) }),
			btn("Let QR expire", p.ctl.ExpireQR),
		),
		btn("Vehicle passes", p.ctl.VehiclePasses),
	)
	plug := func(dev string, plugged bool) *widget.Button {
		label := "Unplug " + dev
		if !plugged {
			label = "Replug " + dev
		}
		return btn(label, func() error { return p.ctl.Plug(dev, !plugged) })
	}
	var modeButtons []fyne.CanvasObject
	for _, m := range []PayByMode{PayByOK, PayBySlow, PayByFailing, PayByUnreachable} {
		b := widget.NewButton("PayBy "+string(m), func() {
			p.run("PayBy "+string(m), func() error { return p.ctl.SetPayBy(m) })
		})
		if m == st.PayBy {
			b.Importance = widget.HighImportance
		}
		modeButtons = append(modeButtons, b)
	}
	modes := container.NewGridWithColumns(2, modeButtons...)
	devices := container.NewVBox(
		section("Devices and PayBy"),
		container.NewGridWithColumns(2, plug("scanner", st.ScannerPlugged), plug("relay", st.RelayPlugged)),
		modes,
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
	msg := canvas.NewText(p.message, colWarning)
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
		monoLines(lastN(st.Ledger, 12), 13),
		msg,
	)...)
	controls := container.NewVBox(tickets, widget.NewSeparator(), phone)
	// The controls keep their minimum width and the devices and status take
	// the rest: two equal grid columns made the panel 1400 px wide, and a
	// long checkout URL or ledger line widened the window (Fyne grows it to
	// the content) until its right-hand buttons left the screen. Long lines
	// scroll sideways instead, and the status takes the height that is left
	// (twelve ledger rows made the window grow past 900 px): it scrolls.
	body := container.NewBorder(nil, nil, controls, nil,
		container.NewBorder(container.NewVBox(devices, widget.NewSeparator()), nil, nil, nil, container.NewScroll(status)))
	p.root.Objects = []fyne.CanvasObject{canvas.NewRectangle(colBackground), container.NewPadded(body)}
	p.root.Refresh()
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
