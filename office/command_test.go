package office_test

import (
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/internal/pgtest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/office"
	"github.com/exitlane/exitlane/sim/simtest"
	"github.com/exitlane/exitlane/station"
)

// A supervisor closes and opens a real lane from the console: each POST
// is answered with the lane's own answer, the lane is closed and open
// again, and the office audits each. How long a command takes from the
// console's POST to the lane's answer is measured, not asserted:
// EXITLANE_MEASURE=1 runs the 50 close/open pairs docs/office.md reports.
func TestCommandRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	pairs := 3
	if os.Getenv("EXITLANE_MEASURE") != "" && !raceBuild {
		pairs = 50
	}
	dbURL := pgtest.NewDB(t)
	store := migrated(t, dbURL)
	rig := simtest.New(t, "1s")
	cfg, err := config.Load(rig.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg.SiteStore.URL = dbURL
	r := startLane(t, cfg, station.Options{Logger: simtest.Logger()})
	simtest.WaitFor(t, "lane ready", 10*time.Second, func() bool {
		s := r.Snapshot()
		return s.Ready && s.State == lane.Idle
	})
	laneID := cfg.Site.Lane

	ocfg := officeConfig(t, dbURL)
	ocfg.Site.ID = cfg.Site.ID
	_, base := runWith(t, ocfg, office.Options{})
	if err := office.AddUser(ctxT(t), store, "sam", office.RoleSupervisor, "password-sam", time.Now()); err != nil {
		t.Fatal(err)
	}
	c := &consoleT{t: t, base: base, store: store}
	b := c.browser()
	b.mustLogin("sam")
	var page string
	simtest.WaitFor(t, "the lane's page", 10*time.Second, func() bool {
		res, p := b.do("GET", "/lanes/"+laneID, nil)
		page = p
		return res.StatusCode == http.StatusOK
	})
	tok := csrfOf(t, page)

	var lat []time.Duration
	send := func(kind string, want lane.State) {
		t.Helper()
		start := time.Now()
		res, body := b.do("POST", "/actions/"+kind, url.Values{"csrf": {tok}, "lane": {laneID}, "reason": {"measuring " + kind}})
		d := time.Since(start)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "Done:") {
			t.Fatalf("%s: %d\n%s", kind, res.StatusCode, body)
		}
		// The lane has acted by the time it answers.
		if s := r.Snapshot().State; s != want {
			t.Fatalf("%s: the lane is %v, want %v", kind, s, want)
		}
		lat = append(lat, d)
	}
	for range pairs {
		send("close_lane", lane.Closed)
		send("open_lane", lane.Idle)
	}
	slices.Sort(lat)
	median, p99 := lat[len(lat)/2], lat[(len(lat)*99+99)/100-1]
	t.Logf("command, console POST to the lane's answer shown, %d commands (%d close/open pairs): median %v, p99 %v, max %v",
		len(lat), pairs, median.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond))

	got := strings.Join(c.audit(), "\n")
	for _, want := range []string{"sam login ok", "sam close_lane ok: ", "sam open_lane ok: "} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "sam close_lane ok"); n != pairs {
		t.Errorf("%d close_lane audited, want %d", n, pairs)
	}
}

// The console's actions wait for their lanes' answers on one shared
// LISTEN connection, not one each.
func TestActionsShareOneListener(t *testing.T) {
	c := newConsole(t, func(o *office.Options) { o.CommandWait = 3 * time.Second })
	sam := c.browser()
	sam.mustLogin("sam")
	_, page := sam.do("GET", "/history", nil)
	tok := csrfOf(t, page)
	listeners := func() int {
		var n int
		if err := c.store.Pool().QueryRow(ctxT(t), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN "exitlane_command_done"'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	simtest.WaitFor(t, "the console listening", 10*time.Second, func() bool { return listeners() == 1 })
	// Three actions for a lane that does not answer, at once.
	const n = 3
	codes := make(chan int, n)
	for range n {
		go func() {
			form := url.Values{"csrf": {tok}, "lane": {"QUIET"}, "reason": {"testing the wait"}}
			res, err := sam.http.PostForm(c.base+"/actions/close_lane", form)
			if err != nil {
				codes <- 0
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	simtest.WaitFor(t, "the three commands submitted", 5*time.Second, func() bool {
		cmds, err := c.store.Commands(ctxT(t), time.Time{}, time.Time{}, 10)
		return err == nil && len(cmds) == n
	})
	if got := listeners(); got != 1 {
		t.Errorf("%d waiting actions hold %d LISTEN connections, want 1", n, got)
	}
	for range n {
		select {
		case code := <-codes:
			if code != http.StatusAccepted {
				t.Errorf("an unanswered action: %d, want 202", code)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an action did not end its wait")
		}
	}
}
