package station

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/exitlane/exitlane/internal/pgtest"
)

// The store's health as the admin screen reads it, with a real
// PostgreSQL stopped and started: up with nothing behind; down, with the
// rows behind growing as the lane keeps writing (counted from the
// ledger's outbox when asked, not frozen at the shipper's last look);
// back up, replayed, and 0 behind.
func TestStoreHealthDownBehindAndBack(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url, err := c.CreateDB(ctx, "site")
	must(t, err)
	s := migrated(t, url)
	a := newTestLane(t, url, "A", 300*time.Millisecond, nil)
	waitHealth := func(what string, ok func(StoreHealth) bool) StoreHealth {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			a.ship.nudge()
			h := a.ship.Health()
			if ok(h) {
				return h
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: health %+v", what, h)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	a.scan(t, 1, "T1", t0)
	synced(t, s, a)
	h := waitHealth("up", func(h StoreHealth) bool { return h.Up && h.Behind == 0 })
	if !h.Configured || h.Shipped == 0 || h.Stopped {
		t.Fatalf("up: %+v", h)
	}

	must(t, c.Stop(ctx))
	a.scan(t, 2, "T2", t0.Add(time.Minute)) // the shipper finds the store gone
	down := waitHealth("down", func(h StoreHealth) bool { return !h.Up && h.LastErr != "" })
	if !down.Since.After(h.Since) && !down.Since.Equal(h.Since) {
		t.Errorf("down since %v, before up since %v", down.Since, h.Since)
	}
	before := down.Behind
	if before < 1 {
		t.Fatalf("down with %d behind", before)
	}
	for i := int64(3); i <= 12; i++ {
		a.scan(t, i, fmt.Sprintf("T%d", i), t0.Add(time.Duration(i)*time.Minute))
	}
	// Ten more visits (a visit record each, and no claim: no exits).
	if got := a.ship.Health(); got.Up || got.Behind != before+10 {
		t.Fatalf("after 10 more visits while down: %+v, want %d behind", got, before+10)
	}

	must(t, c.Start(ctx))
	synced(t, s, a)
	back := waitHealth("back", func(h StoreHealth) bool { return h.Up && h.Behind == 0 })
	if back.LastErr != "" || !back.Since.After(down.Since) {
		t.Fatalf("back: %+v (down since %v)", back, down.Since)
	}
	last, err := a.db.OutboxSeq(ctx)
	must(t, err)
	if back.Shipped != last {
		t.Fatalf("shipped %d, the ledger's last seq %d", back.Shipped, last)
	}
}
