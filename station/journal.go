package station

// journal.go is the one place the ledger's records are translated to and
// from lane's. Once ledger.DB implements lane.Journal itself, this file goes
// and Open passes the *ledger.DB as the runner's journal.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/ledger"
	"github.com/exitlane/exitlane/money"
)

// journal is lane.Journal over the SQLite ledger.
type journal struct{ db *ledger.DB }

func newJournal(db *ledger.DB) *journal { return &journal{db: db} }

func statusName(s lane.OrderStatus) string {
	switch s {
	case lane.OrderCreated:
		return ledger.StatusCreated
	case lane.OrderPaid:
		return ledger.StatusPaid
	case lane.OrderFailed:
		return ledger.StatusFailed
	case lane.OrderNotFound:
		return ledger.StatusNotFound
	}
	return ledger.StatusNew
}

func ledgerStatus(s lane.StatusRec) ledger.Status {
	return ledger.Status{No: s.No, Status: statusName(s.State.Status), PayByStatus: s.State.PayByStatus, Source: s.Source.String(),
		At: s.At, Paid: s.State.Paid, PaidAt: s.State.PaidAt}
}

func (j *journal) Record(ctx context.Context, rec lane.Record) error {
	err := j.record(ctx, rec)
	switch {
	case errors.Is(err, ledger.ErrAlreadyExited):
		return fmt.Errorf("%w: %w", lane.ErrAlreadyExited, err)
	case errors.Is(err, ledger.ErrUnknownOrder):
		return fmt.Errorf("%w: %w", lane.ErrUnknownOrder, err)
	case errors.Is(err, ledger.ErrNotFound):
		return fmt.Errorf("%w: %w", lane.ErrNotFound, err)
	case errors.Is(err, ledger.ErrReasonRequired):
		return fmt.Errorf("%w: %w", lane.ErrReasonRequired, err)
	}
	return err
}

func (j *journal) record(ctx context.Context, rec lane.Record) error {
	switch r := rec.(type) {
	case lane.VisitRec:
		v := ledger.Visit{ID: r.Visit, At: r.At, TicketID: r.TicketID, Serial: r.Ticket.Serial, Format: r.Ticket.Format,
			Entry: r.Ticket.Entry, Signed: r.Ticket.Signed, Lost: r.Ticket.Lost, Fee: r.Quote.Fee, PaidBefore: r.Quote.Paid,
			Due: r.Quote.Due, Free: r.Quote.Free, Override: r.Override, Attendant: r.Attendant, Reason: r.Reason}
		if r.Refused != lane.NoticeNone {
			v.Refused = r.Refused.String()
		}
		return j.db.BeginVisit(ctx, v)
	case lane.VisitEndRec:
		return j.db.EndVisit(ctx, r.Visit, r.At, r.Outcome)
	case lane.OrderRec:
		return j.db.NewOrder(ctx, ledger.Order{No: r.No, Visit: r.Visit, TicketID: r.TicketID, Key: r.Key, Attempt: r.Attempt,
			Amount: r.Amount, At: r.At, Expire: r.Expire})
	case lane.StatusRec:
		return j.db.RecordStatus(ctx, ledgerStatus(r))
	case lane.AbandonRec:
		return j.db.Abandon(ctx, r.No, r.At)
	case lane.ExitRec:
		e := ledger.Exit{Visit: r.Visit, TicketID: r.TicketID, At: r.At, Cause: r.Cause.String(), Amount: r.Amount, No: r.No,
			Attendant: r.Attendant, Reason: r.Reason, Override: r.Override, Auth: r.Auth}
		if r.Paid != nil {
			s := ledgerStatus(*r.Paid)
			e.Paid = &s
		}
		_, err := j.db.AuthoriseExit(ctx, e)
		return err
	case lane.OpenRec:
		return j.db.AuthoriseOpen(ctx, ledger.Opening{Auth: r.Auth, At: r.At, Cause: r.Cause.String(), Attendant: r.Attendant, Reason: r.Reason, Visit: r.Visit})
	case lane.PulseRec:
		return j.db.PulseDone(ctx, r.Auth, r.OK, r.At, r.Err)
	case lane.AuditRec:
		return j.db.RecordAudit(ctx, ledger.Audit{At: r.At, Attendant: r.Attendant, Action: r.Action, Reason: r.Reason, Visit: r.Visit, No: r.No, Amount: r.Amount})
	case lane.RefundRec:
		return j.db.RecordRefund(ctx, ledger.Refund{RefundNo: r.RefundNo, No: r.No, Amount: r.Amount, At: r.At, Attendant: r.Attendant, Reason: r.Reason, Status: r.Status})
	case lane.ResolveRec:
		return j.db.Resolve(ctx, r.No, r.Visit, r.At, r.Attendant, r.Reason)
	case lane.ValidationRec:
		return j.db.ApplyValidation(ctx, r.Visit, r.At, r.Code, r.Name, r.Quote.Fee, r.Quote.Due, r.Attendant)
	case lane.ShiftRec:
		if r.Start {
			return j.db.StartShift(ctx, r.Attendant, r.At)
		}
		return j.db.EndShift(ctx, r.Attendant, r.At)
	}
	return fmt.Errorf("ledger: unknown record %T", rec)
}

func (j *journal) Lookup(ctx context.Context, ticketID, key string) (lane.History, error) {
	h, err := j.db.Lookup(ctx, ticketID, key)
	return lane.History(h), err
}

func (j *journal) NextVisit(ctx context.Context) (int64, error) { return j.db.NextVisit(ctx) }

func (j *journal) Reconcilable(ctx context.Context, before int64) ([]string, error) {
	return j.db.Reconcilable(ctx, before)
}

func (j *journal) Paid(ctx context.Context, no string) (money.Fils, error) {
	p, err := j.db.Paid(ctx, no)
	if errors.Is(err, ledger.ErrNotFound) {
		return 0, fmt.Errorf("%w: %w", lane.ErrNotFound, err)
	}
	return p, err
}

func (j *journal) PendingRefunds(ctx context.Context) ([]lane.RefundRec, error) {
	rs, err := j.db.PendingRefunds(ctx)
	out := make([]lane.RefundRec, 0, len(rs))
	for _, r := range rs {
		out = append(out, lane.RefundRec{RefundNo: r.RefundNo, No: r.No, Amount: r.Amount, At: r.At, Attendant: r.Attendant, Reason: r.Reason, Status: r.Status})
	}
	return out, err
}

func laneTotals(t ledger.Totals) lane.Totals {
	out := lane.Totals{From: t.From, To: t.To, Visits: t.Visits, Exits: t.Exits, Collected: t.Collected, Refunded: t.Refunded,
		Owed: t.Owed, Openings: t.Openings, ByCause: map[lane.Cause]lane.CauseTotal{}}
	for k, v := range t.ByCause {
		out.ByCause[lane.ParseCause(k)] = lane.CauseTotal(v)
	}
	return out
}

func (j *journal) Totals(ctx context.Context, from, to time.Time) (lane.Totals, error) {
	t, err := j.db.Totals(ctx, from, to)
	return laneTotals(t), err
}

func (j *journal) Shift(ctx context.Context) (lane.ShiftReport, error) {
	s, err := j.db.CurrentShift(ctx)
	if errors.Is(err, ledger.ErrNotFound) {
		return lane.ShiftReport{}, fmt.Errorf("%w: no shift yet", lane.ErrNotFound)
	}
	if err != nil {
		return lane.ShiftReport{}, err
	}
	end := s.End
	if end.IsZero() {
		end = time.Now()
	}
	t, err := j.db.Totals(ctx, s.Start, end)
	return lane.ShiftReport{ID: s.ID, Attendant: s.Attendant, Start: s.Start, End: s.End, Totals: laneTotals(t)}, err
}

func (j *journal) Unresolved(ctx context.Context) ([]lane.Unresolved, error) {
	ps, err := j.db.Unresolved(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]lane.Unresolved, 0, len(ps))
	for _, p := range ps {
		k := lane.UnresolvedNotFinal
		switch p.Kind {
		case "paid_not_exited":
			k = lane.UnresolvedPaidNotExited
		case "unable_to_collect":
			k = lane.UnresolvedUnableToCollect
		}
		out = append(out, lane.Unresolved{Kind: k, Visit: p.Visit, Ticket: p.Ticket, MerchantOrderNo: p.No, Status: p.Status, Amount: p.Amount, Since: p.Since})
	}
	return out, nil
}

func (j *journal) Transactions(ctx context.Context, before int64, limit int) ([]lane.Transaction, error) {
	es, err := j.db.Entries(ctx, before, limit)
	if err != nil {
		return nil, err
	}
	out := make([]lane.Transaction, 0, len(es))
	for _, e := range es {
		out = append(out, lane.Transaction{ID: e.ID, At: e.At, Kind: e.Kind, Visit: e.Visit, Ticket: e.Ticket, Cause: lane.ParseCause(e.Cause),
			Amount: e.Amount, MerchantOrderNo: e.No, Status: e.Status, Attendant: e.Attendant, Reason: e.Reason})
	}
	return out, nil
}
