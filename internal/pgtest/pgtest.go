// Package pgtest starts throwaway PostgreSQL clusters for tests: initdb and
// pg_ctl in a temporary directory, listening on a free loopback port and a
// socket in the same (short) directory, trust authentication for the user
// "exitlane". As root the server runs as the postgres system user (initdb
// refuses root), through runuser.
//
// A test binary shares one cluster (started on first use by NewDB, stopped
// by Main after the tests) and each test gets a fresh database, dropped in
// its cleanup. Tests that stop and restart the server get a cluster of
// their own from NewCluster.
//
// Every cluster is stopped and removed with a deadline: by Close (pg_ctl
// stop -m fast, then SIGQUIT and SIGKILL), and, should the test binary die
// without cleaning up (a panic, a -timeout, SIGKILL), by a guard process
// that notices its parent is gone.
//
// Without the server binaries the tests skip, saying why, unless CI=true,
// where they fail: CI installs the postgresql package (make deps-test).
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// User is the cluster's superuser, who connects without a password.
const User = "exitlane"

// Deadlines for starting and stopping a cluster.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 15 * time.Second
)

// BinDir finds the PostgreSQL server binaries: $PGTEST_BINDIR, else the
// newest /usr/lib/postgresql/N/bin (Debian's layout), else initdb on PATH.
func BinDir() (string, error) {
	if d := os.Getenv("PGTEST_BINDIR"); d != "" {
		if !hasServer(d) {
			return "", fmt.Errorf("pgtest: PGTEST_BINDIR=%s has no initdb, pg_ctl and postgres", d)
		}
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		if hasServer(d) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil && hasServer(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	return "", errors.New("pgtest: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin; on Debian: apt-get install postgresql)")
}

func version(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

func hasServer(dir string) bool {
	for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.IsDir() {
			return false
		}
	}
	return true
}

// Cluster is one throwaway PostgreSQL cluster.
type Cluster struct {
	dir  string // socket, log and data/ (the server's)
	bin  string
	port int
	root bool // run the server binaries as postgres through runuser

	guard     *exec.Cmd
	guardDone io.WriteCloser

	mu     sync.Mutex
	closed bool
}

// New creates and starts a cluster. Close stops and removes it.
func New(ctx context.Context) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir(): the socket path must stay under ~100 bytes.
	dir, err := os.MkdirTemp("", "pgt")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, bin: bin, root: os.Geteuid() == 0}
	if err := c.init(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) init(ctx context.Context) error {
	if c.root {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("pgtest: running as root needs the postgres system user (apt-get install postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
		// The postgres user must reach the directory through its parents.
		if err := c.run(ctx, "test", "-x", c.dir); err != nil {
			return fmt.Errorf("pgtest: the postgres user cannot reach %s (set TMPDIR to a directory it can): %w", c.dir, err)
		}
	}
	if err := c.startGuard(); err != nil {
		return err
	}
	if err := c.run(ctx, filepath.Join(c.bin, "initdb"), "-D", c.data(), "-A", "trust", "-U", User,
		"-E", "UTF8", "--locale=C", "-N"); err != nil {
		return fmt.Errorf("pgtest: initdb: %w", err)
	}
	var err error
	for range 3 { // a free port may be taken between the probe and the bind
		if c.port, err = freePort(); err != nil {
			return err
		}
		if err = c.Start(ctx); err == nil {
			return nil
		}
		if !strings.Contains(c.Log(), "could not bind") {
			return err
		}
	}
	return err
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

// Dir is the cluster's directory (its log is Dir()/log).
func (c *Cluster) Dir() string { return c.dir }

// Log returns the server log (for a failing test's message).
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "log"))
	return string(b)
}

// URL is the connection URL of database db.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(User), Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// Start starts the server (again, after Stop) and waits until it accepts
// connections.
func (c *Cluster) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c shared_buffers=32MB -c max_connections=200", c.port, c.dir)
	err := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "log"),
		"-w", "-t", strconv.Itoa(int(startTimeout/time.Second)), "start")
	if err != nil {
		return fmt.Errorf("pgtest: start on port %d: %w\n%s", c.port, err, tail(c.Log(), 2000))
	}
	return nil
}

// Stop stops the server (pg_ctl stop -m fast); if it is still running
// after the deadline, its postmaster gets SIGQUIT, then SIGKILL.
func (c *Cluster) Stop(ctx context.Context) error {
	pid := c.pid()
	if pid == 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, stopTimeout)
	defer cancel()
	// pg_ctl -w returns once postmaster.pid is gone, a moment before the
	// process has exited: wait for that too.
	err := c.run(sctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-m", "fast", "-w",
		"-t", strconv.Itoa(int(stopTimeout/time.Second)), "stop")
	if err == nil && exited(pid, 5*time.Second) {
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGKILL} {
		_ = syscall.Kill(pid, sig)
		if exited(pid, 5*time.Second) {
			return nil
		}
	}
	return fmt.Errorf("pgtest: postmaster %d still running after SIGKILL", pid)
}

// Close stops the server and removes its directory. Safe to call twice.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.Stop(context.Background())
	if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
		err = fmt.Errorf("pgtest: %w", rerr)
	}
	if c.guard != nil {
		// Cleaned up: tell the guard to leave without doing anything.
		_, _ = io.WriteString(c.guardDone, "done\n")
		c.guardDone.Close()
		waitOrKill(c.guard, 5*time.Second)
	}
	return err
}

// CreateDB creates database name and returns its URL.
func (c *Cluster) CreateDB(ctx context.Context, name string) (string, error) {
	if err := c.admin(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// DropDB drops database name, ending its sessions.
func (c *Cluster) DropDB(ctx context.Context, name string) error {
	if err := c.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", name, err)
	}
	return nil
}

func (c *Cluster) admin(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// pid is the running postmaster's pid, from postmaster.pid (0: none).
func (c *Cluster) pid() int {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	if pid <= 0 || !alive(pid) {
		return 0
	}
	return pid
}

// alive reports whether process pid runs. A zombie does not: a server
// started by pg_ctl is reparented to PID 1, which may be slow to reap it.
func exited(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !os.IsNotExist(err)
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z'
	}
	return true
}

// run runs one server binary (as postgres when root) with the context's
// deadline, returning its output in the error.
func (c *Cluster) run(ctx context.Context, name string, args ...string) error {
	if c.root {
		args = append([]string{"-u", "postgres", "--", name}, args...)
		name = "runuser"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Dir = c.dir
	// pg_ctl's server does not keep our pipes, but never wait for them
	// forever if something does.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", filepath.Base(name), strings.Join(args, " "), err, tail(out.String(), 2000))
	}
	return nil
}

// startGuard starts a shell that waits for a line on a pipe from this
// process. Close writes "done"; if this process dies first, the pipe
// closes, read fails, and the guard stops the server and removes the
// directory. It runs in its own process group, so that a signal to the
// test's group does not take it down too.
func (c *Cluster) startGuard() error {
	const script = `IFS= read -r line
[ "$line" = done ] && exit 0
pidfile="$1/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  kill -QUIT "$pid" 2>/dev/null
  for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null
fi
rm -rf "$1"`
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pgtest: guard: %w", err)
	}
	cmd := exec.Command("sh", "-c", script, "pgtest-guard", c.dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("pgtest: guard: %w", err)
	}
	r.Close()
	c.guard, c.guardDone = cmd, w
	return nil
}

func waitOrKill(cmd *exec.Cmd, d time.Duration) {
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// require skips (or, under CI=true, fails) a test when there are no
// server binaries.
func require(t testing.TB) {
	t.Helper()
	if _, err := BinDir(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v; CI=true, so this is a failure: CI must install the postgresql package (make deps-test)", err)
		}
		t.Skipf("%v: skipping the PostgreSQL tests (they fail instead under CI=true)", err)
	}
}

// NewCluster starts a cluster of the test's own (for tests that stop and
// restart the server), closed in the test's cleanup.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	require(t)
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	c, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("pgtest: close: %v", err)
		}
	})
	return c
}

// The cluster shared by the tests of one binary.
var shared struct {
	mu      sync.Mutex
	main    bool // Main runs: it closes the cluster
	c       *Cluster
	err     error
	started bool
}

var dbSeq atomic.Int64

// Main runs the tests (m.Run), closes the shared cluster if a test started
// it, and exits. Call it from TestMain in every package that uses NewDB:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	if shared.c != nil {
		if err := shared.c.Close(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			if code == 0 {
				code = 1
			}
		}
	}
	shared.mu.Unlock()
	os.Exit(code)
}

// Shared returns the test binary's shared cluster, starting it on first
// use. It needs Main in TestMain (which closes it).
func Shared(t testing.TB) *Cluster {
	t.Helper()
	require(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.main {
		t.Fatal("pgtest: the shared cluster needs func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	if !shared.started {
		shared.started = true
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		shared.c, shared.err = New(ctx)
		cancel()
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.c
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// NewDB creates a fresh database in the shared cluster for this test,
// dropped in its cleanup, and returns its URL.
func NewDB(t testing.TB) string {
	t.Helper()
	c := Shared(t)
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), notIdent.ReplaceAllString(strings.ToLower(t.Name()), "_"))
	if len(name) > 63 {
		name = name[:63]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := c.CreateDB(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.DropDB(ctx, name); err != nil {
			t.Errorf("%v", err)
		}
	})
	return u
}
