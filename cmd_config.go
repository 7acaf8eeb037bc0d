package main

// "exitlane config check": load and validate a config file.

import (
	"fmt"
	"io"
	"time"

	"github.com/exitlane/exitlane/config"
)

func runConfig(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("config", map[string]command{
		"check": {name: "check", summary: "load and validate a config file", run: func(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
			fs := newFlags("config check", stderr)
			fs.Usage = func() { fmt.Fprintln(stderr, "usage: exitlane config check FILE") }
			if code, done := parseFlags(fs, args); done {
				return code
			}
			if fs.NArg() != 1 {
				fs.Usage()
				return exitUsage
			}
			c, err := config.Load(fs.Arg(0))
			if err != nil {
				fmt.Fprintln(stderr, err)
				return exitFailure
			}
			if c.SiteStore.Enabled() {
				// A lane refuses a store it cannot use; say so now.
				if err := checkStore(c); err != nil {
					fmt.Fprintf(stderr, "%s: site_store: %v\n", c.Path, err)
					return exitFailure
				}
			}
			fmt.Fprintf(stdout, "%s: ok (site %s lane %s, %d tariff table(s), %d attendant(s))\n",
				c.Path, c.Site.ID, c.Site.Lane, len(c.Tariff.Tables), len(c.Admin.Attendants))
			printInForce(stdout, c, time.Now())
			if c.SiteStore.Enabled() {
				fmt.Fprintln(stdout, "site store reachable, schema current")
			}
			for _, w := range c.Warnings() {
				fmt.Fprintln(stdout, "warning:", w)
			}
			return exitOK
		}},
	}, args, stdin, stdout, stderr)
}
