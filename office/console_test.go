package office_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/sitestore"
)

// clock is a settable clock for the console.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// consoleT is an office with its console, users and a clock.
type consoleT struct {
	t     *testing.T
	base  string
	store *sitestore.Store
	clk   *clock
	srv   *office.Server
}

func newConsole(t *testing.T, edit func(*office.Options)) *consoleT {
	t.Helper()
	url := pgtest.NewDB(t)
	store := migrated(t, url)
	clk := &clock{t: time.Now()}
	cfg := officeConfig(t, url)
	o := office.Options{Now: clk.Now, Tick: 50 * time.Millisecond, CommandWait: 2 * time.Second}
	if edit != nil {
		edit(&o)
	}
	srv, base := runWith(t, cfg, o)
	c := &consoleT{t: t, base: base, store: store, clk: clk, srv: srv}
	for _, u := range [][2]string{{"ada", office.RoleAdmin}, {"sam", office.RoleSupervisor}, {"vic", office.RoleViewer}} {
		if err := office.AddUser(ctxT(t), store, u[0], u[1], "password-"+u[0], clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// browser is a client with cookies that does not follow redirects.
type browser struct {
	c    *consoleT
	http *http.Client
}

func (c *consoleT) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: c, http: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.c.base+path, body)
	if err != nil {
		b.c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.c.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return res, string(data)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in:\n%s", page)
	}
	return m[1]
}

// login posts the log-in form and returns the answer.
func (b *browser) login(name, pw string) (*http.Response, string) {
	b.c.t.Helper()
	_, page := b.do("GET", "/login", nil)
	return b.do("POST", "/login", url.Values{"csrf": {csrfOf(b.c.t, page)}, "name": {name}, "password": {pw}})
}

func (b *browser) mustLogin(name string) {
	b.c.t.Helper()
	res, body := b.login(name, "password-"+name)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		b.c.t.Fatalf("log-in of %s: %d %s", name, res.StatusCode, body)
	}
}

// audit returns the office audit, oldest first, as "user action result".
func (c *consoleT) audit() []string {
	c.t.Helper()
	es, err := c.store.OfficeAudit(ctxT(c.t), 1000)
	if err != nil {
		c.t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		out = append(out, es[i].User+" "+es[i].Action+" "+es[i].Result)
	}
	return out
}

func TestConsoleLogInAndHeaders(t *testing.T) {
	c := newConsole(t, nil)
	b := c.browser()
	res, _ := b.do("GET", "/", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
		t.Fatalf("/ logged out: %d %v", res.StatusCode, res.Header)
	}
	res, page := b.do("GET", "/login", nil)
	for k, v := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'",
		"X-Frame-Options":         "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if res.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
		t.Error("inline script or style on the log-in page")
	}
	if res, body := b.login("ada", "wrong password!"); res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong name or password.") {
		t.Fatalf("wrong password: %d %s", res.StatusCode, body)
	}
	b.mustLogin("ada")
	var session *http.Cookie
	u, _ := url.Parse(c.base)
	for _, ck := range b.http.Jar.Cookies(u) {
		if ck.Name == "exitlane_office" {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	res, page = b.do("GET", "/", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, "ada") || res.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("/ logged in: %d %s", res.StatusCode, page)
	}
	// The cookie's attributes, as sent.
	_, page = b.do("GET", "/login", nil)
	res, _ = b.do("POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "name": {"sam"}, "password": {"password-sam"}})
	sc := res.Header.Values("Set-Cookie")
	var sess string
	for _, v := range sc {
		if strings.HasPrefix(v, "exitlane_office=") {
			sess = v
		}
	}
	if !strings.Contains(sess, "HttpOnly") || !strings.Contains(sess, "SameSite=Strict") || strings.Contains(sess, "Secure") {
		t.Errorf("session cookie: %q", sess)
	}
	// Log out ends the session server-side too.
	_, page = b.do("GET", "/", nil)
	if res, _ := b.do("POST", "/logout", url.Values{"csrf": {csrfOf(t, page)}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	// Sam's log-in in the same browser ended ada's session: a log-in
	// never carries an old session id on.
	old := c.browser()
	old.http.Jar.SetCookies(u, []*http.Cookie{session})
	if res, _ := old.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ada's session after sam logged in over it: %d", res.StatusCode)
	}
	if res, _ := b.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after log-out: %d", res.StatusCode)
	}
	got := strings.Join(c.audit(), "\n")
	for _, want := range []string{"ada login_failed wrong password", "ada login ok", "sam login ok", "sam logout ok"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %q:\n%s", want, got)
		}
	}
}

func TestConsoleLockout(t *testing.T) {
	c := newConsole(t, nil)
	b := c.browser()
	for _, name := range []string{"sam", "nobody"} {
		for i := 1; i <= 5; i++ {
			res, body := b.login(name, "not the password")
			locked := strings.Contains(body, "locked after too many failed log-ins")
			if res.StatusCode != http.StatusUnauthorized || locked != (i == 5) {
				t.Fatalf("%s failure %d: %d locked=%v", name, i, res.StatusCode, locked)
			}
			c.clk.add(time.Second)
		}
	}
	// Locked: even the right password, and the same words for a name
	// that is no user.
	res, body := b.login("sam", "password-sam")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "locked after too many failed log-ins") {
		t.Fatalf("right password while locked: %d %s", res.StatusCode, body)
	}
	_, other := b.login("nobody", "password-sam")
	if csrfRE.ReplaceAllString(strings.ReplaceAll(other, "nobody", "sam"), "") != csrfRE.ReplaceAllString(body, "") {
		t.Errorf("a locked user and a locked unknown name are told different things")
	}
	c.clk.add(15 * time.Minute)
	b.mustLogin("sam")
	got := strings.Join(c.audit(), "\n")
	for _, want := range []string{"sam login_failed wrong password, now locked", "nobody login_failed no such user, now locked", "sam login_failed locked", "sam login ok"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %q:\n%s", want, got)
		}
	}
}

func TestConsoleSessionExpiry(t *testing.T) {
	c := newConsole(t, nil)
	b := c.browser()
	b.mustLogin("vic")
	c.clk.add(29 * time.Minute)
	if res, _ := b.do("GET", "/alarms", nil); res.StatusCode != http.StatusOK {
		t.Fatalf("after 29 min: %d", res.StatusCode)
	}
	c.clk.add(31 * time.Minute)
	if res, _ := b.do("GET", "/alarms", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 31 idle min: %d", res.StatusCode)
	}
	// Active all along, a session still ends after 12 h.
	b.mustLogin("vic")
	for range 24 {
		c.clk.add(29 * time.Minute)
		if res, _ := b.do("GET", "/reports", nil); res.StatusCode != http.StatusOK {
			t.Fatalf("active session refused at %d", res.StatusCode)
		}
	}
	c.clk.add(25 * time.Minute)
	if res, _ := b.do("GET", "/reports", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("after 12 h: %d", res.StatusCode)
	}
	if got := strings.Join(c.audit(), "\n"); !strings.Contains(got, "vic session_expired idle") || !strings.Contains(got, "vic session_expired too old") {
		t.Errorf("audit:\n%s", got)
	}
}

func TestConsoleCSRFAndRoles(t *testing.T) {
	c := newConsole(t, nil)
	sam, vic := c.browser(), c.browser()
	sam.mustLogin("sam")
	vic.mustLogin("vic")
	form := url.Values{"lane": {"A"}, "reason": {"testing"}, "order_no": {"GRG01-A-1-1"}}
	form.Set("csrf", "forged-token")
	if res, body := sam.do("POST", "/actions/refund", form); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired or was not sent by this console") {
		t.Fatalf("forged token: %d %s", res.StatusCode, body)
	}
	form.Del("csrf")
	if res, _ := sam.do("POST", "/actions/refund", form); res.StatusCode != http.StatusForbidden {
		t.Fatalf("no token: %d", res.StatusCode)
	}
	_, page := vic.do("GET", "/history", nil)
	form.Set("csrf", csrfOf(t, page))
	if res, body := vic.do("POST", "/actions/refund", form); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "needs supervisor") {
		t.Fatalf("viewer refund: %d %s", res.StatusCode, body)
	}
	if res, _ := vic.do("GET", "/users", nil); res.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer on the users page: %d", res.StatusCode)
	}
	// Remote opening is off by default, even for an admin.
	ada := c.browser()
	ada.mustLogin("ada")
	_, page = ada.do("GET", "/history", nil)
	if res, body := ada.do("POST", "/actions/open_barrier", url.Values{"csrf": {csrfOf(t, page)}, "lane": {"A"}, "reason": {"stuck car"}}); res.StatusCode != http.StatusForbidden || !strings.Contains(body, "remote_open") {
		t.Fatalf("remote open: %d %s", res.StatusCode, body)
	}
	// A reason is required.
	if res, _ := ada.do("POST", "/actions/close_lane", url.Values{"csrf": {csrfOf(t, page)}, "lane": {"A"}, "reason": {" "}}); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("no reason: %d", res.StatusCode)
	}
	got := strings.Join(c.audit(), "\n")
	for _, want := range []string{"sam csrf_refused POST /actions/refund", "vic refused POST /actions/refund needs supervisor, user is viewer",
		"ada open_barrier refused: Opening a barrier from the office is off", "ada close_lane refused: A reason is required"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %q:\n%s", want, got)
		}
	}
}

func TestConsoleUsersPage(t *testing.T) {
	c := newConsole(t, nil)
	ada := c.browser()
	ada.mustLogin("ada")
	_, page := ada.do("GET", "/users", nil)
	tok := csrfOf(t, page)
	if res, body := ada.do("POST", "/users", url.Values{"csrf": {tok}, "op": {"add"}, "name": {"zed"}, "role": {"viewer"},
		"password": {"short"}, "password2": {"short"}}); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least 10 characters") {
		t.Fatalf("short password: %d %s", res.StatusCode, body)
	}
	if res, _ := ada.do("POST", "/users", url.Values{"csrf": {tok}, "op": {"add"}, "name": {"zed"}, "role": {"viewer"},
		"password": {"password-zed"}, "password2": {"password-zed"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d", res.StatusCode)
	}
	zed := c.browser()
	zed.mustLogin("zed")
	if res, _ := ada.do("POST", "/users", url.Values{"csrf": {tok}, "op": {"disable"}, "name": {"zed"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", res.StatusCode)
	}
	if res, _ := zed.do("GET", "/", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a disabled user's session: %d", res.StatusCode)
	}
	if res, _ := zed.login("zed", "password-zed"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled user logs in: %d", res.StatusCode)
	}
	ada.do("POST", "/users", url.Values{"csrf": {tok}, "op": {"enable"}, "name": {"zed"}})
	if res, _ := ada.do("POST", "/users", url.Values{"csrf": {tok}, "op": {"password"}, "name": {"zed"},
		"password": {"a new password"}, "password2": {"a new password"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset password: %d", res.StatusCode)
	}
	if res, _ := zed.login("zed", "a new password"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("new password: %d", res.StatusCode)
	}
}
