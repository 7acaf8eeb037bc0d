package office

// The web console: server-rendered pages (html/template) over the site
// store, with one small embedded script and stylesheet (no inline script
// or style, so the Content-Security-Policy is default-src 'self'). Users
// log in with a name and a password (bcrypt); a session is a random id in
// an HttpOnly SameSite=Strict cookie, kept in the store only as its
// SHA-256; every POST form carries the session's CSRF token.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/sitestore"
)

//go:embed web/templates/*.html web/templates/partials/*.html web/static/*
var webFS embed.FS

// Roles, in increasing power.
const (
	RoleViewer     = "viewer"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// Roles lists the roles, weakest first.
var Roles = []string{RoleViewer, RoleSupervisor, RoleAdmin}

func roleRank(r string) int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// cookie names: the session, and the log-in form's own token (a
// double-submit token: there is no session yet to hold one).
const (
	sessionCookie = "exitlane_office"
	loginCookie   = "exitlane_login"
)

// maxForm bounds a POSTed form's body: the console's forms are a few
// short fields.
const maxForm = 64 << 10

// storeTimeout bounds one page's store queries.
const storeTimeout = 10 * time.Second

// ConsoleOptions are what differs between production and tests.
type ConsoleOptions struct {
	Logger *slog.Logger
	// Now is the console's clock (default time.Now): sessions, lockouts,
	// audit times, report periods.
	Now func() time.Time
	// TLS: the console is served over TLS (cookies Secure, HSTS).
	TLS bool
	// CommandWait bounds how long an action's page waits for the lane's
	// result (default 10 s).
	CommandWait time.Duration
	// Tick is the alarm evaluator's and the live page's re-read period
	// (default 3 s).
	Tick time.Duration
}

// Console is the office's web console.
type Console struct {
	cfg   *config.Config
	store *sitestore.Store
	log   *slog.Logger
	now   func() time.Time
	tls   bool
	wait  time.Duration
	tick  time.Duration
	loc   *time.Location
	pages map[string]*template.Template
	parts *template.Template // the partials alone (a lane's card)
	mux   *http.ServeMux
	hub   *hub
	// words are the kiosk's, for what a lane's driver sees (screen.go).
	words screenWords
	// done is the one LISTEN on the store's finished commands that every
	// action's wait for its lane's answer shares (run by Run).
	done *sitestore.CommandWaiter
	// streams is closed when the server shuts down: the live streams end
	// (else a shutdown would wait for every open page).
	streams   chan struct{}
	closeOnce sync.Once
	// dummyHash is compared when the typed name is no user, so that a
	// log-in takes as long either way.
	dummyHash []byte
}

// NewConsole builds the console over store. Its pages are served by
// Handler; its live updates and alarms need Run.
func NewConsole(cfg *config.Config, store *sitestore.Store, o ConsoleOptions) (*Console, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CommandWait <= 0 {
		o.CommandWait = 10 * time.Second
	}
	if o.Tick <= 0 {
		o.Tick = 3 * time.Second
	}
	c := &Console{cfg: cfg, store: store, log: o.Logger, now: o.Now, tls: o.TLS, wait: o.CommandWait, tick: o.Tick,
		loc: cfg.Site.Location, hub: newHub(), streams: make(chan struct{}),
		done: store.NewCommandWaiter()}
	var err error
	if c.loc == nil && cfg.Site.Timezone != "" {
		// A config built in code rather than loaded.
		if c.loc, err = time.LoadLocation(cfg.Site.Timezone); err != nil {
			return nil, fmt.Errorf("office: %w", err)
		}
	}
	if c.loc == nil {
		c.loc = time.UTC
	}
	if c.words, err = loadScreenWords(); err != nil {
		return nil, err
	}
	if c.dummyHash, err = HashPassword("not a password of anyone"); err != nil {
		return nil, err
	}
	if c.pages, err = parsePages(c.funcs()); err != nil {
		return nil, err
	}
	if c.parts, err = template.New("parts").Funcs(c.funcs()).ParseFS(webFS, "web/templates/partials/*.html"); err != nil {
		return nil, fmt.Errorf("office: partials: %w", err)
	}
	c.routes()
	return c, nil
}

// parsePages parses each page template with the layout.
func parsePages(funcs template.FuncMap) (map[string]*template.Template, error) {
	names, err := fs.Glob(webFS, "web/templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "web/templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(webFS, "web/templates/layout.html", "web/templates/partials/*.html", n)
		if err != nil {
			return nil, fmt.Errorf("office: template %s: %w", base, err)
		}
		out[base] = t
	}
	return out, nil
}

func (c *Console) funcs() template.FuncMap {
	return template.FuncMap{
		"aed":        func(f money.Fils) string { return f.String() },
		"fils":       func(f money.Fils) string { return f.Decimal() },
		"when":       c.when,
		"ago":        func(t time.Time) string { return ago(c.now(), t) },
		"query":      func(s string) template.URL { return template.URL(template.URLQueryEscaper(s)) },
		"alarmLink":  AlarmLink,
		"alarmTitle": AlarmTitle,
		"causeName":  CauseName,
		"can":        func(u *sitestore.OfficeUser, role string) bool { return u != nil && roleRank(u.Role) >= roleRank(role) },
	}
}

// timeLayout is how every page shows an instant, always in the site's
// zone.
const timeLayout = "2006-01-02 15:04:05"

// when is an instant in the site's zone ("" for zero).
func (c *Console) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.loc).Format(timeLayout)
}

// ago says how long before now t was, shortly.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// CloseStreams ends the live streams (at the server's shutdown).
func (c *Console) CloseStreams() { c.closeOnce.Do(func() { close(c.streams) }) }

// Handler serves the console's pages (the office's mux mounts it at /).
func (c *Console) Handler() http.Handler { return c.mux }

func (c *Console) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web/static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /login", c.loginPage)
	m.HandleFunc("POST /login", c.login)
	m.Handle("POST /logout", c.auth(RoleViewer, c.logout))
	m.Handle("GET /{$}", c.auth(RoleViewer, c.lanesPage))
	m.Handle("GET /lanes/{lane}", c.auth(RoleViewer, c.lanePage))
	m.Handle("GET /events", c.auth(RoleViewer, c.events))
	m.Handle("GET /alarms", c.auth(RoleViewer, c.alarmsPage))
	m.Handle("GET /reports", c.auth(RoleViewer, c.reportsPage))
	m.Handle("GET /reports.csv", c.auth(RoleViewer, c.reportCSV))
	m.Handle("GET /history", c.auth(RoleViewer, c.historyPage))
	m.Handle("GET /history/{lane}/{visit}", c.auth(RoleViewer, c.storyPage))
	m.Handle("GET /audit", c.auth(RoleViewer, c.auditPage))
	m.Handle("POST /actions/{kind}", c.auth(RoleSupervisor, c.action))
	m.Handle("GET /users", c.auth(RoleAdmin, c.usersPage))
	m.Handle("POST /users", c.auth(RoleAdmin, c.usersPost))
	c.mux = m
}

// A request's user, from its session.
type request struct {
	w    http.ResponseWriter
	r    *http.Request
	sess sitestore.OfficeSession
	user *sitestore.OfficeUser
}

type handler func(q *request)

// auth serves h to a live session's user of at least role. No session (or
// an expired one): GET goes to the log-in page, anything else is 401. A
// weaker role: 403, audited. Every POST must carry the session's CSRF
// token: else 403, audited.
func (c *Console) auth(role string, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
		sess, ok := c.session(ctx, w, r)
		cancel()
		if !ok {
			if r.Method == http.MethodGet && r.URL.Path != "/events" {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
			} else {
				http.Error(w, "log in first", http.StatusUnauthorized)
			}
			return
		}
		q := &request{w: w, r: r, sess: sess, user: &sess.User}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				formError(w, err)
				return
			}
			if !sameToken(r.PostForm.Get("csrf"), sess.CSRF) {
				c.audit(r, sess.User.Name, "csrf_refused", r.PostForm.Get("lane"), "", r.Method+" "+r.URL.Path)
				c.fail(q, http.StatusForbidden, "This form has expired or was not sent by this console. Reload the page and try again.")
				return
			}
		}
		if roleRank(sess.User.Role) < roleRank(role) {
			if r.Method == http.MethodPost {
				c.audit(r, sess.User.Name, "refused", r.PostForm.Get("lane"), r.PostForm.Get("reason"),
					fmt.Sprintf("%s %s needs %s, user is %s", r.Method, r.URL.Path, role, sess.User.Role))
			}
			c.fail(q, http.StatusForbidden, "Your role ("+sess.User.Role+") may not do this; it needs "+role+".")
			return
		}
		h(q)
	})
}

// formError answers a form that could not be read: too big (413) or
// malformed (400).
func formError(w http.ResponseWriter, err error) {
	var big *http.MaxBytesError
	if errors.As(err, &big) {
		http.Error(w, "form too large", http.StatusRequestEntityTooLarge)
		return
	}
	http.Error(w, "bad form", http.StatusBadRequest)
}

// sessionID is the store's id (SHA-256) of r's session cookie, if it has
// a well-formed one.
func sessionID(r *http.Request) ([]byte, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	id := sha256.Sum256(raw)
	return id[:], true
}

func sameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// session returns the live session of r's cookie; an expired one is
// ended and its cookie removed.
func (c *Console) session(ctx context.Context, w http.ResponseWriter, r *http.Request) (sitestore.OfficeSession, bool) {
	id, ok := sessionID(r)
	if !ok {
		return sitestore.OfficeSession{}, false
	}
	sess, err := c.store.OfficeSessionByID(ctx, id)
	if err != nil {
		if !errors.Is(err, sitestore.ErrNotFound) {
			c.log.Warn("session lookup", "err", err)
		}
		return sitestore.OfficeSession{}, false
	}
	now := c.now()
	expired := ""
	switch {
	case !sess.Ended.IsZero():
		expired = "ended"
	case sess.User.Disabled:
		expired = "user disabled"
	case now.Sub(sess.LastSeen) > c.cfg.Office.SessionIdle:
		expired = "idle"
	case now.Sub(sess.Created) > c.cfg.Office.SessionMax:
		expired = "too old"
	}
	if expired != "" {
		if sess.Ended.IsZero() {
			c.store.EndOfficeSession(ctx, sess.ID, now)
			c.audit(r, sess.User.Name, "session_expired", "", "", expired)
		}
		c.setCookie(w, sessionCookie, "", -1)
		return sitestore.OfficeSession{}, false
	}
	// The live stream is no sign of a person at the screen: it does not
	// keep a session alive.
	if r.URL.Path != "/events" {
		if err := c.store.TouchOfficeSession(ctx, sess.ID, now); err != nil {
			c.log.Warn("session touch", "err", err)
		}
	}
	return sess, true
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.tls, SameSite: http.SameSiteStrictMode})
}

// token is 32 random bytes, URL-safe base64.
func token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func remote(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// audit writes one line of the office audit; a failure to write is
// logged (the action itself has happened).
func (c *Console) audit(r *http.Request, user, action, laneID, reason, result string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	e := sitestore.OfficeAuditEntry{At: c.now(), User: user, Remote: remote(r), Action: action, Lane: laneID, Reason: reason, Result: result}
	if err := c.store.AddOfficeAudit(ctx, e); err != nil {
		c.log.Error("office audit not written", "err", err, "user", user, "action", action, "lane", laneID, "result", result)
	}
	c.log.Info("office audit", "user", user, "remote", e.Remote, "action", action, "lane", laneID, "result", result)
}

// page is what every page's template gets.
type page struct {
	Title  string
	Nav    string
	User   *sitestore.OfficeUser
	CSRF   string
	Site   string
	Alarms int // open alarms, for the header's badge
	Error  string
	Notice string
	Data   any
}

// render writes a page with status.
func (c *Console) render(q *request, status int, name, title string, data any) {
	p := page{Title: title, Nav: name, Site: c.cfg.Site.Name, Data: data}
	if p.Site == "" {
		p.Site = c.cfg.Site.ID
	}
	if q.user != nil {
		p.User, p.CSRF = q.user, q.sess.CSRF
		ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
		if open, _, err := c.store.Alarms(ctx, 0); err == nil {
			p.Alarms = len(open)
		}
		cancel()
	}
	if d, ok := data.(interface{ notices() (string, string) }); ok {
		p.Error, p.Notice = d.notices()
	}
	c.write(q.w, status, name, p)
}

func (c *Console) write(w http.ResponseWriter, status int, name string, p page) {
	t := c.pages[name]
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		c.log.Error("template", "page", name, "err", err)
		http.Error(w, "page error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(b.String()))
}

// fail shows an error page with status.
func (c *Console) fail(q *request, status int, msg string) {
	c.render(q, status, "error", http.StatusText(status), msgData{Err: msg})
}

type msgData struct{ Err, Msg string }

func (m msgData) notices() (string, string) { return m.Err, m.Msg }
