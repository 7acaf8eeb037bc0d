package station

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/sitestore"
)

// StoreHealth is the site store as this lane sees it, for the admin status
// screen and the logs (lane.StoreHealth).
type StoreHealth = lane.StoreHealth

// Shipping parameters.
const (
	shipBatch     = 200              // records per ApplyBatch
	shipTimeout   = 30 * time.Second // one batch
	shipIdle      = 5 * time.Second  // a look at the outbox without a nudge
	backoffFirst  = 200 * time.Millisecond
	backoffMax    = 10 * time.Second
	replayLogRows = 1000        // a replay logs its progress every this many rows
	healthTimeout = time.Second // the ledger's last seq, for Health
)

// shipper sends the ledger's outbox to the site store in order: from the
// store's LastSeq+1, in batches, again from LastSeq after every failure
// (resends are free: the store applies each seq once). It never blocks
// the lane: records are in the ledger first, and the shipper catches up.
type shipper struct {
	db    *ledger.DB
	store *sitestore.Store
	lane  string
	first int64 // the run's first visit: claims before it may be stale
	log   *slog.Logger
	wake  chan struct{}

	mu sync.Mutex
	h  StoreHealth
}

func newShipper(db *ledger.DB, s *sitestore.Store, laneID string, first int64, log *slog.Logger) *shipper {
	return &shipper{db: db, store: s, lane: laneID, first: first, log: log, wake: make(chan struct{}, 1),
		h: StoreHealth{Configured: true, Since: time.Now()}}
}

// nudge tells the shipper a record was written.
func (sh *shipper) nudge() {
	if sh == nil {
		return
	}
	select {
	case sh.wake <- struct{}{}:
	default:
	}
}

// Health returns the shipper's view of the store, with the rows behind
// counted now from the ledger's outbox (its last seq less the last one
// the store confirmed), as the metrics count the backlog: while the store
// is down the shipper does not run and its own figure would stand still.
func (sh *shipper) Health() StoreHealth {
	sh.mu.Lock()
	h := sh.h
	sh.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), healthTimeout)
	defer cancel()
	if last, err := sh.db.OutboxSeq(ctx); err == nil {
		h.Behind = max(last-h.Shipped, 0)
	}
	return h
}

// run ships until ctx ends.
func (sh *shipper) run(ctx context.Context) {
	known := int64(-1) // the store's last seq of this lane (-1: ask)
	released := false  // stale claims released (once, at the first contact)
	backoff := backoffFirst
	replaying := false
	var sinceLog int64
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-sh.wake:
		case <-t.C:
		}
		return true
	}
	down := func(err error) {
		known = -1
		sh.mu.Lock()
		was := sh.h.Up || sh.h.LastErr == ""
		if sh.h.Up {
			sh.h.Since = time.Now()
		}
		sh.h.Up, sh.h.LastErr = false, err.Error()
		sh.mu.Unlock()
		if was {
			sh.log.Warn("site store down; the lane decides offline and will replay", "err", err)
		}
	}
	for ctx.Err() == nil {
		if known < 0 {
			cctx, cancel := context.WithTimeout(ctx, shipTimeout)
			err := sh.store.Check(cctx)
			if err == nil {
				known, err = sh.store.LastSeq(cctx, sh.lane)
			}
			if err == nil && !released {
				if err = releaseUnconfirmed(cctx, sh.store, sh.db, sh.lane, sh.first, sh.log); err == nil {
					released = true
				}
			}
			cancel()
			var se *sitestore.SchemaError
			if errors.As(err, &se) {
				sh.stop(err)
				return
			}
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				down(err)
				if !wait(backoff) {
					return
				}
				backoff = min(2*backoff, backoffMax)
				continue
			}
		}
		rows, err := sh.db.Outbox(ctx, known, shipBatch)
		if err != nil {
			sh.log.Error("site store: the ledger's outbox cannot be read", "err", err)
			if !wait(backoffMax) {
				return
			}
			continue
		}
		last, _ := sh.db.OutboxSeq(ctx)
		sh.up(known, last)
		if len(rows) == 0 {
			if replaying {
				replaying = false
				sh.log.Info("site store replay done", "shipped", known)
			}
			backoff = backoffFirst
			if !wait(shipIdle) {
				return
			}
			continue
		}
		if !replaying && last-known > shipBatch {
			replaying, sinceLog = true, 0
			sh.log.Info("site store replay", "from", known+1, "behind", last-known)
		}
		recs := make([]lane.Record, len(rows))
		for i, o := range rows {
			if recs[i], err = o.Record(); err != nil {
				sh.stop(err)
				return
			}
		}
		cctx, cancel := context.WithTimeout(ctx, shipTimeout)
		err = sh.store.ApplyBatch(cctx, sh.lane, rows[0].Seq, recs)
		cancel()
		var se *sitestore.SeqError
		switch {
		case errors.As(err, &se) && errors.Is(err, sitestore.ErrSeqGap):
			sh.log.Warn("site store expects another seq; resuming from it", "seq", rows[0].Seq, "expected", se.Expected)
			known = se.Expected - 1
			continue
		case errors.As(err, &se):
			// Two lanes configured with one site.lane, or a replaced
			// ledger: never "fixed" by skipping.
			sh.stop(err)
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			down(err)
			if !wait(backoff) {
				return
			}
			backoff = min(2*backoff, backoffMax)
			continue
		}
		known = rows[len(rows)-1].Seq
		backoff = backoffFirst
		sh.up(known, last)
		if replaying {
			if sinceLog += int64(len(rows)); sinceLog >= replayLogRows {
				sinceLog = 0
				sh.log.Info("site store replay", "shipped", known, "behind", max(last-known, 0))
			}
		}
	}
}

// up records the store reachable, with last applied seq shipped of the
// ledger's last.
func (sh *shipper) up(shipped, last int64) {
	sh.mu.Lock()
	was := sh.h.Up
	if !was {
		sh.h.Since = time.Now()
	}
	sh.h.Up, sh.h.LastErr, sh.h.Shipped, sh.h.Behind = true, "", shipped, max(last-shipped, 0)
	behind := sh.h.Behind
	sh.mu.Unlock()
	if !was {
		sh.log.Info("site store up", "shipped", shipped, "behind", behind)
	}
}

// stop ends shipping for good: it cannot go on without an engineer.
func (sh *shipper) stop(err error) {
	sh.mu.Lock()
	sh.h.Up, sh.h.Stopped, sh.h.LastErr = false, true, err.Error()
	sh.mu.Unlock()
	sh.log.Error("site store: shipping stopped; the lane goes on alone until an engineer looks", "err", err)
}
