package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

type auditLog []string

func (l *auditLog) add(att, ev, detail string) { *l = append(*l, att+" "+ev) }

func testAttendants(t *testing.T) []Attendant {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("2468"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return []Attendant{{ID: "A1", Name: "Sara", PINHash: string(h), Badge: "BADGE-A1"}}
}

func TestGateLockout(t *testing.T) {
	var log auditLog
	g := NewGate(testAttendants(t), GatePolicy{}, log.add)
	t0 := testNow
	for i := 1; i <= 4; i++ {
		if err := g.Login(t0, "A1", "1111"); !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if err := g.Login(t0, "A1", "1111"); !errors.Is(err, ErrLocked) {
		t.Fatalf("5th wrong PIN: %v, want locked", err)
	}
	// Even the right PIN is refused while locked.
	if err := g.Login(t0.Add(4*time.Minute+59*time.Second), "A1", "2468"); !errors.Is(err, ErrLocked) {
		t.Fatalf("right PIN while locked: %v", err)
	}
	if err := g.Login(t0.Add(5*time.Minute), "A1", "2468"); err != nil {
		t.Fatalf("right PIN after lockout: %v", err)
	}
	if got := g.Session(t0.Add(5 * time.Minute)); got != "A1" {
		t.Errorf("session = %q", got)
	}
	want := "A1 pin_wrong,A1 pin_wrong,A1 pin_wrong,A1 pin_wrong,A1 pin_wrong,A1 pin_locked,A1 pin_ok"
	if got := strings.Join(log, ","); got != want {
		t.Errorf("audit = %s\nwant %s", got, want)
	}
}

func TestGateWrongPINsCountAcrossAttendants(t *testing.T) {
	g := NewGate(testAttendants(t), GatePolicy{MaxAttempts: 3}, nil)
	for _, id := range []string{"A1", "nobody"} {
		if err := g.Login(testNow, id, "0000"); err == nil {
			t.Fatal("wrong PIN accepted")
		}
	}
	if err := g.Login(testNow, "A1", "12"); !errors.Is(err, ErrLocked) {
		t.Errorf("3rd wrong attempt: %v, want locked", err)
	}
}

func TestGateSuccessResetsCount(t *testing.T) {
	g := NewGate(testAttendants(t), GatePolicy{}, nil)
	for i := 0; i < 4; i++ {
		_ = g.Login(testNow, "A1", "9999")
	}
	if err := g.Login(testNow, "A1", "2468"); err != nil {
		t.Fatal(err)
	}
	g.Logout()
	for i := 0; i < 4; i++ {
		if err := g.Login(testNow, "A1", "9999"); !errors.Is(err, ErrWrongPIN) {
			t.Fatalf("after a success, attempt %d: %v", i+1, err)
		}
	}
}

func TestGateIdle(t *testing.T) {
	var log auditLog
	g := NewGate(testAttendants(t), GatePolicy{}, log.add)
	if err := g.Login(testNow, "A1", "2468"); err != nil {
		t.Fatal(err)
	}
	g.Touch(testNow.Add(90 * time.Second))
	if g.Session(testNow.Add(3*time.Minute)) != "A1" {
		t.Fatal("session ended although touched 90 s before")
	}
	if g.Session(testNow.Add(90*time.Second+2*time.Minute)) != "" {
		t.Fatal("session survived 2 min idle")
	}
	if log[len(log)-1] != "A1 idle_logout" {
		t.Errorf("last audit = %q", log[len(log)-1])
	}
}

func TestGateBadge(t *testing.T) {
	g := NewGate(testAttendants(t), GatePolicy{}, nil)
	if id, err := g.Badge(testNow, "BADGE-A1"); err != nil || id != "A1" {
		t.Errorf("Badge = %q, %v", id, err)
	}
	if _, err := g.Badge(testNow, "nope"); !errors.Is(err, ErrNoSuchID) {
		t.Errorf("unknown badge: %v", err)
	}
}

func TestValidPIN(t *testing.T) {
	for pin, ok := range map[string]bool{"1234": true, "12345678": true, "123": false, "123456789": false, "12a4": false, "": false} {
		if got := ValidPIN(pin) == nil; got != ok {
			t.Errorf("ValidPIN(%q) ok=%v, want %v", pin, got, ok)
		}
	}
	h, err := HashPIN("4321")
	if err != nil || bcrypt.CompareHashAndPassword([]byte(h), []byte("4321")) != nil {
		t.Errorf("HashPIN: %v", err)
	}
}
