package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// "exitlane fee" and "exitlane ticket" load only [site], [ticket] and
// [tariff]: they run before the PayBy key files exist, while "config
// check" still wants them.
func TestFeeAndTicketWithoutPayByKeys(t *testing.T) {
	cfg := testConfig(t)
	dir := filepath.Dir(cfg)
	for _, f := range []string{"payby/merchant_private.pem", "payby/payby.pub"} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, errOut, code := runCLI("config", "check", cfg); code != exitFailure || !strings.Contains(errOut, "payby.private_key_file:") {
		t.Fatalf("config check without PayBy keys: exit %d: %s", code, errOut)
	}
	out, errOut, code := runCLI("fee", "--config", cfg, "--entry", "2026-03-02 10:00", "--exit", "2026-03-02 12:00")
	if code != exitOK || !strings.Contains(out, "due    AED 15.00") {
		t.Fatalf("fee: exit %d: %s%s", code, out, errOut)
	}
	out, errOut, code = runCLI("ticket", "issue", "--config", cfg, "--entry", "2026-03-02 10:00", "--serial", "42")
	if code != exitOK {
		t.Fatalf("ticket issue: exit %d: %s", code, errOut)
	}
	tcode := strings.TrimSpace(out)
	if out, errOut, code = runCLI("ticket", "check", "--config", cfg, "--now", "2026-03-02 12:00", tcode); code != exitOK || !strings.Contains(out, "owed now: AED 15.00") {
		t.Fatalf("ticket check: exit %d: %s%s", code, out, errOut)
	}
	// The sections they do use are still checked.
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(text), `grace = "15m"`, `grace = 15`, 1)
	if err := os.WriteFile(cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI("fee", "--config", cfg, "--lost"); code != exitFailure || !strings.Contains(errOut, "tariff.grace: 15 is a bare number") {
		t.Fatalf("fee with grace = 15: exit %d: %s", code, errOut)
	}
}

// The extra_day that priced 24h01m at a negative fee is refused
// by the config, so "exitlane fee" never prints a wrapped number.
func TestFeeHugeExtraDay(t *testing.T) {
	cfg := testConfig(t)
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(text), `after_24h = "restart"`, `after_24h = "per_day"`+"\n"+`extra_day = "92233720368547757.00"`, 1)
	if err := os.WriteFile(cfg, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI("fee", "--config", cfg, "--entry", "2026-03-02 10:00", "--exit", "2026-03-03 10:01")
	if code != exitFailure || !strings.Contains(errOut, "extra_day: amount out of range") || strings.Contains(out, "-") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// "exitlane payby keygen payby" writes the merchant key where the example
// config expects it: the example then passes "config check" unchanged.
func TestConfigExampleMatchesKeygen(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := runCLI("payby", "keygen", filepath.Join(dir, "payby"))
	if code != exitOK {
		t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `private_key_file = "`+filepath.Join(dir, "payby", "merchant_private.pem")+`"`) {
		t.Errorf("keygen does not say the config line: %s", out)
	}
	src, err := os.ReadFile("exitlane.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "payby", "merchant_public.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]struct {
		data []byte
		mode os.FileMode
	}{
		"exitlane.toml":   {src, 0o644},
		"ticket.key":      {[]byte("00112233445566778899aabbccddeeff\n"), 0o600},
		"payby/payby.pub": {pub, 0o644}, // stands in for the key PayBy's portal gives
	} {
		if err := os.WriteFile(filepath.Join(dir, name), f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if out, errOut, code := runCLI("config", "check", filepath.Join(dir, "exitlane.toml")); code != exitOK {
		t.Fatalf("config check of the example after keygen: exit %d: %s%s", code, out, errOut)
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

// "config check" accepts tariff.reentry but says the lane cannot apply it.
func TestConfigCheckWarnsReentry(t *testing.T) {
	cfg := testConfig(t)
	out, errOut, code := runCLI("config", "check", cfg)
	if code != exitOK || strings.Contains(out, "warning:") {
		t.Fatalf("without reentry: exit %d\n%s%s", code, out, errOut)
	}
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte(strings.Replace(string(text), "[tariff]\n", "[tariff]\nreentry = \"2h\"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runCLI("config", "check", cfg)
	if code != exitOK || !strings.Contains(out, ": ok (") || !strings.Contains(out, "warning: tariff.reentry: 2h0m0s is not applied at the lane") {
		t.Fatalf("with reentry: exit %d\n%s%s", code, out, errOut)
	}
}
