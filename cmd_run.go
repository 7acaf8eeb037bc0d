package main

// "exitlane run": the lane itself, opened with package station from a
// config file. --headless runs it with no display, logging JSON lines, for
// service installs, soak tests and CI; otherwise display.go shows the
// kiosk on it.

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exitlane/exitlane/station"
)

func runRun(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	started := time.Now()
	fs := newFlags("run", stderr)
	cfgPath := fs.String("config", "", "the lane's TOML config `file` (required)")
	headless := fs.Bool("headless", false, "no display: log JSON lines to stderr")
	level := fs.String("log-level", "", "debug, info, warn or error (default: [log] level)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane run --config FILE [--headless] [--log-level L]\n\nRuns the lane: scanner, PayBy, relay, ledger. --headless runs it with no\ndisplay and logs JSON lines to stderr (service installs, soak tests, CI).\nSIGINT or SIGTERM stop it: a pulse in progress completes, the relay is\nswitched off, the ledger is closed; the process exits within 10 s whatever\nstill runs, naming it in the log (a second signal exits at once).")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	cfg, code := loadConfig(*cfgPath, stderr)
	if cfg == nil {
		return code
	}
	lvl := cfg.Log.Level
	if *level != "" {
		lvl = *level
	}
	var sl slog.Level
	if err := sl.UnmarshalText([]byte(strings.ToUpper(lvl))); err != nil {
		fmt.Fprintf(stderr, "exitlane run: log level %q: %v\n", lvl, err)
		return exitUsage
	}
	if !*headless {
		if err := haveDisplay(); err != nil {
			fmt.Fprintln(stderr, "exitlane run:", err)
			return exitFailure
		}
	}
	logger := slog.New(runLogHandler(stderr, *headless || cfg.Log.Format == "json", sl))
	logger = logger.With("site", cfg.Site.ID) // the station adds "lane"

	// SIGINT or SIGTERM end ctx; the process exits at most exitLimit
	// later, whatever still runs (stop.go).
	stop := stopOnSignal(logger, exitLimit)
	defer stop.release()
	ctx := stop.ctx
	badges := &badgeHook{}
	opts := station.Options{Logger: logger, Failpoint: failpointFromEnv(logger)}
	if !*headless {
		opts.ScanFilter = badges.scan
	}
	st, err := station.Open(ctx, cfg, opts)
	if err != nil {
		logger.Error("lane did not start", "err", err)
		fmt.Fprintf(stderr, "exitlane run: %v\n", err)
		return exitFailure
	}
	stop.lane(st.Running)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		st.Run(ctx)
	}()
	notifySystemd(ctx, st.Runner(), logger) // READY=1, watchdog, STOPPING=1
	// Close stops the lane within station.StopLimit: a pulse in progress
	// completes, the relay is switched off, the ledger is closed. Called
	// once, here or by stop.outlive when the display does not close.
	closeLane := sync.OnceValue(func() int {
		if err := st.Close(); err != nil {
			logger.Error("lane did not stop cleanly", "err", err)
			return exitFailure
		}
		return exitOK
	})
	code = exitOK
	if *headless {
		<-ctx.Done()
	} else {
		returned := make(chan struct{})
		go stop.outlive("display", stopped, returned, displayLimit, closeLane)
		done := stop.part("display")
		err = runDisplay(ctx, cfg, logger, st.Runner(), displayOptions{
			Fullscreen: true, Production: true, Lang: cfg.Lane.Language, Badges: badges, Started: started, Site: st,
		})
		close(returned)
		done()
		if err != nil {
			logger.Error("display", "err", err)
			code = exitFailure
		}
	}
	if c := closeLane(); c != exitOK {
		return c
	}
	return code
}

// failpointFromEnv reads EXITLANE_FAILPOINT ("write:exit" or
// "write:exit@2": the second time) for the crash test: at that step the
// process kills itself with SIGKILL, as a power cut or OOM kill would.
// Unset: nil.
func failpointFromEnv(logger *slog.Logger) func(string) {
	spec := os.Getenv("EXITLANE_FAILPOINT")
	if spec == "" {
		return nil
	}
	name, nth := spec, 1
	if n, c, ok := strings.Cut(spec, "@"); ok {
		name = n
		if v, err := strconv.Atoi(c); err == nil && v > 0 {
			nth = v
		}
	}
	logger.Warn("failpoint armed: the process will SIGKILL itself", "failpoint", name, "nth", nth)
	var hits atomic.Int64
	return func(at string) {
		if at != name || hits.Add(1) != int64(nth) {
			return
		}
		logger.Warn("failpoint reached: SIGKILL", "failpoint", at)
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
}
