// Package sdnotify speaks systemd's notification protocol (sd_notify(3))
// without a dependency: one datagram of "KEY=value" lines to the unix
// socket named by $NOTIFY_SOCKET. A service of Type=notify says READY=1
// once it serves, WATCHDOG=1 at least every WatchdogSec= (the unit's
// $WATCHDOG_USEC), and STOPPING=1 when it begins to stop. With no
// $NOTIFY_SOCKET (not under systemd, or a Type=simple unit) every call
// does nothing.
package sdnotify

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends state (one or more "KEY=value" lines) to $NOTIFY_SOCKET.
// It reports whether it was sent: false with a nil error when there is no
// socket to send to.
func Notify(state string) (bool, error) {
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr == "" {
		return false, nil
	}
	// An abstract socket is written with a leading "@".
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return false, err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, err
	}
	return true, nil
}

// WatchdogInterval is how often systemd expects WATCHDOG=1 from this
// process ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or this process):
// 0 when no watchdog is armed.
func WatchdogInterval() time.Duration {
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0
	}
	us, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || us <= 0 {
		return 0
	}
	return time.Duration(us) * time.Microsecond
}

// Serve tells systemd about a running service until ctx ends. alive goes
// once around the service's own loop (lane.Runner.Ping): READY=1 is sent
// when it first answers, WATCHDOG=1 every half watchdog interval while it
// answers within that half, and nothing while it does not, so systemd
// kills and restarts a service whose loop hangs even though the process
// lives. STOPPING=1 is sent when ctx ends. Without $NOTIFY_SOCKET Serve
// returns at once.
func Serve(ctx context.Context, alive func(context.Context) error, log *slog.Logger) {
	if os.Getenv("NOTIFY_SOCKET") == "" {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	every := WatchdogInterval() / 2
	wait := every
	if wait <= 0 {
		wait = 10 * time.Second
	}
	ready := false
	for ctx.Err() == nil {
		actx, cancel := context.WithTimeout(ctx, wait)
		err := alive(actx)
		cancel()
		if ctx.Err() != nil {
			break
		}
		pause := every
		switch {
		case err != nil:
			log.Warn("systemd: the lane's loop did not answer", "err", err, "waited", wait)
			pause = wait
			if errors.Is(err, context.DeadlineExceeded) {
				pause = 0 // it has waited already
			}
		case !ready:
			ready = true
			if _, err := Notify("READY=1\nSTATUS=running"); err != nil {
				log.Warn("systemd: notify ready", "err", err)
			}
		case every > 0:
			if _, err := Notify("WATCHDOG=1"); err != nil {
				log.Warn("systemd: notify watchdog", "err", err)
			}
		}
		if ready && every <= 0 {
			<-ctx.Done() // no watchdog: nothing more to say until the stop
			break
		}
		if pause > 0 {
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
	if _, err := Notify("STOPPING=1"); err != nil {
		log.Warn("systemd: notify stopping", "err", err)
	}
}
