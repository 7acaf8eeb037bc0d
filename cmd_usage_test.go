package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/payby"
)

// paybyConn writes a merchant key and a PayBy public key and returns the
// connection flags of the payby order tools. The base URL is never
// reached: every case that uses it is refused before a call is sent.
func paybyConn(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	key, err := payby.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := payby.EncodePrivateKey(key)
	pub, _ := payby.EncodePublicKey(&key.PublicKey)
	keyPath, pubPath := filepath.Join(dir, "merchant.key"), filepath.Join(dir, "payby.pub")
	if err := os.WriteFile(keyPath, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pubPath, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"--base-url", "http://127.0.0.1:1" + "/sgs/api", "--partner-id", "200000000888", "--key", keyPath, "--payby-pub", pubPath, "--timeout", "1s"}
}

// Every usage error of every command exits 2 (and says why on stderr),
// before anything is opened, sent or written: a negative amount or
// duration, an amount with a third decimal, an order number PayBy would
// refuse, an argument a command does not take.
func TestUsageErrorsExit2(t *testing.T) {
	cfg := testConfig(t)
	conn := paybyConn(t)
	keyDir := filepath.Join(t.TempDir(), "sandbox-keys")
	stay := []string{"fee", "--config", cfg, "--entry", "2026-03-02 10:00", "--exit", "2026-03-02 13:10"}
	with := func(base []string, more ...string) []string { return append(append([]string(nil), base...), more...) }
	create := with(append([]string{"payby", "create"}, conn...))
	refund := with(append([]string{"payby", "refund"}, conn...))
	cases := [][]string{
		// fee
		with(stay, "--validation", "-2h"),
		with(stay, "--validation", "-90m"),
		with(stay, "--validation", "15"), // a bare number is neither a duration nor a code
		with(stay, "--paid", "-40.00", "--paid-at", "2026-03-02 12:00"),
		with(stay, "--paid", "12.505", "--paid-at", "2026-03-02 12:00"),
		with(stay, "--paid", "1000000.01", "--paid-at", "2026-03-02 12:00"),
		with(stay, "--paid-at", "2026-03-02 12:00"),
		with(stay, "--previous-entry", "2026-03-01 10:00", "--previous-exit", "2026-03-01 11:00", "--previous-paid", "-5"),
		with(stay, "extra"),
		with(stay, "2026-03-02", "13:10"), // an unquoted time
		// ticket, config, tariff, store
		{"ticket", "issue", "--config", cfg, "extra"},
		{"ticket", "check", "--config", cfg, "A", "B"},
		{"config", "check", cfg, "extra"},
		{"tariff", "holidays", "--config", cfg, "2026"},
		{"store", "status", "--config", cfg, "extra"},
		// payby
		with(create, "--order", "bad no", "--amount", "1.00"),
		with(create, "--order", "A1", "--amount", "-1"),
		with(create, "--order", "A1", "--amount", "12.505"),
		with(create, "--order", "A1", "--amount", "0"),
		with(create, "--order", "A1", "--amount", "1.00", "--expire", "-1m"),
		with(create, "--order", "A1", "--amount", "1.00", "--expire", "0s"),
		with(create, "--order", "A1", "--amount", "1.00", "--subject", "a subject far too long for PayBy"),
		with(create, "--order", "A1", "--amount", "1.00", "extra"),
		with(refund, "--refund-no", "R1", "--order", "A1", "--amount", "-1"),
		with(refund, "--refund-no", "bad no", "--order", "A1", "--amount", "1.00"),
		with(append([]string{"payby", "get"}, conn...), "bad no"),
		with(append([]string{"payby", "get"}, conn...), "A1", "A2"),
		with(append([]string{"payby", "cancel"}, conn...), "bad no"),
		{"payby", "get", "--timeout", "-1s", "A1"},
		{"payby", "keygen"},
		{"payby", "keygen", "a", "b"},
		{"payby", "sandbox", "--key-dir", keyDir, "extra"},
		{"payby", "sandbox", "--key-dir", keyDir, "--latency", "-1s"},
		{"payby", "sandbox", "--key-dir", keyDir, "--notify-scale", "0"},
		{"payby", "sandbox", "--key-dir", keyDir, "--fault-5xx", "-2"},
		// devices, relay, scanner, admin
		{"devices", "extra"},
		{"relay", "pulse", "--port", "/nonexistent", "extra"},
		{"relay", "pulse", "--port", "/nonexistent", "--pulse", "-1s"},
		{"relay", "pulse", "--port", "/nonexistent", "--pulse", "5s"},
		{"relay", "pulse", "--port", "/nonexistent", "--baud", "-5"},
		{"relay", "state", "--port", "/nonexistent", "extra"},
		{"relay", "state", "--port", "/nonexistent", "--channels", "-1"},
		{"relay", "emulate", "extra"},
		{"scanner", "read", "--port", "/nonexistent", "extra"},
		{"scanner", "read", "--port", "/nonexistent", "--dedup", "-1s"},
		{"scanner", "read", "--port", "/nonexistent", "--count", "-1"},
		{"scanner", "emulate", "extra"},
		{"admin", "add-attendant", "--id", "a1", "extra"},
		// ledger, report, version
		{"ledger", "backup", "--config", cfg, t.TempDir(), "extra"},
		{"ledger", "backup", "--config", cfg, "--keep", "-1", t.TempDir()},
		{"ledger", "check", "--config", cfg, "extra"},
		{"report", "shift", "--config", cfg, "extra"},
		{"report", "day", "--config", cfg, "--format", "xml"},
		{"version", "extra"},
		// run, sim
		{"run", "--config", cfg, "extra"},
		{"run", "--config", cfg, "--log-level", "loud"},
		{"sim", "extra"},
		{"sim", "--size", "10x10"},
		{"sim", "--lang", "fr"},
		{"sim", "--printer", "-58"},
	}
	for _, args := range cases {
		// A case that regressed into running (a server, a reader that
		// waits for Ctrl-C) must not hang the test.
		type result struct {
			out, errOut string
			code        int
		}
		ran := make(chan result, 1)
		go func() {
			out, errOut, code := runCLI(args...)
			ran <- result{out, errOut, code}
		}()
		var res result
		select {
		case res = <-ran:
		case <-time.After(10 * time.Second):
			t.Errorf("%q: still running after 10 s, want exit %d at once", args, exitUsage)
			continue
		}
		out, errOut, code := res.out, res.errOut, res.code
		if code != exitUsage {
			t.Errorf("%q: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, exitUsage, out, errOut)
			continue
		}
		if strings.TrimSpace(errOut) == "" {
			t.Errorf("%q: exit 2 without a word on stderr", args)
		}
	}
}
