package lane_test

// The runner over the real SQLite ledger, "killed" at a failpoint (every
// ledger write after it fails, as if the process had died there), then
// restarted on the same file: what the ledger says about the pulse, and
// how the exit that follows is booked.

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/money"
)

// tickets: "T<serial>" entered at the time set by the test; AED 10 per
// started hour after 15 minutes; exit grace 10 minutes after a payment.
type tickets struct {
	mu    sync.Mutex
	entry map[string]time.Time
}

func (k *tickets) Check(code string, now time.Time) (lane.TicketInfo, string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.entry[code]
	if !ok {
		return lane.TicketInfo{}, "", errors.New("unknown ticket")
	}
	serial := strings.TrimPrefix(code, "T")
	return lane.TicketInfo{Serial: serial, Format: lane.FormatSigned, Entry: e, Signed: true}, "S/" + serial, nil
}

func (k *tickets) Quote(t lane.TicketInfo, now time.Time, p lane.Pricing) (lane.Quote, error) {
	if t.Lost {
		return lane.Quote{Fee: 15000, Due: 15000}, nil
	}
	return k.quote(t, now, p.Paid, p.LastPaid), nil
}

func (k *tickets) quote(t lane.TicketInfo, now time.Time, paid money.Fils, lastPaid time.Time) lane.Quote {
	stay := now.Sub(t.Entry)
	var fee money.Fils
	if stay > 15*time.Minute {
		fee = money.Fils(int64((stay+time.Hour-1)/time.Hour)) * 1000
	}
	q := lane.Quote{Fee: fee, Paid: paid, Stay: stay}
	switch {
	case paid > 0 && now.Sub(lastPaid) <= 10*time.Minute:
		q.Free = lane.FreeExitGrace
	case fee == 0:
		q.Free = lane.FreeGrace
	default:
		q.Due = max(fee-paid, 0)
	}
	return q
}

func (k *tickets) Validation(string) (string, bool) { return "", false }

func (k *tickets) add(code string, entry time.Time) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.entry[code] = entry
}

func newTickets() *tickets { return &tickets{entry: map[string]time.Time{}} }

// payby: PayBy in memory.
type payby struct {
	mu     sync.Mutex
	orders map[string]*lane.OrderState
}

func (p *payby) Create(_ context.Context, o lane.OrderRequest) (lane.Created, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.orders[o.MerchantOrderNo] == nil {
		p.orders[o.MerchantOrderNo] = &lane.OrderState{Status: lane.OrderCreated, PayByStatus: "CREATED", Paid: o.Amount}
	}
	st := *p.orders[o.MerchantOrderNo]
	if st.Status != lane.OrderPaid {
		st.Paid = 0
	}
	return lane.Created{TokenURL: "https://pay.example/" + o.MerchantOrderNo, State: st}, nil
}

func (p *payby) state(no string) lane.OrderState {
	o := p.orders[no]
	if o == nil {
		return lane.OrderState{Status: lane.OrderNotFound}
	}
	st := *o
	if st.Status != lane.OrderPaid {
		st.Paid = 0
	}
	return st
}

func (p *payby) Get(_ context.Context, no string) (lane.OrderState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state(no), nil
}

func (p *payby) Cancel(_ context.Context, no string) (lane.OrderState, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if o := p.orders[no]; o != nil && o.Status == lane.OrderCreated {
		o.Status, o.PayByStatus = lane.OrderFailed, "FAILURE"
	}
	return p.state(no), nil
}

func (p *payby) Refund(context.Context, string, string, money.Fils, string) error { return nil }

// pay is the driver paying order no on the phone.
func (p *payby) pay(t *testing.T, no string) lane.OrderState {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.orders[no]
	if o == nil || o.Status != lane.OrderCreated {
		t.Fatalf("order %s cannot be paid: %+v", no, o)
	}
	o.Status, o.PayByStatus, o.PaidAt = lane.OrderPaid, "PAID_SUCCESS", time.Now()
	return *o
}

type gate struct{ n atomic.Int32 }

func (g *gate) Open(context.Context, string) error {
	time.Sleep(20 * time.Millisecond)
	g.n.Add(1)
	return nil
}

// killable is the ledger of a process that dies at a failpoint: no write
// reaches the file after it.
type killable struct {
	*ledger.DB
	dead atomic.Bool
}

func (k *killable) Record(ctx context.Context, r lane.Record) error {
	if k.dead.Load() {
		return errors.New("killed")
	}
	return k.DB.Record(ctx, r)
}

// laneRun is one run of the lane on the ledger file.
type laneRun struct {
	r    *lane.Runner
	j    *killable
	stop func()
}

func startLane(t *testing.T, path, epoch, failpoint string, tk *tickets, pay *payby, g *gate) *laneRun {
	t.Helper()
	ctx := context.Background()
	db, err := ledger.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	j := &killable{DB: db}
	rctx, cancel := context.WithCancel(ctx)
	r, err := lane.New(rctx, lane.Params{Site: "S", Lane: "X1", ExitGrace: 10 * time.Minute, Epoch: epoch},
		lane.Deps{Tickets: tk, Payments: pay, Gate: g, Journal: j, PulseTimeout: time.Second,
			Failpoint: func(name string) {
				if name == failpoint {
					j.dead.Store(true)
				}
			}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { r.Run(rctx); close(done) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("lane did not stop")
			}
			db.Close()
		})
	}
	t.Cleanup(stop)
	return &laneRun{r: r, j: j, stop: stop}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkPaidExit: the last exit is a paid exit carrying the payment's amount
// and order, and the report counts it under paid, equal to Collected.
func checkPaidExit(t *testing.T, path, no string, amount money.Fils) {
	t.Helper()
	ctx := context.Background()
	db, err := ledger.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var cause, order string
	var got int64
	if err := db.SQL().QueryRowContext(ctx, `SELECT cause, amount, COALESCE(merchant_order_no, '') FROM exits ORDER BY id DESC LIMIT 1`).Scan(&cause, &got, &order); err != nil {
		t.Fatal(err)
	}
	if cause != "paid" || money.Fils(got) != amount || order != no {
		t.Errorf("exit row: cause %s amount %d order %q, want paid %d %s", cause, got, order, amount, no)
	}
	tot, err := db.Totals(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tot.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 1, Amount: amount}) || tot.Collected != amount || tot.Exits != 1 {
		t.Errorf("totals = %+v, want one paid exit of %d = collected", tot, amount)
	}
	if u, _ := db.Unresolved(ctx); len(u) != 0 {
		t.Errorf("unresolved = %+v", u)
	}
}

// The lane dies inside the hold (after the pulse, before its outcome is
// recorded). After the restart the ledger says the pulse started and never
// completed; the driver's re-scan within exit grace opens again, recorded
// as "opened again after an interrupted pulse", booked as paid with the
// payment's amount and order.
func TestRunnerCrashInsideThePulse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lane.db")
	tk, pay, g := newTickets(), &payby{orders: map[string]*lane.OrderState{}}, &gate{}
	tk.add("T7", time.Now().Add(-2*time.Hour-5*time.Minute)) // AED 30
	a := startLane(t, path, "a", "pulsed", tk, pay, g)
	a.r.Scan("T7")
	waitFor(t, "the QR", func() bool { return a.r.Snapshot().TokenURL != "" })
	st := pay.pay(t, "S-X1-7-1")
	a.r.Notify(context.Background(), "S-X1-7-1", st)
	waitFor(t, "the pulse and the kill", func() bool { return g.n.Load() == 1 && a.j.dead.Load() })
	a.stop()

	b := startLane(t, path, "b", "", tk, pay, g)
	ev, err := b.j.BarrierEvents(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 1 || !ev[0].Interrupted() || ev[0].Started.IsZero() || !ev[0].Done.IsZero() {
		t.Fatalf("after the crash: barrier events %+v, want one started and never completed", ev)
	}
	b.r.Scan("T7")
	waitFor(t, "the second pulse", func() bool { return g.n.Load() == 2 && b.r.Snapshot().State == lane.Open })
	txs, err := b.r.Transactions(context.Background(), 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	reopened := false
	for _, x := range txs {
		reopened = reopened || (x.Kind == "exit" && x.Status == "reopened" && x.Reason == "opened again after an interrupted pulse")
	}
	if !reopened {
		t.Errorf("the re-scan is not recorded as opened again after an interrupted pulse: %+v", txs)
	}
	b.stop()
	checkPaidExit(t, path, "S-X1-7-1", 3000)
}

// The driver pays while the lane is down (it died with the QR shown);
// after the restart the reconciler finds the payment and the re-scan
// within exit grace uses it: the exit is booked as paid with the amount
// and the order, not as a free exit of 0.
func TestRunnerPaymentFoundAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lane.db")
	tk, pay, g := newTickets(), &payby{orders: map[string]*lane.OrderState{}}, &gate{}
	tk.add("T8", time.Now().Add(-50*time.Minute)) // AED 10
	a := startLane(t, path, "a", "write:status", tk, pay, g)
	a.r.Scan("T8")
	waitFor(t, "the kill", func() bool { return a.j.dead.Load() })
	a.stop()
	pay.pay(t, "S-X1-8-1")

	b := startLane(t, path, "b", "", tk, pay, g)
	waitFor(t, "the reconciled payment", func() bool {
		o, err := b.j.GetOrder(context.Background(), "S-X1-8-1")
		return err == nil && o.Status == lane.OrderPaid
	})
	b.r.Scan("T8")
	waitFor(t, "the pulse", func() bool { return g.n.Load() == 1 && b.r.Snapshot().State == lane.Open })
	if s := b.r.Snapshot(); s.Cause != lane.CausePaid {
		t.Errorf("cause %s, want paid", s.Cause)
	}
	b.stop()
	checkPaidExit(t, path, "S-X1-8-1", 1000)
}
