package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
)

// "exitlane run --headless" under a Type=notify unit, as systemd starts
// it: READY=1 once the lane's loop runs (no devices, no PayBy here),
// WATCHDOG=1 from that loop, STOPPING=1 on SIGTERM; its stderr is the
// journal's stream, so each line carries its priority.
func TestRunNotifiesSystemd(t *testing.T) {
	bin := buildBinary(t)
	cfg := testConfig(t)
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sock, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "n"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	var st syscall.Stat_t
	if err := syscall.Fstat(int(pw.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--headless", "--config", cfg)
	cmd.Env = append(os.Environ(), "LANG=en_US.UTF-8", "NOTIFY_SOCKET="+filepath.Join(dir, "n"), "WATCHDOG_USEC=400000",
		fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
	cmd.Stderr = pw // the journal stream: the child's own stderr, read below
	p := proctest.Start(t, cmd)
	pw.Close()
	lines := make(chan string, 1000)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()

	read := func() string {
		buf := make([]byte, 4096)
		sock.SetReadDeadline(time.Now().Add(20 * time.Second))
		n, err := sock.Read(buf)
		if err != nil {
			var log []string
			for len(lines) > 0 {
				log = append(log, <-lines)
			}
			t.Fatalf("no notification: %v\n%s", err, strings.Join(log, "\n"))
		}
		return string(buf[:n])
	}
	if m := read(); !strings.HasPrefix(m, "READY=1") {
		t.Fatalf("first notification %q", m)
	}
	for i := 0; i < 2; i++ {
		if m := read(); m != "WATCHDOG=1" {
			t.Fatalf("notification %q, want WATCHDOG=1", m)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	for m := read(); m != "STOPPING=1"; m = read() {
		if m != "WATCHDOG=1" {
			t.Fatalf("notification %q while stopping", m)
		}
	}
	if err := p.Wait(stopWait); err != nil {
		t.Fatalf("exit: %v", err)
	}
	n := 0
	for l := range lines {
		if !strings.HasPrefix(l, "<6>{") && !strings.HasPrefix(l, "<4>{") && !strings.HasPrefix(l, "<3>{") && !strings.HasPrefix(l, "<7>{") {
			t.Errorf("log line without a priority: %q", l)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no log lines")
	}
}
