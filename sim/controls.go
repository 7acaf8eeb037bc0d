package sim

// The World's side of the developer simulation panel (ui.SimControls).

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
	"github.com/exitlane/exitlane/ui"
)

var _ ui.SimControls = (*World)(nil)

// Present implements ui.SimControls.
func (w *World) Present(kind ui.TicketKind, ago time.Duration) (string, error) {
	if w.r == nil {
		return "", errNoLane
	}
	now := time.Now()
	switch kind {
	case ui.TicketLost:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return "", w.r.Do(ctx, lane.LostTicket{Attendant: Attendant, Reason: "simulated lost ticket"})
	case ui.TicketGarbage:
		code := "X7#%QZ-NOT-A-TICKET"
		return code, w.scanner.Send(code)
	case ui.TicketUsed:
		w.mu.Lock()
		code := w.last
		w.mu.Unlock()
		if code == "" {
			return "", errors.New("no ticket presented yet: present a ticket and let it exit first")
		}
		return code, w.scanner.Send(code)
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
	return code, w.scanner.Send(code)
}

// Pay implements ui.SimControls: it presses Pay or Decline on the order's
// checkout page over HTTP, as the driver's phone does.
func (w *World) Pay(decline bool) error {
	if w.r == nil {
		return errNoLane
	}
	s := w.r.Snapshot()
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
	if w.r == nil {
		return errNoLane
	}
	s := w.r.Snapshot()
	if s.MerchantOrderNo == "" || s.State != lane.FeeDue {
		return errors.New("no order open")
	}
	return w.sb.Expire(s.MerchantOrderNo)
}

// VehiclePasses implements ui.SimControls: the loop sees the vehicle
// arrive and leave.
func (w *World) VehiclePasses() error {
	if w.r == nil {
		return errNoLane
	}
	w.r.Loop(true)
	w.r.Loop(false)
	return nil
}

// Plug implements ui.SimControls.
func (w *World) Plug(device string, plugged bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch device {
	case "scanner":
		w.scanIn = plugged
		if !plugged {
			w.scanner.Unplug()
			return nil
		}
		return w.scanner.Replug()
	case "relay":
		w.relayIn = plugged
		if !plugged {
			w.relay.Unplug()
			return nil
		}
		return w.relay.Replug()
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

// Status implements ui.SimControls.
func (w *World) Status() ui.SimStatus {
	w.mu.Lock()
	st := ui.SimStatus{SandboxURL: w.publicURL + "/", ScannerPlugged: w.scanIn, RelayPlugged: w.relayIn, PayBy: w.mode,
		RelayBoard: "lcus"}
	w.mu.Unlock()
	st.RelayOn = w.relay.State(1)
	for _, c := range w.relay.Timeline() {
		if c.Channel == 1 && c.On {
			st.RelayPulses++
		}
	}
	frames := w.relay.Frames()
	for i := len(frames) - 1; i >= 0 && len(st.RelayFrames) < 4; i-- {
		f := frames[i]
		st.RelayFrames = append(st.RelayFrames, fmt.Sprintf("%s  % X  %s", f.At.Format("15:04:05.000"), f.Bytes, f.Desc))
	}
	if w.r != nil {
		s := w.r.Snapshot()
		st.CheckoutURL = s.TokenURL
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		txs, err := w.r.Transactions(ctx, 0, 12)
		if err != nil {
			st.Ledger = []string{"ledger: " + err.Error()}
		}
		for _, t := range txs {
			line := fmt.Sprintf("#%d %s %-7s %s", t.ID, t.At.Local().Format("15:04:05"), t.Kind, t.Ticket)
			if t.Amount != 0 {
				line += " " + t.Amount.String()
			}
			if t.Cause != lane.CauseNone {
				line += " " + t.Cause.String()
			}
			if t.Status != "" {
				line += " " + t.Status
			}
			if t.Attendant != "" {
				line += " by " + t.Attendant
			}
			st.Ledger = append(st.Ledger, line)
		}
	}
	return st
}
