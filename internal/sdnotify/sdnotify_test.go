package sdnotify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// listen makes a unixgram socket and points $NOTIFY_SOCKET at it, as
// systemd does for a Type=notify service.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn") // short: a socket path has ~108 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return c
}

func read(t *testing.T, c *net.UnixConn, within time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(within))
	n, err := c.Read(buf)
	if err != nil {
		return "", false
	}
	return string(buf[:n]), true
}

func TestNotifyWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if sent, err := Notify("READY=1"); sent || err != nil {
		t.Fatalf("Notify with no socket: %v, %v", sent, err)
	}
	done := make(chan struct{})
	go func() { Serve(context.Background(), func(context.Context) error { return nil }, nil); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve with no socket did not return")
	}
}

func TestWatchdogInterval(t *testing.T) {
	t.Setenv("WATCHDOG_USEC", "30000000")
	t.Setenv("WATCHDOG_PID", "")
	if d := WatchdogInterval(); d != 30*time.Second {
		t.Fatalf("interval %v", d)
	}
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	if d := WatchdogInterval(); d != 0 {
		t.Fatalf("another process's watchdog: %v", d)
	}
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	t.Setenv("WATCHDOG_USEC", "nonsense")
	if d := WatchdogInterval(); d != 0 {
		t.Fatalf("bad WATCHDOG_USEC: %v", d)
	}
}

// READY=1 once the loop answers, WATCHDOG=1 while it answers, none while
// it hangs, STOPPING=1 at the end.
func TestServeReadyWatchdogStopping(t *testing.T) {
	c := listen(t)
	t.Setenv("WATCHDOG_USEC", "200000") // 200 ms: a WATCHDOG=1 every 100 ms
	t.Setenv("WATCHDOG_PID", "")
	var hung atomic.Bool
	alive := func(ctx context.Context) error {
		if hung.Load() {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Serve(ctx, alive, nil); close(done) }()
	defer func() {
		cancel()
		<-done
	}()

	if m, ok := read(t, c, 5*time.Second); !ok || !strings.HasPrefix(m, "READY=1\n") {
		t.Fatalf("first message %q, %v", m, ok)
	}
	for i := 0; i < 3; i++ {
		if m, ok := read(t, c, 5*time.Second); !ok || m != "WATCHDOG=1" {
			t.Fatalf("watchdog %d: %q, %v", i, m, ok)
		}
	}
	hung.Store(true)
	// At most one WATCHDOG=1 already on its way, then silence.
	n := 0
	for {
		m, ok := read(t, c, 600*time.Millisecond)
		if !ok {
			break
		}
		n++
		if m != "WATCHDOG=1" || n > 1 {
			t.Fatalf("while the loop hangs: %q (message %d)", m, n)
		}
	}
	hung.Store(false)
	if m, ok := read(t, c, 5*time.Second); !ok || m != "WATCHDOG=1" {
		t.Fatalf("after the loop recovered: %q, %v", m, ok)
	}
	cancel()
	for {
		m, ok := read(t, c, 5*time.Second)
		if !ok {
			t.Fatal("no STOPPING=1")
		}
		if m == "STOPPING=1" {
			break
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after the stop")
	}
}

func TestAbstractSocket(t *testing.T) {
	name := "exitlane-sdnotify-test-" + strconv.Itoa(os.Getpid())
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: "@" + name, Net: "unixgram"})
	if err != nil {
		t.Skip("no abstract sockets here:", err)
	}
	defer c.Close()
	t.Setenv("NOTIFY_SOCKET", "@"+name)
	if sent, err := Notify("READY=1"); !sent || err != nil {
		t.Fatalf("Notify: %v, %v", sent, err)
	}
	if m, ok := read(t, c, 5*time.Second); m != "READY=1" || !ok {
		t.Fatalf("got %q", m)
	}
}
