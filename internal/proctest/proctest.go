// Package proctest starts processes for tests so that none can hang a
// test run, and a hang says where it is.
//
// Every wait has a deadline. A process still running at its deadline is
// sent SIGQUIT, on which a Go program prints every goroutine's stack to
// stderr and exits; a few seconds later it is killed; and the test fails
// with the end of the process's stderr, the goroutine dump included. A
// process the test leaves running is killed at the test's cleanup.
//
//	p := proctest.Start(t, exec.Command(bin, "run", "--headless", ...))
//	p.WaitLine(10*time.Second, func(l string) bool { return strings.Contains(l, "lane running") })
//	p.Signal(syscall.SIGTERM)
//	err := p.Wait(15 * time.Second) // fails the test (with the dump) past 15 s
//
// One-shot tools (go build, zbarimg, ImageMagick) run with Output or
// CombinedOutput, with the same deadline and dump.
package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DumpWait is how long a process may take to print its goroutines and
// exit after SIGQUIT before it is killed.
const DumpWait = 5 * time.Second

// maxReport is how much of the end of a process's stderr a failure
// message carries.
const maxReport = 64 << 10

// Proc is a started process whose stderr is collected.
type Proc struct {
	t         testing.TB
	cmd       *exec.Cmd
	name      string
	ownStderr bool // cmd.Stderr is the caller's file: nothing collected

	mu     sync.Mutex
	stderr bytes.Buffer
	more   chan struct{} // closed and replaced on each write to stderr

	done chan struct{} // closed when the process has exited and its stderr is read
	err  error         // cmd.Wait's result, set before done is closed
}

// Start starts cmd and collects its stderr (passing it on to cmd.Stderr
// too, if set). When cmd.Stderr is an *os.File (a pipe the test reads
// itself, a stream the child must see as its own) it is left as the
// child's stderr: Stderr is then empty, and a goroutine dump goes to that
// file. The process is killed at the test's cleanup if it still runs. A
// start that fails fails the test.
func Start(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	p := &Proc{t: t, cmd: cmd, name: name(cmd), more: make(chan struct{}), done: make(chan struct{})}
	if _, ok := cmd.Stderr.(*os.File); ok {
		p.ownStderr = true
	} else {
		w := io.Writer(&stderrWriter{p})
		if cmd.Stderr != nil {
			w = io.MultiWriter(w, cmd.Stderr)
		}
		cmd.Stderr = w
	}
	if cmd.WaitDelay == 0 {
		// A child that keeps the stderr pipe open must not hold Wait.
		cmd.WaitDelay = DumpWait
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.name, err)
	}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			select {
			case <-p.done:
			case <-time.After(2 * DumpWait):
				t.Errorf("%s (pid %d) did not end after SIGKILL", p.name, cmd.Process.Pid)
			}
		}
	})
	return p
}

func name(cmd *exec.Cmd) string {
	return strings.Join(cmd.Args, " ")
}

type stderrWriter struct{ p *Proc }

func (w *stderrWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	w.p.stderr.Write(b)
	close(w.p.more)
	w.p.more = make(chan struct{})
	return len(b), nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process (nothing if it has exited).
func (p *Proc) Signal(sig os.Signal) {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(sig)
	}
}

// Done is closed once the process has exited and its stderr is read.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Err is the process's exit error (cmd.Wait's) once Done is closed.
func (p *Proc) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Stderr is what the process wrote to stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Lines are the complete lines of stderr so far.
func (p *Proc) Lines() []string {
	s := p.Stderr()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// Wait waits up to d for the process to exit and returns its exit error.
// Past d the process's goroutines are dumped (SIGQUIT), it is killed, and
// the test fails with its stderr.
func (p *Proc) Wait(d time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.Err()
	case <-time.After(d):
	}
	p.t.Fatalf("%s (pid %d) still running after %v; its goroutines (SIGQUIT) and stderr:\n%s", p.name, p.Pid(), d, p.Dump())
	return nil
}

// Stop sends sig and waits up to d for the process to exit (see Wait).
func (p *Proc) Stop(sig os.Signal, d time.Duration) error {
	p.t.Helper()
	p.Signal(sig)
	return p.Wait(d)
}

// Dump ends a process that is still running: SIGQUIT (a Go program prints
// every goroutine's stack to stderr and exits), then SIGKILL after
// DumpWait. It returns the end of the process's stderr, for a failure
// message. Tests call it when they give up on a process for any reason.
func (p *Proc) Dump() string {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-p.done:
		case <-time.After(DumpWait):
			_ = p.cmd.Process.Kill()
			select {
			case <-p.done:
			case <-time.After(DumpWait):
			}
		}
	}
	if p.ownStderr {
		return "(stderr, with the goroutine dump, went to the test's own file)"
	}
	return Tail(p.Stderr(), maxReport)
}

// WaitLine waits up to d for a line of stderr that match accepts and
// returns it. If the process exits first, or d passes, the test fails
// with its stderr (and, past d, its goroutines).
func (p *Proc) WaitLine(d time.Duration, what string, match func(line string) bool) string {
	p.t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	seen := 0
	for {
		p.mu.Lock()
		more := p.more
		p.mu.Unlock()
		lines := p.Lines()
		for _, l := range lines[seen:] {
			if match(l) {
				return l
			}
		}
		seen = len(lines)
		select {
		case <-more:
		case <-p.done:
			// Read what was written before the exit, then give up.
			for _, l := range p.Lines()[seen:] {
				if match(l) {
					return l
				}
			}
			p.t.Fatalf("%s exited (%v) before %s; stderr:\n%s", p.name, p.Err(), what, Tail(p.Stderr(), maxReport))
			return ""
		case <-deadline.C:
			p.t.Fatalf("%s: no %s within %v; its goroutines (SIGQUIT) and stderr:\n%s", p.name, what, d, p.Dump())
			return ""
		}
	}
}

// Output runs a one-shot command to its end within d and returns its
// stdout; its stderr is in the error (an *exec.ExitError's Stderr too).
// Past d the command is dumped and killed, and the test fails.
func Output(t testing.TB, cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout = &out
	p := Start(t, cmd)
	err := p.Wait(d)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ee.Stderr = []byte(p.Stderr())
		err = fmt.Errorf("%w: %s", err, Tail(p.Stderr(), maxReport))
	}
	return out.Bytes(), err
}

// CombinedOutput runs a one-shot command to its end within d and returns
// its stdout and stderr together (see Output).
func CombinedOutput(t testing.TB, cmd *exec.Cmd, d time.Duration) ([]byte, error) {
	t.Helper()
	var out syncBuffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	p := Start(t, cmd)
	err := p.Wait(d)
	return out.Bytes(), err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(b)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// Tail is the last n bytes of s, marked as cut when it is.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
