package main

// The display side of "exitlane run" and "exitlane sim": the Fyne app,
// the kiosk window (driver screens and attendant admin) and, in
// simulation, the developer panel. Only this file, cmd_sim.go and the ui
// package use Fyne.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ui"
)

// displayOptions are the differences between production and simulation.
type displayOptions struct {
	// Fullscreen: no window decorations, the whole screen.
	Fullscreen bool
	// Production: the driver cannot close the window.
	Production bool
	// Size of the kiosk window when not fullscreen.
	Size fyne.Size
	// Lang is the driver screens' default language.
	Lang string
	// Sim, if set, shows the developer simulation panel: beside the kiosk
	// in one window (the default), or in a second window with Windows 2.
	Sim ui.SimControls
	// Windows is 2 for the panel in a window of its own (the old layout:
	// without a window manager the kiosk window then covers it); 0 or 1:
	// one window, the kiosk at Size and the panel beside it.
	Windows int
	// Lanes are the lanes whose kiosks the display can show (exitlane sim
	// --lanes N), the lane given to runDisplay first; the panel's lane
	// chooser picks the one shown. Empty: that lane alone.
	Lanes []kioskLane
	// OnReady is called on the Fyne goroutine once the windows show.
	OnReady func(a fyne.App, st *ui.Station, panel *ui.SimPanel)
	// Badges, if set, is the lane's scan filter (station.Options.ScanFilter):
	// while the kiosk shows, an attendant's badge scanned at the lane opens
	// the PIN pad instead of reaching the lane as a ticket.
	Badges *badgeHook
	// Started is when the command started, for the start-up figure.
	Started time.Time
	// Site is the site store's status for the admin's status tab (the
	// station; nil: no site store section).
	Site ui.SiteStatus
}

// kioskLane is one lane the display can show the kiosk of.
type kioskLane struct {
	ID     string
	Config *config.Config
	Runner *lane.Runner
	// Site is the lane's site store status for its admin's status tab
	// (nil: no site store section).
	Site ui.SiteStatus
}

// badgeHook is the lane's scan filter for the display. The lane is opened
// first (the display needs its runner), so the kiosk installs its badge
// check once it exists; until then, and after it closed, no code is held
// back.
type badgeHook struct {
	f atomic.Pointer[func(code string) bool]
}

// scan is the station's ScanFilter.
func (b *badgeHook) scan(code string) bool {
	f := b.f.Load()
	return f != nil && (*f)(code)
}

// set installs f (nil removes it).
func (b *badgeHook) set(f func(code string) bool) {
	if f == nil {
		b.f.Store(nil)
		return
	}
	b.f.Store(&f)
}

// gateFromConfig builds the admin gate from [admin].
func gateFromConfig(cfg *config.Config, audit ui.AuditFunc) *ui.Gate {
	var atts []ui.Attendant
	for _, a := range cfg.Admin.Attendants {
		name := a.Name
		if name == "" {
			name = a.ID
		}
		atts = append(atts, ui.Attendant{ID: a.ID, Name: name, PINHash: a.PINHash, Badge: a.Badge})
	}
	return ui.NewGate(atts, ui.GatePolicy{
		MaxAttempts: cfg.Admin.LockoutAttempts,
		Lockout:     cfg.Admin.Lockout,
		Idle:        cfg.Admin.IdleTimeout,
	}, audit)
}

// auditLedger records admin events (PIN attempts, log-ins, lockouts) in
// the ledger's audit trail with the attendant's id, and in the log. The
// write is synchronous and short, so the trail keeps the order of events.
func auditLedger(r *lane.Runner, logger *slog.Logger) ui.AuditFunc {
	return func(attendant, event, detail string) {
		logger.Info("admin audit", "attendant", attendant, "event", event, "detail", detail)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := r.Audit(ctx, attendant, event, detail); err != nil {
			logger.Error("admin audit not recorded", "attendant", attendant, "event", event, "err", err)
		}
	}
}

// runDisplay runs the kiosk (and the simulation panel) on a started lane
// until ctx ends. It must run on the main goroutine (GLFW).
// Callers check haveDisplay before they start the lane.
func runDisplay(ctx context.Context, cfg *config.Config, logger *slog.Logger, r *lane.Runner, o displayOptions) error {
	a := app.NewWithID("com.exitlane.kiosk")
	a.Settings().SetTheme(ui.NewTheme())
	log := logger.With("component", "ui")

	lanes := o.Lanes
	if len(lanes) == 0 {
		lanes = []kioskLane{{ID: cfg.Site.Lane, Config: cfg, Runner: r, Site: o.Site}}
	}
	// A station (kiosk and admin) per lane; the first is shown, and the
	// simulation panel's lane chooser shows another.
	stations := make(map[string]*ui.Station, len(lanes))
	for _, l := range lanes {
		c := l.Config
		stations[l.ID] = ui.NewStation(l.Runner, gateFromConfig(c, auditLedger(l.Runner, log.With("lane", l.ID))),
			ui.KioskOptions{Lang: o.Lang, Location: c.Site.Location, SiteName: c.Site.Name, SiteNameAr: c.Site.NameAr, Logger: log,
				Panel: ui.Panel{DiagonalInches: float32(c.Display.DiagonalInches), DPI: float32(c.Display.DPI)}},
			ui.AdminOptions{Reasons: c.Admin.Reasons, Location: c.Site.Location, Logger: log, Tariff: c.Tariff.Describe(), Site: l.Site})
	}
	st := stations[lanes[0].ID]
	// An attendant's badge scanned at the lane opens the PIN pad instead
	// of reaching the lane as a ticket.
	if o.Badges != nil {
		o.Badges.set(st.IsBadge)
		defer o.Badges.set(nil)
	}
	title := func(id string) string { return fmt.Sprintf("exitlane %s %s", cfg.Site.ID, id) }
	w := a.NewWindow(title(lanes[0].ID))
	w.SetPadded(false)
	if o.Production {
		// The driver cannot close the kiosk; stopping is for SIGTERM.
		w.SetCloseIntercept(func() { log.Warn("window close request ignored") })
	} else {
		w.SetCloseIntercept(func() { a.Quit() })
	}
	size := o.Size
	if size.IsZero() {
		size = fyne.NewSize(1280, 720)
	}

	var panel *ui.SimPanel
	var showKiosk func(id string)
	switch {
	case o.Sim == nil:
		w.SetContent(st.Content())
	case o.Windows == 2:
		w.SetContent(st.Content())
		panel = ui.NewSimPanel(o.Sim, log)
		pw := a.NewWindow("exitlane simulation")
		pw.SetContent(panel.Content())
		pw.Resize(fyne.NewSize(ui.SimPanelMaxWidth, 900))
		pw.SetCloseIntercept(func() { a.Quit() })
		pw.Show()
		showKiosk = func(id string) { w.SetContent(stations[id].Content()) }
	default:
		// One window: the kiosk at its size, the panel beside it, so that
		// nothing hides anything without a window manager.
		panel = ui.NewSimPanel(o.Sim, log)
		sw := ui.NewSimWindow(st.Content(), panel)
		w.SetContent(sw.Content())
		size = sw.Size(size)
		showKiosk = func(id string) { sw.ShowKiosk(stations[id].Content()) }
	}
	if panel != nil {
		panel.OnLane(func(id string) {
			if stations[id] == nil {
				return
			}
			showKiosk(id)
			w.SetTitle(title(id))
		})
	}
	if o.Fullscreen {
		w.SetFullScreen(true)
	} else {
		w.Resize(size)
		w.SetFixedSize(true)
	}

	for i, l := range lanes {
		ls := stations[l.ID]
		ch, unsubscribe := l.Runner.Subscribe()
		defer unsubscribe()
		show := func(s lane.Snapshot) {
			ls.Show(s)
			if i == 0 && panel != nil {
				panel.Show(s)
			}
		}
		show(l.Runner.Snapshot())
		go func() {
			for {
				select {
				case <-ctx.Done():
					if i == 0 {
						fyne.Do(a.Quit)
					}
					return
				case s, ok := <-ch:
					if !ok {
						return
					}
					fyne.Do(func() { show(s) })
				}
			}
		}()
	}
	a.Lifecycle().SetOnStarted(func() {
		log.Info("kiosk shown", "since_process_start_ms", time.Since(o.Started).Milliseconds())
		if o.OnReady != nil {
			o.OnReady(a, st, panel)
		}
	})
	w.ShowAndRun()
	for _, s := range stations {
		s.Close()
	}
	if panel != nil {
		panel.Close()
	}
	return nil
}

// errNoDisplay is returned instead of letting GLFW panic when there is no
// X server (or Wayland compositor) to open the kiosk window on.
var errNoDisplay = errors.New("no display: DISPLAY is not set (run on the kiosk's X session, under xvfb-run, or with --headless)")

func haveDisplay() error {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return errNoDisplay
	}
	return nil
}
