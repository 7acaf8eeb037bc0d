package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/proctest"
)

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
		got, err := proctest.Output(t, exec.Command(zbar, "--raw", "-q", png), time.Minute)
		if err != nil || strings.TrimSpace(string(got)) != tcode {
			t.Fatalf("zbarimg read %q (%v), want %q", got, err, tcode)
		}
	} else if _, err := os.Stat(png); err != nil {
		t.Fatal(err)
	}
}
