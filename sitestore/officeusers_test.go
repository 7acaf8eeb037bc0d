package sitestore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
)

func TestOfficeUsersAndSessions(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	u := OfficeUser{Name: "amal", Role: "supervisor", PasswordHash: []byte("$2a$hash"), Created: t0}
	if err := s.AddOfficeUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.AddOfficeUser(ctx, u); !errors.Is(err, ErrUserExists) {
		t.Fatalf("second add: %v", err)
	}
	if _, err := s.OfficeUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	id := make([]byte, 32)
	id[0] = 7
	if err := s.CreateOfficeSession(ctx, OfficeSession{ID: id, User: u, CSRF: "tok", Remote: "127.0.0.1", Created: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchOfficeSession(ctx, id, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	ss, err := s.OfficeSessionByID(ctx, id)
	if err != nil || ss.User.Role != "supervisor" || ss.CSRF != "tok" || !ss.LastSeen.Equal(t0.Add(time.Minute).UTC().Truncate(time.Microsecond)) || !ss.Ended.IsZero() {
		t.Fatalf("session: %+v %v", ss, err)
	}
	// A new password ends the user's sessions.
	if err := s.SetOfficePassword(ctx, "amal", []byte("$2a$other"), t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if ss, err = s.OfficeSessionByID(ctx, id); err != nil || ss.Ended.IsZero() || string(ss.User.PasswordHash) != "$2a$other" {
		t.Fatalf("after new password: %+v %v", ss, err)
	}
	if err := s.SetOfficeUserDisabled(ctx, "nobody", true, t0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disable unknown: %v", err)
	}
	if err := s.SetOfficeUserDisabled(ctx, "amal", true, t0); err != nil {
		t.Fatal(err)
	}
	us, err := s.OfficeUsers(ctx)
	if err != nil || len(us) != 1 || !us[0].Disabled {
		t.Fatalf("users: %+v %v", us, err)
	}
}

func TestOfficeLoginFailuresLock(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	at := t0
	for i := 1; i <= 5; i++ {
		f, err := s.OfficeLoginFailed(ctx, "ghost", at, 5, 15*time.Minute)
		if err != nil || f.Failed != i || (i < 5) != f.LockedUntil.IsZero() {
			t.Fatalf("failure %d: %+v %v", i, f, err)
		}
		at = at.Add(time.Second)
	}
	f, _ := s.OfficeLoginFailures(ctx, "ghost")
	if want := t0.Add(4*time.Second + 15*time.Minute).UTC().Truncate(time.Microsecond); !f.LockedUntil.Equal(want) {
		t.Fatalf("locked until %v, want %v", f.LockedUntil, want)
	}
	// After the lock, the count starts again.
	f, err := s.OfficeLoginFailed(ctx, "ghost", t0.Add(time.Hour), 5, 15*time.Minute)
	if err != nil || f.Failed != 1 || !f.LockedUntil.IsZero() {
		t.Fatalf("after the lock: %+v %v", f, err)
	}
	if err := s.OfficeLoginSucceeded(ctx, "ghost", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if f, _ := s.OfficeLoginFailures(ctx, "ghost"); f.Failed != 0 {
		t.Fatalf("after success: %+v", f)
	}
}

func TestSyncAlarms(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a := Alarm{Kind: "lane_fault", Lane: "A", Detail: "relay"}
	b := Alarm{Kind: "not_reporting", Lane: "B"}
	if r, c, err := s.SyncAlarms(ctx, t0, []Alarm{a, b}); err != nil || r != 2 || c != 0 {
		t.Fatalf("raise: %d %d %v", r, c, err)
	}
	if r, c, err := s.SyncAlarms(ctx, t0.Add(time.Minute), []Alarm{a}); err != nil || r != 0 || c != 1 {
		t.Fatalf("clear b: %d %d %v", r, c, err)
	}
	open, cleared, err := s.Alarms(ctx, 10)
	if err != nil || len(open) != 1 || open[0].Kind != "lane_fault" || !open[0].Raised.Equal(t0.UTC().Truncate(time.Microsecond)) ||
		len(cleared) != 1 || cleared[0].Lane != "B" || !cleared[0].Cleared.Equal(t0.Add(time.Minute).UTC().Truncate(time.Microsecond)) {
		t.Fatalf("alarms: %+v %+v %v", open, cleared, err)
	}
	// Raised again: a new alarm.
	if r, _, _ := s.SyncAlarms(ctx, t0.Add(2*time.Minute), []Alarm{a, b}); r != 1 {
		t.Fatalf("raised again: %d", r)
	}
}

func TestStory(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	la, lb := newLane(t, s, "A"), newLane(t, s, "B")
	la.write(paidVisit(1, "T1", "GRG01-A-1-1", 1500, 0, t0)...)
	lb.write(visitRec(7, "T1", t0.Add(time.Hour), 1500, 1500))
	lb.write(lane.RefundRec{No: "GRG01-A-1-1", RefundNo: "R1", Amount: 500, At: t0.Add(2 * time.Hour), Attendant: "sam", Reason: "overcharged", Status: lane.RefundDone})
	vs, err := s.SearchVisits(ctx, VisitQuery{OrderNo: "GRG01-A-1-1"})
	if err != nil || len(vs) != 2 || vs[0].Lane != "B" {
		t.Fatalf("search by order: %+v %v", vs, err)
	}
	if vs, _ := s.SearchVisits(ctx, VisitQuery{Serial: "S-T1", From: t0.Add(30 * time.Minute)}); len(vs) != 1 || vs[0].Visit != 7 {
		t.Fatalf("search by serial and time: %+v", vs)
	}
	story, err := s.Story(ctx, "B", 7)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range story {
		kinds = append(kinds, e.Lane+":"+e.Kind)
	}
	got := strings.Join(kinds, " ")
	for _, want := range []string{"A:scan", "A:quote", "A:order", "A:status", "A:exit", "A:barrier", "B:scan", "B:quote", "B:refund", "A:claim"} {
		if !strings.Contains(got, want) {
			t.Errorf("story lacks %s: %s", want, got)
		}
	}
	if !strings.Contains(story[1].Detail, "fee 15.00") {
		t.Errorf("quote detail: %q", story[1].Detail)
	}
	rs, err := s.Refunds(ctx, t0, t0.Add(3*time.Hour))
	if err != nil || len(rs) != 1 || rs[0].Amount != 500 || rs[0].Reason != "overcharged" {
		t.Fatalf("refunds: %+v %v", rs, err)
	}
}
