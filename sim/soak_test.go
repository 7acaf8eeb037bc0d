package sim

// The site soak: lanes of one site on one PostgreSQL, a visit a second at
// each, PostgreSQL stopped for a while in the middle. Not part of make
// test; run it with
//
//	EXITLANE_SOAK=10m go test -run TestSiteSoak -v -timeout 30m ./sim
//
// EXITLANE_SOAK_OUTAGE (default 60s, at most a third of the soak) is how
// long PostgreSQL is stopped, from the middle of the soak less half of
// it; EXITLANE_SOAK_LANES (default 4) how many lanes; EXITLANE_SOAK_LOG a
// file for the lanes' debug log (JSON lines). It reports rows
// lost, double exits of exits decided online, the incidents the replay
// found and the replay's time.

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgcluster"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sitestore"
	"github.com/exitlane/exitlane/station"
)

// soakExited is a ticket that left, for a "copied ticket" at another lane.
type soakExited struct {
	code, lane string
}

// soakStats counts one lane's visits.
type soakStats struct {
	visits, free, paid, copied  int
	exits, alreadyUsed, other   int
	copiedOut, copiedOutOffline int // copied tickets that left anyway (the store down when it was scanned or left)
	stalls                      int // the lane did not come back in time
	outageVisits                int
}

func TestSiteSoak(t *testing.T) {
	spec := os.Getenv("EXITLANE_SOAK")
	if spec == "" {
		t.Skip("EXITLANE_SOAK=10m runs the site soak")
	}
	dur, err := time.ParseDuration(spec)
	if err != nil || dur < 30*time.Second {
		t.Fatalf("EXITLANE_SOAK=%q: a duration of at least 30s", spec)
	}
	outage := min(60*time.Second, dur/3)
	if v := os.Getenv("EXITLANE_SOAK_OUTAGE"); v != "" {
		if outage, err = time.ParseDuration(v); err != nil || outage > dur/3 {
			t.Fatalf("EXITLANE_SOAK_OUTAGE=%q: at most a third of the soak", v)
		}
	}
	nLanes := 4
	if v := os.Getenv("EXITLANE_SOAK_LANES"); v != "" {
		if nLanes, err = strconv.Atoi(v); err != nil || nLanes < 2 || nLanes > MaxLanes {
			t.Fatalf("EXITLANE_SOAK_LANES=%q", v)
		}
	}
	if _, err := pgcluster.BinDir(); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	if path := os.Getenv("EXITLANE_SOAK_LOG"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		logger = slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	world, err := NewWorld(WorldOptions{Lanes: nLanes, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer world.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := world.Open(ctx, station.Options{}); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan struct{})
	go func() { defer close(runDone); world.Run(ctx) }()
	for _, l := range world.Lanes() {
		deadline := time.Now().Add(30 * time.Second)
		for s := l.Runner().Snapshot(); !(s.Ready && s.Health.Scanner == lane.DeviceOK && s.Health.Relay == lane.DeviceOK); s = l.Runner().Snapshot() {
			if time.Now().After(deadline) {
				t.Fatalf("lane %s not ready: %+v", l.ID(), s)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	store, err := sitestore.New(world.StoreURL(), sitestore.Options{Site: "SIM"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cluster := world.StoreCluster()

	var down atomic.Bool // PostgreSQL stopped (set before the stop, cleared after the start)
	var serial atomic.Uint64
	var mu sync.Mutex
	var exited []soakExited
	start := time.Now()
	end := start.Add(dur)
	stats := make([]soakStats, nLanes)
	var wg sync.WaitGroup
	for i, l := range world.Lanes() {
		wg.Go(func() { soakLane(t, world, l, &stats[i], start, end, &down, &serial, &mu, &exited) })
	}

	// PostgreSQL stops in the middle, for the outage.
	stopAt := start.Add(dur/2 - outage/2)
	time.Sleep(time.Until(stopAt))
	down.Store(true)
	sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
	if err := cluster.Stop(sctx); err != nil {
		t.Fatal(err)
	}
	scancel()
	stopped := time.Now()
	time.Sleep(time.Until(stopped.Add(outage)))
	// What each lane wrote and what the store had of it when it stopped.
	behind := map[string]int64{}
	var replayRows int64
	for _, l := range world.Lanes() {
		n, err := l.Station().Ledger().OutboxSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		behind[l.ID()] = n
		replayRows += n - l.Station().StoreHealth().Shipped
	}
	sctx, scancel = context.WithTimeout(context.Background(), time.Minute)
	if err := cluster.Start(sctx); err != nil {
		t.Fatal(err)
	}
	scancel()
	restarted := time.Now()
	down.Store(false)
	// The replay is done when every lane's records written before the
	// restart are in the store.
	var replay time.Duration
	for id, target := range behind {
		for {
			got, err := store.LastSeq(ctx, id)
			if err == nil && got >= target {
				break
			}
			if time.Since(restarted) > 5*time.Minute {
				t.Fatalf("lane %s: replay not done after 5 min: store at %d of %d (%v)", id, got, target, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	replay = time.Since(restarted)
	t.Logf("PostgreSQL stopped %v after the start for %v; %d records written meanwhile replayed in %v after its restart",
		stopped.Sub(start).Round(time.Second), restarted.Sub(stopped).Round(time.Second), replayRows, replay.Round(time.Millisecond))
	wg.Wait()

	// The lanes come to rest (a notice or an open barrier times out), ship
	// what they have, and the store is compared with each ledger.
	for _, l := range world.Lanes() {
		deadline := time.Now().Add(time.Minute)
		for s := l.Runner().Snapshot(); s.State != lane.Idle; s = l.Runner().Snapshot() {
			if time.Now().After(deadline) {
				t.Fatalf("lane %s not idle: %s", l.ID(), soakSnap(s))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, l := range world.Lanes() {
		last, err := l.Station().Ledger().OutboxSeq(ctx)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for {
			got, err := store.LastSeq(ctx, l.ID())
			if err == nil && got == last {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lane %s: store at %d (%v), ledger at %d", l.ID(), got, err, last)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	var total soakStats
	records, lost, differ := 0, 0, 0
	for i, l := range world.Lanes() {
		st := stats[i]
		t.Logf("lane %s: %d visits (%d free, %d paid, %d copied tickets), %d exits, %d already used, %d other, %d stalls; during the outage %d visits",
			l.ID(), st.visits, st.free, st.paid, st.copied, st.exits, st.alreadyUsed, st.other, st.stalls, st.outageVisits)
		total.visits += st.visits
		total.free += st.free
		total.paid += st.paid
		total.copied += st.copied
		total.exits += st.exits
		total.alreadyUsed += st.alreadyUsed
		total.copiedOut += st.copiedOut
		total.copiedOutOffline += st.copiedOutOffline
		rows, err := l.Station().Ledger().Outbox(ctx, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		js, err := store.Journal(ctx, l.ID(), 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		bySeq := map[int64]sitestore.Entry{}
		for _, e := range js {
			bySeq[e.Seq] = e
		}
		records += len(rows)
		for _, o := range rows {
			e, ok := bySeq[o.Seq]
			if !ok {
				lost++
				continue
			}
			_, data, err := lane.EncodeRecord(e.Rec)
			if err != nil || e.Kind != o.Kind || !soakSameJSON(data, o.Data) {
				differ++
			}
		}
		if len(js) != len(rows) {
			t.Errorf("lane %s: %d records in the ledger, %d in the store", l.ID(), len(rows), len(js))
		}
		for _, q := range []struct{ ledger, store string }{
			{`SELECT count(*) FROM visits`, `SELECT count(*) FROM visits WHERE lane = $1`},
			{`SELECT count(*) FROM exits`, `SELECT count(*) FROM exits WHERE lane = $1`},
			{`SELECT count(*) FROM orders`, `SELECT count(*) FROM orders WHERE lane = $1`},
			{`SELECT count(*) FROM orders WHERE status = 'paid'`, `SELECT count(*) FROM orders WHERE lane = $1 AND status = 'paid'`},
			{`SELECT count(*) FROM barrier_events`, `SELECT count(*) FROM barrier_events WHERE lane = $1`},
		} {
			var want, got int64
			if err := l.Station().Ledger().SQL().QueryRow(q.ledger).Scan(&want); err != nil {
				t.Fatal(err)
			}
			if err := store.Pool().QueryRow(ctx, q.store, l.ID()).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("lane %s: %q: store %d, ledger %d", l.ID(), q.ledger, got, want)
			}
		}
	}
	// Double exits: tickets with more than one live exit, and those whose
	// exits were all decided online (claimed in the store at the time).
	var doubles, extra, doublesOnline int
	if err := store.Pool().QueryRow(ctx, `WITH x AS (
			SELECT e.ticket_id, (j.rec->>'Offline')::boolean AS offline
			FROM exits e JOIN journal j ON j.site = e.site AND j.lane = e.lane AND j.kind = 'exit' AND j.rec->>'Auth' = e.auth
			WHERE e.site = 'SIM' AND e.state <> 'void' AND NOT e.override AND e.ticket_id <> '')
		SELECT count(*) FILTER (WHERE n > 1), COALESCE(sum(n - 1), 0), count(*) FILTER (WHERE n > 1 AND online = n)
		FROM (SELECT ticket_id, count(*) AS n, count(*) FILTER (WHERE NOT offline) AS online FROM x GROUP BY ticket_id) t`).Scan(&doubles, &extra, &doublesOnline); err != nil {
		t.Fatal(err)
	}
	inc, err := store.Incidents(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[sitestore.IncidentKind]int{}
	for _, i := range inc {
		kinds[i.Kind]++
	}
	cancel()
	<-runDone
	ctx = context.Background()
	paidAtPayBy := 0
	for _, o := range world.Sandbox().Orders() {
		if o.Status.IsPaid() {
			paidAtPayBy++
		}
	}
	var paidInStore int
	if err := store.Pool().QueryRow(ctx, `SELECT count(*) FROM orders WHERE site = 'SIM' AND status = 'paid'`).Scan(&paidInStore); err != nil {
		t.Fatal(err)
	}
	t.Logf("site: %d lanes, %v, %d visits (%.2f a second a lane): %d free, %d paid, %d copied tickets; %d exits, %d already used",
		nLanes, dur, total.visits, float64(total.visits)/dur.Seconds()/float64(nLanes), total.free, total.paid, total.copied, total.exits, total.alreadyUsed)
	t.Logf("records: %d in the ledgers, lost %d, different %d", records, lost, differ)
	t.Logf("double exits: %d tickets out more than once, %d exits too many (copied tickets out: %d, %d of them while the store was down); tickets out twice with every exit decided online: %d",
		doubles, extra, total.copiedOut, total.copiedOutOffline, doublesOnline)
	t.Logf("incidents after the replay: %d double_exit, %d double_payment", kinds[sitestore.IncidentDoubleExit], kinds[sitestore.IncidentDoublePayment])
	t.Logf("paid orders: %d at PayBy, %d in the store", paidAtPayBy, paidInStore)
	if lost != 0 || differ != 0 {
		t.Errorf("%d records lost, %d different", lost, differ)
	}
	if doublesOnline != 0 {
		t.Errorf("%d double exits decided online", doublesOnline)
	}
	if kinds[sitestore.IncidentDoubleExit] != extra || extra != total.copiedOut {
		t.Errorf("%d double_exit incidents for %d exits too many, %d copied tickets out", kinds[sitestore.IncidentDoubleExit], extra, total.copiedOut)
	}
	if paidAtPayBy != paidInStore {
		t.Errorf("paid orders: %d at PayBy, %d in the store", paidAtPayBy, paidInStore)
	}
}

// soakLane drives one lane: a visit a second until end (a free exit, a
// paid one, or a copied ticket that left at another lane), each started
// once the lane is ready for the next driver.
func soakLane(t *testing.T, w *World, l *WorldLane, st *soakStats, start, end time.Time, down *atomic.Bool,
	serial *atomic.Uint64, mu *sync.Mutex, exited *[]soakExited) {
	rnd := rand.New(rand.NewPCG(uint64(start.UnixNano()), uint64(len(l.ID())+int(l.ID()[1]))))
	r := l.Runner()
	waitFor := func(d time.Duration, f func(lane.Snapshot) bool) (lane.Snapshot, bool) {
		deadline := time.Now().Add(d)
		for {
			s := r.Snapshot()
			if f(s) {
				return s, true
			}
			if time.Now().After(deadline) {
				return s, false
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	ready := func(s lane.Snapshot) bool {
		return s.State == lane.Idle || s.State == lane.Open || s.State == lane.Notice
	}
	seen := map[string]bool{}
	db := l.Station().Ledger().SQL()
	var before int64 // the lane's last visit
	if err := db.QueryRow(`SELECT COALESCE(max(id), 0) FROM visits`).Scan(&before); err != nil {
		t.Error(err)
		return
	}
	for i := 0; ; i++ {
		next := start.Add(time.Duration(i) * time.Second)
		if !next.Before(end) {
			return
		}
		time.Sleep(time.Until(next))
		if _, ok := waitFor(30*time.Second, ready); !ok {
			st.stalls++
			t.Logf("lane %s: stalled before a visit at %v (store down %v): %s", l.ID(), time.Since(start).Round(time.Second), down.Load(), soakSnap(r.Snapshot()))
			if s := r.Snapshot(); s.State == lane.FeeDue {
				_ = r.Do(context.Background(), lane.Cancel{})
			}
			continue
		}
		wasDown := down.Load()
		if wasDown {
			st.outageVisits++
		}
		kind := rnd.IntN(10)
		var code string
		switch {
		case kind == 9:
			// A recent ticket that left at another lane, not yet seen here
			// (a code read twice within a second is one read).
			mu.Lock()
			for j := len(*exited) - 1; j >= 0 && j >= len(*exited)-20; j-- {
				if e := (*exited)[j]; e.lane != l.ID() && !seen[e.code] {
					code = e.code
					break
				}
			}
			mu.Unlock()
			if code != "" {
				st.copied++
				break
			}
			fallthrough
		case kind < 6:
			st.free++
			c, err := w.Issue(serial.Add(1), time.Now().Add(-5*time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			code, kind = c, 0
		default:
			st.paid++
			c, err := w.Issue(serial.Add(1), time.Now().Add(-2*time.Hour-time.Duration(rnd.IntN(600))*time.Second))
			if err != nil {
				t.Error(err)
				return
			}
			code = c
		}
		st.visits++
		seen[code] = true
		if err := l.Scanner().Send(code); err != nil {
			t.Error(err)
			return
		}
		// The visit's outcome. The ledger has the visit (its id, and why
		// it was refused) as soon as the ticket is checked; an accepted
		// visit goes on to a fee to pay or an open barrier.
		var id int64
		var refused string
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := db.QueryRow(`SELECT id, refused FROM visits WHERE id > ? ORDER BY id LIMIT 1`, before).Scan(&id, &refused)
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				id = 0
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if id == 0 {
			st.stalls++
			t.Logf("lane %s: scan not checked within 30 s at %v (store down %v): %s", l.ID(), time.Since(start).Round(time.Second), down.Load(), soakSnap(r.Snapshot()))
			continue
		}
		before = id
		if refused != "" {
			if refused == lane.NoticeAlreadyUsed.String() {
				st.alreadyUsed++
			} else {
				st.other++
			}
			continue
		}
		s, ok := waitFor(30*time.Second, func(s lane.Snapshot) bool {
			return s.Visit == id && (s.State == lane.Opening || s.State == lane.Open || s.State == lane.Notice ||
				(s.State == lane.FeeDue && s.TokenURL != ""))
		})
		if ok && s.State == lane.FeeDue {
			if err := l.Pay(false); err != nil {
				st.other++
				_ = r.Do(context.Background(), lane.Cancel{})
				continue
			}
			s, ok = waitFor(30*time.Second, func(s lane.Snapshot) bool {
				return s.Visit == id && (s.State == lane.Opening || s.State == lane.Open || s.State == lane.Notice)
			})
		}
		if !ok {
			st.stalls++
			t.Logf("lane %s: visit %d stalled at %v (store down %v): %s", l.ID(), id, time.Since(start).Round(time.Second), down.Load(), soakSnap(s))
			continue
		}
		switch {
		case s.State == lane.Opening || s.State == lane.Open:
			st.exits++
			if kind == 9 {
				st.copiedOut++
				if wasDown || down.Load() {
					st.copiedOutOffline++
				}
			}
			mu.Lock()
			*exited = append(*exited, soakExited{code: code, lane: l.ID()})
			mu.Unlock()
		default:
			st.other++
		}
	}
}

func soakSnap(s lane.Snapshot) string {
	return s.State.String() + " notice " + s.Notice.String() + " visit " + strconv.FormatInt(s.Visit, 10) + " order " + s.MerchantOrderNo
}

func soakSameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}
