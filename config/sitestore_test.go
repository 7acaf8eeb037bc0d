package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSiteStore(t *testing.T) {
	c, err := Load(lay(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.SiteStore.Enabled() || c.SiteStore.Timeout != 300*time.Millisecond || c.SiteStore.RemoteOpen {
		t.Errorf("example: site store %+v, want none with timeout 300ms, no remote opening", c.SiteStore)
	}
	set := func(url, timeout string) func(string) string {
		return func(s string) string {
			s = strings.Replace(s, "\nurl = \"\"", "\nurl = \""+url+"\"", 1)
			return strings.Replace(s, `timeout = "300ms"`, `timeout = "`+timeout+`"`, 1)
		}
	}
	c, err = Load(lay(t, set("postgres://lane:secret@db.site:5432/exitlane", "150ms")))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SiteStore.Enabled() || c.SiteStore.Timeout != 150*time.Millisecond || c.SiteStore.URL != "postgres://lane:secret@db.site:5432/exitlane" ||
		c.SiteStore.RemoteOpen {
		t.Errorf("site store %+v", c.SiteStore)
	}
	// The office may open this barrier only where the lane says so.
	c, err = Load(lay(t, func(s string) string {
		s = set("postgres://lane:secret@db.site:5432/exitlane", "300ms")(s)
		return strings.Replace(s, "remote_open = false", "remote_open = true", 1)
	}))
	if err != nil || !c.SiteStore.RemoteOpen {
		t.Errorf("remote_open = true: %+v, %v", c.SiteStore, err)
	}
	for _, tc := range []struct{ url, timeout, want string }{
		{"mysql://db/x", "300ms", `site_store.url: the scheme "mysql"`},
		{"postgres:///exitlane", "300ms", "site_store.url: no host"},
		{"postgres://db/x", "5ms", "site_store.timeout: 5ms is not between 10ms and 10s"},
		{"postgres://db/x", "1m", "site_store.timeout: 1m0s is not between"},
	} {
		_, err := Load(lay(t, set(tc.url, tc.timeout)))
		var p *Problems
		if !errors.As(err, &p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("url %q timeout %s: %v; want %q", tc.url, tc.timeout, err, tc.want)
		}
	}
	// The password never appears in a problem.
	if _, err := Load(lay(t, set("postgres://u:hunter2@db/x\x7f", "300ms"))); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad url: %v", err)
	}
}
