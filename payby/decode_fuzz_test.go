package payby

import (
	"errors"
	"testing"
)

// FuzzDecodeNotification fuzzes the notification decoder behind the
// signature check, fast (no RSA per input).
func FuzzDecodeNotification(f *testing.F) {
	f.Add([]byte(`{"notify_id":"1","notify_timestamp":1767225703500,"acquireOrder":{"merchantOrderNo":"A","orderNo":"1","status":"PAID_SUCCESS","totalAmount":{"amount":25.00,"currency":"AED"},"paymentInfo":{"paidAmount":{"amount":25,"currency":"AED"},"paidTime":1},"revoked":"true"}}`))
	f.Add([]byte(`{"refundOrder":{"refundMerchantOrderNo":"R","status":"SUCCESS","amount":{"amount":"1.5","currency":"AED"}}}`))
	f.Add([]byte(`{"acquireOrder":{"merchantOrderNo":"A","status":"X","totalAmount":{"amount":1,"currency":"USD"}}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, err := decodeNotification(raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("unclassified %v", err)
			}
			return
		}
		if (n.Order == nil) == (n.Refund == nil) {
			t.Fatal("neither or both")
		}
		if o := n.Order; o != nil {
			if o.MerchantOrderNo == "" || o.Status == "" || o.Amount < 0 || o.PaidAmount < 0 {
				t.Fatalf("accepted %+v", o)
			}
			_ = n.Key()
		}
	})
}
