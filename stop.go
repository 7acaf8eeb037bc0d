package main

// How "exitlane run" and "exitlane sim" stop: the first SIGINT or SIGTERM
// ends the command's context, and the lane stops in order (station's
// stop: a pulse in progress completes, the relay is switched off, the
// ledger is closed) within station.StopLimit. Whatever does not stop is
// not waited for beyond exitLimit after the signal: the process logs what
// was still running and exits, so a hang (a device stuck in a write, the
// display) can never keep a service or a test waiting. A second signal
// exits at once.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/exitlane/exitlane/station"
)

// exitLimit is the documented limit (README, docs/lane.md): the process
// has exited at most this long after SIGINT or SIGTERM.
const exitLimit = station.StopLimit + 2*time.Second

// stopper turns SIGINT and SIGTERM into the end of a context, then bounds
// what follows.
type stopper struct {
	ctx    context.Context
	cancel context.CancelFunc
	log    *slog.Logger
	limit  time.Duration
	sigs   chan os.Signal
	ended  chan struct{} // closed by release: the command returned
	exit   func(code int)
	stacks io.Writer // where giveUp writes every goroutine's stack (stderr)

	mu      sync.Mutex
	parts   map[string]bool // the command's own parts still running ("display")
	running func() []string // the lane's (station.Station.Running)
}

// stopOnSignal starts watching for SIGINT and SIGTERM. The command runs
// until s.ctx ends and calls s.release before it returns.
func stopOnSignal(log *slog.Logger, limit time.Duration) *stopper {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stopper{ctx: ctx, cancel: cancel, log: log, limit: limit,
		sigs: make(chan os.Signal, 2), ended: make(chan struct{}), exit: os.Exit, stacks: os.Stderr, parts: map[string]bool{}}
	signal.Notify(s.sigs, os.Interrupt, syscall.SIGTERM)
	go s.watch()
	return s
}

// watch waits for the first signal, ends ctx, and from then on exits the
// process after the limit or on a second signal, unless the command
// returned first.
func (s *stopper) watch() {
	var sig os.Signal
	select {
	case sig = <-s.sigs:
	case <-s.ended:
		return
	}
	s.log.Info("stopping on signal", "signal", sig.String(), "limit", s.limit.String())
	s.cancel()
	t := time.NewTimer(s.limit)
	defer t.Stop()
	select {
	case <-s.ended:
	case sig = <-s.sigs:
		s.giveUp("second signal: exiting now", "signal", sig.String())
	case <-t.C:
		s.giveUp("stop limit passed: exiting anyway", "limit", s.limit.String())
	}
}

// displayLimit is how long the display may take to close once the lane
// has stopped. Fyne's ShowAndRun has been seen not to return after a
// quit on a loaded machine (fyne-io/fyne#6021; once in CI here, the lane
// stopped and the window stuck): the display holds nothing the ledger
// does not, so past this limit the command finishes its stop without it.
const displayLimit = 2 * time.Second

// outlive finishes the command without the part name (the display) when
// it has not returned limit after the command's context ended and
// stopped closed (the lane has stopped): it logs a warning and every
// goroutine's stack (where the part is stuck), runs finish (the rest of
// the command's stop: the ledger closed, the simulation's servers
// stopped) and exits with finish's code. returned closing first ends the
// watch; so does release. finish may also be called by the command
// itself: it must be safe to call twice (sync.OnceValue).
func (s *stopper) outlive(name string, stopped, returned <-chan struct{}, limit time.Duration, finish func() int) {
	for _, ch := range []<-chan struct{}{s.ctx.Done(), stopped} {
		select {
		case <-ch:
		case <-returned:
			return
		case <-s.ended:
			return
		}
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-returned:
		return
	case <-s.ended:
		return
	case <-t.C:
	}
	s.log.Warn(name+" did not close; finishing the stop without it", "limit", limit.String())
	s.writeStacks()
	s.exit(finish())
}

// writeStacks writes every goroutine's stack, as SIGQUIT would print it.
func (s *stopper) writeStacks() {
	if s.stacks == nil {
		return
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	fmt.Fprintf(s.stacks, "goroutines still running at exit:\n%s\n", buf)
}

// giveUp logs what is still running, writes every goroutine's stack
// (what a hang is stuck in, as SIGQUIT would print it) and exits the
// process with status 1.
func (s *stopper) giveUp(msg string, attrs ...any) {
	attrs = append(attrs, "still_running", s.stillRunning(), "goroutines", runtime.NumGoroutine())
	logged := make(chan struct{})
	go func() {
		s.log.Error(msg, attrs...)
		s.writeStacks()
		close(logged)
	}()
	select {
	case <-logged:
	case <-time.After(time.Second): // a log writer that blocks must not keep the process
	}
	s.exit(exitFailure)
}

// lane names the function that lists the lane's parts still running.
func (s *stopper) lane(running func() []string) {
	s.mu.Lock()
	s.running = running
	s.mu.Unlock()
}

// part counts name among the command's parts until the returned function
// is called.
func (s *stopper) part(name string) (done func()) {
	s.mu.Lock()
	s.parts[name] = true
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.parts, name)
		s.mu.Unlock()
	}
}

// stillRunning names the command's and the lane's parts still running.
func (s *stopper) stillRunning() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for name := range s.parts {
		out = append(out, name)
	}
	slices.Sort(out)
	if s.running != nil {
		for _, name := range s.running() {
			out = append(out, "lane: "+name)
		}
	}
	if out == nil {
		out = []string{} // logged as [], not null
	}
	return out
}

// release ends the watch (the command is returning) and stops catching
// the signals.
func (s *stopper) release() {
	signal.Stop(s.sigs)
	select {
	case <-s.ended:
	default:
		close(s.ended)
	}
	s.cancel()
}
