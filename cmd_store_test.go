package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
)

// withStore points the config at url.
func withStore(t *testing.T, cfg, url string) {
	t.Helper()
	text, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(text), "\nurl = \"\"", "\nurl = \""+url+"\"", 1)
	if s == string(text) {
		t.Fatal("the example has no [site_store] url")
	}
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// "config check" tells a store that needs migrating, "store migrate"
// migrates it (once), and then both say it is current.
func TestStoreMigrateAndConfigCheck(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, err := c.CreateDB(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	if _, errOut, code := runCLI("store", "migrate", "--config", cfg); code != exitFailure || !strings.Contains(errOut, "no [site_store] url") {
		t.Fatalf("migrate without a store: exit %d: %s", code, errOut)
	}
	withStore(t, cfg, url)
	if _, errOut, code := runCLI("config", "check", cfg); code != exitFailure || !strings.Contains(errOut, "run exitlane store migrate") {
		t.Fatalf("config check before migrate: exit %d: %s", code, errOut)
	}
	out, errOut, code := runCLI("store", "migrate", "--config", cfg)
	if code != exitOK || !strings.Contains(out, "applied 001_") {
		t.Fatalf("migrate: exit %d: %s%s", code, out, errOut)
	}
	if out, errOut, code := runCLI("store", "migrate", "--config", cfg); code != exitOK || !strings.Contains(out, "already current") {
		t.Fatalf("migrate again: exit %d: %s%s", code, out, errOut)
	}
	if out, errOut, code := runCLI("config", "check", cfg); code != exitOK || !strings.Contains(out, "site store reachable, schema current") {
		t.Fatalf("config check: exit %d: %s%s", code, out, errOut)
	}
	if out, errOut, code := runCLI("store", "status", "--config", cfg); code != exitOK || !strings.Contains(out, "0 open incident(s)") {
		t.Fatalf("store status: exit %d: %s%s", code, out, errOut)
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI("config", "check", cfg); code != exitFailure || !strings.Contains(errOut, "site_store:") {
		t.Fatalf("config check with the store down: exit %d: %s", code, errOut)
	}
}
