package lane

import (
	"testing"
	"time"
)

// The ticket's class and the quote's VAT rate reach the ledger's records:
// the visit (ticket and quote), the order (the rate its amount includes)
// and the exit (the rate of its amount), for paid and attendant exits.
func TestClassAndVATRateReachTheRecords(t *testing.T) {
	q := Quote{Fee: 2000, Due: 2000, VATRate: 500, VAT: 95, Net: 1905}
	checked := Checked{Visit: 1, ID: "S/E1/7", Ticket: TicketInfo{Serial: "7", Entry: tt0.Add(-time.Hour), Signed: true, Class: "motorcycle"}, Quote: q}
	records := func(cmds []Command) (out []Record) {
		for _, c := range cmds {
			if w, ok := c.(Write); ok {
				out = append(out, w.Rec)
			}
		}
		return out
	}

	h := newHistory()
	h.step(t, tt0, Scanned{Code: "T7"})
	cmds, _ := h.step(t, tt0, checked)
	var sawVisit, sawOrder bool
	for _, r := range records(cmds) {
		switch r := r.(type) {
		case VisitRec:
			sawVisit = true
			if r.Ticket.Class != "motorcycle" || r.Quote.VATRate != 500 || r.Quote.VAT != 95 || r.Quote.Net != 1905 {
				t.Errorf("visit record: ticket %+v quote %+v", r.Ticket, r.Quote)
			}
		case OrderRec:
			sawOrder = true
			if r.VATRate != 500 || r.Amount != 2000 {
				t.Errorf("order record: %+v", r)
			}
		}
	}
	if !sawVisit || !sawOrder {
		t.Fatalf("records: %s", names(cmds))
	}
	if s := h.m.Snapshot(tt0); s.Ticket == nil || s.Ticket.Class != "motorcycle" {
		t.Errorf("snapshot ticket: %+v", s.Ticket)
	}
	h.step(t, tt0, CreateResult{Visit: 1, No: liveNo, Res: Created{TokenURL: "u", State: OrderState{Status: OrderCreated}}})
	cmds, _ = h.step(t, tt0, OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderPaid, Paid: 2000}})
	var exit *ExitRec
	for _, r := range records(cmds) {
		if e, ok := r.(ExitRec); ok {
			exit = &e
		}
	}
	if exit == nil || exit.Cause != CausePaid || exit.VATRate != 500 || exit.Amount != 2000 {
		t.Fatalf("paid exit: %+v", exit)
	}

	// An attendant's exit books the waived or owed amount at the rate too.
	h = newHistory()
	h.step(t, tt0, Scanned{Code: "T7"})
	h.step(t, tt0, checked)
	cmds, err := h.step(t, tt0, Acted{Action: UnableToCollect{Attendant: "a1", Reason: "payby down"}})
	if err != nil {
		t.Fatal(err)
	}
	exit = nil
	for _, r := range records(cmds) {
		if e, ok := r.(ExitRec); ok {
			exit = &e
		}
	}
	if exit == nil || exit.Cause != CauseUnableToCollect || exit.VATRate != 500 || exit.Amount != 2000 {
		t.Fatalf("unable-to-collect exit: %+v", exit)
	}
}
