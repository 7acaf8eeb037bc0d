package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
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
	code = run(args, strings.NewReader(""), &o, &e)
	return o.String(), e.String(), code
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
