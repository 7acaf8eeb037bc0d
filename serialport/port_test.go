package serialport

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/creack/pty"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Baud: 115200, Parity: "even"}, {Parity: "O", StopBits: 2}, {DataBits: 7, Parity: "space"}} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range []Config{{Parity: "x"}, {StopBits: 3}, {DataBits: 9}, {DataBits: 4}, {Baud: -1}} {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
	if _, err := Open("/nonexistent/port", Config{Parity: "x"}); !errors.Is(err, ErrConfig) {
		t.Errorf("Open with bad config = %v", err)
	}
}

// A pseudo-terminal behind a symlink stands for a udev name: removing or
// re-pointing the link is noticed by Gone, closing the far end by HungUp.
func TestSerialGoneAndHungUp(t *testing.T) {
	m, s, err := pty.Open()
	if err != nil {
		t.Skip("no pty:", err)
	}
	defer s.Close()
	link := filepath.Join(t.TempDir(), "relay")
	if err := os.Symlink(s.Name(), link); err != nil {
		t.Fatal(err)
	}
	p, err := Open(link, Config{})
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	defer p.Close()
	if p.Path() != link || p.Gone() || p.HungUp() {
		t.Fatalf("fresh port: path %s, gone %v, hung up %v", p.Path(), p.Gone(), p.HungUp())
	}
	if _, err := p.ModemStatus(); err == nil {
		t.Error("a pty reported modem lines")
	}
	if _, err := p.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := m.Read(buf); err != nil || buf[0] != 'x' {
		t.Fatalf("far end read %q, %v", buf, err)
	}
	os.Remove(link)
	if !p.Gone() {
		t.Error("removed link not gone")
	}
	m2, s2, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	defer s2.Close()
	os.Symlink(s2.Name(), link)
	if !p.Gone() {
		t.Error("re-pointed link not gone")
	}
	m.Close()
	s.Close()
	if !p.HungUp() {
		t.Error("closed pty not hung up")
	}
}
