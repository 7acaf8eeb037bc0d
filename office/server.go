package office

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/metrics"
	"github.com/exitlane/exitlane/payby"
	"github.com/exitlane/exitlane/sitestore"
)

// Options are what differs between production and tests.
type Options struct {
	// Logger receives the office's log; nil discards it.
	Logger *slog.Logger
	// Listener, if set, is served instead of binding [office] listen;
	// MetricsListener likewise for [metrics] listen. The server closes
	// them.
	Listener, MetricsListener net.Listener
	// Now is the console's clock (default time.Now).
	Now func() time.Time
	// Tick is the console's alarm and live-page period (default 3 s);
	// CommandWait how long an action's page waits for its lane (10 s).
	Tick, CommandWait time.Duration
}

// Server is the office server: the notification endpoint at [office]
// notify_path, and /metrics, /healthz and /readyz on [metrics] listen
// (or next to the endpoint when that is empty).
type Server struct {
	cfg   *config.Config
	log   *slog.Logger
	store *sitestore.Store
	m     *metrics.Office

	srv   *http.Server
	ln    net.Listener
	msrv  *metrics.Server // nil: metrics on srv
	con   *Console
	tls   bool
	mu    sync.Mutex
	state int // 0 opened, 1 running, 2 closed
	done  chan struct{}
}

// Open loads PayBy's public key, opens the site store and binds the
// listeners; nothing is served until Run. The store may be down (readyz
// says so, and PayBy's notifications get a failure until it is back), but
// its schema, once reached, must be the one this exitlane knows.
func Open(ctx context.Context, cfg *config.Config, o Options) (_ *Server, err error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: log, m: metrics.NewOffice(cfg.Site.ID), done: make(chan struct{})}
	defer func() {
		if err != nil {
			s.release()
			for _, l := range []net.Listener{o.Listener, o.MetricsListener} {
				if l != nil {
					l.Close()
				}
			}
		}
	}()
	pub, err := payby.LoadPublicKey(cfg.Office.PayByPublicKeyFile)
	if err != nil {
		return nil, fmt.Errorf("office: %w", err)
	}
	if s.store, err = sitestore.New(cfg.SiteStore.URL, sitestore.Options{Site: cfg.Site.ID}); err != nil {
		return nil, fmt.Errorf("office: %w", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err = s.store.Check(cctx)
	cancel()
	var se *sitestore.SchemaError
	switch {
	case errors.As(err, &se):
		return nil, fmt.Errorf("office: %w", err)
	case err != nil:
		log.Warn("site store not reached at start; notifications are refused until it is", "err", err)
	}

	mux := http.NewServeMux()
	mux.Handle("POST "+cfg.Office.NotifyPath, NotifyHandler(s.store, pub, NotifyOptions{
		Reply: payby.Reply(cfg.Office.NotifyReply), Logger: log.With("component", "notify"), Metrics: s.m}))
	// Only POST on the endpoint (not the console's 404).
	mux.HandleFunc(cfg.Office.NotifyPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	})
	health := metrics.Handler(s.m.Registry(), s.readiness())
	if cfg.Metrics.Listen != "" || o.MetricsListener != nil {
		if s.msrv, err = metrics.Listen(cfg.Metrics.Listen, o.MetricsListener, health); err != nil {
			return nil, fmt.Errorf("office: %w", err)
		}
	} else {
		for _, p := range []string{"/metrics", "/healthz", "/readyz"} {
			mux.Handle("GET "+p, health)
		}
	}
	s.tls = cfg.Office.TLSCertFile != ""
	if s.tls != (cfg.Office.TLSKeyFile != "") {
		return nil, errors.New("office: tls_cert_file and tls_key_file go together")
	}
	if s.con, err = NewConsole(cfg, s.store, ConsoleOptions{Logger: log.With("component", "console"), Now: o.Now, TLS: s.tls,
		Tick: o.Tick, CommandWait: o.CommandWait}); err != nil {
		return nil, err
	}
	mux.Handle("/", s.con.Handler())
	if s.ln = o.Listener; s.ln == nil {
		if s.ln, err = net.Listen("tcp", cfg.Office.Listen); err != nil {
			return nil, fmt.Errorf("office: listen: %w", err)
		}
	}
	// Plain HTTP only on loopback (config.Load says so too; this holds
	// for a config built in code and for a listener passed in).
	if a, ok := s.ln.Addr().(*net.TCPAddr); ok && !s.tls && !a.IP.IsLoopback() {
		return nil, fmt.Errorf("office: %s is not loopback: plain HTTP is served only on loopback; set [office] tls_cert_file and tls_key_file", a)
	}
	// No WriteTimeout: the console's live stream (/events) stays open;
	// it sets a deadline on each of its writes instead.
	s.srv = &http.Server{Handler: securityHeaders(mux, s.tls), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	s.srv.RegisterOnShutdown(s.con.CloseStreams)
	return s, nil
}

// csp allows the console's own files only: no inline script or style,
// no frame, forms posted only to the console.
const csp = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// securityHeaders sets the headers every answer of the office carries
// (HSTS when served over TLS).
func securityHeaders(h http.Handler, tls bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		if tls {
			hd.Set("Strict-Transport-Security", "max-age=31536000")
		}
		h.ServeHTTP(w, r)
	})
}

// readiness: the store reachable, with the schema this exitlane knows.
func (s *Server) readiness() []metrics.Check {
	return []metrics.Check{{Name: "store", Check: func(ctx context.Context) error {
		if err := s.store.Check(ctx); err != nil {
			var se *sitestore.SchemaError
			if errors.As(err, &se) {
				return err
			}
			return errors.New("site store not reached")
		}
		return nil
	}}}
}

// Addr is the notification endpoint's listener address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// MetricsAddr is the metrics listener's address (nil: served on Addr).
func (s *Server) MetricsAddr() net.Addr {
	if s.msrv == nil {
		return nil
	}
	return s.msrv.Addr()
}

// Store is the site store the office records in.
func (s *Server) Store() *sitestore.Store { return s.store }

// Metrics is the office's figures.
func (s *Server) Metrics() *metrics.Office { return s.m }

// Run serves until ctx ends or Close, then shuts down, letting the
// requests in flight finish (at most 5 s). A server runs once.
func (s *Server) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.state != 0 {
		s.mu.Unlock()
		return errors.New("office: run: already running or closed")
	}
	s.state = 1
	s.mu.Unlock()
	defer close(s.done)
	errc := make(chan error, 1)
	go func() {
		var err error
		if s.tls {
			err = s.srv.ServeTLS(s.ln, s.cfg.Office.TLSCertFile, s.cfg.Office.TLSKeyFile)
		} else {
			err = s.srv.Serve(s.ln)
		}
		errc <- err
	}()
	if s.msrv != nil {
		s.msrv.Serve()
	}
	cctx, stopConsole := context.WithCancel(ctx)
	consoleDone := make(chan struct{})
	go func() {
		defer close(consoleDone)
		s.con.Run(cctx)
	}()
	defer func() {
		stopConsole()
		<-consoleDone
	}()
	attrs := []any{"addr", s.ln.Addr().String(), "notify_path", s.cfg.Office.NotifyPath, "tls", s.tls}
	if s.msrv != nil {
		attrs = append(attrs, "metrics_addr", s.msrv.Addr().String())
	}
	s.log.Info("office serving", attrs...)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Shutdown(sctx)
	if s.msrv != nil {
		s.msrv.Shutdown(2 * time.Second)
	}
	s.log.Info("office stopped")
	return err
}

// Close stops a Run in progress (and waits for it), then closes the
// listeners and the store.
func (s *Server) Close() error {
	s.mu.Lock()
	st := s.state
	s.state = 2
	s.mu.Unlock()
	switch st {
	case 2:
		return nil
	case 1:
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.srv.Shutdown(ctx)
		cancel()
		<-s.done
	default:
		s.ln.Close()
	}
	return s.release()
}

func (s *Server) release() error {
	var err error
	if s.msrv != nil {
		err = s.msrv.Close()
	}
	if s.store != nil {
		s.store.Close()
	}
	return err
}
