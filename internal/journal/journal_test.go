package journal

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

func TestHandlerPrefixesLevels(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(Handler(&buf, func(w io.Writer) slog.Handler {
		return slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug - 4})
	})).With("site", "GRG01").WithGroup("g")
	l.Debug("d")
	l.Info("i", "k", 1)
	l.Warn("w")
	l.Error("e", "err", "multi\nline")
	l.Log(context.Background(), slog.LevelError+4, "above error")
	l.Log(context.Background(), slog.LevelDebug-4, "below debug")
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{"<7>{", "<6>{", "<4>{", "<3>{", "<3>{", "<7>{"}
	if len(lines) != len(want) {
		t.Fatalf("lines:\n%s", buf.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) || !strings.Contains(lines[i], `"site":"GRG01"`) {
			t.Errorf("line %d = %q, want prefix %q", i, lines[i], w)
		}
	}
}

// Concurrent records each keep their own level's prefix.
func TestHandlerConcurrent(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(Handler(&buf, func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) }))
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if i%2 == 0 {
					l.Warn("warn")
				} else {
					l.Info("info")
				}
			}
		}()
	}
	wg.Wait()
	for _, line := range strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n") {
		if !(strings.HasPrefix(line, "<4>") && strings.Contains(line, "level=WARN")) &&
			!(strings.HasPrefix(line, "<6>") && strings.Contains(line, "level=INFO")) {
			t.Fatalf("line %q", line)
		}
	}
}

func TestIsJournal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stream"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	st := fi.Sys().(*syscall.Stat_t)
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	if !IsJournal(f) {
		t.Fatal("the stream named by JOURNAL_STREAM is not recognised")
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino+1))
	if IsJournal(f) {
		t.Fatal("another inode taken for the journal")
	}
	t.Setenv("JOURNAL_STREAM", "")
	if IsJournal(f) {
		t.Fatal("no JOURNAL_STREAM taken for the journal")
	}
}
