// Package metrics exposes a lane's figures, and the office's, in
// Prometheus' text format (github.com/prometheus/client_golang), with
// their health: /metrics, /healthz (the process is alive) and /readyz
// (ready, or which part is not, as JSON).
//
// A lane's figures come from seams that do not import this package, so
// that lane and payby stay free of Prometheus:
//
//   - the records its journal accepts (Lane.Journal wraps lane.Journal):
//     visits by outcome, fees, exits, payments collected, orders by status,
//     pulses, refunds, attendant log-ins and actions;
//   - the PayBy client's attempts (Lane.ObservePayBy is a
//     payby.Options.Observe): call latency and errors by code;
//   - the lane's snapshots, read when scraped (Lane.Snapshots) and watched
//     for transitions (Lane.Watch): state, devices up or down, faults;
//   - the site store as the lane sees it (Lane.Store): up, replication lag
//     and replay backlog;
//   - PayBy's notifications as the handler answered them (Notifications).
//
// Package station wires them; this package knows nothing of configs or
// listeners beyond Server. Amounts are fils, as everywhere.
package metrics

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/payby"
)

// Namespace prefixes every metric of exitlane.
const Namespace = "exitlane"

// PayByBuckets are the latency buckets of PayBy calls, in seconds: the
// lane waits at most [payby] timeout (10 s by default) for one attempt.
var PayByBuckets = []float64{0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Lane is the metrics of one lane. Its counters start at zero with the
// process, as Prometheus expects; the lane's reports (shift, day) stay the
// ledger's.
type Lane struct {
	reg *prometheus.Registry
	lab prometheus.Registerer // reg with the lane's site and lane labels

	visits    *prometheus.CounterVec
	fees      prometheus.Counter
	exitFils  *prometheus.CounterVec
	openings  *prometheus.CounterVec
	collected prometheus.Counter
	refunded  prometheus.Counter
	refunds   *prometheus.CounterVec
	orders    *prometheus.CounterVec
	pulses    *prometheus.CounterVec
	audit     *prometheus.CounterVec
	logins    *prometheus.CounterVec
	faults    *prometheus.CounterVec
	downs     *prometheus.CounterVec

	paybyDur *prometheus.HistogramVec
	paybyErr *prometheus.CounterVec
	reached  atomic.Int64 // unix ns of the last attempt PayBy answered usably (0: none)
	failed   atomic.Int64 // unix ns of the last attempt that failed (0: none)

	// Notifications counts PayBy's notifications at the lane's own
	// listener ([payby] listen).
	Notifications *Notifications

	seen seenOrders
}

// NewLane returns the metrics of lane laneID of site, registered with
// the process and Go runtime collectors. Every lane metric carries the
// labels site and lane, so that one Prometheus tells a site's lanes apart
// whatever its scrape configuration.
func NewLane(site, laneID string) *Lane {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	lab := prometheus.WrapRegistererWith(prometheus.Labels{"site": site, "lane": laneID}, reg)
	m := &Lane{reg: reg, lab: lab, seen: seenOrders{max: 4096}}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
		lab.MustRegister(c)
		return c
	}
	m.visits = counter("visits_total", "Visits by how they ended: the exit's cause (paid, grace, exit_grace, validation, manual, exempt, unable_to_collect, override), the refusal's notice (invalid, forged, already_used, other_site, future_entry, ...), or the end without exit (cancelled, expired, unresolved, fault, manual_open, already_used).", "outcome")
	m.fees = counter("fees_fils_total", "Fees due at the check of the visits served, in fils (the tariff's fee less what the ticket paid before).").WithLabelValues()
	m.exitFils = counter("exit_fils_total", "Amounts booked with exits, in fils, by cause: paid is collected, unable_to_collect is owed, the others are fees waived (the shift report's lines).", "cause")
	m.openings = counter("openings_total", "Barrier openings authorised, by cause (a visit's exit, or a manual open with no visit).", "cause")
	m.collected = counter("collected_fils_total", "Payments received through PayBy, in fils, once per order (the shift report's collected).").WithLabelValues()
	m.refunded = counter("refunded_fils_total", "Refunds completed, in fils.").WithLabelValues()
	m.refunds = counter("refunds_total", "Refunds recorded, by status (pending: sent, outcome not yet known; done; failed).", "status")
	m.orders = counter("orders_total", "PayBy orders by status reached: placed (number stored, placeOrder sent), created, paid, failed, not_found; each order counts once per status.", "status")
	m.pulses = counter("pulses_total", "Barrier pulses by result: ok, or failed (a barrier fault: the relay did not take the pulse).", "result")
	m.audit = counter("audit_total", "Attendant and system actions in the audit trail, by action.", "action")
	m.logins = counter("admin_logins_total", "Admin log-in attempts at the lane, by result: ok (PIN or badge), wrong_pin, locked (an attempt while locked out).", "result")
	m.faults = counter("faults_total", "Times the lane entered its fault state, by kind (device_fault, ledger_fault, barrier_fault).", "kind")
	m.downs = counter("device_down_total", "Times a device or service went down, by device.", "device")
	m.paybyDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "payby_call_duration_seconds", Buckets: PayByBuckets,
		Help: "Duration of each HTTP attempt of a PayBy call, by operation and result: ok, refused (PayBy answered no, e.g. no such order), failed (unreachable or unusable answer).",
	}, []string{"op", "result"})
	lab.MustRegister(m.paybyDur)
	m.paybyErr = counter("payby_errors_total", "PayBy attempts that did not succeed, by operation and code: PayBy's code (e.g. 62004), or transport, http_NNN, bad_signature, no_signature, malformed.", "op", "code")
	lab.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: Namespace, Name: "payby_last_reached_timestamp_seconds",
		Help: "When PayBy last answered an attempt usably (Unix seconds; 0: not yet).",
	}, func() float64 { return unixSeconds(m.reached.Load()) }))
	m.Notifications = NewNotifications(lab)
	for _, r := range []string{"ok", "failed"} {
		m.pulses.WithLabelValues(r)
	}
	return m
}

// Registry is the lane's registry: what /metrics serves.
func (m *Lane) Registry() *prometheus.Registry { return m.reg }

func unixSeconds(ns int64) float64 {
	if ns == 0 {
		return 0
	}
	return float64(ns) / 1e9
}

// ObservePayBy counts one attempt of a PayBy call; it is the PayBy
// client's Options.Observe.
func (m *Lane) ObservePayBy(a payby.Attempt) {
	result := "ok"
	switch {
	case a.Failed:
		result = "failed"
		m.failed.Store(time.Now().UnixNano())
	case a.Code != "0":
		result = "refused"
	}
	if !a.Failed {
		m.reached.Store(time.Now().UnixNano())
	}
	op := strings.ReplaceAll(a.Op, " ", "_")
	m.paybyDur.WithLabelValues(op, result).Observe(a.Took.Seconds())
	if a.Code != "0" {
		m.paybyErr.WithLabelValues(op, a.Code).Inc()
	}
}

// PayBy returns when PayBy last answered an attempt usably and when an
// attempt last failed (zero: never), for the lane's readiness.
func (m *Lane) PayBy() (reached, failed time.Time) {
	at := func(ns int64) time.Time {
		if ns == 0 {
			return time.Time{}
		}
		return time.Unix(0, ns)
	}
	return at(m.reached.Load()), at(m.failed.Load())
}

// Journal wraps j so that every record it accepts is counted. Only
// Record is intercepted; the records j refuses count nothing.
func (m *Lane) Journal(j lane.Journal) lane.Journal { return &journal{Journal: j, m: m} }

type journal struct {
	lane.Journal
	m *Lane
}

func (j *journal) Record(ctx context.Context, rec lane.Record) error {
	err := j.Journal.Record(ctx, rec)
	if err == nil {
		j.m.record(rec)
	}
	return err
}

// record counts one record the journal accepted.
func (m *Lane) record(rec lane.Record) {
	switch r := rec.(type) {
	case lane.VisitRec:
		if r.Refused != lane.NoticeNone {
			m.visits.WithLabelValues(r.Refused.String()).Inc()
		} else if r.Quote.Due > 0 {
			m.fees.Add(float64(r.Quote.Due))
		}
	case lane.VisitEndRec:
		m.visits.WithLabelValues(r.Outcome).Inc()
	case lane.ExitRec:
		cause := r.Cause.String()
		m.visits.WithLabelValues(cause).Inc()
		m.openings.WithLabelValues(cause).Inc()
		m.exitFils.WithLabelValues(cause).Add(float64(r.Amount))
		if r.Paid != nil {
			m.status(r.Paid.No, r.Paid.State)
		}
	case lane.OpenRec:
		m.openings.WithLabelValues(r.Cause.String()).Inc()
	case lane.OrderRec:
		if m.seen.first(r.No, "placed") {
			m.orders.WithLabelValues("placed").Inc()
		}
	case lane.StatusRec:
		m.status(r.No, r.State)
	case lane.PulseRec:
		if r.OK {
			m.pulses.WithLabelValues("ok").Inc()
		} else {
			m.pulses.WithLabelValues("failed").Inc()
		}
	case lane.AuditRec:
		m.audit.WithLabelValues(r.Action).Inc()
		switch r.Action {
		case "pin_ok", "badge":
			m.logins.WithLabelValues("ok").Inc()
		case "pin_wrong":
			m.logins.WithLabelValues("wrong_pin").Inc()
		case "pin_locked":
			m.logins.WithLabelValues("locked").Inc()
		}
	case lane.RefundRec:
		m.refunds.WithLabelValues(string(r.Status)).Inc()
		if r.Status == lane.RefundDone {
			m.refunded.Add(float64(r.Amount))
		}
	}
}

// status counts an order's status the first time the order reaches it,
// and its payment the first time it is paid: polls, notifications and
// the reconciler see one status many times.
func (m *Lane) status(no string, st lane.OrderState) {
	switch st.Status {
	case lane.OrderCreated, lane.OrderPaid, lane.OrderFailed, lane.OrderNotFound:
	default:
		return
	}
	name := st.Status.String()
	if !m.seen.first(no, name) {
		return
	}
	m.orders.WithLabelValues(name).Inc()
	if st.Status == lane.OrderPaid {
		m.collected.Add(float64(st.Paid))
	}
}

// seenOrders remembers which statuses the latest max orders reached.
type seenOrders struct {
	mu    sync.Mutex
	max   int
	by    map[string]map[string]bool
	order []string // insertion order, for forgetting the oldest
}

// first reports whether order no reaches status for the first time.
func (s *seenOrders) first(no, status string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.by == nil {
		s.by = map[string]map[string]bool{}
	}
	st, ok := s.by[no]
	if !ok {
		st = map[string]bool{}
		s.by[no] = st
		s.order = append(s.order, no)
		if len(s.order) > s.max {
			delete(s.by, s.order[0])
			s.order = s.order[1:]
		}
	}
	if st[status] {
		return false
	}
	st[status] = true
	return true
}

// Snapshots registers the gauges read from the lane's latest snapshot
// when scraped: its state, whether it is open and ready, each device's
// health, PayBy's clock skew and the entries waiting for an attendant.
func (m *Lane) Snapshots(snap func() lane.Snapshot) {
	m.lab.MustRegister(&snapCollector{snap: snap})
}

// Watch counts the transitions it sees in snapshots until ctx ends or
// snaps closes: entries into the fault state and devices going down.
// Snapshots are latest-wins; a fault lasts until an attendant clears it,
// so none is missed.
func (m *Lane) Watch(ctx context.Context, snaps <-chan lane.Snapshot) {
	var prev lane.Snapshot
	first := true
	for {
		var s lane.Snapshot
		var ok bool
		select {
		case <-ctx.Done():
			return
		case s, ok = <-snaps:
			if !ok {
				return
			}
		}
		if s.State == lane.Fault && (first || prev.State != lane.Fault) {
			m.faults.WithLabelValues(s.Notice.String()).Inc()
		}
		for _, d := range devices(s.Health) {
			was := lane.DeviceUnknown
			if !first {
				was = devices(prev.Health)[d.i].state
			}
			if d.state == lane.DeviceDown && was != lane.DeviceDown {
				m.downs.WithLabelValues(d.name).Inc()
			}
		}
		prev, first = s, false
	}
}

type device struct {
	i     int
	name  string
	state lane.DeviceState
}

func devices(h lane.Health) [5]device {
	return [5]device{
		{0, "scanner", h.Scanner}, {1, "relay", h.Relay}, {2, "loop", h.Loop},
		{3, "payby", h.PayBy}, {4, "ledger", h.Ledger},
	}
}

var (
	descState = prometheus.NewDesc(Namespace+"_lane_state", "The lane's state: 1 for the current one (idle, checking, fee_due, opening, open, notice, fault, closed).", []string{"state"}, nil)
	descOpen  = prometheus.NewDesc(Namespace+"_lane_open", "1 while the lane is open, 0 while an attendant has closed it.", nil, nil)
	descReady = prometheus.NewDesc(Namespace+"_lane_ready", "1 once the lane's ledger is open and start-up recovery queued.", nil, nil)
	descUp    = prometheus.NewDesc(Namespace+"_device_up", "1 while a device or service is up, 0 while it is down or not heard from yet (devices not configured are left out).", []string{"device"}, nil)
	descSkew  = prometheus.NewDesc(Namespace+"_payby_clock_skew_seconds", "The lane's clock minus PayBy's, as last seen (to about a second; PayBy refuses requests 15 minutes off).", nil, nil)
	descUnres = prometheus.NewDesc(Namespace+"_unresolved", "Ledger entries waiting for an attendant (paid not exited, unable to collect, ...).", nil, nil)
	descCall  = prometheus.NewDesc(Namespace+"_attendant_called", "1 while a driver's call for the attendant is pending.", nil, nil)
)

var allStates = []lane.State{lane.Idle, lane.Checking, lane.FeeDue, lane.Opening, lane.Open, lane.Notice, lane.Fault, lane.Closed}

type snapCollector struct{ snap func() lane.Snapshot }

func (c *snapCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descOpen, descReady, descUp, descSkew, descUnres, descCall} {
		ch <- d
	}
}

func (c *snapCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.snap()
	for _, st := range allStates {
		ch <- prometheus.MustNewConstMetric(descState, prometheus.GaugeValue, b2f(s.State == st), st.String())
	}
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, b2f(s.LaneOpen))
	ch <- prometheus.MustNewConstMetric(descReady, prometheus.GaugeValue, b2f(s.Ready))
	for _, d := range devices(s.Health) {
		if d.state == lane.DeviceAbsent {
			continue
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, b2f(d.state == lane.DeviceOK), d.name)
	}
	if s.Health.ClockSkew != 0 {
		skew := s.Health.ClockSkew
		if skew == 1 { // known, and under a second
			skew = 0
		}
		ch <- prometheus.MustNewConstMetric(descSkew, prometheus.GaugeValue, skew.Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descUnres, prometheus.GaugeValue, float64(s.Unresolved))
	ch <- prometheus.MustNewConstMetric(descCall, prometheus.GaugeValue, b2f(s.AttendantCalled))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Store is the site store as the lane sees it when scraped.
type Store struct {
	// Configured: the lane has a site store; nothing else is reported
	// without one.
	Configured bool
	Up         bool
	// Stopped: shipping stopped for good; an engineer must look.
	Stopped bool
	// Listening: the lane hears the office's notifications (LISTEN).
	Listening bool
	// Backlog is how many of the ledger's records the store has not
	// confirmed; Lag is the age of the oldest of them (0: none).
	Backlog int64
	Lag     time.Duration
}

var (
	descStoreUp     = prometheus.NewDesc(Namespace+"_store_up", "1 while the site store answers the lane.", nil, nil)
	descStoreStop   = prometheus.NewDesc(Namespace+"_store_shipping_stopped", "1 when shipping records to the site store stopped for good (a sequence conflict or an unknown schema): an engineer must look.", nil, nil)
	descStoreListen = prometheus.NewDesc(Namespace+"_store_listening", "1 while the lane hears the office's PayBy notifications through the site store.", nil, nil)
	descBacklog     = prometheus.NewDesc(Namespace+"_store_replay_backlog", "The lane's records the site store has not confirmed yet.", nil, nil)
	descLag         = prometheus.NewDesc(Namespace+"_store_replication_lag_seconds", "Age of the oldest record the site store has not confirmed (0: none waiting).", nil, nil)
	descStoreErr    = prometheus.NewDesc(Namespace+"_store_scrape_error", "1 when the lane could not read its own outbox for this scrape.", nil, nil)
)

// Store registers the site store's gauges; f is called at each scrape
// with the scrape's context. A lane without a site store reports none.
func (m *Lane) Store(f func(context.Context) (Store, error)) {
	m.lab.MustRegister(&storeCollector{f: f})
}

type storeCollector struct {
	f func(context.Context) (Store, error)
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStoreUp, descStoreStop, descStoreListen, descBacklog, descLag, descStoreErr} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s, err := c.f(ctx)
	if !s.Configured {
		return
	}
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, b2f(s.Up))
	ch <- prometheus.MustNewConstMetric(descStoreStop, prometheus.GaugeValue, b2f(s.Stopped))
	ch <- prometheus.MustNewConstMetric(descStoreListen, prometheus.GaugeValue, b2f(s.Listening))
	ch <- prometheus.MustNewConstMetric(descStoreErr, prometheus.GaugeValue, b2f(err != nil))
	if err == nil {
		ch <- prometheus.MustNewConstMetric(descBacklog, prometheus.GaugeValue, float64(s.Backlog))
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, s.Lag.Seconds())
	}
}
