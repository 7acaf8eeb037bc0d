package main

// The crash test: the real binary, headless, against the PayBy sandbox and
// pty devices, killed with SIGKILL at each step that matters (a failpoint
// makes the process kill itself at that exact step), then restarted. It
// proves: no pulse at start-up, the ledger and PayBy agree, the driver gets
// out with exactly one pulse, and nobody pays twice.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/sim/simtest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// buildBinary builds exitlane once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "exitlane-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "exitlane")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("build: %v", binErr)
	}
	return binPath
}

// laneProc is one run of "exitlane run --headless".
type laneProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	done  chan struct{}
	err   error
}

func startProc(t *testing.T, bin, cfg, failpoint string) *laneProc {
	t.Helper()
	cmd := exec.Command(bin, "run", "--headless", "--config", cfg, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "EXITLANE_FAILPOINT="+failpoint)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &laneProc{t: t, cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
	})
	p.waitLog("lane running", "")
	p.waitLog("device up", "relay")
	p.waitLog("scanner up", "scanner")
	return p
}

// waitLog waits for a JSON log line with msg (and component, if given).
func (p *laneProc) waitLog(msg, component string) {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for _, l := range p.lines {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg && (component == "" || m["component"] == component) {
				p.mu.Unlock()
				return
			}
		}
		p.mu.Unlock()
		select {
		case <-p.done:
			p.t.Fatalf("exitlane exited (%v) before %q:\n%s", p.err, msg, p.log())
		case <-time.After(5 * time.Millisecond):
		}
	}
	p.t.Fatalf("no %q in the log:\n%s", msg, p.log())
}

func (p *laneProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitKilled waits for the failpoint's SIGKILL.
func (p *laneProc) waitKilled() {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.t.Fatalf("exitlane was not killed at its failpoint:\n%s", p.log())
	}
	var ee *exec.ExitError
	if !errors.As(p.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		p.t.Fatalf("exitlane ended with %v, want SIGKILL:\n%s", p.err, p.log())
	}
}

// stop ends the process with SIGTERM and waits.
func (p *laneProc) stop() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Fatal("exitlane did not stop on SIGTERM")
	}
}

func TestCrashRecoveryRealBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	cases := []struct {
		name      string
		failpoint string
		// payBeforeKill: the driver pays the first order before the kill
		// (the failpoint is after the payment is seen).
		payBeforeKill bool
		// payWhileDown: the driver pays the first order while the lane is dead.
		payWhileDown bool
		// pulsesAfterKill: relay pulses when the process died.
		pulsesAfterKill int
		// rescan: the driver scans again after the restart.
		rescan bool
		// rescanPays: the re-scan creates this attempt, paid by the driver.
		rescanPays string
	}{
		{name: "visit recorded, no order yet", failpoint: "write:visit", rescan: true, rescanPays: "-1"},
		{name: "order stored, placeOrder not sent", failpoint: "write:order", rescan: true, rescanPays: "-2"},
		{name: "order created, lane dies", failpoint: "created", rescan: true, rescanPays: "-2"},
		{name: "QR shown, driver pays while lane is down", failpoint: "write:status", payWhileDown: true, rescan: true},
		{name: "between payment and pulse", failpoint: "write:exit", payBeforeKill: true, rescan: true},
		{name: "after pulse, before its record", failpoint: "pulsed", payBeforeKill: true, pulsesAfterKill: 1},
		{name: "after the pulse was recorded", failpoint: "write:pulse", payBeforeKill: true, pulsesAfterKill: 1},
	}
	for i, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			rig := simtest.New(t, "1s")
			serial := uint64(2000 + i)
			code := rig.Ticket(t, serial, 2*time.Hour+5*time.Minute)
			no1 := "GRG01-X1-" + itoa(serial) + "-1"

			p := startProc(t, bin, rig.ConfigPath, c.failpoint)
			rig.Scanner.Send(code)
			if c.payBeforeKill {
				simtest.WaitFor(t, "order 1", 10*time.Second, func() bool { _, err := rig.Sandbox.Order(no1); return err == nil })
				if err := rig.Sandbox.Pay(no1); err != nil {
					t.Fatal(err)
				}
			}
			p.waitKilled()
			if c.payWhileDown {
				if err := rig.Sandbox.Pay(no1); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(700 * time.Millisecond) // a pulse in flight would have shown by now
			if n, _ := rig.Pulses(); n != c.pulsesAfterKill {
				t.Fatalf("pulses after kill = %d, want %d", n, c.pulsesAfterKill)
			}

			p = startProc(t, bin, rig.ConfigPath, "")
			time.Sleep(1500 * time.Millisecond) // start-up recovery and the first reconcile pass
			if n, _ := rig.Pulses(); n != c.pulsesAfterKill {
				t.Fatalf("pulse at start-up: %d pulses, want %d", n, c.pulsesAfterKill)
			}
			if c.rescan {
				rig.Scanner.Send(code)
				if c.rescanPays != "" {
					no := "GRG01-X1-" + itoa(serial) + c.rescanPays
					simtest.WaitFor(t, "order "+no, 10*time.Second, func() bool { _, err := rig.Sandbox.Order(no); return err == nil })
					if err := rig.Sandbox.Pay(no); err != nil {
						t.Fatal(err)
					}
				}
				simtest.WaitFor(t, "the pulse", 10*time.Second, func() bool { n, _ := rig.Pulses(); return n >= 1 })
				time.Sleep(1200 * time.Millisecond) // a duplicate would show within a poll
			}
			if n, _ := rig.Pulses(); n != 1 {
				t.Fatalf("pulses = %d, want exactly 1\n%s", n, p.log())
			}
			p.stop()

			// PayBy: exactly one paid order for this ticket; nothing payable left.
			paid := 0
			for _, o := range rig.Sandbox.Orders() {
				if o.Status.IsPaid() {
					paid++
				}
				if o.Status == payby.StatusCreated {
					t.Errorf("order %s left payable", o.MerchantOrderNo)
				}
			}
			if paid != 1 {
				t.Fatalf("%d paid orders, want 1 (nobody pays twice)", paid)
			}
			// The ledger agrees with PayBy, order by order.
			ctx := context.Background()
			db, err := ledger.Open(ctx, filepath.Join(rig.Dir, "lane.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for _, o := range rig.Sandbox.Orders() {
				lo, err := db.GetOrder(ctx, o.MerchantOrderNo)
				if err != nil {
					t.Fatalf("%s at PayBy, not in the ledger: %v", o.MerchantOrderNo, err)
				}
				if o.Status.IsPaid() != (lo.Status == lane.OrderPaid) {
					t.Errorf("%s: PayBy %s, ledger %s", o.MerchantOrderNo, o.Status, lo.Status)
				}
			}
			// Every pulse has its row; the one whose outcome the crash hid is "unknown".
			ev, _ := db.BarrierEvents(ctx)
			states := map[string]int{}
			for _, e := range ev {
				states[e.State]++
			}
			want := map[string]int{"pulsed": 1}
			switch c.failpoint {
			case "write:exit":
				want = map[string]int{"pulsed": 1, "unknown": 1}
			case "pulsed":
				want = map[string]int{"unknown": 1}
			}
			if len(states) != len(want) || states["pulsed"] != want["pulsed"] || states["unknown"] != want["unknown"] {
				t.Errorf("barrier events %v, want %v", states, want)
			}
			u, _ := db.Unresolved(ctx)
			if c.failpoint == "pulsed" {
				// The car left but the lane cannot know: the attendant sees it.
				if len(u) != 1 || u[0].Kind != lane.UnresolvedPaidNotExited {
					t.Errorf("unresolved = %+v, want the unconfirmed paid exit", u)
				}
			} else if len(u) != 0 {
				t.Errorf("unresolved = %+v", u)
			}
		})
	}
}

func itoa(v uint64) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
		if v == 0 {
			return string(b)
		}
	}
}
