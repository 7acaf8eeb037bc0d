package lane

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var tt0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

const liveNo = "S-X1-7-1"

// history steps a fresh machine through evs, checking the safety rules on
// every batch, and returns it with everything it emitted.
type history struct {
	m      *Machine
	stored map[string]bool // order numbers written before any create
	auths  map[string]bool // authorisations written
	cmds   []Command
}

func newHistory() *history {
	return &history{m: NewMachine(Params{Site: "S", Lane: "X1"}), stored: map[string]bool{}, auths: map[string]bool{}}
}

func (h *history) step(t *testing.T, now time.Time, ev Event) ([]Command, error) {
	t.Helper()
	var cmds []Command
	var err error
	if a, ok := ev.(Acted); ok {
		cmds, err = h.m.Act(now, a.Action)
	} else {
		cmds = h.m.Step(now, ev)
	}
	pulses := 0
	for _, c := range cmds {
		switch c := c.(type) {
		case Write:
			switch r := c.Rec.(type) {
			case OrderRec:
				h.stored[r.No] = true
			case ExitRec:
				if h.auths[r.Auth] {
					t.Fatalf("%s: authorisation %s written twice", Describe(ev), r.Auth)
				}
				h.auths[r.Auth] = true
			case OpenRec:
				h.auths[r.Auth] = true
			}
		case CreateOrder:
			if !h.stored[c.Req.MerchantOrderNo] {
				t.Fatalf("%s: create %s before the number was stored (invariant 1)", Describe(ev), c.Req.MerchantOrderNo)
			}
		case Pulse:
			pulses++
			if !h.auths[c.Auth] {
				t.Fatalf("%s: pulse %s without a ledger row (invariant 4)", Describe(ev), c.Auth)
			}
		}
	}
	if pulses > 1 {
		t.Fatalf("%s: %d pulses in one batch", Describe(ev), pulses)
	}
	h.cmds = append(h.cmds, cmds...)
	return cmds, err
}

func checkedDue(visit int64, due int64) Checked {
	return Checked{Visit: visit, ID: "S/E1/7", Ticket: TicketInfo{Serial: "7", Entry: tt0.Add(-time.Hour), Signed: true},
		Quote: Quote{Fee: 1000, Due: 1000}}
}

// setups drive a fresh machine into each state.
var setups = []struct {
	name string
	evs  []Event
}{
	{"idle", nil},
	{"checking", []Event{Scanned{Code: "T7"}}},
	{"fee_due", []Event{Scanned{Code: "T7"}, checkedDue(1, 1000), CreateResult{Visit: 1, No: liveNo, Res: Created{TokenURL: "u", State: OrderState{Status: OrderCreated}}}}},
	{"fee_due_payby_down", []Event{Scanned{Code: "T7"}, checkedDue(1, 1000), CreateResult{Visit: 1, No: liveNo, Err: errFake}}},
	{"opening", []Event{Scanned{Code: "T7"}, checkedDue(1, 1000), CreateResult{Visit: 1, No: liveNo, Res: Created{TokenURL: "u", State: OrderState{Status: OrderCreated}}},
		OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderPaid, Paid: 1000}}}},
	{"open", []Event{Scanned{Code: "T7"}, Checked{Visit: 1, ID: "S/E1/7", Quote: Quote{Free: FreeGrace}}, BarrierDone{Visit: 1, Auth: "1-1"}}},
	{"notice", []Event{Scanned{Code: "X"}, Checked{Visit: 1, Refused: NoticeForged}}},
	{"fault", []Event{DeviceChanged{Device: DevRelay, State: DeviceDown}}},
	// Faults only an attendant clears: a QR was payable, a pulse failed,
	// the ledger failed.
	{"fault_while_paying", []Event{Scanned{Code: "T7"}, checkedDue(1, 1000), CreateResult{Visit: 1, No: liveNo, Res: Created{TokenURL: "u", State: OrderState{Status: OrderCreated}}},
		DeviceChanged{Device: DevRelay, State: DeviceDown}}},
	{"fault_pulse_failed", []Event{Scanned{Code: "T7"}, Checked{Visit: 1, ID: "S/E1/7", Quote: Quote{Free: "grace"}}, BarrierDone{Visit: 1, Auth: "1-1", Err: errFake}}},
	{"fault_ledger", []Event{WriteFailed{Err: errFake}}},
	{"closed", []Event{Acted{Action: CloseLane{Attendant: "a1"}}}},
}

var events = []struct {
	name string
	ev   Event
}{
	{"scan", Scanned{Code: "T8"}},
	{"tick_later", Tick{}},
	{"checked", checkedDue(1, 1000)},
	{"checked_late", checkedDue(99, 1000)},
	{"created", CreateResult{Visit: 1, No: liveNo, Res: Created{TokenURL: "u2", State: OrderState{Status: OrderCreated}}}},
	{"created_late", CreateResult{Visit: 99, No: "S-X1-9-1", Res: Created{TokenURL: "u9", State: OrderState{Status: OrderCreated}}}},
	{"create_failed", CreateResult{Visit: 1, No: liveNo, Err: errFake}},
	{"poll_created", OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderCreated}}},
	{"poll_paid", OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderPaid, Paid: 1000}}},
	{"notify_paid", OrderUpdate{No: liveNo, Source: SourceNotification, State: OrderState{Status: OrderPaid, Paid: 1000}}},
	{"paid_late", OrderUpdate{Visit: 99, No: "S-X1-9-1", Source: SourcePoll, State: OrderState{Status: OrderPaid, Paid: 500}}},
	{"poll_failed", OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderFailed}}},
	{"poll_error", OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, Err: errFake}},
	{"cancel_paid", OrderUpdate{Visit: 1, No: liveNo, Source: SourceCancel, State: OrderState{Status: OrderPaid, Paid: 1000}}},
	{"barrier_ok", BarrierDone{Visit: 1, Auth: "1-1"}},
	{"barrier_err", BarrierDone{Visit: 1, Auth: "1-1", Err: errFake}},
	{"barrier_stale", BarrierDone{Visit: 1, Auth: "0-9"}},
	{"relay_down", DeviceChanged{Device: DevRelay, State: DeviceDown}},
	{"scanner_down", DeviceChanged{Device: DevScanner, State: DeviceDown}},
	{"relay_up", DeviceChanged{Device: DevRelay, State: DeviceOK}},
	{"loop_clear", LoopChanged{Present: false}},
	{"write_failed", WriteFailed{Visit: 1, Err: errFake}},
	{"cancel", Acted{Action: Cancel{}}},
	{"new_qr", Acted{Action: NewQR{}}},
	{"call", Acted{Action: CallAttendant{}}},
	{"manual_open", Acted{Action: ManualOpen{Attendant: "a1", Reason: "r"}}},
	{"manual_no_reason", Acted{Action: ManualOpen{Attendant: "a1"}}},
	{"exempt", Acted{Action: Exempt{Attendant: "a1", Reason: "r"}}},
	{"unable", Acted{Action: UnableToCollect{Attendant: "a1", Reason: "r"}}},
	{"override", Acted{Action: Override{Attendant: "a1", Reason: "r"}}},
	{"lost", Acted{Action: LostTicket{Attendant: "a1"}}},
	{"enter_code", Acted{Action: EnterCode{Attendant: "a1", Code: "T9"}}},
	{"close", Acted{Action: CloseLane{Attendant: "a1"}}},
	{"open_lane", Acted{Action: OpenLane{Attendant: "a1"}}},
	{"clear_fault", Acted{Action: ClearFault{Attendant: "a1"}}},
	{"refund", Acted{Action: Refund{Attendant: "a1", MerchantOrderNo: liveNo, Reason: "r"}}},
	{"validate", Acted{Action: Validate{Attendant: "a1", Code: "V1H"}}},
	{"validated_less", Validated{Visit: 1, Code: "V1H", Name: "one hour", OK: true, Quote: Quote{Fee: 500, Due: 500}}},
	{"validated_free", Validated{Visit: 1, Code: "VFREE", Name: "free", OK: true, Quote: Quote{Free: FreeValidation}}},
}

// setupState is the state a setup reaches: its name up to a variant
// ("fee_due_payby_down", "fault_ledger").
func setupState(name string) string {
	if strings.HasPrefix(name, "fault") {
		return "fault"
	}
	return strings.TrimSuffix(name, "_payby_down")
}

func names(cmds []Command) string {
	var out []string
	for _, c := range cmds {
		n := c.commandName()
		if w, ok := c.(Write); ok {
			n += ":" + w.Rec.recordName()
		}
		out = append(out, n)
	}
	return strings.Join(out, " ")
}

// TestTransitionTable steps every event in every state. It checks the
// safety rules on every batch (no create before its number is stored, no
// pulse without its row, one pulse per batch) and compares the whole table
// with testdata/transitions.txt.
func TestTransitionTable(t *testing.T) {
	var b strings.Builder
	for _, s := range setups {
		for _, e := range events {
			h := newHistory()
			now := tt0
			for _, ev := range s.evs {
				h.step(t, now, ev)
			}
			if got := h.m.State().String(); got != setupState(s.name) {
				t.Fatalf("setup %s reached %s", s.name, got)
			}
			if e.name == "tick_later" {
				now = now.Add(10 * time.Minute)
			}
			cmds, err := h.step(t, now, e.ev)
			line := fmt.Sprintf("%-18s %-16s -> %-8s %s", s.name, e.name, h.m.State(), names(cmds))
			if err != nil {
				line += " ! " + err.Error()
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
		}
	}
	path := filepath.Join("testdata", "transitions.txt")
	if *update {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("transition table changed (go test ./lane -run TransitionTable -update, review the diff):\n%s", b.String())
	}
}

// Key rows, asserted directly so that a wrong golden file cannot hide them.
func TestTransitionsKeyRows(t *testing.T) {
	cases := []struct {
		setup, event string
		want         State
		wantCmds     string
		wantErr      error
	}{
		{"idle", "scan", Checking, "check", nil},
		{"idle", "barrier_ok", Idle, "", nil},              // never a pulse result without a pulse
		{"idle", "notify_paid", Idle, "write:status", nil}, // not the live visit: record only, nothing opens
		{"idle", "paid_late", Idle, "write:status", nil},   // late payment recorded (invariant 5)
		{"checking", "checked_late", Checking, "", nil},    // late result of another visit ignored
		{"checking", "checked", FeeDue, "write:visit write:order create_order", nil},
		{"fee_due", "poll_paid", Opening, "write:exit pulse", nil},
		{"fee_due", "notify_paid", Opening, "write:exit pulse", nil},
		{"fee_due", "cancel_paid", Opening, "write:exit pulse", nil}, // cancel refused as paid = paid
		{"fee_due", "scan", FeeDue, "check_validation", nil},         // another code: maybe a validation stamp
		{"fee_due", "new_qr", FeeDue, "cancel_order", nil},
		{"fee_due", "cancel", Idle, "write:abandon cancel_order write:visit_end", nil},
		{"fee_due", "relay_down", Fault, "write:abandon cancel_order write:visit_end", nil},
		{"fee_due", "manual_no_reason", FeeDue, "", ErrReasonRequired},
		{"fee_due_payby_down", "tick_later", Notice, "write:abandon cancel_order write:visit_end", nil},
		{"fee_due_payby_down", "unable", Opening, "write:abandon cancel_order write:audit write:exit pulse", nil},
		{"opening", "poll_paid", Opening, "write:status", nil}, // duplicate confirmation: recorded, no second pulse
		{"opening", "notify_paid", Opening, "write:status", nil},
		{"opening", "barrier_ok", Open, "write:pulse", nil},
		{"opening", "barrier_err", Fault, "write:pulse", nil},
		{"opening", "manual_open", Opening, "", ErrNotNow},
		{"open", "loop_clear", Idle, "", nil},
		{"fault", "scan", Fault, "", nil},
		{"fault", "clear_fault", Fault, "", ErrNotNow},  // relay still down
		{"fault", "relay_up", Idle, "write:audit", nil}, // nothing in flight: back in service by itself
		{"fault", "scanner_down", Fault, "", nil},
		{"fault_while_paying", "relay_up", Fault, "", nil}, // the driver may have paid: an attendant decides
		{"fault_pulse_failed", "relay_up", Fault, "", nil}, // an authorised exit did not happen
		{"fault_ledger", "relay_up", Fault, "", nil},       // not the relay's fault
		{"fault_while_paying", "clear_fault", Fault, "", ErrNotNow},
		{"closed", "scan", Closed, "", nil},
		{"closed", "open_lane", Idle, "write:audit", nil},
		{"notice", "override", Notice, "", ErrNotNow},                               // only after "already used"
		{"fee_due", "validated_less", FeeDue, "write:validation cancel_order", nil}, // re-price: cancel first
		{"fee_due", "validated_free", Opening, "write:validation write:abandon cancel_order write:exit pulse", nil},
		{"fee_due_payby_down", "validated_less", FeeDue, "write:validation write:abandon cancel_order write:order create_order", nil},
	}
	for _, c := range cases {
		t.Run(c.setup+"/"+c.event, func(t *testing.T) {
			h := newHistory()
			for _, s := range setups {
				if s.name == c.setup {
					for _, ev := range s.evs {
						h.step(t, tt0, ev)
					}
				}
			}
			now := tt0
			var ev Event
			for _, e := range events {
				if e.name == c.event {
					ev = e.ev
				}
			}
			if c.event == "tick_later" {
				now = now.Add(10 * time.Minute)
			}
			cmds, err := h.step(t, now, ev)
			if h.m.State() != c.want || names(cmds) != c.wantCmds || !errors.Is(err, c.wantErr) {
				t.Errorf("got %s [%s] err=%v, want %s [%s] err=%v", h.m.State(), names(cmds), err, c.want, c.wantCmds, c.wantErr)
			}
		})
	}
}

func TestOrderKey(t *testing.T) {
	cases := []struct{ site, lane, serial, want string }{
		{"GRG01", "L201", "48213", "GRG01-L201-48213"},
		{"S", "X", "a/b c", "S-X-a_b_c"},
		{"S", "X", strings.Repeat("9", 80), "S-X-" + strings.Repeat("9", 53)},
	}
	for _, c := range cases {
		got := OrderKey(c.site, c.lane, c.serial)
		if got != c.want {
			t.Errorf("OrderKey(%q,%q,%q) = %q, want %q", c.site, c.lane, c.serial, got, c.want)
		}
		if n := len(got + "-999999"); n > 64 {
			t.Errorf("order number of %d characters", n)
		}
	}
}

func FuzzOrderKey(f *testing.F) {
	f.Add("S", "X1", "123")
	f.Add("", "", "\x00é/")
	f.Fuzz(func(t *testing.T, site, lane, serial string) {
		k := OrderKey(site, lane, serial) + "-123456"
		if len(site) <= 8 && len(lane) <= 8 && len(k) > 64 { // config allows 1-8 each
			t.Fatalf("too long: %q", k)
		}
		for _, r := range k {
			if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				t.Fatalf("bad character %q in %q", r, k)
			}
		}
	})
}
