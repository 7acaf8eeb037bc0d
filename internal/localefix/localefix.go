// Package localefix keeps Fyne quiet about a C locale spelled with a
// codeset. Fyne's lang package reads the messages locale in its package
// init (lang.init → AddTranslationsFS → updateLocalizer →
// go-locale's GetLocales). go-locale treats "C" and "POSIX" as no locale,
// but passes "C.UTF-8" (Debian's default in containers and services) on
// as the language "C", which golang.org/x/text cannot parse: every
// command, even one that shows no window, then starts with Fyne's
// three-line "Error parsing user locale C" on stderr.
//
// C.UTF-8 means the C locale for messages (untranslated English), so this
// package's init spells it "C" while the other packages initialise, and
// Restore, called from package main's init once they all have, puts the
// variable back as the process was started with it (so that the display
// and anything else reading it later sees the user's value).
//
// It must initialise before fyne.io/fyne/v2/lang. Go initialises a
// package after its imports and, among packages ready at the same time,
// in import path order; this package imports only the standard library,
// and lang imports packages whose paths sort after
// "github.com/exitlane/..." (github.com/jeandeaual/go-locale,
// github.com/nicksnyder/go-i18n, golang.org/x/text), so it always comes
// first. The command's tests run the binary under LANG=C.UTF-8 to keep
// that true.
package localefix

import (
	"os"
	"strings"
)

// vars are the variables go-locale (like gettext) reads for the messages
// locale, in order: the first one set decides.
var vars = [...]string{"LC_ALL", "LC_MESSAGES", "LANG"}

// restore puts back what init changed.
var restore = func() {}

func init() { restore = normalise() }

// normalise spells a C or POSIX locale with a codeset or modifier
// ("C.UTF-8", "C.utf8", "POSIX.UTF-8@x") as "C", in the variable that
// decides, and returns the function that undoes it.
func normalise() func() {
	for _, k := range vars {
		v, ok := os.LookupEnv(k)
		if !ok || v == "" {
			continue
		}
		if v == "C" || v == "POSIX" || !IsC(v) {
			return func() {}
		}
		os.Setenv(k, "C")
		return func() { os.Setenv(k, v) }
	}
	return func() {}
}

// IsC reports whether a locale name is the C (or POSIX) locale, with or
// without a codeset and modifier.
func IsC(locale string) bool {
	base := locale
	if i := strings.IndexAny(locale, ".@"); i >= 0 {
		base = locale[:i]
	}
	return base == "C" || base == "POSIX"
}

// Restore puts the locale variable back as the process was started with
// it. Package main calls it from its init, after every package it
// imports (Fyne's included) has initialised; calling it again does
// nothing.
func Restore() {
	restore()
	restore = func() {}
}
