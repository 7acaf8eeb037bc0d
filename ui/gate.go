package ui

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// PIN rules: 4 to 8 digits, stored as a bcrypt hash per attendant.
const (
	MinPINLength = 4
	MaxPINLength = 8
)

// Errors of the admin gate.
var (
	ErrPINFormat = errors.New("a PIN is 4 to 8 digits")
	ErrWrongPIN  = errors.New("wrong PIN")
	ErrLocked    = errors.New("admin locked after repeated wrong PINs")
	ErrNoSuchID  = errors.New("unknown attendant")
)

// ValidPIN checks the PIN format.
func ValidPIN(pin string) error {
	if len(pin) < MinPINLength || len(pin) > MaxPINLength {
		return ErrPINFormat
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return ErrPINFormat
		}
	}
	return nil
}

// HashPIN returns the bcrypt hash of a PIN for [[admin.attendants]].
func HashPIN(pin string) (string, error) {
	if err := ValidPIN(pin); err != nil {
		return "", fmt.Errorf("hash pin: %w", err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pin), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash pin: %w", err)
	}
	return string(h), nil
}

// Attendant is one person allowed into the admin screen.
type Attendant struct {
	ID, Name string
	// PINHash is a bcrypt hash (HashPIN).
	PINHash string
	// Badge is the code on the attendant's badge ("" none).
	Badge string
}

// AuditFunc records an admin event with the attendant's id: every PIN
// attempt ("pin_ok", "pin_wrong", "pin_locked"), "login" by badge,
// "logout", "idle_logout" and every action. The ledger's audit provides it.
type AuditFunc func(attendant, event, detail string)

// GatePolicy sets the lockout and idle rules; zero fields are defaults.
type GatePolicy struct {
	// MaxAttempts wrong PINs in a row lock the admin (5).
	MaxAttempts int
	// Lockout is how long it stays locked (5 min).
	Lockout time.Duration
	// Idle ends a session without a touch for this long (2 min).
	Idle time.Duration
}

func (p GatePolicy) withDefaults() GatePolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.Lockout <= 0 {
		p.Lockout = 5 * time.Minute
	}
	if p.Idle <= 0 {
		p.Idle = 2 * time.Minute
	}
	return p
}

// Gate is the admin screen's lock: PIN checks with lockout, and the idle
// session timer. It is pure (time is passed in) and used on the Fyne
// goroutine only.
type Gate struct {
	policy     GatePolicy
	attendants []Attendant
	audit      AuditFunc

	wrong       int
	lockedUntil time.Time
	session     string // attendant id; "" when logged out
	lastTouch   time.Time
}

// NewGate returns a gate for the attendants. audit may be nil.
func NewGate(attendants []Attendant, policy GatePolicy, audit AuditFunc) *Gate {
	if audit == nil {
		audit = func(string, string, string) {}
	}
	return &Gate{policy: policy.withDefaults(), attendants: attendants, audit: audit}
}

// Policy is the effective policy.
func (g *Gate) Policy() GatePolicy { return g.policy }

// Attendants lists who may log in.
func (g *Gate) Attendants() []Attendant { return g.attendants }

// LockedUntil reports the end of a lockout (zero when not locked).
func (g *Gate) LockedUntil(now time.Time) time.Time {
	if now.Before(g.lockedUntil) {
		return g.lockedUntil
	}
	return time.Time{}
}

// Login checks the PIN of attendant id. Every attempt is audited.
func (g *Gate) Login(now time.Time, id, pin string) error {
	if !g.LockedUntil(now).IsZero() {
		g.audit(id, "pin_locked", "attempt while locked until "+g.lockedUntil.UTC().Format(time.RFC3339))
		return ErrLocked
	}
	var a *Attendant
	for i := range g.attendants {
		if g.attendants[i].ID == id {
			a = &g.attendants[i]
		}
	}
	ok := a != nil && ValidPIN(pin) == nil &&
		bcrypt.CompareHashAndPassword([]byte(a.PINHash), []byte(pin)) == nil
	if !ok {
		g.wrong++
		detail := fmt.Sprintf("wrong PIN %d of %d", g.wrong, g.policy.MaxAttempts)
		if g.wrong >= g.policy.MaxAttempts {
			g.lockedUntil = now.Add(g.policy.Lockout)
			g.wrong = 0
			detail += "; locked until " + g.lockedUntil.UTC().Format(time.RFC3339)
			g.audit(id, "pin_wrong", detail)
			return ErrLocked
		}
		g.audit(id, "pin_wrong", detail)
		if a == nil {
			return ErrNoSuchID
		}
		return ErrWrongPIN
	}
	g.wrong = 0
	g.session, g.lastTouch = id, now
	g.audit(id, "pin_ok", "")
	return nil
}

// Badge logs in by an attendant's badge code (a scan); it still audits.
// It returns the attendant's id, or ErrNoSuchID.
func (g *Gate) Badge(now time.Time, code string) (string, error) {
	if code == "" {
		return "", ErrNoSuchID
	}
	for _, a := range g.attendants {
		if a.Badge != "" && a.Badge == code {
			g.audit(a.ID, "badge", "")
			return a.ID, nil
		}
	}
	return "", ErrNoSuchID
}

// Session is the logged-in attendant's id, or "" when there is none or it
// has been idle too long (which logs it out, audited).
func (g *Gate) Session(now time.Time) string {
	if g.session != "" && now.Sub(g.lastTouch) >= g.policy.Idle {
		g.audit(g.session, "idle_logout", "")
		g.session = ""
	}
	return g.session
}

// Touch records activity in the session.
func (g *Gate) Touch(now time.Time) {
	if g.Session(now) != "" {
		g.lastTouch = now
	}
}

// IdleDeadline is when the session ends without another touch.
func (g *Gate) IdleDeadline() time.Time { return g.lastTouch.Add(g.policy.Idle) }

// Logout ends the session.
func (g *Gate) Logout() {
	if g.session != "" {
		g.audit(g.session, "logout", "")
		g.session = ""
	}
}
