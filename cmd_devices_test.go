package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/exitlane/exitlane/sim"
)

func runCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestRelayPulseCommand(t *testing.T) {
	r, err := sim.NewRelay("numato", sim.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	code, out, errs := runCmd("relay", "pulse", "--port", r.Path(), "--board", "numato", "--channel", "2", "--pulse", "150ms")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "pulsed numato channel 2") {
		t.Errorf("output %q", out)
	}
	tl := r.Timeline()
	if len(tl) != 2 || tl[0].Channel != 2 || !tl[0].On || tl[1].On {
		t.Errorf("timeline %v", tl)
	}
	code, out, _ = runCmd("relay", "state", "--port", r.Path(), "--board", "numato", "--channels", "2")
	if code != exitOK || out != "channel 1: relay off (contact open)\nchannel 2: relay off (contact open)\n" {
		t.Errorf("state: exit %d, %q", code, out)
	}
}

func TestRelayCommandErrors(t *testing.T) {
	r, err := sim.NewRelay("lcus", sim.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"relay"}, exitUsage},
		{[]string{"relay", "--help"}, exitOK},
		{[]string{"relay", "pulse", "--help"}, exitOK},
		{[]string{"relay", "pulse"}, exitUsage},
		{[]string{"relay", "pulse", "--port", r.Path(), "--board", "hid"}, exitUsage},
		{[]string{"relay", "pulse", "--port", r.Path(), "--pulse", "5s"}, exitUsage},
		{[]string{"relay", "pulse", "--port", "/nonexistent/relay"}, exitFailure},
		{[]string{"relay", "state", "--port", r.Path()}, exitFailure}, // LCUS cannot tell
		{[]string{"relay", "emulate", "--board", "hid"}, exitUsage},
		{[]string{"scanner", "read"}, exitUsage},
		{[]string{"scanner", "read", "--port", "x", "--parity", "weird"}, exitUsage},
		{[]string{"scanner", "emulate", "--suffix", "tab"}, exitUsage},
		{[]string{"devices", "extra"}, exitUsage},
	} {
		if code, _, errs := runCmd(tt.args...); code != tt.code {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, tt.code, errs)
		}
	}
	if len(r.Frames()) != 0 {
		t.Errorf("the lcus board got frames: %v", r.Frames())
	}
}

func TestScannerReadCommand(t *testing.T) {
	s, err := sim.NewScanner(sim.ScannerOptions{AIM: "]C0"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.SendRaw([]byte("AB\x01\r"))
	s.Send("CODE1")
	done := make(chan string)
	go func() {
		_, out, _ := runCmd("scanner", "read", "--port", s.Path(), "--count", "2")
		done <- out
	}()
	time.Sleep(100 * time.Millisecond)
	s.Send("CODE1") // a duplicate
	s.Send("CODE2")
	select {
	case out := <-done:
		for _, want := range []string{"scanner up", "dropped  control_byte", "code     CODE1  (symbology ]C0)", "code     CODE2"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("scanner read did not stop after --count 2")
	}
}

func TestDevicesCommand(t *testing.T) {
	code, out, errs := runCmd("devices", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var ports []devicePort
	if err := json.Unmarshal([]byte(out), &ports); err != nil {
		t.Errorf("not JSON: %v\n%s", err, out)
	}
}
