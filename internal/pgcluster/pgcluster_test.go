package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/internal/proctest"
)

// need skips without the server binaries (fails under CI=true).
func need(t *testing.T) {
	t.Helper()
	if _, err := BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func connect(t *testing.T, ctx context.Context, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestClusterStopStartClose(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := New(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if len(c.Dir()) > 40 {
		t.Errorf("socket directory %s is long; the Unix socket path limit is about 100 bytes", c.Dir())
	}
	url, err := c.CreateDB(ctx, "app")
	if err != nil {
		t.Fatal(err)
	}
	conn := connect(t, ctx, url)
	if _, err := conn.Exec(ctx, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)`); err != nil {
		t.Fatal(err)
	}
	pid := c.PID()
	if pid == 0 {
		t.Fatal("no postmaster pid while running")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if Alive(pid) {
		t.Fatalf("postmaster %d alive after Stop", pid)
	}
	if _, err := pgx.Connect(ctx, url); err == nil {
		t.Fatal("connected to a stopped server")
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var x int
	if err := connect(t, ctx, url).QueryRow(ctx, `SELECT x FROM kept`).Scan(&x); err != nil || x != 7 {
		t.Fatalf("after restart: x=%d err=%v", x, err)
	}
	pid = c.PID()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if Alive(pid) {
		t.Fatalf("postmaster %d alive after Close", pid)
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Fatalf("%s not removed: %v", c.Dir(), err)
	}
}

// A cluster in a directory of the caller's is kept by Close and started
// again, with its databases, by the next New on that directory; a path
// too long for a Unix socket serves TCP only.
func TestClusterInDirIsKept(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	parent, err := os.MkdirTemp("", "pgk")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(parent)
	long := filepath.Join(parent, strings.Repeat("d", 90))
	if err := os.Mkdir(long, 0o711); err != nil {
		t.Fatal(err)
	}
	os.Chmod(parent, 0o711) // as root, the postgres user passes through
	dir := filepath.Join(long, "pg")
	c, err := New(ctx, Options{Dir: dir, Settings: []string{"max_connections=50"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.socket {
		t.Errorf("a socket under %s (%d bytes)", dir, len(dir))
	}
	url, err := c.EnsureDB(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := c.EnsureDB(ctx, "site"); err != nil || again != url {
		t.Fatalf("EnsureDB again: %s %v", again, err)
	}
	if _, err := connect(t, ctx, url).Exec(ctx, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (9)`); err != nil {
		t.Fatal(err)
	}
	var mc string
	if err := connect(t, ctx, url).QueryRow(ctx, `SHOW max_connections`).Scan(&mc); err != nil || mc != "50" {
		t.Errorf("max_connections %s %v, want the setting 50", mc, err)
	}
	pid := c.PID()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if Alive(pid) {
		t.Fatalf("postmaster %d alive after Close", pid)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION")); err != nil {
		t.Fatalf("the cluster in %s was not kept: %v", dir, err)
	}
	c2, err := New(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	url2, err := c2.EnsureDB(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	var x int
	if err := connect(t, ctx, url2).QueryRow(ctx, `SELECT x FROM kept`).Scan(&x); err != nil || x != 9 {
		t.Fatalf("after a restart in the same directory: x=%d err=%v", x, err)
	}
	if _, err := New(ctx, Options{Dir: "/proc/none/pg"}); err == nil || errors.Is(err, ErrNoServer) {
		t.Errorf("a cluster in an impossible directory: %v", err)
	}
}

// TestGuardCleansUpAfterTheProcessDies runs a child test binary that
// starts a cluster and is then killed with SIGKILL, before any cleanup:
// the guard must stop the server and remove the temporary directory.
func TestGuardCleansUpAfterTheProcessDies(t *testing.T) {
	if os.Getenv("PGCLUSTER_HELPER") == "1" {
		c, err := New(context.Background(), Options{})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(c.Dir(), c.PID())
		select {} // killed by the parent
	}
	need(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuardCleansUpAfterTheProcessDies$")
	cmd.Env = append(os.Environ(), "PGCLUSTER_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := proctest.Start(t, cmd) // killed at cleanup if still running
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	var dir string
	var pid int
	select {
	case s := <-line:
		f := strings.Fields(s)
		if len(f) != 2 || f[0] == "error" {
			t.Fatalf("helper: %q\n%s", s, p.Stderr())
		}
		dir = f[0]
		pid, _ = strconv.Atoi(f[1])
	case <-time.After(StartTimeout):
		t.Fatalf("helper did not start a cluster; its goroutines (SIGQUIT) and stderr:\n%s", p.Dump())
	}
	if pid == 0 || !Alive(pid) {
		t.Fatalf("helper's postmaster %d not running", pid)
	}
	p.Signal(syscall.SIGKILL)
	p.Wait(30 * time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for Alive(pid) || exists(dir) {
		if time.Now().After(deadline) {
			// Do not leave it behind ourselves.
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_ = os.RemoveAll(dir)
			t.Fatalf("20 s after the process died: postmaster alive=%t, %s exists=%t", Alive(pid), dir, exists(dir))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
