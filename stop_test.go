package main

import (
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
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
	s, _, exited := stopperForTest(t, 100*time.Millisecond)
	s.sigs <- syscall.SIGTERM
	<-s.ctx.Done()
	done := s.part("display")
	done()
	s.release()
	s.release() // idempotent
	select {
	case <-exited:
		t.Fatal("exited after the command returned")
	case <-time.After(300 * time.Millisecond):
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
