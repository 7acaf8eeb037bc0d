// Command exitlane runs a parking-garage exit lane: it reads a ticket from a
// serial scanner, prices the stay, shows a PayBy DYNQR code, and pulses a
// relay board to lift the barrier once the order is paid.
//
// This package is the command line only: each command parses its flags in
// its own cmd_*.go file, then opens a lane with package station ("run"),
// the simulated world of package sim ("sim"), or runs a tool. display.go
// puts the kiosk (package ui) on a running lane.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/internal/localefix"
)

// Every package, Fyne's included, has initialised: put back the locale
// that localefix spelled "C" for Fyne's init (see package localefix).
func init() { localefix.Restore() }

// Exit codes, the same for every subcommand.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// command is one subcommand: "exitlane <name> args...".
type command struct {
	name    string
	summary string
	// run gets the arguments after the name and returns an exit code.
	run func(args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands are exitlane's subcommands.
func commands() map[string]command {
	cs := map[string]command{}
	for _, c := range []command{
		{name: "run", summary: "run the exit lane (--headless: no display, JSON-lines logs)", run: runRun},
		{name: "sim", summary: "the whole lane in simulation: sandbox PayBy, pty devices, kiosk and simulation panel", run: runSim},
		{name: "fee", summary: "price a stay with the configured tariff", run: runFee},
		{name: "ticket", summary: "issue or check ticket codes", run: runTicket},
		{name: "tariff", summary: "show the tariff's calendar", run: runTariff},
		{name: "report", summary: "shift, day, unresolved and order reports (lane or site)", run: runReport},
		{name: "version", summary: "print the version, commit and build date", run: runVersion},
		{name: "config", summary: "check a config file", run: runConfig},
		{name: "store", summary: "the site store shared by a site's lanes (migrate, status)", run: runStore},
		{name: "office", summary: "the site's office server: PayBy's notification endpoint for every lane, metrics and health", run: runOffice},
		{name: "payby", summary: "PayBy sandbox, merchant keys, and order tools", run: runPayBy},
		{name: "devices", summary: "list serial ports with USB ids (for commissioning)", run: runDevices},
		{name: "relay", summary: "pulse, read or emulate the barrier relay board", run: runRelay},
		{name: "scanner", summary: "read from or emulate the barcode scanner", run: runScanner},
		{name: "ledger", summary: "the lane's ledger: backup (while the lane runs), check", run: runLedger},
		{name: "admin", summary: "attendant tools (add-attendant: make a PIN hash)", run: runAdmin},
	} {
		cs[c.name] = c
	}
	return cs
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cs := commands()
	if len(args) == 0 {
		usage(stderr, cs)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout, cs)
		return exitOK
	}
	c, ok := cs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "exitlane: unknown command %q\n\n", args[0])
		usage(stderr, cs)
		return exitUsage
	}
	return c.run(args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer, cs map[string]command) {
	fmt.Fprintln(w, "usage: exitlane <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	for _, n := range keys(cs) {
		fmt.Fprintf(w, "  %-10s %s\n", n, cs[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'exitlane <command> --help' for the flags of a command.")
}

// subcommands dispatches a command that has its own subcommands
// ("exitlane ticket issue ..."). subs maps each name to its runner.
func subcommands(prefix string, subs map[string]command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		code := exitOK
		if len(args) == 0 {
			w, code = stderr, exitUsage
		}
		fmt.Fprintf(w, "usage: exitlane %s <command> [flags]\n\ncommands:\n", prefix)
		for _, n := range keys(subs) {
			fmt.Fprintf(w, "  %-10s %s\n", n, subs[n].summary)
		}
		return code
	}
	c, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "exitlane %s: unknown command %q (one of: %s)\n", prefix, args[0], strings.Join(keys(subs), ", "))
		return exitUsage
	}
	return c.run(args[1:], stdin, stdout, stderr)
}

func keys(m map[string]command) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// newFlags makes a flag set for "exitlane <name>" that reports errors to
// stderr instead of exiting, so every command keeps the exit-code contract.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("exitlane "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args into fs. It returns done=true with the exit code
// to return when the caller should stop: 0 after --help, 2 on a usage error.
func parseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, true
		}
		return exitUsage, true
	}
	return exitOK, false
}

// parseNoArgs is parseFlags for a command that takes no positional
// arguments: one is a usage error (a mistyped flag, or a value with a
// space in it, must not be silently ignored).
func parseNoArgs(fs *flag.FlagSet, args []string) (code int, done bool) {
	if code, done := parseFlags(fs, args); done {
		return code, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q: this command takes flags only\n", fs.Name(), fs.Arg(0))
		fs.Usage()
		return exitUsage, true
	}
	return exitOK, false
}

// durationValue is a duration flag written as in the config file
// (config.ParseDuration): with its unit, never negative. A bad value is a
// usage error, like any flag that does not parse.
type durationValue time.Duration

func (d *durationValue) String() string { return time.Duration(*d).String() }

func (d *durationValue) Set(s string) error {
	v, err := config.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// durationFlag defines a durationValue flag with a default.
func durationFlag(fs *flag.FlagSet, name string, value time.Duration, usage string) *time.Duration {
	p := new(time.Duration)
	durationVar(fs, p, name, value, usage)
	return p
}

// durationVar defines a durationValue flag stored in p.
func durationVar(fs *flag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	*p = value
	fs.Var((*durationValue)(p), name, usage)
}

// flagSet reports which flags were given on the command line, so values
// from --config are only overridden by explicit flags.
func flagSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// loadConfig loads --config for a command, printing the problems. code
// is the exit code to return when c is nil. sections, if any, are the only
// ones the command uses (config.Sections); none: all.
func loadConfig(path string, stderr io.Writer, sections ...string) (c *config.Config, code int) {
	if path == "" {
		fmt.Fprintln(stderr, "exitlane: --config FILE is required")
		return nil, exitUsage
	}
	var opts []config.Option
	if len(sections) > 0 {
		opts = append(opts, config.Sections(sections...))
	}
	c, err := config.Load(path, opts...)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, exitFailure
	}
	return c, exitOK
}

// parseTime reads RFC 3339 or "2006-01-02 15:04" (and with seconds) in the
// site's zone.
func parseTime(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: write RFC 3339 (2026-03-02T10:00:00+04:00) or \"2006-01-02 15:04\" in the site's zone", s)
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
