package lane

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

var classes = []string{"car", "motorcycle", "bus"}

// lastRec is the last record of type T the journal holds.
func lastRec[T Record](j *fakeJournal) (T, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i := len(j.recs) - 1; i >= 0; i-- {
		if r, ok := j.recs[i].(T); ok {
			return r, true
		}
	}
	var zero T
	return zero, false
}

// exitAt is when the ticket's last exit was authorised.
func (w *world) exitAt(ticketID string) time.Time {
	w.j.mu.Lock()
	defer w.j.mu.Unlock()
	var at time.Time
	for _, e := range w.j.exits {
		if e.TicketID == ticketID {
			at = e.At
		}
	}
	return at
}

func TestRepriceScenarios(t *testing.T) {
	scenario(t, "lost_class", func(t *testing.T) {
		w := newWorld(t, Params{Classes: classes}, nil)
		var ce *ClassError
		if err := w.do(LostTicket{Attendant: "a1", Class: "truck"}); !errors.As(err, &ce) || !strings.Contains(err.Error(), `"truck": the tariff's classes are car, motorcycle, bus`) {
			t.Fatalf("unknown class: %v", err)
		}
		w.want(Idle)
		w.note("a lost ticket of a bus")
		w.do(LostTicket{Attendant: "a1", Class: "Bus", Reason: "driver lost it"})
		w.want(FeeDue)
		s := w.r.Snapshot()
		if s.Due != 30*hourly || s.Ticket == nil || !s.Ticket.Lost || s.Ticket.Class != "bus" || s.MerchantOrderNo != "S-X1-L1-1" {
			t.Fatalf("lost bus: %+v", s)
		}
		if v, _ := lastRec[VisitRec](w.j); v.Ticket.Class != "bus" || !v.Ticket.Lost || v.Reason != "driver lost it" {
			t.Fatalf("visit record %+v", v)
		}
		if len(s.Classes) != 3 || s.Classes[2] != "bus" {
			t.Fatalf("classes %v", s.Classes)
		}
		w.payNow("S-X1-L1-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.finish("lost_class")
	})
	scenario(t, "lost_stay", func(t *testing.T) {
		w := newWorld(t, Params{Classes: classes}, nil)
		if err := w.do(LostTicket{Attendant: "a1", Entry: time.Now().Add(time.Minute)}); !errors.Is(err, ErrEntryAfterNow) {
			t.Fatalf("entry after now: %v", err)
		}
		w.note("entry not known: the flat fee, and the steps say why")
		w.do(LostTicket{Attendant: "a1"})
		s := w.r.Snapshot()
		if s.Due != 15*hourly || len(s.Steps) != 1 || !strings.Contains(s.Steps[0], "entry is not known") || !s.Ticket.Entry.IsZero() {
			t.Fatalf("unknown entry: %+v", s)
		}
		w.do(Cancel{})
		w.want(Idle)
		w.note("entry known from the camera, 30 h ago: the stay costs more than the flat fee")
		entry := time.Now().Add(-30 * time.Hour)
		w.do(LostTicket{Attendant: "a1", Entry: entry})
		s = w.r.Snapshot()
		if s.Due != 30*hourly || !s.Ticket.Entry.Equal(entry) || !strings.Contains(s.Steps[0], "known entry") {
			t.Fatalf("known entry: %+v", s)
		}
		if v, _ := lastRec[VisitRec](w.j); !v.Ticket.Entry.Equal(entry) || !v.Ticket.Lost {
			t.Fatalf("visit record %+v", v)
		}
		w.note("entry known, 2 h ago: the flat fee is higher")
		w.do(Cancel{})
		w.do(LostTicket{Attendant: "a1", Entry: time.Now().Add(-2 * time.Hour)})
		if s := w.r.Snapshot(); s.Due != 15*hourly {
			t.Fatalf("short known stay: %+v", s)
		}
		w.do(Cancel{})
		w.want(Idle)
		w.finish("lost_stay")
	})
	scenario(t, "set_class", func(t *testing.T) {
		w := newWorld(t, Params{Classes: classes}, nil)
		if err := w.do(SetClass{Attendant: "a1", Class: "bus"}); !errors.Is(err, ErrNotNow) {
			t.Fatalf("set class in idle: %v", err)
		}
		w.ticket("T120", 2*time.Hour+10*time.Minute)
		w.scan("T120")
		if s := w.r.Snapshot(); s.Due != 3*hourly || s.MerchantOrderNo != "S-X1-120-1" || s.TokenURL == "" {
			t.Fatalf("before: %+v", s)
		}
		var ce *ClassError
		if err := w.do(SetClass{Attendant: "a1", Class: "truck"}); !errors.As(err, &ce) || len(ce.Classes) != 3 {
			t.Fatalf("unknown class: %v", err)
		}
		if err := w.do(SetClass{Class: "bus"}); !errors.Is(err, ErrAttendantRequired) {
			t.Fatalf("no attendant: %v", err)
		}
		w.note("the attendant sees a bus: the shown order is cancelled and replaced")
		if err := w.do(SetClass{Attendant: "a1", Class: "bus", Reason: "a coach"}); err != nil {
			t.Fatal(err)
		}
		s := w.r.Snapshot()
		if s.Due != 6*hourly || s.MerchantOrderNo != "S-X1-120-2" || s.TokenURL == "" || s.Ticket.Class != "bus" {
			t.Fatalf("after: %+v", s)
		}
		if w.pay.state("S-X1-120-1").Status != OrderFailed {
			t.Fatal("the order at the old price is still payable")
		}
		if r, ok := lastRec[RepriceRec](w.j); !ok || r.Class != "bus" || r.Quote.Due != 6*hourly || r.Attendant != "a1" || r.Action != "set_class" {
			t.Fatalf("reprice record %+v", r)
		}
		if a, _ := lastRec[AuditRec](w.j); a.Action != "set_class" || a.Reason != "a coach" {
			t.Fatalf("audit %+v", a)
		}
		w.payNow("S-X1-120-2")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		w.finish("set_class")
	})
	scenario(t, "reentry_plate", func(t *testing.T) {
		w := newWorld(t, Params{Reentry: 2 * time.Hour}, nil)
		w.ticket("P200:DXB1", 3*time.Hour-10*time.Minute)
		w.scan("P200:DXB1")
		w.payNow("S-X1-200-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		exit := w.exitAt("S/E1/200")
		w.sleep(30 * time.Minute)
		w.note("the same car enters again 20 min after its exit, stays 40 min")
		w.tk.add("P201:DXB1", exit.Add(20*time.Minute))
		w.sleep(40 * time.Minute)
		w.scan("P201:DXB1")
		s := w.r.Snapshot()
		// From the first entry: 4 h 10 min, AED 50, less the 30 paid.
		if s.Due != 2*hourly || s.Continued == nil || s.Continued.Serial != "200" || s.Continued.Paid != 3*hourly || !strings.HasPrefix(s.Steps[0], "re-entry within 2h of exit at") {
			t.Fatalf("continued: %+v", s)
		}
		if v, _ := lastRec[VisitRec](w.j); v.Ticket.Plate != "DXB1" || v.Quote.Continued == nil || v.Quote.Continued.TicketID != "S/E1/200" {
			t.Fatalf("visit record %+v", v)
		}
		w.payNow("S-X1-201-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(2)
		w.sleep(10 * time.Second)
		w.note("another car, another plate: a stay of its own")
		w.ticket("P202:DXB2", 40*time.Minute)
		w.scan("P202:DXB2")
		if s := w.r.Snapshot(); s.Due != hourly || s.Continued != nil {
			t.Fatalf("other plate: %+v", s)
		}
		w.do(Cancel{})
		w.finish("reentry_plate")
	})
	scenario(t, "reentry_attendant", func(t *testing.T) {
		w := newWorld(t, Params{Reentry: 2 * time.Hour}, nil)
		w.ticket("T300", 50*time.Minute)
		w.scan("T300")
		w.payNow("S-X1-300-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		exit := w.exitAt("S/E1/300")
		if err := w.do(Reentry{Attendant: "a1", Serial: "300"}); !errors.Is(err, ErrNotNow) {
			t.Fatalf("re-entry with no visit: %v", err)
		}
		w.sleep(2*time.Hour + 50*time.Minute)

		w.note("a ticket entered exactly 2 h after that exit: the driver shows the earlier receipt")
		w.tk.add("T301", exit.Add(2*time.Hour))
		w.scan("T301")
		if s := w.r.Snapshot(); s.Due != hourly || s.MerchantOrderNo != "S-X1-301-1" {
			t.Fatalf("before: %+v", s)
		}
		if err := w.do(Reentry{Attendant: "a1", Serial: "999"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown ticket: %v", err)
		}
		if err := w.do(Reentry{Attendant: "a1", Serial: "301"}); err == nil {
			t.Fatal("a ticket continued itself")
		}
		if err := w.do(Reentry{Attendant: "a1", Serial: " 300 ", Reason: "receipt shown"}); err != nil {
			t.Fatal(err)
		}
		s := w.r.Snapshot()
		// From T300's entry: about 3 h 40 min, AED 40, less the 10 paid.
		if s.Due != 3*hourly || s.Continued == nil || s.Continued.Serial != "300" || s.MerchantOrderNo != "S-X1-301-2" {
			t.Fatalf("continued: %+v", s)
		}
		if r, ok := lastRec[RepriceRec](w.j); !ok || r.Action != "reentry" || r.Quote.Continued == nil || r.Reason != "receipt shown" {
			t.Fatalf("reprice record %+v", r)
		}
		w.do(Cancel{})
		w.want(Idle)

		w.note("one second more than 2 h after the exit: not a re-entry")
		w.tk.add("T302", exit.Add(2*time.Hour+time.Second))
		w.scan("T302")
		var re *ReentryError
		if err := w.do(Reentry{Attendant: "a1", Serial: "300"}); !errors.As(err, &re) || !strings.Contains(err.Error(), "more than the re-entry window 2h0m0s") {
			t.Fatalf("outside the window: %v", err)
		}
		if s := w.r.Snapshot(); s.Continued != nil || s.MerchantOrderNo != "S-X1-302-1" {
			t.Fatalf("repriced outside the window: %+v", s)
		}
		w.do(Cancel{})
		w.finish("reentry_attendant")
	})
}

// Without a re-entry window the lane does not look a plate up.
func TestNoReentryNoLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("P400:DXB9", time.Hour)
		w.scan("P400:DXB9")
		if s := w.r.Snapshot(); s.Continued != nil {
			t.Fatalf("%+v", s)
		}
		if err := w.r.Do(context.Background(), Reentry{Attendant: "a1", Serial: "1"}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%v", err)
		}
	})
}
