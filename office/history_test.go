package office_test

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sim/simtest"
)

// shipTo writes records into the store as lane laneID ships them.
func (c *consoleT) shipTo(laneID string, seq *int64, recs []lane.Record) {
	c.t.Helper()
	for _, r := range recs {
		*seq++
		if err := c.store.Apply(ctxT(c.t), laneID, *seq, r); err != nil {
			c.t.Fatal(err)
		}
	}
}

var (
	// anyTimeRE is anything on a page that looks like a time of day
	// with a date, in whatever layout.
	anyTimeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2}| ?UTC| ?GMT)?`)
	// utcTimeRE is a time written in UTC.
	utcTimeRE = regexp.MustCompile(`\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z\b| ?UTC\b| ?GMT\b|\+00:?00\b)`)
)

// Every time on every page is in the site's zone (Asia/Dubai), written
// "2006-01-02 15:04:05": the story's entry and expiry times included.
func TestTimesInSiteZone(t *testing.T) {
	c := newConsole(t, nil)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	var seqA int64
	c.shipTo("A", &seqA, paidVisit(1, "1001", "GRG01-A-1001-1", 1500, at))
	// A second visit paid and not exited, for an alarm with its time.
	c.shipTo("A", &seqA, paidVisit(2, "1002", "GRG01-A-1002-1", 2000, at.Add(time.Minute))[:4])
	sam := c.browser()
	sam.mustLogin("sam")
	simtest.WaitFor(t, "the paid, not exited alarm", 10*time.Second, func() bool {
		_, page := sam.do("GET", "/alarms", nil)
		return strings.Contains(page, "GRG01-A-1002-1")
	})
	const layout = "2006-01-02 15:04:05"
	for _, path := range []string{"/history/A/1", "/history/A/2", "/history", "/history?serial=1001", "/alarms", "/audit", "/"} {
		_, page := sam.do("GET", path, nil)
		if m := utcTimeRE.FindString(page); m != "" {
			t.Errorf("%s shows a time in UTC, %q", path, m)
		}
		for _, m := range anyTimeRE.FindAllString(page, -1) {
			tm, err := time.ParseInLocation(layout, m, dubai)
			if err != nil {
				t.Errorf("%s: time %q is not written %q", path, m, layout)
				continue
			}
			// Every instant of the fixture, and the log-ins, lies
			// between the entry (2 h before the visit) and now; one
			// written in another zone would be hours off.
			if tm.Before(at.Add(-2*time.Hour)) || tm.After(time.Now().Add(time.Minute)) {
				t.Errorf("%s: time %q is not the site's zone", path, m)
			}
		}
	}
	_, story := sam.do("GET", "/history/A/1", nil)
	for _, w := range []string{
		"entered " + at.Add(-2*time.Hour).In(dubai).Format(layout),
		"expires " + at.Add(5*time.Minute).In(dubai).Format(layout),
		at.In(dubai).Format(layout),
	} {
		if !strings.Contains(story, w) {
			t.Errorf("the story lacks %q:\n%s", w, story)
		}
	}
}

var visitLinkRE = regexp.MustCompile(`href="/history/([A-Za-z0-9_-]+)/(\d+)"`)

// found is the visits a history page lists, as "lane/visit", sorted.
func found(page string) []string {
	var out []string
	for _, m := range visitLinkRE.FindAllStringSubmatch(page, -1) {
		if v := m[1] + "/" + m[2]; !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// History finds a visit by its ticket's serial, by an order's number
// and by the time it started (in the site's zone), and nothing else.
func TestHistorySearch(t *testing.T) {
	c := newConsole(t, nil)
	var seqA, seqB int64
	c.shipTo("A", &seqA, paidVisit(1, "1001", "GRG01-A-1001-1", 1500, day.Add(9*time.Hour)))
	c.shipTo("A", &seqA, paidVisit(2, "1002", "GRG01-A-1002-1", 2500, day.Add(11*time.Hour)))
	c.shipTo("B", &seqB, paidVisit(1, "1003", "GRG01-B-1003-1", 3500, day.Add(13*time.Hour)))
	vic := c.browser()
	vic.mustLogin("vic")
	if got := found(func() string { _, p := vic.do("GET", "/history", nil); return p }()); !slices.Equal(got, []string{"A/1", "A/2", "B/1"}) {
		t.Fatalf("latest visits: %v", got)
	}
	for _, tc := range []struct {
		query url.Values
		want  []string
	}{
		{url.Values{"serial": {"1002"}}, []string{"A/2"}},
		{url.Values{"serial": {"1003"}}, []string{"B/1"}},
		{url.Values{"serial": {"100"}}, nil},
		{url.Values{"order": {"GRG01-B-1003-1"}}, []string{"B/1"}},
		{url.Values{"order": {"GRG01-A-1001-1"}}, []string{"A/1"}},
		{url.Values{"order": {"GRG01-A-1001"}}, nil},
		// 10:30 to 12:00 Dubai: only the visit of 11:00; read as UTC
		// it would be 14:30 to 16:00 Dubai and find none.
		{url.Values{"from": {"2026-03-01T10:30"}, "to": {"2026-03-01T12:00"}}, []string{"A/2"}},
		{url.Values{"from": {"2026-03-01T09:00"}, "to": {"2026-03-01T11:00"}}, []string{"A/1"}},
		{url.Values{"from": {"2026-03-01T12:00"}}, []string{"B/1"}},
		{url.Values{"to": {"2026-03-01T09:00"}}, nil},
		{url.Values{"serial": {"1002"}, "from": {"2026-03-01T12:00"}}, nil},
	} {
		_, page := vic.do("GET", "/history?"+tc.query.Encode(), nil)
		if got := found(page); !slices.Equal(got, tc.want) {
			t.Errorf("%s: found %v, want %v", tc.query.Encode(), got, tc.want)
		}
	}
}
