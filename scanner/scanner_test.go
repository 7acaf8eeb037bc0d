package scanner

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/exitlane/exitlane/serialport"
	"github.com/exitlane/exitlane/ticket"
)

// step is one write to the scanner stream after a pause.
type step struct {
	after time.Duration
	data  string
}

// scanAll feeds steps through a pipe into Reader.Read inside a synctest
// bubble and returns the events (codes as "code:X", drops as
// "drop:reason").
func scanAll(t *testing.T, opts Options, steps []step) []string {
	t.Helper()
	var got []string
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		s := New(nil, opts)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- s.Read(ctx, pr, func(ev Event) {
				switch ev.Kind {
				case Code:
					got = append(got, "code:"+ev.Symbology+ev.Code)
				case Drop:
					got = append(got, "drop:"+string(ev.Reason))
				}
			})
		}()
		for _, st := range steps {
			time.Sleep(st.after)
			pw.Write([]byte(st.data))
		}
		time.Sleep(time.Second) // let any inter-character timeout pass
		synctest.Wait()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Read = %v", err)
		}
		pw.Close()
	})
	return got
}

func TestReaderFraming(t *testing.T) {
	long := strings.Repeat("7", 256)
	tests := []struct {
		name  string
		opts  Options
		steps []step
		want  []string
	}{
		{"CR", Options{}, []step{{0, "EL1:A:B:1:2:X\r"}}, []string{"code:EL1:A:B:1:2:X"}},
		{"LF", Options{}, []step{{0, "ABC\n"}}, []string{"code:ABC"}},
		{"CR LF", Options{}, []step{{0, "ABC\r\n"}}, []string{"code:ABC"}},
		{"two in one chunk", Options{}, []step{{0, "ABC\r\nDEF\r\n"}}, []string{"code:ABC", "code:DEF"}},
		{"split across chunks", Options{}, []step{{0, "AB"}, {30 * time.Millisecond, "C\r"}, {30 * time.Millisecond, "\n"}}, []string{"code:ABC"}},
		{"blank lines ignored", Options{}, []step{{0, "\r\n\n\rABC\r\n\r\n"}}, []string{"code:ABC"}},
		{"AIM code 128", Options{}, []step{{0, "]C0EL1:X\r\n"}}, []string{"code:]C0EL1:X"}},
		{"AIM QR", Options{}, []step{{0, "]Q1HELLO\r"}}, []string{"code:]Q1HELLO"}},
		{"AIM only", Options{}, []step{{0, "]C0\r"}}, []string{"drop:empty"}},
		{"not AIM", Options{}, []step{{0, "]1X\r"}}, []string{"code:]1X"}},
		{"surrounding spaces", Options{}, []step{{0, "  ABC \r"}}, []string{"code:ABC"}},
		{"control byte", Options{}, []step{{0, "AB\x01C\r"}}, []string{"drop:control_byte"}},
		{"NUL noise", Options{}, []step{{0, "\x00\x00\x00\rABC\r"}}, []string{"drop:control_byte", "code:ABC"}},
		{"DEL", Options{}, []step{{0, "ABC\x7f\r"}}, []string{"drop:control_byte"}},
		{"high byte", Options{}, []step{{0, "AB\xffC\r"}}, []string{"drop:control_byte"}},
		{"256 bytes", Options{}, []step{{0, long + "\r"}}, []string{"code:" + long}},
		{"257 bytes", Options{}, []step{{0, long + "7\r"}, {0, "OK\r"}}, []string{"drop:too_long", "code:OK"}},
		{"huge line", Options{}, []step{{0, strings.Repeat("x", 5000)}, {0, "\r"}}, []string{"drop:too_long"}},
		{"max line option", Options{MaxLine: 4}, []step{{0, "ABCDE\rABCD\r"}}, []string{"drop:too_long", "code:ABCD"}},
		{"inter-char timeout", Options{}, []step{{0, "AB"}, {150 * time.Millisecond, "CD\r"}}, []string{"drop:incomplete", "code:CD"}},
		{"unterminated garbage", Options{}, []step{{0, "\x13\x11junk"}}, []string{"drop:incomplete"}},
		{"custom inter-char", Options{InterChar: 500 * time.Millisecond}, []step{{0, "AB"}, {300 * time.Millisecond, "CD\r"}}, []string{"code:ABCD"}},
		{"dedup", Options{}, []step{{0, "ABC\r"}, {time.Second, "ABC\r"}, {1900 * time.Millisecond, "ABC\r"}}, []string{"code:ABC"}},
		{"dedup window passed", Options{}, []step{{0, "ABC\r"}, {2 * time.Second, "ABC\r"}}, []string{"code:ABC", "code:ABC"}},
		{"dedup other code between", Options{}, []step{{0, "ABC\r"}, {0, "DEF\r"}, {0, "ABC\r"}}, []string{"code:ABC", "code:DEF", "code:ABC"}},
		{"dedup ignores AIM", Options{}, []step{{0, "]C0ABC\r"}, {0, "ABC\r"}}, []string{"code:]C0ABC"}},
		{"dedup off", Options{Dedup: -1}, []step{{0, "ABC\rABC\r"}}, []string{"code:ABC", "code:ABC"}},
		{"dedup custom", Options{Dedup: 5 * time.Second}, []step{{0, "ABC\r"}, {3 * time.Second, "ABC\r"}}, []string{"code:ABC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scanAll(t, tt.opts, tt.steps)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestReaderStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(nil, Options{})
		err := s.Read(t.Context(), strings.NewReader("A\rA\r\x01\rB\r"), func(Event) {})
		if !errors.Is(err, ErrGone) {
			t.Errorf("Read = %v, want ErrGone at EOF", err)
		}
		st := s.Stats()
		if st.Codes != 2 || st.Duplicates != 1 || st.Drops[ticket.DropControl] != 1 {
			t.Errorf("stats %+v", st)
		}
	})
}

// pipeDevice is a scanner that can be unplugged: each open gives a new
// pipe; unplug breaks the current one; while unplugged, opens fail.
type pipeDevice struct {
	mu      sync.Mutex
	w       *io.PipeWriter
	present bool
	opens   int
}

// pipePort is the reading end of a pipe as a serial port.
type pipePort struct{ *io.PipeReader }

func (pipePort) Write(b []byte) (int, error)        { return len(b), nil }
func (pipePort) SetReadTimeout(time.Duration) error { return nil }

func (d *pipeDevice) open() (serialport.Port, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.present {
		return nil, errors.New("no such device")
	}
	d.opens++
	pr, pw := io.Pipe()
	d.w = pw
	return pipePort{pr}, nil
}

func (d *pipeDevice) send(s string) {
	d.mu.Lock()
	w := d.w
	d.mu.Unlock()
	w.Write([]byte(s))
}

func (d *pipeDevice) unplug() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.present = false
	d.w.CloseWithError(errors.New("input/output error"))
}

func (d *pipeDevice) replug() { d.mu.Lock(); d.present = true; d.mu.Unlock() }

func TestReaderReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &pipeDevice{present: true}
		s := New(dev.open, Options{})
		var mu sync.Mutex
		var got []string
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- s.Run(ctx, func(ev Event) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, ev.Kind.String()+":"+ev.Code)
			})
		}()
		synctest.Wait()
		dev.send("ONE\r")
		dev.unplug()
		time.Sleep(10 * time.Second) // several failed re-opens: one Down only
		dev.replug()
		time.Sleep(6 * time.Second) // backoff is at most 5s
		dev.send("TWO\r")
		synctest.Wait()
		cancel()
		<-done
		want := "scanner_up:|code:ONE|scanner_down:|scanner_up:|code:TWO"
		mu.Lock()
		defer mu.Unlock()
		if strings.Join(got, "|") != want {
			t.Errorf("events %q\nwant %q", strings.Join(got, "|"), want)
		}
		if dev.opens != 2 {
			t.Errorf("opened %d times", dev.opens)
		}
	})
}

func TestWithoutMAC(t *testing.T) {
	for in, want := range map[string]string{
		"EL1:S:L:123:1700000000:ABCDEF0123456789": "EL1:S:L:123:1700000000:…",
		"EL1:S:L:123:17000":                       "EL1:S:L:123:17000",
		"garbage\x01":                             "garbage\x01",
	} {
		if got := withoutMAC(in); got != want {
			t.Errorf("withoutMAC(%q) = %q, want %q", in, got, want)
		}
	}
}
