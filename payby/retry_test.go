package payby_test

// Tests of the one call path (Client.do): which attempts the retry policy
// makes, in which order, with which bytes, and what it logs. A proxy
// between the client and the sandbox records every call and fails the
// ones a test plans, per endpoint.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

const (
	epCreate    = "/acquire2/placeOrder"
	epGet       = "/acquire2/getOrder"
	epCancel    = "/acquire2/cancelOrder"
	epRefund    = "/acquire2/refund/placeOrder"
	epGetRefund = "/acquire2/refund/getOrder"
)

// fault is what the proxy does with one call.
type fault int

const (
	through fault = iota
	refuse        // answer HTTP 503 without passing the call on: nothing happened
	lose          // pass the call on, then answer HTTP 504 without a body: it happened
)

// times is n copies of f, for a plan.
func times(n int, f fault) []fault {
	p := make([]fault, n)
	for i := range p {
		p[i] = f
	}
	return p
}

type proxied struct {
	endpoint, biz, sign string
}

type proxy struct {
	next  http.Handler
	mu    sync.Mutex
	calls []proxied
	plan  map[string][]fault // per endpoint, for its next calls in order
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(raw))
	endpoint := strings.TrimPrefix(r.URL.Path, sandbox.APIPrefix)
	var env struct {
		BizContent json.RawMessage `json:"bizContent"`
	}
	json.Unmarshal(raw, &env)
	p.mu.Lock()
	p.calls = append(p.calls, proxied{endpoint: endpoint, biz: string(env.BizContent), sign: r.Header.Get("sign")})
	f := through
	if q := p.plan[endpoint]; len(q) > 0 {
		f, p.plan[endpoint] = q[0], q[1:]
	}
	p.mu.Unlock()
	switch f {
	case refuse:
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case lose:
		p.next.ServeHTTP(httptest.NewRecorder(), r)
		w.WriteHeader(http.StatusGatewayTimeout)
	default:
		p.next.ServeHTTP(w, r)
	}
}

// fail plans faults for the next calls to endpoint.
func (p *proxy) fail(endpoint string, faults ...fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plan[endpoint] = append(p.plan[endpoint], faults...)
}

// sent returns the calls made so far, oldest first, and forgets them.
func (p *proxy) sent() []proxied {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls
	p.calls = nil
	return c
}

// endpoints lists the endpoints of calls, in order.
func endpoints(calls []proxied) string {
	var s []string
	for _, c := range calls {
		s = append(s, c.endpoint)
	}
	return strings.Join(s, " ")
}

// newProxied is newEnv with the proxy in front of the sandbox.
func newProxied(t *testing.T, clMod func(*payby.Options)) (*env, *proxy) {
	t.Helper()
	var p *proxy
	e := newEnv(t, nil, clMod)
	p = &proxy{next: e.sb, plan: map[string][]fault{}}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	o := payby.Options{
		BaseURL: srv.URL + sandbox.APIPrefix, PartnerID: "200000000888",
		Key: merchantKey, PayByKey: &paybyKey.PublicKey,
		Now: e.clock.Now, RetryBase: time.Millisecond, RetryMax: 5 * time.Millisecond, Timeout: 5 * time.Second,
	}
	if clMod != nil {
		clMod(&o)
	}
	c, err := payby.New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.client, e.srv = c, srv
	return e, p
}

// TestCreateResendsIdenticalBytes: an ambiguous create is resolved by
// re-sending, never by a query, and every attempt carries the same
// bizContent bytes (PayBy's idempotency), so there is one order.
func TestCreateResendsIdenticalBytes(t *testing.T) {
	e, p := newProxied(t, nil)
	p.fail(epCreate, refuse, lose, lose)
	no := newNo("SAME")
	c, err := e.client.CreateOrder(context.Background(), createReq(no, 1234))
	if err != nil {
		t.Fatal(err)
	}
	calls := p.sent()
	if got := endpoints(calls); got != strings.Repeat(epCreate+" ", 3)+epCreate {
		t.Fatalf("calls %s", got)
	}
	for _, call := range calls[1:] {
		if call.biz != calls[0].biz {
			t.Fatalf("bizContent changed between attempts:\n%s\n%s", calls[0].biz, call.biz)
		}
	}
	if orders := e.sb.Orders(); len(orders) != 1 || orders[0].OrderNo != c.Order.OrderNo {
		t.Fatalf("orders %+v", orders)
	}
}

// TestCancelLooksBeforeResending: after a cancel's answer is lost, a query
// that fails is followed by another query, not by a blind cancel.
func TestCancelLooksBeforeResending(t *testing.T) {
	e, p := newProxied(t, nil)
	ctx := context.Background()
	no := newNo("LOOK")
	mustCreate(t, e, no, 100)
	p.sent()
	p.fail(epCancel, lose)
	p.fail(epGet, times(4, refuse)...) // one whole GetOrder (1 + Retries attempts) fails
	o, err := e.client.CancelOrder(ctx, no)
	if err != nil || o == nil || o.Status != payby.StatusFailure {
		t.Fatalf("%+v %v", o, err)
	}
	if got, want := endpoints(p.sent()), epCancel+strings.Repeat(" "+epGet, 5); got != want {
		t.Fatalf("calls\n%s\nwant\n%s", got, want)
	}

	// A query that never answers leaves the cancel sent once, and unknown.
	no2 := newNo("LOOK")
	mustCreate(t, e, no2, 100)
	p.sent()
	p.fail(epCancel, lose)
	p.fail(epGet, times(100, refuse)...)
	_, err = e.client.CancelOrder(ctx, no2)
	if !errors.Is(err, payby.ErrAmbiguous) {
		t.Fatalf("%v", err)
	}
	if n := strings.Count(endpoints(p.sent()), epCancel); n != 1 {
		t.Fatalf("cancel sent %d times", n)
	}
}

// TestCancelResentOnlyWhenNotDone: a cancel that was refused is re-sent
// after the query finds the order still CREATED; a rate-limited cancel,
// which PayBy did not process, is re-sent without a query.
func TestCancelResentOnlyWhenNotDone(t *testing.T) {
	e, p := newProxied(t, nil)
	ctx := context.Background()
	no := newNo("RESEND")
	mustCreate(t, e, no, 100)
	p.sent()
	p.fail(epCancel, refuse)
	if o, err := e.client.CancelOrder(ctx, no); err != nil || o.Status != payby.StatusFailure {
		t.Fatalf("%+v %v", o, err)
	}
	if got, want := endpoints(p.sent()), epCancel+" "+epGet+" "+epCancel; got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}

	no2 := newNo("RESEND")
	mustCreate(t, e, no2, 100)
	p.sent()
	e.sb.SetFaults(sandbox.Faults{GatewayErrors: 1, GatewayCode: "402"})
	if o, err := e.client.CancelOrder(ctx, no2); err != nil || o.Status != payby.StatusFailure {
		t.Fatalf("%+v %v", o, err)
	}
	if got, want := endpoints(p.sent()), epCancel+" "+epCancel; got != want {
		t.Fatalf("calls %s, want %s", got, want)
	}
}

// TestRefundLooksBeforeResending: a refund whose answer was lost is found
// by GetRefund, even after a failed query, and never sent twice.
func TestRefundLooksBeforeResending(t *testing.T) {
	e, p := newProxied(t, nil)
	no := newNo("RLOOK")
	mustCreate(t, e, no, 1000)
	e.sb.Pay(no)
	p.sent()
	p.fail(epRefund, lose)
	p.fail(epGetRefund, times(4, refuse)...)
	r, err := e.client.Refund(context.Background(), payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: no, Amount: 300})
	if err != nil || r.Amount != 300 {
		t.Fatalf("%+v %v", r, err)
	}
	if got, want := endpoints(p.sent()), epRefund+strings.Repeat(" "+epGetRefund, 5); got != want {
		t.Fatalf("calls\n%s\nwant\n%s", got, want)
	}
	if info, _ := e.sb.Order(no); info.Refunded != 300 {
		t.Fatalf("refunded %v", info.Refunded)
	}
}

// TestReadsNotRetriedOnAnswers: a read is not repeated after an answer
// that does not verify or decode (only transport failures, 500/504 and 402
// are worth another try); a read's last error is never ErrAmbiguous-wrapped.
func TestReadsNotRetriedOnAnswers(t *testing.T) {
	keys(t)
	for name, tc := range map[string]struct {
		body string
		key  bool // sign with PayBy's key (else with another key)
		want error
	}{
		"bad signature": {`{"head":{"applyStatus":"SUCCESS","code":"0","msg":"SUCCESS"},"body":{}}`, false, payby.ErrBadSignature},
		"undecodable":   {`{"head":{"applyStatus":"SUCCESS","code":"0","msg":"SUCCESS"},"body":{"acquireOrder":7}}`, true, payby.ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				n++
				mu.Unlock()
				k := paybyKey
				if !tc.key {
					k = otherKey
				}
				s, _ := payby.Sign(k, []byte(tc.body))
				w.Header().Set("sign", s)
				w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, _ := payby.New(payby.Options{BaseURL: srv.URL, PartnerID: "1", Key: merchantKey, PayByKey: &paybyKey.PublicKey, RetryBase: time.Millisecond})
			_, err := c.GetOrder(context.Background(), "A-1")
			if !errors.Is(err, tc.want) || errors.Is(err, payby.ErrAmbiguous) {
				t.Fatalf("%v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if n != 1 {
				t.Fatalf("%d attempts", n)
			}
		})
	}
}

// TestContextEndsBackoff: a cancelled context ends the backoff; a write
// that may have happened is then ambiguous, a read returns its failure.
func TestContextEndsBackoff(t *testing.T) {
	e, p := newProxied(t, func(o *payby.Options) { o.RetryBase, o.RetryMax = time.Minute, time.Minute })
	p.fail(epCreate, refuse)
	p.fail(epGet, refuse)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := e.client.CreateOrder(ctx, createReq(newNo("CTX"), 100))
	if !errors.Is(err, payby.ErrAmbiguous) || !errors.Is(err, payby.ErrTransport) {
		t.Fatalf("create: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_, err = e.client.GetOrder(ctx2, "ANY-1")
	if !errors.Is(err, payby.ErrTransport) || errors.Is(err, payby.ErrAmbiguous) {
		t.Fatalf("get: %v", err)
	}
	if got := endpoints(p.sent()); got != epCreate+" "+epGet {
		t.Fatalf("calls %s", got)
	}
}

// logRecords is a slog.Handler that keeps every record.
type logRecords struct {
	mu    sync.Mutex
	recs  []slog.Record
	taken int // records before this index were returned by take
}

func (h *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecords) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecords) WithGroup(string) slog.Handler            { return h }
func (h *logRecords) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}

// take returns the records at level since the last take, as maps of their
// attributes (with "msg").
func (h *logRecords) take(level slog.Level) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range h.recs[h.taken:] {
		if r.Level != level {
			continue
		}
		m := map[string]string{"msg": r.Message}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
		out = append(out, m)
	}
	h.taken = len(h.recs)
	return out
}

// TestFailedCallsLogged: every failed attempt is a WARN with its endpoint,
// the code (PayBy's, the HTTP status, or the kind of failure) and the
// attempt number; nothing logged holds a signature or a body.
func TestFailedCallsLogged(t *testing.T) {
	logs := &logRecords{}
	e, p := newProxied(t, func(o *payby.Options) { o.Logger = slog.New(logs) })
	ctx := context.Background()

	// An outage of unsigned gateway errors: 500 on every attempt.
	e.sb.SetFaults(sandbox.Faults{GatewayErrors: sandbox.Always, GatewayCode: "500"})
	no := newNo("LOG")
	if _, err := e.client.CreateOrder(ctx, createReq(no, 100)); !errors.Is(err, payby.ErrAmbiguous) {
		t.Fatalf("%v", err)
	}
	warns := logs.take(slog.LevelWarn)
	if len(warns) != 4 {
		t.Fatalf("%d WARN records for 4 failed attempts: %v", len(warns), warns)
	}
	for i, w := range warns {
		want := map[string]string{"endpoint": epCreate, "code": "500", "attempt": string(rune('1' + i)), "op": "create order", "merchant_order_no": no}
		for k, v := range want {
			if w[k] != v {
				t.Errorf("attempt %d: %s = %q, want %q (%v)", i+1, k, w[k], v, w)
			}
		}
	}

	// HTTP 503 and a lost answer: the status is the code.
	e.sb.SetFaults(sandbox.Faults{})
	p.fail(epGet, refuse, lose)
	if _, err := e.client.GetOrder(ctx, "ANY-1"); !payby.IsNotFound(err) {
		t.Fatalf("%v", err)
	}
	warns = logs.take(slog.LevelWarn)
	var got []string
	for _, w := range warns {
		got = append(got, w["endpoint"]+" "+w["code"]+" "+w["attempt"])
	}
	if want := epGet + " http_503 1," + epGet + " http_504 2," + epGet + " 62004 3"; strings.Join(got, ",") != want {
		t.Fatalf("WARN records %q, want %q", got, want)
	}

	// A transport failure and an answer that does not verify.
	bad := newNo("LOG")
	mustCreate(t, e, bad, 100)
	e.sb.SetFaults(sandbox.Faults{BadSignatures: 1})
	if _, err := e.client.GetOrder(ctx, bad); !errors.Is(err, payby.ErrBadSignature) {
		t.Fatalf("%v", err)
	}
	if w := logs.take(slog.LevelWarn); len(w) != 1 || w[0]["code"] != "bad_signature" || w[0]["endpoint"] != epGet {
		t.Fatalf("bad signature: %v", w)
	}
	down, _ := payby.New(payby.Options{BaseURL: "http://127.0.0.1:1/sgs/api", PartnerID: "1", Key: merchantKey, PayByKey: &paybyKey.PublicKey, Retries: -1, Logger: slog.New(logs)})
	if _, err := down.GetOrder(ctx, "ANY-1"); !errors.Is(err, payby.ErrTransport) {
		t.Fatalf("%v", err)
	}
	if w := logs.take(slog.LevelWarn); len(w) != 1 || w[0]["code"] != "transport" || w[0]["attempt"] != "1" {
		t.Fatalf("transport: %v", w)
	}

	// Nothing logged in this test carries a signature, a key or a body.
	e.sb.SetFaults(sandbox.Faults{GatewayErrors: 2, GatewayCode: "504"})
	mustCreate(t, e, newNo("LOG"), 100)
	calls := p.sent()
	logs.mu.Lock()
	defer logs.mu.Unlock()
	for _, r := range logs.recs {
		r.Attrs(func(a slog.Attr) bool {
			v := a.Value.String()
			for _, c := range calls {
				if c.sign != "" && strings.Contains(v, c.sign) || c.biz != "" && strings.Contains(v, c.biz) {
					t.Errorf("record %q logs %s = %q: a signature or body", r.Message, a.Key, v)
				}
			}
			if strings.Contains(v, "PRIVATE KEY") || strings.Contains(v, "requestTime") {
				t.Errorf("record %q logs %s = %q", r.Message, a.Key, v)
			}
			return true
		})
	}
}
