package main

import (
	"bytes"
	"github.com/exitlane/exitlane/internal/buildinfo"
	"strings"
	"testing"
)

func TestVersionCommand(t *testing.T) {
	saved := [3]string{buildinfo.Version, buildinfo.Commit, buildinfo.Date}
	defer func() { buildinfo.Version, buildinfo.Commit, buildinfo.Date = saved[0], saved[1], saved[2] }()
	buildinfo.Version, buildinfo.Commit, buildinfo.Date = "1.2.3", "0123456789ab", "2026-11-30T04:00:00Z"

	var out, errb bytes.Buffer
	if code := run([]string{"version"}, nil, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	want := []string{"exitlane 1.2.3", "commit   0123456789ab", "built    2026-11-30T04:00:00Z"}
	if len(lines) != 4 {
		t.Fatalf("output has %d lines, want 4:\n%s", len(lines), out.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
		}
	}
	if !strings.HasPrefix(lines[3], "go       go") {
		t.Errorf("line 4 = %q, want the toolchain", lines[3])
	}
	if code := run([]string{"version", "extra"}, nil, &out, &errb); code != exitUsage {
		t.Errorf("version extra: exit %d, want %d", code, exitUsage)
	}
}
