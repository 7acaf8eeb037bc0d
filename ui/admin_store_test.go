package ui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

// fakeSite is the station's SiteStatus.
type fakeSite struct {
	mu     sync.Mutex
	h      lane.StoreHealth
	in     []lane.Incident
	err    error
	reads  int
	called int
}

func (f *fakeSite) StoreHealth() lane.StoreHealth {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return f.h
}

func (f *fakeSite) Incidents(context.Context) ([]lane.Incident, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.called++
	return f.in, f.err
}

func (f *fakeSite) set(h lane.StoreHealth, in []lane.Incident, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.h, f.in, f.err = h, in, err
}

// The status tab shows the site store as the lane sees it and the site's
// open incidents, bilingual like the rest of the admin, read again after
// siteRefresh.
func TestAdminStatusShowsSiteStore(t *testing.T) {
	h := newAdminHarness(t)
	site := &fakeSite{h: lane.StoreHealth{Configured: true, Up: true, Shipped: 120}}
	dexit := lane.Incident{ID: 1, Kind: lane.IncidentDoubleExit, Ticket: "000777", Lane: "X2", Visit: 9, At: testNow.Add(-30 * time.Minute),
		Amount: 0, OtherLane: "X1", OtherVisit: 4, OtherAt: testNow.Add(-31 * time.Minute), OtherAmount: money.MustParse("20.00")}
	dpay := lane.Incident{ID: 2, Kind: lane.IncidentDoublePayment, Ticket: "000888", Lane: "X1", At: testNow.Add(-10 * time.Minute),
		Amount: money.MustParse("15.00"), No: "CM-X1-888-1", OtherLane: "X2", OtherAt: testNow.Add(-40 * time.Minute),
		OtherAmount: money.MustParse("15.00"), OtherNo: "CM-X2-888-1", Refund: money.MustParse("15.00")}
	site.in = []lane.Incident{dexit, dpay}
	h.a.opt.Site = site
	h.enter(t, "2468")

	content := func() string { return strings.Join(textStrings(h.w.Canvas().Content()), "\n") }
	has := func(what string, want ...string) {
		t.Helper()
		c := content()
		for _, w := range want {
			if !strings.Contains(c, w) {
				t.Errorf("%s: no %q on the status tab:\n%s", what, w, c)
			}
		}
	}
	has("up", "Site store · قاعدة بيانات الموقع", "State", "up", "Open incidents",
		"Double exit: ticket 000777 out at lane X2 26 Nov 09:00 (AED 0.00) and at lane X1 26 Nov 08:59 (AED 20.00)",
		"Double payment: ticket 000888 paid AED 15.00 at lane X1 26 Nov 09:20 (CM-X1-888-1) after AED 15.00 at lane X2 26 Nov 08:50; refund proposed: AED 15.00")

	// Down: since when, and the rows behind; read again only after
	// siteRefresh.
	site.set(lane.StoreHealth{Configured: true, Up: false, Since: testNow.Add(-5 * time.Minute), Shipped: 120, Behind: 37, LastErr: "dial tcp: refused"},
		nil, errors.New("store down"))
	h.a.Show(baseSnap())
	has("before the refresh", "up")
	h.now = h.now.Add(siteRefresh)
	h.a.Show(baseSnap())
	has("down", "down since 26 Nov 09:25:00 · rows behind: 37", "cannot be read now")

	// Back, replaying.
	site.set(lane.StoreHealth{Configured: true, Up: true, Since: testNow, Shipped: 140, Behind: 17}, nil, nil)
	h.now = h.now.Add(siteRefresh)
	h.a.Show(baseSnap())
	has("replaying", "replaying: 17 rows behind", "none")

	// In Arabic.
	site.set(lane.StoreHealth{Configured: true, Up: true, Shipped: 157}, []lane.Incident{dpay}, nil)
	h.now = h.now.Add(siteRefresh)
	h.a.SetLang(LangArabic)
	has("Arabic", "قاعدة بيانات الموقع · Site store", "يعمل", "حوادث مفتوحة",
		"دفع مزدوج: التذكرة 000888 دُفع عنها 15.00 درهم في المسار X1 2026-11-26 09:20 (CM-X1-888-1) بعد 15.00 درهم في المسار X2 2026-11-26 08:50؛ مقترح استرداد: 15.00 درهم")

	// A lane without a site store says so, and asks for no incidents.
	site.set(lane.StoreHealth{}, nil, nil)
	calls := site.called
	h.now = h.now.Add(siteRefresh)
	h.a.SetLang(LangEnglish)
	has("not configured", "Site store", "not configured")
	if site.called != calls {
		t.Error("incidents asked of a lane without a site store")
	}
	if c := content(); strings.Contains(c, "Open incidents") {
		t.Errorf("incidents listed without a site store:\n%s", c)
	}
}
