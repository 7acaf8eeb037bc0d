package main

// "exitlane ledger": the lane's SQLite ledger. backup takes a consistent
// copy while the lane runs (SQLite's online backup API) into a directory,
// keeping the newest N; check runs SQLite's integrity check and the
// ledger invariants of DESIGN on the data. Both open the ledger read-only:
// they never migrate it or recover it, which is the running lane's job.

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/ledger"
)

func runLedger(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("ledger", map[string]command{
		"backup": {name: "backup", summary: "copy the ledger (consistent, while the lane runs) into a directory, keeping the newest N", run: runLedgerBackup},
		"check":  {name: "check", summary: "SQLite's integrity check and the ledger invariants on the data", run: runLedgerCheck},
	}, args, stdin, stdout, stderr)
}

// ledgerSections are the config sections the ledger tools read.
func ledgerSections() []string { return []string{"site", "ledger"} }

// backupTime is the UTC time in a backup's name: sortable as text.
const backupTime = "20060102T150405Z"

func runLedgerBackup(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("ledger backup", stderr)
	cfgPath := fs.String("config", "", "the lane's TOML config `file` (required)")
	keep := fs.Int("keep", 30, "keep the newest `N` backups of this lane in DIR (0: keep all)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane ledger backup --config FILE [--keep N] DIR\n\nCopies the lane's ledger with SQLite's online backup API (the lane may be\nrunning), checks the copy, and writes it to DIR as\nexitlane-<site>-<lane>-<UTC time>.db (mode 600). Then deletes this lane's\noldest backups in DIR beyond the newest N.")
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return code
	}
	if fs.NArg() != 1 || *keep < 0 {
		fs.Usage()
		return exitUsage
	}
	dir := fs.Arg(0)
	cfg, code := loadConfig(*cfgPath, stderr, ledgerSections()...)
	if cfg == nil {
		return code
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "exitlane ledger backup: %s is not a directory\n", dir)
		return exitFailure
	}
	ctx, cancel := signalContext()
	defer cancel()
	prefix := backupPrefix(cfg)
	dst := filepath.Join(dir, prefix+time.Now().UTC().Format(backupTime)+".db")
	started := time.Now()
	if err := ledger.Backup(ctx, cfg.Ledger.Path, dst); err != nil {
		fmt.Fprintf(stderr, "exitlane ledger backup: %v\n", err)
		return exitFailure
	}
	fi, err := os.Stat(dst)
	if err != nil {
		fmt.Fprintf(stderr, "exitlane ledger backup: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "backup %s (%d bytes, %s, checked)\n", dst, fi.Size(), time.Since(started).Round(time.Millisecond))
	if *keep == 0 {
		return exitOK
	}
	removed, err := pruneBackups(dir, prefix, *keep)
	for _, p := range removed {
		fmt.Fprintf(stdout, "removed %s\n", p)
	}
	if err != nil {
		fmt.Fprintf(stderr, "exitlane ledger backup: retention: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// backupPrefix names this lane's backups: exitlane-<site>-<lane>-.
func backupPrefix(cfg *config.Config) string {
	return "exitlane-" + cfg.Site.ID + "-" + cfg.Site.Lane + "-"
}

// pruneBackups deletes the oldest of the backups named prefix<UTC time>.db
// in dir beyond the newest keep. Other files, another lane's backups and
// names that are not a backup time are left alone.
func pruneBackups(dir, prefix string, keep int) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		stamp, ok := strings.CutPrefix(n, prefix)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		stamp, ok = strings.CutSuffix(stamp, ".db")
		if _, err := time.Parse(backupTime, stamp); !ok || err != nil {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var removed []string
	for len(names) > keep {
		p := filepath.Join(dir, names[0])
		if err := os.Remove(p); err != nil {
			return removed, err
		}
		removed = append(removed, p)
		names = names[1:]
	}
	return removed, nil
}

func runLedgerCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("ledger check", stderr)
	cfgPath := fs.String("config", "", "the lane's TOML config `file` (required)")
	file := fs.String("file", "", "check this ledger `file` (a backup) instead of the config's")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: exitlane ledger check --config FILE [--file LEDGER]\n\nRuns SQLite's integrity check and the five ledger invariants on the data\n(order stored before placeOrder, paid orders never lost, one exit per\nticket unless overridden with a reason, one authorisation row per opening\nwith cause and actor, refunds within what was paid), prints what is wrong\nand lists the payments that are paid, not exited. Exit 1 if anything is\nwrong.")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	path := *file
	if path == "" {
		cfg, code := loadConfig(*cfgPath, stderr, ledgerSections()...)
		if cfg == nil {
			return code
		}
		path = cfg.Ledger.Path
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	l, err := ledger.OpenReadOnly(ctx, path)
	if err != nil {
		fmt.Fprintf(stderr, "exitlane ledger check: %v\n", err)
		return exitFailure
	}
	defer l.Close()
	rep, err := l.Check(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "exitlane ledger check: %v\n", err)
		return exitFailure
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(stdout, "WRONG %s\n", p)
	}
	for _, u := range rep.PaidNotExited {
		fmt.Fprintf(stdout, "paid, not exited: order %s visit %d ticket %s %s since %s\n",
			u.MerchantOrderNo, u.Visit, u.Ticket, u.Amount, u.Since.UTC().Format(time.RFC3339))
	}
	if !rep.OK() {
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", path, len(rep.Problems))
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s: integrity ok, invariants hold, %d paid not exited\n", path, len(rep.PaidNotExited))
	return exitOK
}
