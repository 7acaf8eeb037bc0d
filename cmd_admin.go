package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/exitlane/exitlane/ui"
)

func runAdmin(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return subcommands("admin", map[string]command{
		"add-attendant": {name: "add-attendant", summary: "read a PIN and print a [[admin.attendants]] entry with its bcrypt hash", run: runAddAttendant},
	}, args, stdin, stdout, stderr)
}

func runAddAttendant(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlags("admin add-attendant", stderr)
	id := fs.String("id", "", "attendant id, written to the audit with every action (required)")
	name := fs.String("name", "", "name shown on the login screen (default: the id)")
	badge := fs.String("badge", "", "code on the attendant's badge (optional)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: exitlane admin add-attendant --id ID [--name NAME] [--badge CODE] < pin")
		fmt.Fprintln(stderr, "\nReads the PIN (4 to 8 digits) twice from the terminal without echo, or once")
		fmt.Fprintln(stderr, "from standard input when it is not a terminal, and prints a config snippet")
		fmt.Fprintln(stderr, "with the PIN's bcrypt hash to paste into the lane's config file.")
		fs.PrintDefaults()
	}
	if code, done := parseNoArgs(fs, args); done {
		return code
	}
	if *id == "" {
		fs.Usage()
		return exitUsage
	}
	if *name == "" {
		*name = *id
	}
	pin, err := readPIN(stdin, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane admin add-attendant:", err)
		return exitFailure
	}
	hash, err := ui.HashPIN(pin)
	if err != nil {
		fmt.Fprintln(stderr, "exitlane admin add-attendant:", err)
		return exitFailure
	}
	fmt.Fprintln(stdout, "[[admin.attendants]]")
	fmt.Fprintf(stdout, "id = %s\n", strconv.Quote(*id))
	fmt.Fprintf(stdout, "name = %s\n", strconv.Quote(*name))
	fmt.Fprintf(stdout, "pin_hash = %s\n", strconv.Quote(hash))
	if *badge != "" {
		fmt.Fprintf(stdout, "badge = %s\n", strconv.Quote(*badge))
	}
	return exitOK
}

// readPIN reads the PIN twice from a terminal with echo off, or once from
// a pipe.
func readPIN(in io.Reader, prompt io.Writer) (string, error) {
	f, isFile := in.(*os.File)
	tty := false
	if isFile {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	r := bufio.NewReader(in)
	line := func() (string, error) {
		s, err := r.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && s != "") {
			return "", fmt.Errorf("read pin: %w", err)
		}
		return strings.TrimSpace(s), nil
	}
	if !tty {
		return line()
	}
	if err := stty(f, "-echo"); err == nil {
		defer stty(f, "echo")
	}
	fmt.Fprint(prompt, "PIN (4-8 digits): ")
	a, err := line()
	fmt.Fprintln(prompt)
	if err != nil {
		return "", err
	}
	fmt.Fprint(prompt, "PIN again: ")
	b, err := line()
	fmt.Fprintln(prompt)
	if err != nil {
		return "", err
	}
	if a != b {
		return "", errors.New("the two PINs differ")
	}
	return a, nil
}

func stty(f *os.File, arg string) error {
	c := exec.Command("stty", arg)
	c.Stdin = f
	return c.Run()
}
