package barrier

import (
	"bytes"
	"errors"
	"sync"
	"time"
)

// sent is one write seen by a fakePort, with its (fake-clock) time.
type sent struct {
	At    time.Time
	Bytes []byte
}

// fakePort records every write and answers with reply(written bytes). A
// Read with nothing buffered waits out the read timeout (instant inside a
// synctest bubble) and returns 0, nil like go.bug.st/serial.
type fakePort struct {
	mu      sync.Mutex
	writes  []sent
	in      bytes.Buffer
	timeout time.Duration
	reply   func(w []byte) []byte
	fail    error // returned by Read and Write when set
	closed  bool
}

func (f *fakePort) Write(b []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	if f.closed {
		return 0, errors.New("closed")
	}
	f.writes = append(f.writes, sent{time.Now(), bytes.Clone(b)})
	if f.reply != nil {
		f.in.Write(f.reply(b))
	}
	return len(b), nil
}

func (f *fakePort) Read(b []byte) (int, error) {
	f.mu.Lock()
	if f.fail != nil {
		f.mu.Unlock()
		return 0, f.fail
	}
	if f.in.Len() > 0 {
		defer f.mu.Unlock()
		return f.in.Read(b)
	}
	d := f.timeout
	f.mu.Unlock()
	time.Sleep(d)
	return 0, nil
}

func (f *fakePort) SetReadTimeout(d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.timeout = d
	return nil
}

func (f *fakePort) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	return nil
}

func (f *fakePort) ResetInputBuffer() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.in.Reset()
	return nil
}

// forget drops the writes seen so far.
func (f *fakePort) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = nil
}

func (f *fakePort) Writes() []sent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]sent(nil), f.writes...)
}

func (f *fakePort) all() []byte {
	var b []byte
	for _, w := range f.Writes() {
		b = append(b, w.Bytes...)
	}
	return b
}
