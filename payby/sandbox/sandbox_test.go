package sandbox_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

var (
	keysOnce         sync.Once
	merchant, server *rsa.PrivateKey
)

func keys(t testing.TB) {
	keysOnce.Do(func() {
		var err error
		if merchant, err = payby.GenerateKey(); err != nil {
			panic(err)
		}
		if server, err = payby.GenerateKey(); err != nil {
			panic(err)
		}
	})
}

func start(t *testing.T, mod func(*sandbox.Options)) (*sandbox.Server, *httptest.Server) {
	t.Helper()
	keys(t)
	o := sandbox.Options{Key: server, MerchantKey: &merchant.PublicKey, MerchantName: "Sandbox Parking"}
	if mod != nil {
		mod(&o)
	}
	sb, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb)
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return sb, srv
}

type reply struct {
	Head struct{ ApplyStatus, Code, Msg, TraceCode string }
	Body map[string]any
	raw  []byte
	sign string
}

// post sends body as a hand-written client following PayBy's docs would:
// lower-case partner-id as the Java SDK does, sign over the exact bytes.
func post(t *testing.T, srv *httptest.Server, path, body string, signWith *rsa.PrivateKey) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", srv.URL+"/sgs/api"+path, strings.NewReader(body))
	req.Header.Set("content-type", "application/json; charset=utf-8")
	req.Header.Set("partner-id", "200000000888")
	req.Header.Set("Content-Language", "en")
	if signWith != nil {
		s, _ := payby.Sign(signWith, []byte(body))
		req.Header.Set("sign", s)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%d %s: %v", res.StatusCode, raw, err)
	}
	r.raw, r.sign = raw, res.Header.Get("sign")
	if r.sign != "" {
		if err := payby.Verify(&server.PublicKey, raw, r.sign); err != nil {
			t.Fatalf("response signature: %v", err)
		}
	}
	return r
}

func nowMS() int64 { return time.Now().UnixMilli() }

// TestDocumentedRequest sends the worked example of
// docs/payby-reference.md §14 as raw JSON, as a client written from
// PayBy's documentation would.
func TestDocumentedRequest(t *testing.T) {
	_, srv := start(t, nil)
	rt := nowMS()
	body := fmt.Sprintf(`{
  "requestTime": %d,
  "bizContent": {
    "merchantOrderNo": "GRG01-L201-T48213-1",
    "subject": "Parking fee",
    "totalAmount": { "currency": "AED", "amount": 25.00 },
    "expiredTime": %d,
    "paySceneCode": "DYNQR",
    "paySceneParams": { "changePayer": "true", "oneTimePayment": "false" },
    "notifyUrl": "https://parking-backend.example.com/payby/notify",
    "reserved": "ticket 48213",
    "accessoryContent": {
      "amountDetail": {
        "amount":    { "currency": "AED", "amount": 23.81 },
        "vatAmount": { "currency": "AED", "amount": 1.19 }
      },
      "goodsDetail": { "goodsId": "PARKING-HOURLY", "goodsName": "Parking 2h15m", "price": { "currency": "AED", "amount": 25.00 }, "quantity": 1 },
      "terminalDetail": { "operatorId": "UNATTENDED", "storeId": "GRG01", "terminalId": "EXIT-L2-01", "merchantName": "Example Parking LLC", "storeName": "Example Mall Garage" }
    }
  }
}`, rt, rt+600000)
	r := post(t, srv, "/acquire2/placeOrder", body, merchant)
	if r.sign == "" || r.Head.ApplyStatus != "SUCCESS" || r.Head.Code != "0" {
		t.Fatalf("%s", r.raw)
	}
	if !bytes.Contains(r.raw, []byte(`"interActionParams":{"tokenUrl":"`+srv.URL+`/pay-page/main?BIZ_TYPE=202&ft=`)) {
		t.Fatalf("tokenUrl: %s", r.raw)
	}
	if !bytes.Contains(r.raw, []byte(`"totalAmount":{"currency":"AED","amount":25.00}`)) || !bytes.Contains(r.raw, []byte(`"revoked":"false"`)) {
		t.Fatalf("order: %s", r.raw)
	}
	orderNo := r.Body["acquireOrder"].(map[string]any)["orderNo"].(string)
	// Query by PayBy's order number.
	g := post(t, srv, "/acquire2/getOrder", fmt.Sprintf(`{"requestTime":%d,"bizContent":{"orderNo":%q}}`, nowMS(), orderNo), merchant)
	if g.Head.Code != "0" || g.Body["acquireOrder"].(map[string]any)["merchantOrderNo"] != "GRG01-L201-T48213-1" {
		t.Fatalf("%s", g.raw)
	}
	// The PHP SDK's amount as a string, booleans in paySceneParams.
	s := post(t, srv, "/acquire2/placeOrder", fmt.Sprintf(`{"requestTime":%d,"bizContent":{"merchantOrderNo":"PHP-1","subject":"Parking","totalAmount":{"currency":"AED","amount":"0.3"},"paySceneCode":"DYNQR","paySceneParams":{"oneTimePayment":false}}}`, nowMS()), merchant)
	if s.Head.Code != "0" {
		t.Fatalf("%s", s.raw)
	}
}

func TestRequestRules(t *testing.T) {
	_, srv := start(t, nil)
	place := func(biz string) string {
		return fmt.Sprintf(`{"requestTime":%d,"bizContent":%s}`, nowMS(), biz)
	}
	ok := `{"merchantOrderNo":"R-1","subject":"Parking fee","totalAmount":{"currency":"AED","amount":1.00},"paySceneCode":"DYNQR"}`
	for _, tc := range []struct {
		name, path, body string
		signer           *rsa.PrivateKey
		status, code     string
		unsigned         bool
	}{
		{"no signature", "/acquire2/placeOrder", place(ok), nil, "ERROR", "58001", true},
		{"foreign key", "/acquire2/placeOrder", place(ok), server, "ERROR", "58001", true},
		{"requestTime as text", "/acquire2/placeOrder", `{"requestTime":"2026-01-01T00:00:00Z","bizContent":` + ok + `}`, merchant, "FAIL", "400", false},
		{"too early", "/acquire2/placeOrder", fmt.Sprintf(`{"requestTime":%d,"bizContent":%s}`, nowMS()-16*60000, ok), merchant, "FAIL", "400", false},
		{"scene", "/acquire2/placeOrder", place(strings.Replace(ok, "DYNQR", "QRCODE", 1)), merchant, "FAIL", "62012", false},
		{"one time", "/acquire2/placeOrder", place(strings.Replace(ok, `"DYNQR"`, `"DYNQR","paySceneParams":{"oneTimePayment":"yes"}`, 1)), merchant, "FAIL", "62073", false},
		{"subject 13", "/acquire2/placeOrder", place(strings.Replace(ok, "Parking fee", "Parking fee 2", 1)), merchant, "FAIL", "400", false},
		{"third decimal", "/acquire2/placeOrder", place(strings.Replace(ok, "1.00", "1.001", 1)), merchant, "FAIL", "400", false},
		{"currency", "/acquire2/placeOrder", place(strings.Replace(ok, "AED", "USD", 1)), merchant, "FAIL", "400", false},
		{"bad number", "/acquire2/placeOrder", place(strings.Replace(ok, "R-1", "R 1", 1)), merchant, "FAIL", "400", false},
		{"both numbers", "/acquire2/getOrder", place(`{"merchantOrderNo":"A","orderNo":"1"}`), merchant, "FAIL", "400", false},
		{"unknown orderNo", "/acquire2/getOrder", place(`{"orderNo":"1"}`), merchant, "FAIL", "62035", false},
		{"no biz", "/acquire2/getOrder", fmt.Sprintf(`{"requestTime":%d}`, nowMS()), merchant, "FAIL", "400", false},
		{"unknown path", "/acquire2/nothing", place(`{}`), merchant, "FAIL", "404", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, srv, tc.path, tc.body, tc.signer)
			if r.Head.ApplyStatus != tc.status || r.Head.Code != tc.code || (r.sign == "") != tc.unsigned {
				t.Fatalf("got %+v signed=%v", r.Head, r.sign != "")
			}
		})
	}
	res, _ := http.Get(srv.URL + "/sgs/api/acquire2/getOrder")
	if res.StatusCode != 405 {
		t.Fatalf("GET: %d", res.StatusCode)
	}
}

func client(t *testing.T, srv *httptest.Server) *payby.Client {
	c, err := payby.New(payby.Options{BaseURL: srv.URL + sandbox.APIPrefix, PartnerID: "200000000888", Key: merchant, PayByKey: &server.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestPersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "orders.json")
	sb, srv := start(t, func(o *sandbox.Options) { o.DataFile = file })
	ctx := context.Background()
	c, err := client(t, srv).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "P-1", Amount: 1500, Subject: "Parking fee"})
	if err != nil {
		t.Fatal(err)
	}
	client(t, srv).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "P-2", Amount: 100, Subject: "Parking fee"})
	sb.Pay("P-1")
	srv.Close()
	sb.Close()
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("data file: %v %v", fi, err)
	}

	sb2, srv2 := start(t, func(o *sandbox.Options) { o.DataFile = file })
	o, err := client(t, srv2).GetOrder(ctx, "P-1")
	if err != nil || !o.Paid() || o.OrderNo != c.Order.OrderNo {
		t.Fatalf("after restart: %+v %v", o, err)
	}
	// The old token still opens the page (host changed, token kept).
	u, _ := url.Parse(c.TokenURL)
	res, err := http.Get(srv2.URL + u.RequestURI())
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("checkout after restart: %v %v", res, err)
	}
	res.Body.Close()
	if err := sb2.Pay("P-2"); err != nil {
		t.Fatal(err)
	}
	// Re-create of an identical order is still recognised.
	if _, err := client(t, srv2).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "P-1", Amount: 1500, Subject: "Parking fee"}); !payby.IsAlreadyPaid(err) {
		t.Fatalf("%v", err)
	}
	// Sequence numbers continue: a new order gets a new orderNo.
	n3, err := client(t, srv2).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "P-3", Amount: 100, Subject: "Parking fee"})
	if err != nil || n3.Order.OrderNo == c.Order.OrderNo {
		t.Fatalf("%+v %v", n3, err)
	}
}

func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestCheckoutPage(t *testing.T) {
	sb, srv := start(t, nil)
	ctx := context.Background()
	c, err := client(t, srv).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "C-1", Amount: 2500, Subject: "Parking fee", MerchantName: "Example Parking LLC", StoreName: "Mall <Garage>"})
	if err != nil {
		t.Fatal(err)
	}
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, page := get(c.TokenURL)
	for _, want := range []string{"Example Parking LLC", "Mall &lt;Garage&gt;", "AED 25.00", `id="pay"`, `id="decline"`, "viewport"} {
		if code != 200 || !strings.Contains(page, want) {
			t.Fatalf("page lacks %q (%d):\n%s", want, code, page)
		}
	}
	ft := tokenParam(c.TokenURL)
	res, err := noRedirect().PostForm(srv.URL+"/pay-page/main", url.Values{"ft": {ft}, "action": {"decline"}})
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("decline: %v %v", res, err)
	}
	_, page = get(srv.URL + res.Header.Get("Location"))
	if !strings.Contains(page, "declined") || !strings.Contains(page, `id="pay"`) {
		t.Fatalf("after decline:\n%s", page)
	}
	res, _ = http.PostForm(srv.URL+"/pay-page/main", url.Values{"ft": {ft}, "action": {"pay"}})
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "Paid. Thank you.") || strings.Contains(string(b), `id="pay"`) {
		t.Fatalf("after pay:\n%s", b)
	}
	if info, _ := sb.Order("C-1"); !info.Paid() || info.Declines != 1 {
		t.Fatalf("%+v", info)
	}
	// A driver who opens the link again after a refund sees the refund.
	if _, err := client(t, srv).Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: "C-1-R1", OriginMerchantOrderNo: "C-1", Amount: 500, Reason: "validation"}); err != nil {
		t.Fatal(err)
	}
	if _, page := get(c.TokenURL); !strings.Contains(page, "Paid, then refunded AED 5.00.") {
		t.Fatalf("after a refund:\n%s", page)
	}
	if code, _ := get(srv.URL + "/pay-page/main?ft=nope"); code != 404 {
		t.Fatalf("unknown token: %d", code)
	}
	// One-time orders fail on a decline.
	client(t, srv).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "C-2", Amount: 100, Subject: "Parking fee", OneTimePayment: true})
	if st, err := sb.Decline("C-2"); err != nil || st != payby.StatusFailure {
		t.Fatalf("%v %v", st, err)
	}
	if code, page := get(srv.URL + "/"); code != 200 || !strings.Contains(page, "C-1") {
		t.Fatalf("index %d", code)
	}
}

func tokenParam(u string) string {
	p, _ := url.Parse(u)
	return p.Query().Get("ft")
}

func TestPublicURL(t *testing.T) {
	_, srv := start(t, func(o *sandbox.Options) { o.PublicURL = "http://192.168.1.20:8089/" })
	c, err := client(t, srv).CreateOrder(context.Background(), payby.CreateOrder{MerchantOrderNo: "U-1", Amount: 100, Subject: "Parking fee"})
	if err != nil || !strings.HasPrefix(c.TokenURL, "http://192.168.1.20:8089/pay-page/main?") {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestAdmin(t *testing.T) {
	sb, srv := start(t, nil)
	ctx := context.Background()
	client(t, srv).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "A-1", Amount: 100, Subject: "Parking fee"})
	call := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+"/sandbox/admin/"+path, strings.NewReader(body))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := call("POST", "faults", `{"latency":"5ms","http5xx":2,"payRacesCancel":true}`); code != 200 || !strings.Contains(body, `"latency": "5ms"`) {
		t.Fatalf("%d %s", code, body)
	}
	if f := sb.Faults(); f.Latency != 5*time.Millisecond || f.HTTP5xx != 2 || !f.PayRacesCancel {
		t.Fatalf("%+v", f)
	}
	if code, _ := call("POST", "faults", `{"latency":"soon"}`); code != 400 {
		t.Fatalf("bad latency: %d", code)
	}
	if code, _ := call("POST", "faults", `{"htp5xx":1}`); code != 400 {
		t.Fatalf("unknown fault: %d", code)
	}
	call("POST", "faults", `{}`)
	if code, body := call("POST", "scan", `{"merchantOrderNo":"A-1"}`); code != 200 || !strings.Contains(body, `"scanned": true`) {
		t.Fatalf("%d %s", code, body)
	}
	if code, body := call("POST", "pay?merchantOrderNo=A-1", ""); code != 200 || !strings.Contains(body, `"status": "PAID_SUCCESS"`) {
		t.Fatalf("%d %s", code, body)
	}
	if code, _ := call("POST", "pay", `{"merchantOrderNo":"A-1"}`); code != 409 {
		t.Fatalf("pay twice: %d", code)
	}
	if code, _ := call("POST", "pay", `{"merchantOrderNo":"NONE"}`); code != 404 {
		t.Fatalf("pay unknown: %d", code)
	}
	if code, _ := call("GET", "pay", ``); code != 405 {
		t.Fatalf("GET pay: %d", code)
	}
	if code, body := call("POST", "settle", `{"merchantOrderNo":"A-1"}`); code != 200 || !strings.Contains(body, "SETTLED") {
		t.Fatalf("%d %s", code, body)
	}
	client(t, srv).CreateOrder(ctx, payby.CreateOrder{MerchantOrderNo: "A-2", Amount: 100, Subject: "Parking fee"})
	if code, body := call("POST", "expire", `{"merchantOrderNo":"A-2"}`); code != 200 || !strings.Contains(body, "FAILURE") {
		t.Fatalf("%d %s", code, body)
	}
	code, body := call("GET", "orders", "")
	var list []sandbox.OrderInfo
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list) != 2 {
		t.Fatalf("%d %v %s", code, err, body)
	}
}

func TestLoadKeyDir(t *testing.T) {
	dir := t.TempDir()
	k, err := sandbox.LoadKeyDir(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Generated) != 4 || k.MerchantPriv == "" {
		t.Fatalf("%+v", k)
	}
	k2, err := sandbox.LoadKeyDir(dir, "")
	if err != nil || len(k2.Generated) != 0 || !k2.Key.Equal(k.Key) || !k2.MerchantKey.Equal(k.MerchantKey) {
		t.Fatalf("second run: %+v %v", k2, err)
	}
	other := t.TempDir()
	_, pub, _ := payby.WriteKeyPair(other, "m")
	k3, err := sandbox.LoadKeyDir(dir, pub)
	if err != nil || k3.MerchantPub != pub || k3.MerchantKey.Equal(k.MerchantKey) {
		t.Fatalf("explicit merchant key: %v", err)
	}
	if _, err := sandbox.LoadKeyDir(dir, filepath.Join(other, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%v", err)
	}
}

func TestFaultCounts(t *testing.T) {
	f := sandbox.Faults{Latency: time.Second, HTTP5xx: sandbox.Always, LostResponses: 2, DropNotify: true}
	b, _ := json.Marshal(f)
	var back sandbox.Faults
	if err := json.Unmarshal(b, &back); err != nil || back != f {
		t.Fatalf("%s -> %+v %v", b, back, err)
	}
	if s := f.String(); s != "latency=1s http5xx=always lost=2 drop-notify" {
		t.Fatalf("%q", s)
	}
}

func TestStart(t *testing.T) {
	keys(t)
	sb, err := sandbox.New(sandbox.Options{Key: server, MerchantKey: &merchant.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	base, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := payby.New(payby.Options{BaseURL: base + sandbox.APIPrefix, PartnerID: "1", Key: merchant, PayByKey: &server.PublicKey, Retries: -1})
	if _, err := c.CreateOrder(context.Background(), payby.CreateOrder{MerchantOrderNo: "S-1", Amount: 100, Subject: "Parking fee"}); err != nil {
		t.Fatal(err)
	}
	sb.Close()
	if _, err := c.GetOrder(context.Background(), "S-1"); !errors.Is(err, payby.ErrTransport) {
		t.Fatalf("after Close: %v", err)
	}
}
