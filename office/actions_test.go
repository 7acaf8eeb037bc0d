package office_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/sitestore"
	"github.com/exitlane/exitlane/station"
)

// A real lane whose PayBy notifications come through the office, with
// remote opening on at the office and at the lane: a paid visit's story
// holds the notification, every status change, the barrier and the
// attendant actions; a full refund from the console reaches the sandbox;
// a lane in fault is cleared; the barrier opens once from the console;
// a viewer can do none of it.
func TestConsoleActsOnRealLane(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	dbURL := pgtest.NewDB(t)
	store := migrated(t, dbURL)
	rig := simtest.New(t, "1s")
	ocfg := officeConfig(t, dbURL)
	ocfg.Office.RemoteOpen = true
	ocfg.Office.PayByPublicKeyFile = filepath.Join(rig.Dir, "payby.pub")
	_, base := runWith(t, ocfg, office.Options{Tick: 200 * time.Millisecond, CommandWait: 15 * time.Second})

	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SiteStore.URL, cfg.SiteStore.RemoteOpen = dbURL, true
	cfg.PayBy.NotifyURL = base + ocfg.Office.NotifyPath
	cfg.PayBy.PollInterval = 10 * time.Minute // the notification, not a poll
	r := startLane(t, cfg, station.Options{Logger: simtest.Logger()})
	simtest.WaitFor(t, "lane ready", 20*time.Second, func() bool { s := r.Snapshot(); return s.Ready && s.State == lane.Idle })
	ctx := ctxT(t)
	for _, u := range [][2]string{{"sam", office.RoleSupervisor}, {"vic", office.RoleViewer}} {
		if err := office.AddUser(ctx, store, u[0], u[1], "password-"+u[0], time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	c := &consoleT{t: t, base: base, store: store}
	sam, vic := c.browser(), c.browser()
	sam.mustLogin("sam")
	vic.mustLogin("vic")
	var page string
	simtest.WaitFor(t, "the lane's page", 10*time.Second, func() bool {
		res, p := sam.do("GET", "/lanes/X1", nil)
		page = p
		return res.StatusCode == http.StatusOK
	})
	tok := csrfOf(t, page)
	act := func(kind string, form url.Values) string {
		t.Helper()
		form.Set("csrf", tok)
		form.Set("lane", "X1")
		res, body := sam.do("POST", "/actions/"+kind, form)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Done:") {
			t.Fatalf("%s: %d\n%s", kind, res.StatusCode, body)
		}
		return body
	}

	// A paid visit; the sandbox's signed notification reaches the lane
	// through the office.
	if err := rig.Scanner.Send(rig.Ticket(t, 7001, 2*time.Hour+10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the QR", 10*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	snap := r.Snapshot()
	no, due := snap.MerchantOrderNo, snap.Due
	if err := rig.Sandbox.Pay(no); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the barrier", 10*time.Second, func() bool { n, _ := rig.Pulses(); return n == 1 })
	var vs []sitestore.VisitRow
	simtest.WaitFor(t, "the visit in the store", 10*time.Second, func() bool {
		vs, err = store.SearchVisits(ctx, sitestore.VisitQuery{OrderNo: no})
		return err == nil && len(vs) == 1
	})
	storyPath := fmt.Sprintf("/history/X1/%d", vs[0].Visit)

	// A full refund: the amount left empty.
	body := act("refund", url.Values{"order_no": {no}, "amount": {""}, "reason": {"goodwill, full refund"}})
	if !strings.Contains(body, "refunded in full") {
		t.Errorf("the refund's answer:\n%s", body)
	}
	if o, err := rig.Sandbox.Order(no); err != nil || o.Refunded != due {
		t.Fatalf("the sandbox's order after a full refund: refunded %v, want %v (%v)", o.Refunded, due, err)
	}

	// The story, once the lane has shipped it all.
	story := func() string { _, p := vic.do("GET", storyPath, nil); return p }
	wants := []string{`class="ev notification`, "PAID_SUCCESS", `class="ev status`, "created", "paid", `class="ev barrier`,
		`class="ev exit`, `class="ev attendant`, "office:sam", "goodwill, full refund", `class="ev refund`}
	simtest.WaitFor(t, "the whole story", 15*time.Second, func() bool {
		p := story()
		for _, w := range wants {
			if !strings.Contains(p, w) {
				return false
			}
		}
		return true
	})
	if ns, err := store.Notifications(ctx, no); err != nil || len(ns) == 0 {
		t.Errorf("no notification stored for %s: %v", no, err)
	}

	// A viewer sees no action form and is refused.
	_, vpage := vic.do("GET", "/lanes/X1", nil)
	for _, f := range []string{"/actions/open_barrier", "/actions/clear_fault", "/actions/close_lane"} {
		if strings.Contains(vpage, `action="`+f+`"`) {
			t.Errorf("a viewer sees the form of %s", f)
		}
	}
	if res, _ := vic.do("POST", "/actions/open_barrier", url.Values{"csrf": {csrfOf(t, vpage)}, "lane": {"X1"}, "reason": {"viewer tries"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a viewer's remote open: %d", res.StatusCode)
	}

	// Remote open: the form is there, and it pulses the barrier once.
	if !strings.Contains(page, `action="/actions/open_barrier"`) {
		t.Error("a supervisor does not see the open-barrier form with remote_open on")
	}
	simtest.WaitFor(t, "idle", 10*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	act("open_barrier", url.Values{"reason": {"driver lost the ticket, paid at the desk"}})
	simtest.WaitFor(t, "the remote pulse", 10*time.Second, func() bool { n, _ := rig.Pulses(); return n == 2 })
	time.Sleep(500 * time.Millisecond)
	if n, _ := rig.Pulses(); n != 2 {
		t.Errorf("%d pulses after one remote open, want 2", n)
	}

	// A lane in fault: the relay unplugged while a fee is due, then back;
	// the console clears it.
	simtest.WaitFor(t, "idle", 10*time.Second, func() bool { return r.Snapshot().State == lane.Idle })
	if err := rig.Scanner.Send(rig.Ticket(t, 7002, 3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the second QR", 10*time.Second, func() bool { return r.Snapshot().TokenURL != "" })
	rig.Relay.Unplug()
	simtest.WaitFor(t, "fault", 10*time.Second, func() bool { return r.Snapshot().State == lane.Fault })
	if err := rig.Relay.Replug(); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "relay back", 10*time.Second, func() bool { return r.Snapshot().Health.Relay == lane.DeviceOK })
	if s := r.Snapshot().State; s != lane.Fault {
		t.Fatalf("the lane is %v before the clear, want fault", s)
	}
	act("clear_fault", url.Values{"reason": {"relay cable reseated"}})
	if s := r.Snapshot().State; s != lane.Idle {
		t.Errorf("after clear_fault the lane is %v, want idle", s)
	}
	if n, _ := rig.Pulses(); n != 2 {
		t.Errorf("%d pulses after the fault, want 2", n)
	}

	got := strings.Join(c.audit(), "\n")
	for _, w := range []string{"sam refund ok: refunded in full", "vic refused POST /actions/open_barrier",
		"sam open_barrier ok: barrier opened", "sam clear_fault ok: fault cleared"} {
		if !strings.Contains(got, w) {
			t.Errorf("audit lacks %q:\n%s", w, got)
		}
	}
}

// With remote opening off at the office, even an admin's lane page has
// no open-barrier form, and the POST is refused and audited.
func TestRemoteOpenOff(t *testing.T) {
	c := newConsole(t, nil)
	if err := c.store.PublishLaneStatus(ctxT(t), sitestore.LaneStatus{Lane: "A", Seq: 1, State: "idle"}); err != nil {
		t.Fatal(err)
	}
	ada := c.browser()
	ada.mustLogin("ada")
	res, page := ada.do("GET", "/lanes/A", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, `action="/actions/clear_fault"`) {
		t.Fatalf("the lane's page: %d\n%s", res.StatusCode, page)
	}
	if strings.Contains(page, `action="/actions/open_barrier"`) {
		t.Error("the open-barrier form is shown with remote_open off")
	}
	if res, _ := ada.do("POST", "/actions/open_barrier", url.Values{"csrf": {csrfOf(t, page)}, "lane": {"A"}, "reason": {"stuck car"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("remote open with it off: %d", res.StatusCode)
	}
	if cmds, err := c.store.Commands(ctxT(t), time.Time{}, time.Time{}, 10); err != nil || len(cmds) != 0 {
		t.Errorf("commands sent: %+v %v", cmds, err)
	}
	if got := strings.Join(c.audit(), "\n"); !strings.Contains(got, "ada open_barrier refused: Opening a barrier from the office is off") {
		t.Errorf("audit:\n%s", got)
	}
}
