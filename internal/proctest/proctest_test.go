package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the process under test: with PROCTEST_HELPER
// set, TestMain runs the named behaviour instead of the tests.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCTEST_HELPER") {
	case "":
		os.Exit(m.Run())
	case "hang":
		fmt.Fprintln(os.Stderr, "helper ready")
		hangHere()
	case "lines":
		fmt.Fprintln(os.Stderr, "one")
		fmt.Fprint(os.Stderr, "two\nthr")
		time.Sleep(100 * time.Millisecond)
		fmt.Fprintln(os.Stderr, "ee")
		fmt.Println("out")
		os.Exit(3)
	}
}

// hangHere blocks forever in a function a goroutine dump names.
func hangHere() {
	for {
		time.Sleep(time.Hour)
	}
}

func helper(behaviour string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROCTEST_HELPER="+behaviour)
	return cmd
}

// failRecorder is a testing.TB whose Fatalf records instead of ending the
// test, so the failure itself can be checked.
type failRecorder struct {
	testing.TB
	failed string
}

func (f *failRecorder) Helper() {}
func (f *failRecorder) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestWaitPastDeadlineDumpsGoroutines(t *testing.T) {
	rec := &failRecorder{TB: t}
	p := Start(rec, helper("hang"))
	p.WaitLine(30*time.Second, "ready", func(l string) bool { return l == "helper ready" })
	start := time.Now()
	p.Wait(200 * time.Millisecond)
	if took := time.Since(start); took > 200*time.Millisecond+DumpWait+2*time.Second {
		t.Errorf("Wait past its deadline took %v", took)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("process still running after Wait gave up")
	}
	for _, want := range []string{"still running after 200ms", "SIGQUIT", "goroutine ", "proctest.hangHere"} {
		if !strings.Contains(rec.failed, want) {
			t.Errorf("failure message lacks %q:\n%s", want, Tail(rec.failed, 3000))
		}
	}
}

func TestWaitLineAndExit(t *testing.T) {
	p := Start(t, helper("lines"))
	if l := p.WaitLine(30*time.Second, "three", func(l string) bool { return strings.HasPrefix(l, "thr") }); l != "three" {
		t.Errorf("WaitLine = %q, want the whole line", l)
	}
	err := p.Wait(30 * time.Second)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Errorf("Wait = %v, want exit status 3", err)
	}
	if got := strings.Join(p.Lines(), "|"); got != "one|two|three" {
		t.Errorf("Lines = %q", got)
	}
}

func TestWaitLineFailsWhenTheProcessExits(t *testing.T) {
	rec := &failRecorder{TB: t}
	p := Start(rec, helper("lines"))
	p.WaitLine(30*time.Second, "a line never written", func(l string) bool { return l == "four" })
	if !strings.Contains(rec.failed, "exited (exit status 3) before a line never written") || !strings.Contains(rec.failed, "three") {
		t.Errorf("failure: %q", rec.failed)
	}
}

func TestOutput(t *testing.T) {
	out, err := Output(t, helper("lines"), 30*time.Second)
	if string(out) != "out\n" {
		t.Errorf("stdout %q", out)
	}
	if err == nil || !strings.Contains(err.Error(), "three") {
		t.Errorf("error %v, want the exit status with stderr", err)
	}
	both, _ := CombinedOutput(t, helper("lines"), 30*time.Second)
	if s := string(both); !strings.Contains(s, "out") || !strings.Contains(s, "two") || !strings.Contains(s, "ee") {
		t.Errorf("combined %q", s)
	}
}

func TestCleanupKills(t *testing.T) {
	var p *Proc
	t.Run("leaves it running", func(t *testing.T) {
		p = Start(t, helper("hang"))
		p.WaitLine(30*time.Second, "ready", func(l string) bool { return l == "helper ready" })
	})
	select {
	case <-p.Done():
	default:
		t.Fatal("still running after the subtest's cleanup")
	}
	if ws, ok := p.Err().(*exec.ExitError); !ok || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("ended with %v, want SIGKILL", p.Err())
	}
}
