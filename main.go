// Command exitlane runs a parking-garage exit lane: it reads a ticket from a
// serial scanner, prices the stay, shows a PayBy DYNQR code, and pulses a
// relay board to lift the barrier once the order is paid.
//
// Each subcommand lives in a cmd_*.go file of this package and registers
// itself in commands; main only dispatches.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

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
	run func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

// register adds a subcommand; each cmd_*.go file calls it from init.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("exitlane: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "exitlane: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: exitlane <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'exitlane <command> --help' for the flags of a command.")
}

// subcommands dispatches a command that has its own subcommands
// ("exitlane ticket issue ..."). subs maps each name to its runner.
func subcommands(prefix string, subs map[string]command, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stdout
		code := exitOK
		if len(args) == 0 {
			w, code = stderr, exitUsage
		}
		fmt.Fprintf(w, "usage: exitlane %s <command> [flags]\n\ncommands:\n", prefix)
		names := make([]string, 0, len(subs))
		for n := range subs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "  %-10s %s\n", n, subs[n].summary)
		}
		return code
	}
	c, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "exitlane %s: unknown command %q (one of: %s)\n", prefix, args[0], strings.Join(keys(subs), ", "))
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
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
