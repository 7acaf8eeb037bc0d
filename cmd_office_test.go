package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// "exitlane office" reads site.toml with the office's sections and
// reports its problems before it binds anything.
func TestOfficeCommandConfig(t *testing.T) {
	if _, errOut, code := runCLI("office"); code != exitUsage || !strings.Contains(errOut, "--config FILE is required") {
		t.Fatalf("no config: exit %d: %s", code, errOut)
	}
	src, err := os.ReadFile("site.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	text := strings.Replace(string(src), `url = "postgres://office:secret@db.example.local:5432/exitlane"`, `url = ""`, 1)
	path := filepath.Join(dir, "site.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI("office", "--config", path)
	if code != exitFailure || !strings.Contains(errOut, "site_store.url: missing") || !strings.Contains(errOut, "office.payby_public_key_file") {
		t.Fatalf("site.toml without a store or PayBy's key: exit %d: %s", code, errOut)
	}
	if _, errOut, code := runCLI("office", "--help"); code != exitOK || !strings.Contains(errOut, "usage: exitlane office") {
		t.Fatalf("--help: exit %d: %s", code, errOut)
	}
}
