package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Office is the metrics of the site's office server: the PayBy
// notifications it takes for every lane, and how many it handed to the
// lanes through the site store.
type Office struct {
	reg *prometheus.Registry
	// Notifications counts the requests to the notification endpoint.
	Notifications *Notifications
	// Recorded counts the notifications recorded in the store, by kind
	// (order, refund) and whether it was a repeat of one recorded before.
	Recorded *prometheus.CounterVec
}

// NewOffice returns the office's metrics, labelled with site, with the
// process and Go runtime collectors.
func NewOffice(site string) *Office {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	lab := prometheus.WrapRegistererWith(prometheus.Labels{"site": site}, reg)
	o := &Office{reg: reg, Notifications: NewNotifications(lab),
		Recorded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: "office_notifications_recorded_total",
			Help: "PayBy notifications the office recorded in the site store (and announced to the lanes), by kind and repeat."}, []string{"kind", "repeat"}),
	}
	lab.MustRegister(o.Recorded)
	return o
}

// Registry is the office's registry: what its /metrics serves.
func (o *Office) Registry() *prometheus.Registry { return o.reg }
