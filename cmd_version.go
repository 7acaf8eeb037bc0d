package main

// "exitlane version": which build this binary is, for a technician's
// report and for the support desk. A package build (make deb) sets the
// three variables below with
//
//	-ldflags "-X main.version=0.1.0 -X main.commit=3ba23c9f0e12 -X main.buildDate=2026-11-30T03:36:00Z"
//
// A plain "go build" or "go run" leaves them empty; they then fall back to
// what the Go toolchain stamped into the binary (the module version and the
// VCS revision of the checkout), or to "dev" and "unknown".

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Set at link time with -X; empty in a developer's build.
var (
	version   string
	commit    string
	buildDate string
)

func init() {
	register(command{name: "version", summary: "print the version, commit and build date", run: runVersion})
}

// build describes this binary.
type build struct {
	Version string // "0.1.0", a Go pseudo-version, or "dev"
	Commit  string // VCS revision, "+dirty" when built from a modified tree, or "unknown"
	Date    string // build date (RFC 3339, UTC), or "unknown"
	Go      string // toolchain and platform: "go1.26.8 linux/amd64"
}

// thisBuild reads the link-time variables, falling back to info (the
// toolchain's build info; nil when the binary has none).
func thisBuild(info *debug.BuildInfo) build {
	b := build{Version: version, Commit: commit, Date: buildDate, Go: runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH}
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

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane version\n\nPrints the version, the commit and the build date of this binary.")
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return exitUsage
	}
	info, _ := debug.ReadBuildInfo()
	b := thisBuild(info)
	fmt.Fprintf(stdout, "exitlane %s\ncommit   %s\nbuilt    %s\ngo       %s\n", b.Version, b.Commit, b.Date, b.Go)
	return exitOK
}
