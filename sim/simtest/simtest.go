// Package simtest is a test rig for a whole lane: the PayBy sandbox on
// loopback with fresh keys, the pty relay and scanner emulators of package
// sim, and a config file pointing a lane at them. The station's tests and
// the command's crash test run the real lane against it.
package simtest

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
	"github.com/exitlane/exitlane/sim"
	"github.com/exitlane/exitlane/ticket"
)

// Rig is a sandbox, a relay emulator and a scanner emulator, with a
// config file (ConfigPath) pointing the lane at them: site GRG01, lane X1.
type Rig struct {
	Dir        string
	ConfigPath string
	Sandbox    *sandbox.Server
	Relay      *sim.Relay
	Scanner    *sim.Scanner
	issuer     *ticket.Signed
}

// New makes a rig with an LCUS relay board polling PayBy every poll
// (a duration such as "1s"). Everything stops at the test's cleanup.
func New(t testing.TB, poll string) *Rig {
	t.Helper()
	return NewWith(t, poll, "lcus", "")
}

// NewWith uses relay board and appends extra TOML (with %[1]s for the
// relay's pty path).
func NewWith(t testing.TB, poll, board, extra string) *Rig {
	t.Helper()
	dir := t.TempDir()
	merch, err := payby.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sbKey, err := payby.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mpem, _ := payby.EncodePrivateKey(merch)
	ppem, _ := payby.EncodePublicKey(&sbKey.PublicKey)
	write("merchant.key", mpem)
	write("payby.pub", ppem)
	tkey := []byte("0123456789abcdef0123456789abcdef")
	write("ticket.key", []byte(hex.EncodeToString(tkey)+"\n"))

	sb, err := sandbox.New(sandbox.Options{Key: sbKey, MerchantKey: &merch.PublicKey, NotifyScale: 3600})
	if err != nil {
		t.Fatal(err)
	}
	base, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	relay, err := sim.NewRelay(board, sim.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { relay.Close() })
	sc, err := sim.NewScanner(sim.ScannerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })

	cfg := sim.LaneConfig{Site: "GRG01", Lane: "X1", Name: "Test Garage", Merchant: "Test Parking", Validation: true,
		PayByURL: base + sandbox.APIPrefix, Poll: poll, Scanner: sc.Path(), Relay: relay.Path(), Board: board,
		Pulse: "100ms", Notice: "2s", Opened: "2s"}.TOML()
	if extra != "" {
		cfg += fmt.Sprintf(extra, relay.Path())
	}
	cfgPath := write("lane.toml", []byte(cfg))
	issuer, err := ticket.NewSigned("GRG01", tkey, ticket.DefaultTolerance)
	if err != nil {
		t.Fatal(err)
	}
	return &Rig{Dir: dir, ConfigPath: cfgPath, Sandbox: sb, Relay: relay, Scanner: sc, issuer: issuer}
}

// Ticket issues a signed ticket of the rig's site that entered ago.
func (s *Rig) Ticket(t testing.TB, serial uint64, ago time.Duration) string {
	t.Helper()
	code, err := s.issuer.Issue("E1", serial, time.Now().Add(-ago))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// Pulses counts relay closures of channel 1 and tells when the last began.
func (s *Rig) Pulses() (n int, last time.Time) {
	for _, c := range s.Relay.Timeline() {
		if c.Channel == 1 && c.On {
			n++
			last = c.At
		}
	}
	return n, last
}

// WaitFor polls f until it holds, failing the test after d.
func WaitFor(t testing.TB, what string, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Logger logs at debug level to stderr with -v, and discards otherwise.
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
