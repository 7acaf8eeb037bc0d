// Package sim is the simulated world of "exitlane sim": the lane's serial
// devices on pseudo-terminals, the PayBy sandbox behind a fault proxy, and
// a lane opened on them with package station (World).
//
// Each emulator opens a pty pair, keeps the master side and publishes the
// slave under a stable symlink in its own temporary directory (Path). The
// production code opens that path with go.bug.st/serial, so a simulated lane
// runs the real serial code path. Unplug closes the pty (the reader or
// driver sees the port fail and the path vanish); Replug creates a new pty
// and re-points the link, the way udev re-creates /dev/exitlane-relay.
package sim

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ErrUnplugged: the emulator's device is unplugged.
var ErrUnplugged = errors.New("sim: device unplugged")

// endpoint is the emulator's side of a pty pair behind a stable link.
type endpoint struct {
	dir, link string
	serve     func(master *os.File) // reads the master until it fails; may be nil

	mu     sync.Mutex
	master *os.File
	slave  *os.File // held open so the master does not see a hang-up between opens
	done   chan struct{}
}

func newEndpoint(name string, serve func(*os.File)) (*endpoint, error) {
	dir, err := os.MkdirTemp("", "exitlane-sim-")
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	e := &endpoint{dir: dir, link: filepath.Join(dir, name), serve: serve}
	if err := e.plug(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return e, nil
}

// plug creates a new pty pair and points the link at its slave.
func (e *endpoint) plug() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.master != nil {
		return nil
	}
	m, s, err := pty.Open()
	if err != nil {
		return fmt.Errorf("sim: open pty: %w", err)
	}
	// Raw mode now, before anyone opens the slave: a fresh pty echoes and
	// translates CR to LF, which would corrupt the first frames.
	if err := makeRaw(s); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("sim: raw pty: %w", err)
	}
	tmp := e.link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(s.Name(), tmp); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("sim: link pty: %w", err)
	}
	if err := os.Rename(tmp, e.link); err != nil {
		m.Close()
		s.Close()
		return fmt.Errorf("sim: link pty: %w", err)
	}
	e.master, e.slave = m, s
	e.done = make(chan struct{})
	if e.serve != nil {
		done := e.done
		go func() {
			defer close(done)
			e.serve(m)
		}()
	} else {
		close(e.done)
	}
	return nil
}

// unplug closes the pty pair and removes the link.
func (e *endpoint) unplug() {
	e.mu.Lock()
	m, s, done := e.master, e.slave, e.done
	e.master, e.slave = nil, nil
	os.Remove(e.link)
	e.mu.Unlock()
	if m == nil {
		return
	}
	m.Close()
	s.Close()
	<-done
}

// write sends bytes to whoever has the slave open.
func (e *endpoint) write(b []byte) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.master == nil {
		return ErrUnplugged
	}
	_, err := e.master.Write(b)
	return err
}

func (e *endpoint) close() {
	e.unplug()
	os.RemoveAll(e.dir)
}

// makeRaw puts a terminal in raw mode (like cfmakeraw).
func makeRaw(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ioErr error
	err = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		if err != nil {
			ioErr = err
			return
		}
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB
		t.Cflag |= unix.CS8
		t.Cc[unix.VMIN] = 1
		t.Cc[unix.VTIME] = 0
		ioErr = unix.IoctlSetTermios(int(fd), unix.TCSETS, t)
	})
	if err != nil {
		return err
	}
	return ioErr
}
