package payby_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/payby/sandbox"
)

var orderSeq atomic.Int64

func newNo(prefix string) string { return fmt.Sprintf("%s-%d", prefix, orderSeq.Add(1)) }

func createReq(no string, amount money.Fils) payby.CreateOrder {
	return payby.CreateOrder{
		MerchantOrderNo: no, Amount: amount, Subject: "Parking fee",
		StoreID: "GRG01", TerminalID: "EXIT-L2", MerchantName: "Example Parking LLC", StoreName: "Mall Garage",
		Reserved: "ticket 48213",
	}
}

func mustCreate(t *testing.T, e *env, no string, amount money.Fils) *payby.Created {
	t.Helper()
	c, err := e.client.CreateOrder(context.Background(), createReq(no, amount))
	if err != nil {
		t.Fatalf("create %s: %v", no, err)
	}
	return c
}

func TestCreateGet(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	req := createReq("GRG01-L2-T1-1", money.MustParse("25.00"))
	req.Expire = e.clock.Now().Add(10 * time.Minute)
	c, err := e.client.CreateOrder(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if c.Order.Status != payby.StatusCreated || c.Order.Amount != 2500 || c.Order.OrderNo == "" {
		t.Fatalf("created %+v", c.Order)
	}
	if !strings.HasPrefix(c.TokenURL, e.srv.URL+"/pay-page/main?") {
		t.Fatalf("tokenUrl %q", c.TokenURL)
	}
	if !c.Order.ExpiredTime.Equal(req.Expire.Truncate(time.Millisecond)) || c.Order.TerminalID != "EXIT-L2" || c.Order.Reserved != "ticket 48213" {
		t.Fatalf("echo %+v", c.Order)
	}
	o, err := e.client.GetOrder(ctx, req.MerchantOrderNo)
	if err != nil {
		t.Fatal(err)
	}
	if o.OrderNo != c.Order.OrderNo || o.Status != payby.StatusCreated || o.Paid() {
		t.Fatalf("get %+v", o)
	}
	if !o.ServerTime.Equal(e.clock.Now().Truncate(time.Second)) || !c.Order.ServerTime.Equal(o.ServerTime) {
		t.Fatalf("server time %v, clock %v", o.ServerTime, e.clock.Now())
	}
	if err := e.sb.Pay(req.MerchantOrderNo); err != nil {
		t.Fatal(err)
	}
	o, err = e.client.GetOrder(ctx, req.MerchantOrderNo)
	if err != nil {
		t.Fatal(err)
	}
	if !o.Paid() || o.PaidAmount != 2500 || o.PaidTime.IsZero() || !o.Status.IsFinal() {
		t.Fatalf("paid %+v", o)
	}
}

func TestCreateIdempotency(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	no := newNo("IDEM")
	first := mustCreate(t, e, no, 1000)
	e.clock.Add(time.Minute) // requestTime is not part of the comparison
	again := mustCreate(t, e, no, 1000)
	if again.Order.OrderNo != first.Order.OrderNo || again.TokenURL != first.TokenURL {
		t.Fatalf("re-create made a new order: %+v vs %+v", again, first)
	}
	_, err := e.client.CreateOrder(ctx, createReq(no, 1001))
	if !payby.IsDuplicateMismatch(err) {
		t.Fatalf("different amount: %v", err)
	}
	var pe *payby.Error
	if !errors.As(err, &pe) || pe.Code != "62016" || pe.TraceCode == "" || pe.ApplyStatus != "FAIL" || pe.Op != "create order" {
		t.Fatalf("error detail %#v", pe)
	}
	// Paid, then re-created: ORDER_PAID.
	e.sb.Pay(no)
	if _, err := e.client.CreateOrder(ctx, createReq(no, 1000)); !payby.IsAlreadyPaid(err) {
		t.Fatalf("re-create paid: %v", err)
	}
	e.sb.Settle(no)
	if _, err := e.client.CreateOrder(ctx, createReq(no, 1000)); !payby.IsAlreadyPaid(err) {
		t.Fatalf("re-create settled: %v", err)
	}
	// Cancelled, then re-created: ORDER_FAILURE.
	no2 := newNo("IDEM")
	mustCreate(t, e, no2, 1000)
	if _, err := e.client.CancelOrder(ctx, no2); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateOrder(ctx, createReq(no2, 1000)); !payby.IsOrderFailed(err) {
		t.Fatalf("re-create cancelled: %v", err)
	}
}

func TestCreateValidation(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	cases := map[string]payby.CreateOrder{
		"bad number":   createReq("has space", 100),
		"long number":  createReq(strings.Repeat("A", 65), 100),
		"zero amount":  createReq("OK-1", 0),
		"long subject": func() payby.CreateOrder { r := createReq("OK-1", 100); r.Subject = "Parking fee 2h15"; return r }(),
		"no subject":   func() payby.CreateOrder { r := createReq("OK-1", 100); r.Subject = ""; return r }(),
		"reserved":     func() payby.CreateOrder { r := createReq("OK-1", 100); r.Reserved = strings.Repeat("x", 21); return r }(),
	}
	for name, req := range cases {
		if _, err := e.client.CreateOrder(ctx, req); !errors.Is(err, payby.ErrInvalidRequest) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := len(e.sb.Orders()); n != 0 {
		t.Fatalf("%d orders reached the sandbox", n)
	}
}

func TestExpiry(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	no := newNo("EXP")
	req := createReq(no, 500)
	req.Expire = e.clock.Now().Add(5 * time.Minute)
	if _, err := e.client.CreateOrder(ctx, req); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(5 * time.Minute)
	o, err := e.client.GetOrder(ctx, no)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != payby.StatusFailure || o.Paid() {
		t.Fatalf("expired order %+v", o)
	}
	if err := e.sb.Pay(no); !errors.Is(err, sandbox.ErrNotPayable) {
		t.Fatalf("pay expired: %v", err)
	}
	// Bad expiredTime values.
	r := createReq(newNo("EXP"), 500)
	r.Expire = e.clock.Now().Add(-time.Second)
	if _, err := e.client.CreateOrder(ctx, r); !hasCode(err, "62008") {
		t.Fatalf("past expiry: %v", err)
	}
	r.Expire = e.clock.Now().Add(49 * time.Hour)
	if _, err := e.client.CreateOrder(ctx, r); !hasCode(err, "62009") {
		t.Fatalf("far expiry: %v", err)
	}
}

func hasCode(err error, code string) bool {
	var pe *payby.Error
	return errors.As(err, &pe) && pe.Code == code
}

func TestNotFound(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	if _, err := e.client.GetOrder(ctx, "NOPE-1"); !payby.IsNotFound(err) || !hasCode(err, "62004") {
		t.Fatalf("get: %v", err)
	}
	if _, err := e.client.CancelOrder(ctx, "NOPE-1"); !payby.IsNotFound(err) {
		t.Fatalf("cancel: %v", err)
	}
	if _, err := e.client.RevokeOrder(ctx, "NOPE-1"); !payby.IsNotFound(err) {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := e.client.GetRefund(ctx, "NOPE-R1"); !payby.IsNotFound(err) || !hasCode(err, "62007") {
		t.Fatalf("get refund: %v", err)
	}
	_, err := e.client.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: "R-NOPE", OriginMerchantOrderNo: "NOPE-1", Amount: 100})
	if !payby.IsNotFound(err) {
		t.Fatalf("refund: %v", err)
	}
	if _, err := e.client.CashierInfo(ctx, e.srv.URL+"/pay-page/main?ft=unknown"); !payby.IsNotFound(err) || !hasCode(err, "62082") {
		t.Fatalf("cashier: %v", err)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	no := newNo("CAN")
	mustCreate(t, e, no, 700)
	o, err := e.client.CancelOrder(ctx, no)
	if err != nil || o.Status != payby.StatusFailure {
		t.Fatalf("cancel: %+v %v", o, err)
	}
	if _, err := e.client.CancelOrder(ctx, no); !payby.IsOrderFailed(err) {
		t.Fatalf("cancel twice: %v", err)
	}
	if err := e.sb.Pay(no); err == nil {
		t.Fatal("paid a cancelled order")
	}
	paid := newNo("CAN")
	mustCreate(t, e, paid, 700)
	e.sb.Pay(paid)
	if _, err := e.client.CancelOrder(ctx, paid); !payby.IsAlreadyPaid(err) || !hasCode(err, "62001") {
		t.Fatalf("cancel paid: %v", err)
	}
	e.sb.Settle(paid)
	if _, err := e.client.CancelOrder(ctx, paid); !payby.IsAlreadyPaid(err) || !hasCode(err, "62003") {
		t.Fatalf("cancel settled: %v", err)
	}
}

func TestPayRacesCancel(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Faults.PayRacesCancel = true }, nil)
	no := newNo("RACE")
	mustCreate(t, e, no, 700)
	if _, err := e.client.CancelOrder(context.Background(), no); !payby.IsAlreadyPaid(err) {
		t.Fatalf("cancel lost to payment: %v", err)
	}
	o, _ := e.client.GetOrder(context.Background(), no)
	if !o.Paid() {
		t.Fatalf("order %+v", o)
	}
}

func TestRevoke(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	unpaid := newNo("REV")
	mustCreate(t, e, unpaid, 300)
	o, err := e.client.RevokeOrder(ctx, unpaid)
	if err != nil || o.Status != payby.StatusFailure || !o.Revoked {
		t.Fatalf("revoke unpaid: %+v %v", o, err)
	}
	paid := newNo("REV")
	mustCreate(t, e, paid, 300)
	e.sb.Pay(paid)
	o, err = e.client.RevokeOrder(ctx, paid)
	if err != nil || o.Status != payby.StatusPaidSuccess || !o.Revoked || o.Paid() {
		t.Fatalf("revoke paid: %+v %v", o, err)
	}
	// Revoking again is harmless; refunding a revoked order is refused.
	if _, err := e.client.RevokeOrder(ctx, paid); err != nil {
		t.Fatal(err)
	}
	_, err = e.client.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: paid, Amount: 100})
	if !hasCode(err, "62040") {
		t.Fatalf("refund revoked: %v", err)
	}
	// A refunded order can no longer be revoked.
	ref := newNo("REV")
	mustCreate(t, e, ref, 300)
	e.sb.Pay(ref)
	if _, err := e.client.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: ref, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.RevokeOrder(ctx, ref); !hasCode(err, "62041") {
		t.Fatalf("revoke refunded: %v", err)
	}
}

func TestRefund(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	no := newNo("REF")
	mustCreate(t, e, no, money.MustParse("25.00"))
	r1 := payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: no, Amount: money.MustParse("10.50"), Reason: "overcharge", Operator: "att1"}
	if _, err := e.client.Refund(ctx, r1); !hasCode(err, "62015") {
		t.Fatalf("refund unpaid: %v", err)
	}
	e.sb.Pay(no)
	ref, err := e.client.Refund(ctx, r1)
	if err != nil {
		t.Fatal(err)
	}
	if ref.Amount != 1050 || ref.Remaining != 1450 || ref.Status != "SUCCESS" || ref.OriginMerchantOrderNo != no {
		t.Fatalf("refund %+v", ref)
	}
	// Identical re-send is the same refund; different parameters are 62017.
	again, err := e.client.Refund(ctx, r1)
	if err != nil || again.OrderNo != ref.OrderNo || again.Remaining != 1450 {
		t.Fatalf("resend: %+v %v", again, err)
	}
	r1b := r1
	r1b.Amount = 100
	if _, err := e.client.Refund(ctx, r1b); !payby.IsDuplicateMismatch(err) {
		t.Fatalf("refund mismatch: %v", err)
	}
	r2 := payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: no, Amount: money.MustParse("14.51")}
	if _, err := e.client.Refund(ctx, r2); !hasCode(err, "62006") {
		t.Fatalf("over-refund: %v", err)
	}
	r2.Amount = money.MustParse("14.50")
	ref2, err := e.client.Refund(ctx, r2)
	if err != nil || ref2.Remaining != 0 {
		t.Fatalf("rest: %+v %v", ref2, err)
	}
	got, err := e.client.GetRefund(ctx, r1.RefundMerchantOrderNo)
	if err != nil || got.OrderNo != ref.OrderNo || got.Amount != 1050 {
		t.Fatalf("get refund: %+v %v", got, err)
	}
	// Refund of a cancelled order.
	failed := newNo("REF")
	mustCreate(t, e, failed, 100)
	e.client.CancelOrder(ctx, failed)
	if _, err := e.client.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: failed, Amount: 100}); !payby.IsOrderFailed(err) {
		t.Fatalf("refund failed order: %v", err)
	}
}

func TestCashierInfo(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	no := newNo("CASH")
	c := mustCreate(t, e, no, 100)
	ci, err := e.client.CashierInfo(ctx, c.TokenURL)
	if err != nil || ci.Scanned {
		t.Fatalf("before scan: %+v %v", ci, err)
	}
	e.sb.Scan(no)
	ci, err = e.client.CashierInfo(ctx, c.TokenURL)
	if err != nil || !ci.Scanned || ci.MobileNumberMask == "" {
		t.Fatalf("after scan: %+v %v", ci, err)
	}
	// Opening the checkout page counts as a scan.
	no2 := newNo("CASH")
	c2 := mustCreate(t, e, no2, 100)
	res, err := http.Get(c2.TokenURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ci, _ := e.client.CashierInfo(ctx, c2.TokenURL); !ci.Scanned {
		t.Fatal("page view was not a scan")
	}
}

func TestClockSkew(t *testing.T) {
	for _, tc := range []struct {
		skew time.Duration
		msg  string
	}{{-16 * time.Minute, "REQUESTTIME_TOO_EARLY"}, {16 * time.Minute, "REQUESTTIME_TOO_LATER"}} {
		e := newEnv(t, nil, nil)
		skewed := func() time.Time { return e.clock.Now().Add(tc.skew) }
		c, _ := payby.New(payby.Options{BaseURL: e.base(), PartnerID: "200000000888", Key: merchantKey, PayByKey: &paybyKey.PublicKey, Now: skewed})
		_, err := c.GetOrder(context.Background(), "ANY-1")
		if !payby.IsClockSkew(err) || !strings.Contains(err.Error(), tc.msg) {
			t.Fatalf("skew %v: %v", tc.skew, err)
		}
	}
	// 14 minutes is fine.
	e := newEnv(t, nil, nil)
	c, _ := payby.New(payby.Options{BaseURL: e.base(), PartnerID: "200000000888", Key: merchantKey, PayByKey: &paybyKey.PublicKey, Now: func() time.Time { return e.clock.Now().Add(14 * time.Minute) }})
	if _, err := c.GetOrder(context.Background(), "ANY-1"); !payby.IsNotFound(err) {
		t.Fatalf("14 min: %v", err)
	}
}

func TestSignatures(t *testing.T) {
	ctx := context.Background()
	t.Run("merchant key not registered", func(t *testing.T) {
		e := newEnv(t, nil, func(o *payby.Options) { o.Key = otherKey })
		_, err := e.client.GetOrder(ctx, "ANY-1")
		if !payby.IsSignatureRejected(err) {
			t.Fatalf("%v", err)
		}
		var pe *payby.Error
		if !errors.As(err, &pe) || !pe.Unsigned || pe.ApplyStatus != "ERROR" {
			t.Fatalf("%#v", pe)
		}
	})
	t.Run("wrong partner", func(t *testing.T) {
		e := newEnv(t, nil, func(o *payby.Options) { o.PartnerID = "999" })
		if _, err := e.client.GetOrder(ctx, "ANY-1"); !hasCode(err, "403") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("wrong PayBy key", func(t *testing.T) {
		e := newEnv(t, nil, func(o *payby.Options) { o.PayByKey = &otherKey.PublicKey })
		if _, err := e.client.GetOrder(ctx, "ANY-1"); !errors.Is(err, payby.ErrBadSignature) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("bad response signature", func(t *testing.T) {
		e := newEnv(t, func(o *sandbox.Options) { o.Faults.BadSignatures = sandbox.Always }, nil)
		if _, err := e.client.GetOrder(ctx, "ANY-1"); !errors.Is(err, payby.ErrBadSignature) {
			t.Fatalf("%v", err)
		}
	})
}

func TestGatewayErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("rate limited", func(t *testing.T) {
		e := newEnv(t, func(o *sandbox.Options) {
			o.Faults.GatewayErrors, o.Faults.GatewayCode = sandbox.Always, "402"
		}, func(o *payby.Options) { o.Retries = -1 })
		_, err := e.client.GetOrder(ctx, "ANY-1")
		var pe *payby.Error
		if !payby.IsRateLimited(err) || !errors.As(err, &pe) || !pe.Unsigned {
			t.Fatalf("%v", err)
		}
	})
	t.Run("rate limited writes are not ambiguous", func(t *testing.T) {
		e := newEnv(t, nil, func(o *payby.Options) { o.Retries = 2 })
		no := newNo("RL")
		mustCreate(t, e, no, 100)
		e.sb.SetFaults(sandbox.Faults{GatewayErrors: sandbox.Always, GatewayCode: "402"})
		if _, err := e.client.CreateOrder(ctx, createReq(newNo("RL"), 100)); !payby.IsRateLimited(err) || errors.Is(err, payby.ErrAmbiguous) {
			t.Fatalf("create: %v", err)
		}
		if _, err := e.client.CancelOrder(ctx, no); !payby.IsRateLimited(err) || errors.Is(err, payby.ErrAmbiguous) {
			t.Fatalf("cancel: %v", err)
		}
		// Rate limited once, then through: the create is re-sent and made.
		e.sb.SetFaults(sandbox.Faults{GatewayErrors: 1, GatewayCode: "402"})
		if _, err := e.client.CreateOrder(ctx, createReq(newNo("RL"), 100)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("read retried after 500", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		no := newNo("GW")
		mustCreate(t, e, no, 100)
		e.sb.SetFaults(sandbox.Faults{GatewayErrors: 2, GatewayCode: "500"})
		if _, err := e.client.GetOrder(ctx, no); err != nil {
			t.Fatal(err)
		}
		e.sb.SetFaults(sandbox.Faults{GatewayErrors: sandbox.Always, GatewayCode: "504"})
		_, err := e.client.GetOrder(ctx, no)
		if !errors.Is(err, payby.ErrAmbiguous) || !hasCode(err, "504") {
			t.Fatalf("%v", err)
		}
	})
	t.Run("read retried after 5xx", func(t *testing.T) {
		e := newEnv(t, func(o *sandbox.Options) { o.Faults.HTTP5xx = 3 }, nil)
		if _, err := e.client.GetOrder(ctx, "ANY-1"); !payby.IsNotFound(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("unsigned risk error on create", func(t *testing.T) {
		e := newEnv(t, func(o *sandbox.Options) { o.Faults.GatewayErrors, o.Faults.GatewayCode = 1, "601" }, nil)
		_, err := e.client.CreateOrder(ctx, createReq(newNo("GW"), 100))
		if !hasCode(err, "601") || errors.Is(err, payby.ErrAmbiguous) {
			t.Fatalf("%v", err)
		}
	})
}

func TestAmbiguousCreate(t *testing.T) {
	ctx := context.Background()
	for _, f := range []sandbox.Faults{
		{LostResponses: 1}, {LostResponses: 2}, {HTTP5xx: 1}, {BadSignatures: 1},
		{GatewayErrors: 1, GatewayCode: "500"}, {GatewayErrors: 1, GatewayCode: "504"},
	} {
		t.Run(f.String(), func(t *testing.T) {
			e := newEnv(t, func(o *sandbox.Options) { o.Faults = f }, nil)
			no := newNo("AMB")
			c, err := e.client.CreateOrder(ctx, createReq(no, 1234))
			if err != nil {
				t.Fatal(err)
			}
			orders := e.sb.Orders()
			if len(orders) != 1 || orders[0].OrderNo != c.Order.OrderNo || c.TokenURL == "" {
				t.Fatalf("orders %+v, created %+v", orders, c)
			}
		})
	}
	t.Run("never resolved", func(t *testing.T) {
		e := newEnv(t, func(o *sandbox.Options) { o.Faults.LostResponses = sandbox.Always }, nil)
		_, err := e.client.CreateOrder(ctx, createReq(newNo("AMB"), 1234))
		if !errors.Is(err, payby.ErrAmbiguous) || !errors.Is(err, payby.ErrTransport) {
			t.Fatalf("%v", err)
		}
		if n := len(e.sb.Orders()); n != 1 {
			t.Fatalf("%d orders", n)
		}
	})
	t.Run("re-create after payment", func(t *testing.T) {
		e := newEnv(t, func(o *sandbox.Options) { o.Faults.LostResponses = 1 }, nil)
		no := newNo("AMB")
		// The first create is processed but its answer lost; the re-send
		// returns the order; once paid, a re-create says ORDER_PAID.
		_, err := e.client.CreateOrder(ctx, createReq(no, 1234))
		if err != nil {
			t.Fatal(err)
		}
		e.sb.Pay(no)
		if _, err := e.client.CreateOrder(ctx, createReq(no, 1234)); !payby.IsAlreadyPaid(err) {
			t.Fatalf("%v", err)
		}
	})
}

func TestAmbiguousCancel(t *testing.T) {
	ctx := context.Background()
	for _, f := range []sandbox.Faults{{LostResponses: 1}, {HTTP5xx: 1}, {BadSignatures: 1}, {GatewayErrors: 1, GatewayCode: "504"}} {
		t.Run(f.String(), func(t *testing.T) {
			e := newEnv(t, nil, nil)
			no := newNo("AMBC")
			mustCreate(t, e, no, 100)
			e.sb.SetFaults(f)
			o, err := e.client.CancelOrder(ctx, no)
			if err != nil || o.Status != payby.StatusFailure {
				t.Fatalf("%+v %v", o, err)
			}
		})
	}
	t.Run("paid meanwhile", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		no := newNo("AMBC")
		mustCreate(t, e, no, 100)
		e.sb.SetFaults(sandbox.Faults{HTTP5xx: 1, PayRacesCancel: true})
		// The 5xx answer leaves the cancel unknown; the query then finds
		// the order CREATED, the re-sent cancel races a payment.
		_, err := e.client.CancelOrder(ctx, no)
		if !payby.IsAlreadyPaid(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("resolved paid by query", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		no := newNo("AMBC")
		mustCreate(t, e, no, 100)
		e.sb.Pay(no)
		e.sb.SetFaults(sandbox.Faults{HTTP5xx: 1})
		o, err := e.client.CancelOrder(ctx, no)
		if !payby.IsAlreadyPaid(err) || !errors.Is(err, payby.ErrOrderPaid) || o == nil || !o.Paid() {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("never resolved", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		no := newNo("AMBC")
		mustCreate(t, e, no, 100)
		e.sb.SetFaults(sandbox.Faults{HTTP5xx: sandbox.Always})
		if _, err := e.client.CancelOrder(ctx, no); !errors.Is(err, payby.ErrAmbiguous) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("revoke", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		no := newNo("AMBC")
		mustCreate(t, e, no, 100)
		e.sb.Pay(no)
		e.sb.SetFaults(sandbox.Faults{LostResponses: 1})
		o, err := e.client.RevokeOrder(ctx, no)
		if err != nil || !o.Revoked {
			t.Fatalf("%+v %v", o, err)
		}
	})
	t.Run("refund", func(t *testing.T) {
		e := newEnv(t, nil, nil)
		no := newNo("AMBC")
		mustCreate(t, e, no, 1000)
		e.sb.Pay(no)
		for _, f := range []sandbox.Faults{{LostResponses: 1}, {HTTP5xx: 1}} {
			e.sb.SetFaults(f)
			r, err := e.client.Refund(ctx, payby.RefundRequest{RefundMerchantOrderNo: newNo("R"), OriginMerchantOrderNo: no, Amount: 300})
			if err != nil || r.Amount != 300 {
				t.Fatalf("%v: %+v %v", f, r, err)
			}
		}
		info, _ := e.sb.Order(no)
		if info.Refunded != 600 {
			t.Fatalf("refunded %v, want 6.00 (no double refund)", info.Refunded)
		}
	})
}

func TestTimeout(t *testing.T) {
	e := newEnv(t, func(o *sandbox.Options) { o.Faults.Latency = 300 * time.Millisecond }, func(o *payby.Options) {
		o.Timeout = 50 * time.Millisecond
		o.Retries = 1
	})
	start := time.Now()
	_, err := e.client.GetOrder(context.Background(), "ANY-1")
	if !errors.Is(err, payby.ErrTransport) {
		t.Fatalf("%v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.client.GetOrder(ctx, "ANY-1"); err == nil {
		t.Fatal("cancelled context succeeded")
	}
}

// fakePayBy answers every call with body, signed by key if key is set.
func fakePayBy(t *testing.T, body string, signWith bool) *payby.Client {
	t.Helper()
	keys(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if signWith {
			s, _ := payby.Sign(paybyKey, []byte(body))
			w.Header().Set("sign", s)
		}
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	c, err := payby.New(payby.Options{BaseURL: srv.URL, PartnerID: "1", Key: merchantKey, PayByKey: &paybyKey.PublicKey, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestResponseDecoding(t *testing.T) {
	ctx := context.Background()
	order := func(amount string) string {
		return `{"head":{"applyStatus":"SUCCESS","code":"0","msg":"SUCCESS","traceCode":"1"},"body":{"acquireOrder":{"merchantOrderNo":"A-1","orderNo":"13","status":"PAID_SUCCESS","totalAmount":{"amount":` + amount + `,"currency":"AED"},"revoked":"false","paymentInfo":{"paidAmount":{"amount":` + amount + `,"currency":"AED"},"paidTime":1767225702000}}}}`
	}
	for _, tc := range []struct {
		amount string
		want   money.Fils
	}{{"1", 100}, {"0.1", 10}, {"25.00", 2500}, {"200.00", 20000}, {`"12.34"`, 1234}} {
		o, err := fakePayBy(t, order(tc.amount), true).GetOrder(ctx, "A-1")
		if err != nil || o.Amount != tc.want || o.PaidAmount != tc.want {
			t.Errorf("amount %s: %+v %v", tc.amount, o, err)
		}
	}
	for _, bad := range []string{"25.001", "2.5e1", "-1.00", "1234567890123.00"} {
		if _, err := fakePayBy(t, order(bad), true).GetOrder(ctx, "A-1"); !errors.Is(err, payby.ErrMalformed) {
			t.Errorf("amount %s: %v", bad, err)
		}
	}
	if _, err := fakePayBy(t, order("1"), false).GetOrder(ctx, "A-1"); !errors.Is(err, payby.ErrNoSignature) {
		t.Errorf("unsigned success: %v", err)
	}
	unsignedBiz := `{"head":{"applyStatus":"FAIL","code":"62004","msg":"MERCHANT_ORDER_NO_NOT_EXIST"}}`
	if _, err := fakePayBy(t, unsignedBiz, false).GetOrder(ctx, "A-1"); !errors.Is(err, payby.ErrNoSignature) {
		t.Errorf("unsigned business error: %v", err)
	}
	if _, err := fakePayBy(t, `{"head":{"applyStatus":"FAIL","code":"58003","msg":"X"}}`, false).GetOrder(ctx, "A-1"); !hasCode(err, "58003") {
		t.Errorf("unsigned 58xxx: %v", err)
	}
	if _, err := fakePayBy(t, strings.Replace(order("1"), `"A-1"`, `"B-1"`, 1), true).GetOrder(ctx, "A-1"); !errors.Is(err, payby.ErrMalformed) {
		t.Errorf("other order: %v", err)
	}
	if _, err := fakePayBy(t, `{"head":{"applyStatus":"SUCCESS","code":"0"}}`, true).GetOrder(ctx, "A-1"); !errors.Is(err, payby.ErrMalformed) {
		t.Errorf("no body: %v", err)
	}
}

func TestNewRequiresFields(t *testing.T) {
	if _, err := payby.New(payby.Options{}); err == nil || !strings.Contains(err.Error(), "partner id") {
		t.Fatalf("%v", err)
	}
}

// TestConcurrent runs creates, polls, payments and cancels at once (run
// with -race): the client and the sandbox are safe for concurrent use.
func TestConcurrent(t *testing.T) {
	e := newEnv(t, nil, nil)
	ctx := context.Background()
	errs := make(chan error, 16)
	for g := 0; g < 8; g++ {
		go func() {
			no := newNo("CONC")
			if _, err := e.client.CreateOrder(ctx, createReq(no, 100)); err != nil {
				errs <- err
				return
			}
			done := make(chan struct{})
			go func() { e.sb.Pay(no); close(done) }()
			_, err := e.client.CancelOrder(ctx, no)
			<-done
			o, gerr := e.client.GetOrder(ctx, no)
			switch {
			case gerr != nil:
				errs <- gerr
			case err == nil && o.Status != payby.StatusFailure:
				errs <- fmt.Errorf("%s cancelled but %s", no, o.Status)
			case payby.IsAlreadyPaid(err) && !o.Paid():
				errs <- fmt.Errorf("%s paid but %s", no, o.Status)
			case err != nil && !payby.IsAlreadyPaid(err):
				errs <- err
			default:
				errs <- nil
			}
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
