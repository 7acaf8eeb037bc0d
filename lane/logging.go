package lane

import (
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// What a headless lane tells its operator. The runner logs, at INFO,
// every scan (the ticket's site, lane and serial, never the code: an EL1
// code ends in its MAC, and a scanner also reads boarding passes and
// payment QRs), every notice the driver is shown with its reason, every
// action; at WARN every device going down or coming back and every scan
// refused by a Fault; at ERROR a PayBy outage longer than one payment
// window, once, and its end at WARN, once. Keys are stable snake_case:
// visit, state, ticket, notice, reason, device, merchant_order_no (the
// caller's logger adds lane).

// codeRef names a scanned code without the code itself: an EL1 code
// (EL1:<SITE>:<LANE>:<SERIAL>:<ENTRY>:<MAC>) by its site, lane and serial,
// anything else by its length. It only reads the code's shape: whether
// the ticket is genuine is Tickets.Check's business.
type codeRef struct {
	site, lane, serial string
	n                  int
}

func refCode(code string) codeRef {
	r := codeRef{n: len(code)}
	parts := strings.Split(code, ":")
	if len(parts) != 6 || parts[0] != "EL1" || !refField(parts[1], 8, false) || !refField(parts[2], 8, false) || !refField(parts[3], 12, true) {
		return r
	}
	r.site, r.lane, r.serial = parts[1], parts[2], parts[3]
	return r
}

// refField: 1-max characters of A-Z 0-9 (digits only if digits).
func refField(s string, max int, digits bool) bool {
	if len(s) < 1 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || !digits && c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// String is the reference in transcripts and Describe: "S/E1/103", or
// "code(len=23)" for a code that is not EL1.
func (r codeRef) String() string {
	if r.serial == "" {
		return "code(len=" + strconv.Itoa(r.n) + ")"
	}
	return r.site + "/" + r.lane + "/" + r.serial
}

// LogValue is the "ticket" group of a log record.
func (r codeRef) LogValue() slog.Value {
	if r.serial == "" {
		return slog.GroupValue(slog.String("format", "other"), slog.Int("len", r.n))
	}
	return slog.GroupValue(slog.String("site", r.site), slog.String("lane", r.lane), slog.String("serial", r.serial))
}

// ticketValue is the "ticket" group of a checked ticket.
func ticketValue(t TicketInfo) slog.Value {
	return slog.GroupValue(slog.String("site", t.Site), slog.String("lane", t.Lane), slog.String("serial", t.Serial), slog.String("format", string(t.Format)))
}

// before is what the runner logs changes against: the machine as it was
// before a step.
type before struct {
	state  State
	visit  int64
	shown  uint64
	health Health
}

func (r *Runner) before() before {
	return before{state: r.m.state, visit: r.m.visitID(), shown: r.m.shown, health: r.m.health}
}

// visitID is the visit being served (0: none).
func (m *Machine) visitID() int64 {
	if m.v == nil {
		return 0
	}
	return m.v.id
}

// logStep logs what event ev (nil for an action) changed, at now.
func (r *Runner) logStep(now time.Time, ev Event, cmds []Command, b before) {
	m := r.m
	switch e := ev.(type) {
	case Scanned:
		r.logScan(e.Code, cmds, b)
	case Checked:
		if v := m.v; e.Err == nil && e.Refused == NoticeNone && v != nil && v.id == e.Visit && v.checked {
			r.log.Info("ticket checked", "visit", e.Visit, "ticket", ticketValue(e.Ticket),
				"fee_fils", int64(e.Quote.Fee), "paid_fils", int64(e.Quote.Paid), "due_fils", int64(e.Quote.Due), "free", e.Quote.Free)
		}
	}
	// The visit a change belongs to: the one being served, or the one
	// that just ended with it.
	visit := m.visitID()
	if visit == 0 {
		visit = b.visit
	}
	if m.state != b.state {
		attrs := []any{"from", b.state.String(), "state", m.state.String(), "visit", visit, "notice", m.notice.String()}
		if ev != nil {
			attrs = append(attrs, "event", Describe(ev))
		}
		r.log.Info("state", attrs...)
	}
	if d, ok := ev.(DeviceChanged); ok && b.state == Fault && m.state != Fault {
		r.log.Warn("recovered", "device", d.Device.String(), "reason", d.Device.String()+"_back", "state", m.state.String())
	}
	if m.shown != b.shown {
		r.log.Info("notice", "notice", m.notice.String(), "reason", m.why, "state", m.state.String(), "visit", visit)
	}
	r.logDevice(DevRelay, b.health.Relay, m.health.Relay)
	r.logDevice(DevScanner, b.health.Scanner, m.health.Scanner)
	r.logDevice(DevLoop, b.health.Loop, m.health.Loop)
	r.logDevice(DevPrinter, b.health.Printer, m.health.Printer)
	r.watchPayBy(now, m.health.PayBy)
}

// logScan logs one scan and what became of it.
func (r *Runner) logScan(code string, cmds []Command, b before) {
	m := r.m
	ref := refCode(code)
	switch {
	case m.state == Checking && m.v != nil && len(cmds) > 0:
		r.log.Info("scan", "visit", m.v.id, "ticket", ref)
	case b.state == FeeDue && len(cmds) > 0:
		r.log.Info("scan", "visit", m.visitID(), "ticket", ref, "as", "validation")
	case b.state == Fault:
		r.log.Warn("scan refused", "state", b.state.String(), "notice", m.notice.String(), "reason", m.why, "ticket", ref)
	case b.state == Closed:
		r.log.Info("scan refused", "state", b.state.String(), "notice", m.notice.String(), "reason", m.why, "ticket", ref)
	default:
		r.log.Info("scan ignored", "state", b.state.String(), "reason", "vehicle_being_served", "visit", m.visitID(), "ticket", ref)
	}
}

// logDevice logs a device going down or coming back (WARN) and its first
// report (INFO).
func (r *Runner) logDevice(d Device, was, is DeviceState) {
	switch {
	case was == is || is == DeviceAbsent:
	case is == DeviceDown:
		r.log.Warn("device down", "device", d.String(), "state", r.m.state.String())
	case was == DeviceDown:
		r.log.Warn("device up", "device", d.String(), "state", r.m.state.String())
	case is == DeviceOK:
		r.log.Info("device up", "device", d.String(), "state", r.m.state.String())
	}
}

// outage is a PayBy outage as the runner saw it: since its first failed
// call, and whether it was reported.
type outage struct {
	since    time.Time
	reported bool
}

// watchPayBy reports a PayBy outage longer than one payment window at
// ERROR, once (a driver arriving now could not pay), and its end at WARN,
// once. Shorter outages are the PayBy client's WARN lines only.
func (r *Runner) watchPayBy(now time.Time, st DeviceState) {
	o := &r.outage
	switch {
	case st == DeviceDown && o.since.IsZero():
		o.since = now
	case st == DeviceDown && !o.reported && now.Sub(o.since) > r.m.p.PayWindow:
		o.reported = true
		r.log.Error("payby unreachable for longer than a pay window", "device", DevPayBy.String(),
			"since", o.since.UTC().Format(time.RFC3339), "for", now.Sub(o.since).Round(time.Second).String(), "pay_window", r.m.p.PayWindow.String())
	case st == DeviceOK && !o.since.IsZero():
		if o.reported {
			r.log.Warn("payby recovered", "device", DevPayBy.String(), "outage", now.Sub(o.since).Round(time.Second).String())
		}
		*o = outage{}
	}
}
