package station

import (
	"errors"
	"fmt"
	"time"

	"github.com/exitlane/exitlane/config"
	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
	"github.com/exitlane/exitlane/ticket"
)

// TicketChecker builds the ticket checker [ticket] configures: signed
// codes with the site's key, or a third-party pattern.
func TicketChecker(cfg *config.Config) (ticket.Checker, error) {
	if cfg.Ticket.Format == "pattern" {
		return ticket.NewPattern(cfg.Ticket.Pattern, cfg.Ticket.TimeLayout, cfg.Site.Location, cfg.Ticket.ClockTolerance)
	}
	return ticket.NewSigned(cfg.Site.ID, cfg.Ticket.Key, cfg.Ticket.ClockTolerance)
}

// tickets is lane.Tickets over the ticket package: the configured checker
// and the tariff.
type tickets struct {
	chk    ticket.Checker
	tariff *ticket.Tariff
}

func newTickets(cfg *config.Config) (*tickets, error) {
	chk, err := TicketChecker(cfg)
	if err != nil {
		return nil, fmt.Errorf("ticket checker: %w", err)
	}
	tariff := cfg.Tariff
	return &tickets{chk: chk, tariff: &tariff}, nil
}

func (a *tickets) Check(code string, now time.Time) (lane.TicketInfo, string, error) {
	t, err := a.chk.Check(code, now)
	if err != nil {
		kind := lane.NoticeInvalid
		switch {
		case errors.Is(err, ticket.ErrForged):
			kind = lane.NoticeForged
		case errors.Is(err, ticket.ErrOtherSite):
			kind = lane.NoticeOtherSite
		case errors.Is(err, ticket.ErrFutureEntry):
			kind = lane.NoticeFutureEntry
		}
		return lane.TicketInfo{}, "", &lane.RefusedError{Kind: kind, Err: err}
	}
	return lane.TicketInfo{Serial: t.Serial, Format: lane.TicketFormat(t.Format), Site: t.Site, Lane: t.Lane, Entry: t.Entry, Signed: t.Signed, Class: t.Class}, t.ID(), nil
}

func (a *tickets) Quote(t lane.TicketInfo, now time.Time, paid money.Fils, lastPaid time.Time, validation string) (lane.Quote, error) {
	stay := ticket.Stay{Entry: t.Entry, Exit: now, Paid: paid, LastPaid: lastPaid, Class: t.Class}
	if v, ok := a.tariff.Validation(validation); ok {
		stay.Validation = v.Validation
	}
	q, err := a.tariff.Quote(stay)
	if err != nil {
		return lane.Quote{}, err
	}
	return laneQuote(q), nil
}

func (a *tickets) Validation(code string) (string, bool) {
	v, ok := a.tariff.Validation(code)
	return v.Name, ok
}

func (a *tickets) Lost(now time.Time) lane.Quote {
	q, _ := a.tariff.Quote(ticket.Stay{Entry: now, Exit: now, Lost: true}) // the flat lost_fee: nothing to overflow
	return laneQuote(q)
}

func laneQuote(q ticket.Quote) lane.Quote {
	return lane.Quote{Fee: q.Fee, Paid: q.Paid, Due: q.Due, Stay: q.Stay, Free: lane.FreeReason(q.Free), Table: q.Table, Steps: q.Steps,
		VATRate: int64(q.VATRate), VAT: q.VAT, Net: q.Net}
}
