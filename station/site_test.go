package station

// The lane side of the site store against a real PostgreSQL
// (internal/pgtest): lanes as journals (the real ledger wrapped by
// siteJournal) and shippers on one store. No mock of the database.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/sitestore"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const testSite = "GRG01"

// fakePay is PayBy's answer for orders made at other lanes.
type fakePay struct {
	mu     sync.Mutex
	orders map[string]lane.OrderState
	calls  []string
}

func (f *fakePay) Create(context.Context, lane.OrderRequest) (lane.Created, error) {
	return lane.Created{}, errors.New("not used")
}
func (f *fakePay) Get(_ context.Context, no string) (lane.OrderState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "get "+no)
	return f.orders[no], nil
}
func (f *fakePay) Cancel(_ context.Context, no string) (lane.OrderState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "cancel "+no)
	st := f.orders[no]
	if st.Status == lane.OrderCreated {
		st = lane.OrderState{Status: lane.OrderFailed, PayByStatus: "CANCELLED"}
		f.orders[no] = st
	}
	return st, nil
}
func (f *fakePay) Refund(context.Context, string, string, money.Fils, string) error { return nil }

// testLane is one lane: its ledger, its site journal and its shipper.
type testLane struct {
	id   string
	db   *ledger.DB
	j    *siteJournal
	ship *shipper
	stop func()
}

func newTestLane(t *testing.T, url, id string, timeout time.Duration, pay lane.Payments) *testLane {
	t.Helper()
	ctx := context.Background()
	db, err := ledger.Open(ctx, filepath.Join(t.TempDir(), id+".db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sitestore.New(url, sitestore.Options{Site: testSite})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil)).With("lane", id)
	}
	if pay == nil {
		pay = &fakePay{orders: map[string]lane.OrderState{}}
	}
	sh := newShipper(db, st, id, 1, log)
	l := &testLane{id: id, db: db, ship: sh,
		j: &siteJournal{DB: db, store: st, lane: id, timeout: timeout, pay: pay, ship: sh, log: log, auths: map[string]int64{}}}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); sh.run(rctx) }()
	l.stop = sync.OnceFunc(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("shipper did not stop")
		}
		st.Close()
		db.Close()
	})
	t.Cleanup(l.stop)
	return l
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func migrated(t *testing.T, url string) *sitestore.Store {
	t.Helper()
	s, err := sitestore.New(url, sitestore.Options{Site: testSite})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// visit records a visit of ticket and returns its history first.
func (l *testLane) scan(t *testing.T, visit int64, ticket string, at time.Time) lane.History {
	t.Helper()
	h, err := l.j.Lookup(context.Background(), ticket, "GRG01-"+l.id+"-"+ticket)
	must(t, err)
	must(t, l.j.Record(context.Background(), lane.VisitRec{Visit: visit, At: at, TicketID: ticket,
		Ticket: lane.TicketInfo{Serial: ticket, Format: lane.FormatSigned}, Quote: lane.Quote{Paid: h.Paid}, Offline: h.Offline}))
	return h
}

func (l *testLane) exit(visit int64, ticket string, at time.Time, cause lane.Cause, amount money.Fils, no string, paid *lane.StatusRec) error {
	return l.j.Record(context.Background(), lane.ExitRec{Visit: visit, TicketID: ticket, At: at, Cause: cause, Amount: amount,
		No: no, Auth: fmt.Sprintf("%s-%d", l.id, visit), Paid: paid})
}

func (l *testLane) pulse(t *testing.T, visit int64, ok bool, at time.Time) {
	t.Helper()
	auth := fmt.Sprintf("%s-%d", l.id, visit)
	must(t, l.j.Record(context.Background(), lane.PulseStartRec{Auth: auth, At: at}))
	must(t, l.j.Record(context.Background(), lane.PulseRec{Auth: auth, At: at, OK: ok}))
}

func (l *testLane) order(t *testing.T, visit int64, ticket, no string, amount money.Fils, at time.Time) {
	t.Helper()
	must(t, l.j.Record(context.Background(), lane.OrderRec{Visit: visit, TicketID: ticket, Key: "GRG01-" + l.id + "-" + ticket, No: no,
		Attempt: 1, Amount: amount, At: at, Expire: at.Add(5 * time.Minute)}))
}

func paidRec(no string, amount money.Fils, at time.Time) *lane.StatusRec {
	return &lane.StatusRec{No: no, State: lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: amount, PaidAt: at},
		Source: lane.SourcePoll, At: at}
}

// synced waits until the store holds every record of each lane's ledger,
// then compares them record by record.
func synced(t *testing.T, s *sitestore.Store, lanes ...*testLane) {
	t.Helper()
	ctx := context.Background()
	for _, l := range lanes {
		last, err := l.db.OutboxSeq(ctx)
		must(t, err)
		deadline := time.Now().Add(30 * time.Second)
		for {
			l.ship.nudge()
			got, err := s.LastSeq(ctx, l.id)
			if err == nil && got == last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lane %s: store at seq %d (%v), ledger at %d", l.id, got, err, last)
			}
			time.Sleep(20 * time.Millisecond)
		}
		rows, err := l.db.Outbox(ctx, 0, 100000)
		must(t, err)
		js, err := s.Journal(ctx, l.id, 0, 100000)
		must(t, err)
		if len(rows) != len(js) {
			t.Fatalf("lane %s: %d records in the ledger, %d in the store", l.id, len(rows), len(js))
		}
		for i, o := range rows {
			_, data, err := lane.EncodeRecord(js[i].Rec)
			must(t, err)
			if js[i].Seq != o.Seq || js[i].Kind != o.Kind || !sameJSON(data, o.Data) {
				t.Fatalf("lane %s seq %d: store has %d %s %s, ledger %s %s", l.id, o.Seq, js[i].Seq, js[i].Kind, data, o.Kind, o.Data)
			}
		}
		if h := l.ship.Health(); !h.Up || h.Behind != 0 {
			t.Errorf("lane %s health %+v, want up and 0 behind", l.id, h)
		}
	}
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

// A ticket that exited at A is "already used" at B: at scan (the claim
// is in the history) and, were B to try, at exit (the claim is refused).
// A failed pulse releases the claim.
func TestSiteExitAtAThenScanAtB(t *testing.T) {
	url := pgtest.NewDB(t)
	s := migrated(t, url)
	a := newTestLane(t, url, "A", 2*time.Second, nil)
	b := newTestLane(t, url, "B", 2*time.Second, nil)

	if h := a.scan(t, 1, "T1", t0); h.Exited || h.Offline {
		t.Fatalf("A at scan: %+v", h)
	}
	must(t, a.exit(1, "T1", t0, lane.CauseGrace, 0, "", nil))
	a.pulse(t, 1, true, t0)
	h := b.scan(t, 1, "T1", t0.Add(time.Minute))
	if !h.Exited || h.Offline || !h.ExitedAt.Equal(t0) {
		t.Fatalf("B at scan: %+v, want exited at A's time", h)
	}
	if err := b.exit(1, "T1", t0.Add(time.Minute), lane.CauseGrace, 0, "", nil); !errors.Is(err, lane.ErrAlreadyExited) {
		t.Fatalf("B's exit: %v, want already exited", err)
	}
	// A ticket whose pulse failed at A may leave at B.
	a.scan(t, 2, "T2", t0)
	must(t, a.exit(2, "T2", t0, lane.CauseGrace, 0, "", nil))
	a.pulse(t, 2, false, t0)
	if h := b.scan(t, 2, "T2", t0.Add(time.Minute)); h.Exited {
		t.Fatalf("B after A's failed pulse: %+v", h)
	}
	must(t, b.exit(2, "T2", t0.Add(time.Minute), lane.CauseGrace, 0, "", nil))
	synced(t, s, a, b)
	if inc, err := s.Incidents(context.Background(), false); err != nil || len(inc) != 0 {
		t.Errorf("incidents %v %v", inc, err)
	}
	// The pulse starts were shipped: A's two pulses started and ended,
	// B's exit is authorised and not started.
	rows, err := s.Pool().Query(context.Background(), `SELECT auth, started_at IS NOT NULL, state FROM barrier_events
		WHERE site = $1 ORDER BY auth`, testSite)
	must(t, err)
	type ev struct {
		auth    string
		started bool
		state   string
	}
	var got []ev
	for rows.Next() {
		var e ev
		must(t, rows.Scan(&e.auth, &e.started, &e.state))
		got = append(got, e)
	}
	must(t, rows.Err())
	if want := []ev{{"A-1", true, "pulsed"}, {"A-2", true, "failed"}, {"B-2", false, "authorised"}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("barrier events in the store %v, want %v", got, want)
	}
}

// Both lanes claim one ticket at once, 100 times: exactly one exit each
// time, the other lane refused with ErrAlreadyExited; three lanes too.
func TestSiteRaceExactlyOneExit(t *testing.T) {
	url := pgtest.NewDB(t)
	s := migrated(t, url)
	lanes := []*testLane{newTestLane(t, url, "A", 5*time.Second, nil), newTestLane(t, url, "B", 5*time.Second, nil),
		newTestLane(t, url, "C", 5*time.Second, nil)}
	for run := 1; run <= 100; run++ {
		ticket := fmt.Sprintf("R%d", run)
		n := 2 + run%2 // two lanes, or three
		for _, l := range lanes[:n] {
			l.scan(t, int64(run), ticket, t0)
		}
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i, l := range lanes[:n] {
			wg.Go(func() { errs[i] = l.exit(int64(run), ticket, t0, lane.CauseGrace, 0, "", nil) })
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
				lanes[i].pulse(t, int64(run), true, t0)
			case !errors.Is(err, lane.ErrAlreadyExited):
				t.Fatalf("run %d lane %s: %v", run, lanes[i].id, err)
			}
		}
		if won != 1 {
			t.Fatalf("run %d: %d exits, want 1 (%v)", run, won, errs)
		}
	}
	synced(t, s, lanes...)
	var exits int
	must(t, s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM exits WHERE site = $1`, testSite).Scan(&exits))
	if exits != 100 {
		t.Errorf("%d exits in the store, want 100", exits)
	}
	if inc, err := s.Incidents(context.Background(), false); err != nil || len(inc) != 0 {
		t.Errorf("incidents %v %v", inc, err)
	}
}

// Paid at A: B's history counts it (exit grace then opens without an
// order; later only the difference is asked), and an order still open at
// A is resolved at PayBy before B makes one: cancelled if CREATED,
// counted if paid.
func TestSitePaymentsAndOpenOrdersCountAtEveryLane(t *testing.T) {
	url := pgtest.NewDB(t)
	s := migrated(t, url)
	pay := &fakePay{orders: map[string]lane.OrderState{}}
	a := newTestLane(t, url, "A", 2*time.Second, nil)
	b := newTestLane(t, url, "B", 2*time.Second, pay)
	ctx := context.Background()

	// Paid at A, the exit there failed (barrier fault): B counts it.
	a.scan(t, 1, "T1", t0)
	a.order(t, 1, "T1", "GRG01-A-T1-1", 1500, t0)
	must(t, a.exit(1, "T1", t0.Add(time.Minute), lane.CausePaid, 1500, "GRG01-A-T1-1", paidRec("GRG01-A-T1-1", 1500, t0.Add(time.Minute))))
	a.pulse(t, 1, false, t0.Add(time.Minute))
	synced(t, s, a)
	h := b.scan(t, 1, "T1", t0.Add(3*time.Minute))
	if h.Exited || h.Paid != 1500 || !h.LastPaid.Equal(t0.Add(time.Minute)) || h.LastPaidOrder != "" || h.Offline {
		t.Fatalf("B's history: %+v, want A's 15.00 paid at its time", h)
	}
	must(t, b.exit(1, "T1", t0.Add(3*time.Minute), lane.CauseExitGrace, 0, "", nil))
	b.pulse(t, 1, true, t0.Add(3*time.Minute))
	synced(t, s, a, b)
	u, err := s.Unresolved(ctx)
	must(t, err)
	if len(u) != 0 {
		t.Errorf("unresolved after B's exit: %+v (A's payment is used by B's exit)", u)
	}

	// An order CREATED at A (the driver walked to B): B cancels it first.
	a.scan(t, 2, "T2", t0)
	a.order(t, 2, "T2", "GRG01-A-T2-1", 2000, t0)
	must(t, a.j.Record(ctx, lane.StatusRec{No: "GRG01-A-T2-1", State: lane.OrderState{Status: lane.OrderCreated, PayByStatus: "CREATED"}, Source: lane.SourceCreate, At: t0}))
	pay.orders["GRG01-A-T2-1"] = lane.OrderState{Status: lane.OrderCreated, PayByStatus: "CREATED"}
	// Paid at A after all, before B looked.
	a.scan(t, 3, "T3", t0)
	a.order(t, 3, "T3", "GRG01-A-T3-1", 2500, t0)
	pay.orders["GRG01-A-T3-1"] = lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: 2500, PaidAt: t0.Add(time.Minute)}
	synced(t, s, a)
	if h := b.scan(t, 2, "T2", t0.Add(2*time.Minute)); h.Paid != 0 || h.Offline {
		t.Errorf("T2 at B: %+v, want nothing paid", h)
	}
	if st := pay.orders["GRG01-A-T2-1"]; st.Status != lane.OrderFailed {
		t.Errorf("A's CREATED order after B's scan: %+v, want cancelled", st)
	}
	if h := b.scan(t, 3, "T3", t0.Add(2*time.Minute)); h.Paid != 2500 || !h.LastPaid.Equal(t0.Add(time.Minute)) {
		t.Errorf("T3 at B: %+v, want A's paid order counted", h)
	}
	pay.mu.Lock()
	calls := append([]string(nil), pay.calls...)
	pay.mu.Unlock()
	sort.Strings(calls)
	if fmt.Sprint(calls) != "[cancel GRG01-A-T2-1 get GRG01-A-T2-1 get GRG01-A-T3-1]" {
		t.Errorf("PayBy calls %v", calls)
	}
}

// The store stops mid-visit: the lane keeps serving within its timeout,
// marks its decisions offline, and replays everything when the store is
// back; a ticket that left at two lanes meanwhile is an incident.
func TestSiteStoreDownAndBack(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url, err := c.CreateDB(ctx, "site")
	must(t, err)
	s := migrated(t, url)
	a := newTestLane(t, url, "A", 300*time.Millisecond, nil)
	b := newTestLane(t, url, "B", 300*time.Millisecond, nil)

	a.scan(t, 1, "T1", t0)
	synced(t, s, a)
	must(t, c.Stop(ctx))
	// Mid-visit: the order and its payment, the exit, all offline.
	a.order(t, 1, "T1", "GRG01-A-T1-1", 1000, t0)
	start := time.Now()
	must(t, a.exit(1, "T1", t0.Add(time.Minute), lane.CausePaid, 1000, "GRG01-A-T1-1", paidRec("GRG01-A-T1-1", 1000, t0.Add(time.Minute))))
	a.pulse(t, 1, true, t0.Add(time.Minute))
	// The same ticket at B (a copied ticket), offline too.
	h := b.scan(t, 1, "T1", t0.Add(2*time.Minute))
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("offline exit and scan took %v", took)
	}
	if !h.Offline || h.Exited {
		t.Fatalf("B offline: %+v", h)
	}
	must(t, b.exit(1, "T1", t0.Add(2*time.Minute), lane.CauseGrace, 0, "", nil))
	b.pulse(t, 1, true, t0.Add(2*time.Minute))
	for i := int64(2); i <= 400; i++ { // enough for a replay in batches
		a.scan(t, i, fmt.Sprintf("V%d", i), t0.Add(time.Duration(i)*time.Second))
	}
	simtest := func() bool { return !a.ship.Health().Up && !b.ship.Health().Up }
	deadline := time.Now().Add(20 * time.Second)
	for !simtest() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if h := a.ship.Health(); h.Up || h.LastErr == "" {
		t.Errorf("A's store health while down: %+v", h)
	}
	var offline int
	must(t, a.db.SQL().QueryRow(`SELECT count(*) FROM exits WHERE offline = 1`).Scan(&offline))
	if offline != 1 {
		t.Errorf("%d offline exits at A, want 1", offline)
	}

	must(t, c.Start(ctx))
	synced(t, s, a, b)
	inc, err := s.Incidents(ctx, true)
	must(t, err)
	if len(inc) != 1 || inc[0].Kind != sitestore.IncidentDoubleExit {
		t.Fatalf("incidents after the replay: %+v, want one double exit", inc)
	}
}

// TestSiteScanLatency measures what the store adds at scan (siteJournal's
// Lookup less the ledger's own) and at exit (the claim), on loopback:
// go test -v -run TestSiteScanLatency ./station
func TestSiteScanLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("measurement")
	}
	url := pgtest.NewDB(t)
	migrated(t, url)
	a := newTestLane(t, url, "A", 5*time.Second, nil)
	b := newTestLane(t, url, "B", 5*time.Second, nil)
	ctx := context.Background()
	const n = 300
	for i := int64(1); i <= n; i++ { // history at the other lane
		tk := fmt.Sprintf("P%d", i)
		a.scan(t, i, tk, t0)
		a.order(t, i, tk, "GRG01-A-"+tk+"-1", 1000, t0)
		must(t, a.exit(i, tk, t0, lane.CausePaid, 1000, "GRG01-A-"+tk+"-1", paidRec("GRG01-A-"+tk+"-1", 1000, t0)))
	}
	var scan, claim []time.Duration
	for i := int64(1); i <= n; i++ {
		tk := fmt.Sprintf("N%d", i)
		s0 := time.Now()
		_, err := b.db.Lookup(ctx, tk, "k")
		must(t, err)
		local := time.Since(s0)
		s1 := time.Now()
		h, err := b.j.Lookup(ctx, tk, "k")
		must(t, err)
		if h.Offline {
			t.Fatal("offline")
		}
		scan = append(scan, max(time.Since(s1)-local, 0))
		s2 := time.Now()
		must(t, b.j.store.ClaimExit(ctx, tk, "B", i, t0))
		claim = append(claim, time.Since(s2))
	}
	pct := func(d []time.Duration, p int) time.Duration {
		d = append([]time.Duration(nil), d...)
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[(len(d)-1)*p/100]
	}
	t.Logf("added at scan (TicketHistory): median %v p99 %v; claim at exit: median %v p99 %v (%d scans)",
		pct(scan, 50), pct(scan, 99), pct(claim, 50), pct(claim, 99), n)
}
