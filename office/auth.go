package office

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/exitlane/exitlane/sitestore"
)

// MinPassword is the shortest password the console accepts, in characters.
const MinPassword = 10

// bcryptCost is bcrypt's work factor (2^12 rounds, ~0.2 s on a small
// server: slow for a guesser, quick enough for a log-in). The package's
// tests lower it (export_test.go).
var bcryptCost = 12

// Errors a caller decides on.
var (
	ErrPasswordShort = fmt.Errorf("office: a password needs at least %d characters", MinPassword)
	ErrPasswordLong  = errors.New("office: a password is at most 72 bytes (bcrypt)")
	ErrBadName       = errors.New("office: a user name is 1-32 of a-z 0-9 . _ -")
	ErrBadRole       = errors.New("office: a role is viewer, supervisor or admin")
)

var nameRE = regexp.MustCompile(`^[a-z0-9._-]{1,32}$`)

// HashPassword checks a password against the policy and hashes it.
func HashPassword(pw string) ([]byte, error) {
	if utf8.RuneCountInString(pw) < MinPassword {
		return nil, ErrPasswordShort
	}
	if len(pw) > 72 {
		return nil, ErrPasswordLong
	}
	return bcrypt.GenerateFromPassword([]byte(pw), bcryptCost)
}

// AddUser adds a console user with role and password.
func AddUser(ctx context.Context, store *sitestore.Store, name, role, password string, now time.Time) error {
	if !nameRE.MatchString(name) {
		return ErrBadName
	}
	if !slices.Contains(Roles, role) {
		return ErrBadRole
	}
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return store.AddOfficeUser(ctx, sitestore.OfficeUser{Name: name, Role: role, PasswordHash: hash, Created: now})
}

// SetPassword gives a user a new password (ending the user's sessions and
// any lock of the name).
func SetPassword(ctx context.Context, store *sitestore.Store, name, password string, now time.Time) error {
	hash, err := HashPassword(password)
	if err != nil {
		return err
	}
	return store.SetOfficePassword(ctx, name, hash, now)
}

type loginData struct {
	Token, Name, Err string
}

func (d loginData) notices() (string, string) { return d.Err, "" }

// loginPage shows the log-in form with a fresh double-submit token.
func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.showLogin(w, r, http.StatusOK, "", "")
}

func (c *Console) showLogin(w http.ResponseWriter, r *http.Request, status int, name, msg string) {
	tok := token()
	c.setCookie(w, loginCookie, tok, 3600)
	c.render(&request{w: w, r: r}, status, "login", "Log in", loginData{Token: tok, Name: name, Err: msg})
}

// msgLocked is all a locked name is told: the same for a user and for a
// name that is no user.
const msgLocked = "This account is locked after too many failed log-ins. Try again later or ask an administrator."

// login checks a name and password. Failures in a row lock the name (a
// user or not) for the configured period; while locked, even the right
// password is refused. Every attempt is audited.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		formError(w, err)
		return
	}
	name, pw := r.PostForm.Get("name"), r.PostForm.Get("password")
	ck, err := r.Cookie(loginCookie)
	if err != nil || !sameToken(r.PostForm.Get("csrf"), ck.Value) {
		c.audit(r, name, "csrf_refused", "", "", "POST /login")
		c.showLogin(w, r, http.StatusForbidden, name, "The log-in form expired. Please try again.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	now := c.now()
	f, err := c.store.OfficeLoginFailures(ctx, name)
	if err != nil {
		c.log.Error("login failures", "err", err)
		c.showLogin(w, r, http.StatusServiceUnavailable, name, "The site store cannot be reached. Try again shortly.")
		return
	}
	if !f.LockedUntil.IsZero() && now.Before(f.LockedUntil) {
		// As long as a check, so that the time taken tells nothing.
		bcrypt.CompareHashAndPassword(c.dummyHash, []byte(pw))
		c.audit(r, name, "login_failed", "", "", "locked")
		c.showLogin(w, r, http.StatusForbidden, name, msgLocked)
		return
	}
	u, err := c.store.OfficeUser(ctx, name)
	hash := c.dummyHash
	if err == nil {
		hash = u.PasswordHash
	} else if !errors.Is(err, sitestore.ErrNotFound) {
		c.log.Error("login user", "err", err)
		c.showLogin(w, r, http.StatusServiceUnavailable, name, "The site store cannot be reached. Try again shortly.")
		return
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(pw)) == nil
	if err != nil || !match || u.Disabled {
		why := "wrong password"
		switch {
		case err != nil:
			why = "no such user"
		case u.Disabled && match:
			why = "disabled"
		}
		f, ferr := c.store.OfficeLoginFailed(ctx, name, now, c.cfg.Office.LockoutFailures, c.cfg.Office.LockoutPeriod)
		if ferr != nil {
			c.log.Error("login failed", "err", ferr)
		}
		msg := "Wrong name or password."
		if !f.LockedUntil.IsZero() {
			msg, why = msgLocked, why+", now locked"
		}
		c.audit(r, name, "login_failed", "", "", why)
		c.showLogin(w, r, http.StatusUnauthorized, name, msg)
		return
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		http.Error(w, "no randomness", http.StatusInternalServerError)
		return
	}
	// A session the browser already had ends here: a log-in always
	// starts a new session id, never carries an old one on.
	if old, ok := sessionID(r); ok {
		if err := c.store.EndOfficeSession(ctx, old, now); err != nil {
			c.log.Warn("end previous session", "err", err)
		}
	}
	id := sha256.Sum256(raw)
	sess := sitestore.OfficeSession{ID: id[:], User: u, CSRF: token(), Remote: remote(r), Created: now}
	if err := c.store.CreateOfficeSession(ctx, sess); err != nil {
		c.log.Error("create session", "err", err)
		c.showLogin(w, r, http.StatusServiceUnavailable, name, "The site store cannot be reached. Try again shortly.")
		return
	}
	if err := c.store.OfficeLoginSucceeded(ctx, name, now); err != nil {
		c.log.Warn("login succeeded", "err", err)
	}
	c.audit(r, name, "login", "", "", "ok")
	c.setCookie(w, loginCookie, "", -1)
	c.setCookie(w, sessionCookie, base64.RawURLEncoding.EncodeToString(raw), int(c.cfg.Office.SessionMax/time.Second))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the session.
func (c *Console) logout(q *request) {
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	if err := c.store.EndOfficeSession(ctx, q.sess.ID, c.now()); err != nil {
		c.log.Warn("logout", "err", err)
	}
	c.audit(q.r, q.user.Name, "logout", "", "", "ok")
	c.setCookie(q.w, sessionCookie, "", -1)
	http.Redirect(q.w, q.r, "/login", http.StatusSeeOther)
}
