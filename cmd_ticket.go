package main

// "exitlane ticket issue|check": signed ticket codes (and printable
// tickets) for tests and commissioning, and the verdict on a code.

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/exitlane/exitlane/station"
	"github.com/exitlane/exitlane/ticket"
)

func runTicket(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("ticket", map[string]command{
		"issue": {name: "issue", summary: "print a signed ticket code (and a printable PNG)", run: runTicketIssue},
		"check": {name: "check", summary: "check a ticket code and price it now", run: runTicketCheck},
	}, args, stdin, stdout, stderr)
}

func runTicketIssue(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("ticket issue", stderr)
	cfgPath := fs.String("config", "", "config `file`")
	entryS := fs.String("entry", "", "entry `time` (default: now)")
	serial := fs.Uint64("serial", 0, "ticket `number` (default: from the clock)")
	lane := fs.String("lane", "E1", "entry `lane` code")
	png := fs.String("png", "", "also write a printable ticket to this PNG `file`")
	class := fs.String("class", "", "vehicle `class` carried in the code (an EL2 code; default: none, an EL1 code)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: exitlane ticket issue --config F [--entry T] [--serial N] [--lane L] [--class C] [--png FILE]")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	c, code := loadConfig(*cfgPath, stderr, "ticket", "tariff")
	if c == nil {
		return code
	}
	if c.Ticket.Format != "signed" {
		fmt.Fprintln(stderr, "exitlane ticket issue: only signed tickets can be issued (ticket.format is \"pattern\")")
		return exitFailure
	}
	entry := time.Now()
	if *entryS != "" {
		var err error
		if entry, err = parseTime(*entryS, c.Site.Location); err != nil {
			fmt.Fprintln(stderr, "exitlane ticket issue: --entry:", err)
			return exitUsage
		}
	}
	if *serial == 0 {
		*serial = uint64(time.Now().UnixNano()/1e6) % 1_000_000_000_000
	}
	s, err := ticket.NewSigned(c.Site.ID, c.Ticket.Key, c.Ticket.ClockTolerance)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane ticket issue:", err)
		return exitFailure
	}
	tcode, err := s.IssueClass(*lane, *serial, entry, *class)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane ticket issue:", err)
		return exitUsage
	}
	fmt.Fprintln(stdout, tcode)
	if *png != "" {
		if err := writeTicketPNG(*png, tcode, c.Site.Name, entry.In(c.Site.Location), *serial); err != nil {
			fmt.Fprintln(stderr, "exitlane ticket issue:", err)
			return exitFailure
		}
	}
	return exitOK
}

func runTicketCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("ticket check", stderr)
	cfgPath := fs.String("config", "", "config `file`")
	nowS := fs.String("now", "", "check as of this `time` (default: now)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: exitlane ticket check --config F CODE")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	c, code := loadConfig(*cfgPath, stderr, "ticket", "tariff")
	if c == nil {
		return code
	}
	now := time.Now()
	if *nowS != "" {
		var err error
		if now, err = parseTime(*nowS, c.Site.Location); err != nil {
			fmt.Fprintln(stderr, "exitlane ticket check: --now:", err)
			return exitUsage
		}
	}
	chk, err := station.TicketChecker(c)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane ticket check:", err)
		return exitFailure
	}
	t, err := chk.Check(strings.TrimSpace(fs.Arg(0)), now)
	verdict := "valid"
	switch {
	case errors.Is(err, ticket.ErrForged):
		verdict = "FORGED"
	case errors.Is(err, ticket.ErrMalformed):
		verdict = "MALFORMED"
	case errors.Is(err, ticket.ErrOtherSite):
		verdict = "OTHER SITE"
	case errors.Is(err, ticket.ErrFutureEntry):
		verdict = "ENTRY IN THE FUTURE"
	case err != nil:
		verdict = "INVALID"
	}
	fmt.Fprintf(stdout, "%s\n", verdict)
	if err != nil {
		fmt.Fprintf(stdout, "  %v\n", err)
		return exitFailure
	}
	loc := c.Site.Location
	if t.Signed {
		fmt.Fprintf(stdout, "  site %s, entry lane %s, serial %s (signed)\n", t.Site, t.Lane, t.Serial)
	} else {
		fmt.Fprintf(stdout, "  serial %s (unsigned: the entry time cannot be authenticated)\n", t.Serial)
	}
	if t.Class != "" {
		fmt.Fprintf(stdout, "  class %s\n", t.Class)
	}
	q, err := c.Tariff.Quote(ticket.Stay{Entry: t.Entry, Exit: now, Class: t.Class})
	if err != nil {
		fmt.Fprintln(stdout, "  owed now: cannot be computed:", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "  entry %s\n  now   %s\n", t.Entry.In(loc).Format("Mon 2006-01-02 15:04:05 MST"), now.In(loc).Format("Mon 2006-01-02 15:04:05 MST"))
	for _, s := range q.Steps {
		fmt.Fprintln(stdout, "  "+s)
	}
	fmt.Fprintf(stdout, "  owed now: %s\n", q.Due)
	return exitOK
}

// writeTicketPNG draws a printable ticket: the site, the code as a QR, the
// entry time and serial in words, and the code in text.
func writeTicketPNG(path, code, site string, entry time.Time, serial uint64) error {
	q, err := qrcode.New(code, qrcode.Medium)
	if err != nil {
		return err
	}
	img := ticketImage(q.Image(-8), []string{
		site,
		"Entry " + entry.Format("Mon 02 Jan 2006 15:04"),
		"Ticket " + strconv.FormatUint(serial, 10),
		code,
	})
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if err := encodePNG(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ticketImage lays out a printable ticket: the QR on top, then lines of
// text at twice the size of the built-in 7x13 font, on white.
func ticketImage(qr image.Image, lines []string) image.Image {
	const scale, lineH, margin = 2, 16, 16
	width := qr.Bounds().Dx()
	for _, l := range lines {
		if w := len(l)*7*scale + 2*margin; w > width {
			width = w
		}
	}
	textH := len(lines) * lineH
	small := image.NewRGBA(image.Rect(0, 0, width/scale+1, textH+8))
	draw.Draw(small, small.Bounds(), image.White, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: small, Src: image.NewUniform(color.Black), Face: basicfont.Face7x13}
	for i, l := range lines {
		w := len(l) * 7
		d.Dot = fixed.P((small.Bounds().Dx()-w)/2, 12+i*lineH)
		d.DrawString(l)
	}
	out := image.NewRGBA(image.Rect(0, 0, width, qr.Bounds().Dy()+small.Bounds().Dy()*scale+margin))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	draw.Draw(out, qr.Bounds().Add(image.Pt((width-qr.Bounds().Dx())/2, 0)), qr, qr.Bounds().Min, draw.Src)
	top := qr.Bounds().Dy()
	for y := 0; y < small.Bounds().Dy()*scale; y++ {
		for x := 0; x < width; x++ {
			out.Set(x, top+y, small.At(x/scale, y/scale))
		}
	}
	return out
}

func encodePNG(w io.Writer, img image.Image) error { return png.Encode(w, img) }
