package main

// "exitlane sim": the whole lane with no config and no hardware. The
// simulated world of package sim (a PayBy sandbox on loopback, or on
// --listen so a phone on the LAN can pay; pty emulators of the scanner and
// the relay board; a fresh ledger in a temporary directory, or --data)
// with its lane, and one window: the kiosk with the developer simulation
// panel beside it (--windows 2: the panel in a window of its own). With
// --lanes N, N lanes of one site share the sandbox and a PostgreSQL site
// store (--store URL, or a cluster the simulation starts in its data
// directory); each lane has its own pty devices and ledger, and the
// panel's lane chooser picks the lane its controls act at and whose kiosk
// the window shows.

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"

	"github.com/exitlane/exitlane/sim"
	"github.com/exitlane/exitlane/station"
	"github.com/exitlane/exitlane/ui"
)

func runSim(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	started := time.Now()
	fs := newFlags("sim", stderr)
	data := fs.String("data", "", "keep the ledger, keys and sandbox orders in `DIR` (default: a temporary directory, removed at exit)")
	listen := fs.String("listen", "127.0.0.1:0", "`address` of the PayBy sandbox; a LAN address (e.g. 0.0.0.0:8480) lets a phone open the checkout")
	size := fs.String("size", "1280x720", "the kiosk's `WxH` (1920x1080, 1080x1920, 800x480...); the panel is beside it, about 530 px wide")
	windows := fs.Int("windows", 1, "1: the kiosk and the simulation panel side by side in one window; 2: the panel in a second window (it opens over the kiosk without a window manager)")
	full := fs.Bool("fullscreen", false, "kiosk window fullscreen")
	lang := fs.String("lang", "en", "default language of the driver screens: en or ar")
	headless := fs.Bool("headless", false, "no windows: run the simulated lane and log (for soak tests)")
	noPanel := fs.Bool("no-panel", false, "only the kiosk window, no simulation panel (measurements, demos on one screen)")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	lanes := fs.Int("lanes", 1, fmt.Sprintf("`N` lanes (X1..XN, at most %d) of one site, sharing the sandbox and a PostgreSQL site store", sim.MaxLanes))
	store := fs.String("store", "", "the site store's PostgreSQL `URL` (default with --lanes > 1: a cluster started in the data directory, stopped at exit)")
	printer := fs.Int("printer", 0, "add a receipt printer emulator of paper `WIDTH` 58 or 80 mm to every lane (a VAT-registered site; receipts saved as receipt-NNN.txt/.png in the data directory); 0: none")
	autoPrint := fs.Bool("auto-print", true, "with --printer, print every paid exit's receipt (false: only when the driver asks)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane sim [--lanes N] [--store URL] [--data DIR] [--listen ADDR] [--size WxH] [--windows 1|2] [--fullscreen] [--lang en|ar] [--headless] [--printer 58|80]")
		fmt.Fprintln(fs.Output(), "\nRuns everything with no config and no hardware: the PayBy sandbox, pty scanner and\nrelay emulators, a fresh ledger, and one window: the kiosk with the simulation panel beside it.\nThe attendant admin (long press on the kiosk's top-left corner) accepts attendant\n\""+sim.Attendant+"\" with PIN "+sim.PIN+".")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	var w, h float32
	if _, err := fmt.Sscanf(*size, "%fx%f", &w, &h); err != nil || w < 320 || h < 240 {
		fmt.Fprintf(stderr, "exitlane sim: --size %q: want WxH, e.g. 1920x1080\n", *size)
		return exitUsage
	}
	if *windows != 1 && *windows != 2 {
		fmt.Fprintf(stderr, "exitlane sim: --windows %d: 1 or 2\n", *windows)
		return exitUsage
	}
	if *lanes < 1 || *lanes > sim.MaxLanes {
		fmt.Fprintf(stderr, "exitlane sim: --lanes %d: between 1 and %d\n", *lanes, sim.MaxLanes)
		return exitUsage
	}
	if *printer != 0 && *printer != 58 && *printer != 80 {
		fmt.Fprintf(stderr, "exitlane sim: --printer %d: 58 or 80 (mm), or 0 for none\n", *printer)
		return exitUsage
	}
	if *lang != ui.LangEnglish && *lang != ui.LangArabic {
		fmt.Fprintf(stderr, "exitlane sim: --lang %q: en or ar\n", *lang)
		return exitUsage
	}
	var sl slog.Level
	if err := sl.UnmarshalText([]byte(strings.ToUpper(*level))); err != nil {
		fmt.Fprintf(stderr, "exitlane sim: --log-level %q: %v\n", *level, err)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: sl}))
	if !*headless {
		if err := haveDisplay(); err != nil {
			fmt.Fprintln(stderr, "exitlane sim:", err)
			return exitFailure
		}
	}

	// SIGINT or SIGTERM end ctx; the process exits at most exitLimit
	// later, whatever still runs (stop.go).
	stop := stopOnSignal(logger, exitLimit)
	defer stop.release()
	ctx := stop.ctx
	world, err := sim.NewWorld(sim.WorldOptions{Dir: *data, Listen: *listen, Logger: logger, Lanes: *lanes, StoreURL: *store,
		Printer: *printer, AutoPrint: *autoPrint})
	if err != nil {
		fmt.Fprintf(stderr, "exitlane sim: %v\n", err)
		return exitFailure
	}
	// The lanes first (within station.StopLimit), then the store's
	// cluster, the sandbox and the devices. Called once, at return or by
	// stop.outlive when the display does not close.
	closeWorld := sync.OnceValue(func() int {
		if err := world.Close(); err != nil {
			logger.Error("lane did not stop cleanly", "err", err)
			return exitFailure
		}
		return exitOK
	})
	defer closeWorld()
	stop.lane(world.Running)
	badges := &badgeHook{}
	opts := station.Options{Logger: logger, Failpoint: failpointFromEnv(logger)}
	if !*headless {
		opts.ScanFilter = badges.scan
	}
	if err := world.Open(ctx, opts); err != nil {
		fmt.Fprintf(stderr, "exitlane sim: %v\n", err)
		return exitFailure
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		world.Run(ctx)
	}()
	fmt.Fprintf(stdout, "exitlane sim: data in %s\n", world.Dir())
	fmt.Fprintf(stdout, "PayBy sandbox: %s (orders and checkout links on its front page)\n", world.SandboxURL())
	for _, l := range world.Lanes() {
		fmt.Fprintf(stdout, "lane %s: scanner pty: %s  relay pty: %s (lcus)  ledger: %s\n", l.ID(), l.Scanner().Path(), l.Relay().Path(), l.Config().Ledger.Path)
		if p := l.Printer(); p != nil {
			fmt.Fprintf(stdout, "lane %s: printer pty: %s (%d mm); receipts in %s\n", l.ID(), p.Path(), p.Width(), world.Dir())
		}
	}
	if c := world.StoreCluster(); c != nil {
		fmt.Fprintf(stdout, "site store: PostgreSQL in %s on 127.0.0.1:%d, %s (stopped at exit)\n", c.Dir(), c.Port(), world.StoreURL())
	} else if world.StoreURL() != "" {
		fmt.Fprintf(stdout, "site store: %s\n", redactURL(world.StoreURL()))
	}
	fmt.Fprintf(stdout, "attendant admin: long press the kiosk's top-left corner; attendant %q, PIN %s\n", sim.Attendant, sim.PIN)
	go world.PrintCheckouts(ctx, stdout)

	if *headless {
		<-ctx.Done()
		return closeWorld()
	}
	var ctl ui.SimControls = world
	if *noPanel {
		ctl = nil
	}
	r := world.Runner()
	var kiosks []kioskLane
	for _, l := range world.Lanes() {
		k := kioskLane{ID: l.ID(), Config: l.Config(), Runner: l.Runner()}
		if world.StoreURL() != "" {
			k.Site = l.Station() // the store's health and incidents on the admin's status tab
		}
		kiosks = append(kiosks, k)
	}
	returned := make(chan struct{})
	go stop.outlive("display", stopped, returned, displayLimit, closeWorld)
	done := stop.part("display")
	err = runDisplay(ctx, world.Config(), logger, r, displayOptions{
		Fullscreen: *full, Size: fyne.NewSize(w, h), Lang: *lang, Sim: ctl, Windows: *windows, Lanes: kiosks, Badges: badges, Started: started,
		OnReady: func(_ fyne.App, _ *ui.Station, panel *ui.SimPanel) {
			if panel == nil {
				return
			}
			// Relay frames arrive between snapshots: redraw on each.
			world.OnRelayFrame(func() {
				s := r.Snapshot()
				fyne.Do(func() { panel.Show(s) })
			})
			// The panel shows every lane: redraw when another changes too.
			for _, l := range world.Lanes()[1:] {
				ch, unsubscribe := l.Runner().Subscribe()
				go func() {
					defer unsubscribe()
					for {
						select {
						case <-ctx.Done():
							return
						case _, ok := <-ch:
							if !ok {
								return
							}
							s := r.Snapshot()
							fyne.Do(func() { panel.Show(s) })
						}
					}
				}()
			}
		},
	})
	close(returned)
	done()
	world.OnRelayFrame(nil)
	if err != nil {
		fmt.Fprintf(stderr, "exitlane sim: %v\n", err)
		return exitFailure
	}
	return closeWorld()
}

// redactURL hides a password in a connection URL.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(a URL that does not parse)"
	}
	return u.Redacted()
}
