package office_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/sitestore"
)

// The evaluator raises the alarms of the lanes' statuses and of the
// store's records, and clears them when their cause is gone.
func TestAlarmsRaisedAndCleared(t *testing.T) {
	c := newConsole(t, nil)
	ctx := ctxT(t)
	// A payment that no exit used: "paid, not exited".
	recs := paidVisit(1, "1001", "GRG01-A-1001-1", 1500, time.Now().Add(-time.Hour))
	for i, r := range recs[:4] { // visit, order, created, paid: no exit
		if err := c.store.Apply(ctx, "A", int64(i+1), r); err != nil {
			t.Fatal(err)
		}
	}
	devs := map[string]string{sitestore.DevScanner: sitestore.DevUp, sitestore.DevRelay: sitestore.DevDown, sitestore.DevPayBy: sitestore.DevDown}
	if err := c.store.PublishLaneStatus(ctx, sitestore.LaneStatus{Lane: "A", Seq: 1, State: "fault", Ready: true, Notice: "barrier_fault", Devices: devs,
		StoreBehind: 150}); err != nil {
		t.Fatal(err)
	}
	open := func() string {
		as, _, err := c.store.Alarms(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var ks []string
		for _, a := range as {
			ks = append(ks, a.Kind+":"+a.Lane+":"+a.Subject)
		}
		return strings.Join(ks, " ")
	}
	want := []string{"paid_not_exited:A:A/1", "lane_fault:A:", "device_down:A:relay", "payby_failing:A:", "replication_behind:A:"}
	simtest.WaitFor(t, "the alarms", 10*time.Second, func() bool {
		got := open()
		for _, w := range want {
			if !strings.Contains(got, w) {
				return false
			}
		}
		return true
	})
	// The fault's detail is what the lane's driver sees, in the kiosk's words.
	as, _, err := c.store.Alarms(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Kind == "lane_fault" && a.Detail != "The barrier did not open" {
			t.Errorf("lane fault detail %q, want the kiosk's words for barrier_fault", a.Detail)
		}
	}
	// The visit's story offers a supervisor the resolve form for it.
	sam := c.browser()
	sam.mustLogin("sam")
	if _, page := sam.do("GET", "/history/A/1", nil); !strings.Contains(page, `action="/actions/resolve"`) || !strings.Contains(page, `action="/actions/refund"`) {
		t.Errorf("the story of a paid, not exited visit lacks the resolve or refund form:\n%s", page)
	}
	// The lane recovers and the payment is resolved: all cleared.
	devs[sitestore.DevRelay], devs[sitestore.DevPayBy] = sitestore.DevUp, sitestore.DevUp
	if err := c.store.PublishLaneStatus(ctx, sitestore.LaneStatus{Lane: "A", Seq: 2, State: "idle", Devices: devs}); err != nil {
		t.Fatal(err)
	}
	if err := c.store.Apply(ctx, "A", 5, lane.ResolveRec{No: "GRG01-A-1001-1", At: time.Now(), Attendant: "sam", Reason: "credited"}); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "the alarms cleared", 10*time.Second, func() bool { return open() == "" })
	if _, page := sam.do("GET", "/history/A/1", nil); strings.Contains(page, `action="/actions/resolve"`) || !strings.Contains(page, `action="/actions/refund"`) {
		t.Errorf("the story of a resolved visit offers to resolve it again, or no refund:\n%s", page)
	}
	_, cleared, err := c.store.Alarms(ctx, 100)
	if err != nil || len(cleared) < len(want) {
		t.Fatalf("cleared: %+v %v", cleared, err)
	}
	for _, a := range cleared {
		if a.Cleared.Before(a.Raised) {
			t.Errorf("%s cleared before raised", a.Kind)
		}
	}
	// The alarms page lists them, with links to what resolves them.
	b := c.browser()
	b.mustLogin("vic")
	_, page := b.do("GET", "/alarms", nil)
	for _, w := range []string{"Paid, not exited", `href="/history/A/1"`, `href="/lanes/A"`, "Replication behind"} {
		if !strings.Contains(page, w) {
			t.Errorf("alarms page lacks %s", w)
		}
	}
	// Not reporting: a status older than 15 s.
	if _, err := c.store.Pool().Exec(ctx, `UPDATE lane_status SET updated_at = now() - interval '20 seconds'`); err != nil {
		t.Fatal(err)
	}
	simtest.WaitFor(t, "not reporting", 10*time.Second, func() bool { return open() == "not_reporting:A:" })
	_, page = b.do("GET", "/", nil)
	if !strings.Contains(page, "Not reporting") {
		t.Error("the lanes page does not say the lane is not reporting")
	}
}
