package main

import (
	"os"
	"strings"
	"testing"
)

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
