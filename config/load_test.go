package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
)

// lay copies the example config into a fresh directory with its key files.
func lay(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("../exitlane.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if edit != nil {
		text = edit(text)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "payby"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "ticket.key"), []byte("00112233445566778899aabbccddeeff\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "payby/merchant.key"), []byte("-----BEGIN PRIVATE KEY-----\n"), 0o600))
	must(os.WriteFile(filepath.Join(dir, "payby/payby.pub"), []byte("-----BEGIN PUBLIC KEY-----\n"), 0o644))
	path := filepath.Join(dir, "exitlane.toml")
	must(os.WriteFile(path, []byte(text), 0o644))
	return path
}

func TestExampleLoads(t *testing.T) {
	path := lay(t, nil)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if c.Site.ID != "GRG01" || c.Site.Location.String() != "Asia/Dubai" {
		t.Errorf("site %+v", c.Site)
	}
	if len(c.Ticket.Key) != 16 {
		t.Errorf("ticket key %d bytes", len(c.Ticket.Key))
	}
	if c.Ledger.Path != filepath.Join(dir, "exitlane.db") || c.PayBy.PrivateKeyFile != filepath.Join(dir, "payby/merchant.key") {
		t.Errorf("paths not resolved: %s %s", c.Ledger.Path, c.PayBy.PrivateKeyFile)
	}
	if c.Tariff.LostFee != money.AED(150) || c.Tariff.Location != c.Site.Location {
		t.Errorf("tariff %+v", c.Tariff)
	}
	if c.PayBy.PollInterval != 2*time.Second || c.Relay.Pulse != 500*time.Millisecond {
		t.Errorf("durations %s %s", c.PayBy.PollInterval, c.Relay.Pulse)
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	path := lay(t, func(s string) string {
		r := strings.NewReplacer(
			`id = "GRG01"`, `id = "grg-01"`,
			`timezone = "Asia/Dubai"`, `timezone = "Mars/Olympus"`,
			`poll_interval = "2s"`, `poll_interval = "10s"`,
			`pulse = "500ms"`, `pulse = "5s"`,
			`board = "lcus"`, `board = "acme"`,
			`baud = 9600`+"\n"+`parity`, `bauds = 9600`+"\n"+`parity`,
			`lost_fee = "150.00"`, `lost_fee = "150.005"`,
		)
		return r.Replace(s)
	})
	_, err := Load(path)
	var p *Problems
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not *Problems", err)
	}
	msg := err.Error()
	for _, want := range []string{
		path + ": site.id:",
		"site.timezone:",
		"payby.poll_interval:",
		"relay.pulse:",
		"relay.board:",
		"scanner.bauds: unknown key",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in:\n%s", want, msg)
		}
	}
}

func TestAmountErrorsNameTheKey(t *testing.T) {
	path := lay(t, func(s string) string {
		return strings.Replace(s, `lost_fee = "150.00"`, `lost_fee = "150.005"`, 1)
	})
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "lost_fee") || !strings.Contains(err.Error(), "two decimal") {
		t.Fatalf("got %v", err)
	}
}

func TestKeyFileModes(t *testing.T) {
	path := lay(t, nil)
	dir := filepath.Dir(path)
	if err := os.Chmod(filepath.Join(dir, "ticket.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "payby/merchant.key"), 0o640); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil {
		t.Fatal("world-readable key accepted")
	}
	for _, want := range []string{"ticket.key_file:", "mode 0644", "payby.private_key_file:", "mode 0640"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "00112233") {
		t.Error("error shows the key")
	}
}

func TestMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.toml")); err == nil {
		t.Fatal("missing file accepted")
	}
}

// A section implied only by its array of tables is still decoded.
func TestImpliedSection(t *testing.T) {
	path := lay(t, func(s string) string {
		s = strings.Replace(s, "[admin]\n", "[adminx]\n", 1)
		s = strings.Replace(s, "\nlockout_attempts = 5", "\n#lockout_attempts = 5", 1)
		i := strings.Index(s, "[adminx]")
		j := strings.Index(s, "[log]")
		s = s[:i] + s[j:]
		return s + `
[[admin.attendants]]
id = "A01"
name = "Sara"
pin_hash = "$2a$10$abcdefghijklmnopqrstuuJ1C8u6hQ0JQ9g3g0m1mC3N2pQmKXoWy"
badge = "STAFF-A01"
`
	})
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Admin.Attendants) != 1 || c.Admin.Attendants[0].Badge != "STAFF-A01" || c.Admin.LockoutAttempts != 5 {
		t.Fatalf("admin %+v", c.Admin)
	}
}
