package sitestore

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const site = "MALL1"

var dubai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Dubai")
	if err != nil {
		panic(err)
	}
	return l
}()

// t0 is in the site's zone: the store keeps instants in UTC. Its
// derived tables keep microseconds (timestamptz); the journal keeps the
// record's nanoseconds (tns).
var (
	t0  = time.Date(2026, 3, 1, 10, 0, 0, 123456000, dubai)
	tns = t0.Add(789 * time.Nanosecond)
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// newStore returns a migrated store on a fresh database.
func newStore(t *testing.T) *Store {
	t.Helper()
	s, err := New(pgtest.NewDB(t), Options{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	return s
}

// testLane ships records as a lane does: seq 1, 2, 3, ...
type testLane struct {
	t   *testing.T
	s   *Store
	id  string
	seq int64
}

func newLane(t *testing.T, s *Store, id string) *testLane { return &testLane{t: t, s: s, id: id} }

func (l *testLane) write(recs ...lane.Record) {
	l.t.Helper()
	for _, r := range recs {
		l.seq++
		if err := l.s.Apply(ctxT(l.t), l.id, l.seq, r); err != nil {
			l.t.Fatalf("lane %s seq %d: %v", l.id, l.seq, err)
		}
	}
}

func visitRec(visit int64, ticket string, at time.Time, fee, paidBefore money.Fils) lane.VisitRec {
	return lane.VisitRec{Visit: visit, At: at, TicketID: ticket,
		Ticket: lane.TicketInfo{Serial: "S-" + ticket, Format: "EL1", Site: site, Lane: "IN1", Entry: at.Add(-2 * time.Hour), Signed: true},
		Quote:  lane.Quote{Fee: fee, Paid: paidBefore, Due: fee - paidBefore, Table: "standard", Steps: []string{"2h: AED 10.00"}}}
}

func orderRec(visit int64, ticket, no string, amount money.Fils, at time.Time) lane.OrderRec {
	return lane.OrderRec{Visit: visit, TicketID: ticket, Key: no[:len(no)-2], No: no, Attempt: 1, Amount: amount, At: at, Expire: at.Add(5 * time.Minute)}
}

func statusRec(no string, st lane.OrderStatus, amount money.Fils, at time.Time) lane.StatusRec {
	s := lane.StatusRec{No: no, State: lane.OrderState{Status: st, PayByStatus: map[lane.OrderStatus]string{
		lane.OrderCreated: "CREATED", lane.OrderPaid: "PAID_SUCCESS", lane.OrderFailed: "FAILURE"}[st]}, Source: lane.SourcePoll, At: at}
	if st == lane.OrderPaid {
		s.State.Paid, s.State.PaidAt = amount, at
	}
	return s
}

// paidVisit is a whole visit paid by one order at one lane, exit included.
func paidVisit(visit int64, ticket, no string, fee, paidBefore money.Fils, at time.Time) []lane.Record {
	due := fee - paidBefore
	paid := statusRec(no, lane.OrderPaid, due, at.Add(40*time.Second))
	return []lane.Record{
		visitRec(visit, ticket, at, fee, paidBefore),
		orderRec(visit, ticket, no, due, at.Add(time.Second)),
		statusRec(no, lane.OrderCreated, due, at.Add(2*time.Second)),
		lane.ExitRec{Visit: visit, TicketID: ticket, At: at.Add(41 * time.Second), Cause: lane.CausePaid, Amount: due, No: no,
			Auth: no + "-auth", Paid: &paid},
		lane.PulseRec{Auth: no + "-auth", At: at.Add(42 * time.Second), OK: true},
	}
}

func one[T any](t *testing.T, s *Store, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := s.Pool().QueryRow(ctxT(t), sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func TestMigrationsNumbered(t *testing.T) {
	for i, m := range embedded {
		if m.version != i+1 {
			t.Fatalf("migration %s is number %d, want %d (no gaps)", m.name, m.version, i+1)
		}
	}
}

func TestMigrateRecordedAndCurrent(t *testing.T) {
	ctx := ctxT(t)
	url := pgtest.NewDB(t)
	_, err := Open(ctx, url, Options{Site: site})
	var se *SchemaError
	if !errors.Is(err, ErrSchemaNotCurrent) || !errors.As(err, &se) || se.Version != 0 || se.Known != known() {
		t.Fatalf("Open on an empty database: %v, want a SchemaError not current", err)
	}
	s, err := New(url, Options{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(ctx); !errors.Is(err, ErrSchemaNotCurrent) {
		t.Fatalf("Check before migrate: %v", err)
	}
	if _, err := s.LastSeq(ctx, "A"); !errors.Is(err, ErrSchemaNotCurrent) {
		t.Fatalf("an operation on an old schema: %v", err)
	}
	applied, err := s.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != len(embedded) || applied[0] != "001_init.sql" {
		t.Fatalf("applied %v", applied)
	}
	again, err := s.Migrate(ctx)
	if err != nil || len(again) != 0 {
		t.Fatalf("second Migrate applied %v, %v", again, err)
	}
	ms, err := s.Migrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(embedded) || ms[0].Version != 1 || ms[0].Name != "001_init.sql" || ms[0].AppliedAt.IsZero() {
		t.Fatalf("recorded %+v", ms)
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(ctx, url, Options{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

// TestMigrateStepByStep: a database at migration 1 gets only migration 2;
// a failing migration leaves nothing behind.
func TestMigrateStepByStep(t *testing.T) {
	ctx := ctxT(t)
	s, err := New(pgtest.NewDB(t), Options{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	load := func(files map[string]string) []migration {
		fsys := fstest.MapFS{}
		for name, body := range files {
			fsys["migrations/"+name] = &fstest.MapFile{Data: []byte(body)}
		}
		ms, err := loadMigrations(fsys)
		if err != nil {
			t.Fatal(err)
		}
		return ms
	}
	first := map[string]string{"001_a.sql": `CREATE TABLE a (x int)`}
	if got, err := s.migrate(ctx, load(first)); err != nil || !reflect.DeepEqual(got, []string{"001_a.sql"}) {
		t.Fatalf("first: %v %v", got, err)
	}
	two := map[string]string{"001_a.sql": `CREATE TABLE a (x int)`, "002_b.sql": `ALTER TABLE a ADD COLUMN y int`}
	if got, err := s.migrate(ctx, load(two)); err != nil || !reflect.DeepEqual(got, []string{"002_b.sql"}) {
		t.Fatalf("second: %v %v", got, err)
	}
	bad := map[string]string{"001_a.sql": "", "002_b.sql": "", "003_c.sql": `CREATE TABLE c (x int); SELECT no_such_function()`}
	if _, err := s.migrate(ctx, load(bad)); err == nil {
		t.Fatal("a failing migration succeeded")
	}
	if n := one[int](t, s, `SELECT count(*) FROM schema_migrations`); n != 2 {
		t.Fatalf("%d migrations recorded after a failure, want 2", n)
	}
	if n := one[int](t, s, `SELECT count(*) FROM pg_tables WHERE tablename = 'c'`); n != 0 {
		t.Fatal("a failed migration left its table")
	}
	if _, err := loadMigrations(fstest.MapFS{"migrations/x.sql": {}}); err == nil {
		t.Fatal("a migration without a number loaded")
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := ctxT(t)
	url := pgtest.NewDB(t)
	s, err := New(url, Options{Site: site})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (99, '099_future.sql')`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, url, Options{Site: site})
	var se *SchemaError
	if !errors.Is(err, ErrSchemaNewer) || errors.Is(err, ErrSchemaNotCurrent) || !errors.As(err, &se) || se.Version != 99 {
		t.Fatalf("Open on a newer schema: %v", err)
	}
	if _, err := s.Migrate(ctx); !errors.Is(err, ErrSchemaNewer) {
		t.Fatalf("Migrate on a newer schema: %v", err)
	}
	if err := s.Check(ctx); !errors.Is(err, ErrSchemaNewer) {
		t.Fatalf("Check: %v", err)
	}
	if err := s.Apply(ctx, "A", 1, visitRec(1, "T1", t0, 1000, 0)); !errors.Is(err, ErrSchemaNewer) {
		t.Fatalf("Apply on a newer schema: %v", err)
	}
}

func TestCheckUnreachable(t *testing.T) {
	s, err := New("postgres://exitlane@127.0.0.1:1/none?sslmode=disable&connect_timeout=2", Options{Site: site})
	if err != nil {
		t.Fatal(err) // New does not connect
	}
	defer s.Close()
	err = s.Check(ctxT(t))
	if err == nil || errors.Is(err, ErrSchemaNotCurrent) {
		t.Fatalf("Check of an unreachable store: %v", err)
	}
	if _, err := New("postgres://x", Options{}); err == nil {
		t.Fatal("a store without a site id")
	}
}

func TestEncodeDecode(t *testing.T) {
	paid := statusRec("MALL1-A-S1-1", lane.OrderPaid, 1500, tns)
	recs := []lane.Record{
		visitRec(1, "T1", tns, 1500, 0),
		lane.ExitRec{Visit: 1, TicketID: "T1", At: tns, Cause: lane.CausePaid, Amount: 1500, No: "MALL1-A-S1-1", Auth: "x", Paid: &paid},
		lane.ShiftRec{At: t0, Attendant: "amal", Start: true},
		lane.PulseStartRec{Auth: "x", At: tns},
	}
	for _, r := range recs {
		kind, data, err := Encode(r)
		if err != nil {
			t.Fatal(err)
		}
		back, err := Decode(kind, data)
		if err != nil {
			t.Fatal(err)
		}
		_, again, err := Encode(back)
		if err != nil || string(again) != string(data) {
			t.Fatalf("%s: Encode(Decode(b)) = %s, want %s (%v)", kind, again, data, err)
		}
	}
	vr := recs[0].(lane.VisitRec)
	_, d1, _ := Encode(vr)
	if k2, d2, _ := Encode(&vr); k2 != "visit" || string(d2) != string(d1) {
		t.Fatalf("a pointer to a record encodes differently: %s", d2)
	}
	_, data, _ := Encode(recs[1])
	back, _ := Decode("exit", data)
	e := back.(lane.ExitRec)
	if e.At.Location() != time.UTC || !e.At.Equal(tns) || e.Paid.At.Location() != time.UTC || e.Paid.State.Paid != 1500 {
		t.Fatalf("decoded %+v", e)
	}
	if paid.At.Location() != dubai {
		t.Fatal("Encode changed the caller's record")
	}
	if _, _, err := Encode(nil); err == nil {
		t.Fatal("nil encoded")
	}
	if _, err := Decode("nope", []byte("{}")); err == nil {
		t.Fatal("unknown kind decoded")
	}
}

func TestApplyInOrderAndIdempotent(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	v1 := visitRec(1, "T1", tns, 1000, 0)
	if err := s.Apply(ctx, "A", 1, v1); err != nil {
		t.Fatal(err)
	}
	// The same record again, with its instants in another zone: a no-op.
	v1utc := v1
	v1utc.At = v1.At.UTC()
	if err := s.Apply(ctx, "A", 1, v1utc); err != nil {
		t.Fatalf("duplicate: %v", err)
	}
	if n := one[int](t, s, `SELECT count(*) FROM visits`); n != 1 {
		t.Fatalf("%d visits after a duplicate", n)
	}
	// Another record under an applied seq: a conflict.
	var se *SeqError
	err := s.Apply(ctx, "A", 1, visitRec(1, "T2", t0, 1000, 0))
	if !errors.Is(err, ErrSeqConflict) || !errors.As(err, &se) || se.Seq != 1 || se.Lane != "A" {
		t.Fatalf("conflict: %v", err)
	}
	// A gap names the expected seq.
	err = s.Apply(ctx, "A", 3, lane.VisitEndRec{Visit: 1, At: t0, Outcome: "cancelled"})
	if !errors.Is(err, ErrSeqGap) || !errors.As(err, &se) || se.Expected != 2 || se.Seq != 3 {
		t.Fatalf("gap: %v", err)
	}
	if err := s.Apply(ctx, "A", 0, v1); err == nil {
		t.Fatal("seq 0 applied")
	}
	if err := s.Apply(ctx, "A", 2, lane.VisitEndRec{Visit: 1, At: t0.Add(time.Minute), Outcome: "cancelled"}); err != nil {
		t.Fatal(err)
	}
	// Lanes are independent.
	if err := s.Apply(ctx, "B", 1, visitRec(1, "T9", t0, 1000, 0)); err != nil {
		t.Fatal(err)
	}
	if last, err := s.LastSeq(ctx, "A"); err != nil || last != 2 {
		t.Fatalf("LastSeq(A) = %d, %v", last, err)
	}
	if last, err := s.LastSeq(ctx, "C"); err != nil || last != 0 {
		t.Fatalf("LastSeq(C) = %d, %v", last, err)
	}
	if o := one[string](t, s, `SELECT outcome FROM visits WHERE lane = 'A' AND visit = 1`); o != "cancelled" {
		t.Fatalf("outcome %q", o)
	}
	es, err := s.Journal(ctx, "A", 0, 0)
	if err != nil || len(es) != 2 || es[0].Kind != "visit" || es[1].Seq != 2 {
		t.Fatalf("journal %+v %v", es, err)
	}
	got := es[0].Rec.(lane.VisitRec)
	if !got.At.Equal(v1.At) || got.Quote.Fee != 1000 || got.Ticket.Serial != "S-T1" || !reflect.DeepEqual(got.Quote.Steps, v1.Quote.Steps) {
		t.Fatalf("journal record %+v", got)
	}
	ls, err := s.Lanes(ctx)
	if err != nil || len(ls) != 2 || ls[0].Lane != "A" || ls[0].LastSeq != 2 || ls[1].LastSeq != 1 {
		t.Fatalf("lanes %+v %v", ls, err)
	}
}

func TestApplyBatchAllOrNothing(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	recs := []lane.Record{
		visitRec(1, "T1", t0, 1000, 0),
		lane.VisitEndRec{Visit: 1, At: t0, Outcome: "cancelled"},
		lane.PulseRec{Auth: "never-authorised", At: t0, OK: true},
	}
	if err := s.ApplyBatch(ctx, "A", 1, recs); err == nil {
		t.Fatal("a batch with a bad record applied")
	}
	if last, _ := s.LastSeq(ctx, "A"); last != 0 {
		t.Fatalf("LastSeq %d after a failed batch", last)
	}
	if n := one[int](t, s, `SELECT count(*) FROM journal`); n != 0 {
		t.Fatalf("%d journal rows after a failed batch", n)
	}
	if err := s.ApplyBatch(ctx, "A", 1, recs[:2]); err != nil {
		t.Fatal(err)
	}
	// A replay overlapping what was applied: the applied part is skipped.
	if err := s.ApplyBatch(ctx, "A", 1, append(recs[:2:2], lane.ShiftRec{At: t0, Attendant: "amal", Start: true})); err != nil {
		t.Fatal(err)
	}
	if last, _ := s.LastSeq(ctx, "A"); last != 3 {
		t.Fatalf("LastSeq %d", last)
	}
}

// TestApplyDerivedTables follows one lane's records into every derived table.
func TestApplyDerivedTables(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a := newLane(t, s, "A")
	a.write(lane.ShiftRec{At: t0, Attendant: "amal", Start: true})
	a.write(paidVisit(1, "T1", "MALL1-A-S_T1-1", 1500, 0, t0)...)

	var status string
	var paid, refunded int64
	var exitID *int64
	if err := s.Pool().QueryRow(ctx, `SELECT status, paid, refunded, exit_id FROM orders WHERE merchant_order_no = 'MALL1-A-S_T1-1'`).Scan(
		&status, &paid, &refunded, &exitID); err != nil {
		t.Fatal(err)
	}
	if status != "paid" || paid != 1500 || exitID == nil {
		t.Fatalf("order: %s paid=%d exit=%v", status, paid, exitID)
	}
	if st := one[string](t, s, `SELECT state FROM exits WHERE id = $1`, *exitID); st != "completed" {
		t.Fatalf("exit state %s", st)
	}
	if st := one[string](t, s, `SELECT state FROM barrier_events WHERE auth = 'MALL1-A-S_T1-1-auth'`); st != "pulsed" {
		t.Fatalf("barrier %s", st)
	}
	if o := one[string](t, s, `SELECT outcome FROM visits WHERE visit = 1`); o != "exit_paid" {
		t.Fatalf("visit outcome %s", o)
	}
	if n := one[int](t, s, `SELECT count(*) FROM order_events WHERE merchant_order_no = 'MALL1-A-S_T1-1'`); n != 3 {
		t.Fatalf("%d order events, want new, created, paid", n)
	}
	// A status seen again adds nothing; a late "failed" never undoes a payment.
	a.write(statusRec("MALL1-A-S_T1-1", lane.OrderPaid, 1500, t0.Add(time.Minute)),
		statusRec("MALL1-A-S_T1-1", lane.OrderFailed, 0, t0.Add(2*time.Minute)))
	if st := one[string](t, s, `SELECT status FROM orders WHERE merchant_order_no = 'MALL1-A-S_T1-1'`); st != "paid" {
		t.Fatalf("status %s after a late failure", st)
	}
	// The claim came from the record (no ClaimExit): an offline exit.
	if off := one[bool](t, s, `SELECT offline FROM exit_claims WHERE ticket_id = 'T1'`); !off {
		t.Fatal("claim not marked offline")
	}

	// Refund: pending, then done (once), with its audit line.
	a.write(lane.AuditRec{At: t0.Add(time.Hour), Attendant: "amal", Action: "refund", Reason: "charged twice", Visit: 1, No: "MALL1-A-S_T1-1", Amount: 500},
		lane.RefundRec{RefundNo: "R1", No: "MALL1-A-S_T1-1", Amount: 500, At: t0.Add(time.Hour), Attendant: "amal", Reason: "charged twice", Status: "pending"},
		lane.RefundRec{RefundNo: "R1", No: "MALL1-A-S_T1-1", Amount: 500, At: t0.Add(time.Hour), Attendant: "amal", Reason: "charged twice", Status: "done"},
		lane.RefundRec{RefundNo: "R1", No: "MALL1-A-S_T1-1", Amount: 500, At: t0.Add(time.Hour), Attendant: "amal", Reason: "charged twice", Status: "done"})
	if r := one[int64](t, s, `SELECT refunded FROM orders WHERE merchant_order_no = 'MALL1-A-S_T1-1'`); r != 500 {
		t.Fatalf("refunded %d", r)
	}
	if n := one[int](t, s, `SELECT count(*) FROM audit WHERE action = 'refund'`); n != 1 {
		t.Fatalf("%d audit rows", n)
	}

	// A visit with a validation, abandoned order, and an unable-to-collect exit resolved later.
	a.write(visitRec(2, "T2", t0.Add(2*time.Hour), 2000, 0),
		lane.ValidationRec{Visit: 2, At: t0.Add(2 * time.Hour), Code: "CINEMA", Name: "Cinema", Quote: lane.Quote{Fee: 1000, Due: 1000}},
		orderRec(2, "T2", "MALL1-A-S_T2-1", 1000, t0.Add(2*time.Hour)),
		lane.AbandonRec{No: "MALL1-A-S_T2-1", At: t0.Add(2*time.Hour + time.Minute)},
		lane.ExitRec{Visit: 2, TicketID: "T2", At: t0.Add(2*time.Hour + 2*time.Minute), Cause: lane.CauseUnableToCollect, Amount: 1000,
			Attendant: "amal", Reason: "PayBy down", Auth: "A-2"},
		lane.PulseRec{Auth: "A-2", At: t0.Add(2*time.Hour + 2*time.Minute), OK: true},
		lane.OpenRec{Auth: "A-m1", At: t0.Add(3 * time.Hour), Cause: lane.CauseManual, Attendant: "amal", Reason: "barrier test"},
		lane.PulseStartRec{Auth: "A-m1", At: t0.Add(3*time.Hour + time.Second)})
	// Started, not done: the lane crashed inside the hold, were it to stop here.
	var started *time.Time
	var state string
	if err := s.Pool().QueryRow(ctx, `SELECT started_at, state FROM barrier_events WHERE auth = 'A-m1'`).Scan(&started, &state); err != nil {
		t.Fatal(err)
	}
	if started == nil || !started.Equal(t0.Add(3*time.Hour+time.Second)) || state != "authorised" {
		t.Fatalf("pulse start: started_at %v state %s", started, state)
	}
	a.write(lane.PulseRec{Auth: "A-m1", At: t0.Add(3 * time.Hour), OK: true})
	if st := one[string](t, s, `SELECT state FROM barrier_events WHERE auth = 'A-m1'`); st != "pulsed" {
		t.Fatalf("barrier %s after its pulse", st)
	}
	// A start of an authorisation the store never received is an error
	// (the lane's ledger refuses one too), and nothing of it is applied.
	if err := s.Apply(ctx, "A", a.seq+1, lane.PulseStartRec{Auth: "A-none", At: t0}); err == nil || !strings.Contains(err.Error(), "unknown authorisation") {
		t.Fatalf("a start of an unknown authorisation: %v", err)
	}
	if last, err := s.LastSeq(ctx, "A"); err != nil || last != a.seq {
		t.Fatalf("last seq %d (%v) after a refused record, want %d", last, err, a.seq)
	}
	var validation string
	var fee, due int64
	if err := s.Pool().QueryRow(ctx, `SELECT validation, fee, due FROM visits WHERE visit = 2`).Scan(&validation, &fee, &due); err != nil {
		t.Fatal(err)
	}
	if validation != "CINEMA" || fee != 1000 || due != 1000 {
		t.Fatalf("validation %s fee %d due %d", validation, fee, due)
	}
	if ab := one[bool](t, s, `SELECT abandoned_at IS NOT NULL FROM orders WHERE merchant_order_no = 'MALL1-A-S_T2-1'`); !ab {
		t.Fatal("abandon not recorded")
	}
	a.write(lane.ResolveRec{Visit: 2, At: t0.Add(4 * time.Hour), Attendant: "amal", Reason: "paid cash at the office"},
		lane.ShiftRec{At: t0.Add(8 * time.Hour), Attendant: "amal"})
	if by := one[string](t, s, `SELECT resolved_by FROM exits WHERE visit = 2`); by != "amal" {
		t.Fatalf("unable to collect resolved by %q", by)
	}
	if n := one[int](t, s, `SELECT count(*) FROM shifts WHERE ended_at IS NOT NULL`); n != 1 {
		t.Fatalf("%d closed shifts", n)
	}
	if n := one[int](t, s, `SELECT count(*) FROM journal WHERE lane = 'A'`); int64(n) != a.seq {
		t.Fatalf("%d journal rows for %d records", n, a.seq)
	}
}

func TestClaimExitIdempotentSupersedeOverrideRelease(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	if err := s.ClaimExit(ctx, "T1", "A", 1, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimExit(ctx, "T1", "A", 1, t0); err != nil {
		t.Fatalf("the same claim again: %v", err)
	}
	err := s.ClaimExit(ctx, "T1", "B", 7, t0.Add(time.Minute))
	var ee *ExitedError
	if !errors.Is(err, ErrAlreadyExited) || !errors.Is(err, lane.ErrAlreadyExited) || !errors.As(err, &ee) ||
		ee.Lane != "A" || ee.Visit != 1 || !ee.At.Equal(t0) || ee.Offline {
		t.Fatalf("claim at another lane: %v", err)
	}
	if err := s.ClaimExit(ctx, "T2", "A", 1, t0); err == nil {
		t.Fatal("one visit claimed two tickets")
	}
	// The lane's own later visit replaces its claim.
	if err := s.ClaimExit(ctx, "T1", "A", 2, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimExit(ctx, "T1", "B", 7, t0.Add(3*time.Minute)); !errors.As(err, &ee) || ee.Visit != 2 {
		t.Fatalf("after supersede: %v", err)
	}
	// An attendant override at B: needs a reason, never conflicts, is idempotent.
	if err := s.ClaimOverride(ctx, "T1", "B", 7, t0, "amal", ""); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("override without reason: %v", err)
	}
	for range 2 {
		if err := s.ClaimOverride(ctx, "T1", "B", 7, t0.Add(4*time.Minute), "amal", "ticket lost in car wash"); err != nil {
			t.Fatal(err)
		}
	}
	if n := one[int](t, s, `SELECT count(*) FROM exit_claims WHERE override AND reason <> ''`); n != 1 {
		t.Fatalf("%d override claims", n)
	}
	uc, err := s.UnconfirmedClaims(ctx, "A")
	if err != nil || len(uc) != 1 || uc[0].Visit != 2 {
		t.Fatalf("unconfirmed %+v %v", uc, err)
	}
	// Released (the pulse failed): another lane may claim.
	for range 2 {
		if err := s.ReleaseExit(ctx, "A", 2, t0.Add(5*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ClaimExit(ctx, "T1", "C", 3, t0.Add(6*time.Minute)); err != nil {
		t.Fatalf("claim after release: %v", err)
	}
	h, err := s.TicketHistory(ctx, "T1")
	if err != nil || h.Exit == nil || h.Exit.Lane != "C" || h.Exit.Confirmed {
		t.Fatalf("history exit %+v %v", h.Exit, err)
	}
}

// TestClaimExitRace: two lanes claim one ticket at the same instant, 100
// times: exactly one wins each time, and the other is told who did.
func TestClaimExitRace(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	lanes := []string{"A", "B"}
	for i := range 100 {
		ticket := "R" + strconv.Itoa(i)
		start := make(chan struct{})
		errs := make(chan error, len(lanes))
		for _, l := range lanes {
			go func() {
				<-start
				errs <- s.ClaimExit(ctx, ticket, l, int64(i+1), t0)
			}()
		}
		close(start)
		wins, lost := 0, 0
		var winner string
		for range lanes {
			err := <-errs
			var ee *ExitedError
			switch {
			case err == nil:
				wins++
			case errors.As(err, &ee):
				lost++
				winner = ee.Lane
			default:
				t.Fatalf("run %d: %v", i, err)
			}
		}
		if wins != 1 || lost != 1 {
			t.Fatalf("run %d: %d winners, %d losers", i, wins, lost)
		}
		if got := one[string](t, s, `SELECT lane FROM exit_claims WHERE ticket_id = $1 AND released_at IS NULL`, ticket); got != winner {
			t.Fatalf("run %d: the loser was told %s won, the store says %s", i, winner, got)
		}
	}
	if n := one[int](t, s, `SELECT count(*) FROM exit_claims`); n != 100 {
		t.Fatalf("%d claims for 100 tickets", n)
	}
}

func TestTicketHistoryAcrossLanes(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	// At A the driver pays, but the barrier fails: paid, not exited.
	a.write(visitRec(1, "T1", t0, 1500, 0), orderRec(1, "T1", "MALL1-A-S_T1-1", 1500, t0),
		statusRec("MALL1-A-S_T1-1", lane.OrderCreated, 0, t0.Add(time.Second)))
	paid := statusRec("MALL1-A-S_T1-1", lane.OrderPaid, 1500, t0.Add(30*time.Second))
	if err := s.ClaimExit(ctx, "T1", "A", 1, t0.Add(31*time.Second)); err != nil {
		t.Fatal(err)
	}
	a.write(lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(31 * time.Second), Cause: lane.CausePaid, Amount: 1500, No: "MALL1-A-S_T1-1", Auth: "A1", Paid: &paid},
		lane.PulseRec{Auth: "A1", At: t0.Add(32 * time.Second), OK: false, Err: "relay timeout"})
	// At B an order was left open (another driver's attempt on the same ticket).
	b.write(visitRec(1, "T1", t0.Add(time.Minute), 1500, 0), orderRec(1, "T1", "MALL1-B-S_T1-1", 1500, t0.Add(time.Minute)))
	// And another ticket paid elsewhere.
	a.write(paidVisit(2, "T2", "MALL1-A-S_T2-1", 900, 0, t0)...)

	h, err := s.TicketHistory(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	if h.Exit != nil {
		t.Fatalf("exit %+v after a failed pulse", h.Exit)
	}
	if len(h.Payments) != 1 || h.Payments[0].Lane != "A" || h.Payments[0].No != "MALL1-A-S_T1-1" || h.Payments[0].Amount != 1500 ||
		!h.Payments[0].PaidAt.Equal(t0.Add(30*time.Second)) || h.Payments[0].Used {
		t.Fatalf("payments %+v", h.Payments)
	}
	if h.Paid != 1500 || h.LastPaidOrder != "MALL1-A-S_T1-1" || !h.LastPaid.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("paid %s last %s %s", h.Paid, h.LastPaid, h.LastPaidOrder)
	}
	if len(h.Open) != 1 || h.Open[0].Lane != "B" || h.Open[0].Status != "new" || h.Open[0].Amount != 1500 {
		t.Fatalf("open %+v", h.Open)
	}
	if len(h.OpenElsewhere("A")) != 1 || len(h.OpenElsewhere("B")) != 0 {
		t.Fatal("OpenElsewhere")
	}
	us, err := s.Unresolved(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[lane.UnresolvedKind]Unresolved{}
	for _, u := range us {
		kinds[u.Kind] = u
	}
	if u := kinds[lane.UnresolvedPaidNotExited]; u.Lane != "A" || u.MerchantOrderNo != "MALL1-A-S_T1-1" || u.Amount != 1500 || u.Ticket != "S-T1" {
		t.Fatalf("paid not exited: %+v (all: %+v)", u, us)
	}
	if u := kinds[lane.UnresolvedNotFinal]; u.Lane != "B" {
		t.Fatalf("not final: %+v", u)
	}

	// B resolves its open order (cancelled), then lets the car out in exit
	// grace on A's payment: A's payment is used, and no longer unresolved.
	b.write(statusRec("MALL1-B-S_T1-1", lane.OrderFailed, 0, t0.Add(2*time.Minute)))
	if err := s.ClaimExit(ctx, "T1", "B", 2, t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	b.write(visitRec(2, "T1", t0.Add(3*time.Minute), 1500, 1500),
		lane.ExitRec{Visit: 2, TicketID: "T1", At: t0.Add(3 * time.Minute), Cause: lane.CauseExitGrace, Auth: "B2"},
		lane.PulseRec{Auth: "B2", At: t0.Add(3 * time.Minute), OK: true})
	h, err = s.TicketHistory(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	if h.Exit == nil || h.Exit.Lane != "B" || h.Exit.Visit != 2 || !h.Exit.Confirmed || h.Exit.Offline || len(h.Open) != 0 || !h.Payments[0].Used {
		t.Fatalf("after B's exit: %+v exit %+v", h, h.Exit)
	}
	us, _ = s.Unresolved(ctx)
	if len(us) != 0 {
		t.Fatalf("unresolved after B's exit: %+v", us)
	}
	if err := s.ClaimExit(ctx, "T1", "A", 3, t0.Add(4*time.Minute)); !errors.Is(err, ErrAlreadyExited) {
		t.Fatalf("exit again at A: %v", err)
	}
	if inc, _ := s.Incidents(ctx, false); len(inc) != 0 {
		t.Fatalf("incidents %+v", inc)
	}
}

// TestStatusFromAnotherLaneBeforeTheOrder: lane B honoured lane A's order
// while A's records had not arrived; when they do, the order is paid.
func TestStatusFromAnotherLaneBeforeTheOrder(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	b.write(statusRec("MALL1-A-S_T1-1", lane.OrderPaid, 1500, t0.Add(time.Minute)))
	a.write(visitRec(1, "T1", t0, 1500, 0), orderRec(1, "T1", "MALL1-A-S_T1-1", 1500, t0),
		statusRec("MALL1-A-S_T1-1", lane.OrderCreated, 0, t0.Add(time.Second)))
	h, err := s.TicketHistory(ctx, "T1")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Payments) != 1 || h.Paid != 1500 || len(h.Open) != 0 {
		t.Fatalf("history %+v", h)
	}
}

// TestReplayDoubleExit: lane B, offline, let out a ticket that had exited
// at lane A. Its replay succeeds and records the incident.
func TestReplayDoubleExit(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	if err := s.ClaimExit(ctx, "T1", "A", 1, t0.Add(41*time.Second)); err != nil {
		t.Fatal(err)
	}
	a.write(paidVisit(1, "T1", "MALL1-A-S_T1-1", 1500, 0, t0)...)
	// B decided offline, a little later (the driver of a cloned ticket, say).
	b.write(visitRec(1, "T1", t0.Add(5*time.Minute), 1500, 0),
		lane.ExitRec{Visit: 1, TicketID: "T1", At: t0.Add(5 * time.Minute), Cause: lane.CauseGrace, Amount: 1500, Auth: "B1"},
		lane.PulseRec{Auth: "B1", At: t0.Add(5 * time.Minute), OK: true})
	inc, err := s.Incidents(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 1 {
		t.Fatalf("incidents %+v", inc)
	}
	i := inc[0]
	if i.Kind != IncidentDoubleExit || i.Ticket != "T1" || i.Lane != "B" || i.Visit != 1 || !i.At.Equal(t0.Add(5*time.Minute)) || i.Amount != 1500 ||
		i.OtherLane != "A" || i.OtherVisit != 1 || !i.OtherAt.Equal(t0.Add(41*time.Second)) || i.OtherAmount != 1500 {
		t.Fatalf("incident %+v", i)
	}
	h, _ := s.TicketHistory(ctx, "T1")
	if h.Exit == nil || h.Exit.Lane != "A" {
		t.Fatalf("the ticket's exit is %+v, want A's", h.Exit)
	}
	if rel := one[string](t, s, `SELECT released FROM exit_claims WHERE lane = 'B'`); rel != "double_exit" {
		t.Fatalf("B's claim released=%q", rel)
	}
	// Both exits are counted in the takings: they happened.
	tk, err := s.Takings(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	if err != nil || tk.Site.Exits != 2 {
		t.Fatalf("takings %+v %v", tk, err)
	}
	if err := s.ResolveIncident(ctx, i.ID, t0.Add(time.Hour), "amal", ""); !errors.Is(err, ErrReasonRequired) {
		t.Fatalf("resolve without reason: %v", err)
	}
	if err := s.ResolveIncident(ctx, i.ID, t0.Add(time.Hour), "amal", "cloned ticket reported to police"); err != nil {
		t.Fatal(err)
	}
	if err := s.ResolveIncident(ctx, i.ID, t0.Add(time.Hour), "amal", "again"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("resolve twice: %v", err)
	}
	if open, _ := s.Incidents(ctx, true); len(open) != 0 {
		t.Fatalf("open incidents %+v", open)
	}

	// A lane's own second exit of a ticket (its first pulse unknown after
	// a crash, honoured again offline) replaces its claim: no incident.
	if err := s.ClaimExit(ctx, "T2", "A", 2, t0); err != nil {
		t.Fatal(err)
	}
	a.write(visitRec(2, "T2", t0, 0, 0),
		lane.ExitRec{Visit: 2, TicketID: "T2", At: t0, Cause: lane.CauseGrace, Auth: "A2"},
		visitRec(3, "T2", t0.Add(time.Minute), 0, 0),
		lane.ExitRec{Visit: 3, TicketID: "T2", At: t0.Add(time.Minute), Cause: lane.CauseGrace, Auth: "A3"},
		lane.PulseRec{Auth: "A3", At: t0.Add(time.Minute), OK: true})
	if all, _ := s.Incidents(ctx, false); len(all) != 1 {
		t.Fatalf("incidents %+v", all)
	}
	if h, _ := s.TicketHistory(ctx, "T2"); h.Exit == nil || h.Exit.Visit != 3 || !h.Exit.Offline || !h.Exit.Confirmed {
		t.Fatalf("T2's exit %+v", h.Exit)
	}
	if uc, err := s.UnconfirmedClaims(ctx, "A"); err != nil || len(uc) != 0 {
		t.Fatalf("unconfirmed %+v %v", uc, err)
	}
}

// TestReplayDoublePayment: a ticket paid at two lanes that did not see each
// other; a ticket that paid the difference at a second lane is no incident.
func TestReplayDoublePayment(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	// T1: paid at A (barrier fault, no exit), then at B offline without
	// knowing: B's 1500 is surplus.
	a.write(visitRec(1, "T1", t0, 1500, 0), orderRec(1, "T1", "MALL1-A-S_T1-1", 1500, t0),
		statusRec("MALL1-A-S_T1-1", lane.OrderPaid, 1500, t0.Add(30*time.Second)))
	b.write(paidVisit(1, "T1", "MALL1-B-S_T1-1", 1600, 0, t0.Add(10*time.Minute))...)
	// T2: paid 1500 at A and exited; came back... no: stayed past exit grace
	// and paid the difference at B, which knew: no incident.
	a.write(paidVisit(2, "T2", "MALL1-A-S_T2-1", 1500, 0, t0)...)
	b.write(visitRec(2, "T2", t0.Add(time.Hour), 2500, 1500), orderRec(2, "T2", "MALL1-B-S_T2-1", 1000, t0.Add(time.Hour)),
		statusRec("MALL1-B-S_T2-1", lane.OrderPaid, 1000, t0.Add(time.Hour+time.Minute)))

	inc, err := s.Incidents(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc) != 1 {
		t.Fatalf("incidents %+v", inc)
	}
	i := inc[0]
	if i.Kind != IncidentDoublePayment || i.Ticket != "T1" || i.Lane != "B" || i.No != "MALL1-B-S_T1-1" || i.Amount != 1600 ||
		i.OtherLane != "A" || i.OtherNo != "MALL1-A-S_T1-1" || i.OtherAmount != 1500 || i.Refund != 1500 {
		t.Fatalf("incident %+v", i)
	}
	// Refunding the proposed amount resolves it.
	b.write(lane.RefundRec{RefundNo: "R1", No: "MALL1-B-S_T1-1", Amount: 1500, At: t0.Add(2 * time.Hour), Attendant: "amal", Reason: "double payment", Status: "pending"},
		lane.RefundRec{RefundNo: "R1", No: "MALL1-B-S_T1-1", Amount: 1500, At: t0.Add(2 * time.Hour), Attendant: "amal", Reason: "double payment", Status: "done"})
	inc, _ = s.Incidents(ctx, false)
	if inc[0].ResolvedAt.IsZero() || inc[0].Resolution != "refunded R1" {
		t.Fatalf("after the refund: %+v", inc[0])
	}
}

// TestConcurrentDoublePayment: two lanes apply the payments of one ticket
// at the same time; the incident is found whichever commits first.
func TestConcurrentDoublePayment(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	for i := range 10 {
		ticket := "C" + strconv.Itoa(i)
		errs := make(chan error, 2)
		start := make(chan struct{})
		for _, l := range []string{"A", "B"} {
			no := "MALL1-" + l + "-" + ticket + "-1"
			recs := []lane.Record{visitRec(int64(i+1), ticket, t0, 1000, 0), orderRec(int64(i+1), ticket, no, 1000, t0),
				statusRec(no, lane.OrderPaid, 1000, t0.Add(time.Minute))}
			go func() {
				<-start
				errs <- s.ApplyBatch(ctx, l, int64(3*i+1), recs)
			}()
		}
		close(start)
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := one[int](t, s, `SELECT count(*) FROM incidents WHERE ticket_id = $1 AND kind = 'double_payment'`, ticket); n != 1 {
			t.Fatalf("ticket %s: %d incidents", ticket, n)
		}
	}
}

func TestReports(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	a.write(paidVisit(1, "T1", "MALL1-A-S_T1-1", 1500, 0, t0)...)
	a.write(paidVisit(2, "T2", "MALL1-A-S_T2-1", 700, 0, t0.Add(time.Hour))...)
	b.write(paidVisit(1, "T3", "MALL1-B-S_T3-1", 2500, 0, t0)...)
	b.write(visitRec(2, "T4", t0, 3000, 0),
		lane.ExitRec{Visit: 2, TicketID: "T4", At: t0.Add(time.Minute), Cause: lane.CauseUnableToCollect, Amount: 3000, Attendant: "amal", Reason: "PayBy down", Auth: "B2"},
		lane.PulseRec{Auth: "B2", At: t0.Add(time.Minute), OK: true},
		visitRec(3, "T5", t0, 0, 0),
		lane.ExitRec{Visit: 3, TicketID: "T5", At: t0.Add(time.Minute), Cause: lane.CauseGrace, Auth: "B3"},
		lane.PulseRec{Auth: "B3", At: t0.Add(time.Minute), OK: true},
		lane.VisitRec{Visit: 4, At: t0, Refused: lane.NoticeForged},
		lane.OpenRec{Auth: "B-m", At: t0, Cause: lane.CauseManual, Attendant: "amal", Reason: "ambulance"},
		lane.PulseRec{Auth: "B-m", At: t0, OK: true},
		lane.RefundRec{RefundNo: "R1", No: "MALL1-B-S_T3-1", Amount: 500, At: t0.Add(time.Hour), Attendant: "amal", Reason: "overcharged", Status: "done"})
	// Out of the range: the day after.
	a.write(paidVisit(3, "T6", "MALL1-A-S_T6-1", 999, 0, t0.Add(24*time.Hour))...)

	tk, err := s.Takings(ctx, t0.Add(-time.Hour), t0.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if ids := tk.LaneIDs(); !reflect.DeepEqual(ids, []string{"A", "B"}) {
		t.Fatalf("lanes %v", ids)
	}
	la, lb := tk.Lanes["A"], tk.Lanes["B"]
	if la.Visits != 2 || la.Exits != 2 || la.Collected != 2200 || la.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 2, Amount: 2200}) {
		t.Fatalf("lane A %+v", la)
	}
	if lb.Visits != 3 || lb.Exits != 3 || lb.Collected != 2500 || lb.Refunded != 500 || lb.Owed != 3000 || lb.Openings != 1 ||
		lb.ByCause[lane.CauseUnableToCollect] != (lane.CauseTotal{Count: 1, Amount: 3000}) || lb.ByCause[lane.CauseGrace].Count != 1 {
		t.Fatalf("lane B %+v", lb)
	}
	if tk.Site.Visits != 5 || tk.Site.Exits != 5 || tk.Site.Collected != 4700 || tk.Site.Refunded != 500 || tk.Site.Owed != 3000 ||
		tk.Site.ByCause[lane.CausePaid] != (lane.CauseTotal{Count: 3, Amount: 4700}) {
		t.Fatalf("site %+v", tk.Site)
	}
	us, err := s.Unresolved(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 1 || us[0].Kind != lane.UnresolvedUnableToCollect || us[0].Lane != "B" || us[0].Amount != 3000 || us[0].Ticket != "S-T4" {
		t.Fatalf("unresolved %+v", us)
	}
}

// The site's order listing: every lane's orders in the range, oldest
// first, with their status as replicated.
func TestOrders(t *testing.T) {
	ctx := ctxT(t)
	s := newStore(t)
	a, b := newLane(t, s, "A"), newLane(t, s, "B")
	a.write(paidVisit(1, "T1", "MALL1-A-S_T1-1", 1500, 0, t0.Add(time.Hour))...)
	b.write(paidVisit(1, "T3", "MALL1-B-S_T3-1", 2500, 0, t0)...)
	a.write(paidVisit(2, "T6", "MALL1-A-S_T6-1", 999, 0, t0.Add(24*time.Hour))...) // the day after
	os, err := s.Orders(ctx, t0.Add(-time.Hour), t0.Add(12*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(os) != 2 || os[0].MerchantOrderNo != "MALL1-B-S_T3-1" || os[0].Lane != "B" || os[0].Amount != 2500 ||
		os[1].MerchantOrderNo != "MALL1-A-S_T1-1" || os[1].Status != "paid" || os[1].Paid != 1500 {
		t.Fatalf("orders %+v", os)
	}
}
