// Package journal gives log lines written to stderr under systemd the
// levels the journal understands: when stderr is the journal's stream
// ($JOURNAL_STREAM names its device and inode), each line starts with a
// "<N>" syslog priority prefix (sd-daemon(3)), which journald strips and
// records as the line's priority, so `journalctl -p warning` works.
package journal

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
)

// IsJournal reports whether f is the stream systemd connected to the
// journal for this service ($JOURNAL_STREAM is "<device>:<inode>" of it).
// A stderr redirected elsewhere (a file, a pipe to another program) keeps
// the same environment variable but not the same inode.
func IsJournal(f *os.File) bool {
	env := os.Getenv("JOURNAL_STREAM")
	if env == "" || f == nil {
		return false
	}
	var dev, ino uint64
	if _, err := fmt.Sscanf(env, "%d:%d", &dev, &ino); err != nil {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == dev && uint64(st.Ino) == ino
}

// Priority is the syslog priority of a slog level: error 3, warning 4,
// info 6, debug 7.
func Priority(l slog.Level) int {
	switch {
	case l >= slog.LevelError:
		return 3
	case l >= slog.LevelWarn:
		return 4
	case l >= slog.LevelInfo:
		return 6
	default:
		return 7
	}
}

// Handler prefixes each line that the handler made by mk writes to w with
// the priority of its record's level. mk builds the real handler (JSON or
// text) on the writer it is given.
func Handler(w io.Writer, mk func(io.Writer) slog.Handler) slog.Handler {
	pw := &prefixWriter{w: w}
	return &handler{inner: mk(pw), pw: pw}
}

// prefixWriter puts the prefix of the record being handled before each
// line. slog's handlers write a record in one Write, under handler.Handle,
// which holds mu.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix []byte
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = p.buf[:0]
	start := true
	for _, c := range b {
		if start {
			p.buf = append(p.buf, p.prefix...)
		}
		p.buf = append(p.buf, c)
		start = c == '\n'
	}
	if _, err := p.w.Write(p.buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

type handler struct {
	inner slog.Handler
	pw    *prefixWriter
}

func (h *handler) Enabled(ctx context.Context, l slog.Level) bool { return h.inner.Enabled(ctx, l) }

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	h.pw.mu.Lock()
	defer h.pw.mu.Unlock()
	h.pw.prefix = fmt.Appendf(h.pw.prefix[:0], "<%d>", Priority(r.Level))
	return h.inner.Handle(ctx, r)
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	return &handler{inner: h.inner.WithAttrs(as), pw: h.pw}
}

func (h *handler) WithGroup(name string) slog.Handler {
	return &handler{inner: h.inner.WithGroup(name), pw: h.pw}
}
