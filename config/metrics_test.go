package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMetricsListen(t *testing.T) {
	c, err := Load(lay(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Metrics.Listen != "" {
		t.Errorf("example: metrics listen %q, want off", c.Metrics.Listen)
	}
	set := func(addr string) func(string) string {
		return func(s string) string {
			return strings.Replace(s, "[metrics]\nlisten = \"\"", "[metrics]\nlisten = \""+addr+"\"", 1)
		}
	}
	for _, ok := range []string{"127.0.0.1:9464", "localhost:9464", "[::1]:9464", "0.0.0.0:9464", "192.0.2.10:9464"} {
		c, err := Load(lay(t, set(ok)))
		if err != nil {
			t.Errorf("%s: %v", ok, err)
		} else if c.Metrics.Listen != ok {
			t.Errorf("%s: read %q", ok, c.Metrics.Listen)
		}
	}
	for _, tc := range []struct{ addr, want string }{
		{":9464", `metrics.listen: ":9464" binds every interface`},
		{"9464", `metrics.listen: "9464" is not host:port`},
		{"127.0.0.1:0", "the port must be 1-65535"},
		{"127.0.0.1:http", "the port must be 1-65535"},
		{"lane.example:9464", `the host must be an IP address or "localhost"`},
	} {
		_, err := Load(lay(t, set(tc.addr)))
		var p *Problems
		if !errors.As(err, &p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want %q", tc.addr, err, tc.want)
		}
	}
}

// office lays site.example.toml out with PayBy's key, edited by edit.
func office(t *testing.T, edit func(string) string) string {
	t.Helper()
	src, err := os.ReadFile("../site.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	if edit != nil {
		text = edit(text)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "payby"), 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"payby/payby.pub": "-----BEGIN PUBLIC KEY-----\n", "site.toml": text} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "site.toml")
}

func TestOfficeExampleLoads(t *testing.T) {
	path := office(t, nil)
	c, err := Load(path, ForOffice())
	if err != nil {
		t.Fatal(err)
	}
	o := c.Office
	if c.Site.ID != "GRG01" || c.Site.Lane != "" || !c.SiteStore.Enabled() || o.Listen != "127.0.0.1:8480" ||
		o.NotifyPath != "/payby/notify" || o.NotifyReply != "json" || c.Metrics.Listen != "127.0.0.1:9465" ||
		o.PayByPublicKeyFile != filepath.Join(filepath.Dir(path), "payby/payby.pub") {
		t.Errorf("office config %+v metrics %+v site %+v", o, c.Metrics, c.Site)
	}
	// A lane's config needs its lane; the office's does not, but it does
	// need the store and PayBy's key.
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "site.lane") {
		t.Errorf("site.toml as a lane's config: %v", err)
	}
	for _, tc := range []struct{ from, to, want string }{
		{`url = "postgres://office:secret@db.example.local:5432/exitlane"`, `url = ""`, "site_store.url: missing"},
		{`payby_public_key_file = "payby/payby.pub"`, `payby_public_key_file = ""`, "office.payby_public_key_file: missing"},
		{`payby_public_key_file = "payby/payby.pub"`, `payby_public_key_file = "nope.pub"`, "office.payby_public_key_file: stat"},
		{`listen = "127.0.0.1:8480"`, `listen = "0.0.0.0:8480"`, `office.listen: "0.0.0.0:8480" is not loopback`},
		{`listen = "127.0.0.1:8480"`, `listen = ":8480"`, `office.listen: ":8480" binds every interface`},
		{`tls_cert_file = ""`, `tls_cert_file = "cert.pem"`, "give both or neither"},
		{`notify_path = "/payby/notify"`, `notify_path = "payby"`, "office.notify_path"},
		{`notify_reply = "json"`, `notify_reply = "xml"`, "office.notify_reply"},
		{`listen = "127.0.0.1:9465"`, `listen = ":9465"`, "metrics.listen"},
	} {
		_, err := Load(office(t, func(s string) string { return strings.Replace(s, tc.from, tc.to, 1) }), ForOffice())
		var p *Problems
		if !errors.As(err, &p) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want %q", tc.to, err, tc.want)
		}
		if p != nil && strings.Count(err.Error(), "office.listen") > 1 {
			t.Errorf("%s: one problem reported twice: %v", tc.to, err)
		}
	}
	// With TLS, any address.
	_, err = Load(office(t, func(s string) string {
		s = strings.Replace(s, `listen = "127.0.0.1:8480"`, `listen = "0.0.0.0:8443"`, 1)
		s = strings.Replace(s, `tls_cert_file = ""`, `tls_cert_file = "site.toml"`, 1)
		return strings.Replace(s, `tls_key_file = ""`, `tls_key_file = "payby/payby.pub"`, 1)
	}), ForOffice())
	if err != nil {
		t.Errorf("office with TLS on 0.0.0.0: %v", err)
	}
}
