package main

// The site store with the real binary: a headless lane writes visits while
// PostgreSQL is stopped, replays them when it is back, is killed with
// SIGKILL in the middle of the replay, and restarted. The store must then
// hold exactly the lane's ledger: nothing lost, nothing applied twice.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/sitestore"
)

// siteRig is simtest's rig with a [site_store] on a cluster of its own.
func siteRig(t *testing.T) (*simtest.Rig, *pgtest.Cluster, *sitestore.Store) {
	t.Helper()
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url, err := c.CreateDB(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sitestore.New(url, sitestore.Options{Site: "GRG01"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	rig := simtest.New(t, "1s")
	f, err := os.OpenFile(rig.ConfigPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fmt.Fprintf(f, "[site_store]\nurl = %q\ntimeout = \"300ms\"\n", url)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	return rig, c, s
}

// count counts the log lines with msg whose fields hold want.
func (p *laneProc) count(msg string, want map[string]any) int {
	n := 0
next:
	for _, l := range p.Lines() {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) != nil || m["msg"] != msg {
			continue
		}
		for k, v := range want {
			if m[k] != v {
				continue next
			}
		}
		n++
	}
	return n
}

func TestSiteReplayKilledRealBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary against PostgreSQL")
	}
	bin := buildBinary(t)
	rig, cluster, store := siteRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := cluster.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	// The store is down: the lane serves three free exits offline.
	p := startProc(t, bin, rig.ConfigPath, "")
	for i := 1; i <= 3; i++ {
		rig.Scanner.Send(rig.Ticket(t, uint64(100+i), 5*time.Minute))
		simtest.WaitFor(t, fmt.Sprintf("exit %d open", i), 15*time.Second, func() bool {
			return p.count("event", map[string]any{"state": "open"}) >= i
		})
	}
	if n, _ := rig.Pulses(); n != 3 {
		t.Fatalf("%d pulses, want 3", n)
	}
	p.stop()
	// More visits of the outage, written to the lane's ledger as the lane
	// writes them, so that the replay takes several batches.
	dbPath := filepath.Join(rig.Dir, "lane.db")
	db, err := ledger.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if off := one(t, db, `SELECT count(*) FROM exits WHERE offline = 1`); off != 3 {
		t.Fatalf("%d exits marked offline, want the 3 served while the store was down", off)
	}
	first, err := db.NextVisit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const bulk = 600 // visits, four records each
	at := time.Now().Add(-time.Hour).UTC()
	for i := range int64(bulk) {
		v := first + i
		tk := fmt.Sprintf("GRG01-B%d", v)
		auth := fmt.Sprintf("%d-1", v)
		for _, r := range []lane.Record{
			lane.VisitRec{Visit: v, At: at, TicketID: tk, Ticket: lane.TicketInfo{Serial: tk, Format: lane.FormatSigned, Entry: at.Add(-5 * time.Minute), Signed: true},
				Quote: lane.Quote{Free: lane.FreeGrace}, Offline: true},
			lane.ExitRec{Visit: v, TicketID: tk, At: at, Cause: lane.CauseGrace, Auth: auth, Offline: true},
			lane.PulseStartRec{Auth: auth, At: at},
			lane.PulseRec{Auth: auth, At: at.Add(100 * time.Millisecond), OK: true},
		} {
			if err := db.Record(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		at = at.Add(time.Second)
	}
	total, err := db.OutboxSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	// The store is back; the lane replays; SIGKILL in the middle of it.
	if err := cluster.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p = startProc(t, bin, rig.ConfigPath, "")
	var seen int64
	simtest.WaitFor(t, "the replay to begin", 60*time.Second, func() bool {
		seen, err = store.LastSeq(ctx, "X1")
		return err == nil && seen > 0
	})
	p.Signal(syscall.SIGKILL)
	<-p.Done()
	killedAt, err := store.LastSeq(ctx, "X1")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGKILL with the store at seq %d of %d (seen %d before the kill)", killedAt, total, seen)
	if killedAt <= 0 || killedAt >= total {
		t.Fatalf("the kill was not mid-replay: store at seq %d of %d", killedAt, total)
	}
	if n := p.count("site store replay", nil); n == 0 {
		t.Errorf("the lane did not log its replay:\n%s", p.log())
	}

	// Restarted, the lane resumes from the store's last seq.
	start := time.Now()
	p = startProc(t, bin, rig.ConfigPath, "")
	simtest.WaitFor(t, "the replay to end", 2*time.Minute, func() bool {
		n, err := store.LastSeq(ctx, "X1")
		return err == nil && n == total
	})
	t.Logf("the rest of the replay (%d records) took %v", total-killedAt, time.Since(start).Round(time.Millisecond))
	simtest.WaitFor(t, "replay done in the log", 30*time.Second, func() bool { return p.count("site store replay done", nil) > 0 })
	p.stop()
	if n, _ := rig.Pulses(); n != 3 {
		t.Errorf("%d pulses, want 3: a restart never pulses", n)
	}

	db, err = ledger.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sameAsLedger(t, store, db, "X1")
	if inc, err := store.Incidents(ctx, false); err != nil || len(inc) != 0 {
		t.Errorf("incidents %+v %v", inc, err)
	}
}

func one(t *testing.T, db *ledger.DB, query string) int64 {
	t.Helper()
	var n int64
	if err := db.SQL().QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// sameAsLedger compares the store with a lane's ledger: the journal
// record by record with the outbox, and the derived tables row counts
// with the ledger's tables.
func sameAsLedger(t *testing.T, s *sitestore.Store, db *ledger.DB, laneID string) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.Outbox(ctx, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	js, err := s.Journal(ctx, laneID, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(js) {
		t.Fatalf("lane %s: %d records in the ledger, %d in the store", laneID, len(rows), len(js))
	}
	for i, o := range rows {
		_, data, err := lane.EncodeRecord(js[i].Rec)
		if err != nil {
			t.Fatal(err)
		}
		if js[i].Seq != o.Seq || js[i].Kind != o.Kind || !sameJSON(data, o.Data) {
			t.Fatalf("lane %s seq %d: store has %d %s %s, ledger %s %s", laneID, o.Seq, js[i].Seq, js[i].Kind, data, o.Kind, o.Data)
		}
	}
	for _, q := range []struct{ ledger, store string }{
		{`SELECT count(*) FROM visits`, `SELECT count(*) FROM visits WHERE lane = $1`},
		{`SELECT count(*) FROM exits`, `SELECT count(*) FROM exits WHERE lane = $1`},
		{`SELECT count(*) FROM exits WHERE state = 'completed'`, `SELECT count(*) FROM exits WHERE lane = $1 AND state = 'completed'`},
		{`SELECT count(*) FROM barrier_events`, `SELECT count(*) FROM barrier_events WHERE lane = $1`},
		{`SELECT count(*) FROM barrier_events WHERE started_at IS NOT NULL`, `SELECT count(*) FROM barrier_events WHERE lane = $1 AND started_at IS NOT NULL`},
		{`SELECT count(*) FROM orders`, `SELECT count(*) FROM orders WHERE lane = $1`},
	} {
		want := one(t, db, q.ledger)
		var got int64
		if err := s.Pool().QueryRow(ctx, q.store, laneID).Scan(&got); err != nil {
			t.Fatalf("%s: %v", q.store, err)
		}
		if got != want {
			t.Errorf("%s: %d in the store, %d in the ledger", strings.TrimPrefix(q.ledger, "SELECT count(*) FROM "), got, want)
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
