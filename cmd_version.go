package main

// "exitlane version": which build this binary is, for a technician's
// report and for the support desk (internal/buildinfo: set at link time
// by make deb, else what the Go toolchain stamped).

import (
	"fmt"
	"io"

	"github.com/exitlane/exitlane/internal/buildinfo"
)

func runVersion(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("version", stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane version\n\nPrints the version, the commit and the build date of this binary.")
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	b := buildinfo.Read()
	fmt.Fprintf(stdout, "exitlane %s\ncommit   %s\nbuilt    %s\ngo       %s\n", b.Version, b.Commit, b.Date, b.Go)
	return exitOK
}
