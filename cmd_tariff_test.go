package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// tariffConfig is the example config with its [tariff] section replaced by
// a tariff fixture of the ticket package, in zone.
func tariffConfig(t *testing.T, fixture, zone string) string {
	t.Helper()
	cfg := testConfig(t)
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tariff, err := os.ReadFile("ticket/testdata/tariffs/" + fixture + ".toml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i, j := strings.Index(s, "[tariff]\n"), strings.Index(s, "[payby]\n")
	s = s[:i] + string(tariff) + "\n" + s[j:]
	s = strings.Replace(s, `timezone = "Asia/Dubai"`, `timezone = "`+zone+`"`, 1)
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestTariffHolidays(t *testing.T) {
	cfg := tariffConfig(t, "marina-mall", "Asia/Dubai")
	out, errOut, code := runCLI("tariff", "holidays", "--config", cfg, "--year", "2026")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"2026 in Asia/Dubai, as configured:",
		"Thu 2026-03-19  Eid al-Fitr              weekend prices",
		"Sun 2026-03-22  Eid al-Fitr              weekend prices",
		"Thu 2026-12-03  National Day             weekend prices",
		"6 holidays",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if out, _, _ := runCLI("tariff", "holidays", "--config", cfg, "--year", "2027"); !strings.Contains(out, "no holidays") {
		t.Errorf("2027: %s", out)
	}
	for _, args := range [][]string{{"tariff"}, {"tariff", "holidays"}, {"tariff", "holidays", "--config", cfg, "--year", "-1"}, {"tariff", "nonsense"}} {
		if _, _, code := runCLI(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}

// The README's calendar-day fee example is the command's output.
func TestFeeCalendarReadme(t *testing.T) {
	cfg := tariffConfig(t, "europe-night", "Europe/Berlin")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	const cmd = "$ exitlane fee --config berlin.toml --entry \"2026-03-02 18:00\" --exit \"2026-03-04 10:00\"\n"
	i := strings.Index(string(readme), cmd)
	if i < 0 {
		t.Fatal("README.md has no calendar fee example")
	}
	want := string(readme)[i+len(cmd):]
	want = want[:strings.Index(want, "```")]
	out, errOut, code := runCLI("fee", "--config", cfg, "--entry", "2026-03-02 18:00", "--exit", "2026-03-04 10:00")
	if code != exitOK || out != want {
		t.Fatalf("exit %d %s\ngot:\n%s\nREADME.md:\n%s", code, errOut, out, want)
	}
}

func TestFeeCalendarJSON(t *testing.T) {
	cfg := tariffConfig(t, "europe-night", "Europe/Berlin")
	out, errOut, code := runCLI("fee", "--config", cfg, "--json", "--entry", "2026-03-02 18:00", "--exit", "2026-03-04 10:00")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		DueFils    int64  `json:"due_fils"`
		Class      string `json:"class"`
		VATPercent string `json:"vat_percent"`
		VATFils    int64  `json:"vat_fils"`
		NetFils    int64  `json:"net_fils"`
		Days       []struct {
			Date      string `json:"date"`
			Days      int    `json:"days"`
			DayType   string `json:"day_type"`
			Capped    bool   `json:"capped"`
			TotalFils int64  `json:"total_fils"`
			Pieces    []struct {
				Band      string    `json:"band"`
				Rule      string    `json:"rule"`
				Start     time.Time `json:"start"`
				Seconds   int64     `json:"seconds"`
				PriceFils int64     `json:"price_fils"`
			} `json:"pieces"`
		} `json:"days"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.DueFils != 5100 || got.Class != "car" || got.VATPercent != "19.00" || got.VATFils != 814 || got.NetFils != 4286 || len(got.Days) != 3 {
		t.Fatalf("%+v\n%s", got, out)
	}
	tue := got.Days[1]
	if tue.Date != "2026-03-03" || tue.DayType != "weekday" || !tue.Capped || tue.TotalFils != 3000 || len(tue.Pieces) != 2 ||
		tue.Pieces[1].Band != "night" || tue.Pieces[1].Rule != "flat" || tue.Pieces[1].Seconds != 12*3600 || tue.Pieces[1].PriceFils != 500 ||
		tue.Pieces[0].Start.Format(time.RFC3339) != "2026-03-03T08:00:00+01:00" {
		t.Fatalf("tuesday %+v", tue)
	}
}

func TestFeeClassAndReentry(t *testing.T) {
	cfg := tariffConfig(t, "dubai-mall-2024", "Asia/Dubai")
	fee := func(args ...string) (int64, string, int) {
		out, errOut, code := runCLI(append([]string{"fee", "--config", cfg, "--json"}, args...)...)
		var got struct {
			DueFils   int64 `json:"due_fils"`
			Continued bool  `json:"continued"`
		}
		json.Unmarshal([]byte(out), &got)
		if got.Continued {
			errOut += "continued"
		}
		return got.DueFils, errOut, code
	}
	// 10:00-13:00, back at 14:30 (within 2 h), out at 15:30: 5h30m, AED 60.
	due, msg, code := fee("--entry", "2024-07-01 14:30", "--exit", "2024-07-01 15:30", "--previous-entry", "2024-07-01 10:00", "--previous-exit", "2024-07-01 13:00")
	if code != exitOK || due != 6000 || msg != "continued" {
		t.Errorf("re-entry: exit %d due %d %s", code, due, msg)
	}
	due, _, code = fee("--entry", "2024-07-01 14:30", "--exit", "2024-07-01 15:30", "--previous-entry", "2024-07-01 10:00", "--previous-exit", "2024-07-01 13:00", "--previous-paid", "60.00")
	if code != exitOK || due != 0 {
		t.Errorf("re-entry, paid: exit %d due %d", code, due)
	}
	if due, _, code = fee("--entry", "2024-07-01 10:00", "--exit", "2024-07-01 15:30", "--class", "motorcycle"); code != exitOK || due != 6000 {
		t.Errorf("class without tables: exit %d due %d", code, due)
	}
	for _, args := range [][]string{
		{"--entry", "2024-07-01 10:00", "--class", "Bus!"},
		{"--entry", "2024-07-01 10:00", "--previous-entry", "2024-07-01 09:00"},
		{"--entry", "2024-07-01 10:00", "--previous-entry", "2024-07-01 09:00", "--previous-exit", "2024-07-01 09:30", "--previous-paid", "-1"},
	} {
		if _, _, code := fee(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
	out, _, _ := runCLI("fee", "--config", cfg, "--entry", "2024-07-01 10:00", "--exit", "2024-07-01 14:30")
	if !strings.Contains(out, "due    AED 20.00\nvat    AED 0.95 (5%), net AED 19.05\n") {
		t.Errorf("VAT line:\n%s", out)
	}
}

func TestTicketClass(t *testing.T) {
	cfg := testConfig(t)
	out, errOut, code := runCLI("ticket", "issue", "--config", cfg, "--serial", "42", "--entry", "2026-03-02 10:00", "--class", "motorcycle")
	if code != exitOK {
		t.Fatalf("issue: %d %s", code, errOut)
	}
	tcode := strings.TrimSpace(out)
	if tcode != "EL2:GRG01:E1:42:1772431200:MOTORCYCLE:BDE8130E6609BDA7" { // as README.md shows
		t.Errorf("code %q", tcode)
	}
	out, _, code = runCLI("ticket", "check", "--config", cfg, "--now", "2026-03-02 11:30", tcode)
	if code != exitOK || !strings.Contains(out, "  class motorcycle\n") || !strings.Contains(out, "class motorcycle has no prices of its own: priced as car") || !strings.Contains(out, "owed now: AED 15.00") {
		t.Fatalf("check: %d\n%s", code, out)
	}
	if _, _, code := runCLI("ticket", "issue", "--config", cfg, "--class", "Bus!"); code != exitUsage {
		t.Errorf("bad class: exit %d", code)
	}
}

func TestConfigCheckInForce(t *testing.T) {
	cfg := testConfig(t)
	src, _ := os.ReadFile(cfg)
	s := string(src)
	i := strings.Index(s, "[payby]\n")
	s = s[:i] + `[[tariff.changes]]
from = "2001-01-01"
lost_fee = "150.00"
[[tariff.changes.tables]]
first_period = "1h"
first_price = "12.00"
increment = "1h"
increment_price = "6.00"

[[tariff.changes]]
from = "9999-01-01"
lost_fee = "150.00"
[[tariff.changes.tables]]
first_period = "1h"
first_price = "14.00"
increment = "1h"
increment_price = "7.00"

` + s[i:]
	os.WriteFile(cfg, []byte(s), 0o644)
	out, errOut, code := runCLI("config", "check", cfg)
	if code != exitOK || !strings.Contains(out, "tariff in force now: the price list from 2001-01-01\n") || !strings.Contains(out, "next change: 9999-01-01 (in ") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
}
