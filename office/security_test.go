package office_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/sitestore"
)

func sessionCookie(t *testing.T, b *browser) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(b.c.base)
	for _, ck := range b.http.Jar.Cookies(u) {
		if ck.Name == "exitlane_office" {
			return ck
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// A log-in always starts a new session id and ends the one the browser
// had, so a session id known before a log-in is worth nothing after it.
func TestConsoleLoginRotatesSession(t *testing.T) {
	c := newConsole(t, nil)
	b := c.browser()
	b.mustLogin("vic")
	first := sessionCookie(t, b)
	b.mustLogin("vic")
	second := sessionCookie(t, b)
	if first.Value == second.Value {
		t.Fatal("the session id was not rotated at log-in")
	}
	old := c.browser()
	u, _ := url.Parse(c.base)
	old.http.Jar.SetCookies(u, []*http.Cookie{first})
	if res, _ := old.do("GET", "/alarms", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session before the log-in still works: %d", res.StatusCode)
	}
	if res, _ := b.do("GET", "/alarms", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("the new session: %d", res.StatusCode)
	}
	// Log-out is a POST with the session's token; a GET does nothing.
	if res, _ := b.do("GET", "/logout", nil); res.StatusCode == http.StatusSeeOther || res.StatusCode == http.StatusOK {
		t.Fatalf("GET /logout: %d", res.StatusCode)
	}
	if res, _ := b.do("POST", "/logout", url.Values{"csrf": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("log-out with a forged token: %d", res.StatusCode)
	}
	if res, _ := b.do("GET", "/alarms", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("a forged log-out ended the session: %d", res.StatusCode)
	}
	// The log-in form's own token: without it, or forged, no log-in.
	fresh := c.browser()
	fresh.do("GET", "/login", nil)
	if res, _ := fresh.do("POST", "/login", url.Values{"csrf": {"forged"}, "name": {"vic"}, "password": {"password-vic"}}); res.StatusCode != http.StatusForbidden {
		t.Fatalf("log-in with a forged token: %d", res.StatusCode)
	}
}

// Forms have a size limit: a huge body is refused before it is read
// whole, on the log-in form and behind it.
func TestConsoleBodyLimit(t *testing.T) {
	c := newConsole(t, nil)
	b := c.browser()
	_, page := b.do("GET", "/login", nil)
	huge := strings.Repeat("x", 1<<20)
	if res, _ := b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "name": {"vic"}, "password": {huge}}); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("1 MiB log-in: %d", res.StatusCode)
	}
	b.mustLogin("sam")
	_, page = b.do("GET", "/alarms", nil)
	if res, _ := b.do("POST", "/actions/close_lane", url.Values{"csrf": {csrfOf(t, page)}, "lane": {"A"}, "reason": {huge}}); res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("1 MiB action: %d", res.StatusCode)
	}
}

// lockedWriter is a log sink for a test.
type lockedWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// No password, right or wrong, reaches the log or the audit.
func TestConsolePasswordsNotLogged(t *testing.T) {
	var logw lockedWriter
	c := newConsole(t, func(o *office.Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logw, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	b := c.browser()
	b.login("vic", "wrong-secret-1")
	b.login("nobody", "wrong-secret-2")
	b.mustLogin("vic")
	_, page := b.do("GET", "/", nil)
	b.do("POST", "/logout", url.Values{"csrf": {csrfOf(t, page)}})
	logs := logw.String()
	es, err := c.store.OfficeAudit(ctxT(t), 100)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs, "login_failed") || len(es) < 4 {
		t.Fatalf("nothing logged or audited:\n%s", logs)
	}
	for _, pw := range []string{"wrong-secret-1", "wrong-secret-2", "password-vic"} {
		if strings.Contains(logs, pw) {
			t.Errorf("the log holds a password %q", pw)
		}
		for _, e := range es {
			if strings.Contains(e.User+e.Reason+e.Result+e.Action, pw) {
				t.Errorf("the audit holds a password %q: %+v", pw, e)
			}
		}
	}
}

// The live stream needs a session, and ends (with a "logout" event)
// when the session expires.
func TestConsoleStreamNeedsSession(t *testing.T) {
	c := newConsole(t, nil)
	anon := c.browser()
	if res, _ := anon.do("GET", "/events", nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/events without a session: %d", res.StatusCode)
	}
	b := c.browser()
	b.mustLogin("vic")
	res, ch := b.stream("/events")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/events: %d", res.StatusCode)
	}
	next(t, ch, "a ping", "ping", func(string) bool { return true })
	c.clk.add(31 * time.Minute) // idle: the stream is no activity
	next(t, ch, "the logout", "logout", func(string) bool { return true })
	for range ch { // the server ends the stream
	}
	if got := strings.Join(c.audit(), "\n"); !strings.Contains(got, "vic session_expired idle") {
		t.Errorf("audit:\n%s", got)
	}
}

// Store data reaches the pages escaped: a lane's screen text that is
// markup is shown as text, on the page and in the live card.
func TestConsoleEscapesStoreData(t *testing.T) {
	c := newConsole(t, nil)
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	if err := c.store.PublishLaneStatus(ctxT(t), sitestore.LaneStatus{Lane: "A", Seq: 1, State: "notice", Ready: true, Notice: evil, Ticket: evil}); err != nil {
		t.Fatal(err)
	}
	b := c.browser()
	b.mustLogin("vic")
	_, page := b.do("GET", "/", nil)
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;script&gt;alert(1)") {
		t.Errorf("the lanes page does not escape the lane's screen:\n%s", page)
	}
	_, ch := b.stream("/events")
	card := next(t, ch, "the card", "card", func(d string) bool { return strings.Contains(d, "alert(1)") })
	if strings.Contains(card, "<script>alert") || strings.Contains(card, `\u003cscript\u003ealert`) {
		t.Errorf("the live card does not escape the lane's screen: %s", card)
	}
}

// selfSigned writes a certificate and key for 127.0.0.1 and returns their
// paths.
func selfSigned(t *testing.T) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "office"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// Under TLS the cookies are Secure and HSTS is sent; without TLS the
// office refuses a listener that is not loopback.
func TestConsoleTLS(t *testing.T) {
	dbURL := pgtest.NewDB(t)
	store := migrated(t, dbURL)
	if err := office.AddUser(ctxT(t), store, "vic", office.RoleViewer, "password-vic", time.Now()); err != nil {
		t.Fatal(err)
	}
	cfg := officeConfig(t, dbURL)

	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	if srv, err := office.Open(context.Background(), cfg, office.Options{Listener: ln}); err == nil {
		srv.Close()
		t.Fatal("plain HTTP opened on a listener that is not loopback")
	} else if !strings.Contains(err.Error(), "not loopback") {
		t.Fatalf("refused for another reason: %v", err)
	}

	cfg.Office.TLSCertFile, cfg.Office.TLSKeyFile = selfSigned(t)
	_, base := runWith(t, cfg, office.Options{})
	base = strings.Replace(base, "http://", "https://", 1)
	pool := x509.NewCertPool()
	pemData, _ := os.ReadFile(cfg.Office.TLSCertFile)
	pool.AppendCertsFromPEM(pemData)
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	b := &browser{c: &consoleT{t: t, base: base, store: store}, http: cl}
	res, page := b.do("GET", "/login", nil)
	if res.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	cookies := res.Header.Values("Set-Cookie")
	res, _ = b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "name": {"vic"}, "password": {"password-vic"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("log-in over TLS: %d", res.StatusCode)
	}
	var n int
	for _, v := range append(cookies, res.Header.Values("Set-Cookie")...) {
		if strings.HasPrefix(v, "exitlane_") {
			n++
			if !strings.Contains(v, "; Secure") || !strings.Contains(v, "HttpOnly") {
				t.Errorf("cookie without Secure over TLS: %q", v)
			}
		}
	}
	if n < 3 { // the log-in token, its removal, the session
		t.Errorf("cookies: %v", cookies)
	}
}
