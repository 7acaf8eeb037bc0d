package sim

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/receipt"
	"github.com/exitlane/exitlane/serialport"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// sampleReceipt is a paid stay with a validation, at a site with a TRN
// (and an Arabic name) or without.
func sampleReceipt(trn bool) receipt.Receipt {
	dubai, _ := time.LoadLocation("Asia/Dubai")
	r := receipt.Receipt{
		Site: "Example Mall Garage", SiteAr: "مرآب مول المثال",
		Merchant: "Example Parking LLC", Address: "Sheikh Zayed Road, Dubai",
		TRN: "100123456700003", VATPercent: 5,
		Lane: "X1", Ticket: "000042",
		Entry: time.Date(2024, 7, 1, 5, 15, 0, 0, time.UTC), Exit: time.Date(2024, 7, 1, 7, 47, 30, 0, time.UTC),
		Zone: dubai, Stay: 2*time.Hour + 32*time.Minute,
		Validations: []receipt.Validation{{Name: "Cinema, 2 hours"}},
		Fee:         money.MustParse("15.00"), Paid: money.MustParse("15.00"),
		OrderNo: "GRG01-X1-000042-1",
	}
	if !trn {
		r.TRN, r.VATPercent, r.SiteAr = "", 0, ""
	}
	return r
}

// The emulator's rendering of each receipt, as text (golden) and as an
// image whose QR code zbarimg reads back as the order number.
func TestRenderReceipt(t *testing.T) {
	for _, c := range []struct {
		name  string
		width int
		trn   bool
	}{{"58mm-trn", 58, true}, {"58mm", 58, false}, {"80mm-trn", 80, true}, {"80mm", 80, false}} {
		t.Run(c.name, func(t *testing.T) {
			r := sampleReceipt(c.trn)
			data, err := receipt.Encode(r, receipt.Layout{Width: c.width})
			if err != nil {
				t.Fatal(err)
			}
			outs := Render(data, c.width)
			if len(outs) != 1 || !outs[0].Cut {
				t.Fatalf("%d printouts, want one, cut", len(outs))
			}
			p := outs[0]
			if len(p.Notes) > 0 {
				t.Errorf("notes: %q", p.Notes)
			}
			if !bytes.Equal(p.Bytes, data) {
				t.Errorf("printout bytes differ from what was sent")
			}
			golden(t, filepath.Join("testdata", "printout-"+c.name+".txt"), p.Text)
			png, err := p.PNG()
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(filepath.Join("testdata", "printout-"+c.name+".png"), png, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if w := p.Image.Bounds().Dx(); w != map[int]int{58: 384, 80: 576}[c.width] {
				t.Errorf("paper %d dots wide", w)
			}
			if got := decodeQR(t, png); got != r.OrderNo {
				t.Errorf("zbarimg read %q, want %q", got, r.OrderNo)
			}
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./sim -run %s -update writes it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./sim -update rewrites it):\n%s", path, diffLines(string(want), got))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var out []string
	for i := range max(len(w), len(g)) {
		a, b := "(end)", "(end)"
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			out = append(out, "- "+a, "+ "+b)
		}
	}
	return strings.Join(out, "\n")
}

// decodeQR reads the QR code in a PNG with zbarimg. Without zbarimg the
// test is skipped, except under CI (make deps-test installs zbar-tools).
func decodeQR(t *testing.T, png []byte) string {
	t.Helper()
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("zbarimg not installed; CI=true, so this is a failure (make deps-test installs zbar-tools)")
		}
		t.Skip("zbarimg not installed (Debian: zbar-tools)")
	}
	path := filepath.Join(t.TempDir(), "printout.png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := proctest.Output(t, exec.Command(zbar, "--raw", "-q", path), 20*time.Second)
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// What the image shows: the centred double-size bold title, the Arabic
// name under it, left-aligned rows, the tall total.
func TestRenderStyles(t *testing.T) {
	var d receipt.Doc
	d.Init().Align(receipt.Center).Bold(true).Size(2, 2).Line("AB").Size(1, 1).Bold(false)
	d.Align(receipt.Right).Line("R").Align(receipt.Left).Line("L").Size(1, 2).Line("T")
	outs := Render(d.Bytes(), 58)
	if len(outs) != 1 || outs[0].Cut {
		t.Fatalf("printouts %+v", outs)
	}
	want := "" +
		"+--------------------------------+\n" +
		"|              A B               | bold wide tall\n" +
		"|                               R|\n" +
		"|L                               |\n" +
		"|T                               | tall\n" +
		"+--------------------------------+\n"
	if outs[0].Text != want {
		t.Errorf("text:\n%s\nwant:\n%s", outs[0].Text, want)
	}
	img := outs[0].Image
	// Lines are 48, 30, 30 and 48 dots tall, from 8 dots down.
	rows := []struct {
		top, h int
		x0, x1 int // where the ink must lie
	}{
		{8, 48, 168, 216},  // AB: 48 dots wide, centred on 384
		{56, 30, 372, 384}, // R: the last column
		{86, 30, 0, 12},    // L: the first column
		{116, 48, 0, 12},   // T: double height
	}
	for i, r := range rows {
		ink := inkIn(img, image.Rect(0, r.top, 384, r.top+r.h))
		if ink.Empty() || ink.Min.X < r.x0 || ink.Max.X > r.x1 {
			t.Errorf("line %d: ink %v, want within x %d-%d", i, ink, r.x0, r.x1)
		}
	}
	tall, normal := inkIn(img, image.Rect(0, 116, 384, 164)), inkIn(img, image.Rect(0, 86, 384, 116))
	if tall.Dy() < normal.Dy()*18/10 || tall.Dx() > normal.Dx()+2 {
		t.Errorf("double-height T is %v, a normal L %v", tall.Size(), normal.Size())
	}
	// Bold is darker than normal.
	var b2 receipt.Doc
	b2.Init().Line("HH").Bold(true).Line("HH")
	im := Render(b2.Bytes(), 58)[0].Image
	if n, b := dark(im, image.Rect(0, 8, 24, 38)), dark(im, image.Rect(0, 38, 24, 68)); b <= n {
		t.Errorf("bold %d dots, normal %d", b, n)
	}
}

func inkIn(img *image.Gray, r image.Rectangle) image.Rectangle {
	ink := image.Rectangle{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.GrayAt(x, y).Y < 128 {
				ink = ink.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return ink
}

func dark(img *image.Gray, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if img.GrayAt(x, y).Y < 128 {
				n++
			}
		}
	}
	return n
}

// Commands the emulator does not know are noted, the stream stays in
// step, and a line longer than the paper wraps.
func TestRenderOddInput(t *testing.T) {
	in := []byte("\x1b@\x1b\x7fX\x1d\x7fY\x07\x1bt\x02Z\x1bt\x00\n" + strings.Repeat("w", 34) + "\n\x1dv0\x00\x00\x10\x01\x00\x1dV\x00tail")
	outs := Render(in, 58)
	if len(outs) != 2 || !outs[0].Cut || outs[1].Cut {
		t.Fatalf("%d printouts", len(outs))
	}
	notes := strings.Join(outs[0].Notes, "|")
	for _, want := range []string{"unknown ESC 0x7f", "unknown GS 0x7f", "control byte 0x07", "code page 2", "GS v 0 of 4096 bytes by 1 rows: out of range"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
	if !strings.Contains(outs[0].Text, "|"+strings.Repeat("w", 32)+"|\n|ww  ") {
		t.Errorf("no wrap:\n%s", outs[0].Text)
	}
	if !strings.Contains(outs[1].Text, "|tail") {
		t.Errorf("tail:\n%s", outs[1].Text)
	}
	// Incomplete at the end: noted, nothing lost before it.
	outs = Render([]byte("ok\n\x1d(k\x10\x00"), 80)
	if len(outs) != 1 || !strings.Contains(outs[0].Text, "|ok ") || !strings.Contains(strings.Join(outs[0].Notes, ""), "incomplete") {
		t.Errorf("incomplete command: %+v", outs)
	}
}

// startPrinter runs an emulator and a receipt.Printer on its port, over
// the real serial code path, with the link kept by Run.
func startPrinter(t *testing.T, width int, opts receipt.Options) (*Printer, *receipt.Printer, *collector) {
	t.Helper()
	em, err := NewPrinter(PrinterOptions{Width: width})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	ev := newCollector()
	link := serialport.NewLink(serialport.Opener(em.Path(), serialport.Config{Baud: 115200}), serialport.Options{
		Name: "printer", OnEvent: ev.add, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Check: 20 * time.Millisecond,
	})
	opts.Width = width
	p, err := receipt.New(link, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { link.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	ev.wait(t, "up")
	return em, p, ev
}

// waitPrintouts waits until the emulator has cut n printouts.
func waitPrintouts(t *testing.T, em *Printer, n int) []Printout {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); len(em.Printouts()) < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return em.Printouts()
}

// A receipt through a pty pair: the emulator prints exactly the encoded
// bytes, the paper was asked about before and after.
func TestPrintToEmulator(t *testing.T) {
	em, p, ev := startPrinter(t, 58, receipt.Options{})
	r := sampleReceipt(true)
	if err := p.Print(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	outs := waitPrintouts(t, em, 1)
	if len(outs) != 1 {
		t.Fatalf("%d printouts", len(outs))
	}
	data, _ := receipt.Encode(r, receipt.Layout{Width: 58})
	if !bytes.Equal(outs[0].Bytes, data) {
		t.Errorf("the emulator received %d bytes, want the %d encoded", len(outs[0].Bytes), len(data))
	}
	if want := Render(data, 58)[0].Text; outs[0].Text != want {
		t.Errorf("printed:\n%s\nwant:\n%s", outs[0].Text, want)
	}
	if em.Queries() != 2 {
		t.Errorf("%d status queries, want 2", em.Queries())
	}
	if got := strings.Join(ev.ev, ","); got != "up" {
		t.Errorf("events %s", got)
	}
}

// Out of paper: reported within the status timeout, nothing printed; a
// new roll and the next receipt prints.
func TestPrintOutOfPaperToEmulator(t *testing.T) {
	em, p, ev := startPrinter(t, 80, receipt.Options{Timeout: 2 * time.Second, StatusTimeout: 500 * time.Millisecond})
	em.SetPaperOut(true)
	start := time.Now()
	err := p.Print(t.Context(), sampleReceipt(false))
	if !errors.Is(err, receipt.ErrOutOfPaper) {
		t.Fatalf("Print = %v, want ErrOutOfPaper", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("reported after %v", d)
	}
	ev.wait(t, "fault")
	if n := len(em.Printouts()); n != 0 || em.Dropped() != 0 {
		t.Errorf("%d printouts, %d bytes dropped: the receipt was sent to an empty printer", n, em.Dropped())
	}
	em.SetPaperOut(false)
	// The refused receipt's exchange may still be ending (its status
	// reply read to the end): until it has, the printer says busy.
	deadline := time.Now().Add(2 * time.Second)
	for {
		err = p.Print(t.Context(), sampleReceipt(false))
		if !errors.Is(err, receipt.ErrBusy) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("after a new roll: %v", err)
	}
	ev.wait(t, "up")
	if n := len(waitPrintouts(t, em, 1)); n != 1 {
		t.Errorf("%d printouts", n)
	}
	st, err := p.Check(t.Context())
	if err != nil || st.End {
		t.Errorf("Check = %+v, %v", st, err)
	}
	em.SetNearEnd(true)
	if st, err := p.Check(t.Context()); err != nil || !st.NearEnd {
		t.Errorf("Check near end = %+v, %v", st, err)
	}
}

// Unplugged: reported at once as serialport.ErrDown; printing works again
// once it is back.
func TestPrintUnpluggedToEmulator(t *testing.T) {
	em, p, ev := startPrinter(t, 58, receipt.Options{Timeout: 2 * time.Second})
	em.Unplug()
	ev.wait(t, "down")
	start := time.Now()
	err := p.Print(t.Context(), sampleReceipt(false))
	if !errors.Is(err, serialport.ErrDown) {
		t.Fatalf("Print = %v, want serialport.ErrDown", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("reported after %v", d)
	}
	if err := em.Replug(); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "up")
	if err := p.Print(t.Context(), sampleReceipt(false)); err != nil {
		t.Fatalf("after replug: %v", err)
	}
	if n := len(waitPrintouts(t, em, 1)); n != 1 {
		t.Errorf("%d printouts", n)
	}
}

// Unplugged between the link's checks, right before a receipt: the
// receipt's own exchange finds the port gone, within the timeout.
func TestPrintUnpluggedUnnoticed(t *testing.T) {
	em, err := NewPrinter(PrinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	link := serialport.NewLink(serialport.Opener(em.Path(), serialport.Config{}), serialport.Options{Name: "printer"})
	defer link.Close()
	p, err := receipt.New(link, receipt.Options{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Check(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Unplug returns once the pty is released, which is when the link
	// closes its port: here, in the receipt's exchange.
	unplugged := make(chan struct{})
	go func() { em.Unplug(); close(unplugged) }()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, err := os.Lstat(em.Path()); err != nil {
			break
		}
	}
	start := time.Now()
	if err := p.Print(t.Context(), sampleReceipt(false)); !errors.Is(err, serialport.ErrDown) {
		t.Fatalf("Print = %v, want serialport.ErrDown", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("reported after %v", d)
	}
	select {
	case <-unplugged:
	case <-time.After(5 * time.Second):
		t.Fatal("the port was not released")
	}
}

// Switched off behind its adapter: no answer, reported after the status
// timeout, and what was sent is lost.
func TestPrintOfflineToEmulator(t *testing.T) {
	em, p, ev := startPrinter(t, 80, receipt.Options{Timeout: 2 * time.Second, StatusTimeout: 300 * time.Millisecond})
	em.SetOffline(true)
	start := time.Now()
	if err := p.Print(t.Context(), sampleReceipt(false)); !errors.Is(err, receipt.ErrNoReply) {
		t.Fatalf("Print = %v, want ErrNoReply", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > time.Second {
		t.Errorf("reported after %v", d)
	}
	ev.wait(t, "fault")
	if len(em.Printouts()) != 0 {
		t.Error("printed while off")
	}
}
