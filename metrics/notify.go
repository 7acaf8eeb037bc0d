package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Notifications counts PayBy's notifications as a handler answered them
// (payby.NotificationHandler, at a lane or at the office): received,
// rejected by reason, and how long each took to verify and record.
type Notifications struct {
	received prometheus.Counter
	rejected *prometheus.CounterVec
	took     prometheus.Histogram
}

// NewNotifications registers the notification metrics with reg.
func NewNotifications(reg prometheus.Registerer) *Notifications {
	n := &Notifications{
		received: prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Name: "notifications_received_total",
			Help: "PayBy notifications received (every request to the notification endpoint)."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "notifications_rejected_total",
			Help: "PayBy notifications not accepted, by reason: bad_signature (missing or wrong sign: refused before decoding), malformed, too_large, bad_method, not_recorded (accepted but not stored: PayBy retries)."}, []string{"reason"}),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: "notification_duration_seconds",
			Help:    "Time to verify, record and answer one PayBy notification.",
			Buckets: []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1}}),
	}
	reg.MustRegister(n.received, n.rejected, n.took)
	for _, r := range []string{"bad_signature", "malformed", "not_recorded"} {
		n.rejected.WithLabelValues(r)
	}
	return n
}

// Wrap counts the notifications h answers. The reason of a rejection is
// read from the status h answers with, as payby.NotificationHandler
// documents them.
func (n *Notifications) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		n.received.Inc()
		n.took.Observe(time.Since(start).Seconds())
		if reason := rejection(sw.status); reason != "" {
			n.rejected.WithLabelValues(reason).Inc()
		}
	})
}

func rejection(status int) string {
	switch status {
	case http.StatusOK:
		return ""
	case http.StatusUnauthorized:
		return "bad_signature"
	case http.StatusBadRequest:
		return "malformed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusMethodNotAllowed:
		return "bad_method"
	case http.StatusInternalServerError:
		return "not_recorded"
	}
	return "http_" + strconv.Itoa(status)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
