package payby_test

import (
	"crypto/rsa"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

// Keys are generated once per test binary: RSA-2048 generation is slow.
var (
	keysOnce              sync.Once
	merchantKey, paybyKey *rsa.PrivateKey
	otherKey              *rsa.PrivateKey
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		for _, k := range []**rsa.PrivateKey{&merchantKey, &paybyKey, &otherKey} {
			if *k, err = payby.GenerateKey(); err != nil {
				panic(err)
			}
		}
	})
}

// clock is a settable clock shared by client and sandbox.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	sb     *sandbox.Server
	srv    *httptest.Server
	client *payby.Client
	clock  *clock
}

func (e *env) base() string { return e.srv.URL + sandbox.APIPrefix }

// newEnv starts a sandbox on loopback and a client for it, both on one
// fake clock. mod may adjust the options before use.
func newEnv(t testing.TB, sbMod func(*sandbox.Options), clMod func(*payby.Options)) *env {
	t.Helper()
	keys(t)
	clk := &clock{t: time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)}
	so := sandbox.Options{Key: paybyKey, MerchantKey: &merchantKey.PublicKey, PartnerID: "200000000888", Now: clk.Now, NotifyScale: 60000}
	if sbMod != nil {
		sbMod(&so)
	}
	sb, err := sandbox.New(so)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	co := payby.Options{
		BaseURL: srv.URL + sandbox.APIPrefix, PartnerID: "200000000888",
		Key: merchantKey, PayByKey: &paybyKey.PublicKey,
		Now: clk.Now, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond, Timeout: 5 * time.Second,
	}
	if clMod != nil {
		clMod(&co)
	}
	c, err := payby.New(co)
	if err != nil {
		t.Fatal(err)
	}
	return &env{sb: sb, srv: srv, client: c, clock: clk}
}
