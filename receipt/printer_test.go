package receipt

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exitlane/exitlane/serialport"
)

// fakePrinter is an in-memory printer port: it records what is written
// and answers each DLE EOT 4 with the next of its status bytes (none
// left: no answer). Reads time out like a serial port's.
type fakePrinter struct {
	mu      sync.Mutex
	written []byte
	status  []byte
	replies []byte
	timeout time.Duration
	closed  bool
	hang    chan struct{} // when set, a data write blocks until it is closed
}

func (f *fakePrinter) Write(b []byte) (int, error) {
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang != nil && !bytes.Equal(b, StatusQuery) {
		<-hang
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, errors.New("closed")
	}
	f.written = append(f.written, b...)
	if bytes.Equal(b, StatusQuery) && len(f.status) > 0 {
		f.replies = append(f.replies, f.status[0])
		f.status = f.status[1:]
	}
	return len(b), nil
}

func (f *fakePrinter) Read(b []byte) (int, error) {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return 0, errors.New("closed")
	}
	if len(f.replies) > 0 {
		n := copy(b, f.replies)
		f.replies = f.replies[n:]
		f.mu.Unlock()
		return n, nil
	}
	d := f.timeout
	f.mu.Unlock()
	time.Sleep(d)
	return 0, nil
}

func (f *fakePrinter) SetReadTimeout(d time.Duration) error {
	f.mu.Lock()
	f.timeout = d
	f.mu.Unlock()
	return nil
}

func (f *fakePrinter) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	return nil
}

func (f *fakePrinter) got() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.written)
}

type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (e *eventLog) add(ev serialport.Event) {
	e.mu.Lock()
	e.ev = append(e.ev, ev.Kind.String())
	e.mu.Unlock()
}
func (e *eventLog) String() string { e.mu.Lock(); defer e.mu.Unlock(); return strings.Join(e.ev, ",") }

// newFake makes a Printer on a fake port (absent: the port cannot be
// opened, an unplugged printer).
func newFake(t *testing.T, port *fakePrinter, opts Options) (*Printer, *eventLog) {
	t.Helper()
	ev := &eventLog{}
	link := serialport.NewLink(func() (serialport.Port, error) {
		if port == nil {
			return nil, errors.New("no such file or directory")
		}
		return port, nil
	}, serialport.Options{Name: "printer", OnEvent: ev.add})
	p, err := New(link, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, ev
}

const (
	paperOK      = 0x12
	paperNearEnd = 0x1E
	paperEnd     = 0x72
)

func TestParsePaperStatus(t *testing.T) {
	for _, c := range []struct {
		b           byte
		ok, near, e bool
	}{
		{0x12, true, false, false},
		{0x1E, true, true, false},
		{0x72, true, false, true},
		{0x7E, true, true, true},
		{0x00, false, false, false},
		{0x13, false, false, false}, // bit 0 must be clear
		{0x92, false, false, false}, // bit 7 must be clear
	} {
		st, ok := ParsePaperStatus(c.b)
		if ok != c.ok || st.NearEnd != c.near || st.End != c.e {
			t.Errorf("ParsePaperStatus(%#02x) = %+v %v", c.b, st, ok)
		}
	}
}

func TestPrint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{status: []byte{paperOK, paperNearEnd}}
		p, ev := newFake(t, port, Options{Layout: Layout{Width: 58}})
		r := sample(true)
		if err := p.Print(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		data, _ := Encode(r, Layout{Width: 58})
		want := append(append(bytes.Clone(StatusQuery), data...), StatusQuery...)
		if !bytes.Equal(port.got(), want) {
			t.Errorf("wrote %d bytes, want status query, the receipt, status query (%d)", len(port.got()), len(want))
		}
		if got := ev.String(); got != "up" {
			t.Errorf("events %s, want up", got)
		}
	})
}

// Out of paper before the receipt: nothing is printed, ErrOutOfPaper is
// reported as a Fault (the port stays open); the next receipt after a new
// roll prints and says Up.
func TestPrintOutOfPaper(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{status: []byte{paperEnd}}
		p, ev := newFake(t, port, Options{})
		start := time.Now()
		err := p.Print(t.Context(), sample(false))
		if !errors.Is(err, ErrOutOfPaper) || !errors.Is(err, serialport.ErrDevice) {
			t.Fatalf("Print = %v, want ErrOutOfPaper", err)
		}
		if d := time.Since(start); d > p.Options().StatusTimeout {
			t.Errorf("took %v", d)
		}
		if !bytes.Equal(port.got(), StatusQuery) {
			t.Errorf("wrote % X, want only the status query", port.got())
		}
		port.mu.Lock()
		port.status = []byte{paperOK, paperOK}
		port.mu.Unlock()
		if err := p.Print(t.Context(), sample(false)); err != nil {
			t.Fatal(err)
		}
		if got := ev.String(); got != "up,fault,up" {
			t.Errorf("events %s, want up,fault,up", got)
		}
	})
}

func TestPrintRunsOutDuringReceipt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{status: []byte{paperOK, paperEnd}}
		p, ev := newFake(t, port, Options{})
		err := p.Print(t.Context(), sample(true))
		if !errors.Is(err, ErrOutOfPaper) || !strings.Contains(err.Error(), "ran out during the receipt") {
			t.Fatalf("Print = %v", err)
		}
		if got := ev.String(); got != "up,fault" {
			t.Errorf("events %s", got)
		}
	})
}

// A printer that does not answer (switched off behind its adapter) gets
// no receipt, and the caller hears so after StatusTimeout.
func TestPrintNoReply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{}
		p, ev := newFake(t, port, Options{StatusTimeout: 300 * time.Millisecond})
		start := time.Now()
		err := p.Print(t.Context(), sample(false))
		if !errors.Is(err, ErrNoReply) {
			t.Fatalf("Print = %v, want ErrNoReply", err)
		}
		if d := time.Since(start); d != 300*time.Millisecond {
			t.Errorf("took %v, want the status timeout", d)
		}
		if !bytes.Equal(port.got(), StatusQuery) {
			t.Errorf("wrote % X", port.got())
		}
		if got := ev.String(); got != "up,fault" {
			t.Errorf("events %s", got)
		}
	})
}

func TestPrintUnplugged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p, _ := newFake(t, nil, Options{})
		start := time.Now()
		err := p.Print(t.Context(), sample(false))
		if !errors.Is(err, serialport.ErrDown) {
			t.Fatalf("Print = %v, want serialport.ErrDown", err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("took %v", d)
		}
	})
}

// A send that hangs (a printer that stops taking data) holds the caller
// for Timeout only; later receipts are refused at once until it ends.
func TestPrintTimeoutAndBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hang := make(chan struct{})
		port := &fakePrinter{status: []byte{paperOK, paperOK, paperOK, paperOK}, hang: hang}
		p, _ := newFake(t, port, Options{Timeout: 2 * time.Second})
		start := time.Now()
		if err := p.Print(t.Context(), sample(false)); !errors.Is(err, ErrTimeout) {
			t.Fatalf("Print = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("took %v, want 2s", d)
		}
		if err := p.Print(t.Context(), sample(false)); !errors.Is(err, ErrBusy) {
			t.Fatalf("second Print = %v, want ErrBusy", err)
		}
		if _, err := p.Check(t.Context()); !errors.Is(err, ErrBusy) {
			t.Fatalf("Check = %v, want ErrBusy", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("busy refusals took %v", d-2*time.Second)
		}
		// The printer takes the data after all: the send completes in the
		// background, and the printer is free again.
		port.mu.Lock()
		port.hang = nil
		port.mu.Unlock()
		close(hang)
		synctest.Wait()
		if err := p.Print(t.Context(), sample(false)); err != nil {
			t.Fatalf("Print after the hang = %v", err)
		}
	})
}

func TestPrintContextEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{}
		p, _ := newFake(t, port, Options{StatusTimeout: time.Second})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		if err := p.Print(ctx, sample(false)); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Print = %v", err)
		}
		// The query goes on in the background until its own timeout.
		if err := p.Print(t.Context(), sample(false)); !errors.Is(err, ErrBusy) {
			t.Fatalf("Print while the first waits = %v", err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
	})
}

func TestPrintNoStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{}
		p, _ := newFake(t, port, Options{NoStatus: true})
		if err := p.Print(t.Context(), sample(false)); err != nil {
			t.Fatal(err)
		}
		data, _ := Encode(sample(false), Layout{})
		if !bytes.Equal(port.got(), data) {
			t.Errorf("wrote %d bytes, want the receipt alone (%d)", len(port.got()), len(data))
		}
	})
}

func TestCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{status: []byte{0x55, paperNearEnd, paperEnd}} // 0x55: not a status byte
		p, ev := newFake(t, port, Options{})
		// The stray byte is skipped; the next query's answer is read.
		port.mu.Lock()
		port.replies = []byte{0x55}
		port.status = port.status[1:]
		port.mu.Unlock()
		st, err := p.Check(t.Context())
		if err != nil || !st.NearEnd || st.End {
			t.Fatalf("Check = %+v, %v", st, err)
		}
		if st, err := p.Check(t.Context()); !errors.Is(err, ErrOutOfPaper) || !st.End {
			t.Fatalf("Check = %+v, %v, want ErrOutOfPaper", st, err)
		}
		if got := ev.String(); got != "up,fault" {
			t.Errorf("events %s", got)
		}
	})
}

func TestNewRefusesWidth(t *testing.T) {
	link := serialport.NewLink(func() (serialport.Port, error) { return nil, errors.New("none") }, serialport.Options{})
	if _, err := New(link, Options{Layout: Layout{Width: 76}}); err == nil {
		t.Error("width 76 accepted")
	}
}

// A context that has ended prints nothing.
func TestPrintContextEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &fakePrinter{status: []byte{paperOK, paperOK}}
		p, _ := newFake(t, port, Options{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := p.Print(ctx, sample(false)); !errors.Is(err, context.Canceled) {
			t.Fatalf("Print = %v", err)
		}
		synctest.Wait()
		if len(port.got()) != 0 {
			t.Errorf("wrote % X", port.got())
		}
	})
}
