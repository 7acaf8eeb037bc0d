package office_test

// The console in a real headless Chromium, against a real PostgreSQL and
// two real lanes (station on pty devices and the PayBy sandbox): log in,
// both lanes live, a card changing without a reload, a paid visit in the
// day's report, a refund with a reason reaching the sandbox and the
// audit, a viewer without refund, a forged CSRF token refused, five wrong
// passwords locking the account. With EXITLANE_SCREENSHOTS=1 it writes
// the README's screenshots to docs/screenshots/office-*.png.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/internal/cdp"
	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/sitestore"
	"github.com/exitlane/exitlane/station"
)

func TestConsoleInBrowser(t *testing.T) {
	cdp.Require(t)
	url := pgtest.NewDB(t)
	store := migrated(t, url)
	ctx := ctxT(t)

	// Two lanes of site GRG01: X1 and X2, each on its own devices and
	// sandbox, both on the store.
	type laneRig struct {
		rig *simtest.Rig
		run *lane.Runner
	}
	lanes := map[string]laneRig{}
	for _, id := range []string{"X1", "X2"} {
		rig := simtest.New(t, "1s")
		cfg, err := config.Load(rig.ConfigPath)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Site.Lane, cfg.SiteStore.URL = id, url
		r := startLane(t, cfg, station.Options{Logger: simtest.Logger()})
		lanes[id] = laneRig{rig, r}
	}
	for id, l := range lanes {
		simtest.WaitFor(t, "lane "+id+" ready", 20*time.Second, func() bool { s := l.run.Snapshot(); return s.Ready && s.State == lane.Idle })
	}

	cfg := officeConfig(t, url)
	_, base := runWith(t, cfg, office.Options{Tick: 300 * time.Millisecond, CommandWait: 15 * time.Second})
	for _, u := range [][2]string{{"ada", office.RoleAdmin}, {"sam", office.RoleSupervisor}, {"vic", office.RoleViewer}} {
		if err := office.AddUser(ctx, store, u[0], u[1], "password-"+u[0], time.Now()); err != nil {
			t.Fatal(err)
		}
	}

	b := cdp.Start(t, 4*time.Minute)
	const wait = 20 * time.Second
	login := func(p *cdp.Page, name, pw string) {
		t.Helper()
		p.Navigate(base + "/login")
		p.WaitFor("the log-in form", `document.readyState === "complete" && !!document.querySelector("input[name=password]")`, wait)
		if _, err := p.Eval(fmt.Sprintf(`(function(){var f=document.querySelector("form[action='/login']");f.name.value=%q;f.password.value=%q;f.submit();return true})()`, name, pw)); err != nil {
			t.Fatal(err)
		}
	}

	sam := b.Open("about:blank", true)
	sam.Viewport(1440, 900, false)
	login(sam, "sam", "password-sam")
	sam.WaitFor("both lanes live", `location.pathname === "/" && !!document.getElementById("lane-X1") && !!document.getElementById("lane-X2")`, wait)
	sam.WaitFor("the cards idle", `document.getElementById("lane-X1").dataset.state === "idle" && document.getElementById("lane-X2").dataset.state === "idle"`, wait)

	// A ticket at X1: its card shows the fee due, without a reload.
	if _, err := sam.Eval(`window.notReloaded = true`); err != nil {
		t.Fatal(err)
	}
	x1 := lanes["X1"]
	if err := x1.rig.Scanner.Send(x1.rig.Ticket(t, 4242, 2*time.Hour+10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the QR at X1", wait, func() bool { s := x1.run.Snapshot(); return s.TokenURL != "" })
	snap := x1.run.Snapshot()
	no, due := snap.MerchantOrderNo, snap.Due
	sam.WaitFor("X1's card showing the fee", `window.notReloaded === true && document.getElementById("lane-X1").dataset.state === "fee_due" && document.getElementById("lane-X1").textContent.includes(`+fmt.Sprintf("%q", no)+`)`, wait)
	if got := sam.String(`document.getElementById("lane-X1").querySelector(".fee b").textContent`); got != due.String() {
		t.Errorf("X1's card shows %q due, want %q", got, due)
	}
	if err := x1.rig.Sandbox.Pay(no); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the barrier at X1", wait, func() bool { n, _ := x1.rig.Pulses(); return n == 1 })
	sam.WaitFor("X1 idle again", `window.notReloaded === true && document.getElementById("lane-X1").dataset.state === "idle"`, wait)
	simtest.WaitFor(t, "the paid order in the store", wait, func() bool {
		os, err := store.Orders(ctx, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
		return err == nil && len(os) == 1 && os[0].Paid == due
	})

	// The day's report shows it.
	sam.Navigate(base + "/reports?kind=day")
	sam.WaitFor("the day report", `!!document.querySelector(".totals[data-lane=site] .collected")`, wait)
	if got := sam.String(`document.querySelector(".totals[data-lane=site] .collected").textContent`); got != due.String() {
		t.Errorf("the site's takings today: %q, want %q", got, due)
	}
	if got := sam.String(`document.querySelector(".totals[data-lane=X1] .collected").textContent`); got != due.String() {
		t.Errorf("X1's takings today: %q, want %q", got, due)
	}

	// A refund with a reason, from the visit's history.
	vs, err := store.SearchVisits(ctx, sitestore.VisitQuery{OrderNo: no})
	if err != nil || len(vs) != 1 {
		t.Fatalf("the visit of %s: %+v %v", no, vs, err)
	}
	story := fmt.Sprintf("%s/history/X1/%d", base, vs[0].Visit)
	sam.Navigate(story)
	sam.WaitFor("the refund form", `!!document.querySelector("form[action='/actions/refund']")`, wait)
	if v, _ := sam.Eval(`!!document.querySelector("form[action='/actions/resolve']")`); string(v) != "false" {
		t.Error("a paid visit that exited is offered the \"paid, not exited\" resolve form")
	}
	// First with a forged token: refused.
	sam.Eval(`(function(){var f=document.querySelector("form[action='/actions/refund']");f.reason.value="forged";f.csrf.value="forged-token";f.submit();return true})()`)
	sam.WaitFor("the forged form refused", `document.readyState === "complete" && document.body.innerText.includes("expired or was not sent by this console")`, wait)
	sam.Navigate(story)
	sam.WaitFor("the refund form", `!!document.querySelector("form[action='/actions/refund']")`, wait)
	sam.Eval(`(function(){var f=document.querySelector("form[action='/actions/refund']");f.amount.value="5.00";f.reason.value="charged for the cinema validation";f.submit();return true})()`)
	sam.WaitFor("the lane's answer", `!!document.getElementById("result")`, 30*time.Second)
	if res := sam.String(`document.getElementById("result").textContent`); !strings.HasPrefix(res, "Done") {
		t.Fatalf("refund: %s", res)
	}
	if o, err := x1.rig.Sandbox.Order(no); err != nil || o.Refunded != 500 {
		t.Fatalf("the sandbox's order after the refund: %+v %v", o, err)
	}
	// A viewer watches the alarms page while X2 is closed: the alarm
	// appears there without a reload.
	vic := b.Open("about:blank", true)
	login(vic, "vic", "password-vic")
	vic.WaitFor("the lanes", `location.pathname === "/" && !!document.getElementById("lane-X1")`, wait)
	vic.Navigate(base + "/alarms")
	vic.WaitFor("the live alarms page", `document.readyState === "complete" && !!document.querySelector("[data-live-alarms]") && !document.getElementById("live-note").classList.contains("off")`, wait)
	if _, err := vic.Eval(`window.notReloaded = true`); err != nil {
		t.Fatal(err)
	}
	// Close lane X2, for the alarms.
	sam.Navigate(base + "/lanes/X2")
	sam.WaitFor("X2's actions", `!!document.querySelector("form[action='/actions/close_lane']")`, wait)
	sam.Eval(`(function(){var f=document.querySelector("form[action='/actions/close_lane']");f.reason.value="barrier arm being replaced";f.submit();return true})()`)
	sam.WaitFor("the lane's answer", `!!document.getElementById("result")`, 30*time.Second)
	if res := sam.String(`document.getElementById("result").textContent`); !strings.HasPrefix(res, "Done") {
		t.Fatalf("close lane: %s", res)
	}
	vic.WaitFor("the lane-closed alarm, live", `window.notReloaded === true && !!document.querySelector("#alarm-list li.alarm a[href='/lanes/X2']") && document.querySelector("#alarm-list").innerText.includes("Lane closed")`, wait)
	vic.WaitFor("the header's badge", `document.getElementById("alarm-count").textContent !== "0"`, wait)

	got := strings.Join(consoleAudit(t, store), "\n")
	for _, want := range []string{"sam login ok", "sam csrf_refused X1 POST /actions/refund", "sam refund X1 charged for the cinema validation ok:",
		"sam close_lane X2 barrier arm being replaced ok:"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %q:\n%s", want, got)
		}
	}

	// A viewer sees the visit but no refund form, and a refund posted
	// with the viewer's own token is refused.
	vic.Navigate(story)
	vic.WaitFor("the story", `document.readyState === "complete" && !!document.querySelector("ol.story")`, wait)
	if v, _ := vic.Eval(`!!document.querySelector("form[action='/actions/refund']")`); string(v) != "false" {
		t.Error("a viewer sees the refund form")
	}
	v, err := vic.Eval(fmt.Sprintf(`fetch("/actions/refund", {method: "POST", headers: {"Content-Type": "application/x-www-form-urlencoded"},
		body: new URLSearchParams({csrf: document.querySelector("form[action='/logout'] input[name=csrf]").value, lane: "X1", order_no: %q, reason: "viewer tries"})}).then(r => r.status)`, no))
	if err != nil || string(v) != "403" {
		t.Errorf("a viewer's refund: %s %v", v, err)
	}
	if o, _ := x1.rig.Sandbox.Order(no); o.Refunded != 500 {
		t.Errorf("refunded %v after the viewer's try", o.Refunded)
	}

	// Five wrong passwords lock the account; the right one is then refused.
	ada := b.Open("about:blank", true)
	for i := 1; i <= 5; i++ {
		login(ada, "ada", "not the password")
		ada.WaitFor(fmt.Sprintf("failure %d", i), `document.readyState === "complete" && !!document.querySelector(".msg.err")`, wait)
	}
	if msg := ada.String(`document.querySelector(".msg.err").textContent`); !strings.Contains(msg, "locked") {
		t.Errorf("after five failures: %q", msg)
	}
	login(ada, "ada", "password-ada")
	ada.WaitFor("refused while locked", `document.readyState === "complete" && !!document.querySelector(".msg.err") && document.querySelector(".msg.err").textContent.includes("locked")`, wait)

	screenshots(t, b, base, story)
}

// consoleAudit is the office audit, oldest first, as "user action lane
// reason result".
func consoleAudit(t *testing.T, store *sitestore.Store) []string {
	es, err := store.OfficeAudit(ctxT(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- {
		e := es[i]
		out = append(out, strings.Join(strings.Fields(e.User+" "+e.Action+" "+e.Lane+" "+e.Reason+" "+e.Result), " "))
	}
	return out
}

// screenshots takes the console's pages at a desktop's and a phone's
// width: into docs/screenshots with EXITLANE_SCREENSHOTS=1, else into a
// temporary directory (still taken: the pages must render at both).
func screenshots(t *testing.T, b *cdp.Browser, base, story string) {
	dir := t.TempDir()
	if os.Getenv("EXITLANE_SCREENSHOTS") != "" {
		dir = filepath.Join("..", "docs", "screenshots")
	}
	p := b.Open("about:blank", true)
	p.Navigate(base + "/login")
	p.WaitFor("the log-in form", `document.readyState === "complete" && !!document.querySelector("input[name=password]")`, 20*time.Second)
	p.Eval(`(function(){var f=document.querySelector("form[action='/login']");f.name.value="sam";f.password.value="password-sam";f.submit();return true})()`)
	p.WaitFor("the lanes", `location.pathname === "/" && !!document.getElementById("lane-X2")`, 20*time.Second)
	for _, size := range []struct {
		name          string
		width, height int
		mobile        bool
	}{{"desktop", 1440, 900, false}, {"phone", 390, 844, true}} {
		p.Viewport(size.width, size.height, size.mobile)
		for _, pg := range []struct{ name, path, ready string }{
			{"lanes", "/", `!!document.getElementById("lane-X2") && document.getElementById("lane-X2").dataset.state === "closed"`},
			{"alarms", "/alarms", `document.body.innerText.includes("Lane closed")`},
			{"report", "/reports?kind=day", `!!document.querySelector(".totals[data-lane=site]")`},
			{"history", strings.TrimPrefix(story, base), `!!document.querySelector("ol.story")`},
			{"lane", "/lanes/X1", `!!document.querySelector("form[action='/actions/close_lane']") && !!document.getElementById("lane-X1")`},
		} {
			p.Navigate(base + pg.path)
			p.WaitFor(pg.name, `document.readyState === "complete" && `+pg.ready, 20*time.Second)
			time.Sleep(300 * time.Millisecond) // the live stream's first cards
			png := p.Screenshot(false)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("office-%s-%s.png", pg.name, size.name)), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
