package lane

import (
	"strings"
	"testing"
	"time"
)

func phaseOf(m *Machine) string {
	if m.v == nil || m.v.order == nil {
		return "-"
	}
	return m.v.order.phase.String()
}

// TestOrderPhases walks the order of a fee-due visit through its phases,
// step by step, with the commands each step sends.
func TestOrderPhases(t *testing.T) {
	created := func(no string) Event {
		return CreateResult{Visit: 1, No: no, Res: Created{TokenURL: "u", State: OrderState{Status: OrderCreated}}}
	}
	poll := func(no string, st OrderStatus) Event {
		return OrderUpdate{Visit: 1, No: no, Source: SourcePoll, State: OrderState{Status: st}}
	}
	cancelled := func(no string, st OrderStatus) Event {
		return OrderUpdate{Visit: 1, No: no, Source: SourceCancel, State: OrderState{Status: st}}
	}
	const no2 = "S-X1-7-2"
	type step struct {
		after time.Duration // from the start
		ev    Event
		phase string
		cmds  string
	}
	start := []step{
		{0, Scanned{Code: "T7"}, "-", "check"},
		{0, checkedDue(1, 1000), "creating", "write:visit write:order create_order"},
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"paid", []step{
			{0, created(liveNo), "shown", "write:status"},
			{2 * time.Second, Tick{}, "shown", "get_order"},
			{3 * time.Second, poll(liveNo, OrderPaid), "paid", "write:exit pulse"},
		}},
		{"unconfirmed, then placed again", []step{
			{0, CreateResult{Visit: 1, No: liveNo, Err: errFake}, "unconfirmed", ""},
			{5 * time.Second, Tick{}, "unconfirmed", "get_order"},
			{6 * time.Second, poll(liveNo, OrderNotFound), "creating", "create_order"},
			{7 * time.Second, created(liveNo), "shown", "write:status"},
		}},
		{"window over, cancelled", []step{
			{0, created(liveNo), "shown", "write:status"},
			{3 * time.Minute, Tick{}, "closing", "get_order"},
			{3*time.Minute + time.Second, poll(liveNo, OrderCreated), "cancelling", "cancel_order"},
			{3*time.Minute + 2*time.Second, cancelled(liveNo, OrderFailed), "-", "write:status write:visit_end"},
		}},
		{"new QR", []step{
			{0, created(liveNo), "shown", "write:status"},
			{time.Second, Acted{Action: NewQR{}}, "replacing", "cancel_order"},
			{2 * time.Second, cancelled(liveNo, OrderFailed), "creating", "write:status write:order create_order"},
			{3 * time.Second, created(no2), "shown", "write:status"},
		}},
		{"replacing when the window ends", []step{
			{0, created(liveNo), "shown", "write:status"},
			{time.Second, Acted{Action: NewQR{}}, "replacing", "cancel_order"},
			{2 * time.Second, cancelled(liveNo, OrderCreated), "replacing", "cancel_order"},
			{3 * time.Minute, Tick{}, "cancelling", ""},
			{3*time.Minute + time.Second, cancelled(liveNo, OrderNotFound), "-", "write:status write:visit_end"},
		}},
		{"payment failed, new QR", []step{
			{0, created(liveNo), "shown", "write:status"},
			{time.Second, OrderUpdate{No: liveNo, Source: SourceNotification, State: OrderState{Status: OrderFailed}}, "dead", "write:status"},
			{2 * time.Second, Acted{Action: NewQR{}}, "creating", "write:order create_order"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHistory()
			for i, s := range append(append([]step(nil), start...), c.steps...) {
				cmds, err := h.step(t, tt0.Add(s.after), s.ev)
				if err != nil {
					t.Fatalf("step %d (%s): %v", i, Describe(s.ev), err)
				}
				if got := phaseOf(h.m); got != s.phase || names(cmds) != s.cmds {
					t.Fatalf("step %d (%s): phase %s [%s], want %s [%s]", i, Describe(s.ev), got, names(cmds), s.phase, s.cmds)
				}
			}
		})
	}
}

// A dead order is not queried again: once getOrder resolves a failed
// create as FAILURE, the lane waits for "new QR" or the end of the window
// instead of asking PayBy again at once, tick after tick.
func TestDeadOrderNotQueried(t *testing.T) {
	h := newHistory()
	h.step(t, tt0, Scanned{Code: "T7"})
	h.step(t, tt0, checkedDue(1, 1000))
	h.step(t, tt0, CreateResult{Visit: 1, No: liveNo, Err: errFake})
	retry := tt0.Add(5 * time.Second)
	if cmds, _ := h.step(t, retry, Tick{}); names(cmds) != "get_order" {
		t.Fatalf("resolve: %s", names(cmds))
	}
	h.step(t, retry, OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderFailed}})
	if got := phaseOf(h.m); got != "dead" {
		t.Fatalf("phase %s", got)
	}
	if next, end := h.m.Next(), h.m.Snapshot(retry).Deadline; !next.Equal(end) {
		t.Fatalf("next tick at %v, want the end of the window %v", next, end)
	}
	if cmds, _ := h.step(t, retry.Add(time.Second), Tick{}); len(cmds) != 0 {
		t.Fatalf("tick sent %s", names(cmds))
	}
}

// A payment found on an order an earlier visit left open, while this
// visit's own order is still being created: no QR of the old amount was
// shown, so that order is abandoned at once and the next attempt asks for
// the difference; the abandoned order, if PayBy created it, is cancelled.
func TestTopUpWhileCreating(t *testing.T) {
	h := newHistory()
	const inherited, abandoned, next = "S-X1-7-1", "S-X1-7-2", "S-X1-7-3"
	ck := checkedDue(1, 1000)
	ck.History = History{Attempts: 1, Open: []string{inherited}}
	h.step(t, tt0, Scanned{Code: "T7"})
	if cmds, _ := h.step(t, tt0, ck); names(cmds) != "write:visit cancel_order write:order create_order" {
		t.Fatalf("checked: %s", names(cmds))
	}
	paid := OrderUpdate{Visit: 1, No: inherited, Source: SourceCancel,
		State: OrderState{Status: OrderPaid, Paid: 400, PaidAt: tt0.Add(-time.Hour)}}
	cmds, _ := h.step(t, tt0.Add(time.Second), paid)
	if names(cmds) != "write:status write:abandon cancel_order write:order create_order" {
		t.Fatalf("top-up: %s", names(cmds))
	}
	if c := cmds[4].(CreateOrder); c.Req.MerchantOrderNo != next || c.Req.Amount != 600 {
		t.Fatalf("next attempt %s for %v, want %s for 6.00", c.Req.MerchantOrderNo, c.Req.Amount, next)
	}
	late := CreateResult{Visit: 1, No: abandoned, Res: Created{TokenURL: "old", State: OrderState{Status: OrderCreated}}}
	cmds, _ = h.step(t, tt0.Add(2*time.Second), late)
	if names(cmds) != "write:status cancel_order" || h.m.Snapshot(tt0).TokenURL != "" {
		t.Fatalf("late create of the abandoned order: %s, QR %q", names(cmds), h.m.Snapshot(tt0).TokenURL)
	}
}

// PayBy's FAILURE is final: an answer sent before it (a poll in flight
// when the FAILURE notification came) is recorded, and the order stays
// dead, so "new QR" starts the next attempt at once.
func TestStaleAnswerForDeadOrder(t *testing.T) {
	h := newHistory()
	h.step(t, tt0, Scanned{Code: "T7"})
	h.step(t, tt0, checkedDue(1, 1000))
	h.step(t, tt0, CreateResult{Visit: 1, No: liveNo, Res: Created{TokenURL: "u", State: OrderState{Status: OrderCreated}}})
	h.step(t, tt0.Add(2*time.Second), Tick{}) // poll sent
	h.step(t, tt0.Add(2*time.Second), OrderUpdate{No: liveNo, Source: SourceNotification, State: OrderState{Status: OrderFailed}})
	cmds, _ := h.step(t, tt0.Add(3*time.Second), OrderUpdate{Visit: 1, No: liveNo, Source: SourcePoll, State: OrderState{Status: OrderCreated}})
	if names(cmds) != "write:status" || phaseOf(h.m) != "dead" {
		t.Fatalf("stale answer: %s, phase %s", names(cmds), phaseOf(h.m))
	}
	cmds, err := h.m.Act(tt0.Add(4*time.Second), NewQR{})
	if err != nil || names(cmds) != "write:order create_order" {
		t.Fatalf("new QR: %s %v", names(cmds), err)
	}
	// A payment is honoured whatever the lane thought of the order.
	h = newHistory()
	h.step(t, tt0, Scanned{Code: "T7"})
	h.step(t, tt0, checkedDue(1, 1000))
	h.step(t, tt0, OrderUpdate{No: liveNo, Source: SourceNotification, State: OrderState{Status: OrderFailed}})
	cmds, _ = h.step(t, tt0.Add(time.Second), CreateResult{Visit: 1, No: liveNo, Res: Created{State: OrderState{Status: OrderPaid, Paid: 1000}}})
	if !strings.HasPrefix(names(cmds), "write:exit pulse") || h.m.State() != Opening {
		t.Fatalf("paid dead order: %s in %s", names(cmds), h.m.State())
	}
}
