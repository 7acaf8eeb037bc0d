package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/sitestore"
)

// siteJournal is the lane's Journal at a site of several lanes: the
// lane's own ledger, asked first and written first as always, and the site
// store (docs/site-store.md) for what only the whole site knows.
//
//   - Lookup adds the ticket's exit claimed and payments made at other
//     lanes, and resolves its orders left open at other lanes at PayBy
//     before the lane makes a new one;
//   - Record of an exit claims it site-wide first (ClaimExit, or
//     ClaimOverride for an attendant's override): a claim lost to another
//     lane refuses the exit with lane.ErrAlreadyExited;
//   - every record accepted nudges the shipper (replicate.go).
//
// The store is given timeout at most: when it cannot answer in time the
// lane decides from its ledger and marks the decision offline (History,
// VisitRec and ExitRec Offline); the replay later reports conflicts as
// incidents.
type siteJournal struct {
	*ledger.DB
	store   *sitestore.Store
	lane    string
	timeout time.Duration
	pay     lane.Payments
	ship    *shipper
	log     *slog.Logger

	mu    sync.Mutex
	auths map[string]int64 // authorisation -> visit, of exits claimed and not yet pulsed
}

var _ lane.Journal = (*siteJournal)(nil)

// Lookup is the ledger's answer merged with the site's.
func (j *siteJournal) Lookup(ctx context.Context, ticketID, orderKey string) (lane.History, error) {
	h, err := j.DB.Lookup(ctx, ticketID, orderKey)
	if err != nil || ticketID == "" {
		return h, err
	}
	sctx, cancel := context.WithTimeout(ctx, j.timeout)
	sh, err := j.store.TicketHistory(sctx, ticketID)
	cancel()
	if err != nil {
		j.log.Warn("site store not reached at scan; deciding offline", "ticket", ticketID, "timeout_ms", j.timeout.Milliseconds(), "err", err)
		h.Offline = true
		return h, nil
	}
	if x := sh.Exit; x != nil && x.Lane != j.lane && !h.Exited {
		h.Exited, h.ExitedAt = true, x.At
	}
	// Payments at other lanes count here (this lane's own are in its
	// ledger, which may be ahead of the store). The exit order stays
	// this lane's own: an exit references an order of its ledger.
	latestOwn := h.LastPaid
	for _, p := range sh.Payments {
		if p.Lane == j.lane {
			continue
		}
		h.Paid += p.Amount
		if p.PaidAt.After(h.LastPaid) {
			h.LastPaid = p.PaidAt
		}
	}
	for _, o := range sh.OpenElsewhere(j.lane) {
		st, ok := j.resolve(ctx, o)
		if !ok || st.Status != lane.OrderPaid {
			continue
		}
		amount := st.Paid
		if amount <= 0 {
			amount = o.Amount
		}
		at := st.PaidAt
		if at.IsZero() {
			at = time.Now()
		}
		h.Paid += amount
		if at.After(h.LastPaid) {
			h.LastPaid = at
		}
	}
	if h.LastPaid.After(latestOwn) {
		h.LastPaidOrder = "" // the latest payment is another lane's
	}
	return h, nil
}

// LastExit is the ledger's answer, or for a plate the site's when a
// later exit of that plate is in the store (the vehicle left by another
// lane). The store is asked within the timeout and only over a bounded
// window (q.Since); not reached in time, the lane's own ledger decides.
func (j *siteJournal) LastExit(ctx context.Context, q lane.ExitQuery) (lane.Previous, bool, error) {
	p, ok, err := j.DB.LastExit(ctx, q)
	if err != nil || q.Plate == "" || q.Since.IsZero() {
		return p, ok, err
	}
	before := q.Before
	if before.IsZero() {
		before = time.Now()
	}
	sctx, cancel := context.WithTimeout(ctx, j.timeout)
	sp, sok, serr := j.store.LastExitByPlate(sctx, q.Plate, q.NotTicket, q.Since, before)
	cancel()
	if serr != nil {
		j.log.Warn("site store not reached for a re-entry; this lane's exits only", "timeout_ms", j.timeout.Milliseconds(), "err", serr)
		return p, ok, nil
	}
	if sok && (!ok || sp.Exit.After(p.Exit)) {
		return sp, true, nil
	}
	return p, ok, nil
}

// resolve settles an order of the ticket left open at another lane before
// this lane makes a new one, so that one stay never has two PAID orders:
// a paid order counts; a CREATED one is cancelled (and counts if the
// cancel finds it paid). ok is false when PayBy could not say.
func (j *siteJournal) resolve(ctx context.Context, o sitestore.OpenOrder) (lane.OrderState, bool) {
	st, err := j.pay.Get(ctx, o.No)
	if err == nil && st.Status == lane.OrderCreated {
		st, err = j.pay.Cancel(ctx, o.No)
	}
	if err != nil {
		j.log.Warn("order open at another lane not resolved", "merchant_order_no", o.No, "other_lane", o.Lane, "err", err)
		return st, false
	}
	j.log.Info("order open at another lane resolved", "merchant_order_no", o.No, "other_lane", o.Lane, "status", st.Status.String())
	return st, true
}

// Record writes rec to the ledger; an exit is claimed site-wide first.
func (j *siteJournal) Record(ctx context.Context, rec lane.Record) error {
	switch r := rec.(type) {
	case lane.ExitRec:
		return j.exit(ctx, r)
	case lane.PulseRec:
		if err := j.DB.Record(ctx, r); err != nil {
			return err
		}
		j.mu.Lock()
		visit, ok := j.auths[r.Auth]
		delete(j.auths, r.Auth)
		j.mu.Unlock()
		if ok && !r.OK {
			// The ticket may leave by any lane again. The shipped PulseRec
			// releases the claim too; this frees it now.
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.timeout)
			if err := j.store.ReleaseExit(sctx, j.lane, visit, r.At); err != nil {
				j.log.Warn("site store: exit claim not released after a failed pulse", "visit", visit, "err", err)
			}
			cancel()
		}
		j.ship.nudge()
		return nil
	}
	if err := j.DB.Record(ctx, rec); err != nil {
		return err
	}
	j.ship.nudge()
	return nil
}

func (j *siteJournal) exit(ctx context.Context, r lane.ExitRec) error {
	claimed := false
	if r.TicketID != "" {
		sctx, cancel := context.WithTimeout(ctx, j.timeout)
		var err error
		if r.Override {
			err = j.store.ClaimOverride(sctx, r.TicketID, j.lane, r.Visit, r.At, r.Attendant, r.Reason)
		} else {
			err = j.store.ClaimExit(sctx, r.TicketID, j.lane, r.Visit, r.At)
		}
		cancel()
		switch {
		case errors.Is(err, lane.ErrAlreadyExited):
			j.log.Info("exit refused: the ticket exited at another lane", "visit", r.Visit, "ticket", r.TicketID, "err", err)
			if r.Paid != nil {
				// The driver paid here: the payment is kept ("paid, not
				// exited"), for the attendant to refund or resolve.
				if perr := j.DB.Record(ctx, *r.Paid); perr != nil {
					return errors.Join(fmt.Errorf("site store: %w", err), perr)
				}
				j.ship.nudge()
			}
			return fmt.Errorf("site store: %w", err)
		case errors.Is(err, lane.ErrReasonRequired):
			return err
		case err != nil:
			j.log.Warn("site store not reached at exit; exit authorised offline", "visit", r.Visit, "ticket", r.TicketID, "err", err)
			r.Offline = true
		default:
			claimed = true
		}
	}
	if err := j.DB.Record(ctx, r); err != nil {
		if claimed {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.timeout)
			if rerr := j.store.ReleaseExit(sctx, j.lane, r.Visit, r.At); rerr != nil {
				j.log.Warn("site store: exit claim not released after the ledger refused the exit", "visit", r.Visit, "err", rerr)
			}
			cancel()
		}
		return err
	}
	if claimed {
		j.mu.Lock()
		j.auths[r.Auth] = r.Visit
		j.mu.Unlock()
	}
	j.ship.nudge()
	return nil
}

// releaseUnconfirmed releases this lane's claims made before this run
// (visits before first) whose exit its ledger never wrote: the lane
// stopped between the claim and the authorisation.
func releaseUnconfirmed(ctx context.Context, s *sitestore.Store, db *ledger.DB, laneID string, first int64, log *slog.Logger) error {
	claims, err := s.UnconfirmedClaims(ctx, laneID)
	if err != nil {
		return err
	}
	for _, c := range claims {
		if c.Visit >= first {
			continue // this run's: its exit is being written
		}
		has, err := db.HasExit(ctx, c.Visit)
		if err != nil {
			return err
		}
		if has {
			continue // its exit record has not been shipped yet
		}
		if err := s.ReleaseExit(ctx, laneID, c.Visit, time.Now()); err != nil {
			return err
		}
		log.Info("site store: released an exit claim the lane never authorised", "visit", c.Visit, "ticket", c.Ticket)
	}
	return nil
}
