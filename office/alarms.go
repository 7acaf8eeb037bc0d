package office

// Alarms: the office's evaluator looks at the lanes' statuses, the
// entries needing an attendant and the store's incidents every tick, and
// keeps office_alarms in step (sitestore.SyncAlarms): raised when a
// condition appears, cleared when it is gone, with both times.

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/sitestore"
)

// Alarm kinds.
const (
	AlarmLaneFault       = "lane_fault"
	AlarmLaneClosed      = "lane_closed"
	AlarmDeviceDown      = "device_down"
	AlarmPayByFailing    = "payby_failing"
	AlarmNotReporting    = "not_reporting"
	AlarmReplication     = "replication_behind"
	AlarmPaidNotExited   = "paid_not_exited"
	AlarmDoubleExit      = "double_exit"
	AlarmDoublePayment   = "double_payment"
	AlarmUnableToCollect = "unable_to_collect"
)

// Thresholds of the alarms.
const (
	// NotReportingAfter: a lane whose last status is older is "not
	// reporting" (lanes publish at every change and every 5 s).
	NotReportingAfter = 15 * time.Second
	// ReplicationRows and ReplicationAge: a lane with more records not
	// yet in the store, or an older one, is behind.
	ReplicationRows = 100
	ReplicationAge  = 60 * time.Second
)

// AlarmTitle names an alarm kind for people.
func AlarmTitle(kind string) string {
	switch kind {
	case AlarmLaneFault:
		return "Lane in fault"
	case AlarmLaneClosed:
		return "Lane closed"
	case AlarmDeviceDown:
		return "Device down"
	case AlarmPayByFailing:
		return "PayBy failing"
	case AlarmNotReporting:
		return "Lane not reporting"
	case AlarmReplication:
		return "Replication behind"
	case AlarmPaidNotExited:
		return "Paid, not exited"
	case AlarmDoubleExit:
		return "Double exit"
	case AlarmDoublePayment:
		return "Double payment"
	case AlarmUnableToCollect:
		return "Unable to collect"
	}
	return kind
}

// AlarmLink is where an alarm is resolved: the lane's actions, the
// ticket's history, the refund form.
func AlarmLink(a sitestore.Alarm) string {
	switch a.Kind {
	case AlarmPaidNotExited, AlarmDoublePayment, AlarmDoubleExit, AlarmUnableToCollect:
		// Subject is "lane/visit".
		return "/history/" + a.Subject
	}
	if a.Lane != "" {
		return "/lanes/" + url.PathEscape(a.Lane)
	}
	return "/"
}

// storeAlarms are the alarms of the store's records: "paid, not exited"
// and unable-to-collect entries, and open incidents.
func storeAlarms(us []sitestore.Unresolved, is []sitestore.Incident, loc *time.Location) []sitestore.Alarm {
	var out []sitestore.Alarm
	for _, u := range us {
		var kind string
		switch u.Kind {
		case lane.UnresolvedPaidNotExited:
			kind = AlarmPaidNotExited
		case lane.UnresolvedUnableToCollect:
			kind = AlarmUnableToCollect
		default:
			continue // an order being reconciled by its lane
		}
		out = append(out, sitestore.Alarm{Kind: kind, Lane: u.Lane, Subject: u.Lane + "/" + strconv.FormatInt(u.Visit, 10),
			Detail: fmt.Sprintf("ticket %s, order %s, %s, since %s", u.Ticket, u.MerchantOrderNo, u.Amount, u.Since.In(loc).Format(timeLayout))})
	}
	for _, i := range is {
		if !i.ResolvedAt.IsZero() {
			continue
		}
		a := sitestore.Alarm{Kind: string(i.Kind), Lane: i.Lane, Subject: i.Lane + "/" + strconv.FormatInt(i.Visit, 10)}
		switch i.Kind {
		case sitestore.IncidentDoubleExit:
			a.Kind = AlarmDoubleExit
			a.Detail = fmt.Sprintf("ticket %s exited at lane %s and at lane %s", i.Ticket, i.OtherLane, i.Lane)
		case sitestore.IncidentDoublePayment:
			a.Kind = AlarmDoublePayment
			a.Detail = fmt.Sprintf("ticket %s paid again by order %s; proposed refund %s", i.Ticket, i.No, i.Refund)
		}
		out = append(out, a)
	}
	return out
}

// evaluate computes the alarms now and syncs them with the store.
func (c *Console) evaluate(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, storeTimeout)
	defer cancel()
	us, err := c.store.Unresolved(ctx)
	if err != nil {
		return err
	}
	is, err := c.store.Incidents(ctx, true)
	if err != nil {
		return err
	}
	active := storeAlarms(us, is, c.loc)
	lanes, err := c.laneAlarms(ctx)
	if err != nil {
		return err
	}
	active = append(active, lanes...)
	raised, cleared, err := c.store.SyncAlarms(ctx, c.now(), active)
	if err != nil {
		return err
	}
	if raised+cleared > 0 {
		c.log.Info("alarms", "raised", raised, "cleared", cleared, "open", len(active))
		c.hub.publish("alarms")
	}
	return nil
}

func (c *Console) alarmsPage(q *request) {
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	open, cleared, err := c.store.Alarms(ctx, alarmListLimit)
	if err != nil {
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	c.render(q, http.StatusOK, "alarms", "Alarms", alarmsData{Open: open, Cleared: cleared})
}
