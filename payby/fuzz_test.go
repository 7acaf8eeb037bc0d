package payby_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/exitlane/exitlane/payby"
)

// FuzzDecodeResponse feeds arbitrary bodies, signed and unsigned, to the
// response decoder: it must never panic, never succeed without a valid
// signature, and classify every failure.
func FuzzDecodeResponse(f *testing.F) {
	keys(f)
	f.Add([]byte(`{"head":{"applyStatus":"SUCCESS","code":"0","msg":"SUCCESS"},"body":{"acquireOrder":{"merchantOrderNo":"A","status":"CREATED","totalAmount":{"amount":1,"currency":"AED"}}}}`), true)
	f.Add([]byte(`{"head":{"applyStatus":"FAIL","code":"62016","msg":"X"}}`), true)
	f.Add([]byte(`{"head":{"applyStatus":"FAIL","code":"500","msg":"SYSTEM_ERROR"}}`), false)
	f.Add([]byte(`{"head":{"applyStatus":"ERROR","code":"58001"}}`), false)
	f.Add([]byte(`{}`), true)
	f.Fuzz(func(t *testing.T, raw []byte, signIt bool) {
		sign := ""
		if signIt {
			sign, _ = payby.Sign(paybyKey, raw)
		}
		body, err := payby.DecodeResponse(&paybyKey.PublicKey, raw, sign, 200)
		if err == nil {
			if !signIt {
				t.Fatal("unsigned success accepted")
			}
			var o struct {
				AcquireOrder json.RawMessage `json:"acquireOrder"`
			}
			_ = json.Unmarshal(body, &o)
			return
		}
		var pe *payby.Error
		if !errors.As(err, &pe) && !errors.Is(err, payby.ErrMalformed) && !errors.Is(err, payby.ErrNoSignature) {
			t.Fatalf("unclassified error %v", err)
		}
		if pe != nil && pe.Unsigned && signIt {
			t.Fatal("signed error marked unsigned")
		}
	})
}

// FuzzVerifyNotification: signed arbitrary bodies either decode into a
// notification with an order or refund, or fail with ErrMalformed.
func FuzzVerifyNotification(f *testing.F) {
	keys(f)
	f.Add([]byte(`{"notify_id":"1","notify_timestamp":1,"acquireOrder":{"merchantOrderNo":"A","orderNo":"1","status":"PAID_SUCCESS","totalAmount":{"amount":25.00,"currency":"AED"},"revoked":"false"}}`))
	f.Add([]byte(`{"refundOrder":{"refundMerchantOrderNo":"R","status":"SUCCESS","amount":{"amount":"1.5","currency":"AED"}}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sign, _ := payby.Sign(paybyKey, raw)
		n, err := payby.VerifyNotification(&paybyKey.PublicKey, raw, sign)
		if err != nil {
			if !errors.Is(err, payby.ErrMalformed) {
				t.Fatalf("signed body refused with %v", err)
			}
			return
		}
		if (n.Order == nil) == (n.Refund == nil) {
			t.Fatalf("notification with order %v refund %v", n.Order, n.Refund)
		}
		if n.Order != nil && (n.Order.Amount < 0 || n.Order.PaidAmount < 0) {
			t.Fatal("negative amount")
		}
	})
}
