package office

// Live lanes: Run hears every lane's status (sitestore.ListenLaneStatus)
// and re-reads them all every tick (a lane that stops reporting announces
// nothing), renders each lane's card once, and sends the cards that
// changed to every open page over Server-Sent Events (/events). The page's
// script replaces the card's HTML with the server's.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/sitestore"
)

// event is one message to the live pages: a lane's card, the alarm
// count, or the alarms page's list.
type event struct {
	Name string // "card", "alarms" or "alarmlist"
	Lane string // card: the lane
	Data string // the SSE data line (JSON for a card and the list, the count for alarms)
}

// hub fans the console's events out to the open /events streams and
// keeps the latest card of every lane.
type hub struct {
	mu     sync.Mutex
	subs   map[chan event]bool
	cards  map[string]string // lane -> card HTML last sent
	alarms int
	// alarmSig identifies the alarm list last sent (ids, details,
	// clear times); alarmData is its data line.
	alarmSig, alarmData string
	// kick asks Run for a re-read now (an alarm count changed).
	kick chan string
}

func newHub() *hub {
	return &hub{subs: map[chan event]bool{}, cards: map[string]string{}, kick: make(chan string, 1)}
}

func (h *hub) subscribe() chan event {
	ch := make(chan event, 64)
	h.mu.Lock()
	h.subs[ch] = true
	h.mu.Unlock()
	return ch
}

func (h *hub) unsubscribe(ch chan event) {
	h.mu.Lock()
	delete(h.subs, ch)
	h.mu.Unlock()
}

func (h *hub) send(ev event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- ev:
		default: // a stalled page misses this; the next tick resends nothing it needs: it reloads on reconnect
		}
	}
}

// publish asks for a re-read soon ("alarms": the alarm count changed).
func (h *hub) publish(what string) {
	select {
	case h.kick <- what:
	default:
	}
}

// card updates a lane's card; it is sent only when it changed.
func (h *hub) card(laneID, html string) {
	h.mu.Lock()
	same := h.cards[laneID] == html
	h.cards[laneID] = html
	h.mu.Unlock()
	if !same {
		data, _ := json.Marshal(map[string]string{"lane": laneID, "html": html})
		h.send(event{Name: "card", Lane: laneID, Data: string(data)})
	}
}

func (h *hub) alarmCount(n int) {
	h.mu.Lock()
	same := h.alarms == n
	h.alarms = n
	h.mu.Unlock()
	if !same {
		h.send(event{Name: "alarms", Data: fmt.Sprint(n)})
	}
}

// alarmList updates the alarms page's list; it is sent only when an
// alarm was raised, cleared or its detail changed. render is called only
// then.
func (h *hub) alarmList(sig string, render func() string) {
	h.mu.Lock()
	same := h.alarmSig == sig
	h.mu.Unlock()
	if same {
		return
	}
	data, _ := json.Marshal(map[string]string{"html": render()})
	h.mu.Lock()
	h.alarmSig, h.alarmData = sig, string(data)
	h.mu.Unlock()
	h.send(event{Name: "alarmlist", Data: string(data)})
}

// alarmListLimit is how many cleared alarms the alarms page lists.
const alarmListLimit = 100

type alarmsData struct {
	Open, Cleared []sitestore.Alarm
}

// alarmSig identifies what the alarms page shows of the alarms.
func alarmSig(d alarmsData) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d:", len(d.Open), len(d.Cleared)) // never "": the first list is always sent
	for _, a := range append(d.Open, d.Cleared...) {
		fmt.Fprintf(&b, "%d|%s|%d\x00", a.ID, a.Detail, a.Cleared.UnixNano())
	}
	return b.String()
}

func (c *Console) renderAlarms(d alarmsData) string {
	var b strings.Builder
	if err := c.parts.ExecuteTemplate(&b, "alarmlist", d); err != nil {
		c.log.Error("alarm list template", "err", err)
	}
	return b.String()
}

// Card is what a lane's card shows, worked out from its status.
type Card struct {
	Lane            string
	State           string // the lane's state name, or "not_reporting"
	StateText       string
	Class           string // ok, busy, warn, bad: the card's colour
	Screen          string // what its driver sees, in the kiosk's words
	Ticket          string
	Due             money.Fils
	OrderNo         string
	Deadline        string
	AttendantCalled bool
	Devices         []Device
	NotReporting    bool
	Behind          bool
	Replication     string
	Skew            string
	LastVisit       string
	Age             string
	Status          sitestore.LaneStatus
}

// Device is one device on a card.
type Device struct{ Name, State string }

// cardOf works out a lane's card from its status and the store's clock.
func (c *Console) cardOf(st sitestore.LaneStatus, storeNow time.Time) Card {
	k := Card{Lane: st.Lane, State: st.State, Screen: c.words.screen(st), Ticket: st.Ticket, Due: st.Due, OrderNo: st.OrderNo,
		AttendantCalled: st.AttendantCalled, Status: st}
	k.StateText = strings.ReplaceAll(st.State, "_", " ")
	switch st.State {
	case "idle":
		k.Class = "ok"
	case "checking", "fee_due", "opening", "open":
		k.Class = "busy"
	case "notice", "closed":
		k.Class = "warn"
	case "fault":
		k.Class = "bad"
	default:
		k.Class = "warn"
	}
	if !st.Deadline.IsZero() {
		k.Deadline = c.when(st.Deadline)
	}
	for _, name := range []string{sitestore.DevScanner, sitestore.DevRelay, sitestore.DevLoop, sitestore.DevPrinter, sitestore.DevPayBy, sitestore.DevLedger} {
		if s, ok := st.Devices[name]; ok {
			k.Devices = append(k.Devices, Device{name, s})
		}
	}
	if st.Updated.IsZero() {
		k.Age, k.NotReporting = "never", true
		k.State, k.StateText, k.Class = "not_reporting", "unknown", "bad"
	} else {
		age := storeNow.Sub(st.Updated)
		k.Age = ago(storeNow, st.Updated)
		if age > NotReportingAfter {
			k.NotReporting = true
			k.State, k.StateText, k.Class = "not_reporting", "not reporting", "bad"
		}
		skew := st.LaneTime.Sub(st.Updated)
		k.Skew = fmt.Sprintf("%+.1fs", skew.Seconds())
		if skew.Abs() < 50*time.Millisecond {
			k.Skew = "none"
		}
	}
	switch {
	case st.StoreBehind == 0:
		k.Replication = "up to date"
	case st.OldestUnshipped.IsZero():
		k.Replication = fmt.Sprintf("%d rows behind", st.StoreBehind)
	default:
		k.Replication = fmt.Sprintf("%d rows behind, oldest %s", st.StoreBehind, ago(storeNow, st.OldestUnshipped))
	}
	k.Behind = replicationBehind(st, storeNow)
	k.LastVisit = ago(storeNow, st.LastVisit)
	return k
}

func replicationBehind(st sitestore.LaneStatus, storeNow time.Time) bool {
	return st.StoreBehind > ReplicationRows || (!st.OldestUnshipped.IsZero() && storeNow.Sub(st.OldestUnshipped) > ReplicationAge)
}

func (c *Console) renderCard(k Card) string {
	var b strings.Builder
	if err := c.parts.ExecuteTemplate(&b, "card", k); err != nil {
		c.log.Error("card template", "err", err)
	}
	return b.String()
}

// cards reads every lane's card.
func (c *Console) cards(ctx context.Context) ([]Card, error) {
	sts, now, err := c.store.LaneStatuses(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Card, 0, len(sts))
	for _, st := range sts {
		out = append(out, c.cardOf(st, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Lane < out[j].Lane })
	return out, nil
}

// refresh re-reads the lanes and the alarm count and sends what changed.
func (c *Console) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	cards, err := c.cards(ctx)
	if err != nil {
		c.log.Warn("lane statuses", "err", err)
		return
	}
	for _, k := range cards {
		c.hub.card(k.Lane, c.renderCard(k))
	}
	open, cleared, err := c.store.Alarms(ctx, alarmListLimit)
	if err != nil {
		c.log.Warn("alarms", "err", err)
		return
	}
	c.hub.alarmCount(len(open))
	d := alarmsData{Open: open, Cleared: cleared}
	c.hub.alarmList(alarmSig(d), func() string { return c.renderAlarms(d) })
}

// Run keeps the live pages and the alarms current until ctx ends: it
// listens for the lanes' statuses and, every tick, re-reads them and
// evaluates the alarms. It also runs the one listener on finished
// commands that the actions' waits share.
func (c *Console) Run(ctx context.Context) {
	heard := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// ListenLaneStatus reconnects by itself; it returns before ctx
		// ends only on a schema error, and the tick's re-read then keeps
		// the pages current.
		err := c.store.ListenLaneStatus(ctx, func(string) {
			select {
			case heard <- struct{}{}:
			default:
			}
		})
		if ctx.Err() == nil {
			c.log.Error("lane status listener", "err", err)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := c.done.Run(ctx); err != nil && ctx.Err() == nil {
			// A schema error; the waits poll meanwhile.
			c.log.Error("command listener", "err", err)
		}
	}()
	defer wg.Wait()
	t := time.NewTicker(c.tick)
	defer t.Stop()
	evaluate := func() {
		if err := c.evaluate(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("alarms not evaluated", "err", err)
		}
	}
	evaluate()
	c.refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-heard:
			c.refresh(ctx)
		case <-c.hub.kick:
			c.refresh(ctx)
		case <-t.C:
			evaluate()
			c.refresh(ctx)
		}
	}
}

// events is the live stream of a page: cards ("card": {"lane", "html"})
// and the alarm count ("alarms"). ?lane=L sends only that lane's card;
// ?alarms=1 also sends the alarms page's list ("alarmlist": {"html"})
// when an alarm is raised or cleared. It ends when the session does
// (checked every tick).
func (c *Console) events(q *request) {
	fl, ok := q.w.(http.Flusher)
	if !ok {
		http.Error(q.w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	only := q.r.URL.Query().Get("lane")
	withList := q.r.URL.Query().Get("alarms") != ""
	rc := http.NewResponseController(q.w)
	h := q.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	q.w.WriteHeader(http.StatusOK)
	ch := c.hub.subscribe()
	defer c.hub.unsubscribe(ch)
	write := func(name, data string) bool {
		rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(q.w, "event: %s\ndata: %s\n\n", name, data); err != nil {
			return false
		}
		fl.Flush()
		return true
	}
	// What the page may have missed since it was rendered.
	c.hub.mu.Lock()
	var first []event
	for l, html := range c.hub.cards {
		if only == "" || l == only {
			data, _ := json.Marshal(map[string]string{"lane": l, "html": html})
			first = append(first, event{Name: "card", Lane: l, Data: string(data)})
		}
	}
	first = append(first, event{Name: "alarms", Data: fmt.Sprint(c.hub.alarms)})
	if withList && c.hub.alarmData != "" {
		first = append(first, event{Name: "alarmlist", Data: c.hub.alarmData})
	}
	c.hub.mu.Unlock()
	if _, err := fmt.Fprint(q.w, "retry: 3000\n\n"); err != nil {
		return
	}
	for _, ev := range first {
		if !write(ev.Name, ev.Data) {
			return
		}
	}
	t := time.NewTicker(c.tick)
	defer t.Stop()
	for {
		select {
		case <-q.r.Context().Done():
			return
		case <-c.streams:
			return
		case ev := <-ch:
			if ev.Name == "card" && only != "" && ev.Lane != only || ev.Name == "alarmlist" && !withList {
				continue
			}
			if !write(ev.Name, ev.Data) {
				return
			}
		case <-t.C:
			ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
			_, live := c.session(ctx, q.w, q.r)
			cancel()
			if !live {
				write("logout", "expired")
				return
			}
			if !write("ping", "") {
				return
			}
		}
	}
}

type lanesData struct{ Cards []Card }

func (c *Console) lanesPage(q *request) {
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	cards, err := c.cards(ctx)
	if err != nil {
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	c.render(q, http.StatusOK, "lanes", "Lanes", lanesData{Cards: cards})
}
