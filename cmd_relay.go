package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/exitlane/exitlane/barrier"
	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/sim"
)

func runRelay(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("relay", map[string]command{
		"pulse":   {name: "pulse", summary: "send one barrier pulse (on, hold, off)", run: runRelayPulse},
		"state":   {name: "state", summary: "read relay states back (not LCUS)", run: runRelayState},
		"emulate": {name: "emulate", summary: "emulate a relay board on a pty and print every frame", run: runRelayEmulate},
	}, args, stdin, stdout, stderr)
}

// relayFlags are the flags shared by pulse and state; --config supplies
// defaults from [relay], explicit flags win.
type relayFlags struct {
	fs        *flag.FlagSet
	config    *string
	port      *string
	board     *string
	baud      *int
	channel   *int
	channels  *int
	pulse     *time.Duration
	activeLow *bool
	address   *int
	verbose   *bool
}

func newRelayFlags(name string, stderr io.Writer) *relayFlags {
	fs := newFlags("relay "+name, stderr)
	return &relayFlags{
		fs:        fs,
		config:    fs.String("config", "", "take port, board, baud, channel, pulse, active_low, address from this config `file`'s [relay]"),
		port:      fs.String("port", "", "serial `port` of the relay board (e.g. /dev/exitlane-relay)"),
		board:     fs.String("board", "lcus", "board family: "+strings.Join(barrier.Boards, ", ")),
		baud:      fs.Int("baud", 9600, "baud rate"),
		channel:   fs.Int("channel", 1, "relay channel, from 1"),
		channels:  fs.Int("channels", 0, "relays on the board (state reads 1..N; default: --channel only)"),
		pulse:     durationFlag(fs, "pulse", barrier.DefaultPulse, "contact closure `duration`, 100ms to 3s"),
		activeLow: fs.Bool("active-low", false, "the board closes the contact when the relay is switched off"),
		address:   fs.Int("address", 1, "Modbus slave address (modbus boards)"),
		verbose:   fs.Bool("v", false, "log every device event"),
	}
}

// resolve applies --config under the explicit flags and checks the port.
func (f *relayFlags) resolve(stderr io.Writer) (code int, ok bool) {
	if *f.config != "" {
		c, code := loadConfig(*f.config, stderr)
		if c == nil {
			return code, false
		}
		set := flagSet(f.fs)
		r := c.Relay
		if !set["port"] && r.Port != "" {
			*f.port = r.Port
		}
		if !set["board"] && r.Board != "" {
			*f.board = r.Board
		}
		if !set["baud"] && r.Baud != 0 {
			*f.baud = r.Baud
		}
		if !set["channel"] && r.Channel != 0 {
			*f.channel = r.Channel
		}
		if !set["pulse"] && r.Pulse != 0 {
			*f.pulse = r.Pulse
		}
		if !set["active-low"] {
			*f.activeLow = r.ActiveLow
		}
		if !set["address"] && r.Address != 0 {
			*f.address = r.Address
		}
	}
	if *f.port == "" {
		fmt.Fprintf(stderr, "%s: --port (or --config) is required\n", f.fs.Name())
		return exitUsage, false
	}
	if err := (serialport.Config{Baud: *f.baud}).Validate(); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", f.fs.Name(), err)
		return exitUsage, false
	}
	if *f.channels < 0 {
		fmt.Fprintf(stderr, "%s: --channels %d: a number of relays\n", f.fs.Name(), *f.channels)
		return exitUsage, false
	}
	return exitOK, true
}

// open builds the link and barrier for a one-shot command. The barrier
// switches its channel off when the port opens; state, which only reads,
// uses the link alone (see queryOnly).
func (f *relayFlags) open(stderr io.Writer) (*barrier.Barrier, *serialport.Link, error) {
	log := toolLogger(stderr, *f.verbose)
	link := serialport.NewLink(serialport.Opener(*f.port, serialport.Config{Baud: *f.baud}), serialport.Options{Name: "relay", Logger: log})
	b, err := barrier.New(link, barrier.Options{
		Board: *f.board, Channel: *f.channel, Channels: max(*f.channels, *f.channel),
		Pulse: *f.pulse, ActiveLow: *f.activeLow, Address: *f.address, Logger: log,
	})
	return b, link, err
}

// queryOnly builds a link with no barrier on it (so nothing is switched
// when the port opens) and the board driver. The settings are checked by
// building a barrier whose own link is never opened.
func (f *relayFlags) queryOnly(stderr io.Writer) (barrier.Board, *serialport.Link, error) {
	b, _, err := f.open(stderr)
	if err != nil {
		return nil, nil, err
	}
	link := serialport.NewLink(serialport.Opener(*f.port, serialport.Config{Baud: *f.baud}),
		serialport.Options{Name: "relay", Logger: toolLogger(stderr, *f.verbose)})
	return b.Board(), link, nil
}

func runRelayPulse(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newRelayFlags("pulse", stderr)
	f.fs.Usage = func() {
		fmt.Fprintln(f.fs.Output(), "usage: exitlane relay pulse --port P --board B [--channel N] [--pulse D]\n\nSends one barrier pulse: contact closed, held for --pulse, opened again.\nBoards that can report state are read back after each change.")
		f.fs.PrintDefaults()
	}
	if code, done := parseNoArgs(f.fs, args); done {
		return code
	}
	if code, ok := f.resolve(stderr); !ok {
		return code
	}
	b, link, err := f.open(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane relay pulse:", err)
		return exitUsage
	}
	defer link.Close()
	ctx, stop := signalContext()
	defer stop()
	start := time.Now()
	if err := b.Open(ctx, "commissioning: exitlane relay pulse"); err != nil {
		fmt.Fprintln(stderr, "exitlane relay pulse:", err)
		return exitFailure
	}
	how := "no read-back on this board"
	if barrier.ReadsBack(b.Board()) {
		how = "read back on and off"
	}
	fmt.Fprintf(stdout, "pulsed %s channel %d on %s for %v (%s), took %v\n", b.Board().Name(), *f.channel, *f.port,
		b.Options().Pulse, how, time.Since(start).Round(time.Millisecond))
	return exitOK
}

func runRelayState(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	f := newRelayFlags("state", stderr)
	f.fs.Usage = func() {
		fmt.Fprintln(f.fs.Output(), "usage: exitlane relay state --port P --board B [--channel N | --channels N]\n\nReads relay states back (KMtronic, Numato, Devantech, Modbus; LCUS boards\ncannot tell). Sends queries only: no relay is switched.")
		f.fs.PrintDefaults()
	}
	if code, done := parseNoArgs(f.fs, args); done {
		return code
	}
	if code, ok := f.resolve(stderr); !ok {
		return code
	}
	board, link, err := f.queryOnly(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane relay state:", err)
		return exitUsage
	}
	defer link.Close()
	from, to := *f.channel, *f.channel
	if *f.channels > 0 {
		from, to = 1, *f.channels
	}
	code := exitOK
	for ch := from; ch <= to; ch++ {
		var on bool
		err := link.Do(func(p serialport.Port) (err error) {
			on, err = board.State(p, ch)
			return err
		})
		if err != nil {
			fmt.Fprintf(stderr, "exitlane relay state: channel %d: %v\n", ch, err)
			code = exitFailure
			if errors.Is(err, barrier.ErrNoReadback) || errors.Is(err, serialport.ErrDown) {
				break
			}
			continue
		}
		contact := "open"
		if on != *f.activeLow {
			contact = "closed"
		}
		fmt.Fprintf(stdout, "channel %d: relay %s (contact %s)\n", ch, onOffWord(on), contact)
	}
	return code
}

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func runRelayEmulate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("relay emulate", stderr)
	board := fs.String("board", "lcus", "board family: "+strings.Join(barrier.Boards, ", "))
	channels := fs.Int("channels", 8, "relays on the emulated board")
	address := fs.Int("address", 1, "Modbus slave address")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: exitlane relay emulate [--board B] [--channels N]

Creates a pseudo-terminal, prints its path, and prints every frame the
emulated board decodes, with a timestamp, until Ctrl-C. Point the lane's
[relay] port (or "exitlane relay pulse --port") at the printed path.
Lines typed on stdin control the board:
  unplug | replug | state | behave | no-reply | wrong-reply | stuck
  gpio N 0|1   (Numato GPIO input, e.g. a simulated vehicle loop)`)
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	out := &syncWriter{w: stdout}
	r, err := sim.NewRelay(*board, sim.RelayOptions{Channels: *channels, Address: *address, OnFrame: func(f sim.Frame) {
		out.printf("%s  % -24X  %s\n", f.At.Format("15:04:05.000000"), f.Bytes, f.Desc)
	}})
	if err != nil {
		fmt.Fprintln(stderr, "exitlane relay emulate:", err)
		return exitUsage
	}
	defer r.Close()
	out.printf("%s relay board emulated on %s\n", r.Board(), r.Path())
	ctx, stop := signalContext()
	defer stop()
	go relayConsole(ctx, r, *channels, stdin, out)
	<-ctx.Done()
	return exitOK
}

// relayConsole reads control lines for the emulated board from in.
func relayConsole(ctx context.Context, r *sim.Relay, channels int, in io.Reader, out *syncWriter) {
	sc := bufio.NewScanner(in)
	for sc.Scan() && ctx.Err() == nil {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "unplug":
			r.Unplug()
			out.printf("unplugged\n")
		case "replug":
			if err := r.Replug(); err != nil {
				out.printf("replug: %v\n", err)
			} else {
				out.printf("replugged on %s\n", r.Path())
			}
		case "state":
			var s []string
			for ch := 1; ch <= channels; ch++ {
				s = append(s, fmt.Sprintf("ch%d=%s", ch, onOffWord(r.State(ch))))
			}
			out.printf("%s\n", strings.Join(s, " "))
		case "behave":
			r.Misbehave(sim.Behave)
		case "no-reply":
			r.Misbehave(sim.NoReply)
		case "wrong-reply":
			r.Misbehave(sim.WrongReply)
		case "stuck":
			r.Misbehave(sim.Stuck)
		case "gpio":
			var n, v int
			if len(f) == 3 {
				if _, err := fmt.Sscan(f[1]+" "+f[2], &n, &v); err == nil {
					r.SetGPIO(n, v != 0)
					continue
				}
			}
			out.printf("usage: gpio N 0|1\n")
		default:
			out.printf("commands: unplug, replug, state, behave, no-reply, wrong-reply, stuck, gpio N 0|1\n")
		}
	}
}
