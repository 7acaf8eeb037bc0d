package main

// The real binary, stopped: within the documented limit whatever is stuck,
// and quiet under any locale.

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/exitlane/exitlane/internal/proctest"
	"github.com/exitlane/exitlane/sim/simtest"
)

// fillPty writes to a pty's slave until the master's buffer is full (no
// one reads the master), so that the next write to the slave blocks. The
// kernel moves written bytes on to the master's line discipline in the
// background, freeing room: it is full once a pause frees none.
func fillPty(t *testing.T, slave *os.File) {
	t.Helper()
	rc, err := slave.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fill := func() (n int, err error) {
		cerr := rc.Control(func(fd uintptr) {
			if err = unix.SetNonblock(int(fd), true); err != nil {
				return
			}
			defer unix.SetNonblock(int(fd), false)
			// Big writes fail while some room is left: finish byte by byte.
			for _, size := range []int{1024, 1} {
				buf := make([]byte, size)
				for {
					w, werr := unix.Write(int(fd), buf)
					n += max(w, 0)
					if errors.Is(werr, unix.EAGAIN) {
						break
					}
					if werr != nil {
						err = werr
						return
					}
				}
			}
		})
		return n, errors.Join(cerr, err)
	}
	total, quiet := 0, 0
	for quiet < 3 {
		n, err := fill()
		if err != nil {
			t.Fatalf("fill pty: %v", err)
		}
		if total += n; n == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("pty full after %d bytes", total)
}

// A relay board that stops draining its input (here a pty nobody reads,
// its buffer full) blocks the lane's next write to it for ever: the ON
// frame of a pulse, holding the relay's link, and then the barrier's Halt.
// SIGTERM still ends the process within the documented limit, and the log
// names what did not stop. (Before the stop was bounded, this process
// never exited: the runner waited for the pulse's goroutine.)
func TestRunStopsWithinTheLimitWithAStuckRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	rig := simtest.New(t, "1s")
	master, slave, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close(); slave.Close() }) // after the process's cleanup
	cfgText, err := os.ReadFile(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(rig.Dir, "stuck-relay.toml")
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(cfgText), rig.Relay.Path(), slave.Name(), 1)), 0o600); err != nil {
		t.Fatal(err)
	}

	// The relay is up (its "off" at connect went through); then the
	// board takes nothing more, and a free ticket is scanned.
	p := startProc(t, bin, cfgPath, "")
	fillPty(t, slave)
	if err := rig.Scanner.Send(rig.Ticket(t, 5001, 5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	p.waitLog("pulse", "")
	time.Sleep(300 * time.Millisecond) // the ON frame's write blocks
	start := time.Now()
	err = p.Stop(syscall.SIGTERM, stopWait)
	took := time.Since(start)
	t.Logf("exited %v after SIGTERM: %v", took.Round(time.Millisecond), err)
	if took > exitLimit+2*time.Second {
		t.Errorf("exited %v after SIGTERM, documented limit %v", took, exitLimit)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Errorf("exit %v, want status %d (the lane did not stop cleanly)", err, exitFailure)
	}
	m := p.waitLog("lane stop limit passed; left running", "")
	var left []string
	if l, ok := m["still_running"].([]any); ok {
		for _, v := range l {
			s, _ := v.(string)
			left = append(left, s)
		}
	}
	for _, want := range []string{"barrier halt", "lane runner (pulse)", "relay link"} {
		if !slices.Contains(left, want) {
			t.Errorf("still_running %q lacks %q:\n%s", left, want, p.log())
		}
	}
	p.waitLog("lane did not stop cleanly", "")
}

// localeEnv is the environment with the locale variables replaced by set.
func localeEnv(set ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "LANG" || k == "LANGUAGE" || strings.HasPrefix(k, "LC_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, set...)
}

// Under LANG=C.UTF-8 (Debian's default in containers and services) a
// command that shows no window writes nothing of Fyne's to stderr: no
// "Fyne error: Error parsing user locale C", before a fee or before the
// JSON log of a headless lane.
func TestQuietUnderCUTF8(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	cfg := testConfig(t)
	for _, locale := range [][]string{{"LANG=C.UTF-8"}, {"LC_ALL=C.utf8", "LANG=en_US.UTF-8"}, {"LANG=POSIX.UTF-8"}, {"LANG=C"}, {"LANG=en_US.UTF-8"}} {
		cmd := exec.Command(bin, "fee", "--config", cfg, "--entry", "2026-03-02 10:00", "--exit", "2026-03-02 12:00")
		cmd.Env = localeEnv(locale...)
		p := proctest.Start(t, cmd)
		if err := p.Wait(time.Minute); err != nil {
			t.Fatalf("%v fee: %v\n%s", locale, err, p.Stderr())
		}
		if s := p.Stderr(); s != "" {
			t.Errorf("%v: fee wrote to stderr:\n%s", locale, s)
		}
	}

	rig := simtest.New(t, "1s")
	cmd := exec.Command(bin, "run", "--headless", "--config", rig.ConfigPath)
	cmd.Env = localeEnv("LANG=C.UTF-8")
	p := &laneProc{Proc: proctest.Start(t, cmd), t: t}
	p.waitLog("lane running", "")
	p.stop()
	for _, l := range p.Lines() {
		if _, ok := logRecord(l); !ok {
			t.Errorf("run --headless under LANG=C.UTF-8: a stderr line that is not JSON: %q", l)
		}
	}
}
