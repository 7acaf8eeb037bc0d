package station

import (
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
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
		q, err := a.Quote(ti, now, 0, time.Time{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if q.Due != c.due || q.VATRate != 500 || q.VAT != ticket.VATPart(c.due, 500) || q.Net != c.due-q.VAT || q.VAT == 0 {
			t.Errorf("class %q: quote %+v", c.class, q)
		}
		if c.class != "" && !strings.Contains(q.Table, "motorcycle") {
			t.Errorf("class %q priced by table %q", c.class, q.Table)
		}
	}
	if q := a.Lost(now); q.Due != 15000 || q.VAT != 714 || q.VATRate != 500 {
		t.Errorf("lost: %+v", q)
	}
}
