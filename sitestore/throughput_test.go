package sitestore

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgcluster"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// TestSiteThroughput measures how much of a site's work one PostgreSQL
// does: many simulated lanes at once, each doing what a lane does for a
// paid visit with no pause between visits (a closed loop), against one
// cluster of its own (max_connections 500, shared_buffers 128MB, fsync
// and synchronous_commit on). A visit is the ticket's history at scan,
// the visit and its order shipped, the exit claimed, the exit shipped,
// the pulse shipped: one TicketHistory, one ClaimExit and three
// ApplyBatch calls, as a live lane's shipper sends them. Not part of make
// test:
//
//	EXITLANE_THROUGHPUT=4,16,64,128 go test -run TestSiteThroughput -v -timeout 30m ./sitestore
//
// EXITLANE_THROUGHPUT lists the numbers of lanes, one measurement each, of
// EXITLANE_THROUGHPUT_TIME (default 20s), on one store that grows from
// one measurement to the next.
func TestSiteThroughput(t *testing.T) {
	spec := os.Getenv("EXITLANE_THROUGHPUT")
	if spec == "" {
		t.Skip("EXITLANE_THROUGHPUT=4,16,64 measures the store with that many lanes")
	}
	var levels []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 240 {
			t.Fatalf("EXITLANE_THROUGHPUT=%q: lane counts from 1 to 240", spec)
		}
		levels = append(levels, n)
	}
	per := 20 * time.Second
	if v := os.Getenv("EXITLANE_THROUGHPUT_TIME"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		per = d
	}
	ctx := context.Background()
	c, err := pgcluster.New(ctx, pgcluster.Options{Settings: []string{"max_connections=500", "shared_buffers=128MB"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	url, err := c.CreateDB(ctx, "site")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := New(url, Options{Site: site, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	type laneState struct {
		id         string
		s          *Store
		seq, visit int64
	}
	var lanes []*laneState
	defer func() {
		for _, l := range lanes {
			l.s.Close()
		}
	}()
	t.Logf("%6s %9s %9s %9s %12s %12s %12s %8s", "lanes", "visits/s", "calls/s", "records/s", "history p50/p99", "claim p50/p99", "apply p50/p99", "errors")
	for _, n := range levels {
		for len(lanes) < n {
			id := fmt.Sprintf("L%03d", len(lanes)+1)
			s, err := New(url, Options{Site: site, MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			lanes = append(lanes, &laneState{id: id, s: s})
		}
		type result struct {
			visits, records int
			hist, claim     []time.Duration
			apply           []time.Duration
			errs            []error
		}
		results := make([]result, n)
		start := time.Now()
		end := start.Add(per)
		var wg sync.WaitGroup
		for i, l := range lanes[:n] {
			wg.Go(func() {
				r := &results[i]
				at := t0
				ship := func(recs ...lane.Record) bool {
					s0 := time.Now()
					err := l.s.ApplyBatch(ctx, l.id, l.seq+1, recs)
					r.apply = append(r.apply, time.Since(s0))
					if err != nil {
						r.errs = append(r.errs, err)
						return false
					}
					l.seq += int64(len(recs))
					r.records += len(recs)
					return true
				}
				for time.Now().Before(end) {
					l.visit++
					v := l.visit
					tk := l.id + "-" + strconv.FormatInt(v, 10)
					no := site + "-" + l.id + "-" + tk + "-1"
					at = at.Add(time.Second)
					s0 := time.Now()
					if _, err := l.s.TicketHistory(ctx, tk); err != nil {
						r.errs = append(r.errs, err)
						continue
					}
					r.hist = append(r.hist, time.Since(s0))
					fee := money.Fils(1500)
					if !ship(visitRec(v, tk, at, fee, 0), orderRec(v, tk, no, fee, at), statusRec(no, lane.OrderCreated, fee, at)) {
						continue
					}
					s0 = time.Now()
					if err := l.s.ClaimExit(ctx, tk, l.id, v, at); err != nil {
						r.errs = append(r.errs, err)
						continue
					}
					r.claim = append(r.claim, time.Since(s0))
					paid := statusRec(no, lane.OrderPaid, fee, at)
					auth := l.id + "-" + strconv.FormatInt(v, 10)
					if !ship(lane.ExitRec{Visit: v, TicketID: tk, At: at, Cause: lane.CausePaid, Amount: fee, No: no, Auth: auth, Paid: &paid}) {
						continue
					}
					if !ship(lane.PulseStartRec{Auth: auth, At: at}, lane.PulseRec{Auth: auth, At: at, OK: true}) {
						continue
					}
					r.visits++
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		var visits, records, calls int
		var hist, claim, apply []time.Duration
		var errs []error
		for _, r := range results {
			visits += r.visits
			records += r.records
			hist, claim, apply = append(hist, r.hist...), append(claim, r.claim...), append(apply, r.apply...)
			errs = append(errs, r.errs...)
		}
		calls = len(hist) + len(claim) + len(apply)
		sec := took.Seconds()
		pp := func(d []time.Duration) string {
			return fmt.Sprintf("%.1f/%.1f", ms(percentile(d, 50)), ms(percentile(d, 99)))
		}
		t.Logf("%6d %9.0f %9.0f %9.0f %15s %13s %13s %8d", n, float64(visits)/sec, float64(calls)/sec, float64(records)/sec,
			pp(hist), pp(claim), pp(apply), len(errs))
		for _, err := range errs[:min(len(errs), 3)] {
			t.Errorf("%d lanes: %v", n, err)
		}
	}
	var rows int64
	if err := admin.Pool().QueryRow(ctx, `SELECT count(*) FROM journal`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	t.Logf("the store holds %d journal rows", rows)
}
