package ticket

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// step is one write to the scanner stream after a pause.
type step struct {
	after time.Duration
	data  string
}

// scanAll feeds steps through a pipe into Scanner.Read inside a synctest
// bubble and returns the events (codes as "code:X", drops as
// "drop:reason").
func scanAll(t *testing.T, opts ScannerOptions, steps []step) []string {
	t.Helper()
	var got []string
	synctest.Test(t, func(t *testing.T) {
		pr, pw := io.Pipe()
		s := NewScanner(nil, opts)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- s.Read(ctx, pr, func(ev ScanEvent) {
				switch ev.Kind {
				case ScanCode:
					got = append(got, "code:"+ev.Symbology+ev.Code)
				case ScanDrop:
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

func TestScannerFraming(t *testing.T) {
	long := strings.Repeat("7", 256)
	tests := []struct {
		name  string
		opts  ScannerOptions
		steps []step
		want  []string
	}{
		{"CR", ScannerOptions{}, []step{{0, "EL1:A:B:1:2:X\r"}}, []string{"code:EL1:A:B:1:2:X"}},
		{"LF", ScannerOptions{}, []step{{0, "ABC\n"}}, []string{"code:ABC"}},
		{"CR LF", ScannerOptions{}, []step{{0, "ABC\r\n"}}, []string{"code:ABC"}},
		{"two in one chunk", ScannerOptions{}, []step{{0, "ABC\r\nDEF\r\n"}}, []string{"code:ABC", "code:DEF"}},
		{"split across chunks", ScannerOptions{}, []step{{0, "AB"}, {30 * time.Millisecond, "C\r"}, {30 * time.Millisecond, "\n"}}, []string{"code:ABC"}},
		{"blank lines ignored", ScannerOptions{}, []step{{0, "\r\n\n\rABC\r\n\r\n"}}, []string{"code:ABC"}},
		{"AIM code 128", ScannerOptions{}, []step{{0, "]C0EL1:X\r\n"}}, []string{"code:]C0EL1:X"}},
		{"AIM QR", ScannerOptions{}, []step{{0, "]Q1HELLO\r"}}, []string{"code:]Q1HELLO"}},
		{"AIM only", ScannerOptions{}, []step{{0, "]C0\r"}}, []string{"drop:empty"}},
		{"not AIM", ScannerOptions{}, []step{{0, "]1X\r"}}, []string{"code:]1X"}},
		{"surrounding spaces", ScannerOptions{}, []step{{0, "  ABC \r"}}, []string{"code:ABC"}},
		{"control byte", ScannerOptions{}, []step{{0, "AB\x01C\r"}}, []string{"drop:control_byte"}},
		{"NUL noise", ScannerOptions{}, []step{{0, "\x00\x00\x00\rABC\r"}}, []string{"drop:control_byte", "code:ABC"}},
		{"DEL", ScannerOptions{}, []step{{0, "ABC\x7f\r"}}, []string{"drop:control_byte"}},
		{"high byte", ScannerOptions{}, []step{{0, "AB\xffC\r"}}, []string{"drop:control_byte"}},
		{"256 bytes", ScannerOptions{}, []step{{0, long + "\r"}}, []string{"code:" + long}},
		{"257 bytes", ScannerOptions{}, []step{{0, long + "7\r"}, {0, "OK\r"}}, []string{"drop:too_long", "code:OK"}},
		{"huge line", ScannerOptions{}, []step{{0, strings.Repeat("x", 5000)}, {0, "\r"}}, []string{"drop:too_long"}},
		{"max line option", ScannerOptions{MaxLine: 4}, []step{{0, "ABCDE\rABCD\r"}}, []string{"drop:too_long", "code:ABCD"}},
		{"inter-char timeout", ScannerOptions{}, []step{{0, "AB"}, {150 * time.Millisecond, "CD\r"}}, []string{"drop:incomplete", "code:CD"}},
		{"unterminated garbage", ScannerOptions{}, []step{{0, "\x13\x11junk"}}, []string{"drop:incomplete"}},
		{"custom inter-char", ScannerOptions{InterChar: 500 * time.Millisecond}, []step{{0, "AB"}, {300 * time.Millisecond, "CD\r"}}, []string{"code:ABCD"}},
		{"dedup", ScannerOptions{}, []step{{0, "ABC\r"}, {time.Second, "ABC\r"}, {1900 * time.Millisecond, "ABC\r"}}, []string{"code:ABC"}},
		{"dedup window passed", ScannerOptions{}, []step{{0, "ABC\r"}, {2 * time.Second, "ABC\r"}}, []string{"code:ABC", "code:ABC"}},
		{"dedup other code between", ScannerOptions{}, []step{{0, "ABC\r"}, {0, "DEF\r"}, {0, "ABC\r"}}, []string{"code:ABC", "code:DEF", "code:ABC"}},
		{"dedup ignores AIM", ScannerOptions{}, []step{{0, "]C0ABC\r"}, {0, "ABC\r"}}, []string{"code:]C0ABC"}},
		{"dedup off", ScannerOptions{Dedup: -1}, []step{{0, "ABC\rABC\r"}}, []string{"code:ABC", "code:ABC"}},
		{"dedup custom", ScannerOptions{Dedup: 5 * time.Second}, []step{{0, "ABC\r"}, {3 * time.Second, "ABC\r"}}, []string{"code:ABC"}},
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

func TestScannerStats(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewScanner(nil, ScannerOptions{})
		err := s.Read(t.Context(), strings.NewReader("A\rA\r\x01\rB\r"), func(ScanEvent) {})
		if !errors.Is(err, ErrScannerGone) {
			t.Errorf("Read = %v, want ErrScannerGone at EOF", err)
		}
		st := s.Stats()
		if st.Codes != 2 || st.Duplicates != 1 || st.Drops[DropControl] != 1 {
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

func (d *pipeDevice) open() (io.ReadCloser, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.present {
		return nil, errors.New("no such device")
	}
	d.opens++
	pr, pw := io.Pipe()
	d.w = pw
	return pr, nil
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

func TestScannerReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dev := &pipeDevice{present: true}
		s := NewScanner(dev.open, ScannerOptions{})
		var mu sync.Mutex
		var got []string
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() {
			done <- s.Run(ctx, func(ev ScanEvent) {
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

func TestSplitAIM(t *testing.T) {
	for _, tt := range []struct{ in, aim, code string }{
		{"]C0ABC", "]C0", "ABC"},
		{"]d2X", "]d2", "X"},
		{"]QZX", "]QZ", "X"},
		{"]C", "", "]C"},
		{"]!0X", "", "]!0X"},
		{"ABC", "", "ABC"},
	} {
		aim, code := splitAIM(tt.in)
		if aim != tt.aim || code != tt.code {
			t.Errorf("splitAIM(%q) = %q, %q", tt.in, aim, code)
		}
	}
}

// FuzzScannerFramer checks that whatever bytes arrive, every code taken is
// printable ASCII of at most MaxLine bytes with no terminator, and every
// non-blank line is accounted for exactly once.
func FuzzScannerFramer(f *testing.F) {
	for _, s := range []string{"ABC\r\n", "]C0X\r", "\x00\xff\r\n", strings.Repeat("a", 300) + "\n", "A\rB\nC\r\nD", "]Q1\r"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fr := framer{max: 16}
		lr := lineReader{opts: ScannerOptions{Dedup: -1}}
		lr.opts.fill()
		lr.opts.Dedup = -1
		var events []ScanEvent
		take := func(x frame) {
			if ev, ok := lr.take(x, time.Time{}); ok {
				events = append(events, ev)
			}
		}
		for _, b := range data {
			if x, ok := fr.feed(b); ok {
				take(x)
			}
		}
		if x, ok := fr.flush(); ok {
			take(x)
		}
		lines := 0
		for _, l := range strings.FieldsFunc(string(data), func(r rune) bool { return r == '\r' || r == '\n' }) {
			if l != "" {
				lines++
			}
		}
		if len(events) != lines {
			t.Fatalf("%d events for %d lines", len(events), lines)
		}
		for _, ev := range events {
			if ev.Kind != ScanCode {
				continue
			}
			if len(ev.Code) == 0 || len(ev.Symbology)+len(ev.Code) > 16 {
				t.Fatalf("code %q of bad length", ev.Code)
			}
			for i := 0; i < len(ev.Code); i++ {
				if c := ev.Code[i]; c < 0x20 || c > 0x7E {
					t.Fatalf("code %q has byte %#x", ev.Code, c)
				}
			}
		}
	})
}
