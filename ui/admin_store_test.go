package ui

import (
	"context"
	"errors"
	"image/png"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

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

	takings      lane.SiteTakings
	unresolved   []lane.SiteUnresolved
	reportErr    error
	takingsAsked [][2]time.Time
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

func (f *fakeSite) SiteTakings(_ context.Context, from, to time.Time) (lane.SiteTakings, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.takingsAsked = append(f.takingsAsked, [2]time.Time{from, to})
	return f.takings, f.reportErr
}

func (f *fakeSite) SiteUnresolved(context.Context) ([]lane.SiteUnresolved, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unresolved, f.reportErr
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

// siteFixture is a site of two lanes, this one ("Exit 2", the harness's
// snapshot) and X1, with an entry of each to resolve.
func siteFixture() *fakeSite {
	x1 := lane.Totals{Visits: 10, Exits: 9, Collected: money.MustParse("105.00"), VAT: money.MustParse("5.00"), Net: money.MustParse("100.00"),
		ByCause: map[lane.Cause]lane.CauseTotal{lane.CausePaid: {Count: 7, Amount: money.MustParse("105.00"), VAT: money.MustParse("5.00")},
			lane.CauseUnableToCollect: {Count: 2, Amount: money.MustParse("42.00"), VAT: money.MustParse("2.00")}}}
	x2 := lane.Totals{Visits: 4, Exits: 4, Collected: money.MustParse("21.00"), VAT: money.MustParse("1.00"), Net: money.MustParse("20.00"),
		ByCause: map[lane.Cause]lane.CauseTotal{lane.CausePaid: {Count: 4, Amount: money.MustParse("21.00"), VAT: money.MustParse("1.00")}}}
	site := lane.Totals{Visits: 14, Exits: 13, Collected: money.MustParse("126.00"), VAT: money.MustParse("6.00"), Net: money.MustParse("120.00"),
		Owed: money.MustParse("42.00"),
		ByCause: map[lane.Cause]lane.CauseTotal{lane.CausePaid: {Count: 11, Amount: money.MustParse("126.00"), VAT: money.MustParse("6.00")},
			lane.CauseUnableToCollect: {Count: 2, Amount: money.MustParse("42.00"), VAT: money.MustParse("2.00")}}}
	return &fakeSite{h: lane.StoreHealth{Configured: true, Up: true},
		takings: lane.SiteTakings{Site: site, Lanes: map[string]lane.Totals{"X1": x1, "Exit 2": x2}},
		unresolved: []lane.SiteUnresolved{
			{Lane: "X1", Unresolved: lane.Unresolved{Kind: lane.UnresolvedPaidNotExited, Visit: 3, Ticket: "000301", MerchantOrderNo: "CM-X1-3-1",
				Status: "PAID_SUCCESS", Amount: money.MustParse("30.00"), Since: testNow.Add(-50 * time.Minute)}},
			{Lane: "Exit 2", Unresolved: lane.Unresolved{Kind: lane.UnresolvedUnableToCollect, Visit: 6, Ticket: "000121",
				Amount: money.MustParse("10.00"), Since: testNow.Add(-20 * time.Minute)}},
		}}
}

func countButtons(root fyne.CanvasObject, label string) int {
	n := 0
	walk(root, func(o fyne.CanvasObject) bool {
		if b, ok := o.(*bigButton); ok && b.Text == label {
			n++
		}
		return false
	})
	return n
}

// With a site store, the reports tab switches between this lane and the
// whole site: the site's takings today and in the shift by cause with VAT
// and net, each lane's, and the site's unresolved entries with their
// lanes; only this lane's entries can be resolved here. Both languages.
func TestAdminReportsWholeSite(t *testing.T) {
	h := newAdminHarness(t)
	site := siteFixture()
	h.a.opt.Site = site
	h.enter(t, "2468")
	tapButton(t, h.w, "Reports")
	content := func() string { return strings.Join(textStrings(h.w.Canvas().Content()), "\n") }
	has := func(what string, want ...string) {
		t.Helper()
		c := content()
		for _, w := range want {
			if !strings.Contains(c, w) {
				t.Errorf("%s: no %q on the reports tab:\n%s", what, w, c)
			}
		}
	}
	hasNot := func(what string, not ...string) {
		t.Helper()
		c := content()
		for _, w := range not {
			if strings.Contains(c, w) {
				t.Errorf("%s: %q on the reports tab:\n%s", what, w, c)
			}
		}
	}
	// This lane by default: its ledger, and no store read for it.
	root := h.w.Canvas().Content()
	if findButton(root, "This lane") == nil || findButton(root, "Whole site") == nil {
		t.Fatalf("no switch on the reports tab:\n%s", content())
	}
	has("lane", "Today · اليوم", "AED 612.50", "ticket 000118")
	hasNot("lane", "Whole site today", "000301")
	if len(site.takingsAsked) != 0 {
		t.Errorf("the lane view read the site's takings: %v", site.takingsAsked)
	}

	tapButton(t, h.w, "Whole site")
	has("site", "Whole site today · الموقع كله اليوم", "Whole site during this shift",
		"AED 126.00", "AED 6.00", "AED 120.00",
		"11 · AED 126.00 paid · VAT AED 6.00 · net AED 120.00",
		"2 · AED 42.00 owed · VAT AED 2.00 · net AED 40.00",
		"By lane", "Lane Exit 2", "exits 4 · collected AED 21.00 · VAT AED 1.00 · net AED 20.00",
		"Lane X1", "exits 9 · collected AED 105.00 · VAT AED 5.00 · net AED 100.00",
		"Unresolved, whole site",
		"Lane X1 · paid, not exited · ticket 000301 · AED 30.00 · CM-X1-3-1 PAID_SUCCESS · since 26 Nov 08:40 · resolved at lane X1 or in the office",
		"unable to collect · ticket 000121 · AED 10.00")
	hasNot("site", "AED 612.50", "ticket 000118")
	// Today from the site's midnight to now; the shift from its start.
	if len(site.takingsAsked) != 2 || !site.takingsAsked[0][1].Equal(testNow) || !site.takingsAsked[1][0].Equal(testNow.Add(-3*time.Hour)) {
		t.Errorf("takings asked for %v", site.takingsAsked)
	}
	// X1's paid entry has no refund here; this lane's has its Resolve.
	root = h.w.Canvas().Content()
	if n := countButtons(root, "Refund"); n != 0 {
		t.Errorf("%d refund buttons for another lane's entry", n)
	}
	if n := countButtons(root, "Resolve"); n != 1 {
		t.Errorf("%d resolve buttons, want this lane's one", n)
	}
	tapButton(t, h.w, "Resolve")
	if x, ok := h.con.next(t).(lane.Resolve); !ok || x.Attendant != "A1" {
		t.Errorf("resolve: %#v", x)
	}

	h.a.SetLang(LangArabic)
	has("Arabic", "هذا المسار", "الموقع كله", "الموقع كله اليوم · Whole site today", "حسب المسار", "المسار X1",
		"المخارج 9 · المحصّل 105.00 درهم · الضريبة 5.00 درهم · الصافي 100.00 درهم",
		"غير محسوم في الموقع كله", "يُحسم في المسار X1 أو في المكتب")
	h.a.SetLang(LangEnglish)

	tapButton(t, h.w, "This lane")
	has("back", "AED 612.50", "ticket 000118")
	hasNot("back", "Whole site today")
}

// The store down: the whole site says it cannot be shown, and the lane's
// view still works. A lane without a site store has no switch.
func TestAdminReportsWholeSiteStoreDown(t *testing.T) {
	h := newAdminHarness(t)
	site := siteFixture()
	site.h = lane.StoreHealth{Configured: true, Up: false, Since: testNow}
	site.reportErr = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")
	h.a.opt.Site = site
	h.enter(t, "2468")
	tapButton(t, h.w, "Reports")
	tapButton(t, h.w, "Whole site")
	c := strings.Join(textStrings(h.w.Canvas().Content()), "\n")
	if !strings.Contains(c, "The site store cannot be reached, so the whole site cannot be shown now; this lane's view still works.") ||
		strings.Contains(c, "Whole site today") {
		t.Fatalf("store down:\n%s", c)
	}
	h.a.SetLang(LangArabic)
	if c := strings.Join(textStrings(h.w.Canvas().Content()), "\n"); !strings.Contains(c, "تعذر الوصول إلى قاعدة بيانات الموقع") {
		t.Errorf("store down in Arabic:\n%s", c)
	}
	h.a.SetLang(LangEnglish)
	tapButton(t, h.w, "This lane")
	if c := strings.Join(textStrings(h.w.Canvas().Content()), "\n"); !strings.Contains(c, "AED 612.50") || !strings.Contains(c, "ticket 000118") {
		t.Fatalf("the lane's view with the store down:\n%s", c)
	}
	// Back up: Refresh reads it again.
	site.set(lane.StoreHealth{Configured: true, Up: true}, nil, nil)
	site.mu.Lock()
	site.reportErr = nil
	site.mu.Unlock()
	tapButton(t, h.w, "Whole site")
	if c := strings.Join(textStrings(h.w.Canvas().Content()), "\n"); !strings.Contains(c, "Whole site today") {
		t.Fatalf("store back:\n%s", c)
	}

	h2 := newAdminHarness(t)
	h2.a.opt.Site = &fakeSite{}
	h2.enter(t, "2468")
	tapButton(t, h2.w, "Reports")
	if findButton(h2.w.Canvas().Content(), "Whole site") != nil {
		t.Error("a switch to the whole site without a site store")
	}
}

// The status tab reads the store again every siteRefresh while shown,
// with no snapshot arriving, and stops when another tab is shown.
func TestAdminStatusStoreTicks(t *testing.T) {
	h := newAdminHarness(t)
	site := &fakeSite{h: lane.StoreHealth{Configured: true, Up: true}}
	h.a.opt.Site = site
	h.enter(t, "2468")
	content := func() string { return strings.Join(textStrings(h.w.Canvas().Content()), "\n") }
	if h.tick == nil || !strings.Contains(content(), "up") {
		t.Fatalf("no refresh armed (%d), or:\n%s", h.ticks, content())
	}
	site.set(lane.StoreHealth{Configured: true, Up: false, Since: testNow.Add(-time.Minute), Behind: 3}, nil, errors.New("down"))
	h.tick() // 5 s later, the lane idle: no Show
	if c := content(); !strings.Contains(c, "down since 26 Nov 09:29:00 · rows behind: 3") {
		t.Fatalf("after a tick:\n%s", c)
	}
	if h.tick == nil {
		t.Fatal("not re-armed")
	}
	arms := h.ticks
	tapButton(t, h.w, "Actions")
	h.tick()
	if h.tick != nil || h.ticks != arms {
		t.Errorf("re-armed on another tab (%d arms)", h.ticks-arms)
	}
	tapButton(t, h.w, "Status")
	if h.tick == nil {
		t.Error("not armed again on the status tab")
	}
	h.a.Close()
	if h.tick != nil {
		t.Error("armed after Close")
	}
}

// TestAdminSiteReportsMarkup renders the reports tab's whole site view in
// both languages.
func TestAdminSiteReportsMarkup(t *testing.T) {
	for _, lang := range []string{LangEnglish, LangArabic} {
		t.Run(lang, func(t *testing.T) {
			h := newAdminHarness(t)
			h.a.opt.Site = siteFixture()
			h.enter(t, "2468")
			tapButton(t, h.w, "Reports")
			tapButton(t, h.w, "Whole site")
			if lang == LangArabic {
				h.a.SetLang(LangArabic)
			}
			test.AssertRendersToMarkup(t, "admin/1920x1080/"+lang+"/reports-site.xml", h.w.Canvas())
			if os.Getenv("EXITLANE_SHOT") != "" {
				f, err := os.Create(os.Getenv("EXITLANE_SHOT") + "-" + lang + ".png")
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := png.Encode(f, h.w.Canvas().Capture()); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
