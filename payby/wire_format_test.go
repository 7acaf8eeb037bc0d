package payby_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
)

// TestRequestWireFormat checks the exact request a create sends: headers,
// envelope, two-decimal amount, string scene params, and a signature over
// exactly the bytes sent.
func TestRequestWireFormat(t *testing.T) {
	keys(t)
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusServiceUnavailable) // stop after one request
	}))
	defer srv.Close()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c, _ := payby.New(payby.Options{BaseURL: srv.URL + "/sgs/api/", PartnerID: "200000000888", Key: merchantKey, PayByKey: &paybyKey.PublicKey,
		Now: func() time.Time { return at }, Retries: -1, Language: "ar"})
	req := createReq("GRG01-L201-T48213-1", money.MustParse("25"))
	req.Expire = at.Add(10 * time.Minute)
	req.NotifyURL = "https://parking.example.com/payby/notify?a=1&b=2"
	c.CreateOrder(context.Background(), req)
	if got == nil {
		t.Fatal("no request")
	}
	if got.URL.Path != "/sgs/api/acquire2/placeOrder" || got.Method != "POST" {
		t.Fatalf("%s %s", got.Method, got.URL.Path)
	}
	for h, want := range map[string]string{"Partner-Id": "200000000888", "Content-Type": "application/json; charset=UTF-8", "Content-Language": "ar", "Api-Version": "v1"} {
		if got.Header.Get(h) != want {
			t.Errorf("header %s = %q, want %q", h, got.Header.Get(h), want)
		}
	}
	sign := got.Header.Get("sign")
	if strings.ContainsAny(sign, "-_\n") {
		t.Fatalf("not standard Base64: %q", sign)
	}
	if err := payby.Verify(&merchantKey.PublicKey, body, sign); err != nil {
		t.Fatalf("signature over the sent bytes: %v", err)
	}
	want := `{"requestTime":1767225600000,"bizContent":{"merchantOrderNo":"GRG01-L201-T48213-1","subject":"Parking fee",` +
		`"totalAmount":{"currency":"AED","amount":25.00},"paySceneCode":"DYNQR","paySceneParams":{"changePayer":"true","oneTimePayment":"false"},` +
		`"expiredTime":1767226200000,"notifyUrl":"https://parking.example.com/payby/notify?a=1&b=2","reserved":"ticket 48213",` +
		`"accessoryContent":{"terminalDetail":{"storeId":"GRG01","terminalId":"EXIT-L2","merchantName":"Example Parking LLC","storeName":"Mall Garage"}}}}`
	if string(body) != want {
		t.Fatalf("body\n got %s\nwant %s", body, want)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
}
