// Package ledger is the lane's SQLite ledger (github.com/mattn/go-sqlite3):
// visits, orders with every status change and its source, exits with
// anti-passback, barrier events, attendant audit, refunds and shifts.
//
// Each method is one transaction. The lane writes the ledger before every
// side effect a record authorises (placeOrder, the open pulse), so a crash
// at any point can be resumed or reconciled:
//
//  1. an order number is stored (status "new") before placeOrder is sent;
//  2. a payment, the exit it pays for and the barrier authorisation are one
//     transaction; at Open, authorisations whose pulse was never confirmed
//     become "unknown" and their payments show again as "paid, not exited",
//     so a re-scan within exit grace opens once more without charging;
//  3. a ticket has at most one live exit (a unique partial index) unless an
//     attendant overrides with a reason;
//  4. every pulse has exactly one barrier_events row (unique auth) with its
//     cause and actor; attendant causes require a reason (CHECK);
//  5. paid orders without a live exit are listed as "paid, not exited".
package ledger

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/exitlane/exitlane/money"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors a caller decides on. Constraint violations map to these in one
// place (mapErr).
var (
	ErrAlreadyExited  = errors.New("ledger: ticket already exited")
	ErrReasonRequired = errors.New("ledger: attendant and reason required")
	ErrDuplicate      = errors.New("ledger: duplicate")
	ErrUnknownOrder   = errors.New("ledger: unknown order")
	ErrUnknownAuth    = errors.New("ledger: unknown barrier authorisation")
	ErrNotFound       = errors.New("ledger: not found")
)

// Order statuses as stored.
const (
	StatusNew      = "new"
	StatusCreated  = "created"
	StatusPaid     = "paid"
	StatusFailed   = "failed"
	StatusNotFound = "not_found"
)

// DB is an open ledger.
type DB struct {
	db   *sql.DB
	path string
}

// DSN returns the go-sqlite3 data source name for path: WAL, a busy
// timeout, foreign keys, synchronous=FULL (a committed payment survives a
// power cut) and immediate transactions (writers queue on busy_timeout
// instead of failing when a read lock would be upgraded).
func DSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_journal_mode=WAL&_busy_timeout=5000&_foreign_keys=on&_synchronous=FULL&_txlock=immediate"
}

// Open opens (creating if needed) the ledger at path, applies pending
// migrations and recovers from an unclean stop: authorisations whose pulse
// was never confirmed become "unknown" (never re-pulsed at start-up).
func Open(ctx context.Context, path string) (*DB, error) {
	db, err := sql.Open("sqlite3", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	l := &DB{db: db, path: path}
	if err := l.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := l.recover(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return l, nil
}

// Close closes the ledger.
func (l *DB) Close() error { return l.db.Close() }

// SQL exposes the database for tests and tools (read-only use).
func (l *DB) SQL() *sql.DB { return l.db }

func (l *DB) migrate(ctx context.Context) error {
	if _, err := l.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("ledger: migrate: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("ledger: migrate: bad migration name %s", base)
		}
		err = l.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, v).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", base, err)
			}
			_, err = tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				v, base, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("ledger: migrate: %w", err)
		}
	}
	return nil
}

// Migrations lists the applied migrations by name.
func (l *DB) Migrations(ctx context.Context) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func (l *DB) recover(ctx context.Context) error {
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET exit_id = NULL
			WHERE exit_id IN (SELECT id FROM exits WHERE state = 'pending')`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE exits SET state = 'unknown' WHERE state = 'pending'`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE barrier_events SET state = 'unknown' WHERE state = 'authorised'`)
		return err
	})
	if err != nil {
		return fmt.Errorf("ledger: recover: %w", err)
	}
	return nil
}

// tx runs f in one transaction: begin, defer rollback, commit.
func (l *DB) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return mapErr(err)
	}
	return mapErr(tx.Commit())
}

// mapErr turns constraint violations into sentinels.
func mapErr(err error) error {
	var se sqlite3.Error
	if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrConstraint {
		return err
	}
	msg := se.Error()
	switch {
	case strings.Contains(msg, "exits.ticket_id"), strings.Contains(msg, "exits_once"):
		return fmt.Errorf("%w: %v", ErrAlreadyExited, err)
	case strings.Contains(msg, "needs_reason"), strings.Contains(msg, "CHECK constraint failed: attendant"), strings.Contains(msg, "CHECK constraint failed: reason"):
		return fmt.Errorf("%w: %v", ErrReasonRequired, err)
	case se.ExtendedCode == sqlite3.ErrConstraintUnique, se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
		return fmt.Errorf("%w: %v", ErrDuplicate, err)
	}
	return err
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Visit is a ticket presented at the lane (accepted or refused).
type Visit struct {
	ID                int64
	At                time.Time
	TicketID          string
	Serial, Format    string
	Entry             time.Time
	Signed, Lost      bool
	Fee, PaidBefore   money.Fils
	Due               money.Fils
	Free, Refused     string
	Override          bool
	Attendant, Reason string
}

// BeginVisit records a visit.
func (l *DB) BeginVisit(ctx context.Context, v Visit) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO visits (id, started_at, ticket_id, serial, format, entry_at, signed, lost,
			fee, paid_before, due, free, refused, override, attendant, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			v.ID, ms(v.At), v.TicketID, v.Serial, v.Format, msOrNull(v.Entry), b2i(v.Signed), b2i(v.Lost),
			int64(v.Fee), int64(v.PaidBefore), int64(v.Due), v.Free, v.Refused, b2i(v.Override), v.Attendant, v.Reason)
		if err != nil {
			return err
		}
		kind := "visit"
		if v.Refused != "" {
			kind = "refused"
		}
		return entry(ctx, tx, v.At, kind, v.ID, v.Serial, "", v.Due, "", v.Refused, v.Attendant, v.Reason)
	})
}

// EndVisit records how a visit without exit ended (cancelled, expired, fault).
func (l *DB) EndVisit(ctx context.Context, id int64, at time.Time, outcome string) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE visits SET ended_at = ?, outcome = ? WHERE id = ?`, ms(at), outcome, id); err != nil {
			return err
		}
		return entry(ctx, tx, at, "visit_end", id, "", "", 0, "", outcome, "", "")
	})
}

func entry(ctx context.Context, tx *sql.Tx, at time.Time, kind string, visit int64, ticket, cause string, amount money.Fils, no, status, attendant, reason string) error {
	if ticket == "" && visit != 0 {
		_ = tx.QueryRowContext(ctx, `SELECT serial FROM visits WHERE id = ?`, visit).Scan(&ticket)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO entries (at, kind, visit_id, ticket, cause, amount, merchant_order_no, status, attendant, reason)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, ms(at), kind, visit, ticket, cause, int64(amount), no, status, attendant, reason)
	return err
}

// ApplyValidation records a validation applied to a visit and its new price.
func (l *DB) ApplyValidation(ctx context.Context, visit int64, at time.Time, code, name string, fee, due money.Fils, attendant string) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE visits SET validation = ?, validation_name = ?, fee = ?, due = ? WHERE id = ?`,
			code, name, int64(fee), int64(due), visit)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%w: visit %d", ErrNotFound, visit)
		}
		return entry(ctx, tx, at, "validation", visit, "", "", due, "", code, attendant, name)
	})
}

// Order is a PayBy order number stored before placeOrder is sent.
type Order struct {
	No         string
	Visit      int64
	TicketID   string
	Key        string
	Attempt    int
	Amount     money.Fils
	At, Expire time.Time
}

// NewOrder stores an order number (status "new") before it is sent.
func (l *DB) NewOrder(ctx context.Context, o Order) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO orders (merchant_order_no, visit_id, ticket_id, order_key, attempt, amount,
			created_at, expire_at, status, status_at) VALUES (?,?,?,?,?,?,?,?,'new',?)`,
			o.No, o.Visit, o.TicketID, o.Key, o.Attempt, int64(o.Amount), ms(o.At), ms(o.Expire), ms(o.At))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO order_events (merchant_order_no, at, status, source) VALUES (?,?,'new','store')`, o.No, ms(o.At)); err != nil {
			return err
		}
		return entry(ctx, tx, o.At, "order", o.Visit, "", "", o.Amount, o.No, StatusNew, "", "")
	})
}

// Status is one status of an order as seen from a source (create, poll,
// notification, reconcile, cancel).
type Status struct {
	No          string
	Status      string // new, created, paid, failed, not_found
	PayByStatus string
	Source      string
	At          time.Time
	Paid        money.Fils
	PaidAt      time.Time
}

// RecordStatus records a status seen for an order. It is idempotent: a
// status equal to the stored one adds nothing; a paid order never goes back
// (a later "failed" or "created" is recorded as an event only).
func (l *DB) RecordStatus(ctx context.Context, s Status) error {
	return l.tx(ctx, func(tx *sql.Tx) error { return recordStatus(ctx, tx, s) })
}

func recordStatus(ctx context.Context, tx *sql.Tx, s Status) error {
	var cur string
	var amount int64
	var visit int64
	err := tx.QueryRowContext(ctx, `SELECT status, amount, visit_id FROM orders WHERE merchant_order_no = ?`, s.No).Scan(&cur, &amount, &visit)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrUnknownOrder, s.No)
	}
	if err != nil {
		return err
	}
	if cur == s.Status {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_events (merchant_order_no, at, status, payby_status, source) VALUES (?,?,?,?,?)`,
		s.No, ms(s.At), s.Status, s.PayByStatus, s.Source); err != nil {
		return err
	}
	if cur == StatusPaid {
		return nil // never downgrade a payment
	}
	if s.Status == StatusNew || (s.Status == StatusCreated && cur != StatusNew && cur != StatusNotFound) {
		return nil
	}
	paid := int64(0)
	var paidAt any
	if s.Status == StatusPaid {
		paid = int64(s.Paid)
		if paid <= 0 {
			paid = amount
		}
		at := s.PaidAt
		if at.IsZero() {
			at = s.At
		}
		paidAt = ms(at)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ?, payby_status = ?, status_at = ?, paid = ?, paid_at = ? WHERE merchant_order_no = ?`,
		s.Status, s.PayByStatus, ms(s.At), paid, paidAt, s.No); err != nil {
		return err
	}
	return entry(ctx, tx, s.At, "order", visit, "", "", money.Fils(paid), s.No, s.Status, "", s.Source)
}

// Abandon marks an order no visit waits for any more; the reconciler owns it.
func (l *DB) Abandon(ctx context.Context, no string, at time.Time) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE orders SET abandoned_at = ? WHERE merchant_order_no = ? AND abandoned_at IS NULL`, ms(at), no)
		if err != nil {
			return err
		}
		_, err = res.RowsAffected()
		return err
	})
}

// Exit authorises a visit's exit and its one pulse.
type Exit struct {
	Visit     int64
	TicketID  string
	At        time.Time
	Cause     string
	Amount    money.Fils
	No        string // the paying order, if any
	Attendant string
	Reason    string
	Override  bool
	Auth      string
	// Paid, if set, is recorded in the same transaction (the payment that
	// pays for this exit).
	Paid *Status
}

// AuthoriseExit records, in one transaction, the payment (if any), the
// exit and the barrier authorisation. ErrAlreadyExited: the ticket has a
// live exit and this is no override (anti-passback).
func (l *DB) AuthoriseExit(ctx context.Context, e Exit) (int64, error) {
	var id int64
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if e.Paid != nil {
			if err := recordStatus(ctx, tx, *e.Paid); err != nil {
				return err
			}
		}
		var no any
		if e.No != "" {
			no = e.No
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO exits (visit_id, ticket_id, at, cause, amount, merchant_order_no, attendant, reason, override)
			VALUES (?,?,?,?,?,?,?,?,?)`, e.Visit, e.TicketID, ms(e.At), e.Cause, int64(e.Amount), no, e.Attendant, e.Reason, b2i(e.Override))
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if e.No != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET exit_id = ? WHERE merchant_order_no = ?`, id, e.No); err != nil {
				return err
			}
		}
		// Every earlier payment of this ticket not yet used by an exit was
		// subtracted from this exit's fee (fee(entry..now) minus what was
		// paid): this exit uses it too, so it is no longer "paid, not exited".
		if e.TicketID != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET exit_id = ?
				WHERE ticket_id = ? AND exit_id IS NULL AND resolved_at IS NULL AND paid > refunded`, id, e.TicketID); err != nil {
				return err
			}
		}
		actor := e.Attendant
		if actor == "" {
			actor = "lane"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO barrier_events (auth, at, cause, actor, reason, merchant_order_no, visit_id, exit_id)
			VALUES (?,?,?,?,?,?,?,?)`, e.Auth, ms(e.At), e.Cause, actor, e.Reason, e.No, e.Visit, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE visits SET ended_at = ?, outcome = ? WHERE id = ?`, ms(e.At), "exit_"+e.Cause, e.Visit); err != nil {
			return err
		}
		return entry(ctx, tx, e.At, "exit", e.Visit, "", e.Cause, e.Amount, e.No, "pending", e.Attendant, e.Reason)
	})
	return id, err
}

// Opening authorises a pulse that is not a visit's exit (manual open).
type Opening struct {
	Auth      string
	At        time.Time
	Cause     string
	Attendant string
	Reason    string
	Visit     int64
}

// AuthoriseOpen records a barrier authorisation without an exit.
func (l *DB) AuthoriseOpen(ctx context.Context, o Opening) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		var visit any
		if o.Visit != 0 {
			visit = o.Visit
		}
		actor := o.Attendant
		if actor == "" {
			actor = "lane"
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO barrier_events (auth, at, cause, actor, reason, visit_id) VALUES (?,?,?,?,?,?)`,
			o.Auth, ms(o.At), o.Cause, actor, o.Reason, visit); err != nil {
			return err
		}
		return entry(ctx, tx, o.At, "barrier", o.Visit, "", o.Cause, 0, "", "authorised", o.Attendant, o.Reason)
	})
}

// PulseDone records the outcome of an authorised pulse. A failed pulse
// voids its exit, so the payment shows as "paid, not exited" again.
func (l *DB) PulseDone(ctx context.Context, auth string, ok bool, at time.Time, errText string) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		var exitID sql.NullInt64
		var visit sql.NullInt64
		var cause string
		err := tx.QueryRowContext(ctx, `SELECT exit_id, visit_id, cause FROM barrier_events WHERE auth = ?`, auth).Scan(&exitID, &visit, &cause)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrUnknownAuth, auth)
		}
		if err != nil {
			return err
		}
		state, exitState := "pulsed", "completed"
		if !ok {
			state, exitState = "failed", "void"
		}
		if _, err := tx.ExecContext(ctx, `UPDATE barrier_events SET state = ?, done_at = ?, error = ? WHERE auth = ?`, state, ms(at), errText, auth); err != nil {
			return err
		}
		if exitID.Valid {
			if _, err := tx.ExecContext(ctx, `UPDATE exits SET state = ? WHERE id = ?`, exitState, exitID.Int64); err != nil {
				return err
			}
			if !ok {
				if _, err := tx.ExecContext(ctx, `UPDATE orders SET exit_id = NULL WHERE exit_id = ?`, exitID.Int64); err != nil {
					return err
				}
			}
		}
		return entry(ctx, tx, at, "barrier", visit.Int64, "", cause, 0, "", state, "", errText)
	})
}

// Audit is one attendant action.
type Audit struct {
	At        time.Time
	Attendant string
	Action    string
	Reason    string
	Visit     int64
	No        string
	Amount    money.Fils
}

// RecordAudit records an attendant action.
func (l *DB) RecordAudit(ctx context.Context, a Audit) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		var visit any
		if a.Visit != 0 {
			visit = a.Visit
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, attendant, action, reason, visit_id, merchant_order_no, amount) VALUES (?,?,?,?,?,?,?)`,
			ms(a.At), a.Attendant, a.Action, a.Reason, visit, a.No, int64(a.Amount)); err != nil {
			return err
		}
		return entry(ctx, tx, a.At, "audit", a.Visit, "", "", a.Amount, a.No, a.Action, a.Attendant, a.Reason)
	})
}

// Refund is a refund of a paid order, recorded "pending" before it is
// sent and "done" or "failed" after.
type Refund struct {
	RefundNo  string
	No        string
	Amount    money.Fils
	At        time.Time
	Attendant string
	Reason    string
	Status    string
}

// RecordRefund inserts or updates a refund; on "done" the order's refunded
// amount grows (once).
func (l *DB) RecordRefund(ctx context.Context, r Refund) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, `SELECT status FROM refunds WHERE refund_no = ?`, r.RefundNo).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO refunds (refund_no, merchant_order_no, amount, at, attendant, reason, status) VALUES (?,?,?,?,?,?,?)`,
				r.RefundNo, r.No, int64(r.Amount), ms(r.At), r.Attendant, r.Reason, r.Status); err != nil {
				return err
			}
		case err != nil:
			return err
		case cur == r.Status || cur == "done":
			return nil
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = ?, at = ? WHERE refund_no = ?`, r.Status, ms(r.At), r.RefundNo); err != nil {
				return err
			}
		}
		if r.Status == "done" {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET refunded = refunded + ? WHERE merchant_order_no = ?`, int64(r.Amount), r.No); err != nil {
				return err
			}
		}
		var visit int64
		_ = tx.QueryRowContext(ctx, `SELECT visit_id FROM orders WHERE merchant_order_no = ?`, r.No).Scan(&visit)
		return entry(ctx, tx, r.At, "refund", visit, "", "", r.Amount, r.No, r.Status, r.Attendant, r.Reason)
	})
}

// Resolve closes an unresolved entry: a paid order without exit (by
// number) or an unable-to-collect exit (by visit).
func (l *DB) Resolve(ctx context.Context, no string, visit int64, at time.Time, by, reason string) error {
	if by == "" || reason == "" {
		return ErrReasonRequired
	}
	return l.tx(ctx, func(tx *sql.Tx) error {
		var n int64
		if no != "" {
			res, err := tx.ExecContext(ctx, `UPDATE orders SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE merchant_order_no = ? AND resolved_at IS NULL`,
				ms(at), by, reason, no)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE exits SET resolved_at = ?, resolved_by = ? WHERE visit_id = ? AND cause = 'unable_to_collect' AND resolved_at IS NULL`,
				ms(at), by, visit)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
		}
		if n == 0 {
			return ErrNotFound
		}
		return entry(ctx, tx, at, "resolve", visit, "", "", 0, no, "resolved", by, reason)
	})
}

// StartShift opens a shift for attendant (closing any open one); EndShift closes it.
func (l *DB) StartShift(ctx context.Context, attendant string, at time.Time) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE shifts SET ended_at = ? WHERE ended_at IS NULL`, ms(at)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO shifts (attendant, started_at) VALUES (?, ?)`, attendant, ms(at))
		return err
	})
}

// EndShift closes the open shift.
func (l *DB) EndShift(ctx context.Context, attendant string, at time.Time) error {
	return l.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE shifts SET ended_at = ? WHERE ended_at IS NULL`, ms(at))
		return err
	})
}
