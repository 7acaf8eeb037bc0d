package main

// The crash test: the real binary, headless, against the PayBy sandbox and
// pty devices, killed with SIGKILL at each step that matters (a failpoint
// makes the process kill itself at that exact step), then restarted. It
// proves: no pulse at start-up, the ledger and PayBy agree, the driver gets
// out with exactly one pulse, and nobody pays twice.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/sim/simtest"
)

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

// TestMain removes the binary buildBinary built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildBinary builds exitlane once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "exitlane-bin")
		if err != nil {
			binErr = err
			return
		}
		binDir, binPath = dir, filepath.Join(dir, "exitlane")
		// A cold build compiles GLFW's and SQLite's C code: minutes on a
		// loaded machine.
		out, err := proctest.CombinedOutput(t, exec.Command("go", "build", "-o", binPath, "."), 15*time.Minute)
		if err != nil {
			binErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatalf("build: %v", binErr)
	}
	return binPath
}

// stopWait is how long a test waits for "exitlane run" to exit after
// SIGTERM: the documented limit, and a margin for a loaded machine. Past
// it, proctest dumps the process's goroutines into the failure.
const stopWait = exitLimit + 10*time.Second

// laneProc is one run of "exitlane run --headless".
type laneProc struct {
	*proctest.Proc
	t *testing.T
}

func startProc(t *testing.T, bin, cfg, failpoint string) *laneProc {
	t.Helper()
	cmd := exec.Command(bin, "run", "--headless", "--config", cfg, "--log-level", "debug")
	cmd.Env = append(os.Environ(), "EXITLANE_FAILPOINT="+failpoint)
	p := &laneProc{Proc: proctest.Start(t, cmd), t: t}
	p.waitLog("lane running", "")
	p.waitLog("device up", "relay")
	p.waitLog("scanner up", "scanner")
	return p
}

// logRecord is one JSON log line of the lane ("" fields when absent).
func logRecord(line string) (map[string]any, bool) {
	var m map[string]any
	return m, json.Unmarshal([]byte(line), &m) == nil
}

// waitLog waits for a JSON log line with msg (and component, if given).
func (p *laneProc) waitLog(msg, component string) map[string]any {
	p.t.Helper()
	l := p.WaitLine(30*time.Second, fmt.Sprintf("log %q %s", msg, component), func(l string) bool {
		m, ok := logRecord(l)
		return ok && m["msg"] == msg && (component == "" || m["component"] == component)
	})
	m, _ := logRecord(l)
	return m
}

func (p *laneProc) log() string { return p.Stderr() }

// waitKilled waits for the failpoint's SIGKILL.
func (p *laneProc) waitKilled() {
	p.t.Helper()
	err := p.Wait(30 * time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		p.t.Fatalf("exitlane ended with %v, want SIGKILL:\n%s", err, p.log())
	}
}

// stop ends the process with SIGTERM and waits.
func (p *laneProc) stop() {
	p.t.Helper()
	if err := p.Stop(syscall.SIGTERM, stopWait); err != nil {
		p.t.Fatalf("exitlane stopped with %v:\n%s", err, p.log())
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
			// The relay emulator reads the frames the dead process wrote on
			// its own goroutine: wait for the pulses it must have seen, then
			// long enough for one in flight to show.
			simtest.WaitFor(t, "the pulses written before the kill", 10*time.Second, func() bool {
				n, _ := rig.Pulses()
				return n >= c.pulsesAfterKill
			})
			time.Sleep(700 * time.Millisecond)
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
