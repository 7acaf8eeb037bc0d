package main

// End-to-end test of the real binary with its display: "exitlane run"
// (fullscreen kiosk) under a private Xvfb, with the PayBy sandbox and pty
// scanner and relay emulators of "exitlane sim" in the test process.
// Screenshots are taken with ImageMagick's import and the QR on screen is
// decoded with zbarimg (Debian: xvfb, imagemagick, zbar-tools). Skipped
// with -short or when those tools are missing.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
	"github.com/exitlane/exitlane/sim"
	"github.com/exitlane/exitlane/ui"
)

type xvfb struct {
	display string
}

// startXvfb starts a private X server, killed at the test's cleanup.
func startXvfb(t *testing.T) *xvfb {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1920x1080x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	p := proctest.Start(t, cmd)
	w.Close()
	type result struct {
		line string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		got <- result{line, err}
	}()
	select {
	case res := <-got:
		if res.err != nil {
			t.Fatalf("Xvfb display: %v\n%s", res.err, p.Dump())
		}
		return &xvfb{display: ":" + strings.TrimSpace(res.line)}
	case <-time.After(time.Minute):
		t.Fatalf("Xvfb gave no display within a minute:\n%s", p.Dump())
		return nil
	}
}

// lastShot is the latest screenshot, kept when a wait times out.
var lastShot string

func (x *xvfb) shot(t *testing.T, path string) {
	t.Helper()
	lastShot = path
	if out, err := proctest.CombinedOutput(t, exec.Command("import", "-display", x.display, "-window", "root", path), time.Minute); err != nil {
		t.Fatalf("import: %v %s", err, out)
	}
}

// qr decodes the QR codes in a screenshot ("" when none).
func qr(t *testing.T, path string) string {
	out, _ := proctest.Output(t, exec.Command("zbarimg", "--raw", "-q", path), time.Minute)
	return strings.TrimSpace(string(out))
}

func waitUntil(t *testing.T, what string, d time.Duration, f func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < d {
		if f() {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if dir := os.Getenv("EXITLANE_E2E_SHOTS"); dir != "" && lastShot != "" {
		copyFile(lastShot, filepath.Join(dir, "e2e-timeout.png"))
	}
	t.Fatalf("timed out waiting for %s", what)
	return 0
}

func TestSimBinaryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Xvfb")
	}
	for _, tool := range []string{"Xvfb", "import", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	x := startXvfb(t)
	world, err := sim.NewWorld(sim.WorldOptions{Dir: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	cfgPath := world.ConfigPath()
	cfgText, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("EXITLANE_E2E_SHOTS") == "" {
		// Short notices keep the test short; screenshots for the docs
		// need the notice still on screen when the (slow) capture runs.
		cfgText = bytes.Replace(cfgText, []byte(`notice = "6s"`), []byte(`notice = "2s"`), 1)
	}
	cfgText = bytes.Replace(cfgText, []byte(`opened = "8s"`), []byte(`opened = "2s"`), 1)
	// A short payment window: the abandoned QR runs out within the test.
	cfgText = bytes.Replace(cfgText, []byte(`pay_window = "3m"`), []byte(`pay_window = "30s"`), 1)
	if err := os.WriteFile(cfgPath, cfgText, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "run", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "DISPLAY="+x.display, "LANG=en_US.UTF-8")
	started := time.Now()
	p := proctest.Start(t, cmd)
	defer func() {
		if t.Failed() || os.Getenv("EXITLANE_E2E_LOG") != "" {
			t.Logf("exitlane log:\n%s", p.Stderr())
		}
	}()
	// stop ends the lane with SIGTERM: it must exit cleanly within the
	// documented limit (past it, proctest dumps its goroutines).
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			if err := p.Stop(syscall.SIGTERM, stopWait); err != nil {
				t.Errorf("exitlane run ended with %v", err)
			}
		}
	}
	defer stop()

	shot := filepath.Join(dir, "shot.png")
	bgAt := func() bool {
		x.shot(t, shot)
		// The kiosk's navy background fills the screen once it shows.
		out, _ := proctest.Output(t, exec.Command("convert", shot, "-format", "%[pixel:p{960,540}]", "info:"), time.Minute)
		return strings.Contains(string(out), "srgb(10,26,51)")
	}
	waitUntil(t, "welcome screen", 90*time.Second, bgAt) // a race build of Fyne on software GL, loaded: tens of seconds
	t.Logf("figure: process start to welcome screen on display %v (screenshot polling)", time.Since(started).Round(10*time.Millisecond))
	time.Sleep(time.Second)
	welcome := screenSum(t, x, shot)
	idle := func() bool {
		sum := screenSum(t, x, shot)
		if os.Getenv("EXITLANE_E2E_LOG") != "" {
			t.Logf("%s screen %.12s (welcome %.12s)", time.Now().Format("15:04:05.000"), sum, welcome)
		}
		return sum == welcome
	}

	issue := func(serial uint64, ago time.Duration) string {
		code, err := world.Issue(serial, time.Now().Add(-ago))
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
	pulses := func() int {
		n := 0
		for _, c := range world.Relay().Timeline() {
			if c.Channel == 1 && c.On {
				n++
			}
		}
		return n
	}
	openOrder := func() (sandbox.OrderInfo, bool) {
		for _, o := range world.Sandbox().Orders() {
			if o.Status == payby.StatusCreated {
				return o, true
			}
		}
		return sandbox.OrderInfo{}, false
	}
	waitRelay := func(want int) {
		t.Helper()
		waitUntil(t, fmt.Sprintf("%d pulses", want), 45*time.Second, func() bool { return pulses() >= want })
	}
	// The lane's log says when it took a scan and where its latest state
	// change went: a screenshot every second or two (more under load)
	// can miss a screen that shows for 2.5 s, the log cannot.
	scans := func() int { return strings.Count(p.Stderr(), " msg=scan ") }
	laneIdle := func() bool {
		log := p.Stderr()
		i := strings.LastIndex(log, " msg=state ")
		if i < 0 {
			return true // no change since it started idle
		}
		line, _, _ := strings.Cut(log[i:], "\n")
		return strings.Contains(line, " state=idle ")
	}
	// scan presents a code once the lane is idle, in its log and on the
	// screen, and waits until the lane has taken it (so a later wait for
	// idle cannot see the welcome screen still showing before the scan's
	// effect).
	scan := func(code string) {
		t.Helper()
		waitUntil(t, "lane idle", 60*time.Second, func() bool { return laneIdle() && idle() })
		time.Sleep(1100 * time.Millisecond) // past the scanner's 1 s dedup window
		n := scans()
		if err := world.Scanner().Send(code); err != nil {
			t.Fatal(err)
		}
		waitUntil(t, "the lane to take the scan", 30*time.Second, func() bool { return scans() > n && !laneIdle() })
	}

	// 1. A paid visit: scan, QR on screen decodes to the order's tokenUrl, pay.
	paid := issue(101, 2*time.Hour+10*time.Minute)
	sent := time.Now()
	if err := world.Scanner().Send(paid); err != nil {
		t.Fatal(err)
	}
	var order sandbox.OrderInfo
	scanToQR := waitUntil(t, "QR on screen", 60*time.Second, func() bool {
		o, ok := openOrder()
		if !ok {
			return false
		}
		x.shot(t, shot)
		if got := qr(t, shot); got == o.TokenURL {
			order = o
			return true
		}
		return false
	})
	t.Logf("figure: scan to QR on screen %v (upper bound: includes screenshot and zbarimg polling)", time.Since(sent).Round(10*time.Millisecond))
	_ = scanToQR
	if order.Amount.String() == "" {
		t.Fatalf("order %+v", order)
	}
	keep := os.Getenv("EXITLANE_E2E_SHOTS")
	if keep != "" {
		copyFile(shot, filepath.Join(keep, "e2e-fee-qr.png"))
	}
	if err := world.Sandbox().Pay(order.MerchantOrderNo); err != nil {
		t.Fatal(err)
	}
	waitRelay(1)

	// 2. A free visit within the grace period.
	scan(issue(102, 5*time.Minute))
	waitRelay(2)

	// 3. A forged ticket (entry time edited), 4. the paid ticket again.
	forged := strings.Split(issue(103, 3*time.Hour), ":")
	forged[4] = forged[4][:len(forged[4])-1] + string('0'+(forged[4][len(forged[4])-1]-'0'+1)%10)
	scan(strings.Join(forged, ":"))
	time.Sleep(300 * time.Millisecond)
	if keep != "" {
		x.shot(t, filepath.Join(keep, "e2e-forged.png"))
	}
	scan(paid)
	time.Sleep(300 * time.Millisecond)
	if keep != "" {
		x.shot(t, filepath.Join(keep, "e2e-used.png"))
	}

	// 5. An abandoned QR: the payment window runs out, the lane cancels.
	scan(issue(105, 3*time.Hour))
	var abandoned sandbox.OrderInfo
	waitUntil(t, "second order", 45*time.Second, func() bool {
		o, ok := openOrder()
		abandoned = o
		return ok
	})
	waitUntil(t, "its QR on screen", 45*time.Second, func() bool { x.shot(t, shot); return qr(t, shot) == abandoned.TokenURL })

	// 6. PayBy unreachable: no order, no opening.
	waitUntil(t, "lane idle", 60*time.Second, func() bool { return laneIdle() && idle() })
	if err := world.SetPayBy(ui.PayByUnreachable); err != nil {
		t.Fatal(err)
	}
	scan(issue(106, 4*time.Hour))
	time.Sleep(8 * time.Second)
	x.shot(t, shot)
	if got := qr(t, shot); got != "" {
		t.Errorf("QR on screen while PayBy is unreachable: %q", got)
	}
	if keep != "" {
		copyFile(shot, filepath.Join(keep, "e2e-payby-down.png"))
	}
	if err := world.SetPayBy(ui.PayByOK); err != nil {
		t.Fatal(err)
	}

	if n := pulses(); n != 2 {
		t.Errorf("relay pulses = %d, want 2 (paid, free)", n)
	}
	var frames []string
	for _, f := range world.Relay().Frames() {
		frames = append(frames, fmt.Sprintf("% X", f.Bytes))
	}
	all := strings.Join(frames, "|")
	if strings.Count(all, "A0 01 01 A2") != 2 || strings.Count(all, "A0 01 00 A1") < 2 {
		t.Errorf("relay frames: %v", frames)
	}
	stop()

	db, err := ledger.Open(context.Background(), world.Config().Ledger.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.BarrierEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var causes []string
	for _, e := range evs {
		causes = append(causes, e.Cause.String()+"/"+e.State)
	}
	if len(evs) != 2 || evs[0].Cause != lane.CausePaid || evs[1].Cause != lane.CauseGrace || evs[0].No != order.MerchantOrderNo {
		t.Errorf("barrier events = %v (%+v)", causes, evs)
	}
	got, _ := world.Sandbox().Order(abandoned.MerchantOrderNo)
	if got.Status != payby.StatusFailure {
		t.Errorf("abandoned order %s is %s, want FAILURE (cancelled)", got.MerchantOrderNo, got.Status)
	}
}

// screenSum is a checksum of the screen's pixels.
func screenSum(t *testing.T, x *xvfb, shot string) string {
	x.shot(t, shot)
	out, _ := proctest.Output(t, exec.Command("identify", "-format", "%#", shot), time.Minute)
	return string(out)
}

func copyFile(src, dst string) {
	in, err := os.Open(src)
	if err != nil {
		return
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return
	}
	defer out.Close()
	io.Copy(out, in)
}
