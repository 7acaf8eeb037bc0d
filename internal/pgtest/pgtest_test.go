package pgtest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/exitlane/exitlane/internal/proctest"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, ctx context.Context, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestNewDBIsFreshPerTest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, b := NewDB(t), NewDB(t)
	if a == b {
		t.Fatalf("two databases with one URL %s", a)
	}
	ca, cb := connect(t, ctx, a), connect(t, ctx, b)
	if _, err := ca.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := cb.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_a'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("a table of one test's database is visible in another's")
	}
	var v string
	if err := ca.QueryRow(ctx, `SHOW server_version`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	t.Logf("server %s at %s", v, a)
}

func TestClusterStopStartClose(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := NewCluster(t)
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
	pid := c.pid()
	if pid == 0 {
		t.Fatal("no postmaster pid while running")
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
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
	pid = c.pid()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("postmaster %d alive after Close", pid)
	}
	if _, err := os.Stat(c.Dir()); !os.IsNotExist(err) {
		t.Fatalf("%s not removed: %v", c.Dir(), err)
	}
}

// TestGuardCleansUpAfterTheTestDies runs a child test binary that starts a
// cluster and is then killed with SIGKILL, before any cleanup: the guard
// must stop the server and remove the directory.
func TestGuardCleansUpAfterTheTestDies(t *testing.T) {
	if os.Getenv("PGTEST_HELPER") == "1" {
		c, err := New(context.Background())
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(c.Dir(), c.pid())
		select {} // killed by the parent
	}
	require(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGuardCleansUpAfterTheTestDies$")
	cmd.Env = append(os.Environ(), "PGTEST_HELPER=1")
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
	case <-time.After(startTimeout):
		t.Fatalf("helper did not start a cluster; its goroutines (SIGQUIT) and stderr:\n%s", p.Dump())
	}
	if pid == 0 || !alive(pid) {
		t.Fatalf("helper's postmaster %d not running", pid)
	}
	p.Signal(syscall.SIGKILL)
	p.Wait(30 * time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) || exists(dir) {
		if time.Now().After(deadline) {
			// Do not leave it behind ourselves.
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_ = os.RemoveAll(dir)
			t.Fatalf("20 s after the test binary died: postmaster alive=%t, %s exists=%t", alive(pid), dir, exists(dir))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
