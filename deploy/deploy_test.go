// Package deploy holds files for running exitlane: udev rules, the
// Prometheus alert rules and example config, the Grafana dashboard. Its
// test checks their syntax, and that every metric and label they name is
// one exitlane serves; with promtool installed (Debian's prometheus
// package) it also runs promtool check rules on the rules and on the
// dashboard's queries.
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"text/template"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/exitlane/exitlane/internal/proctest"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/payby"
)

const (
	rulesFile     = "prometheus/exitlane.rules.yml"
	promFile      = "prometheus/prometheus.example.yml"
	dashboardFile = "grafana/exitlane.json"
)

// Jobs are the scrape jobs the rules and the dashboard expect
// (prometheus.example.yml).
var jobs = []string{"exitlane-lane", "exitlane-office"}

// rulesDoc is Prometheus' rule file format.
type rulesDoc struct {
	Groups []struct {
		Name     string `yaml:"name"`
		Interval string `yaml:"interval"`
		Rules    []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Alert       string            `yaml:"alert"`
	Record      string            `yaml:"record"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

func decodeStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func TestAlertRules(t *testing.T) {
	var doc rulesDoc
	decodeStrict(t, rulesFile, &doc)
	cat := catalogue(t)
	alerts := map[string]bool{}
	n := 0
	for _, g := range doc.Groups {
		if g.Name == "" || len(g.Rules) == 0 {
			t.Errorf("group %q: a name and rules are required", g.Name)
		}
		for _, r := range g.Rules {
			n++
			where := fmt.Sprintf("%s: group %s: rule %q", rulesFile, g.Name, r.Alert+r.Record)
			if (r.Alert == "") == (r.Record == "") {
				t.Errorf("%s: exactly one of alert and record", where)
			}
			if alerts[r.Alert] {
				t.Errorf("%s: alert named twice", where)
			}
			alerts[r.Alert] = true
			if strings.TrimSpace(r.Expr) == "" {
				t.Errorf("%s: no expr", where)
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for: %v", where, err)
				}
			}
			if r.Alert == "" {
				continue
			}
			switch r.Labels["severity"] {
			case "critical", "warning", "info":
			default:
				t.Errorf("%s: severity %q is not critical, warning or info", where, r.Labels["severity"])
			}
			for _, a := range []string{"summary", "description"} {
				if r.Annotations[a] == "" {
					t.Errorf("%s: no %s", where, a)
				}
			}
			for k, text := range r.Annotations {
				if err := checkTemplate(text); err != nil {
					t.Errorf("%s: annotation %s: %v", where, k, err)
				}
			}
			for _, p := range cat.check(r.Expr) {
				t.Errorf("%s: %s", where, p)
			}
		}
	}
	// The alerts the issue asks for, by what they watch.
	for _, want := range []string{"ExitlaneLaneFault", "ExitlaneDeviceDown", "ExitlanePayByFailing", "ExitlaneStoreReplicationBehind", "ExitlaneLaneNotReporting"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
	t.Logf("%d rules checked against the metrics exitlane serves", n)
	promtool(t, rulesFile)
}

// checkTemplate parses an annotation as Prometheus does: Go templates
// with $labels, $externalLabels and $value defined, and its functions.
func checkTemplate(text string) error {
	funcs := template.FuncMap{}
	for _, f := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp",
		"title", "toUpper", "toLower", "first", "label", "value", "query", "args", "reReplaceAll", "match", "graphLink", "tableLink", "printf"} {
		funcs[f] = func(...any) string { return "" }
	}
	_, err := template.New("annotation").Funcs(funcs).Option("missingkey=zero").
		Parse("{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}{{$value := .Value}}" + text)
	return err
}

func TestPrometheusExample(t *testing.T) {
	var cfg struct {
		Global        map[string]any `yaml:"global"`
		RuleFiles     []string       `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	decodeStrict(t, promFile, &cfg)
	if len(cfg.RuleFiles) != 1 || filepath.Join("prometheus", cfg.RuleFiles[0]) != rulesFile {
		t.Errorf("rule_files %v, want %s", cfg.RuleFiles, filepath.Base(rulesFile))
	}
	var got []string
	for _, s := range cfg.ScrapeConfigs {
		got = append(got, s.JobName)
	}
	if strings.Join(got, " ") != strings.Join(jobs, " ") {
		t.Errorf("jobs %v, want %v", got, jobs)
	}
	if _, err := exec.LookPath("promtool"); err == nil {
		out, err := proctest.CombinedOutput(t, exec.Command("promtool", "check", "config", promFile), time.Minute)
		if err != nil {
			t.Errorf("promtool check config: %v\n%s", err, out)
		}
	}
}

// dashboard is the part of Grafana's dashboard model the test reads.
type dashboard struct {
	UID           string `json:"uid"`
	Title         string `json:"title"`
	SchemaVersion int    `json:"schemaVersion"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		ID      int    `json:"id"`
		Type    string `json:"type"`
		Title   string `json:"title"`
		GridPos struct {
			X, Y, W, H int
		} `json:"gridPos"`
		Datasource *struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			RefID string `json:"refId"`
			Expr  string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(b) {
		t.Fatalf("%s is not JSON", dashboardFile)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID == "" || d.Title == "" || d.SchemaVersion < 30 || len(d.Panels) == 0 {
		t.Fatalf("dashboard uid %q title %q schemaVersion %d panels %d", d.UID, d.Title, d.SchemaVersion, len(d.Panels))
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["site"] != "query" || vars["lane"] != "query" {
		t.Errorf("template variables %v, want datasource, site and lane", vars)
	}
	cat := catalogue(t)
	ids := map[int]bool{}
	var exprs []string
	for _, p := range d.Panels {
		where := fmt.Sprintf("%s: panel %d %q", dashboardFile, p.ID, p.Title)
		if ids[p.ID] || p.ID == 0 {
			t.Errorf("%s: id missing or used twice", where)
		}
		ids[p.ID] = true
		if p.Title == "" || p.GridPos.W <= 0 || p.GridPos.H <= 0 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("%s: title or grid position %+v", where, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		switch p.Type {
		case "timeseries", "stat", "table", "gauge", "bargauge", "state-timeline":
		default:
			t.Errorf("%s: panel type %q", where, p.Type)
		}
		if p.Datasource == nil || p.Datasource.Type != "prometheus" || p.Datasource.UID != "${datasource}" {
			t.Errorf("%s: datasource %+v, want the datasource variable", where, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("%s: no query", where)
		}
		refs := map[string]bool{}
		for _, q := range p.Targets {
			if q.RefID == "" || refs[q.RefID] || strings.TrimSpace(q.Expr) == "" {
				t.Errorf("%s: target %q: refId missing or twice, or no expr", where, q.RefID)
			}
			refs[q.RefID] = true
			exprs = append(exprs, q.Expr)
			for _, prob := range cat.check(q.Expr) {
				t.Errorf("%s: %s", where, prob)
			}
		}
	}
	t.Logf("%d panels, %d queries checked against the metrics exitlane serves", len(d.Panels), len(exprs))

	// promtool parses PromQL: the queries, with Grafana's variables
	// filled in, as recording rules.
	r := strings.NewReplacer("$__rate_interval", "5m", "$__range", "1d", "$site", ".*", "$lane", ".*")
	var buf strings.Builder
	buf.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		q, _ := json.Marshal(r.Replace(e))
		fmt.Fprintf(&buf, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, []byte(buf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	promtool(t, path)
}

// promtool runs promtool check rules on path when promtool is installed.
// It is not in the test packages (Debian's prometheus is about 100 MB
// installed): without it, the syntax checks above are what runs.
func promtool(t *testing.T, path string) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Logf("promtool not installed (apt-get install prometheus): %s checked without it", path)
		return
	}
	out, err := proctest.CombinedOutput(t, exec.Command("promtool", "check", "rules", path), time.Minute)
	if err != nil {
		t.Errorf("promtool check rules %s: %v\n%s", path, err, out)
	}
}

// series is what a metric family offers queries: its type, label names
// and the values seen for each label.
type series struct {
	typ    dto.MetricType
	labels map[string]map[string]bool
}

// cat maps a metric name (histograms with _bucket, _count and _sum) to
// its series.
type cat map[string]*series

// catalogue gathers a lane's and an office's metrics, with every path
// exercised once so that each labelled series exists, plus the "up" of
// Prometheus' scrape jobs.
func catalogue(t *testing.T) cat {
	t.Helper()
	m := metrics.NewLane("GRG01", "X1")
	j := m.Journal(acceptAll{})
	ctx := context.Background()
	paid := lane.OrderState{Status: lane.OrderPaid, Paid: 100}
	for _, r := range []lane.Record{
		lane.VisitRec{Visit: 1, Quote: lane.Quote{Fee: 100, Due: 100}},
		lane.VisitRec{Visit: 2, Refused: lane.NoticeForged},
		lane.VisitEndRec{Visit: 3, Outcome: "cancelled"},
		lane.OrderRec{No: "A-1"},
		lane.StatusRec{No: "A-1", State: lane.OrderState{Status: lane.OrderCreated}},
		lane.StatusRec{No: "A-2", State: lane.OrderState{Status: lane.OrderFailed}},
		lane.StatusRec{No: "A-3", State: lane.OrderState{Status: lane.OrderNotFound}},
		lane.ExitRec{Visit: 1, Cause: lane.CausePaid, Amount: 100, Paid: &lane.StatusRec{No: "A-1", State: paid}},
		lane.OpenRec{Cause: lane.CauseManual},
		lane.PulseRec{OK: true}, lane.PulseRec{OK: false},
		lane.AuditRec{Action: "pin_ok"}, lane.AuditRec{Action: "pin_wrong"}, lane.AuditRec{Action: "pin_locked"},
		lane.RefundRec{Status: lane.RefundDone, Amount: 10},
	} {
		if err := j.Record(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	m.ObservePayBy(payby.Attempt{Op: "get order", Code: "0"})
	m.ObservePayBy(payby.Attempt{Op: "get order", Code: "62004"})
	m.ObservePayBy(payby.Attempt{Op: "get order", Code: "transport", Failed: true})
	ok := lane.Health{Scanner: lane.DeviceOK, Relay: lane.DeviceOK, Loop: lane.DeviceOK, PayBy: lane.DeviceOK, Ledger: lane.DeviceOK, ClockSkew: 2 * time.Second}
	m.Snapshots(func() lane.Snapshot { return lane.Snapshot{State: lane.Idle, Health: ok} })
	m.Store(func(context.Context) (metrics.Store, error) {
		return metrics.Store{Configured: true, Up: true, Listening: true, Backlog: 1, Lag: time.Second}, nil
	})
	down := ok
	down.Relay = lane.DeviceDown
	snaps := make(chan lane.Snapshot, 2)
	snaps <- lane.Snapshot{State: lane.Fault, Notice: lane.NoticeDeviceFault, Health: down}
	close(snaps)
	m.Watch(ctx, snaps)
	o := metrics.NewOffice("GRG01")
	for _, reg := range []*metrics.Notifications{m.Notifications, o.Notifications} {
		reg.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/", nil))
	}
	o.Recorded.WithLabelValues("order", "false").Inc()

	c := cat{}
	for _, g := range []interface {
		Gather() ([]*dto.MetricFamily, error)
	}{m.Registry(), o.Registry()} {
		fams, err := g.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			names := []string{f.GetName()}
			if f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY {
				names = []string{f.GetName() + "_count", f.GetName() + "_sum", f.GetName() + "_bucket"}
			}
			for _, n := range names {
				s := c[n]
				if s == nil {
					s = &series{typ: f.GetType(), labels: map[string]map[string]bool{}}
					c[n] = s
				}
				for _, mt := range f.GetMetric() {
					for _, l := range mt.GetLabel() {
						if s.labels[l.GetName()] == nil {
							s.labels[l.GetName()] = map[string]bool{}
						}
						s.labels[l.GetName()][l.GetValue()] = true
					}
				}
				if strings.HasSuffix(n, "_bucket") {
					s.labels["le"] = map[string]bool{}
				}
			}
		}
	}
	up := &series{typ: dto.MetricType_GAUGE, labels: map[string]map[string]bool{"job": {}, "instance": {}}}
	for _, j := range jobs {
		up.labels["job"][j] = true
	}
	c["up"] = up
	return c
}

type acceptAll struct{ lane.Journal }

func (acceptAll) Record(context.Context, lane.Record) error { return nil }

var (
	selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"([^"]*)"`)
	// PromQL words and functions that look like metric names.
	promqlWords = map[string]bool{}
)

func init() {
	for _, w := range strings.Fields(`sum by without on ignoring group_left group_right and or unless max min avg count
		rate increase irate delta histogram_quantile abs time bool offset topk bottomk label_values le
		clamp_min clamp_max round sort sort_desc count_values stddev quantile absent changes resets deriv
		predict_linear vector scalar`) {
		promqlWords[w] = true
	}
}

// check reports the metrics a query names that exitlane does not serve,
// the labels it selects on that the metric does not have, and label
// values matched that the metric never takes.
func (c cat) check(expr string) []string {
	var probs []string
	// Drop quoted strings outside selectors, durations and grouping
	// clauses before looking for names.
	clean := regexp.MustCompile(`\[[^\]]*\]`).ReplaceAllString(expr, "")
	clean = regexp.MustCompile(`\b(by|without|on|ignoring)\s*\([^)]*\)`).ReplaceAllString(clean, "")
	for _, m := range selectorRE.FindAllStringSubmatch(clean, -1) {
		name, sel := m[1], m[2]
		if promqlWords[name] || regexp.MustCompile(`^[0-9]`).MatchString(name) {
			continue
		}
		s, ok := c[name]
		if !ok {
			if strings.HasPrefix(name, "process_") || strings.HasPrefix(name, "go_") {
				continue // the default collectors' (checked by promtool)
			}
			probs = append(probs, fmt.Sprintf("no metric %s", name))
			continue
		}
		for _, mm := range matcherRE.FindAllStringSubmatch(sel, -1) {
			label, op, val := mm[1], mm[2], mm[3]
			vals, ok := s.labels[label]
			if !ok && name != "up" && (label == "job" || label == "instance") {
				continue // target labels: Prometheus adds them to every series
			}
			if !ok {
				probs = append(probs, fmt.Sprintf("%s has no label %s", name, label))
				continue
			}
			if op != "=" && op != "=~" || strings.Contains(val, "$") || strings.Contains(val, ".*") || len(vals) == 0 {
				continue
			}
			for _, v := range strings.Split(val, "|") {
				if !vals[v] {
					probs = append(probs, fmt.Sprintf("%s{%s} never takes %q (it takes %s)", name, label, v, keys(vals)))
				}
			}
		}
	}
	return probs
}

func keys(m map[string]bool) string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// TestCheckerFindsProblems: the name and label check is not vacuous.
func TestCheckerFindsProblems(t *testing.T) {
	c := catalogue(t)
	for expr, want := range map[string]string{
		`rate(exitlane_visits_totl[5m])`:                                                                "no metric exitlane_visits_totl",
		`exitlane_device_up{device="toaster"} == 0`:                                                     `never takes "toaster"`,
		`exitlane_device_up{device=~"relay|toaster"} == 0`:                                              `never takes "toaster"`,
		`sum by (lane) (exitlane_lane_state{colour="red"})`:                                             "has no label colour",
		`up{job="exitlane-lanes"} == 0`:                                                                 `never takes "exitlane-lanes"`,
		`histogram_quantile(0.9, rate(exitlane_payby_call_duration_seconds_bucket{result="slow"}[5m]))`: `never takes "slow"`,
	} {
		probs := c.check(expr)
		if len(probs) != 1 || !strings.Contains(probs[0], want) {
			t.Errorf("%s: %v, want %q", expr, probs, want)
		}
	}
	for _, expr := range []string{
		`exitlane_device_up{device=~"scanner|relay|loop",job="x"} == 0`,
		`sum by (site, lane, le) (rate(exitlane_payby_call_duration_seconds_bucket{site=~"$site"}[$__rate_interval]))`,
		`process_resident_memory_bytes{job=~"exitlane.*"}`,
	} {
		if probs := c.check(expr); len(probs) != 0 {
			t.Errorf("%s: %v", expr, probs)
		}
	}
}
