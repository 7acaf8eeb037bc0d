package ledger

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
)

// A lost ticket's class and known entry, a plate, a class set by an
// attendant and a re-entry are stored, survive a reopen, and LastExit
// finds the earlier visit by plate or by serial, with the stay's first
// entry and everything it paid.
func TestLostClassPlateReentryRoundTrip(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	known := t0.Add(-30 * time.Hour)
	rec(t, l, lane.VisitRec{Visit: 1, At: t0, Ticket: lane.TicketInfo{Serial: "L1", Format: lane.FormatLost, Lost: true, Class: "bus", Entry: known},
		Quote: lane.Quote{Fee: 30000, Due: 30000}, Attendant: "a1", Reason: "lost"})

	// Ticket 7 (plate DXB1) enters at t0, pays AED 30 and exits at t0+3h.
	rec(t, l, lane.VisitRec{Visit: 2, At: t0.Add(3 * time.Hour), TicketID: "S/E1/7/1", Ticket: lane.TicketInfo{Serial: "7", Format: lane.FormatSigned, Entry: t0, Plate: "DXB1"},
		Quote: lane.Quote{Fee: 3000, Due: 3000}})
	rec(t, l, lane.OrderRec{No: "S-L-7-1", Visit: 2, TicketID: "S/E1/7/1", Key: "S-L-7", Attempt: 1, Amount: 3000, At: t0.Add(3 * time.Hour), Expire: t0.Add(4 * time.Hour)})
	rec(t, l, lane.ExitRec{Visit: 2, TicketID: "S/E1/7/1", At: t0.Add(3 * time.Hour), Cause: lane.CausePaid, Amount: 3000, No: "S-L-7-1", Auth: "2-1",
		Paid: paid("S-L-7-1", 3000, lane.SourcePoll)})
	rec(t, l, lane.PulseStartRec{Auth: "2-1", At: t0.Add(3 * time.Hour)})
	rec(t, l, lane.PulseRec{Auth: "2-1", OK: true, At: t0.Add(3 * time.Hour)})

	// Ticket 8 (same plate) enters at t0+4h, continues ticket 7's stay;
	// the attendant then says it is a bus.
	prev := &lane.Previous{TicketID: "S/E1/7/1", Serial: "7", Entry: t0, Exit: t0.Add(3 * time.Hour), Paid: 3000}
	rec(t, l, lane.VisitRec{Visit: 3, At: t0.Add(5 * time.Hour), TicketID: "S/E1/8/2", Ticket: lane.TicketInfo{Serial: "8", Format: lane.FormatSigned, Entry: t0.Add(4 * time.Hour), Plate: "DXB1"},
		Quote: lane.Quote{Fee: 5000, Due: 2000, Continued: prev}})
	rec(t, l, lane.RepriceRec{Visit: 3, At: t0.Add(5 * time.Hour), Action: "set_class", Class: "bus", Attendant: "a1", Reason: "coach",
		Quote: lane.Quote{Fee: 25000, Due: 22000, Continued: prev}})
	rec(t, l, lane.ExitRec{Visit: 3, TicketID: "S/E1/8/2", At: t0.Add(5 * time.Hour), Cause: lane.CauseExempt, Amount: 22000, Attendant: "a1", Reason: "staff", Auth: "3-1"})
	rec(t, l, lane.PulseStartRec{Auth: "3-1", At: t0.Add(5 * time.Hour)})
	rec(t, l, lane.PulseRec{Auth: "3-1", OK: true, At: t0.Add(5 * time.Hour)})

	l = reopen(t, l, path)
	var class, plate, cont string
	var entry, session sql.NullInt64
	var prevPaid, due int64
	must(t, l.SQL().QueryRowContext(ctx, `SELECT class, entry_at, lost FROM visits WHERE id = 1`).Scan(&class, &entry, new(int)))
	if class != "bus" || !fromMS(entry).Equal(known) {
		t.Errorf("lost visit: class %q entry %v", class, fromMS(entry))
	}
	must(t, l.SQL().QueryRowContext(ctx, `SELECT class, plate, continues, session_entry, previous_paid, due FROM visits WHERE id = 3`).Scan(&class, &plate, &cont, &session, &prevPaid, &due))
	if class != "bus" || plate != "DXB1" || cont != "S/E1/7/1" || !fromMS(session).Equal(t0) || prevPaid != 3000 || due != 22000 {
		t.Errorf("re-entry visit: %q %q %q %v %d %d", class, plate, cont, fromMS(session), prevPaid, due)
	}
	if line, ok := findLine(t, l, "reprice", "set_class bus"); !ok || line.Amount != 22000 || line.Attendant != "a1" {
		t.Errorf("history line %+v %v", line, ok)
	}

	// By plate: the latest exit of DXB1, not the ticket being served.
	p, ok, err := l.LastExit(ctx, lane.ExitQuery{Plate: "DXB1", NotTicket: "S/E1/9/3", Before: t0.Add(6 * time.Hour)})
	if err != nil || !ok || p.Serial != "8" || !p.Entry.Equal(t0) || !p.Exit.Equal(t0.Add(5*time.Hour)) || p.Paid != 3000 {
		t.Errorf("by plate: %+v %v %v (want ticket 8, the stay from t0, AED 30 paid)", p, ok, err)
	}
	p, ok, err = l.LastExit(ctx, lane.ExitQuery{Plate: "DXB1", NotTicket: "S/E1/8/2"})
	if err != nil || !ok || p.Serial != "7" || p.Paid != 3000 {
		t.Errorf("by plate, not ticket 8: %+v %v %v", p, ok, err)
	}
	if _, ok, _ := l.LastExit(ctx, lane.ExitQuery{Plate: "DXB1", Before: t0.Add(time.Hour)}); ok {
		t.Error("an exit after Before found")
	}
	p, ok, err = l.LastExit(ctx, lane.ExitQuery{Serial: "7"})
	if err != nil || !ok || p.TicketID != "S/E1/7/1" || !p.Entry.Equal(t0) || !p.Exit.Equal(t0.Add(3*time.Hour)) {
		t.Errorf("by serial: %+v %v %v", p, ok, err)
	}
	for _, q := range []lane.ExitQuery{{Serial: "99"}, {Plate: "NOPE"}, {}} {
		if _, ok, err := l.LastExit(ctx, q); ok || err != nil {
			t.Errorf("%+v: found %v %v", q, ok, err)
		}
	}
	if err := l.Record(ctx, lane.RepriceRec{Visit: 99, At: t0}); !errors.Is(err, lane.ErrNotFound) {
		t.Errorf("reprice of an unknown visit: %v", err)
	}
}
