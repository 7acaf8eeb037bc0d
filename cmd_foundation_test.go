package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testConfig lays out the example config with fresh keys in a temp dir.
func testConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile("exitlane.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	files := map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"exitlane.toml":              {src, 0o644},
		"ticket.key":                 {[]byte("00112233445566778899aabbccddeeff\n"), 0o600},
		"payby/merchant_private.pem": {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600},
		"payby/payby.pub":            {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644},
	}
	for name, f := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "exitlane.toml")
}

func runCLI(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return o.String(), e.String(), code
}

func TestFeeJSON(t *testing.T) {
	cfg := testConfig(t)
	cases := []struct {
		args []string
		fils int64
	}{
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 10:15"}, 0},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02T10:15:01+04:00"}, 1000},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-03 12:30"}, 7000},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 13:10", "--validation", "CINEMA"}, 1500},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 13:10", "--validation", "2h"}, 1500},
		{[]string{"--lost"}, 15000},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 12:19", "--paid", "15.00", "--paid-at", "2026-03-02 12:00"}, 0},
	}
	for _, c := range cases {
		out, errOut, code := runCLI(append([]string{"fee", "--config", cfg, "--json"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		var got struct {
			FeeFils int64    `json:"fee_fils"`
			DueFils int64    `json:"due_fils"`
			Steps   []string `json:"steps"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
		if got.DueFils != c.fils {
			t.Errorf("%v: due_fils %d, want %d\n%s", c.args, got.DueFils, c.fils, out)
		}
	}
}

func TestExitCodes(t *testing.T) {
	cfg := testConfig(t)
	cases := []struct {
		args []string
		code int
	}{
		{nil, exitUsage},
		{[]string{"--help"}, exitOK},
		{[]string{"nonsense"}, exitUsage},
		{[]string{"fee", "--help"}, exitOK},
		{[]string{"fee", "--bogus"}, exitUsage},
		{[]string{"fee"}, exitUsage},
		{[]string{"fee", "--config", cfg}, exitUsage},
		{[]string{"fee", "--config", cfg, "--entry", "yesterday"}, exitUsage},
		{[]string{"fee", "--config", "/nonexistent.toml", "--entry", "2026-03-02 10:00"}, exitFailure},
		{[]string{"ticket"}, exitUsage},
		{[]string{"ticket", "--help"}, exitOK},
		{[]string{"ticket", "check", "--config", cfg}, exitUsage},
		{[]string{"ticket", "check", "--config", cfg, "garbage"}, exitFailure},
		{[]string{"config", "check", cfg}, exitOK},
		{[]string{"config", "check"}, exitUsage},
	}
	for _, c := range cases {
		if _, errOut, code := runCLI(c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d\n%s", c.args, code, c.code, errOut)
		}
	}
}

func TestTicketIssueCheck(t *testing.T) {
	cfg := testConfig(t)
	png := filepath.Join(t.TempDir(), "ticket.png")
	out, errOut, code := runCLI("ticket", "issue", "--config", cfg, "--serial", "42", "--entry", "2026-03-02 10:00", "--png", png)
	if code != 0 {
		t.Fatalf("issue: %d %s", code, errOut)
	}
	tcode := strings.TrimSpace(out)
	if tcode != "EL1:GRG01:E1:42:1772431200:C3C4CDEC411498DF" { // as README.md shows
		t.Fatalf("code %q", tcode)
	}
	out, _, code = runCLI("ticket", "check", "--config", cfg, "--now", "2026-03-02 11:30", tcode)
	if code != 0 || !strings.HasPrefix(out, "valid") || !strings.Contains(out, "owed now: AED 15.00") {
		t.Fatalf("check: %d\n%s", code, out)
	}
	forged := strings.Replace(tcode, ":42:", ":43:", 1)
	out, _, code = runCLI("ticket", "check", "--config", cfg, "--now", "2026-03-02 11:30", forged)
	if code != exitFailure || !strings.HasPrefix(out, "FORGED") {
		t.Fatalf("forged: %d\n%s", code, out)
	}
	if zbar, err := exec.LookPath("zbarimg"); err == nil {
		got, err := exec.Command(zbar, "--raw", "-q", png).Output()
		if err != nil || strings.TrimSpace(string(got)) != tcode {
			t.Fatalf("zbarimg read %q (%v), want %q", got, err, tcode)
		}
	} else if _, err := os.Stat(png); err != nil {
		t.Fatal(err)
	}
}

func TestConfigCheckReportsKeys(t *testing.T) {
	cfg := testConfig(t)
	src, _ := os.ReadFile(cfg)
	bad := strings.Replace(string(src), `pulse = "500ms"`, `pulse = "9s"`, 1)
	bad = strings.Replace(bad, `dedup = "2s"`, "dedup = \"2s\"\ndedupe = 1", 1)
	os.WriteFile(cfg, []byte(bad), 0o644)
	_, errOut, code := runCLI("config", "check", cfg)
	if code != exitFailure || !strings.Contains(errOut, cfg+": relay.pulse") || !strings.Contains(errOut, "scanner.dedupe: unknown key") {
		t.Fatalf("%d\n%s", code, errOut)
	}
}

// Without a display the kiosk commands say so instead of GLFW panicking.
func TestNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	cfg := testConfig(t)
	for _, args := range [][]string{{"sim"}, {"run", "--config", cfg}} {
		_, errOut, code := runCLI(args...)
		if code != exitFailure || !strings.Contains(errOut, "no display") {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
	}
}
