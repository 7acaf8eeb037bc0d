// Package pgtest starts throwaway PostgreSQL clusters for tests
// (internal/pgcluster: initdb and pg_ctl in a temporary directory, a free
// loopback port, trust authentication for the user "exitlane", as the
// postgres system user through runuser when root, and a guard process that
// stops the server and removes the directory should the test binary die
// without cleaning up).
//
// A test binary shares one cluster (started on first use by NewDB, stopped
// by Main after the tests) and each test gets a fresh database, dropped in
// its cleanup. Tests that stop and restart the server get a cluster of
// their own from NewCluster.
//
// Without the server binaries the tests skip, saying why, unless CI=true,
// where they fail: CI installs the postgresql package (make deps-test).
package pgtest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgcluster"
)

// User is the clusters' superuser, who connects without a password.
const User = pgcluster.User

// Cluster is one throwaway cluster.
type Cluster = pgcluster.Cluster

// BinDir finds the PostgreSQL server binaries (pgcluster.BinDir).
func BinDir() (string, error) { return pgcluster.BinDir() }

// New creates and starts a throwaway cluster in a temporary directory.
// Close stops and removes it.
func New(ctx context.Context) (*Cluster, error) { return pgcluster.New(ctx, pgcluster.Options{}) }

const startTimeout = pgcluster.StartTimeout

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
