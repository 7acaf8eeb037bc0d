package main

// "exitlane run": the lane itself. --headless runs it with no display,
// logging JSON lines, for service installs, soak tests and CI. The
// display runner is plugged in by the UI (see displayRun).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
)

func init() {
	register(command{name: "run", summary: "run the exit lane (--headless: no display, JSON-lines logs)", run: runRun})
}

// displayRun, when set (by the UI's own file, from its init), runs the
// kiosk and admin screens on a started lane until ctx ends or the window
// closes. Without it, "run" needs --headless.
var displayRun func(ctx context.Context, cfg *config.Config, logger *slog.Logger, r *lane.Runner) error

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", stderr)
	cfgPath := fs.String("config", "", "the lane's TOML config `file` (required)")
	headless := fs.Bool("headless", false, "no display: log JSON lines to stderr")
	level := fs.String("log-level", "", "debug, info, warn or error (default: [log] level)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane run --config FILE [--headless] [--log-level L]\n\nRuns the lane: scanner, PayBy, relay, ledger. --headless runs it with no\ndisplay and logs JSON lines to stderr (service installs, soak tests, CI).\nSIGINT or SIGTERM stop it cleanly; a pulse in progress completes.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
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
	if !*headless && displayRun == nil {
		fmt.Fprintln(stderr, "exitlane run: this build has no display runner; use --headless")
		return exitUsage
	}
	if !*headless {
		if err := haveDisplay(); err != nil {
			fmt.Fprintln(stderr, "exitlane run:", err)
			return exitFailure
		}
	}
	var logger *slog.Logger
	if *headless || cfg.Log.Format == "json" {
		logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: sl}))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: sl}))
	}
	logger = logger.With("site", cfg.Site.ID) // startLane adds "lane"

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	r, stop, err := startLane(ctx, cfg, logger)
	if err != nil {
		logger.Error("lane did not start", "err", err)
		fmt.Fprintf(stderr, "exitlane run: %v\n", err)
		return exitFailure
	}
	defer stop()
	if !*headless {
		if err := displayRun(ctx, cfg, logger, r); err != nil {
			logger.Error("display", "err", err)
			return exitFailure
		}
		return exitOK
	}
	<-ctx.Done()
	logger.Info("stopping on signal")
	return exitOK
}
