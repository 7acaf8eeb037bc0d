package lane

import (
	"sort"
	"time"

	"github.com/exitlane/exitlane/money"
)

// StoreHealth is the site store as this lane sees it ([site_store]): what
// the shipper of the lane's records last found, for the admin status
// screen, the logs and the metrics. The station reports it; the lane
// itself never waits for the store.
type StoreHealth struct {
	// Configured: the lane has a [site_store]; the rest is meaningless
	// without one.
	Configured bool
	// Up: the last call to the store succeeded.
	Up bool
	// Since is when the store was last found up or down.
	Since time.Time
	// Shipped is the store's last seq of this lane; Behind how many
	// records of the ledger it has not received yet (the ledger's last
	// seq less Shipped, when asked): growing while the store is down, a
	// replay in progress while it is up.
	Shipped, Behind int64
	// Stopped: shipping stopped for good (a seq conflict or a schema this
	// exitlane does not know); an engineer must look (LastErr).
	Stopped bool
	LastErr string
}

// IncidentKind names a conflict between lanes found by the site store.
type IncidentKind string

const (
	// IncidentDoubleExit: a ticket exited at two lanes (one decided
	// offline). Lane and Visit are the exit that came second to the store.
	IncidentDoubleExit IncidentKind = "double_exit"
	// IncidentDoublePayment: a ticket paid by an order whose lane did not
	// count an earlier payment of the ticket. No is that order; Refund is
	// the surplus proposed for refund.
	IncidentDoublePayment IncidentKind = "double_payment"
)

// Incident is one conflict the site store found while applying the lanes'
// records (sitestore.Incidents), shown on every lane's admin screen.
type Incident struct {
	ID     int64
	Kind   IncidentKind
	Ticket string

	Lane   string
	Visit  int64
	At     time.Time
	Amount money.Fils
	No     string

	OtherLane   string
	OtherVisit  int64
	OtherAt     time.Time
	OtherAmount money.Fils // double_payment: what the earlier orders were paid
	OtherNo     string

	Refund money.Fils // proposed refund of No

	FoundAt    time.Time
	ResolvedAt time.Time // zero while open
	ResolvedBy string
	Resolution string
}

// SiteTakings are a site's totals over [From, To), lane by lane and summed
// (sitestore.Takings), for the office's reports and the admin's "whole
// site" view.
type SiteTakings struct {
	From, To time.Time
	Site     Totals
	Lanes    map[string]Totals
}

// LaneIDs lists the lanes of t in order.
func (t SiteTakings) LaneIDs() []string {
	out := make([]string, 0, len(t.Lanes))
	for id := range t.Lanes {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// SiteUnresolved is an entry needing an attendant anywhere on the site
// (sitestore.Unresolved), with the lane it belongs to: that lane's
// attendant or the office resolves it.
type SiteUnresolved struct {
	Lane string
	Unresolved
}
