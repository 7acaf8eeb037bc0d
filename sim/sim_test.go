package sim

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/barrier"
	"github.com/exitlane/exitlane/scanner"
	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/ticket"
)

// collector gathers device events.
type collector struct {
	mu sync.Mutex
	ev []string
	ch chan string
}

func newCollector() *collector { return &collector{ch: make(chan string, 100)} }

func (c *collector) add(ev serialport.Event) { c.note(ev.Kind.String()) }

func (c *collector) note(s string) {
	c.mu.Lock()
	c.ev = append(c.ev, s)
	c.mu.Unlock()
	select {
	case c.ch <- s:
	default:
	}
}

// wait waits for an event of kind k.
func (c *collector) wait(t *testing.T, k string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case got := <-c.ch:
			if got == k {
				return
			}
		case <-deadline:
			t.Fatalf("no %s event", k)
		}
	}
}

// settle waits until the emulator has decoded n frames: a write returns
// before the far end has read it.
func settle(t *testing.T, r *Relay, n int) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); len(r.Frames()) < n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
}

func newRelayBarrier(t *testing.T, board string, opts barrier.Options) (*Relay, *barrier.Barrier, *serialport.Link, *collector) {
	t.Helper()
	r, err := NewRelay(board, RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	b, link, ev := connectBarrier(t, r, opts)
	return r, b, link, ev
}

// connectBarrier starts a barrier on the emulated board r and waits until
// its link is up.
func connectBarrier(t *testing.T, r *Relay, opts barrier.Options) (*barrier.Barrier, *serialport.Link, *collector) {
	t.Helper()
	board := r.Board()
	ev := newCollector()
	link := serialport.NewLink(serialport.Opener(r.Path(), serialport.Config{}), serialport.Options{
		Name: "relay", OnEvent: ev.add, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Check: 20 * time.Millisecond,
	})
	opts.Board = board
	b, err := barrier.New(link, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { link.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	ev.wait(t, "up")
	return b, link, ev
}

// The pulse through the real serial path: exact frames, on then off after
// the pulse length (tolerance for a loaded machine), no fault.
func TestRelayPulseEndToEnd(t *testing.T) {
	want := map[string][][]byte{
		"lcus":      {{0xA0, 1, 1, 0xA2}, {0xA0, 1, 0, 0xA1}},
		"kmtronic":  {{0xFF, 1, 1}, {0xFF, 1, 3}, {0xFF, 1, 0}, {0xFF, 1, 3}},
		"numato":    {[]byte("relay on 0\r"), []byte("relay read 0\r"), []byte("relay off 0\r"), []byte("relay read 0\r")},
		"devantech": {{0x65}, {0x5B}, {0x6F}, {0x5B}},
		"modbus": {
			{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A}, {0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFD, 0xCA},
			{0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA}, {0x01, 0x01, 0x00, 0x00, 0x00, 0x01, 0xFD, 0xCA},
		},
	}
	// One board at a time: the hold is measured from the emulator's reads,
	// and five ptys served at once on a loaded machine delay the "on"
	// read enough to make a 200 ms pulse look shorter than it was.
	for _, board := range barrier.Boards {
		t.Run(board, func(t *testing.T) {
			r, b, _, ev := newRelayBarrier(t, board, barrier.Options{Pulse: 200 * time.Millisecond})
			// At connect: the "off" half of a pulse (off, read back), only.
			pulse := want[board]
			connect := pulse[len(pulse)/2:]
			settle(t, r, len(connect))
			if !sameFrames(r.Frames(), connect) {
				t.Fatalf("frames at connect %v, want % X", r.Frames(), connect)
			}
			called := time.Now()
			if err := b.Open(t.Context(), "test"); err != nil {
				t.Fatal(err)
			}
			settle(t, r, len(connect)+len(pulse))
			frames := r.Frames()[len(connect):]
			if len(frames) != len(pulse) {
				t.Fatalf("frames %v, want %d", frames, len(pulse))
			}
			for i, f := range frames {
				if !bytes.Equal(f.Bytes, pulse[i]) {
					t.Errorf("frame %d % X (%s), want % X", i, f.Bytes, f.Desc, pulse[i])
				}
			}
			tl := r.Timeline()
			if len(tl) != 2 || !tl[0].On || tl[1].On || tl[0].Channel != 1 {
				t.Fatalf("timeline %v", tl)
			}
			// The emulator stamps a frame when it reads it, a little after
			// it was written, and a loaded machine delays either read: a
			// late "on" read makes the hold between the two reads look
			// shorter than the pulse (177 ms once under load). The "off"
			// was written at least the pulse after the "on", which was
			// written after Open was called: its read is never earlier.
			if off := tl[1].At.Sub(called); off < 200*time.Millisecond {
				t.Errorf("off read %v after Open was called, before a 200ms pulse could end", off)
			}
			// Too long a hold: only the "off" read's own delay lengthens
			// it, and the bound leaves 250 ms for that.
			if held := tl[1].At.Sub(tl[0].At); held > 450*time.Millisecond {
				t.Errorf("held %v, want 200ms", held)
			}
			if r.State(1) {
				t.Error("relay left on")
			}
			ev.mu.Lock()
			defer ev.mu.Unlock()
			if strings.Join(ev.ev, ",") != "up" {
				t.Errorf("events %v", ev.ev)
			}
		})
	}
}

func sameFrames(got []Frame, want [][]byte) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !bytes.Equal(got[i].Bytes, want[i]) {
			return false
		}
	}
	return true
}

// onFrames returns the frames that switch a relay on.
func onFrames(frames []Frame) []Frame {
	var on []Frame
	for _, f := range frames {
		if strings.HasSuffix(f.Desc, " on") {
			on = append(on, f)
		}
	}
	return on
}

// A process killed during a pulse leaves the relay on (the "on" was sent,
// the "off" never was). The restarted lane's barrier switches it off as
// soon as it connects, reads it back where the board can tell, and sends
// no "on".
func TestRelayLeftOnSwitchedOffAtStart(t *testing.T) {
	for _, board := range barrier.Boards {
		t.Run(board, func(t *testing.T) {
			t.Parallel()
			r, err := NewRelay(board, RelayOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			// The killed process: "on", then nothing.
			drv, err := barrier.NewBoard(board, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			killed := serialport.NewLink(serialport.Opener(r.Path(), serialport.Config{}), serialport.Options{})
			if err := killed.Do(func(p serialport.Port) error { return drv.Set(p, 1, true) }); err != nil {
				t.Fatal(err)
			}
			killed.Close()
			settle(t, r, 1)
			if !r.State(1) {
				t.Fatal("relay not left on")
			}
			sent := len(r.Frames())

			_, _, ev := connectBarrier(t, r, barrier.Options{})
			for deadline := time.Now().Add(2 * time.Second); r.State(1) && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if r.State(1) {
				t.Fatalf("relay still on after connect; frames %v", r.Frames()[sent:])
			}
			after := r.Frames()[sent:]
			if len(after) == 0 || !strings.HasSuffix(after[0].Desc, "ch1 off") {
				t.Errorf("frames after connect %v, want ch1 off first", after)
			}
			if on := onFrames(after); len(on) != 0 {
				t.Errorf("on sent at connect: %v", on)
			}
			tl := r.Timeline()
			if last := tl[len(tl)-1]; last.On || last.Channel != 1 {
				t.Errorf("timeline %v, want ch1 off last", tl)
			}
			time.Sleep(50 * time.Millisecond)
			ev.mu.Lock()
			defer ev.mu.Unlock()
			if strings.Join(ev.ev, ",") != "up" {
				t.Errorf("events %v, want up (off confirmed)", ev.ev)
			}
		})
	}
}

// A board with its own supply keeps its relay on when its USB adapter is
// unplugged mid-pulse: the pulse's "off" cannot be sent and a Fault says
// the relay may be stuck. When the adapter is back, the reconnect switches
// the relay off (and nothing else).
func TestRelayLeftOnSwitchedOffAtReconnect(t *testing.T) {
	r, err := NewRelay("kmtronic", RelayOptions{OwnSupply: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	b, _, ev := connectBarrier(t, r, barrier.Options{Pulse: time.Second})
	opened := make(chan error, 1)
	go func() { opened <- b.Open(t.Context(), "test") }()
	for deadline := time.Now().Add(2 * time.Second); !r.State(1) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	r.Unplug()
	if err := <-opened; !errors.Is(err, serialport.ErrDown) {
		t.Fatalf("Open = %v, want the off failing with ErrDown", err)
	}
	ev.wait(t, "fault")
	if !r.State(1) {
		t.Fatal("own-supply relay dropped on unplug")
	}
	sent := len(r.Frames())
	if err := r.Replug(); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "up")
	settle(t, r, sent+2)
	if r.State(1) {
		t.Fatal("relay still on after reconnect")
	}
	after := r.Frames()[sent:]
	if !sameFrames(after, [][]byte{{0xFF, 1, 0}, {0xFF, 1, 3}}) {
		t.Errorf("frames after reconnect %v, want off and read back", after)
	}
}

// Halt switches the barrier relay off during a pulse and reads it back.
func TestRelayHaltMidPulse(t *testing.T) {
	r, b, _, _ := newRelayBarrier(t, "modbus", barrier.Options{Pulse: 3 * time.Second})
	opened := make(chan error, 1)
	go func() { opened <- b.Open(t.Context(), "test") }()
	for deadline := time.Now().Add(2 * time.Second); !r.State(1) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if err := b.Halt(); err != nil {
		t.Fatal(err)
	}
	if r.State(1) {
		t.Error("relay on after Halt")
	}
	fs := r.Frames()
	if last := fs[len(fs)-1]; !strings.HasPrefix(last.Desc, "query ch1") || !strings.HasSuffix(fs[len(fs)-2].Desc, "ch1 off") {
		t.Errorf("frames %v, want off then read back", fs)
	}
	if err := <-opened; err != nil {
		t.Errorf("Open = %v", err)
	}
}

func TestRelayTwoOpens(t *testing.T) {
	r, b, _, _ := newRelayBarrier(t, "lcus", barrier.Options{Pulse: 100 * time.Millisecond, Gap: 100 * time.Millisecond})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := b.Open(t.Context(), "test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	settle(t, r, 5) // the "off" at connect, then on off on off
	tl := r.Timeline()
	if len(tl) != 4 || !tl[0].On || tl[1].On || !tl[2].On || tl[3].On {
		t.Fatalf("timeline %v, want on off on off", tl)
	}
	// The times are the emulator's reads, which a loaded machine delays by
	// tens of milliseconds; without the gap the two pulses would be a few
	// milliseconds apart.
	if gap := tl[2].At.Sub(tl[1].At); gap < 50*time.Millisecond {
		t.Errorf("gap %v", gap)
	}
}

func TestRelayCancelledMidPulse(t *testing.T) {
	r, b, _, _ := newRelayBarrier(t, "kmtronic", barrier.Options{Pulse: 3 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	err := b.Open(ctx, "test")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Open = %v", err)
	}
	tl := r.Timeline()
	if len(tl) != 2 || tl[1].On {
		t.Fatalf("timeline %v, want on then off", tl)
	}
	if held := tl[1].At.Sub(tl[0].At); held > time.Second {
		t.Errorf("held %v after cancel at 150ms", held)
	}
}

func TestRelayMisbehaves(t *testing.T) {
	tests := []struct {
		board string
		mode  Misbehaviour
		want  error
	}{
		{"kmtronic", Stuck, barrier.ErrMismatch},
		{"kmtronic", WrongReply, barrier.ErrMismatch},
		{"kmtronic", NoReply, barrier.ErrNoReply},
		{"numato", Stuck, barrier.ErrMismatch},
		{"numato", NoReply, barrier.ErrNoReply},
		{"devantech", WrongReply, barrier.ErrMismatch},
		{"modbus", NoReply, barrier.ErrNoReply},
		{"modbus", WrongReply, barrier.ErrBadReply},
		{"modbus", Stuck, barrier.ErrMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.board+"/"+tt.mode.String(), func(t *testing.T) {
			t.Parallel()
			r, b, link, ev := newRelayBarrier(t, tt.board, barrier.Options{Pulse: 100 * time.Millisecond})
			r.Misbehave(tt.mode)
			err := b.Open(t.Context(), "test")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			ev.wait(t, "fault")
			if !link.Up() {
				t.Error("a board fault took the link down")
			}
			// Healed, the board works again on the same port.
			r.Misbehave(Behave)
			if err := b.Open(t.Context(), "test"); err != nil {
				t.Errorf("after healing: %v", err)
			}
			ev.wait(t, "up") // healthy again
		})
	}
}

func TestRelayUnplugReplug(t *testing.T) {
	r, b, link, ev := newRelayBarrier(t, "lcus", barrier.Options{Pulse: 100 * time.Millisecond})
	settle(t, r, 1) // the "off" at connect
	r.Unplug()
	ev.wait(t, "down")
	if err := b.Open(t.Context(), "test"); !errors.Is(err, serialport.ErrDown) {
		t.Fatalf("Open while unplugged = %v, want ErrDown", err)
	}
	if err := r.Replug(); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "up")
	time.Sleep(100 * time.Millisecond)
	// Nothing is replayed after reconnecting: the failed Open stays
	// failed. Only the "off" of each connect was sent.
	want := [][]byte{barrier.LCUSFrame(1, false), barrier.LCUSFrame(1, false)}
	if f := r.Frames(); !sameFrames(f, want) {
		t.Fatalf("frames after replug: %v", f)
	}
	if err := b.Open(t.Context(), "test"); err != nil {
		t.Fatalf("Open after replug: %v", err)
	}
	settle(t, r, 4)
	if tl := r.Timeline(); len(tl) != 2 || !tl[0].On || tl[1].On {
		t.Errorf("timeline %v", tl)
	}
	if !link.Up() {
		t.Error("link down")
	}
}

// A quick unplug and replug between two checks (the pty number is reused)
// is still noticed before the next pulse.
func TestRelayQuickReplug(t *testing.T) {
	r, b, _, ev := newRelayBarrier(t, "lcus", barrier.Options{Pulse: 100 * time.Millisecond})
	r.Unplug()
	if err := r.Replug(); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "down")
	ev.wait(t, "up")
	if err := b.Open(t.Context(), "test"); err != nil {
		t.Fatalf("Open after quick replug: %v", err)
	}
}

func TestLoopOnNumatoGPIO(t *testing.T) {
	r, b, link, ev := newRelayBarrier(t, "numato", barrier.Options{Pulse: 100 * time.Millisecond})
	loop, err := barrier.NewLoop(link, barrier.LoopOptions{Line: "gpio", GPIO: 2, Debounce: 50 * time.Millisecond,
		OnChange: func(present bool) {
			if present {
				ev.note("vehicle_present")
			} else {
				ev.note("vehicle_clear")
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go loop.Run(ctx)
	r.SetGPIO(2, true)
	ev.wait(t, "vehicle_present")
	// The loop and the barrier share the port.
	if err := b.Open(t.Context(), "test"); err != nil {
		t.Fatal(err)
	}
	r.SetGPIO(2, false)
	ev.wait(t, "vehicle_clear")
}

func TestScannerEndToEnd(t *testing.T) {
	s, err := NewScanner(ScannerOptions{AIM: "]Q1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	events := make(chan scanner.Event, 100)
	sc := scanner.New(serialport.Opener(s.Path(), serialport.Config{Baud: 115200}),
		scanner.Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- sc.Run(ctx, func(ev scanner.Event) { events <- ev }) }()
	next := func() scanner.Event {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no scanner event")
		}
		return scanner.Event{}
	}
	expect := func(kind scanner.Kind, detail string) {
		t.Helper()
		ev := next()
		got := ev.Code + string(ev.Reason)
		if ev.Kind != kind || got != detail {
			t.Fatalf("event %v %q, want %v %q", ev.Kind, got, kind, detail)
		}
	}
	expect(scanner.Up, "")
	s.Send("EL1:DXB:X1:42:1700000000:0123456789ABCDEF")
	expect(scanner.Code, "EL1:DXB:X1:42:1700000000:0123456789ABCDEF")
	s.Send("EL1:DXB:X1:42:1700000000:0123456789ABCDEF") // duplicate within 2s
	s.SendNoise()
	expect(scanner.Drop, string(ticket.DropControl))
	expect(scanner.Drop, string(ticket.DropIncomplete))
	s.Unplug()
	expect(scanner.Down, "")
	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	expect(scanner.Up, "")
	s.Send("AFTER")
	expect(scanner.Code, "AFTER")
	cancel()
	<-done
}

// BenchmarkOpenToFirstByte measures the time from Barrier.Open to the
// first relay frame arriving on the pty's far end, through go.bug.st/serial.
func BenchmarkOpenToFirstByte(b *testing.B) {
	for _, board := range []string{"lcus", "modbus"} {
		b.Run(board, func(b *testing.B) {
			ons := make(chan time.Time, 16)
			r, err := NewRelay(board, RelayOptions{OnFrame: func(f Frame) {
				if strings.HasSuffix(f.Desc, " on") {
					ons <- f.At
				}
			}})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			link := serialport.NewLink(serialport.Opener(r.Path(), serialport.Config{}), serialport.Options{Name: "relay"})
			defer link.Close()
			br, err := barrier.New(link, barrier.Options{Board: board, Gap: -1})
			if err != nil {
				b.Fatal(err)
			}
			// The first exchange opens the port (and switches the relay
			// off); do not count it.
			if err := br.Halt(); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				t0 := time.Now()
				go func() { done <- br.Open(ctx, "bench") }()
				at := <-ons
				lat = append(lat, at.Sub(t0))
				cancel()
				<-done
			}
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(p(0.5), "p50-ms")
			b.ReportMetric(p(0.99), "p99-ms")
			b.ReportMetric(p(1), "max-ms")
			b.Logf("%s: n=%d p50=%.3fms p99=%.3fms max=%.3fms", board, len(lat), p(0.5), p(0.99), p(1))
		})
	}
}
