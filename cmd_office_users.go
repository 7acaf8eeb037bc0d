package main

// "exitlane office add-user|passwd|users|disable-user": the web
// console's users, kept in the site store. A password is read twice from
// the terminal without echo, or once (the first line) from stdin when it
// is not a terminal.

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/sitestore"
)

// officeUserCommands are the user subcommands of "exitlane office".
func officeUserCommands() map[string]command {
	return map[string]command{
		"add-user":     {name: "add-user", summary: "add a console user: --role viewer|supervisor|admin NAME", run: runOfficeAddUser},
		"passwd":       {name: "passwd", summary: "set a console user's password: NAME", run: runOfficePasswd},
		"users":        {name: "users", summary: "list the console's users", run: runOfficeUsers},
		"disable-user": {name: "disable-user", summary: "disable a console user (ends the user's sessions): NAME", run: runOfficeDisableUser},
	}
}

// officeStore parses --config (and the flags add adds) and opens the
// site store of its [site_store].
func officeStore(name, usage string, args []string, stderr io.Writer, nargs int, add func(*flag.FlagSet)) (*sitestore.Store, []string, int) {
	fs := newFlags("office "+name, stderr)
	cfgPath := fs.String("config", "", "the site's TOML config `file` (site.toml)")
	if add != nil {
		add(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: exitlane office %s --config site.toml %s\n", name, usage)
		fs.PrintDefaults()
	}
	if code, done := parseFlags(fs, args); done {
		return nil, nil, code
	}
	if fs.NArg() != nargs {
		fs.Usage()
		return nil, nil, exitUsage
	}
	c, code := loadConfig(*cfgPath, stderr, "site_store")
	if c == nil {
		return nil, nil, code
	}
	if !c.SiteStore.Enabled() {
		fmt.Fprintf(stderr, "exitlane office: %s has no [site_store] url\n", c.Path)
		return nil, nil, exitFailure
	}
	s, err := sitestore.New(c.SiteStore.URL, sitestore.Options{Site: c.Site.ID, MaxConns: 2})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, nil, exitFailure
	}
	return s, fs.Args(), exitOK
}

func runOfficeAddUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	var role *string
	s, rest, code := officeStore("add-user", "--role viewer|supervisor|admin NAME", args, stderr, 1, func(fs *flag.FlagSet) {
		role = fs.String("role", "", "the user's `role`: viewer, supervisor or admin")
	})
	if s == nil {
		return code
	}
	defer s.Close()
	if !slices.Contains(office.Roles, *role) {
		fmt.Fprintf(stderr, "exitlane office add-user: --role %q: want viewer, supervisor or admin\n", *role)
		return exitUsage
	}
	pw, err := readPassword(stdin, stderr, "Password for "+rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "exitlane office add-user: %v\n", err)
		return exitFailure
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := office.AddUser(ctx, s, rest[0], *role, pw, time.Now()); err != nil {
		fmt.Fprintf(stderr, "exitlane office add-user: %v\n", err)
		if errors.Is(err, office.ErrBadName) || errors.Is(err, office.ErrBadRole) {
			return exitUsage
		}
		return exitFailure
	}
	fmt.Fprintf(stdout, "user %s added (%s)\n", rest[0], *role)
	return exitOK
}

func runOfficePasswd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s, rest, code := officeStore("passwd", "NAME", args, stderr, 1, nil)
	if s == nil {
		return code
	}
	defer s.Close()
	pw, err := readPassword(stdin, stderr, "New password for "+rest[0])
	if err != nil {
		fmt.Fprintf(stderr, "exitlane office passwd: %v\n", err)
		return exitFailure
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := office.SetPassword(ctx, s, rest[0], pw, time.Now()); err != nil {
		fmt.Fprintf(stderr, "exitlane office passwd: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "password of %s set; the user's sessions ended\n", rest[0])
	return exitOK
}

func runOfficeUsers(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s, _, code := officeStore("users", "", args, stderr, 0, nil)
	if s == nil {
		return code
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	us, err := s.OfficeUsers(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "exitlane office users: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%-20s %-10s %-8s %s\n", "NAME", "ROLE", "STATE", "LAST LOG-IN")
	for _, u := range us {
		state, last := "active", "never"
		if u.Disabled {
			state = "disabled"
		}
		if !u.LastLogin.IsZero() {
			last = u.LastLogin.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%-20s %-10s %-8s %s\n", u.Name, u.Role, state, last)
	}
	return exitOK
}

func runOfficeDisableUser(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	s, rest, code := officeStore("disable-user", "NAME", args, stderr, 1, nil)
	if s == nil {
		return code
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.SetOfficeUserDisabled(ctx, rest[0], true, time.Now()); err != nil {
		fmt.Fprintf(stderr, "exitlane office disable-user: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "user %s disabled; the user's sessions ended\n", rest[0])
	return exitOK
}

// readPassword reads a password: twice without echo from a terminal, or
// the first line of stdin otherwise.
func readPassword(stdin io.Reader, stderr io.Writer, prompt string) (string, error) {
	if f, ok := stdin.(*os.File); ok {
		if old, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			quiet := *old
			quiet.Lflag &^= unix.ECHO
			quiet.Lflag |= unix.ICANON | unix.ISIG
			if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &quiet); err != nil {
				return "", fmt.Errorf("terminal: %w", err)
			}
			defer unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, old)
			r := bufio.NewReader(f)
			fmt.Fprintf(stderr, "%s: ", prompt)
			a, err := r.ReadString('\n')
			fmt.Fprintln(stderr)
			if err != nil {
				return "", fmt.Errorf("read password: %w", err)
			}
			fmt.Fprint(stderr, "Again: ")
			b, err := r.ReadString('\n')
			fmt.Fprintln(stderr)
			if err != nil {
				return "", fmt.Errorf("read password: %w", err)
			}
			if a != b {
				return "", errors.New("the two passwords differ")
			}
			return strings.TrimRight(a, "\r\n"), nil
		}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		return "", errors.New("no password on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
