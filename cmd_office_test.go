package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/sitestore"
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

// "office add-user" reads the password from stdin (not a terminal), adds
// the user to the store, refuses a short password and a taken name;
// "users" lists, "disable-user" disables, "passwd" sets a new password.
func TestOfficeUserCommands(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, err := c.CreateDB(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	withStore(t, cfg, url)
	if _, errOut, code := runCLI("store", "migrate", "--config", cfg); code != exitOK {
		t.Fatalf("migrate: %s", errOut)
	}
	cli := func(stdin string, args ...string) (string, string, int) {
		var o, e bytes.Buffer
		code := run(args, strings.NewReader(stdin), &o, &e)
		return o.String(), e.String(), code
	}
	if _, errOut, code := cli("", "office", "add-user", "--config", cfg, "--role", "boss", "amal"); code != exitUsage || !strings.Contains(errOut, "want viewer, supervisor or admin") {
		t.Fatalf("bad role: %d %s", code, errOut)
	}
	if _, errOut, code := cli("short\n", "office", "add-user", "--config", cfg, "--role", "admin", "amal"); code != exitFailure || !strings.Contains(errOut, "at least 10 characters") {
		t.Fatalf("short password: %d %s", code, errOut)
	}
	if out, errOut, code := cli("a long password\n", "office", "add-user", "--config", cfg, "--role", "admin", "amal"); code != exitOK || out != "user amal added (admin)\n" {
		t.Fatalf("add-user: %d %s%s", code, out, errOut)
	}
	if _, errOut, code := cli("a long password\n", "office", "add-user", "--config", cfg, "--role", "viewer", "amal"); code != exitFailure || !strings.Contains(errOut, "exists") {
		t.Fatalf("add-user again: %d %s", code, errOut)
	}
	s, err := sitestore.New(url, sitestore.Options{Site: "GRG01"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.OfficeUser(ctx, "amal")
	if err != nil || u.Role != "admin" || bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("a long password")) != nil {
		t.Fatalf("stored user: %+v %v", u, err)
	}
	if out, errOut, code := cli("another password\n", "office", "passwd", "--config", cfg, "amal"); code != exitOK {
		t.Fatalf("passwd: %d %s%s", code, out, errOut)
	}
	if u, _ := s.OfficeUser(ctx, "amal"); bcrypt.CompareHashAndPassword(u.PasswordHash, []byte("another password")) != nil {
		t.Fatal("passwd did not set the password")
	}
	if out, errOut, code := cli("", "office", "disable-user", "--config", cfg, "amal"); code != exitOK {
		t.Fatalf("disable-user: %d %s%s", code, out, errOut)
	}
	if out, _, code := cli("", "office", "users", "--config", cfg); code != exitOK || !regexp.MustCompile(`amal +admin +disabled +never`).MatchString(out) {
		t.Fatalf("users: %d %s", code, out)
	}
}
