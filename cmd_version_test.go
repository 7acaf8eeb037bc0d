package main

import (
	"bytes"
	"runtime/debug"
	"strings"
	"testing"
)

func TestThisBuild(t *testing.T) {
	saved := [3]string{version, commit, buildDate}
	defer func() { version, commit, buildDate = saved[0], saved[1], saved[2] }()

	vcs := &debug.BuildInfo{
		Main: debug.Module{Path: "github.com/exitlane/exitlane", Version: "v0.0.0-20261130033600-3ba23c9f0e12+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "3ba23c9f0e12aa55bb66cc77dd88ee99ff001122"},
			{Key: "vcs.time", Value: "2026-11-30T03:36:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	for _, tc := range []struct {
		name       string
		set        [3]string // version, commit, buildDate as -X would set them
		info       *debug.BuildInfo
		want       build
		wantGoPart string
	}{
		{
			name: "set at link time wins",
			set:  [3]string{"0.1.0", "abcdef012345", "2026-11-30T04:00:00Z"},
			info: vcs,
			want: build{Version: "0.1.0", Commit: "abcdef012345", Date: "2026-11-30T04:00:00Z"},
		},
		{
			name: "go build in a modified checkout",
			info: vcs,
			want: build{Version: "v0.0.0-20261130033600-3ba23c9f0e12+dirty", Commit: "3ba23c9f0e12+dirty", Date: "unknown"},
		},
		{
			name: "go run outside a checkout",
			info: &debug.BuildInfo{Main: debug.Module{Path: "github.com/exitlane/exitlane", Version: "(devel)"}},
			want: build{Version: "dev", Commit: "unknown", Date: "unknown"},
		},
		{
			name: "no build info",
			want: build{Version: "dev", Commit: "unknown", Date: "unknown"},
		},
	} {
		version, commit, buildDate = tc.set[0], tc.set[1], tc.set[2]
		got := thisBuild(tc.info)
		if !strings.HasPrefix(got.Go, "go") || !strings.Contains(got.Go, "/") {
			t.Errorf("%s: Go = %q, want toolchain and platform", tc.name, got.Go)
		}
		got.Go = ""
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}

func TestVersionCommand(t *testing.T) {
	saved := [3]string{version, commit, buildDate}
	defer func() { version, commit, buildDate = saved[0], saved[1], saved[2] }()
	version, commit, buildDate = "1.2.3", "0123456789ab", "2026-11-30T04:00:00Z"

	var out, errb bytes.Buffer
	if code := run([]string{"version"}, &out, &errb); code != exitOK {
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
	if code := run([]string{"version", "extra"}, &out, &errb); code != exitUsage {
		t.Errorf("version extra: exit %d, want %d", code, exitUsage)
	}
}
