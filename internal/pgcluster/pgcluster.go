// Package pgcluster runs a private PostgreSQL cluster: initdb and pg_ctl
// in a directory, listening on a free loopback port (and a Unix socket in
// the same directory when its path is short enough), trust authentication
// for the user "exitlane". As root the server runs as the postgres system
// user (initdb refuses root), through runuser.
//
// The tests' throwaway clusters (internal/pgtest) and the site store of
// "exitlane sim --lanes N" use it. A cluster is stopped with a deadline:
// by Close (pg_ctl stop -m fast, then SIGQUIT and SIGKILL) and, should the
// process that started it die without closing it (a panic, a test
// -timeout, SIGKILL), by a guard process that notices its parent is gone.
package pgcluster

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
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// User is the cluster's superuser, who connects without a password.
const User = "exitlane"

// Deadlines for starting and stopping a cluster.
const (
	StartTimeout = 60 * time.Second
	StopTimeout  = 15 * time.Second
)

// ErrNoServer: the PostgreSQL server binaries are not installed.
var ErrNoServer = errors.New("pgcluster: PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin; on Debian: apt-get install postgresql)")

// ErrUnreachable: running as root, the postgres user cannot reach the
// cluster's directory through its parents.
var ErrUnreachable = errors.New("pgcluster: the postgres user cannot reach the directory")

// BinDir finds the PostgreSQL server binaries: $PGTEST_BINDIR, else the
// newest /usr/lib/postgresql/N/bin (Debian's layout), else initdb on PATH.
func BinDir() (string, error) {
	if d := os.Getenv("PGTEST_BINDIR"); d != "" {
		if !hasServer(d) {
			return "", fmt.Errorf("pgcluster: PGTEST_BINDIR=%s has no initdb, pg_ctl and postgres: %w", d, ErrNoServer)
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
	return "", ErrNoServer
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

// Options configure New.
type Options struct {
	// Dir holds the cluster: its data directory (Dir/data), log (Dir/log)
	// and socket. A cluster already initialised there is started again
	// (its databases kept); Close stops it and leaves the directory.
	// Empty: a new temporary directory, removed by Close.
	Dir string
	// Settings are extra server settings (name=value), e.g.
	// "max_connections=300".
	Settings []string
}

// Cluster is one PostgreSQL cluster of ours.
type Cluster struct {
	dir      string // socket, log and data/ (the server's)
	temp     bool   // removed by Close
	bin      string
	port     int
	socket   bool // a Unix socket in dir (its path is short enough)
	root     bool // run the server binaries as postgres through runuser
	settings []string

	guard     *exec.Cmd
	guardDone io.WriteCloser

	mu     sync.Mutex
	closed bool
}

// New initialises (or finds) and starts a cluster. Close stops it.
func New(ctx context.Context, o Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: o.Dir, bin: bin, root: os.Geteuid() == 0, settings: o.Settings}
	if c.dir == "" {
		// Not a test's TempDir: the socket path must stay under ~100 bytes.
		if c.dir, err = os.MkdirTemp("", "pgt"); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		c.temp = true
	} else {
		if c.dir, err = filepath.Abs(c.dir); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.MkdirAll(c.dir, 0o700); err != nil {
			return nil, fmt.Errorf("pgcluster: %w", err)
		}
	}
	// The socket's path is limited to about 100 bytes; a longer one is
	// left out (TCP on loopback only).
	c.socket = len(c.dir)+len("/.s.PGSQL.65535.lock") < 100
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
			return fmt.Errorf("pgcluster: running as root needs the postgres system user (apt-get install postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if err := os.Chmod(c.dir, 0o700); err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		// The postgres user must reach the directory through its parents.
		if err := c.run(ctx, "test", "-x", c.dir); err != nil {
			return fmt.Errorf("%w: %s (make its parents searchable, or set TMPDIR): %v", ErrUnreachable, c.dir, err)
		}
	}
	if err := c.startGuard(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.data(), "PG_VERSION")); err != nil {
		if err := c.run(ctx, filepath.Join(c.bin, "initdb"), "-D", c.data(), "-A", "trust", "-U", User,
			"-E", "UTF8", "--locale=C", "-N"); err != nil {
			return fmt.Errorf("pgcluster: initdb: %w", err)
		}
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

// Port is the loopback TCP port.
func (c *Cluster) Port() int { return c.port }

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
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	socket := "''"
	if c.socket {
		socket = c.dir
	}
	opts := fmt.Sprintf("-h 127.0.0.1 -p %d -k %s -c shared_buffers=32MB -c max_connections=200", c.port, socket)
	for _, s := range c.settings {
		opts += " -c " + s
	}
	err := c.run(ctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-o", opts, "-l", filepath.Join(c.dir, "log"),
		"-w", "-t", strconv.Itoa(int(StartTimeout/time.Second)), "start")
	if err != nil {
		return fmt.Errorf("pgcluster: start on port %d: %w\n%s", c.port, err, tail(c.Log(), 2000))
	}
	return nil
}

// Stop stops the server (pg_ctl stop -m fast); if it is still running
// after the deadline, its postmaster gets SIGQUIT, then SIGKILL.
func (c *Cluster) Stop(ctx context.Context) error {
	pid := c.PID()
	if pid == 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, StopTimeout)
	defer cancel()
	// pg_ctl -w returns once postmaster.pid is gone, a moment before the
	// process has exited: wait for that too.
	err := c.run(sctx, filepath.Join(c.bin, "pg_ctl"), "-D", c.data(), "-m", "fast", "-w",
		"-t", strconv.Itoa(int(StopTimeout/time.Second)), "stop")
	if err == nil && Exited(pid, 5*time.Second) {
		return nil
	}
	for _, sig := range []syscall.Signal{syscall.SIGQUIT, syscall.SIGKILL} {
		_ = syscall.Kill(pid, sig)
		if Exited(pid, 5*time.Second) {
			return nil
		}
	}
	return fmt.Errorf("pgcluster: postmaster %d still running after SIGKILL", pid)
}

// Close stops the server and removes a temporary directory. Safe to call
// twice.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	err := c.Stop(context.Background())
	if c.temp {
		if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
			err = fmt.Errorf("pgcluster: %w", rerr)
		}
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
		return "", fmt.Errorf("pgcluster: create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// EnsureDB creates database name unless it exists, and returns its URL.
func (c *Cluster) EnsureDB(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&n)
	conn.Close(context.Background())
	if err != nil {
		return "", fmt.Errorf("pgcluster: %w", err)
	}
	if n > 0 {
		return c.URL(name), nil
	}
	return c.CreateDB(ctx, name)
}

// DropDB drops database name, ending its sessions.
func (c *Cluster) DropDB(ctx context.Context, name string) error {
	if err := c.admin(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgcluster: drop database %s: %w", name, err)
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

// PID is the running postmaster's pid, from postmaster.pid (0: none).
func (c *Cluster) PID() int {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	if pid <= 0 || !Alive(pid) {
		return 0
	}
	return pid
}

// Exited waits up to d for process pid to exit.
func Exited(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); Alive(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// Alive reports whether process pid runs. A zombie does not: a server
// started by pg_ctl is reparented to PID 1, which may be slow to reap it.
func Alive(pid int) bool {
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
// closes, read fails, and the guard stops the server (and removes a
// temporary directory). It runs in its own process group, so that a
// signal to our group (Ctrl-C in a terminal) does not take it down too.
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
[ "$2" = remove ] && rm -rf "$1"
exit 0`
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pgcluster: guard: %w", err)
	}
	remove := "keep"
	if c.temp {
		remove = "remove"
	}
	cmd := exec.Command("sh", "-c", script, "pgcluster-guard", c.dir, remove)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return fmt.Errorf("pgcluster: guard: %w", err)
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
		return 0, fmt.Errorf("pgcluster: free port: %w", err)
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
