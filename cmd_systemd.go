package main

// systemd integration of "exitlane run": the log handler (with the
// journal's priority prefixes when stderr is the journal) and the
// notifications of a Type=notify unit (internal/sdnotify).

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/exitlane/exitlane/internal/journal"
	"github.com/exitlane/exitlane/internal/sdnotify"
	"github.com/exitlane/exitlane/lane"
)

// runLogHandler is the lane's log handler on stderr: JSON lines or text,
// each line prefixed with its syslog priority (<3> error ... <7> debug)
// when stderr is the journal's stream, so journalctl -p filters by level.
func runLogHandler(stderr io.Writer, json bool, level slog.Level) slog.Handler {
	mk := func(w io.Writer) slog.Handler {
		if json {
			return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
		}
		return slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})
	}
	if f, ok := stderr.(*os.File); ok && journal.IsJournal(f) {
		return journal.Handler(stderr, mk)
	}
	return mk(stderr)
}

// notifySystemd tells systemd (Type=notify, exitlane-lane.service) that
// the lane runs once its runner's loop answers, feeds the watchdog from
// that loop, and says STOPPING=1 when ctx ends. Not under systemd: nothing.
func notifySystemd(ctx context.Context, r *lane.Runner, logger *slog.Logger) {
	go sdnotify.Serve(ctx, r.Ping, logger)
}
