package office

// Actions: a supervisor's or admin's request to a lane (refund, resolve,
// close or open the lane, clear a fault, open the barrier), each with a
// reason, sent through the store (sitestore.SubmitCommand); the page
// waits for the lane's answer (on the console's one shared listener,
// sitestore.CommandWaiter) and shows it. The
// lane carries it out as an attendant action "office:<user>" in its own
// ledger; the office audits who asked, for which lane, and the answer.

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/sitestore"
)

// actionNames are the console's words for the command kinds.
var actionNames = map[string]string{
	sitestore.CmdRefund:      "Refund",
	sitestore.CmdResolve:     "Resolve",
	sitestore.CmdCloseLane:   "Close lane",
	sitestore.CmdOpenLane:    "Open lane",
	sitestore.CmdClearFault:  "Clear fault",
	sitestore.CmdOpenBarrier: "Open barrier",
}

type resultData struct {
	What, Lane, Text, Back string
	OK                     bool
}

func (d resultData) notices() (string, string) { return "", "" }

type laneData struct {
	Card       Card
	RemoteOpen bool
	Unresolved []sitestore.Unresolved
	Commands   []sitestore.Command
}

func (c *Console) lanePage(q *request) {
	id := q.r.PathValue("lane")
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	defer cancel()
	cards, err := c.cards(ctx)
	if err != nil {
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	d := laneData{RemoteOpen: c.cfg.Office.RemoteOpen && roleRank(q.user.Role) >= roleRank(RoleSupervisor)}
	found := false
	for _, k := range cards {
		if k.Lane == id {
			d.Card, found = k, true
		}
	}
	if !found {
		c.fail(q, http.StatusNotFound, "No lane "+id+" in the site store.")
		return
	}
	us, err := c.store.Unresolved(ctx)
	if err != nil {
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	for _, u := range us {
		if u.Lane == id {
			d.Unresolved = append(d.Unresolved, u)
		}
	}
	cmds, err := c.store.Commands(ctx, time.Time{}, time.Time{}, 200)
	if err != nil {
		c.fail(q, http.StatusServiceUnavailable, "The site store cannot be reached.")
		return
	}
	for _, cmd := range cmds {
		if cmd.Lane == id && len(d.Commands) < 20 {
			d.Commands = append(d.Commands, cmd)
		}
	}
	c.render(q, http.StatusOK, "lane", "Lane "+id, d)
}

// action sends one command to a lane and shows the lane's answer. The
// auth wrapper has checked the role (supervisor) and the CSRF token.
func (c *Console) action(q *request) {
	f := q.r.PostForm
	kind := q.r.PathValue("kind")
	what, known := actionNames[kind]
	laneID := strings.TrimSpace(f.Get("lane"))
	reason := strings.TrimSpace(f.Get("reason"))
	back := f.Get("back")
	if !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") {
		back = "/lanes/" + url.PathEscape(laneID)
	}
	refuse := func(status int, msg string) {
		c.audit(q.r, q.user.Name, kind, laneID, reason, "refused: "+msg)
		c.render(q, status, "result", what, resultData{What: what, Lane: laneID, Text: msg, Back: back})
	}
	switch {
	case !known:
		c.fail(q, http.StatusNotFound, "No such action.")
		return
	case laneID == "":
		refuse(http.StatusBadRequest, "No lane given.")
		return
	case len([]rune(reason)) < 3:
		refuse(http.StatusBadRequest, "A reason is required (at least 3 characters).")
		return
	case kind == sitestore.CmdOpenBarrier && !c.cfg.Office.RemoteOpen:
		refuse(http.StatusForbidden, "Opening a barrier from the office is off at this site ([office] remote_open).")
		return
	}
	cmd := sitestore.Command{Lane: laneID, Kind: kind, Actor: q.user.Name, Reason: reason, OrderNo: strings.TrimSpace(f.Get("order_no"))}
	if a := strings.TrimSpace(f.Get("amount")); a != "" {
		amount, err := money.ParseNonNegative(a)
		if err != nil || amount == 0 {
			refuse(http.StatusBadRequest, "Amount: write it like 5.00 (AED), more than zero; or leave it empty for the whole order.")
			return
		}
		cmd.Amount = amount
	}
	if v := f.Get("visit"); v != "" {
		cmd.Visit, _ = strconv.ParseInt(v, 10, 64)
	}
	ctx, cancel := context.WithTimeout(q.r.Context(), storeTimeout)
	id, err := c.store.SubmitCommand(ctx, cmd)
	cancel()
	if err != nil {
		msg := "The site store cannot be reached."
		if errors.Is(err, sitestore.ErrBadCommand) || errors.Is(err, sitestore.ErrReasonRequired) {
			msg = "The request is incomplete: " + err.Error()
		}
		refuse(http.StatusBadRequest, msg)
		return
	}
	wctx, wcancel := context.WithTimeout(q.r.Context(), c.wait)
	done, err := c.done.Wait(wctx, id)
	wcancel()
	d := resultData{What: what, Lane: laneID, Back: back}
	var result string
	switch {
	case err == nil && done.OK:
		d.OK, d.Text, result = true, "Done: "+done.Result, "ok: "+done.Result
	case err == nil:
		d.Text, result = "The lane refused: "+done.Result, "refused by lane: "+done.Result
	case errors.Is(err, context.DeadlineExceeded):
		d.Text = "The lane has not answered within " + c.wait.String() + ". The command waits for it for " +
			sitestore.CommandExpiry.String() + " and then expires; its answer will show on the lane's page."
		result = "no answer yet (command " + strconv.FormatInt(id, 10) + ")"
	default:
		d.Text, result = "The site store cannot be reached; the command may still be carried out.", "unknown: "+err.Error()
	}
	c.audit(q.r, q.user.Name, kind, laneID, reason, result)
	status := http.StatusOK
	if !d.OK {
		status = http.StatusAccepted
		if err == nil {
			status = http.StatusConflict
		}
	}
	c.render(q, status, "result", what, d)
}

// laneAlarms are the alarms of the lanes' statuses: in fault, closed, a
// device down, PayBy failing, not reporting, replication behind.
func (c *Console) laneAlarms(ctx context.Context) ([]sitestore.Alarm, error) {
	sts, now, err := c.store.LaneStatuses(ctx)
	if err != nil {
		return nil, err
	}
	var out []sitestore.Alarm
	for _, st := range sts {
		if st.Updated.IsZero() || now.Sub(st.Updated) > NotReportingAfter {
			d := "no status published"
			if !st.Updated.IsZero() {
				d = "last status at " + c.when(st.Updated)
			}
			out = append(out, sitestore.Alarm{Kind: AlarmNotReporting, Lane: st.Lane, Detail: d})
			continue // its other facts are stale
		}
		switch st.State {
		case "fault":
			out = append(out, sitestore.Alarm{Kind: AlarmLaneFault, Lane: st.Lane, Detail: c.words.screen(st)})
		case "closed":
			out = append(out, sitestore.Alarm{Kind: AlarmLaneClosed, Lane: st.Lane, Detail: c.words.screen(st)})
		}
		for _, dev := range []string{sitestore.DevScanner, sitestore.DevRelay, sitestore.DevLoop, sitestore.DevPrinter, sitestore.DevLedger} {
			if st.Devices[dev] == sitestore.DevDown {
				out = append(out, sitestore.Alarm{Kind: AlarmDeviceDown, Lane: st.Lane, Subject: dev, Detail: dev + " down"})
			}
		}
		if st.Devices[sitestore.DevPayBy] == sitestore.DevDown {
			out = append(out, sitestore.Alarm{Kind: AlarmPayByFailing, Lane: st.Lane, Detail: "PayBy not answering the lane"})
		}
		if replicationBehind(st, now) {
			d := strconv.FormatInt(st.StoreBehind, 10) + " records not yet in the store"
			if !st.OldestUnshipped.IsZero() {
				d += ", the oldest from " + ago(now, st.OldestUnshipped)
			}
			out = append(out, sitestore.Alarm{Kind: AlarmReplication, Lane: st.Lane, Detail: d})
		}
	}
	return out, nil
}
