package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stopperForTest is a stopper whose exit is recorded instead of ending
// the test binary, logging JSON to a buffer.
func stopperForTest(t *testing.T, limit time.Duration) (*stopper, *syncBuf, chan int) {
	t.Helper()
	var logs syncBuf
	s := stopOnSignal(slog.New(slog.NewJSONHandler(&logs, nil)), limit)
	exited := make(chan int, 1)
	s.exit = func(code int) { exited <- code }
	s.stacks = io.Discard
	t.Cleanup(s.release)
	return s, &logs, exited
}

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// record finds the JSON log record with msg.
func record(t *testing.T, logs, msg string) map[string]any {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg {
			return m
		}
	}
	t.Fatalf("no %q record in:\n%s", msg, logs)
	return nil
}

// After the first signal the context ends; past the limit the process
// exits anyway (status 1), logging the command's and the lane's parts
// that were still running.
func TestStopperExitsPastTheLimit(t *testing.T) {
	s, logs, exited := stopperForTest(t, 200*time.Millisecond)
	var stacks syncBuf
	s.stacks = &stacks
	s.part("display")
	s.lane(func() []string { return []string{"barrier halt", "relay link"} })
	s.sigs <- syscall.SIGTERM
	select {
	case <-s.ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the signal did not end the context")
	}
	start := time.Now()
	select {
	case code := <-exited:
		if code != exitFailure {
			t.Errorf("exit %d, want %d", code, exitFailure)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit past the limit")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("exit %v after the signal, limit 200ms", took)
	}
	record(t, logs.String(), "stopping on signal")
	m := record(t, logs.String(), "stop limit passed: exiting anyway")
	var got []string
	for _, v := range m["still_running"].([]any) {
		got = append(got, v.(string))
	}
	if want := []string{"display", "lane: barrier halt", "lane: relay link"}; !slices.Equal(got, want) {
		t.Errorf("still_running %q, want %q", got, want)
	}
	// Every goroutine's stack, this test's own among them: what a hang
	// is stuck in.
	if st := stacks.String(); !strings.HasPrefix(st, "goroutines still running at exit:\ngoroutine ") || !strings.Contains(st, "TestStopperExitsPastTheLimit") {
		t.Errorf("stacks written at exit:\n%.400s", st)
	}
}

// A second signal exits at once.
func TestStopperSecondSignal(t *testing.T) {
	s, logs, exited := stopperForTest(t, time.Hour)
	s.sigs <- syscall.SIGINT
	<-s.ctx.Done()
	s.sigs <- syscall.SIGINT
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("no exit on the second signal")
	}
	record(t, logs.String(), "second signal: exiting now")
}

// A command that returns in time is not exited, with or without a signal.
func TestStopperReleased(t *testing.T) {
	// The limit leaves room for this goroutine to be held up on a loaded
	// machine between the signal and release; the wait is past it.
	s, _, exited := stopperForTest(t, 2*time.Second)
	s.sigs <- syscall.SIGTERM
	<-s.ctx.Done()
	done := s.part("display")
	done()
	s.release()
	s.release() // idempotent
	select {
	case <-exited:
		t.Fatal("exited after the command returned")
	case <-time.After(2500 * time.Millisecond):
	}
	s2, _, exited2 := stopperForTest(t, 10*time.Millisecond)
	s2.release()
	if s2.ctx.Err() == nil {
		t.Error("release left the context running")
	}
	select {
	case <-exited2:
		t.Fatal("exited without a signal")
	case <-time.After(100 * time.Millisecond):
	}
}

// A display that does not return after the lane stopped (a toolkit hang)
// does not keep the process: past displayLimit the command's stop is
// finished without it, with finish's exit code, the stacks written.
func TestStopperOutlivesAStuckDisplay(t *testing.T) {
	s, logs, exited := stopperForTest(t, time.Hour)
	var stacks syncBuf
	s.stacks = &stacks
	stopped, returned := make(chan struct{}), make(chan struct{})
	var finished atomic.Int32
	go s.outlive("display", stopped, returned, 100*time.Millisecond, func() int { finished.Add(1); return exitOK })
	s.sigs <- syscall.SIGTERM
	<-s.ctx.Done()
	// The lane still stopping: the display is not given up on.
	select {
	case <-exited:
		t.Fatal("exited before the lane stopped")
	case <-time.After(300 * time.Millisecond):
	}
	start := time.Now()
	close(stopped)
	select {
	case code := <-exited:
		if code != exitOK {
			t.Errorf("exit %d, want finish's %d", code, exitOK)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit with the display stuck")
	}
	if took := time.Since(start); took < 100*time.Millisecond {
		t.Errorf("gave up on the display %v after the lane stopped, limit 100ms", took)
	}
	if n := finished.Load(); n != 1 {
		t.Errorf("finish called %d times, want 1", n)
	}
	record(t, logs.String(), "display did not close; finishing the stop without it")
	if !strings.Contains(stacks.String(), "TestStopperOutlivesAStuckDisplay") {
		t.Errorf("stacks written:\n%.400s", stacks.String())
	}
}

// A display that returns, or a lane that ends without a signal, is not
// given up on.
func TestStopperOutliveWatchEnds(t *testing.T) {
	finish := func() int { t.Error("finish called"); return exitFailure }
	// The display returns within the limit.
	s, _, exited := stopperForTest(t, time.Hour)
	stopped, returned := make(chan struct{}), make(chan struct{})
	ended := make(chan struct{})
	go func() { defer close(ended); s.outlive("display", stopped, returned, 200*time.Millisecond, finish) }()
	s.sigs <- syscall.SIGTERM
	<-s.ctx.Done()
	close(stopped)
	close(returned)
	<-ended
	// The lane ends on its own (no signal): the display stays.
	s2, _, exited2 := stopperForTest(t, time.Hour)
	stopped2 := make(chan struct{})
	close(stopped2)
	go s2.outlive("display", stopped2, make(chan struct{}), 10*time.Millisecond, finish)
	select {
	case <-exited:
		t.Fatal("exited with the display returned")
	case <-exited2:
		t.Fatal("exited without a signal")
	case <-time.After(300 * time.Millisecond):
	}
}
