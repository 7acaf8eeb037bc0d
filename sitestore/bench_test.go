package sitestore

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
)

// BenchmarkScanCheck measures what a lane adds at scan and at exit when it
// asks the site store, over loopback: TicketHistory (payments, open orders
// and exit of the ticket, one round trip) and ClaimExit (one insert),
// against a store holding 2,000 paid visits at two lanes. It reports the
// median and the 99th percentile of each call in milliseconds:
//
//	go test -run '^$' -bench ScanCheck -benchtime 2000x ./sitestore
func BenchmarkScanCheck(b *testing.B) {
	ctx := context.Background()
	s, err := New(pgtest.NewDB(b), Options{Site: site})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	for _, l := range []string{"A", "B"} {
		var recs []lane.Record
		for v := range 1000 {
			tk := l + strconv.Itoa(v)
			recs = append(recs, paidVisit(int64(v+1), tk, "MALL1-"+l+"-"+tk+"-1", 1500, 0, t0.Add(time.Duration(v)*time.Minute))...)
		}
		for i := 0; i < len(recs); i += 500 {
			if err := s.ApplyBatch(ctx, l, int64(i+1), recs[i:min(i+500, len(recs))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	// A scan: the ticket's history, then the claim of its exit.
	var hist, claim, both []time.Duration
	b.ResetTimer()
	for i := range b.N {
		tk := "N" + strconv.Itoa(i)
		start := time.Now()
		if _, err := s.TicketHistory(ctx, tk); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := s.ClaimExit(ctx, tk, "A", int64(100000+i), t0); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		hist, claim, both = append(hist, mid.Sub(start)), append(claim, end.Sub(mid)), append(both, end.Sub(start))
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"history", hist}, {"claim", claim}, {"scan", both}} {
		p50, p99 := percentile(m.d, 50), percentile(m.d, 99)
		b.ReportMetric(ms(p50), m.name+"-p50-ms")
		b.ReportMetric(ms(p99), m.name+"-p99-ms")
	}
}

func percentile(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
