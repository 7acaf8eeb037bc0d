package station

// The lane's figures and health (package metrics): counted from the
// journal, the PayBy client and the snapshots, served on [metrics] listen
// as /metrics, /healthz and /readyz. Off unless configured.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/metrics"
)

// openMetrics registers the collectors that read the runner and the site
// store, and binds the metrics listener ([metrics] listen, or
// o.MetricsListener) if there is one. client: the PayBy client is the
// station's own (its attempts are observed).
func (s *Station) openMetrics(cfg *config.Config, o Options, client bool) error {
	s.metrics.Snapshots(s.r.Snapshot)
	s.metrics.Store(s.storeFigures)
	if cfg.Metrics.Listen == "" && o.MetricsListener == nil {
		return nil
	}
	h := metrics.Handler(s.metrics.Registry(), s.readiness(cfg, client))
	srv, err := metrics.Listen(cfg.Metrics.Listen, o.MetricsListener, h)
	if err != nil {
		return fmt.Errorf("station: %w", err)
	}
	s.mserv = srv
	return nil
}

// runMetrics starts counting the snapshots' transitions and serving the
// listener; both stop with ctx (the listener at stopMetrics).
func (s *Station) runMetrics(ctx context.Context) {
	snaps, unsubscribe := s.r.Subscribe()
	s.parts.goRun(partMetrics, func() {
		defer unsubscribe()
		s.metrics.Watch(ctx, snaps)
	})
	if s.mserv != nil {
		s.mserv.Serve()
		s.log.Info("metrics listener", "addr", s.mserv.Addr().String())
	}
}

// stopMetrics stops the listener, letting a scrape in flight finish.
func (s *Station) stopMetrics(d time.Duration) {
	if s.mserv != nil {
		s.mserv.Shutdown(d)
	}
}

// storeFigures is the site store as the lane sees it, at a scrape: the
// shipper's view, and the backlog and lag read from the ledger's outbox.
func (s *Station) storeFigures(ctx context.Context) (metrics.Store, error) {
	h := s.StoreHealth()
	if !h.Configured {
		return metrics.Store{}, nil
	}
	st := metrics.Store{Configured: true, Up: h.Up, Stopped: h.Stopped, Listening: s.listening.Load()}
	last, err := s.db.OutboxSeq(ctx)
	if err != nil {
		return st, err
	}
	if st.Backlog = max(last-h.Shipped, 0); st.Backlog > 0 {
		rows, err := s.db.Outbox(ctx, h.Shipped, 1)
		if err != nil {
			return st, err
		}
		if len(rows) > 0 {
			st.Lag = max(time.Since(rows[0].At), 0)
		}
	}
	return st, nil
}

// readiness is what /readyz checks: the ledger open, the devices up,
// PayBy reached recently, the site store reachable (when there is one).
func (s *Station) readiness(cfg *config.Config, client bool) []metrics.Check {
	snap := s.r.Snapshot
	checks := []metrics.Check{{Name: "ledger", Check: func(ctx context.Context) error {
		sn := snap()
		if !sn.Ready {
			return errors.New("the lane has not started")
		}
		if sn.Health.Ledger == lane.DeviceDown {
			return errors.New("the ledger could not be written (the lane is in fault)")
		}
		if err := s.db.SQL().PingContext(ctx); err != nil {
			return errors.New("the ledger is not open")
		}
		return nil
	}}}
	device := func(name string, of func(lane.Health) lane.DeviceState) metrics.Check {
		return metrics.Check{Name: name, Check: func(context.Context) error {
			if st := of(snap().Health); st != lane.DeviceOK {
				return fmt.Errorf("%s is %s", name, st)
			}
			return nil
		}}
	}
	checks = append(checks,
		device("scanner", func(h lane.Health) lane.DeviceState { return h.Scanner }),
		device("relay", func(h lane.Health) lane.DeviceState { return h.Relay }))
	if s.dev.loop != nil {
		checks = append(checks, device("loop", func(h lane.Health) lane.DeviceState { return h.Loop }))
	}
	// The lane calls PayBy at least every reconcile interval (a probe when
	// it has nothing to reconcile), and every poll interval during a visit.
	window := 3*cfg.PayBy.ReconcileInterval + cfg.PayBy.Timeout
	checks = append(checks, metrics.Check{Name: "payby", Check: func(context.Context) error {
		h := snap().Health.PayBy
		if h == lane.DeviceDown {
			return errors.New("PayBy is down: the lane's last calls failed")
		}
		if !client {
			if h != lane.DeviceOK {
				return fmt.Errorf("PayBy is %s", h)
			}
			return nil
		}
		reached, failed := s.metrics.PayBy()
		switch {
		case reached.IsZero():
			return errors.New("PayBy not reached yet")
		case failed.After(reached):
			return fmt.Errorf("PayBy's last call failed (last reached %s ago)", time.Since(reached).Round(time.Second))
		case time.Since(reached) > window:
			return fmt.Errorf("PayBy last reached %s ago", time.Since(reached).Round(time.Second))
		}
		return nil
	}})
	if s.ship != nil {
		checks = append(checks, metrics.Check{Name: "store", Check: func(context.Context) error {
			h := s.StoreHealth()
			switch {
			case h.Stopped:
				return errors.New("shipping to the site store stopped: an engineer must look (see the lane's log)")
			case !h.Up:
				return fmt.Errorf("site store not reached since %s", h.Since.UTC().Format(time.RFC3339))
			}
			return nil
		}})
	}
	return checks
}
