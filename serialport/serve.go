package serialport

import (
	"context"
	"time"
)

// Serve keeps a port open for a device that talks on its own (a barcode
// scanner): it opens the port, reports Up and passes the port to use until
// use returns (the port failed), then closes it and opens it again after a
// backoff, until ctx ends. A lost or missing port is reported once per
// outage (Down, with the cause), including a port that cannot be opened
// at start. When ctx ends the port is closed, which unblocks a pending
// Read; use should then return. Events are delivered from Serve's
// goroutine; Serve logs nothing of its own (its caller logs the events
// in its device's words). Serve returns ctx's error.
func Serve(ctx context.Context, open OpenFunc, opts Options, use func(context.Context, Port) error) error {
	opts.fill()
	event := func(kind EventKind, err error) {
		if opts.OnEvent != nil {
			opts.OnEvent(Event{Device: opts.Name, Kind: kind, Err: err, At: time.Now()})
		}
	}
	backoff := opts.MinBackoff
	down := false
	for {
		p, err := open()
		if err == nil {
			backoff = opts.MinBackoff
			down = false
			event(Up, nil)
			stop := context.AfterFunc(ctx, func() { p.Close() })
			err = use(ctx, p)
			stop()
			p.Close()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == nil {
				err = ErrDown
			}
		}
		if !down {
			down = true
			event(Down, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, opts.MaxBackoff)
	}
}
