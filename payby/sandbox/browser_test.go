package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/cdp"
	"github.com/exitlane/exitlane/payby"
)

// TestBrowserPays opens a tokenUrl in headless Chromium, presses Pay, and
// checks the order is PAID_SUCCESS.
func TestBrowserPays(t *testing.T) {
	cdp.Require(t)
	sb, srv := start(t, nil)
	created, err := client(t, srv).CreateOrder(context.Background(), payby.CreateOrder{MerchantOrderNo: "WEB-1", Amount: 2500, Subject: "Parking fee", MerchantName: "Example Parking LLC"})
	if err != nil {
		t.Fatal(err)
	}
	// The whole exchange has a minute; then the browser is killed.
	b := cdp.Start(t, time.Minute)
	p := b.Open(created.TokenURL, false)
	p.WaitFor("the checkout page", `document.readyState === "complete" && !!document.getElementById("pay")`, 20*time.Second)
	if v := p.String(`document.getElementById("amount").textContent + "|" + document.getElementById("merchant").textContent`); v != "AED 25.00|Example Parking LLC" {
		t.Fatalf("page shows %s", v)
	}
	if _, err := p.Eval(`document.getElementById("pay").click()`); err != nil {
		t.Fatal(err)
	}
	p.WaitFor("the paid page", `document.readyState === "complete" && !!document.getElementById("status") && document.getElementById("status").textContent === "Paid. Thank you."`, 20*time.Second)
	info, err := sb.Order("WEB-1")
	if err != nil || info.Status != payby.StatusPaidSuccess {
		t.Fatalf("order after Pay: %+v %v", info, err)
	}
	o, err := client(t, srv).GetOrder(context.Background(), "WEB-1")
	if err != nil || o.Status != payby.StatusPaidSuccess {
		t.Fatalf("getOrder after Pay: %+v %v", o, err)
	}
}
