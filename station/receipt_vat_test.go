package station

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/money"
)

// The receipt's VAT and the ledger's VAT of one payment are the same
// number for every amount and rate (both are money.VATPart), so a shift
// report's VAT is the sum of the receipts' VAT lines. A sweep of amounts
// (halves, round figures, the largest) at whole and fractional rates,
// each paid, exited and read back as the printer reads it.
func TestReceiptAndLedgerVATAgree(t *testing.T) {
	ctx := context.Background()
	db, err := ledger.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cfg := &config.Config{Site: config.Site{Name: "Test Garage", NameAr: "مواقف الاختبار", Lane: "X1", TRN: "100123456700003",
		Address: "Sheikh Zayed Road, Dubai", Location: time.UTC}}
	p := &printer{cfg: cfg}

	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	amounts := []money.Fils{1, 3, 5, 10, 11, 21, 99, 100, 105, 203, 1000, 1250, 1999, 2000, 2050, 2500, 3333, 4000, 9999, 12345, 100000, 777777, money.Max}
	rates := []int64{50, 100, 250, 500, 770, 1000, 1500, 1900, 2000, 2500, 10000}
	var sum money.Fils
	visit := int64(0)
	for _, rate := range rates {
		for _, amount := range amounts {
			visit++
			at := t0.Add(time.Duration(visit) * time.Second)
			tk, no := fmt.Sprintf("T%d", visit), fmt.Sprintf("S-X1-T%d-1", visit)
			for _, r := range []lane.Record{
				lane.VisitRec{Visit: visit, At: at, TicketID: tk, Ticket: lane.TicketInfo{Serial: tk, Format: lane.FormatSigned},
					Quote: lane.Quote{Fee: amount, Due: amount, VATRate: rate}},
				lane.OrderRec{No: no, Visit: visit, TicketID: tk, Key: "S-X1-" + tk, Attempt: 1, Amount: amount, At: at, Expire: at.Add(5 * time.Minute), VATRate: rate},
				lane.ExitRec{Visit: visit, TicketID: tk, At: at, Cause: lane.CausePaid, Amount: amount, No: no, Auth: fmt.Sprintf("%d-1", visit),
					Paid:    &lane.StatusRec{No: no, State: lane.OrderState{Status: lane.OrderPaid, PayByStatus: "PAID_SUCCESS", Paid: amount}, Source: lane.SourcePoll, At: at},
					VATRate: rate},
			} {
				if err := db.Record(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			x, err := db.ExitReceipt(ctx, visit)
			if err != nil {
				t.Fatal(err)
			}
			o, err := db.GetOrder(ctx, no)
			if err != nil {
				t.Fatal(err)
			}
			r := p.receipt(x)
			if r.VATRate != rate || r.Paid != amount {
				t.Fatalf("receipt of %s at %d: rate %d, paid %s", amount, rate, r.VATRate, r.Paid)
			}
			if r.VAT() != o.VAT || r.VAT() != x.VAT || r.VAT() != money.VATPart(amount, rate) {
				t.Errorf("%s at %d: receipt VAT %d, ledger order VAT %d, exit receipt VAT %d", amount, rate, r.VAT(), o.VAT, x.VAT)
			}
			sum += r.VAT()
		}
	}
	tot, err := db.Totals(ctx, t0, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if tot.VAT != sum || tot.ByCause[lane.CausePaid].VAT != sum {
		t.Errorf("ledger totals VAT %s (paid exits %s), receipts add up to %s", tot.VAT, tot.ByCause[lane.CausePaid].VAT, sum)
	}
}

// The receipt carries the site's Arabic name (site.name_ar), which the
// printer prints as a picture.
func TestReceiptCarriesArabicSiteName(t *testing.T) {
	cfg := &config.Config{Site: config.Site{Name: "Example Mall Garage", NameAr: "مواقف مول المثال", Lane: "X1", Location: time.UTC}}
	p := &printer{cfg: cfg}
	x := ledger.ExitReceipt{Visit: 1, Serial: "42", Entry: time.Unix(1e9, 0), Exit: time.Unix(1e9+3600, 0), Fee: 2000, Paid: 2000, OrderNo: "S-X1-42-1"}
	r := p.receipt(x)
	if r.SiteAr != "مواقف مول المثال" || r.Site != "Example Mall Garage" {
		t.Fatalf("site %q, Arabic %q", r.Site, r.SiteAr)
	}
	cfg.Site.NameAr = ""
	if r := p.receipt(x); r.SiteAr != "" {
		t.Fatalf("no Arabic name configured, the receipt says %q", r.SiteAr)
	}
}
