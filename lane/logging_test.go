package lane

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// logSink captures a runner's log as JSON lines, at every level.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (s *logSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// records returns the records whose message is msg ("": all).
func (s *logSink) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.text()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if msg == "" || r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

// find returns the records with message msg whose attributes include
// every key/value of want ("ticket.serial" reads a group).
func (s *logSink) find(t *testing.T, msg string, want map[string]any) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range s.records(t, msg) {
		ok := true
		for k, v := range want {
			ok = ok && attr(r, k) == v
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

func attr(r map[string]any, key string) any {
	var v any = r
	for _, k := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// A scan is logged by the ticket's site, lane and serial; no log record,
// at any level, carries the code or its MAC (the MAC is the ticket's
// only protection against forgery, and logs travel).
func TestLogNeverCarriesTheCode(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const (
			code   = "EL1:S:E1:777:946681200:0123456789ABCDEF"
			mac    = "0123456789ABCDEF"
			forged = "EL1:S:E1:778:946681200:FEDCBA9876543210"
			other  = "EL1:S:E1:779:946681200:00112233445566FF"
		)
		w := newWorld(t, Params{}, nil)
		w.ticket(code, time.Hour)
		w.scan(code)
		w.want(FeeDue)
		w.scan(other) // while the fee is shown: tried as a validation stamp
		w.payNow("S-X1-777-1")
		w.sleep(2 * time.Second)
		w.want(Open)
		w.sleep(10 * time.Second)
		w.scan(code) // already used
		w.want(Notice)
		w.scan(forged)
		w.sleep(10 * time.Second)
		w.device(DevRelay, DeviceDown)
		w.scan(code) // refused: fault
		w.device(DevRelay, DeviceOK)
		w.do(CloseLane{Attendant: "a1"})
		w.scan(code) // refused: closed
		w.do(OpenLane{Attendant: "a1"})
		w.do(EnterCode{Attendant: "a1", Code: code})
		w.stop()

		text := w.logs.text()
		for _, secret := range []string{mac, code, forged, "FEDCBA9876543210", other, "00112233445566FF"} {
			if strings.Contains(text, secret) {
				t.Errorf("log carries %q:\n%s", secret, text)
			}
		}
		ticket := map[string]any{"level": "INFO", "ticket.site": "S", "ticket.lane": "E1", "ticket.serial": "777"}
		if n := len(w.logs.find(t, "scan", ticket)); n != 2 {
			t.Errorf("%d scans logged by site, lane and serial, want 2 (first visit, already used)\n%s", n, text)
		}
		if len(w.logs.find(t, "scan", map[string]any{"ticket.serial": "778"})) != 1 {
			t.Errorf("the forged code's scan not logged by its serial\n%s", text)
		}
		if len(w.logs.find(t, "scan", map[string]any{"ticket.serial": "779", "as": "validation", "visit": 1.0})) != 1 {
			t.Errorf("a code scanned while the fee is shown not logged\n%s", text)
		}
		if len(w.logs.find(t, "ticket checked", map[string]any{"ticket.serial": "777", "visit": 1.0, "due_fils": 1000.0})) != 1 {
			t.Errorf("checked ticket not logged\n%s", text)
		}
		if len(w.logs.find(t, "scan refused", map[string]any{"level": "WARN", "state": "fault", "notice": "device_fault", "reason": "relay_down", "ticket.serial": "777"})) != 1 {
			t.Errorf("scan refused in fault not logged at WARN\n%s", text)
		}
		if len(w.logs.find(t, "scan refused", map[string]any{"level": "INFO", "state": "closed", "reason": "closed_by_attendant", "ticket.serial": "777"})) != 1 {
			t.Errorf("scan refused while closed not logged\n%s", text)
		}
		if len(w.logs.find(t, "notice", map[string]any{"level": "INFO", "notice": "already_used", "reason": "ticket_exited_before", "visit": 2.0})) != 1 {
			t.Errorf("already used notice not logged with its visit\n%s", text)
		}
		if len(w.logs.find(t, "recovered", map[string]any{"level": "WARN", "device": "relay", "reason": "relay_back", "state": "idle"})) != 1 {
			t.Errorf("recovery not logged\n%s", text)
		}
		if len(w.logs.find(t, "action", map[string]any{"action": "enter_code", "ticket.serial": "777"})) != 1 {
			t.Errorf("typed code not logged by its serial\n%s", text)
		}
	})
}

// Codes that are not EL1 are named by their length only: a scanner also
// reads boarding passes and payment QRs.
func TestRefCode(t *testing.T) {
	cases := []struct{ code, want string }{
		{"EL1:GRG01:L2:48213:1767225600:0123456789ABCDEF", "GRG01/L2/48213"},
		{"EL1:GRG01:L2:48213:1767225600:short", "GRG01/L2/48213"}, // a malformed MAC is still not logged
		{"EL1:grg:L2:48213:1:0123456789ABCDEF", "code(len=35)"},   // not the EL1 alphabet: nothing of it
		{"EL1:G:L:12x:1:M", "code(len=15)"},
		{"https://pay.example/qr?token=abc", "code(len=32)"},
		{"", "code(len=0)"},
	}
	for _, c := range cases {
		got := refCode(c.code).String()
		if got != c.want {
			t.Errorf("refCode(%q) = %q, want %q", c.code, got, c.want)
		}
		if d := Describe(Scanned{Code: c.code}); strings.Contains(d, "0123456789ABCDEF") || strings.Contains(d, "token") {
			t.Errorf("Describe(%q) = %q", c.code, d)
		}
	}
}

// What the driver is shown is logged at INFO with its reason, once per
// showing (not once per failed retry).
func TestNoticeLoggedWithReason(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.ticket("T150", time.Hour)
		w.pay.setDown(true)
		w.scan("T150")
		w.want(FeeDue)
		w.sleep(time.Minute) // retries every 5 s, all failing
		unavailable := map[string]any{"level": "INFO", "notice": "payment_unavailable", "reason": "payby_unreachable", "state": "fee_due", "visit": 1.0}
		if n := len(w.logs.find(t, "notice", unavailable)); n != 1 {
			t.Fatalf("%d notices payment_unavailable logged while the fee is due, want 1\n%s", n, w.logs.text())
		}
		w.pay.setDown(false)
		w.sleep(5 * time.Second)
		w.want(FeeDue)
		w.sleep(3 * time.Minute) // the window ends unpaid
		w.want(Notice)
		if len(w.logs.find(t, "notice", map[string]any{"level": "INFO", "notice": "expired", "reason": "pay_window_over", "state": "notice"})) != 1 {
			t.Fatalf("expired notice not logged\n%s", w.logs.text())
		}
		w.device(DevScanner, DeviceDown)
		w.sleep(10 * time.Second)
		if len(w.logs.find(t, "notice", map[string]any{"notice": "device_fault", "reason": "scanner_down", "state": "fault"})) != 1 {
			t.Fatalf("device fault notice not logged\n%s", w.logs.text())
		}
		w.stop()
	})
}

// Every device down and back is logged at WARN, its first report at INFO.
func TestDeviceLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := newWorld(t, Params{}, nil)
		w.device(DevRelay, DeviceOK)
		w.device(DevRelay, DeviceOK) // a repeat is not news
		w.device(DevRelay, DeviceDown)
		w.device(DevRelay, DeviceOK)
		w.device(DevScanner, DeviceDown)
		w.device(DevScanner, DeviceOK)
		w.stop()
		for _, c := range []struct {
			msg, level, device string
			n                  int
		}{
			{"device up", "INFO", "relay", 1},
			{"device down", "WARN", "relay", 1},
			{"device up", "WARN", "relay", 1},
			{"device down", "WARN", "scanner", 1},
			{"device up", "WARN", "scanner", 1},
		} {
			if got := len(w.logs.find(t, c.msg, map[string]any{"level": c.level, "device": c.device})); got != c.n {
				t.Errorf("%d %s %q records for %s, want %d\n%s", got, c.level, c.msg, c.device, c.n, w.logs.text())
			}
		}
	})
}

// A PayBy outage longer than one pay window is one ERROR and, once it
// ends, one WARN; a shorter one neither.
func TestPayByOutageLoggedOnce(t *testing.T) {
	outage := func(t *testing.T, down time.Duration) (nerr, recovered int, w *world) {
		w = newWorld(t, Params{}, nil)
		w.ticket("T151", time.Hour)
		w.pay.setDown(true)
		w.scan("T151")
		w.sleep(down)
		w.pay.setDown(false)
		w.sleep(time.Minute) // the reconciler or the visit's own calls find it back
		w.stop()
		nerr = len(w.logs.find(t, "", map[string]any{"level": "ERROR"}))
		recovered = len(w.logs.find(t, "payby recovered", map[string]any{"level": "WARN", "device": "payby"}))
		return nerr, recovered, w
	}
	t.Run("long", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			nerr, recovered, w := outage(t, 10*time.Minute)
			if nerr != 1 || recovered != 1 {
				t.Fatalf("%d ERROR and %d recovered records, want 1 and 1\n%s", nerr, recovered, w.logs.text())
			}
			rs := w.logs.records(t, "")
			var ie, ir int
			for i, r := range rs {
				switch {
				case r["level"] == "ERROR":
					ie = i
				case r["msg"] == "payby recovered":
					ir = i
				}
			}
			if ir < ie || rs[ie]["device"] != "payby" {
				t.Fatalf("ERROR %v, recovered at %d\n%s", rs[ie], ir, w.logs.text())
			}
		})
	})
	t.Run("short", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			nerr, recovered, w := outage(t, 12*time.Second)
			if nerr != 0 || recovered != 0 {
				t.Fatalf("%d ERROR and %d recovered records for a 12 s outage, want none\n%s", nerr, recovered, w.logs.text())
			}
		})
	})
}
