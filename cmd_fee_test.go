package main

import (
	"encoding/json"
	"testing"
)

func TestFeeJSON(t *testing.T) {
	cfg := testConfig(t)
	cases := []struct {
		args []string
		fils int64
	}{
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 10:15"}, 0},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02T10:15:01+04:00"}, 1000},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-03 12:30"}, 7000},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 13:10", "--validation", "CINEMA"}, 1500},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 13:10", "--validation", "2h"}, 1500},
		{[]string{"--lost"}, 15000},
		{[]string{"--entry", "2026-03-02 10:00", "--exit", "2026-03-02 12:19", "--paid", "15.00", "--paid-at", "2026-03-02 12:00"}, 0},
	}
	for _, c := range cases {
		out, errOut, code := runCLI(append([]string{"fee", "--config", cfg, "--json"}, c.args...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", c.args, code, errOut)
		}
		var got struct {
			FeeFils int64    `json:"fee_fils"`
			DueFils int64    `json:"due_fils"`
			Steps   []string `json:"steps"`
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: %v\n%s", c.args, err, out)
		}
		if got.DueFils != c.fils {
			t.Errorf("%v: due_fils %d, want %d\n%s", c.args, got.DueFils, c.fils, out)
		}
	}
}
