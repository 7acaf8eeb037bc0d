package station

import (
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/ticket"
)

// The class an EL2 code carries prices the stay by its own tables, and
// the quote the lane gets carries the tariff's VAT.
func TestTicketsClassAndVAT(t *testing.T) {
	key := []byte("0123456789abcdef")
	cfg := &config.Config{Site: config.Site{ID: "GRG01", Location: time.UTC}, Ticket: config.Ticket{Key: key, ClockTolerance: time.Minute}}
	cfg.Tariff = ticket.Tariff{LostFee: 15000, VATPercent: 500, Location: time.UTC, Tables: []ticket.Table{
		{Name: "cars", FirstPeriod: time.Hour, FirstPrice: 2000, Increment: time.Hour, IncrementPrice: 1000},
		{Name: "motorcycles", Class: "motorcycle", FirstPeriod: time.Hour, FirstPrice: 500, Increment: time.Hour, IncrementPrice: 500},
	}}
	if errs := cfg.Tariff.Validate("tariff"); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := newTickets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := ticket.NewSigned("GRG01", key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	entry := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	now := entry.Add(90 * time.Minute)
	for _, c := range []struct {
		class string
		due   money.Fils
	}{{"", 3000}, {"motorcycle", 1000}} {
		code, err := iss.IssueClass("E1", 42, entry, c.class)
		if err != nil {
			t.Fatal(err)
		}
		ti, _, err := a.Check(code, now)
		if err != nil {
			t.Fatal(err)
		}
		if ti.Class != c.class {
			t.Errorf("class %q read as %q", c.class, ti.Class)
		}
		q, err := a.Quote(ti, now, lane.Pricing{})
		if err != nil {
			t.Fatal(err)
		}
		if q.Due != c.due || q.VATRate != 500 || q.VAT != money.VATPart(c.due, 500) || q.Net != c.due-q.VAT || q.VAT == 0 {
			t.Errorf("class %q: quote %+v", c.class, q)
		}
		if c.class != "" && !strings.Contains(q.Table, "motorcycle") {
			t.Errorf("class %q priced by table %q", c.class, q.Table)
		}
	}
	if q, err := a.Quote(lane.TicketInfo{Lost: true}, now, lane.Pricing{}); err != nil || q.Due != 15000 || q.VAT != 714 || q.VATRate != 500 {
		t.Errorf("lost: %+v %v", q, err)
	}
}

// A lost ticket is priced by the tariff's lost rule, for the class and
// from the entry the attendant gave; an EL3 code's plate reaches the lane,
// and a previous visit within the re-entry window continues the stay.
func TestTicketsLostAndReentry(t *testing.T) {
	key := []byte("0123456789abcdef")
	cfg := &config.Config{Site: config.Site{ID: "GRG01", Location: time.UTC}, Ticket: config.Ticket{Key: key, ClockTolerance: time.Minute}}
	cfg.Tariff = ticket.Tariff{LostFee: 15000, Lost: ticket.LostStay, Reentry: 2 * time.Hour, Location: time.UTC, Tables: []ticket.Table{
		{Name: "cars", FirstPeriod: time.Hour, FirstPrice: 2000, Increment: time.Hour, IncrementPrice: 1000},
		{Name: "buses", Class: "bus", FirstPeriod: time.Hour, FirstPrice: 10000, Increment: time.Hour, IncrementPrice: 10000},
	}}
	if errs := cfg.Tariff.Validate("tariff"); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := newTickets(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ti   lane.TicketInfo
		due  money.Fils
		step string
	}{
		{lane.TicketInfo{Lost: true}, 15000, "the entry is not known"},
		{lane.TicketInfo{Lost: true, Entry: now.Add(-3 * time.Hour)}, 15000, "the stay from the known entry (AED 40.00)"},
		{lane.TicketInfo{Lost: true, Entry: now.Add(-3 * time.Hour), Class: "bus"}, 30000, "the stay from the known entry (AED 300.00)"},
	} {
		q, err := a.Quote(c.ti, now, lane.Pricing{})
		if err != nil || q.Due != c.due || !strings.Contains(strings.Join(q.Steps, "\n"), c.step) {
			t.Errorf("%+v: %+v %v", c.ti, q, err)
		}
	}
	iss, _ := ticket.NewSigned("GRG01", key, time.Minute)
	code, _ := iss.IssuePlate("E1", 43, now.Add(-time.Hour), "", "S 12345")
	ti, _, err := a.Check(code, now)
	if err != nil || ti.Plate != "S12345" {
		t.Fatalf("%+v %v", ti, err)
	}
	prev := &lane.Previous{TicketID: "GRG01/E1/42/1", Serial: "42", Entry: now.Add(-4 * time.Hour), Exit: now.Add(-2 * time.Hour), Paid: 3000}
	q, err := a.Quote(ti, now, lane.Pricing{Previous: prev})
	// From the first entry, 4 h: AED 50, less the 30 paid then.
	if err != nil || q.Due != 2000 || q.Continued == nil || q.Continued.Serial != "42" || !strings.HasPrefix(q.Steps[0], "re-entry within 2h of exit at 10:00") {
		t.Errorf("re-entry: %+v %v", q, err)
	}
	prev.Entry, prev.Exit = now.Add(-6*time.Hour), now.Add(-3*time.Hour-time.Second) // the window plus a second before the entry
	if q, err := a.Quote(ti, now, lane.Pricing{Previous: prev}); err != nil || q.Continued != nil || q.Due != 2000 {
		t.Errorf("outside the window: %+v %v", q, err)
	}
}
