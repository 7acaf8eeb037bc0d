package office_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/sitestore"
)

// sse is one event of a live stream.
type sse struct{ name, data string }

// stream opens path (a live stream) with b's cookies and sends its events
// on the channel until the stream ends or the test does (deadline 30 s).
func (b *browser) stream(path string) (*http.Response, <-chan sse) {
	t := b.c.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	req, err := http.NewRequestWithContext(ctx, "GET", b.c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{Jar: b.http.Jar, CheckRedirect: b.http.CheckRedirect}
	res, err := cl.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	ch := make(chan sse, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ch)
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[len("data: "):]
			case line == "" && ev.name != "":
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
				ev = sse{}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		res.Body.Close()
		<-done
	})
	return res, ch
}

// next waits for an event named name whose data satisfies ok.
func next(t *testing.T, ch <-chan sse, what, name string, ok func(string) bool) string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatalf("%s: the stream ended", what)
			}
			if ev.name == name && ok(ev.data) {
				return ev.data
			}
		case <-deadline:
			t.Fatalf("%s: not seen in 20 s", what)
		}
	}
}

func listHTML(t *testing.T, data string) string {
	var m struct{ HTML string }
	if err := json.Unmarshal([]byte(data), &m); err != nil {
		t.Fatalf("alarmlist %q: %v", data, err)
	}
	return m.HTML
}

// The alarms page is live: an alarm raised or cleared reaches an open
// page's stream as the whole list, rendered and escaped on the server;
// the other pages' streams do not carry the list.
func TestAlarmsLive(t *testing.T) {
	c := newConsole(t, nil)
	ctx := ctxT(t)
	b := c.browser()
	b.mustLogin("vic")
	_, page := b.do("GET", "/alarms", nil)
	if !strings.Contains(page, `data-live-alarms`) || !strings.Contains(page, "No open alarm.") {
		t.Fatalf("alarms page:\n%s", page)
	}
	res, alarms := b.stream("/events?alarms=1")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %v", res.StatusCode, res.Header)
	}
	_, cards := b.stream("/events")
	// The first list, on connecting: what the page may have missed.
	next(t, alarms, "the list at connection", "alarmlist", func(d string) bool { return strings.Contains(listHTML(t, d), "No open alarm.") })

	devs := map[string]string{sitestore.DevScanner: sitestore.DevUp, sitestore.DevRelay: sitestore.DevUp}
	if err := c.store.PublishLaneStatus(ctx, sitestore.LaneStatus{Lane: "A", Seq: 1, State: "fault", Ready: true, Notice: "barrier_fault", Devices: devs}); err != nil {
		t.Fatal(err)
	}
	next(t, alarms, "the count", "alarms", func(d string) bool { return d == "1" })
	html := listHTML(t, next(t, alarms, "the fault raised", "alarmlist", func(d string) bool { return strings.Contains(d, "Lane in fault") }))
	if !strings.Contains(html, `href="/lanes/A"`) || strings.Contains(html, "No open alarm.") {
		t.Errorf("raised list:\n%s", html)
	}

	if err := c.store.PublishLaneStatus(ctx, sitestore.LaneStatus{Lane: "A", Seq: 2, State: "idle", Devices: devs}); err != nil {
		t.Fatal(err)
	}
	html = listHTML(t, next(t, alarms, "the fault cleared", "alarmlist", func(d string) bool {
		return strings.Contains(listHTML(t, d), "No open alarm.")
	}))
	if !strings.Contains(html, "<td>A</td>") || !strings.Contains(html, "Lane in fault") {
		t.Errorf("cleared list lacks the cleared fault:\n%s", html)
	}
	// The lanes page's stream saw the count but never the list.
	for {
		select {
		case ev := <-cards:
			if ev.name == "alarmlist" {
				t.Fatal("the lanes page's stream carried the alarm list")
			}
			continue
		default:
		}
		break
	}
}
