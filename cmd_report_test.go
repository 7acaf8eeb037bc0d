package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
)

// The reports read the same ledger the admin screen does: one paid exit of
// AED 5.00 and one payment no exit used ("paid, not exited") on 2 March.
func TestReportDayFormats(t *testing.T) {
	cfg := testConfig(t)
	testLedger(t, cfg)
	day := []string{"report", "day", "--config", cfg, "--from", "2026-03-02"}

	out, errOut, code := runCLI(day...)
	if code != exitOK || !strings.Contains(out, "lane X1") || !regexpLine(out, "collected", "10.00") || !regexpLine(out, "paid_amount", "5.00") {
		t.Fatalf("text: exit %d\n%s%s", code, out, errOut)
	}

	out, errOut, code = runCLI(append(day, "--format", "csv")...)
	if code != exitOK {
		t.Fatalf("csv: exit %d: %s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv %v: %q", err, out)
	}
	col := map[string]string{}
	for i, h := range recs[0] {
		col[h] = recs[1][i]
	}
	if col["lane"] != "X1" || col["exits"] != "1" || col["paid_count"] != "1" || col["paid_amount"] != "5.00" {
		t.Errorf("csv row %v", col)
	}

	out, errOut, code = runCLI(append(day, "--format", "json")...)
	var doc struct {
		Rows []map[string]string `json:"rows"`
	}
	if code != exitOK || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Rows) != 1 || doc.Rows[0]["exits"] != "1" {
		t.Fatalf("json: exit %d\n%s%s", code, out, errOut)
	}

	// Another day has nothing.
	out, _, code = runCLI("report", "day", "--config", cfg, "--from", "2026-03-03", "--format", "csv")
	if code != exitOK || !strings.Contains(out, "X1,0,0,0.00") {
		t.Errorf("empty day: exit %d\n%s", code, out)
	}
}

func TestReportUnresolvedAndOrders(t *testing.T) {
	cfg := testConfig(t)
	testLedger(t, cfg)
	out, errOut, code := runCLI("report", "unresolved", "--config", cfg, "--format", "csv")
	if code != exitOK || !strings.Contains(out, "GRG01-X1-2-1") || strings.Contains(out, "GRG01-X1-1-1") {
		t.Fatalf("unresolved: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = runCLI("report", "orders", "--config", cfg, "--from", "2026-03-02", "--format", "csv")
	if code != exitOK || !strings.Contains(out, "GRG01-X1-1-1") || !strings.Contains(out, "GRG01-X1-2-1") {
		t.Fatalf("orders: exit %d\n%s%s", code, out, errOut)
	}
}

func TestReportUsage(t *testing.T) {
	cfg := testConfig(t)
	testLedger(t, cfg)
	for _, args := range [][]string{
		{"report", "day", "--config", cfg, "--format", "xml"},
		{"report", "day", "--config", cfg, "extra"},
		{"report", "shift", "--config", cfg, "--from", "2026-03-02"},
		{"report", "day", "--config", cfg, "--from", "2026-03-03", "--to", "2026-03-02 10:00"},
		{"report", "day", "--config", cfg, "--lane", "X9"},
		{"report", "day", "--config", cfg, "--site"},
	} {
		if _, errOut, code := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d: %s", args, code, exitUsage, errOut)
		}
	}
	// No shift started yet: said plainly, exit 1.
	if _, errOut, code := runCLI("report", "shift", "--config", cfg); code != exitFailure || !strings.Contains(errOut, "no shift") {
		t.Errorf("shift: exit %d: %s", code, errOut)
	}
}

// regexpLine reports whether text has a "  key   value" line.
func regexpLine(text, key, value string) bool {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == key && f[1] == value {
			return true
		}
	}
	return false
}
