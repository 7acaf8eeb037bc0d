package main

// Commissioning tools for the lane's serial devices: "exitlane devices"
// here, "exitlane relay ..." in cmd_relay.go, "exitlane scanner ..." in
// cmd_scanner.go. See docs/devices.md.

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/exitlane/exitlane/serialport"
)

// usbHint names USB-serial chips often found on the supported devices; a
// hint for the installer, not an identification.
func usbHint(vidpid string) string {
	switch {
	case vidpid == "1a86:7523":
		return "CH340 (LCUS relay boards)"
	case vidpid == "0403:6001":
		return "FTDI FT232 USB-serial (KMtronic and many others)"
	case vidpid == "04d8:ffee":
		return "Devantech USB-RLY (Microchip CDC)"
	case strings.HasPrefix(vidpid, "2a19:"):
		return "Numato Lab (relay modules)"
	}
	return ""
}

// devicePort is one line of "exitlane devices".
type devicePort struct {
	Name         string `json:"name"`
	USB          bool   `json:"usb"`
	VIDPID       string `json:"vid_pid,omitempty"`
	SerialNumber string `json:"serial_number,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	Hint         string `json:"hint,omitempty"`
	// Links are the stable names (udev symlinks) that point at the port.
	Links []string `json:"links,omitempty"`
}

func runDevices(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("devices", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane devices [--json]\n\nLists serial ports with USB VID:PID, serial number and product name, and the\n/dev/exitlane-* names (udev rules in deploy/udev) that point at them.")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	list, err := serialport.List()
	if err != nil {
		fmt.Fprintf(stderr, "exitlane devices: %v\n", err)
		return exitFailure
	}
	links := stableLinks()
	ports := make([]devicePort, 0, len(list))
	for _, p := range list {
		d := devicePort{Name: p.Name, USB: p.USB, SerialNumber: p.SerialNumber, Manufacturer: p.Manufacturer, Product: p.Product}
		if p.USB {
			d.VIDPID = strings.ToLower(p.VID + ":" + p.PID)
			d.Hint = usbHint(d.VIDPID)
		}
		d.Links = links[p.Name]
		ports = append(ports, d)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i].Name < ports[j].Name })
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ports); err != nil {
			fmt.Fprintf(stderr, "exitlane devices: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	if len(ports) == 0 {
		fmt.Fprintln(stdout, "no serial ports found")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tVID:PID\tSERIAL\tPRODUCT\tSTABLE NAME\tHINT")
	for _, d := range ports {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, dash(d.VIDPID), dash(d.SerialNumber),
			dash(strings.TrimSpace(d.Manufacturer+" "+d.Product)), dash(strings.Join(d.Links, ",")), d.Hint)
	}
	tw.Flush()
	return exitOK
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// stableLinks maps each device to the /dev/exitlane-* links pointing at it.
func stableLinks() map[string][]string {
	out := map[string][]string{}
	names, _ := filepath.Glob("/dev/exitlane-*")
	for _, n := range names {
		if target, err := filepath.EvalSymlinks(n); err == nil {
			out[target] = append(out[target], n)
		}
	}
	return out
}

// toolLogger logs the device layer's own lines to stderr with -v; without
// it the tools print what matters themselves.
func toolLogger(stderr io.Writer, verbose bool) *slog.Logger {
	if !verbose {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// syncWriter serialises prints from the emulators' goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) printf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, format, args...)
}
