package sim

// The World's side of the developer simulation panel (ui.SimControls):
// every control acts at the lane chosen with SetLane (lane 1 at first),
// except PayBy's behaviour, which is the site's one sandbox.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/payby/sandbox"
	"github.com/exitlane/exitlane/station"
	"github.com/exitlane/exitlane/ui"
)

var _ ui.SimControls = (*World)(nil)

// sel is the lane the controls act at.
func (w *World) sel() *WorldLane {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lanes[w.cur]
}

// SetLane implements ui.SimControls.
func (w *World) SetLane(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, l := range w.lanes {
		if l.id == id {
			w.cur = i
			return nil
		}
	}
	return fmt.Errorf("no lane %q", id)
}

// Present implements ui.SimControls.
func (w *World) Present(kind ui.TicketKind, ago time.Duration) (string, error) {
	l := w.sel()
	if l.r == nil {
		return "", errNoLane
	}
	now := time.Now()
	switch kind {
	case ui.TicketLost:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return "", l.r.Do(ctx, lane.LostTicket{Attendant: Attendant, Reason: "simulated lost ticket"})
	case ui.TicketGarbage:
		code := "X7#%QZ-NOT-A-TICKET"
		return code, l.scanner.Send(code)
	case ui.TicketUsed:
		w.mu.Lock()
		code := w.last
		w.mu.Unlock()
		if code == "" {
			return "", errors.New("no ticket presented yet: present a ticket and let it exit first")
		}
		return code, l.scanner.Send(code)
	}
	serial := uint64(now.Unix()%100000)*100 + w.serial.Add(1)%100
	code, err := w.Issue(serial, now.Add(-ago))
	if err != nil {
		return "", err
	}
	if kind == ui.TicketForged {
		// Move the entry time one hour later, keeping the MAC: a driver
		// who edited the ticket to pay less.
		parts := strings.Split(code, ":")
		if len(parts) == 6 {
			if t, err := strconv.ParseInt(parts[4], 10, 64); err == nil {
				parts[4] = strconv.FormatInt(t+3600, 10)
			}
		}
		code = strings.Join(parts, ":")
	} else {
		w.mu.Lock()
		w.last = code
		w.mu.Unlock()
	}
	return code, l.scanner.Send(code)
}

// Pay implements ui.SimControls: it pays (or declines) at the chosen lane.
func (w *World) Pay(decline bool) error { return w.sel().Pay(decline) }

// Pay presses Pay or Decline on the checkout page of the order the lane
// shows, over HTTP, as the driver's phone does.
func (l *WorldLane) Pay(decline bool) error {
	if l.r == nil {
		return errNoLane
	}
	s := l.r.Snapshot()
	if s.TokenURL == "" {
		return errors.New("no QR on screen")
	}
	u, err := url.Parse(s.TokenURL)
	if err != nil {
		return err
	}
	action := "pay"
	if decline {
		action = "decline"
	}
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(u.Scheme+"://"+u.Host+"/pay-page/main", url.Values{"ft": {u.Query().Get("ft")}, "action": {action}})
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("checkout: %s", resp.Status)
	}
	if !strings.Contains(resp.Header.Get("Location"), "done=") {
		return errors.New("checkout: the order is no longer open for payment")
	}
	return nil
}

// ExpireQR implements ui.SimControls: the order expires at PayBy now.
func (w *World) ExpireQR() error {
	l := w.sel()
	if l.r == nil {
		return errNoLane
	}
	s := l.r.Snapshot()
	if s.MerchantOrderNo == "" || s.State != lane.FeeDue {
		return errors.New("no order open")
	}
	return w.sb.Expire(s.MerchantOrderNo)
}

// VehiclePasses implements ui.SimControls: the loop sees the vehicle
// arrive and leave.
func (w *World) VehiclePasses() error {
	l := w.sel()
	if l.r == nil {
		return errNoLane
	}
	l.r.Loop(true)
	l.r.Loop(false)
	return nil
}

// Plug implements ui.SimControls.
func (w *World) Plug(device string, plugged bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	l := w.lanes[w.cur]
	switch device {
	case "scanner":
		l.scanIn = plugged
		if !plugged {
			l.scanner.Unplug()
			return nil
		}
		return l.scanner.Replug()
	case "relay":
		l.relayIn = plugged
		if !plugged {
			l.relay.Unplug()
			return nil
		}
		return l.relay.Replug()
	}
	return fmt.Errorf("no device %q", device)
}

// SetPayBy implements ui.SimControls.
func (w *World) SetPayBy(m ui.PayByMode) error {
	f := sandbox.Faults{}
	switch m {
	case ui.PayByOK:
	case ui.PayBySlow:
		f.Latency = 3 * time.Second
	case ui.PayByFailing:
		f.HTTP5xx = sandbox.Always
	case ui.PayByUnreachable:
	default:
		return fmt.Errorf("unknown PayBy mode %q", m)
	}
	w.sb.SetFaults(f)
	w.proxy.SetDown(m == ui.PayByUnreachable)
	w.mu.Lock()
	w.mode = m
	w.mu.Unlock()
	return nil
}

// Status implements ui.SimControls: the chosen lane's, and with several
// lanes a line for each.
func (w *World) Status() ui.SimStatus {
	w.mu.Lock()
	l := w.lanes[w.cur]
	st := ui.SimStatus{SandboxURL: w.publicURL + "/", ScannerPlugged: l.scanIn, RelayPlugged: l.relayIn, PayBy: w.mode,
		RelayBoard: "lcus", Location: l.cfg.Site.Location}
	w.mu.Unlock()
	st.RelayOn = l.relay.State(1)
	st.RelayPulses = pulses(l.relay)
	frames := l.relay.Frames()
	for i := len(frames) - 1; i >= 0 && len(st.RelayFrames) < 4; i-- {
		f := frames[i]
		st.RelayFrames = append(st.RelayFrames, fmt.Sprintf("%s  % X  %s", f.At.In(l.cfg.Site.Location).Format("15:04:05.000"), f.Bytes, f.Desc))
	}
	if len(w.lanes) > 1 {
		st.Lane = l.id
		for _, o := range w.lanes {
			sl := ui.SimLane{ID: o.id, RelayOn: o.relay.State(1), RelayPulses: pulses(o.relay), Store: "-"}
			if o.r != nil {
				sl.Snapshot = o.r.Snapshot()
				sl.Store = storeText(o.st)
			}
			st.Lanes = append(st.Lanes, sl)
		}
	}
	if l.r != nil {
		s := l.r.Snapshot()
		st.CheckoutURL = s.TokenURL
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		txs, err := l.r.Transactions(ctx, 0, 12)
		if err != nil {
			st.LedgerErr = err.Error()
		}
		for _, t := range txs {
			text := fmt.Sprintf("%-7s %s", t.Kind, t.Ticket)
			if t.Amount != 0 {
				text += " " + t.Amount.String()
			}
			if t.Cause != lane.CauseNone {
				text += " " + t.Cause.String()
			}
			if t.Status != "" {
				text += " " + t.Status
			}
			if t.Attendant != "" {
				text += " by " + t.Attendant
			}
			st.Ledger = append(st.Ledger, ui.SimLedgerRow{ID: t.ID, At: t.At, Text: text})
		}
	}
	return st
}

// pulses counts the relay board's channel-1 closures.
func pulses(r *Relay) int {
	n := 0
	for _, c := range r.Timeline() {
		if c.Channel == 1 && c.On {
			n++
		}
	}
	return n
}

// storeText says how a lane sees the site store, in a few words, with
// the records its ledger holds that the store has not (the shipper counts
// them only while the store is up).
func storeText(st *station.Station) string {
	h := st.StoreHealth()
	if !h.Configured {
		return "none"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	behind := h.Behind
	if last, err := st.Ledger().OutboxSeq(ctx); err == nil {
		behind = max(last-h.Shipped, 0)
	}
	switch {
	case h.Stopped:
		return "stopped: " + h.LastErr
	case !h.Up && h.LastErr == "":
		return "connecting"
	case !h.Up:
		return fmt.Sprintf("down, %d behind", behind)
	case behind > 0:
		return fmt.Sprintf("up, %d behind", behind)
	}
	return "up"
}
