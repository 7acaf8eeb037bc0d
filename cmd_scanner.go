package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exitlane/exitlane/scanner"
	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/sim"
	"github.com/exitlane/exitlane/ticket"
)

func runScanner(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("scanner", map[string]command{
		"read":    {name: "read", summary: "print each code read (and what was dropped, and why)", run: runScannerRead},
		"emulate": {name: "emulate", summary: "emulate a scanner on a pty; each stdin line is a scan", run: runScannerEmulate},
	}, args, stdin, stdout, stderr)
}

func runScannerRead(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("scanner read", stderr)
	cfgPath := fs.String("config", "", "take port, baud, parity, dedup from this config `file`'s [scanner]")
	port := fs.String("port", "", "serial `port` of the scanner (e.g. /dev/exitlane-scanner)")
	baud := fs.Int("baud", 9600, "baud rate")
	parity := fs.String("parity", "none", "parity: none, even, odd")
	dedup := durationFlag(fs, "dedup", ticket.DefaultDedup, "the same code again within this `duration` is one read (0: off)")
	count := fs.Int("count", 0, "stop after this many codes (0: run until Ctrl-C)")
	verbose := fs.Bool("v", false, "log duplicates and device events")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane scanner read --port P [--baud N] [--parity none|even|odd]\n\nPrints each code as the lane would read it, each dropped line with the\nreason, and the port going down and up, until Ctrl-C.")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	if *cfgPath != "" {
		c, code := loadConfig(*cfgPath, stderr)
		if c == nil {
			return code
		}
		set := flagSet(fs)
		s := c.Scanner
		if !set["port"] && s.Port != "" {
			*port = s.Port
		}
		if !set["baud"] && s.Baud != 0 {
			*baud = s.Baud
		}
		if !set["parity"] && s.Parity != "" {
			*parity = s.Parity
		}
		if !set["dedup"] && s.Dedup != 0 {
			*dedup = s.Dedup
		}
	}
	if *port == "" {
		fmt.Fprintln(stderr, "exitlane scanner read: --port (or --config) is required")
		return exitUsage
	}
	if *count < 0 {
		fmt.Fprintf(stderr, "exitlane scanner read: --count %d: a number of codes (0: until Ctrl-C)\n", *count)
		return exitUsage
	}
	pc := serialport.Config{Baud: *baud, Parity: *parity}
	if err := pc.Validate(); err != nil {
		fmt.Fprintln(stderr, "exitlane scanner read:", err)
		return exitUsage
	}
	d := *dedup
	if d == 0 {
		d = -1
	}
	sc := scanner.New(serialport.Opener(*port, pc), scanner.Options{Dedup: d, Logger: toolLogger(stderr, *verbose)})
	ctx, stop := signalContext()
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	codes := 0
	sc.Run(ctx, func(ev scanner.Event) {
		ts := ev.At.Format("15:04:05.000")
		switch ev.Kind {
		case scanner.Code:
			sym := ""
			if ev.Symbology != "" {
				sym = "  (symbology " + ev.Symbology + ")"
			}
			fmt.Fprintf(stdout, "%s  code     %s%s\n", ts, ev.Code, sym)
			codes++
			if *count > 0 && codes >= *count {
				cancel()
			}
		case scanner.Drop:
			fmt.Fprintf(stdout, "%s  dropped  %s, %d bytes: %s\n", ts, ev.Reason, ev.Len, ev.Sample)
		case scanner.Up:
			fmt.Fprintf(stdout, "%s  scanner up on %s\n", ts, *port)
		case scanner.Down:
			fmt.Fprintf(stdout, "%s  scanner down: %v (retrying)\n", ts, ev.Err)
		}
	})
	st := sc.Stats()
	fmt.Fprintf(stderr, "codes %d, duplicates %d, dropped %v\n", st.Codes, st.Duplicates, st.Drops)
	return exitOK
}

func runScannerEmulate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("scanner emulate", stderr)
	suffix := fs.String("suffix", "crlf", "line end sent after each code: crlf, cr, lf")
	aim := fs.String("aim", "", "AIM symbology identifier to send before each code, e.g. ]Q1")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: exitlane scanner emulate [--suffix crlf|cr|lf] [--aim ]Q1]

Creates a pseudo-terminal, prints its path, and sends each line typed on
stdin as a scan, until Ctrl-C. Point [scanner] port (or "exitlane scanner
read --port") at the printed path. Lines starting with "!" are commands:
  !noise    send line noise and an unterminated fragment
  !unplug   make the scanner vanish;  !replug  bring it back`)
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	ends := map[string]string{"crlf": "\r\n", "cr": "\r", "lf": "\n"}
	end, ok := ends[*suffix]
	if !ok {
		fmt.Fprintf(stderr, "exitlane scanner emulate: --suffix %q: one of crlf, cr, lf\n", *suffix)
		return exitUsage
	}
	s, err := sim.NewScanner(sim.ScannerOptions{Suffix: end, AIM: *aim})
	if err != nil {
		fmt.Fprintln(stderr, "exitlane scanner emulate:", err)
		return exitFailure
	}
	defer s.Close()
	fmt.Fprintf(stdout, "scanner emulated on %s\n", s.Path())
	ctx, stop := signalContext()
	defer stop()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return scannerConsole(ctx, s, lines, stdout)
}

// scannerConsole sends each line as a scan until ctx ends. When the lines
// end (stdin closed) the pty stays up until ctx ends, so a reader still
// gets what was sent.
func scannerConsole(ctx context.Context, s *sim.Scanner, lines <-chan string, stdout io.Writer) int {
	for {
		select {
		case <-ctx.Done():
			return exitOK
		case line, ok := <-lines:
			if !ok {
				lines = nil
				continue
			}
			var err error
			switch strings.TrimSpace(line) {
			case "":
				continue
			case "!noise":
				err = s.SendNoise()
			case "!unplug":
				s.Unplug()
			case "!replug":
				err = s.Replug()
			default:
				err = s.Send(line)
			}
			if err != nil {
				fmt.Fprintf(stdout, "%s  %v\n", time.Now().Format("15:04:05.000"), err)
			} else {
				fmt.Fprintf(stdout, "%s  sent %q\n", time.Now().Format("15:04:05.000"), line)
			}
		}
	}
}
