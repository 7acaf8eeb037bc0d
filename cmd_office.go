package main

// "exitlane office": the site's office server over the site store. For
// now it serves PayBy's one notification endpoint for every lane (each
// notification verified, recorded in the store and announced to the lane
// waiting for it), with /metrics, /healthz and /readyz; the web console
// is to come.

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/office"
)

func runOffice(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("office", stderr)
	cfgPath := fs.String("config", "", "the site's TOML config `file` (site.toml: [site], [site_store], [office], [metrics], [log])")
	level := fs.String("log-level", "", "debug, info, warn or error (default: [log] level)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane office --config site.toml [--log-level L]\n\nServes PayBy's notification endpoint for every lane of the site: each\nnotification is verified on its raw body, recorded in the site store and\nannounced to the lane waiting for the order (LISTEN/NOTIFY). Also serves\n/metrics, /healthz and /readyz. SIGINT or SIGTERM stop it.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	if *cfgPath == "" {
		fmt.Fprintln(stderr, "exitlane: --config FILE is required")
		return exitUsage
	}
	cfg, err := config.Load(*cfgPath, config.ForOffice())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	lvl := cfg.Log.Level
	if *level != "" {
		lvl = *level
	}
	var sl slog.Level
	if err := sl.UnmarshalText([]byte(strings.ToUpper(lvl))); err != nil {
		fmt.Fprintf(stderr, "exitlane office: log level %q: %v\n", lvl, err)
		return exitUsage
	}
	var logger *slog.Logger
	if cfg.Log.Format == "json" {
		logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: sl}))
	} else {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: sl}))
	}
	logger = logger.With("site", cfg.Site.ID)

	ctx, cancel := signalContext()
	defer cancel()
	srv, err := office.Open(ctx, cfg, office.Options{Logger: logger})
	if err != nil {
		logger.Error("office did not start", "err", err)
		fmt.Fprintf(stderr, "exitlane office: %v\n", err)
		return exitFailure
	}
	defer srv.Close()
	if err := srv.Run(ctx); err != nil {
		logger.Error("office", "err", err)
		return exitFailure
	}
	return exitOK
}
