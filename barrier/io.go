package barrier

import (
	"fmt"
	"time"

	"github.com/exitlane/exitlane/serialport"
)

// readFull reads exactly n bytes or fails with ErrNoReply once timeout has
// passed (the bytes that did arrive are returned with the error).
func readFull(p serialport.Port, n int, timeout time.Duration) ([]byte, error) {
	buf := make([]byte, n)
	got := 0
	deadline := time.Now().Add(timeout)
	for got < n {
		left := time.Until(deadline)
		if left <= 0 {
			return buf[:got], fmt.Errorf("%w: %d of %d bytes in %v", ErrNoReply, got, n, timeout)
		}
		if err := p.SetReadTimeout(left); err != nil {
			return buf[:got], err
		}
		k, err := p.Read(buf[got:])
		got += k
		if err != nil {
			return buf[:got], err
		}
	}
	return buf, nil
}

// readUntil reads until the byte stop arrives (included in the result), at
// most max bytes, or fails with ErrNoReply after timeout.
func readUntil(p serialport.Port, stop byte, max int, timeout time.Duration) ([]byte, error) {
	var out []byte
	one := make([]byte, 64)
	deadline := time.Now().Add(timeout)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return out, fmt.Errorf("%w: no %q in %v (got %q)", ErrNoReply, stop, timeout, out)
		}
		if err := p.SetReadTimeout(left); err != nil {
			return out, err
		}
		// Read one byte at a time so that bytes after the stop byte stay
		// in the port for the next exchange.
		k, err := p.Read(one[:1])
		if k > 0 {
			out = append(out, one[0])
			if one[0] == stop {
				return out, nil
			}
			if len(out) >= max {
				return out, fmt.Errorf("%w: reply longer than %d bytes", ErrBadReply, max)
			}
		}
		if err != nil {
			return out, err
		}
	}
}

// discardInput drops stale input (a late reply to an earlier query) so the
// next reply is read from a clean start.
func discardInput(p serialport.Port) {
	if r, ok := p.(interface{ ResetInputBuffer() error }); ok {
		_ = r.ResetInputBuffer()
	}
}
