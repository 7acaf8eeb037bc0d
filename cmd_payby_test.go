package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

// pbSetup starts an in-process sandbox and lays out a lane config (the
// example's, pointed at the sandbox) with keys made by "payby keygen".
func pbSetup(t *testing.T) (sb *sandbox.Server, cfgPath string, flags []string) {
	t.Helper()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"payby", "keygen", filepath.Join(dir, "payby")}, nil, &out, &errb); code != 0 {
		t.Fatalf("keygen: %d %s", code, errb.String())
	}
	if fi, err := os.Stat(filepath.Join(dir, "payby", "merchant_private.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("private key: %v %v", fi, err)
	}
	if code := run([]string{"payby", "keygen", filepath.Join(dir, "payby")}, nil, &out, &errb); code != exitFailure {
		t.Fatalf("keygen over existing keys: %d", code)
	}
	sbKeys, err := sandbox.LoadKeyDir(filepath.Join(dir, "sandbox"), filepath.Join(dir, "payby", "merchant_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sb, err = sandbox.New(sandbox.Options{Key: sbKeys.Key, MerchantKey: sbKeys.MerchantKey})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	base := srv.URL + sandbox.APIPrefix

	src, err := os.ReadFile("exitlane.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Point the example's [payby] keys at the sandbox, whatever their
	// example values are.
	text := string(src)
	for key, value := range map[string]string{
		"base_url":         base,
		"private_key_file": filepath.Join(dir, "payby", "merchant_private.pem"),
		"public_key_file":  sbKeys.PublicPath,
		"notify_url":       "",
	} {
		re := regexp.MustCompile(`(?m)^` + key + ` = ".*?"`)
		if !re.MatchString(text) {
			t.Fatalf("exitlane.example.toml has no %s line", key)
		}
		text = re.ReplaceAllLiteralString(text, key+` = "`+value+`"`)
	}
	os.WriteFile(filepath.Join(dir, "ticket.key"), []byte("00112233445566778899aabbccddeeff\n"), 0o600)
	cfgPath = filepath.Join(dir, "exitlane.toml")
	os.WriteFile(cfgPath, []byte(text), 0o644)
	flags = []string{"--base-url", base, "--partner-id", "200000000888", "--key", filepath.Join(dir, "payby", "merchant_private.pem"), "--payby-pub", sbKeys.PublicPath}
	return sb, cfgPath, flags
}

func pbRun(t *testing.T, want int, args ...string) (string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(append([]string{"payby"}, args...), nil, &out, &errb); code != want {
		t.Fatalf("exitlane payby %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out.String(), errb.String())
	}
	return out.String(), errb.String()
}

func TestPayByCLI(t *testing.T) {
	sb, cfg, flags := pbSetup(t)
	out, _ := pbRun(t, 0, "create", "--config", cfg, "--order", "GRG01-X1-1", "--amount", "12.50")
	var created payby.Created
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Order.Amount != 1250 || created.Order.TerminalID != "X1" || created.Order.StoreID != "GRG01" {
		t.Fatalf("create: %v\n%s", err, out)
	}
	if !strings.Contains(out, "&ft=") || !strings.Contains(out, "\n  \"order\": {") {
		t.Fatalf("not indented or escaped URL:\n%s", out)
	}
	out, _ = pbRun(t, 0, "scanned", "--config", cfg, created.TokenURL)
	if !strings.Contains(out, `"scanned": false`) {
		t.Fatalf("scanned: %s", out)
	}
	// Flags instead of a config, positional argument first.
	out, _ = pbRun(t, 0, append([]string{"get", "GRG01-X1-1"}, flags...)...)
	var o payby.Order
	if err := json.Unmarshal([]byte(out), &o); err != nil || o.Status != payby.StatusCreated {
		t.Fatalf("get: %v\n%s", err, out)
	}
	sb.Pay("GRG01-X1-1")
	_, stderr := pbRun(t, exitFailure, "cancel", "--config", cfg, "GRG01-X1-1")
	if !strings.Contains(stderr, "62001 ORDER_PAID") || !strings.Contains(stderr, "the order is paid") {
		t.Fatalf("cancel paid: %s", stderr)
	}
	out, _ = pbRun(t, 0, "refund", "--config", cfg, "--refund-no", "R-1", "--order", "GRG01-X1-1", "--amount", "2.50", "--reason", "overcharge")
	if !strings.Contains(out, `"remaining": "10.00"`) {
		t.Fatalf("refund: %s", out)
	}
	out, _ = pbRun(t, 0, "refund-get", "--config", cfg, "R-1")
	if !strings.Contains(out, `"amount": "2.50"`) {
		t.Fatalf("refund-get: %s", out)
	}
	if _, stderr := pbRun(t, exitFailure, "revoke", "--config", cfg, "GRG01-X1-1"); !strings.Contains(stderr, "62041") {
		t.Fatalf("revoke refunded: %s", stderr)
	}
	pbRun(t, 0, "create", "--config", cfg, "--order", "GRG01-X1-2", "--amount", "1")
	out, _ = pbRun(t, 0, "cancel", "--config", cfg, "GRG01-X1-2")
	if !strings.Contains(out, `"status": "FAILURE"`) {
		t.Fatalf("cancel: %s", out)
	}
	_, stderr = pbRun(t, exitFailure, "get", "--config", cfg, "NOPE")
	if !strings.Contains(stderr, "62004") {
		t.Fatalf("get missing: %s", stderr)
	}
}

func TestPayByCLIUsage(t *testing.T) {
	_, cfg, _ := pbSetup(t)
	for _, args := range [][]string{
		{"get"},
		{"get", "--config", cfg},
		{"get", "A", "B", "--config", cfg},
		{"create", "--config", cfg, "--order", "X"},
		{"create", "--config", cfg, "--order", "X", "--amount", "1.005"},
		{"refund", "--config", cfg, "--order", "X", "--amount", "1"},
		{"get", "A"}, // neither config nor flags
		{"keygen"},
		{"sandbox", "extra"},
		{"nosuch"},
		{"get", "--bogus"},
	} {
		var out, errb bytes.Buffer
		if code := run(append([]string{"payby"}, args...), nil, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"payby", "get", "--help"}, nil, &out, &errb); code != exitOK {
		t.Errorf("--help: %d", code)
	}
	// A bad config is a failure, not a usage error.
	if code := run([]string{"payby", "get", "--config", filepath.Join(t.TempDir(), "none.toml"), "A"}, nil, &out, &errb); code != exitFailure {
		t.Errorf("missing config: %d", code)
	}
}
