package sitestore

import (
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
)

// A plate's last exit at any lane of the site, within the window, with
// the stay's first entry and what it paid; a re-entry that continued a
// stay keeps that stay's entry.
func TestLastExitByPlate(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	b := newLane(t, s, "B")
	v := visitRec(1, "T1", t0, 3000, 0)
	v.Ticket.Plate = "DXB1"
	paid := statusRec("MALL1-B-S1-1", lane.OrderPaid, 3000, t0)
	b.write(v, orderRec(1, "T1", "MALL1-B-S1-1", 3000, t0),
		lane.ExitRec{Visit: 1, TicketID: "T1", At: t0, Cause: lane.CausePaid, Amount: 3000, No: "MALL1-B-S1-1", Auth: "b1", Paid: &paid})

	p, ok, err := s.LastExitByPlate(ctx, "DXB1", "T2", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || !ok || p.Lane != "B" || p.TicketID != "T1" || p.Serial != "S-T1" || !p.Entry.Equal(t0.Add(-2*time.Hour)) || !p.Exit.Equal(t0) || p.Paid != 3000 {
		t.Fatalf("%+v %v %v", p, ok, err)
	}
	for _, c := range []struct {
		plate, not    string
		since, before time.Time
	}{
		{"DXB2", "T2", t0.Add(-time.Hour), t0.Add(time.Hour)},  // another plate
		{"DXB1", "T1", t0.Add(-time.Hour), t0.Add(time.Hour)},  // the ticket itself
		{"DXB1", "T2", t0.Add(time.Minute), t0.Add(time.Hour)}, // before the window
		{"DXB1", "T2", t0.Add(-time.Hour), t0.Add(-time.Minute)},
	} {
		if _, ok, err := s.LastExitByPlate(ctx, c.plate, c.not, c.since, c.before); ok || err != nil {
			t.Errorf("%+v: found %v %v", c, ok, err)
		}
	}

	// T2 continued T1's stay and left by lane B too: the next re-entry
	// continues from T1's entry with both payments.
	v2 := visitRec(2, "T2", t0.Add(time.Hour), 5000, 0)
	v2.Ticket.Plate = "DXB1"
	v2.Quote.Continued = &lane.Previous{TicketID: "T1", Serial: "S-T1", Entry: t0.Add(-2 * time.Hour), Exit: t0, Paid: 3000}
	v2.Quote.Due = 2000
	paid2 := statusRec("MALL1-B-S2-1", lane.OrderPaid, 2000, t0.Add(time.Hour))
	b.write(v2, orderRec(2, "T2", "MALL1-B-S2-1", 2000, t0.Add(time.Hour)),
		lane.ExitRec{Visit: 2, TicketID: "T2", At: t0.Add(time.Hour), Cause: lane.CausePaid, Amount: 2000, No: "MALL1-B-S2-1", Auth: "b2", Paid: &paid2})
	p, ok, err = s.LastExitByPlate(ctx, "DXB1", "T3", t0, t0.Add(2*time.Hour))
	if err != nil || !ok || p.TicketID != "T2" || !p.Entry.Equal(t0.Add(-2*time.Hour)) || p.Paid != 5000 {
		t.Fatalf("chained: %+v %v %v", p, ok, err)
	}
}
