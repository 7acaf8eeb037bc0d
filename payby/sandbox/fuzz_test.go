package sandbox_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

// FuzzSandboxRequests sends arbitrary signed bizContent to every endpoint:
// the sandbox must never panic and must always answer with a signed or
// allowed-unsigned head that the client can classify.
func FuzzSandboxRequests(f *testing.F) {
	keys(f)
	sb, err := sandbox.New(sandbox.Options{Key: server, MerchantKey: &merchant.PublicKey})
	if err != nil {
		f.Fatal(err)
	}
	paths := []string{"/acquire2/placeOrder", "/acquire2/getOrder", "/acquire2/cancelOrder", "/acquire2/revokeOrder",
		"/acquire2/refund/placeOrder", "/acquire2/refund/getOrder", "/acquire2/getCashierUrlInfo"}
	f.Add(uint8(0), []byte(`{"merchantOrderNo":"F-1","subject":"Parking","totalAmount":{"currency":"AED","amount":1.00},"paySceneCode":"DYNQR"}`))
	f.Add(uint8(1), []byte(`{"merchantOrderNo":"F-1"}`))
	f.Add(uint8(2), []byte(`{"orderNo":"1"}`))
	f.Add(uint8(4), []byte(`{"refundMerchantOrderNo":"R","originMerchantOrderNo":"F-1","amount":{"currency":"AED","amount":"0.5"}}`))
	f.Add(uint8(6), []byte(`{"tokenUrl":"http://x/pay-page/main?ft=1"}`))
	f.Add(uint8(0), []byte(`{"merchantOrderNo":"F-2","subject":"P","totalAmount":{"currency":"AED","amount":1e400},"paySceneCode":"DYNQR","expiredTime":-1}`))
	f.Fuzz(func(t *testing.T, which uint8, biz []byte) {
		body := fmt.Appendf(nil, `{"requestTime":%d,"bizContent":%s}`, time.Now().UnixMilli(), biz)
		sign, _ := payby.Sign(merchant, body)
		req := httptest.NewRequest("POST", "/sgs/api"+paths[int(which)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Partner-Id", "200000000888")
		req.Header.Set("sign", sign)
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("HTTP %d", w.Code)
		}
		raw := w.Body.Bytes()
		_, err := payby.DecodeResponse(&server.PublicKey, raw, w.Header().Get("sign"), 200)
		if err != nil {
			var pe *payby.Error
			if !errors.As(err, &pe) {
				t.Fatalf("answer not classifiable: %v\n%s", err, raw)
			}
		}
		if !json.Valid(raw) {
			t.Fatalf("invalid JSON answer %s", raw)
		}
	})
}
