package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check is one part of readiness. Check returns nil when the part is
// ready, else why not (in words for an operator; never a secret).
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// Readiness is /readyz's JSON body.
type Readiness struct {
	Ready bool `json:"ready"`
	// Failing names the parts that are not ready, in check order.
	Failing []string      `json:"failing,omitempty"`
	Checks  []CheckResult `json:"checks"`
}

// CheckResult is one check's answer.
type CheckResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// CheckTimeout bounds each readiness check.
const CheckTimeout = 2 * time.Second

// Ready runs the checks in order, each within CheckTimeout.
func Ready(ctx context.Context, checks []Check) Readiness {
	r := Readiness{Ready: true, Checks: make([]CheckResult, 0, len(checks))}
	for _, c := range checks {
		cctx, cancel := context.WithTimeout(ctx, CheckTimeout)
		err := c.Check(cctx)
		cancel()
		res := CheckResult{Name: c.Name, OK: err == nil}
		if err != nil {
			res.Detail = err.Error()
			r.Ready = false
			r.Failing = append(r.Failing, c.Name)
		}
		r.Checks = append(r.Checks, res)
	}
	return r
}

// Handler serves GET /metrics (g in Prometheus' text format), /healthz
// (200 while the process serves HTTP) and /readyz (200 when every check
// passes, else 503; a Readiness as JSON either way).
func Handler(g prometheus.Gatherer, checks []Check) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"alive": true})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		rd := Ready(r.Context(), checks)
		status := http.StatusOK
		if !rd.Ready {
			status = http.StatusServiceUnavailable
		}
		writeJSON(w, status, rd)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "encoding", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// Server serves a handler on one listener: the metrics listener of a
// lane, or the office's.
type Server struct {
	srv *http.Server
	ln  net.Listener

	mu     sync.Mutex
	served bool
	closed bool
}

// Listen binds addr (or takes ln, when not nil) for h. Nothing is served
// until Serve.
func Listen(addr string, ln net.Listener, h http.Handler) (*Server, error) {
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("metrics: listen: %w", err)
		}
	}
	return &Server{ln: ln, srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: time.Minute}}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve serves in a goroutine until Shutdown or Close.
func (s *Server) Serve() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.served || s.closed {
		return
	}
	s.served = true
	go s.srv.Serve(s.ln)
}

// Shutdown stops accepting and waits up to d for requests in flight.
func (s *Server) Shutdown(d time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	s.srv.Shutdown(ctx)
}

// Close stops the server (or closes the listener it never served).
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if !s.served {
		return s.ln.Close()
	}
	if err := s.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}
