package lane

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeReceipts is a receipt printer: it records the visits printed and
// fails with err while set. It checks that the exit was in the journal
// before its receipt was printed.
type fakeReceipts struct {
	mu    sync.Mutex
	j     *fakeJournal
	err   error
	delay time.Duration
	asked []int64
}

var errNoPaper = errors.New("printer out of paper")

func (f *fakeReceipts) Print(ctx context.Context, visit int64) error {
	f.mu.Lock()
	f.asked = append(f.asked, visit)
	err, delay := f.err, f.delay
	f.mu.Unlock()
	f.j.mu.Lock()
	exited := slices.ContainsFunc(f.j.exits, func(e *jExit) bool { return e.Visit == visit })
	f.j.mu.Unlock()
	if !exited {
		return errors.New("receipt of a visit with no exit recorded")
	}
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	return err
}

func (f *fakeReceipts) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fakeReceipts) printed() []int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int64(nil), f.asked...)
}

func withPrinter(delay time.Duration) (*fakeReceipts, func(w *world)) {
	rc := &fakeReceipts{delay: delay}
	return rc, func(w *world) { rc.j = w.j; w.rc = rc }
}

// A printer's health never changes the lane's state, in any state, and
// asks for no command: it is shown to the attendant only.
func TestPrinterNeverFaults(t *testing.T) {
	for _, s := range setups {
		for _, st := range []DeviceState{DeviceDown, DeviceOK, DeviceDown} {
			h := &history{m: NewMachine(Params{Site: "S", Lane: "X1", HavePrinter: true}), stored: map[string]bool{}, auths: map[string]bool{}}
			for _, ev := range s.evs {
				h.step(t, tt0, ev)
			}
			before := h.m.Snapshot(tt0)
			cmds, _ := h.step(t, tt0, DeviceChanged{Device: DevPrinter, State: st})
			after := h.m.Snapshot(tt0)
			if len(cmds) != 0 || after.State != before.State || after.Notice != before.Notice || after.Visit != before.Visit {
				t.Errorf("%s: printer %s: %s -> %s (%s), commands %s", s.name, st, before.State, after.State, after.Notice, names(cmds))
			}
			if after.Health.Printer != st {
				t.Errorf("%s: printer health %s, want %s", s.name, after.Health.Printer, st)
			}
		}
	}
	// Without a printer it is absent; with one, unknown until it reports.
	if h := NewMachine(Params{}).Snapshot(tt0).Health.Printer; h != DeviceAbsent {
		t.Errorf("no printer: %s", h)
	}
	if h := NewMachine(Params{HavePrinter: true}).Snapshot(tt0).Health.Printer; h != DeviceUnknown {
		t.Errorf("printer before its first report: %s", h)
	}
}

// A paid exit offers a receipt (with a printer); the driver's request
// prints it in the background; a failure lets the driver try again, a
// printed receipt is not offered twice. A free exit offers none, and
// without a printer no exit does.
func TestReceiptRequests(t *testing.T) {
	paidExit := []Event{Scanned{Code: "T7"}, checkedDue(1, 1000), CreateResult{Visit: 1, No: liveNo, Res: Created{TokenURL: "u", State: OrderState{Status: OrderCreated}}},
		OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderPaid, Paid: 1000}}}
	run := func(p Params, evs []Event) *history {
		p.Site, p.Lane = "S", "X1"
		h := &history{m: NewMachine(p), stored: map[string]bool{}, auths: map[string]bool{}}
		for _, ev := range evs {
			h.step(t, tt0, ev)
		}
		return h
	}
	receipt := func(h *history, visit int64) ([]Command, error) {
		return h.step(t, tt0, Acted{Action: Receipt{Visit: visit}})
	}
	want := func(h *history, r ReceiptState) {
		t.Helper()
		if got := h.m.Snapshot(tt0).Receipt; got != r {
			t.Fatalf("receipt %s, want %s", got, r)
		}
	}

	h := run(Params{HavePrinter: true}, paidExit)
	want(h, ReceiptAvailable)
	if _, err := receipt(h, 2); !errors.Is(err, ErrNotNow) {
		t.Fatalf("receipt of another visit: %v", err)
	}
	cmds, err := receipt(h, 1)
	if err != nil || names(cmds) != "print_receipt" {
		t.Fatalf("receipt: %s, %v", names(cmds), err)
	}
	want(h, ReceiptPrinting)
	if _, err := receipt(h, 1); !errors.Is(err, ErrNotNow) {
		t.Fatalf("a second press while printing: %v", err)
	}
	h.step(t, tt0, ReceiptDone{Visit: 1, Err: errNoPaper})
	want(h, ReceiptFailed)
	if h.m.State() != Opening {
		t.Fatalf("a failed receipt moved the lane to %s", h.m.State())
	}
	if cmds, err := receipt(h, 1); err != nil || names(cmds) != "print_receipt" {
		t.Fatalf("try again: %s, %v", names(cmds), err)
	}
	h.step(t, tt0, BarrierDone{Visit: 1, Auth: "1-1"})
	h.step(t, tt0, ReceiptDone{Visit: 1})
	want(h, ReceiptPrinted)
	if _, err := receipt(h, 1); !errors.Is(err, ErrNotNow) {
		t.Fatalf("a printed receipt again: %v", err)
	}
	h.step(t, tt0.Add(time.Minute), Tick{}) // Open is over
	if h.m.State() != Idle {
		t.Fatalf("state %s", h.m.State())
	}
	want(h, ReceiptNone)
	if _, err := receipt(h, 1); !errors.Is(err, ErrNotNow) {
		t.Fatalf("a receipt after the visit: %v", err)
	}
	h.step(t, tt0, ReceiptDone{Visit: 1}) // late: ignored

	// Free exits and lanes without a printer offer none.
	free := []Event{Scanned{Code: "T7"}, Checked{Visit: 1, ID: "S/E1/7", Quote: Quote{Free: FreeGrace}}}
	for _, c := range []struct {
		name string
		p    Params
		evs  []Event
	}{{"free exit", Params{HavePrinter: true, AutoPrint: true}, free}, {"no printer", Params{AutoPrint: true}, paidExit}} {
		h := run(c.p, c.evs)
		if h.m.State() != Opening {
			t.Fatalf("%s: state %s", c.name, h.m.State())
		}
		want(h, ReceiptNone)
		if _, err := receipt(h, 1); !errors.Is(err, ErrNotNow) {
			t.Fatalf("%s: receipt: %v", c.name, err)
		}
		for _, c2 := range h.cmds {
			if _, ok := c2.(PrintReceipt); ok {
				t.Fatalf("%s: printed a receipt", c.name)
			}
		}
	}

	// Auto print: the receipt follows the pulse in the same batch.
	h = run(Params{HavePrinter: true, AutoPrint: true}, paidExit[:3])
	cmds, _ = h.step(t, tt0, paidExit[3])
	if names(cmds) != "write:exit pulse print_receipt" {
		t.Fatalf("paid exit with auto print: %s", names(cmds))
	}
	want(h, ReceiptPrinting)
}

func TestReceiptScenarios(t *testing.T) {
	// printer.auto_print: the paid exit's receipt prints by itself, after
	// the exit is recorded and without delaying the pulse.
	scenario(t, "receipt_auto_print", func(t *testing.T) {
		rc, seed := withPrinter(2 * time.Second)
		w := newWorld(t, Params{AutoPrint: true}, seed)
		w.device(DevPrinter, DeviceOK)
		w.ticket("T300", 90*time.Minute)
		w.scan("T300")
		w.want(FeeDue)
		w.payNow("S-X1-300-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.wantPulses(1)
		if got := w.r.Snapshot().Receipt; got != ReceiptPrinting {
			t.Fatalf("receipt %s while printing", got)
		}
		w.sleep(2 * time.Second)
		if got := w.r.Snapshot().Receipt; got != ReceiptPrinted || !slices.Equal(rc.printed(), []int64{1}) {
			t.Fatalf("receipt %s, printed %v", got, rc.printed())
		}
		w.sleep(10 * time.Second)
		w.want(Idle)
		w.finish("receipt_auto_print")
	})
	// The printer is out of paper: the exit opens all the same, the lane
	// never leaves service, the attendant sees the printer down and a
	// history line; the driver is told (ReceiptFailed) and may try again
	// once paper is loaded.
	scenario(t, "receipt_out_of_paper", func(t *testing.T) {
		rc, seed := withPrinter(100 * time.Millisecond)
		rc.set(errNoPaper)
		w := newWorld(t, Params{}, seed)
		w.device(DevPrinter, DeviceDown)
		w.ticket("T301", 90*time.Minute)
		w.scan("T301")
		w.payNow("S-X1-301-1")
		w.sleep(2 * time.Second)
		w.want(Opening)
		if got := w.r.Snapshot().Receipt; got != ReceiptAvailable {
			t.Fatalf("receipt %s on the paid screen", got)
		}
		if err := w.do(Receipt{Visit: 1}); err != nil {
			t.Fatal(err)
		}
		w.sleep(time.Second)
		w.want(Open)
		w.wantPulses(1)
		s := w.r.Snapshot()
		if s.Receipt != ReceiptFailed || s.Health.Printer != DeviceDown {
			t.Fatalf("receipt %s, printer %s", s.Receipt, s.Health.Printer)
		}
		w.j.mu.Lock()
		failed := slices.ContainsFunc(w.j.recs, func(r Record) bool {
			a, ok := r.(AuditRec)
			return ok && a.Action == "receipt_failed" && a.Visit == 1 && a.Attendant == SystemActor && a.Reason == errNoPaper.Error()
		})
		w.j.mu.Unlock()
		if !failed {
			t.Fatal("no history line for the failed receipt")
		}
		rc.set(nil)
		w.device(DevPrinter, DeviceOK)
		if err := w.do(Receipt{Visit: 1}); err != nil {
			t.Fatal(err)
		}
		w.sleep(time.Second)
		if got := w.r.Snapshot().Receipt; got != ReceiptPrinted {
			t.Fatalf("second try: %s", got)
		}
		if err := w.do(Receipt{Visit: 1}); !errors.Is(err, ErrNotNow) {
			t.Fatalf("a third receipt: %v", err)
		}
		w.sleep(10 * time.Second)
		w.want(Idle)
		w.finish("receipt_out_of_paper")
	})
}
