package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFrom(t *testing.T) {
	saved := [3]string{Version, Commit, Date}
	defer func() { Version, Commit, Date = saved[0], saved[1], saved[2] }()

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
		set        [3]string // Version, Commit, Date as -X would set them
		info       *debug.BuildInfo
		want       Build
		wantGoPart string
	}{
		{
			name: "set at link time wins",
			set:  [3]string{"0.1.0", "abcdef012345", "2026-11-30T04:00:00Z"},
			info: vcs,
			want: Build{Version: "0.1.0", Commit: "abcdef012345", Date: "2026-11-30T04:00:00Z"},
		},
		{
			name: "go build in a modified checkout",
			info: vcs,
			want: Build{Version: "v0.0.0-20261130033600-3ba23c9f0e12+dirty", Commit: "3ba23c9f0e12+dirty", Date: "unknown"},
		},
		{
			name: "go run outside a checkout",
			info: &debug.BuildInfo{Main: debug.Module{Path: "github.com/exitlane/exitlane", Version: "(devel)"}},
			want: Build{Version: "dev", Commit: "unknown", Date: "unknown"},
		},
		{
			name: "no build info",
			want: Build{Version: "dev", Commit: "unknown", Date: "unknown"},
		},
	} {
		Version, Commit, Date = tc.set[0], tc.set[1], tc.set[2]
		got := From(tc.info)
		if !strings.HasPrefix(got.Go, "go") || !strings.Contains(got.Go, "/") {
			t.Errorf("%s: Go = %q, want toolchain and platform", tc.name, got.Go)
		}
		got.Go = ""
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
}
