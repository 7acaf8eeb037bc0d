package sim

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exitlane/exitlane/barrier"
	"github.com/exitlane/exitlane/ticket"
)

// collector gathers device events.
type collector struct {
	mu sync.Mutex
	ev []string
	ch chan string
}

func newCollector() *collector { return &collector{ch: make(chan string, 100)} }

func (c *collector) add(ev barrier.Event) {
	c.mu.Lock()
	c.ev = append(c.ev, ev.Kind.String())
	c.mu.Unlock()
	select {
	case c.ch <- ev.Kind.String():
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

func newRelayBarrier(t *testing.T, board string, opts barrier.Options) (*Relay, *barrier.Barrier, *barrier.Link, *collector) {
	t.Helper()
	r, err := NewRelay(board, RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	ev := newCollector()
	link := barrier.NewLink(barrier.PortOpener(r.Path(), barrier.PortConfig{}), barrier.LinkOptions{
		OnEvent: ev.add, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Check: 20 * time.Millisecond,
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
	return r, b, link, ev
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
			if len(r.Frames()) != 0 {
				t.Fatalf("frames before Open: %v", r.Frames())
			}
			if err := b.Open(t.Context(), "test"); err != nil {
				t.Fatal(err)
			}
			settle(t, r, len(want[board]))
			frames := r.Frames()
			if len(frames) != len(want[board]) {
				t.Fatalf("frames %v, want %d", frames, len(want[board]))
			}
			for i, f := range frames {
				if !bytes.Equal(f.Bytes, want[board][i]) {
					t.Errorf("frame %d % X (%s), want % X", i, f.Bytes, f.Desc, want[board][i])
				}
			}
			tl := r.Timeline()
			if len(tl) != 2 || !tl[0].On || tl[1].On || tl[0].Channel != 1 {
				t.Fatalf("timeline %v", tl)
			}
			if held := tl[1].At.Sub(tl[0].At); held < 190*time.Millisecond || held > 450*time.Millisecond {
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
	settle(t, r, 4)
	tl := r.Timeline()
	if len(tl) != 4 || !tl[0].On || tl[1].On || !tl[2].On || tl[3].On {
		t.Fatalf("timeline %v, want on off on off", tl)
	}
	if gap := tl[2].At.Sub(tl[1].At); gap < 90*time.Millisecond {
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
	r.Unplug()
	ev.wait(t, "down")
	if err := b.Open(t.Context(), "test"); !errors.Is(err, barrier.ErrDown) {
		t.Fatalf("Open while unplugged = %v, want ErrDown", err)
	}
	if err := r.Replug(); err != nil {
		t.Fatal(err)
	}
	ev.wait(t, "up")
	time.Sleep(100 * time.Millisecond)
	// Nothing is replayed after reconnecting: the failed Open stays failed.
	if f := r.Frames(); len(f) != 0 {
		t.Fatalf("frames after replug: %v", f)
	}
	if err := b.Open(t.Context(), "test"); err != nil {
		t.Fatalf("Open after replug: %v", err)
	}
	settle(t, r, 2)
	if tl := r.Timeline(); len(tl) != 2 {
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
	loop, err := barrier.NewLoop(link, barrier.LoopOptions{Line: "gpio", GPIO: 2, Debounce: 50 * time.Millisecond})
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
	events := make(chan ticket.ScanEvent, 100)
	sc := ticket.NewScanner(func() (io.ReadCloser, error) {
		return barrier.OpenPort(s.Path(), barrier.PortConfig{Baud: 115200})
	}, ticket.ScannerOptions{MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- sc.Run(ctx, func(ev ticket.ScanEvent) { events <- ev }) }()
	next := func() ticket.ScanEvent {
		t.Helper()
		select {
		case ev := <-events:
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no scanner event")
		}
		return ticket.ScanEvent{}
	}
	expect := func(kind ticket.ScanKind, detail string) {
		t.Helper()
		ev := next()
		got := ev.Code + string(ev.Reason)
		if ev.Kind != kind || got != detail {
			t.Fatalf("event %v %q, want %v %q", ev.Kind, got, kind, detail)
		}
	}
	expect(ticket.ScannerUp, "")
	s.Send("EL1:DXB:X1:42:1700000000:0123456789ABCDEF")
	expect(ticket.ScanCode, "EL1:DXB:X1:42:1700000000:0123456789ABCDEF")
	s.Send("EL1:DXB:X1:42:1700000000:0123456789ABCDEF") // duplicate within 2s
	s.SendNoise()
	expect(ticket.ScanDrop, string(ticket.DropControl))
	expect(ticket.ScanDrop, string(ticket.DropIncomplete))
	s.Unplug()
	expect(ticket.ScannerDown, "")
	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	expect(ticket.ScannerUp, "")
	s.Send("AFTER")
	expect(ticket.ScanCode, "AFTER")
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
			link := barrier.NewLink(barrier.PortOpener(r.Path(), barrier.PortConfig{}), barrier.LinkOptions{})
			defer link.Close()
			br, err := barrier.New(link, barrier.Options{Board: board, Gap: -1})
			if err != nil {
				b.Fatal(err)
			}
			// The first exchange opens the port; do not count it.
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
