package payby_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/exitlane/exitlane/payby"
)

var measure = flag.Int("payby.measure", 0, "run TestMeasureCreateRoundTrip with this many orders")

// BenchmarkCreateOrder is one create-order round trip against the sandbox
// on loopback: marshal, sign, HTTP, the sandbox's verify/rules/sign,
// verify, decode.
func BenchmarkCreateOrder(b *testing.B) {
	e := newEnv(b, nil, nil)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := e.client.CreateOrder(ctx, createReq(fmt.Sprintf("BENCH-%d", i), 2500)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetOrder(b *testing.B) {
	e := newEnv(b, nil, nil)
	ctx := context.Background()
	if _, err := e.client.CreateOrder(ctx, createReq("BENCH-G", 2500)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := e.client.GetOrder(ctx, "BENCH-G"); err != nil {
			b.Fatal(err)
		}
	}
}

var benchBody = []byte(`{"requestTime":1767225600000,"bizContent":{"merchantOrderNo":"GRG01-L201-T48213-1","subject":"Parking fee","totalAmount":{"currency":"AED","amount":25.00},"paySceneCode":"DYNQR"}}`)

func BenchmarkSign(b *testing.B) {
	keys(b)
	for b.Loop() {
		payby.Sign(merchantKey, benchBody)
	}
}

func BenchmarkVerify(b *testing.B) {
	keys(b)
	sign, _ := payby.Sign(merchantKey, benchBody)
	for b.Loop() {
		if err := payby.Verify(&merchantKey.PublicKey, benchBody, sign); err != nil {
			b.Fatal(err)
		}
	}
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

// TestMeasureCreateRoundTrip prints median and p99 of create-order round
// trips on loopback and the share spent in RSA (two signs and two
// verifies per round trip: client request, sandbox response). Run with
//
//	go test ./payby -run TestMeasureCreateRoundTrip -payby.measure=2000 -v
func TestMeasureCreateRoundTrip(t *testing.T) {
	if *measure == 0 {
		t.Skip("set -payby.measure=N")
	}
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	trips := make([]time.Duration, *measure)
	for i := range trips {
		start := time.Now()
		if _, err := e.client.CreateOrder(ctx, createReq(fmt.Sprintf("M-%d", i), 2500)); err != nil {
			t.Fatal(err)
		}
		trips[i] = time.Since(start)
	}
	signs := make([]time.Duration, *measure)
	verifies := make([]time.Duration, *measure)
	sig, _ := payby.Sign(merchantKey, benchBody)
	for i := range signs {
		start := time.Now()
		payby.Sign(merchantKey, benchBody)
		signs[i] = time.Since(start)
		start = time.Now()
		payby.Verify(&merchantKey.PublicKey, benchBody, sig)
		verifies[i] = time.Since(start)
	}
	med := percentile(trips, 0.5)
	rsa := 2*percentile(signs, 0.5) + 2*percentile(verifies, 0.5)
	t.Logf("create-order round trip on loopback, %d orders: median %v, p99 %v", len(trips), med.Round(time.Microsecond), percentile(trips, 0.99).Round(time.Microsecond))
	t.Logf("RSA-2048: sign median %v, verify median %v; 2 signs + 2 verifies = %v = %.0f%% of the median round trip",
		percentile(signs, 0.5).Round(time.Microsecond), percentile(verifies, 0.5).Round(time.Microsecond), rsa.Round(time.Microsecond), 100*float64(rsa)/float64(med))
}
