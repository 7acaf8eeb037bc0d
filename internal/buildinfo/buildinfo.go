// Package buildinfo says which build a binary is: the version, commit and
// build date a package build sets at link time with
//
//	-ldflags "-X github.com/exitlane/exitlane/internal/buildinfo.Version=0.1.0
//	  -X github.com/exitlane/exitlane/internal/buildinfo.Commit=3ba23c9f0e12
//	  -X github.com/exitlane/exitlane/internal/buildinfo.Date=2026-11-30T03:36:00Z"
//
// A plain "go build" or "go run" leaves them empty; they then fall back to
// what the Go toolchain stamped into the binary (the module version and the
// VCS revision of the checkout), or to "dev" and "unknown".
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set at link time with -X; empty in a developer's build.
var (
	Version string
	Commit  string
	Date    string
)

// Build describes this binary.
type Build struct {
	Version string // "0.1.0", a Go pseudo-version, or "dev"
	Commit  string // VCS revision, "+dirty" when built from a modified tree, or "unknown"
	Date    string // build date (RFC 3339, UTC), or "unknown"
	Go      string // toolchain and platform: "go1.26.8 linux/amd64"
}

// From reads the link-time variables, falling back to info (the
// toolchain's build info; nil when the binary has none).
func From(info *debug.BuildInfo) Build {
	b := Build{Version: Version, Commit: Commit, Date: Date, Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
	if info != nil {
		if b.Version == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			b.Version = info.Main.Version
		}
		if b.Commit == "" {
			var rev string
			var dirty bool
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					rev = s.Value
				case "vcs.modified":
					dirty = s.Value == "true"
				}
			}
			if rev != "" {
				if len(rev) > 12 {
					rev = rev[:12]
				}
				if dirty {
					rev += "+dirty"
				}
				b.Commit = rev
			}
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Date == "" {
		b.Date = "unknown"
	}
	return b
}

// Read is From with this binary's own build info.
func Read() Build {
	info, _ := debug.ReadBuildInfo()
	return From(info)
}
