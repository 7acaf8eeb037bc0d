package barrier

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exitlane/exitlane/serialport"
)

// Event kinds, short.
const (
	Up    = serialport.Up
	Down  = serialport.Down
	Fault = serialport.Fault
)

type EventKind = serialport.EventKind

// events collects a Link's events.
type events struct {
	mu sync.Mutex
	ev []serialport.Event
}

func (e *events) add(ev serialport.Event) { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }
func (e *events) kinds() []EventKind {
	e.mu.Lock()
	defer e.mu.Unlock()
	var k []EventKind
	for _, ev := range e.ev {
		k = append(k, ev.Kind)
	}
	return k
}

func newLink(open serialport.OpenFunc, ev *events) *serialport.Link {
	opts := serialport.Options{Name: "relay"}
	if ev != nil {
		opts.OnEvent = ev.add
	}
	return serialport.NewLink(open, opts)
}

// newTestBarrier makes a Barrier on p and connects it. The connect must
// switch the barrier channel's contact open, and nothing else; those
// writes are then forgotten, so each test sees only what it caused.
func newTestBarrier(t *testing.T, p *fakePort, opts Options) (*Barrier, *events) {
	t.Helper()
	ev := &events{}
	link := newLink(func() (serialport.Port, error) { return p, nil }, ev)
	b, err := New(link, opts)
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Writes(); len(w) != 0 {
		t.Fatalf("New wrote %v", w)
	}
	link.Do(func(serialport.Port) error { return nil })
	want := &fakePort{reply: p.reply}
	b.Board().Set(want, b.opts.Channel, b.raw(false))
	if ReadsBack(b.Board()) {
		b.Board().State(want, b.opts.Channel)
	}
	if got := p.all(); !bytes.Equal(got, want.all()) {
		t.Fatalf("connect wrote % X, want % X (contact open)", got, want.all())
	}
	p.forget()
	return b, ev
}

func TestPulseTimeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePort{}
		b, _ := newTestBarrier(t, p, Options{})
		start := time.Now()
		if err := b.Open(t.Context(), "paid"); err != nil {
			t.Fatal(err)
		}
		w := p.Writes()
		if len(w) != 2 {
			t.Fatalf("writes % X, want on and off", w)
		}
		if !bytes.Equal(w[0].Bytes, LCUSFrame(1, true)) || !bytes.Equal(w[1].Bytes, LCUSFrame(1, false)) {
			t.Errorf("frames % X, % X", w[0].Bytes, w[1].Bytes)
		}
		if d := w[0].At.Sub(start); d != 0 {
			t.Errorf("on after %v, want at once", d)
		}
		if d := w[1].At.Sub(w[0].At); d != DefaultPulse {
			t.Errorf("held %v, want %v", d, DefaultPulse)
		}
	})
}

func TestPulseActiveLowAndChannel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePort{}
		b, _ := newTestBarrier(t, p, Options{Channel: 3, ActiveLow: true, Pulse: 200 * time.Millisecond})
		if err := b.Open(t.Context(), "paid"); err != nil {
			t.Fatal(err)
		}
		w := p.Writes()
		if len(w) != 2 || !bytes.Equal(w[0].Bytes, LCUSFrame(3, false)) || !bytes.Equal(w[1].Bytes, LCUSFrame(3, true)) {
			t.Fatalf("writes %v, want ch3 off then on", w)
		}
		if d := w[1].At.Sub(w[0].At); d != 200*time.Millisecond {
			t.Errorf("held %v", d)
		}
	})
}

func TestOffAfterCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePort{}
		b, _ := newTestBarrier(t, p, Options{Pulse: time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		err := b.Open(ctx, "paid")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Open = %v, want deadline exceeded", err)
		}
		w := p.Writes()
		if len(w) != 2 || !bytes.Equal(w[1].Bytes, LCUSFrame(1, false)) {
			t.Fatalf("writes %v, want on then off", w)
		}
		if d := w[1].At.Sub(w[0].At); d != 300*time.Millisecond {
			t.Errorf("off after %v, want at the cancel (300ms)", d)
		}
	})
}

func TestCancelledBeforeTurnSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePort{}
		b, _ := newTestBarrier(t, p, Options{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := b.Open(ctx, "paid"); !errors.Is(err, context.Canceled) {
			t.Fatalf("Open = %v", err)
		}
		if w := p.Writes(); len(w) != 0 {
			t.Errorf("wrote %v", w)
		}
	})
}

// At start-up and on every reconnect the barrier channel is switched off
// (contact open), read back where the board can tell, and nothing else is
// sent: never an "on".
func TestOnlyOffAtStartOrReconnect(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts Options
		port func() *fakePort
		want []byte
	}{
		{"lcus", Options{}, func() *fakePort { return &fakePort{} }, LCUSFrame(1, false)},
		{"lcus channel 2 of 4", Options{Channel: 2, Channels: 4}, func() *fakePort { return &fakePort{} }, LCUSFrame(2, false)},
		{"lcus active-low", Options{ActiveLow: true}, func() *fakePort { return &fakePort{} }, LCUSFrame(1, true)},
		{"kmtronic", Options{Board: "kmtronic"}, func() *fakePort { return kmtronicPort(false) }, []byte{0xFF, 1, 0, 0xFF, 1, 3}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var ports []*fakePort
				ev := &events{}
				link := newLink(func() (serialport.Port, error) {
					mu.Lock()
					defer mu.Unlock()
					p := tt.port()
					ports = append(ports, p)
					return p, nil
				}, ev)
				if _, err := New(link, tt.opts); err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error)
				go func() { done <- link.Run(ctx) }()
				time.Sleep(3 * time.Second)
				// Lose the port: the link re-opens it and sends "off" again.
				link.Do(func(serialport.Port) error { return errors.New("EIO") })
				time.Sleep(3 * time.Second)
				cancel()
				<-done
				mu.Lock()
				defer mu.Unlock()
				if len(ports) != 2 {
					t.Errorf("opened %d times, want 2", len(ports))
				}
				for i, p := range ports {
					if got := p.all(); !bytes.Equal(got, tt.want) {
						t.Errorf("port %d got % X, want % X", i, got, tt.want)
					}
				}
				want := []EventKind{Up, Down, Up}
				if got := ev.kinds(); !equalKinds(got, want) {
					t.Errorf("events %v, want %v", got, want)
				}
			})
		})
	}
}

// A relay left on (a process killed during the pulse) is switched off at
// connect; a board that does not confirm it is a Fault, and the link stays
// up so that the lane sees why.
func TestRelayLeftOnSwitchedOffAtConnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := kmtronicPort(false)
		p.reply([]byte{0xFF, 1, 1}) // left on
		ev := &events{}
		link := newLink(func() (serialport.Port, error) { return p, nil }, ev)
		if _, err := New(link, Options{Board: "kmtronic"}); err != nil {
			t.Fatal(err)
		}
		link.Do(func(serialport.Port) error { return nil })
		if got := p.reply([]byte{0xFF, 1, 3}); !bytes.Equal(got, []byte{0xFF, 1, 0}) {
			t.Errorf("relay state %X after connect, want off", got)
		}
		if k := ev.kinds(); !equalKinds(k, []EventKind{Up}) {
			t.Errorf("events %v", k)
		}

		stuck := kmtronicPort(true)
		ev = &events{}
		link = newLink(func() (serialport.Port, error) { return stuck, nil }, ev)
		if _, err := New(link, Options{Board: "kmtronic"}); err != nil {
			t.Fatal(err)
		}
		stuck.mu.Lock()
		stuck.reply = func(w []byte) []byte { // stuck on
			if len(w) == 3 && w[2] == 0x03 {
				return []byte{0xFF, w[1], 1}
			}
			return nil
		}
		stuck.mu.Unlock()
		link.Do(func(serialport.Port) error { return nil })
		if k := ev.kinds(); !equalKinds(k, []EventKind{Up, Fault}) {
			t.Errorf("events %v, want up, fault", k)
		}
		ev.mu.Lock()
		err := ev.ev[len(ev.ev)-1].Err
		ev.mu.Unlock()
		if !errors.Is(err, ErrMismatch) {
			t.Errorf("fault %v, want ErrMismatch", err)
		}
		if !link.Up() {
			t.Error("link down after a board fault")
		}
		if bytes.Contains(stuck.all(), []byte{0xFF, 1, 1}) {
			t.Error("an on was sent")
		}
	})
}

func equalKinds(a, b []EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTwoOpensTwoPulses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePort{}
		b, _ := newTestBarrier(t, p, Options{})
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				if err := b.Open(t.Context(), "paid"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		w := p.Writes()
		if len(w) != 4 {
			t.Fatalf("writes %v, want on off on off", w)
		}
		for i, want := range [][]byte{LCUSFrame(1, true), LCUSFrame(1, false), LCUSFrame(1, true), LCUSFrame(1, false)} {
			if !bytes.Equal(w[i].Bytes, want) {
				t.Errorf("write %d % X, want % X", i, w[i].Bytes, want)
			}
		}
		if gap := w[2].At.Sub(w[1].At); gap != DefaultGap {
			t.Errorf("gap between pulses %v, want %v", gap, DefaultGap)
		}
	})
}

// kmtronicPort emulates a KMtronic board: it keeps relay state and answers
// status queries; stuck relays ignore commands.
func kmtronicPort(stuck bool) *fakePort {
	state := map[byte]byte{}
	return &fakePort{reply: func(w []byte) []byte {
		if len(w) != 3 || w[0] != 0xFF {
			return nil
		}
		if w[2] == 0x03 {
			return []byte{0xFF, w[1], state[w[1]]}
		}
		if !stuck {
			state[w[1]] = w[2]
		}
		return nil
	}}
}

func TestReadbackAndMismatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := kmtronicPort(false)
		b, ev := newTestBarrier(t, p, Options{Board: "kmtronic", Channel: 2})
		if err := b.Open(t.Context(), "paid"); err != nil {
			t.Fatalf("good board: %v", err)
		}
		want := []byte{0xFF, 2, 1, 0xFF, 2, 3, 0xFF, 2, 0, 0xFF, 2, 3}
		if got := p.all(); !bytes.Equal(got, want) {
			t.Errorf("wrote % X, want % X", got, want)
		}
		if k := ev.kinds(); !equalKinds(k, []EventKind{Up}) {
			t.Errorf("events %v", k)
		}

		stuck := kmtronicPort(true)
		b, ev = newTestBarrier(t, stuck, Options{Board: "kmtronic"})
		err := b.Open(t.Context(), "paid")
		if !errors.Is(err, ErrMismatch) {
			t.Fatalf("stuck board: Open = %v, want ErrMismatch", err)
		}
		if k := ev.kinds(); len(k) < 2 || k[1] != Fault {
			t.Errorf("events %v, want a fault", k)
		}

		// A relay stuck open: the confirmed "off" does not clear the
		// fault; a whole confirmed pulse does.
		if got, want := ev.kinds(), []EventKind{Up, Fault}; !equalKinds(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		heal := kmtronicPort(false)
		stuck.mu.Lock()
		stuck.reply = heal.reply
		stuck.mu.Unlock()
		if err := b.Open(t.Context(), "paid"); err != nil {
			t.Fatalf("healed board: %v", err)
		}
		if got, want := ev.kinds(), []EventKind{Up, Fault, Up}; !equalKinds(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
	})
}

func TestLostPortDuringPulse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePort{}
		opens := 0
		ev := &events{}
		link := newLink(func() (serialport.Port, error) {
			opens++
			if opens == 1 {
				return p, nil
			}
			return nil, errors.New("no such file")
		}, ev)
		b, _ := New(link, Options{})
		link.Do(func(serialport.Port) error { return nil }) // connected
		p.mu.Lock()
		p.fail = errors.New("input/output error")
		p.mu.Unlock()
		err := b.Open(t.Context(), "paid")
		if err == nil || !errors.Is(err, serialport.ErrDown) {
			t.Fatalf("Open = %v, want failure naming the lost port", err)
		}
		if k := ev.kinds(); len(k) < 2 || k[0] != Up || k[1] != Down || k[len(k)-1] != Fault {
			t.Errorf("events %v, want up, down, ..., fault (relay may be stuck)", k)
		}
		if link.Up() {
			t.Error("link still up")
		}
	})
}

func TestHalt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &fakePort{}
		b, _ := newTestBarrier(t, p, Options{Channel: 2, Channels: 4})
		if err := b.Halt(); err != nil {
			t.Fatal(err)
		}
		var want []byte
		for ch := 1; ch <= 4; ch++ {
			want = append(want, LCUSFrame(ch, false)...)
		}
		if got := p.all(); !bytes.Equal(got, want) {
			t.Errorf("halt wrote % X, want % X", got, want)
		}

		// Where the board can tell, each "off" is read back; relays left
		// on end off, and one stuck on is a Fault.
		km := kmtronicPort(false)
		b, ev := newTestBarrier(t, km, Options{Board: "kmtronic", Channels: 2})
		km.reply([]byte{0xFF, 2, 1})
		if err := b.Halt(); err != nil {
			t.Fatal(err)
		}
		if got, want := km.all(), []byte{0xFF, 1, 0, 0xFF, 1, 3, 0xFF, 2, 0, 0xFF, 2, 3}; !bytes.Equal(got, want) {
			t.Errorf("halt wrote % X, want % X", got, want)
		}
		if got := km.reply([]byte{0xFF, 2, 3}); got[2] != 0 {
			t.Error("relay 2 left on")
		}
		km.mu.Lock()
		km.reply = func(w []byte) []byte { return []byte{0xFF, w[1], 1} } // stuck on
		km.mu.Unlock()
		if err := b.Halt(); !errors.Is(err, ErrMismatch) {
			t.Errorf("Halt on a stuck board = %v, want ErrMismatch", err)
		}
		if k := ev.kinds(); len(k) < 2 || k[len(k)-1] != Fault {
			t.Errorf("events %v, want a fault", k)
		}
	})
}

func TestOptionsValidation(t *testing.T) {
	link := newLink(func() (serialport.Port, error) { return &fakePort{}, nil }, nil)
	for _, o := range []Options{
		{Pulse: 50 * time.Millisecond},
		{Pulse: 4 * time.Second},
		{Board: "x"},
		{Channel: 9},
		{Channel: 2, Channels: 1},
	} {
		if _, err := New(link, o); !errors.Is(err, ErrBoard) {
			t.Errorf("New(%+v) = %v, want ErrBoard", o, err)
		}
	}
}

func TestLoopDebounce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mp := &modemPort{}
		ev := &events{}
		var changes []bool
		link := serialport.NewLink(func() (serialport.Port, error) { return mp, nil }, serialport.Options{Name: "loop", OnEvent: ev.add})
		loop, err := NewLoop(link, LoopOptions{Line: "cts", OnChange: func(present bool) { changes = append(changes, present) }})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go link.Run(ctx)
		go func() { done <- loop.Run(ctx) }()
		// A 100ms blip is not a vehicle.
		mp.set(true)
		time.Sleep(100 * time.Millisecond)
		mp.set(false)
		time.Sleep(time.Second)
		if loop.Present() {
			t.Error("blip counted as vehicle")
		}
		mp.set(true)
		time.Sleep(time.Second)
		if !loop.Present() {
			t.Error("vehicle not seen")
		}
		mp.set(false)
		time.Sleep(time.Second)
		cancel()
		<-done
		if got, want := ev.kinds(), []EventKind{Up}; !equalKinds(got, want) {
			t.Errorf("events %v, want %v", got, want)
		}
		if len(changes) != 2 || !changes[0] || changes[1] {
			t.Errorf("changes %v, want present then clear", changes)
		}
	})
}

type modemPort struct {
	fakePort
	level bool
}

func (m *modemPort) set(v bool) { m.mu.Lock(); m.level = v; m.mu.Unlock() }

func (m *modemPort) ModemStatus() (serialport.ModemBits, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return serialport.ModemBits{CTS: m.level}, nil
}

func TestOpenWithPortAbsent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ev := &events{}
		link := newLink(func() (serialport.Port, error) { return nil, errors.New("no such file") }, ev)
		b, _ := New(link, Options{})
		if err := b.Open(t.Context(), "paid"); !errors.Is(err, serialport.ErrDown) {
			t.Fatalf("Open = %v, want ErrDown", err)
		}
		if k := ev.kinds(); len(k) != 0 {
			t.Errorf("events %v: nothing was sent, so no stuck-relay fault", k)
		}
	})
}
