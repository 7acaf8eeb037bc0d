package ledger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// paidExit records visit id: an order for ticket tk, paid and exited.
func paidExit(t testing.TB, l *DB, id int64, tk string) {
	t.Helper()
	no := fmt.Sprintf("S-L-%s-1", tk)
	visitWithOrder(t, l, id, tk, no, 500)
	auth := fmt.Sprintf("%d-1", id)
	rec(t, l, lane.ExitRec{Visit: id, TicketID: tk, At: t0.Add(time.Minute), Cause: lane.CausePaid, Amount: 500,
		No: no, Auth: auth, Paid: paid(no, 500, lane.SourcePoll)})
	rec(t, l, lane.PulseRec{Auth: auth, OK: true, At: t0.Add(time.Minute)})
}

// A backup taken while a writer keeps writing is a whole ledger that
// passes the check; restored (copied back and opened as the lane opens
// it), its history and totals are those of the moment of the copy.
func TestBackupWhileWritingAndRestore(t *testing.T) {
	l, path := open(t)
	ctx := context.Background()
	for i := int64(1); i <= 20; i++ {
		paidExit(t, l, i, fmt.Sprintf("T%d", i))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	written := make(chan int64, 1)
	go func() {
		defer wg.Done()
		i := int64(21)
		defer func() { written <- i - 1 }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			tk := fmt.Sprintf("T%d", i)
			no := "S-L-" + tk + "-1"
			if err := l.Record(ctx, lane.VisitRec{Visit: i, At: t0, TicketID: tk, Ticket: lane.TicketInfo{Serial: tk, Format: lane.FormatSigned},
				Quote: lane.Quote{Fee: 500, Due: 500}}); err != nil {
				t.Error(err)
				return
			}
			if err := l.Record(ctx, lane.OrderRec{No: no, Visit: i, TicketID: tk, Key: "S-L-" + tk, Attempt: 1, Amount: 500, At: t0, Expire: t0.Add(5 * time.Minute)}); err != nil {
				t.Error(err)
				return
			}
			i++
		}
	}()
	dir := t.TempDir()
	dst := filepath.Join(dir, "copy.db")
	// Through a second connection, as "exitlane ledger backup" does
	// while the lane runs.
	for n := 0; n < 3; n++ {
		must(t, Backup(ctx, path, dst))
	}
	close(stop)
	wg.Wait()
	if last := <-written; last <= 20 {
		t.Logf("the writer wrote nothing during the backups (last visit %d)", last)
	}

	fi, err := os.Stat(dst)
	must(t, err)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %o, want 600", fi.Mode().Perm())
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("backup directory holds %v, want only copy.db", names)
	}

	c, err := OpenReadOnly(ctx, dst)
	must(t, err)
	rep, err := c.Check(ctx)
	must(t, err)
	if !rep.OK() || len(rep.PaidNotExited) != 0 {
		t.Fatalf("check of the copy: %+v", rep)
	}
	var visits, orders int
	must(t, c.SQL().QueryRowContext(ctx, `SELECT count(*) FROM visits`).Scan(&visits))
	must(t, c.SQL().QueryRowContext(ctx, `SELECT count(*) FROM orders`).Scan(&orders))
	c.Close()
	// One read transaction: every visit in the copy has its order (the
	// writer wrote them in separate transactions, visit first), except at
	// most the last one.
	if visits < 20 || orders < visits-1 {
		t.Fatalf("copy holds %d visits and %d orders", visits, orders)
	}

	// Restore: the lane stopped, the copy put in place of the ledger.
	l.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(path + suffix)
	}
	b, err := os.ReadFile(dst)
	must(t, err)
	must(t, os.WriteFile(path, b, 0o600))
	r, err := Open(ctx, path)
	must(t, err)
	defer r.Close()
	h, err := r.Lookup(ctx, "T7", "S-L-T7")
	must(t, err)
	if !h.Exited || h.Paid != 500 {
		t.Fatalf("history of T7 after restore: %+v", h)
	}
	tot, err := r.Totals(ctx, t0.Add(-time.Hour), t0.Add(time.Hour))
	must(t, err)
	if tot.Exits != 20 || tot.Collected != money.Fils(20*500) || tot.ByCause[lane.CausePaid].Count != 20 {
		t.Fatalf("totals after restore: %+v", tot)
	}
	if tot.Visits != visits {
		t.Fatalf("totals: %d visits, the copy had %d", tot.Visits, visits)
	}
	// The orders the writer left open are reconciled at the next start.
	nos, err := r.Reconcilable(ctx, int64(visits)+1)
	must(t, err)
	if len(nos) != orders-20 {
		t.Fatalf("reconcilable after restore: %d, want %d", len(nos), orders-20)
	}
}

func TestBackupRefusesWhatIsNotALedger(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if err := Backup(ctx, filepath.Join(dir, "absent.db"), filepath.Join(dir, "b.db")); err == nil {
		t.Fatal("backup of an absent file succeeded")
	}
	junk := filepath.Join(dir, "junk.db")
	must(t, os.WriteFile(junk, []byte(strings.Repeat("not sqlite ", 100)), 0o600))
	if err := Backup(ctx, junk, filepath.Join(dir, "b.db")); err == nil {
		t.Fatal("backup of a junk file succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "b.db")); !os.IsNotExist(err) {
		t.Fatalf("a failed backup left its destination: %v", err)
	}
	if err := Verify(ctx, junk); err == nil {
		t.Fatal("Verify passed a junk file")
	}
}

// Check finds breaches of each invariant written around the schema's
// constraints, and lists paid, not exited payments without failing.
func TestCheckFindsBreaches(t *testing.T) {
	l, _ := open(t)
	ctx := context.Background()
	paidExit(t, l, 1, "T1")
	paidExit(t, l, 2, "T2")
	visitWithOrder(t, l, 3, "T3", "S-L-T3-1", 700)
	rec(t, l, lane.AbandonRec{No: "S-L-T3-1", At: t0.Add(time.Minute)})
	rec(t, l, *paid("S-L-T3-1", 700, lane.SourceCancel))
	rep, err := l.Check(ctx)
	must(t, err)
	if !rep.OK() || len(rep.PaidNotExited) != 1 || rep.PaidNotExited[0].MerchantOrderNo != "S-L-T3-1" {
		t.Fatalf("check of a sound ledger: %+v", rep)
	}

	for _, q := range []string{
		// 1: an order whose first event is not its "store"
		`UPDATE order_events SET source = 'create' WHERE merchant_order_no = 'S-L-T2-1' AND source = 'store'`,
		// 2: a paid order pointing at a void exit
		`UPDATE exits SET state = 'void' WHERE id = (SELECT exit_id FROM orders WHERE merchant_order_no = 'S-L-T1-1')`,
		// 3: a second live exit of T2, the unique index dropped
		`DROP INDEX exits_once`,
		`INSERT INTO exits (visit_id, ticket_id, at, cause, state) VALUES (2, 'T2', 0, 'grace', 'completed')`,
		// 4: a barrier event without an actor
		`INSERT INTO barrier_events (auth, at, cause, actor) VALUES ('9-9', 0, 'paid', '')`,
		// 5: refunded more than paid
		`UPDATE orders SET refunded = 900 WHERE merchant_order_no = 'S-L-T3-1'`,
	} {
		if _, err := l.SQL().ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rep, err = l.Check(ctx)
	must(t, err)
	seen := map[int]bool{}
	for _, p := range rep.Problems {
		seen[p.Invariant] = true
		t.Log(p)
	}
	for i := 1; i <= 5; i++ {
		if !seen[i] {
			t.Errorf("invariant %d: breach not found", i)
		}
	}
}
