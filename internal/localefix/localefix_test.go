package localefix

import (
	"os"
	"testing"
)

func TestIsC(t *testing.T) {
	for v, want := range map[string]bool{
		"C": true, "POSIX": true, "C.UTF-8": true, "C.utf8": true, "POSIX.UTF-8": true, "C@latin": true,
		"en_US.UTF-8": false, "ar_AE.UTF-8": false, "Ca": false, "": false, "en": false, "c.utf8": false,
	} {
		if got := IsC(v); got != want {
			t.Errorf("IsC(%q) = %t, want %t", v, got, want)
		}
	}
}

func TestNormaliseAndRestore(t *testing.T) {
	cases := []struct {
		name          string
		env           map[string]string
		changed, want string // the variable normalise sets to "C" (none: "")
	}{
		{"LANG C.UTF-8", map[string]string{"LANG": "C.UTF-8"}, "LANG", "C"},
		{"LC_ALL wins", map[string]string{"LC_ALL": "C.utf8", "LANG": "en_US.UTF-8"}, "LC_ALL", "C"},
		{"LC_MESSAGES before LANG", map[string]string{"LC_MESSAGES": "POSIX.UTF-8", "LANG": "C.UTF-8"}, "LC_MESSAGES", "C"},
		{"a real locale decides", map[string]string{"LC_ALL": "en_US.UTF-8", "LANG": "C.UTF-8"}, "", ""},
		{"plain C left alone", map[string]string{"LANG": "C"}, "", ""},
		{"nothing set", map[string]string{}, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range vars {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			undo := normalise()
			for _, k := range vars {
				want := c.env[k]
				if k == c.changed {
					want = c.want
				}
				if got := os.Getenv(k); got != want {
					t.Errorf("after normalise %s=%q, want %q", k, got, want)
				}
			}
			undo()
			for _, k := range vars {
				if got := os.Getenv(k); got != c.env[k] {
					t.Errorf("after undo %s=%q, want %q", k, got, c.env[k])
				}
			}
		})
	}
}
