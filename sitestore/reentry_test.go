package sitestore

import (
	"reflect"
	"strings"
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

// Migration 007 over a store that applied plate-carrying records before
// it existed: the plate and the continued stay come from the journal (a
// re-pricing's quote over the visit record's), as the applier now books
// them, and the lookup finds what it found through the journal.
func TestMigration007BackfillsPlatesFromTheJournal(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	a.write(paidVisit(1, "T1", "MALL1-A-S1-1", 3000, 0, t0)...)
	a.write(lane.VisitRec{Visit: 2, At: t0.Add(time.Minute), TicketID: "T9", Ticket: lane.TicketInfo{Serial: "S-T9", Plate: "DXB9"}})
	v3 := visitRec(3, "T3", t0.Add(2*time.Hour), 5000, 0)
	v3.Ticket.Plate = "DXB1"
	v3.Quote.Continued = &lane.Previous{TicketID: "T1", Serial: "S-T1", Entry: t0.Add(-2 * time.Hour), Exit: t0, Paid: 3050}
	b.write(v3)
	// An attendant's re-entry continues visit 4's stay after its scan.
	v4 := visitRec(4, "T4", t0.Add(3*time.Hour), 1000, 0)
	v4.Ticket.Plate = "DXB4"
	rq := v4.Quote
	rq.Continued = &lane.Previous{TicketID: "T0", Serial: "S-T0", Entry: t0.Add(-5 * time.Hour), Exit: t0, Paid: 1}
	b.write(v4, lane.RepriceRec{Visit: 4, At: t0.Add(3 * time.Hour), Action: "reentry", Quote: rq, Attendant: "ali"})
	// The visit record of visit 1 carries the plate paidVisit left out.
	if _, err := s.Pool().Exec(ctx, `UPDATE journal SET rec = jsonb_set(rec, '{Ticket,Plate}', '"DXB1"')
		WHERE lane = 'A' AND kind = 'visit' AND (rec->>'Visit')::bigint = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE visits SET plate = 'DXB1' WHERE lane = 'A' AND visit = 1`); err != nil {
		t.Fatal(err)
	}
	snapshot := func() []string {
		rows, err := s.Pool().Query(ctx, `SELECT lane || '/' || visit || ' ' || plate || ' ' ||
			COALESCE(continued_entry::text, '-') || ' ' || continued_paid FROM visits ORDER BY lane, visit`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var r string
			if err := rows.Scan(&r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		if rows.Err() != nil {
			t.Fatal(rows.Err())
		}
		return out
	}
	want := snapshot()
	if len(want) != 4 || want[0] != "A/1 DXB1 - 0" || want[1] != "A/2 DXB9 - 0" ||
		!strings.HasSuffix(want[2], " 3050") || !strings.HasPrefix(want[2], "B/3 DXB1 2026-") ||
		!strings.HasSuffix(want[3], " 1") || !strings.HasPrefix(want[3], "B/4 DXB4 2026-") {
		t.Fatalf("applied: %q", want)
	}
	before, ok, err := s.LastExitByPlate(ctx, "DXB1", "T5", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || !ok || before.TicketID != "T1" {
		t.Fatalf("before: %+v %v %v", before, ok, err)
	}
	// As the store was at migration 006.
	for _, q := range []string{
		`DROP INDEX visits_plate`,
		`ALTER TABLE visits DROP COLUMN plate, DROP COLUMN continued_entry, DROP COLUMN continued_paid`,
		`DELETE FROM schema_migrations WHERE version = 7`,
	} {
		if _, err := s.Pool().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	applied, err := s.Migrate(ctx)
	if err != nil || !reflect.DeepEqual(applied, []string{"007_plate.sql"}) {
		t.Fatalf("migrate: %v %v", applied, err)
	}
	if got := snapshot(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the migration %q, applied %q", got, want)
	}
	after, ok, err := s.LastExitByPlate(ctx, "DXB1", "T5", t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || !ok || after != before {
		t.Fatalf("after: %+v %v %v, before %+v", after, ok, err, before)
	}
	var used bool
	if err := s.Pool().QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_indexes WHERE indexname = 'visits_plate'
		AND indexdef LIKE '%(site, plate, ended_at)%')`).Scan(&used); err != nil || !used {
		t.Fatalf("index: %v %v", used, err)
	}
}
