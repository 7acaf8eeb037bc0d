package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"golang.org/x/crypto/bcrypt"
)

func TestAddAttendant(t *testing.T) {
	for _, tc := range []struct {
		args []string
		in   string
		code int
	}{
		{[]string{"--id", "A7", "--name", "Sara", "--badge", "B-7"}, "2468\n", exitOK},
		{[]string{"--id", "A7"}, "12\n", exitFailure},
		{[]string{"--id", "A7"}, "12a4\n", exitFailure},
		{[]string{}, "2468\n", exitUsage},
		{[]string{"--help"}, "", exitOK},
	} {
		var out, errb bytes.Buffer
		code := run(append([]string{"admin", "add-attendant"}, tc.args...), strings.NewReader(tc.in), &out, &errb)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, errb.String())
			continue
		}
		if code != exitOK || len(tc.args) < 2 {
			continue
		}
		var doc struct {
			Admin struct {
				Attendants []struct{ ID, Name, PIN_Hash, Badge string }
			}
		}
		if _, err := toml.Decode("[admin]\n"+strings.Replace(out.String(), "[[admin.attendants]]", "[[admin.attendants]]", 1), &doc); err != nil {
			t.Fatalf("snippet is not TOML: %v\n%s", err, out.String())
		}
		if len(doc.Admin.Attendants) != 1 {
			t.Fatalf("snippet: %s", out.String())
		}
		a := doc.Admin.Attendants[0]
		if a.ID != "A7" || a.Name != "Sara" || a.Badge != "B-7" {
			t.Errorf("snippet fields %+v", a)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(a.PIN_Hash), []byte("2468")); err != nil {
			t.Errorf("hash does not match the PIN: %v", err)
		}
	}
}
