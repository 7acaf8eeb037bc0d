package serialport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakePort is an in-memory port: writes are recorded, reads time out.
type fakePort struct {
	mu      sync.Mutex
	writes  []string
	closed  bool
	gone    bool
	timeout time.Duration
}

func (f *fakePort) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, errors.New("closed")
	}
	f.writes = append(f.writes, string(b))
	return len(b), nil
}

func (f *fakePort) Read([]byte) (int, error) {
	f.mu.Lock()
	d, closed := f.timeout, f.closed
	f.mu.Unlock()
	if closed {
		return 0, errors.New("closed")
	}
	time.Sleep(d)
	return 0, nil
}

func (f *fakePort) SetReadTimeout(d time.Duration) error {
	f.mu.Lock()
	f.timeout = d
	f.mu.Unlock()
	return nil
}

func (f *fakePort) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *fakePort) Gone() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gone
}

func (f *fakePort) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// device hands out a new fakePort per open while present.
type device struct {
	mu     sync.Mutex
	absent bool
	ports  []*fakePort
}

func (d *device) open() (Port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.absent {
		return nil, errors.New("no such file")
	}
	p := &fakePort{}
	d.ports = append(d.ports, p)
	return p, nil
}

func (d *device) set(absent bool) { d.mu.Lock(); d.absent = absent; d.mu.Unlock() }

func (d *device) opens() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.ports) }

func (d *device) last() *fakePort { d.mu.Lock(); defer d.mu.Unlock(); return d.ports[len(d.ports)-1] }

// events collects events as "kind" strings.
type events struct {
	mu sync.Mutex
	ev []Event
}

func (e *events) add(ev Event) { e.mu.Lock(); e.ev = append(e.ev, ev); e.mu.Unlock() }

func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var s []string
	for _, ev := range e.ev {
		s = append(s, ev.Kind.String())
	}
	return strings.Join(s, ",")
}

func errDevice(msg string) error { return fmt.Errorf("%w: %s", ErrDevice, msg) }

func TestLinkReopensWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &device{}
		ev := &events{}
		l := NewLink(dev.open, Options{Name: "relay", OnEvent: ev.add})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		synctest.Wait()
		if !l.Up() || dev.opens() != 1 {
			t.Fatalf("up %v after %d opens", l.Up(), dev.opens())
		}
		// An I/O error loses the port; while the device is absent, the
		// re-opens back off and report nothing more.
		dev.set(true)
		if err := l.Do(func(Port) error { return errors.New("EIO") }); err == nil || errors.Is(err, ErrDevice) {
			t.Fatalf("Do = %v", err)
		}
		if !dev.last().isClosed() {
			t.Error("lost port not closed")
		}
		if err := l.Do(func(Port) error { return nil }); !errors.Is(err, ErrDown) {
			t.Fatalf("Do while absent = %v, want ErrDown", err)
		}
		time.Sleep(10 * time.Second)
		dev.set(false)
		time.Sleep(5 * time.Second) // backoff is at most 5s
		synctest.Wait()
		if !l.Up() || dev.opens() != 2 {
			t.Fatalf("up %v after %d opens", l.Up(), dev.opens())
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v", err)
		}
		if !dev.last().isClosed() {
			t.Error("port left open after Run")
		}
		if got := ev.String(); got != "up,down,up" {
			t.Errorf("events %s, want up,down,up", got)
		}
	})
}

func TestLinkDeviceErrorKeepsPort(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &device{}
		ev := &events{}
		l := NewLink(dev.open, Options{OnEvent: ev.add})
		err := l.Do(func(Port) error { return errDevice("no reply") })
		if !errors.Is(err, ErrDevice) {
			t.Fatalf("Do = %v", err)
		}
		if !l.Up() || dev.opens() != 1 {
			t.Errorf("device error closed the port")
		}
		if got := ev.String(); got != "up" {
			t.Errorf("events %s, want up (a device error is the driver's to report)", got)
		}
	})
}

func TestLinkFaultAndHealthy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &device{}
		ev := &events{}
		l := NewLink(dev.open, Options{OnEvent: ev.add})
		l.Do(func(Port) error { return nil })
		l.Healthy() // not faulted: nothing
		l.Fault(errDevice("stuck"))
		l.Healthy()
		l.Healthy()
		l.Fault(errDevice("stuck"))
		// A re-open starts healthy again (Up says so).
		l.Close()
		l.Do(func(Port) error { return nil })
		l.Healthy()
		if got := ev.String(); got != "up,fault,up,fault,up" {
			t.Errorf("events %s", got)
		}
	})
}

func TestLinkGonePortReopened(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &device{}
		ev := &events{}
		l := NewLink(dev.open, Options{OnEvent: ev.add})
		l.Do(func(Port) error { return nil })
		first := dev.last()
		first.mu.Lock()
		first.gone = true
		first.mu.Unlock()
		var used Port
		if err := l.Do(func(p Port) error { used = p; return nil }); err != nil {
			t.Fatal(err)
		}
		if used == Port(first) || !first.isClosed() {
			t.Error("vanished port used again")
		}
		if got := ev.String(); got != "up,down,up" {
			t.Errorf("events %s", got)
		}
	})
}

// The OnOpen functions run on every open, before the exchange that caused
// the open; the events follow the exchange (OnEvent never runs while the
// port is in use).
func TestLinkOnOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &device{}
		var mu sync.Mutex
		var log []string
		note := func(s string) { mu.Lock(); log = append(log, s); mu.Unlock() }
		l := NewLink(dev.open, Options{OnEvent: func(ev Event) { note("event " + ev.Kind.String()) }})
		l.OnOpen(func(p Port) error {
			note("hook")
			_, err := p.Write([]byte("off"))
			return err
		})
		l.Do(func(p Port) error { note("exchange"); return errors.New("EIO") })
		l.Do(func(p Port) error { note("exchange"); return nil })
		mu.Lock()
		got := strings.Join(log, "|")
		mu.Unlock()
		want := "hook|exchange|event up|event down|hook|exchange|event up"
		if got != want {
			t.Errorf("order %s\nwant  %s", got, want)
		}
		for i, p := range dev.ports {
			if strings.Join(p.writes, ",") != "off" {
				t.Errorf("port %d writes %q, want off first and alone", i, p.writes)
			}
		}
	})
}

func TestLinkOnOpenErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &device{}
		ev := &events{}
		l := NewLink(dev.open, Options{OnEvent: ev.add})
		var mu sync.Mutex
		var hookErr error
		setHook := func(err error) { mu.Lock(); hookErr = err; mu.Unlock() }
		l.OnOpen(func(Port) error { mu.Lock(); defer mu.Unlock(); return hookErr })

		// A device error: the port is up, and faulted.
		setHook(errDevice("read back on"))
		if err := l.Do(func(Port) error { return nil }); err != nil {
			t.Fatalf("Do = %v", err)
		}
		if got := ev.String(); got != "up,fault" {
			t.Errorf("events %s, want up,fault", got)
		}
		l.Close()

		// A port error: the open failed, the port is closed, no event.
		setHook(errors.New("EIO"))
		ran := false
		if err := l.Do(func(Port) error { ran = true; return nil }); !errors.Is(err, ErrDown) {
			t.Fatalf("Do = %v, want ErrDown", err)
		}
		if ran || l.Up() || !dev.last().isClosed() {
			t.Errorf("ran %v, up %v, closed %v", ran, l.Up(), dev.last().isClosed())
		}

		// Run retries with backoff until the hook succeeds.
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- l.Run(ctx) }()
		time.Sleep(time.Second)
		n := dev.opens()
		if n < 3 || n > 6 {
			t.Errorf("%d opens in 1s of backoff", n)
		}
		setHook(nil)
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if !l.Up() {
			t.Error("not up after the hook succeeded")
		}
		cancel()
		<-done
		if got := ev.String(); got != "up,fault,up" {
			t.Errorf("events %s, want up,fault,up", got)
		}
	})
}

// OnOpen on a link whose port is open already runs the function at once.
func TestLinkOnOpenWhileOpen(t *testing.T) {
	dev := &device{}
	l := NewLink(dev.open, Options{})
	l.Do(func(Port) error { return nil })
	l.OnOpen(func(p Port) error { _, err := p.Write([]byte("off")); return err })
	if got := strings.Join(dev.last().writes, ","); got != "off" {
		t.Errorf("writes %q", got)
	}
}

func TestServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &device{absent: true}
		ev := &events{}
		ctx, cancel := context.WithCancel(t.Context())
		uses := make(chan *fakePort)
		fail := make(chan error)
		done := make(chan error)
		go func() {
			done <- Serve(ctx, dev.open, Options{Name: "scanner", OnEvent: ev.add}, func(ctx context.Context, p Port) error {
				uses <- p.(*fakePort)
				select {
				case err := <-fail:
					return err
				case <-ctx.Done():
					return ctx.Err()
				}
			})
		}()
		time.Sleep(10 * time.Second) // absent at start: one Down, several tries
		if got := ev.String(); got != "down" {
			t.Errorf("events %s, want down", got)
		}
		dev.set(false)
		p := <-uses
		fail <- errors.New("EIO")
		p2 := <-uses // re-opened after the minimum backoff
		if !p.isClosed() || p2 == p {
			t.Error("failed port not closed and replaced")
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Serve = %v", err)
		}
		if !p2.isClosed() {
			t.Error("port left open")
		}
		if got := ev.String(); got != "down,up,down,up" {
			t.Errorf("events %s, want down,up,down,up", got)
		}
	})
}
