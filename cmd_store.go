package main

// "exitlane store": the site store (PostgreSQL shared by a site's lanes,
// docs/site-store.md): apply its migrations, show its state.

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/sitestore"
)

func runStore(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("store", map[string]command{
		"migrate": {name: "migrate", summary: "apply the site store's schema migrations", run: runStoreMigrate},
		"status":  {name: "status", summary: "check the site store and list its lanes and open incidents", run: runStoreStatus},
	}, args, stdin, stdout, stderr)
}

// openStore loads [site_store] from --config and returns a store that is
// not yet connected.
func openStore(name string, args []string, stdout, stderr io.Writer) (*sitestore.Store, *config.Config, int) {
	fs := newFlags("store "+name, stderr)
	cfgPath := fs.String("config", "", "config `file`")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: exitlane store %s --config F\n", name)
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return nil, nil, code
	}
	c, code := loadConfig(*cfgPath, stderr, "site_store")
	if c == nil {
		return nil, nil, code
	}
	if !c.SiteStore.Enabled() {
		fmt.Fprintf(stderr, "exitlane store: %s has no [site_store] url\n", c.Path)
		return nil, nil, exitFailure
	}
	s, err := sitestore.New(c.SiteStore.URL, sitestore.Options{Site: c.Site.ID, MaxConns: 2})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, nil, exitFailure
	}
	return s, c, exitOK
}

func runStoreMigrate(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s, _, code := openStore("migrate", args, stdout, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	applied, err := s.Migrate(ctx)
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	if err := s.Check(ctx); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	if len(applied) == 0 {
		fmt.Fprintln(stdout, "site store schema already current")
	}
	return exitOK
}

func runStoreStatus(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s, _, code := openStore("status", args, stdout, stderr)
	if s == nil {
		return code
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Check(ctx); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	lanes, err := s.Lanes(ctx)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "site %s: schema current, %d lane(s)\n", s.Site(), len(lanes))
	for _, l := range lanes {
		fmt.Fprintf(stdout, "  lane %-8s last seq %d\n", l.Lane, l.LastSeq)
	}
	inc, err := s.Incidents(ctx, true)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%d open incident(s)\n", len(inc))
	for _, i := range inc {
		fmt.Fprintf(stdout, "  #%d %s ticket %s lane %s\n", i.ID, i.Kind, i.Ticket, i.Lane)
	}
	return exitOK
}

// checkStore is "config check"'s look at the site store: reachable, and
// its schema the one this exitlane knows.
func checkStore(c *config.Config) error {
	s, err := sitestore.New(c.SiteStore.URL, sitestore.Options{Site: c.Site.ID, MaxConns: 1})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.Check(ctx)
}
