// Package ledger is the lane's SQLite ledger (github.com/mattn/go-sqlite3):
// visits, orders with every status change and its source, exits with
// anti-passback, barrier events, attendant audit, refunds and shifts.
//
// *DB implements lane.Journal with lane's own record types: the lane's
// records are written by Record, its questions answered by Lookup,
// Totals, Unresolved and the other reads. A new field of a record touches
// lane, this package and a migration, nothing else.
//
// Each write is one transaction. The lane writes the ledger before every
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
//     cause and actor; attendant causes require a reason (CHECK). The row
//     is marked started (started_at) before the ON frame is sent and
//     completed (done_at) after OFF, so a crash inside the hold leaves a
//     row started and never completed; the next exit of that ticket is
//     recorded as "opened again after an interrupted pulse";
//  5. paid orders without a live exit are listed as "paid, not exited".
//
// Every amount is stored with its VAT: visits (the VAT in what is due),
// orders (in what was paid), exits (in their amount) and refunds carry the
// VAT rate their price included and money.VATPart of the amount at it, so
// the reports sum each payment's VAT (as its receipt shows it) rather than
// rounding a total.
package ledger

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/exitlane/exitlane/lane"
	"github.com/exitlane/exitlane/money"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Errors of the ledger's own. Constraint violations that the lane decides
// on map to lane's sentinels (lane.ErrAlreadyExited, lane.ErrReasonRequired)
// in one place, mapErr; lane.ErrUnknownOrder and lane.ErrNotFound are
// returned as they are.
var (
	ErrDuplicate   = errors.New("ledger: duplicate")
	ErrUnknownAuth = errors.New("ledger: unknown barrier authorisation")
	// ErrNotAuthorised: a pulse start for an authorisation that is no
	// longer waiting for its pulse (already started, done, or left from
	// before a restart). The pulse must not be sent.
	ErrNotAuthorised = errors.New("ledger: pulse not authorised")
)

// DB is an open ledger; it is the lane's Journal.
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
// was never confirmed become "unknown" (never re-pulsed at start-up), each
// with a history line saying whether its pulse had started (interrupted:
// the barrier may have opened) or not (never sent).
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

var _ lane.Journal = (*DB)(nil)

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

// Texts of the history lines about pulses whose outcome a crash hid.
const (
	textInterrupted = "the lane stopped during the pulse: the barrier may have opened"
	textNotSent     = "the lane stopped before the pulse was sent"
	textReopened    = "opened again after an interrupted pulse"
	noteInterrupted = "pulse interrupted: the car may have left"
)

func (l *DB) recover(ctx context.Context) error {
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if err := historyOfLostPulses(ctx, tx, time.Now()); err != nil {
			return err
		}
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

// historyOfLostPulses adds a history line for each authorisation whose
// pulse was never confirmed, before recover marks it unknown: started
// ("interrupted") or never sent.
func historyOfLostPulses(ctx context.Context, tx *sql.Tx, now time.Time) error {
	rows, err := tx.QueryContext(ctx, `SELECT cause, COALESCE(visit_id, 0), merchant_order_no, started_at IS NOT NULL
		FROM barrier_events WHERE state = 'authorised' ORDER BY id`)
	if err != nil {
		return err
	}
	var lines []lane.Transaction
	for rows.Next() {
		var e lane.Transaction
		var started bool
		if err := rows.Scan(scanText(&e.Cause), &e.Visit, &e.MerchantOrderNo, &started); err != nil {
			rows.Close()
			return err
		}
		e.At, e.Kind, e.Status, e.Reason = now, "barrier", "not_sent", textNotSent
		if started {
			e.Status, e.Reason = "interrupted", textInterrupted
		}
		lines = append(lines, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, e := range lines {
		if err := entry(ctx, tx, e); err != nil {
			return err
		}
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

// mapErr turns constraint violations into sentinels: the one place where
// SQLite's constraint names meet the lane's errors.
func mapErr(err error) error {
	var se sqlite3.Error
	if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrConstraint {
		return err
	}
	msg := se.Error()
	switch {
	case strings.Contains(msg, "exits.ticket_id"), strings.Contains(msg, "exits_once"):
		return fmt.Errorf("%w: %v", lane.ErrAlreadyExited, err)
	case strings.Contains(msg, "needs_reason"), strings.Contains(msg, "CHECK constraint failed: attendant"), strings.Contains(msg, "CHECK constraint failed: reason"):
		return fmt.Errorf("%w: %v", lane.ErrReasonRequired, err)
	case se.ExtendedCode == sqlite3.ErrConstraintUnique, se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
		return fmt.Errorf("%w: %v", ErrDuplicate, err)
	}
	return err
}

// text stores v (a lane.OrderStatus or lane.Cause) in a TEXT column by its
// text form; passed as it is, the driver would store a named integer as
// its number.
func text(v encoding.TextMarshaler) driver.Valuer { return textValue{v} }

type textValue struct{ v encoding.TextMarshaler }

func (t textValue) Value() (driver.Value, error) {
	b, err := t.v.MarshalText()
	return string(b), err
}

// scanText reads a TEXT column into v by its text form.
func scanText(v encoding.TextUnmarshaler) sql.Scanner { return textScanner{v} }

type textScanner struct{ v encoding.TextUnmarshaler }

func (t textScanner) Scan(src any) error {
	switch s := src.(type) {
	case string:
		return t.v.UnmarshalText([]byte(s))
	case []byte:
		return t.v.UnmarshalText(s)
	}
	return fmt.Errorf("ledger: %T in a text column", src)
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

// Record writes one of the lane's records in one transaction. A record
// that breaks a money rule is refused with lane's sentinel:
// lane.ErrAlreadyExited (an exit of a ticket that already exited, without
// override), lane.ErrReasonRequired (an attendant cause without attendant
// and reason), lane.ErrUnknownOrder (a status of an order never stored),
// lane.ErrNotFound (nothing to validate or resolve).
func (l *DB) Record(ctx context.Context, rec lane.Record) error {
	err := l.tx(ctx, func(tx *sql.Tx) error {
		if err := write(ctx, tx, rec); err != nil {
			return err
		}
		return toOutbox(ctx, tx, rec)
	})
	if err != nil {
		return fmt.Errorf("ledger: %s: %w", lane.RecordName(rec), err)
	}
	return nil
}

// toOutbox appends rec to the outbox under the next seq, in the record's
// own transaction (immediate, so seqs follow commit order without gaps).
// Every record is shipped, the pulse start too: the site store then knows
// a pulse started and never completed (a crash inside the hold).
func toOutbox(ctx context.Context, tx *sql.Tx, rec lane.Record) error {
	kind, data, err := lane.EncodeRecord(rec)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO outbox (seq, kind, rec, at)
		VALUES ((SELECT COALESCE(max(seq), 0) + 1 FROM outbox), ?, ?, ?)`, kind, string(data), time.Now().UnixMilli())
	return err
}

func write(ctx context.Context, tx *sql.Tx, rec lane.Record) error {
	switch r := rec.(type) {
	case lane.VisitRec:
		return beginVisit(ctx, tx, r)
	case lane.VisitEndRec:
		return endVisit(ctx, tx, r)
	case lane.ValidationRec:
		return applyValidation(ctx, tx, r)
	case lane.OrderRec:
		return newOrder(ctx, tx, r)
	case lane.StatusRec:
		return recordStatus(ctx, tx, r)
	case lane.AbandonRec:
		return abandon(ctx, tx, r)
	case lane.ExitRec:
		return authoriseExit(ctx, tx, r)
	case lane.OpenRec:
		return authoriseOpen(ctx, tx, r)
	case lane.PulseStartRec:
		return pulseStarted(ctx, tx, r)
	case lane.PulseRec:
		return pulseDone(ctx, tx, r)
	case lane.AuditRec:
		return recordAudit(ctx, tx, r)
	case lane.RefundRec:
		return recordRefund(ctx, tx, r)
	case lane.ResolveRec:
		return resolve(ctx, tx, r)
	case lane.ShiftRec:
		return shift(ctx, tx, r)
	}
	return fmt.Errorf("unknown record %T", rec)
}

// beginVisit records a ticket presented at the lane (accepted or refused).
func beginVisit(ctx context.Context, tx *sql.Tx, v lane.VisitRec) error {
	refused := ""
	if v.Refused != lane.NoticeNone {
		refused = v.Refused.String()
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO visits (id, started_at, ticket_id, serial, format, entry_at, signed, lost,
		fee, paid_before, due, free, refused, override, attendant, reason, offline, class, vat_rate, vat) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		v.Visit, ms(v.At), v.TicketID, v.Ticket.Serial, string(v.Ticket.Format), msOrNull(v.Ticket.Entry), b2i(v.Ticket.Signed), b2i(v.Ticket.Lost),
		int64(v.Quote.Fee), int64(v.Quote.Paid), int64(v.Quote.Due), string(v.Quote.Free), refused, b2i(v.Override), v.Attendant, v.Reason, b2i(v.Offline),
		v.Ticket.Class, v.Quote.VATRate, int64(money.VATPart(v.Quote.Due, v.Quote.VATRate)))
	if err != nil {
		return err
	}
	kind := "visit"
	if refused != "" {
		kind = "refused"
	}
	return entry(ctx, tx, lane.Transaction{At: v.At, Kind: kind, Visit: v.Visit, Ticket: v.Ticket.Serial, Amount: v.Quote.Due,
		Status: refused, Attendant: v.Attendant, Reason: v.Reason})
}

// endVisit records how a visit without exit ended (cancelled, expired, fault).
func endVisit(ctx context.Context, tx *sql.Tx, v lane.VisitEndRec) error {
	if _, err := tx.ExecContext(ctx, `UPDATE visits SET ended_at = ?, outcome = ? WHERE id = ?`, ms(v.At), v.Outcome, v.Visit); err != nil {
		return err
	}
	return entry(ctx, tx, lane.Transaction{At: v.At, Kind: "visit_end", Visit: v.Visit, Status: v.Outcome})
}

// entry adds one line to the history (the entries table); a line of a
// visit without a ticket serial takes the visit's.
func entry(ctx context.Context, tx *sql.Tx, e lane.Transaction) error {
	if e.Ticket == "" && e.Visit != 0 {
		_ = tx.QueryRowContext(ctx, `SELECT serial FROM visits WHERE id = ?`, e.Visit).Scan(&e.Ticket)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO entries (at, kind, visit_id, ticket, cause, amount, merchant_order_no, status, attendant, reason)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, ms(e.At), e.Kind, e.Visit, e.Ticket, text(e.Cause), int64(e.Amount), e.MerchantOrderNo, e.Status, e.Attendant, e.Reason)
	return err
}

// applyValidation records a validation applied to a visit and its new price.
func applyValidation(ctx context.Context, tx *sql.Tx, v lane.ValidationRec) error {
	res, err := tx.ExecContext(ctx, `UPDATE visits SET validation = ?, validation_name = ?, fee = ?, due = ?, vat_rate = ?, vat = ? WHERE id = ?`,
		v.Code, v.Name, int64(v.Quote.Fee), int64(v.Quote.Due), v.Quote.VATRate, int64(money.VATPart(v.Quote.Due, v.Quote.VATRate)), v.Visit)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: visit %d", lane.ErrNotFound, v.Visit)
	}
	return entry(ctx, tx, lane.Transaction{At: v.At, Kind: "validation", Visit: v.Visit, Amount: v.Quote.Due, Status: v.Code,
		Attendant: v.Attendant, Reason: v.Name})
}

// newOrder stores an order number, its status not known yet ("new"),
// before placeOrder is sent.
func newOrder(ctx context.Context, tx *sql.Tx, o lane.OrderRec) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO orders (merchant_order_no, visit_id, ticket_id, order_key, attempt, amount,
		created_at, expire_at, status, status_at, vat_rate) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
		o.No, o.Visit, o.TicketID, o.Key, o.Attempt, int64(o.Amount), ms(o.At), ms(o.Expire), text(lane.OrderUnknown), ms(o.At), o.VATRate)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_events (merchant_order_no, at, status, source) VALUES (?,?,?,'store')`,
		o.No, ms(o.At), text(lane.OrderUnknown)); err != nil {
		return err
	}
	return entry(ctx, tx, lane.Transaction{At: o.At, Kind: "order", Visit: o.Visit, Amount: o.Amount, MerchantOrderNo: o.No, Status: statusText(lane.OrderUnknown)})
}

// statusText is an order status as stored (and shown in the history).
func statusText(s lane.OrderStatus) string {
	b, err := s.MarshalText()
	if err != nil {
		return s.String()
	}
	return string(b)
}

// recordStatus records a status seen for an order. It is idempotent: a
// status equal to the stored one adds nothing; a paid order never goes back
// (a later "failed" or "created" is recorded as an event only).
func recordStatus(ctx context.Context, tx *sql.Tx, s lane.StatusRec) error {
	var cur lane.OrderStatus
	var amount, visit, rate int64
	err := tx.QueryRowContext(ctx, `SELECT status, amount, visit_id, vat_rate FROM orders WHERE merchant_order_no = ?`, s.No).Scan(scanText(&cur), &amount, &visit, &rate)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", lane.ErrUnknownOrder, s.No)
	}
	if err != nil {
		return err
	}
	st := s.State.Status
	if cur == st {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO order_events (merchant_order_no, at, status, payby_status, source) VALUES (?,?,?,?,?)`,
		s.No, ms(s.At), text(st), s.State.PayByStatus, s.Source.String()); err != nil {
		return err
	}
	if cur == lane.OrderPaid {
		return nil // never downgrade a payment
	}
	if st == lane.OrderUnknown || (st == lane.OrderCreated && cur != lane.OrderUnknown && cur != lane.OrderNotFound) {
		return nil
	}
	paid := int64(0)
	var paidAt any
	if st == lane.OrderPaid {
		paid = int64(s.State.Paid)
		if paid <= 0 {
			paid = amount
		}
		at := s.State.PaidAt
		if at.IsZero() {
			at = s.At
		}
		paidAt = ms(at)
	}
	// The payment's VAT, at the rate its price included: the reports sum
	// these, as each payment's receipt shows its own.
	vat := money.VATPart(money.Fils(paid), rate)
	if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = ?, payby_status = ?, status_at = ?, paid = ?, paid_at = ?, vat = ? WHERE merchant_order_no = ?`,
		text(st), s.State.PayByStatus, ms(s.At), paid, paidAt, int64(vat), s.No); err != nil {
		return err
	}
	return entry(ctx, tx, lane.Transaction{At: s.At, Kind: "order", Visit: visit, Amount: money.Fils(paid), MerchantOrderNo: s.No,
		Status: statusText(st), Reason: s.Source.String()})
}

// abandon marks an order no visit waits for any more; the reconciler owns it.
func abandon(ctx context.Context, tx *sql.Tx, a lane.AbandonRec) error {
	_, err := tx.ExecContext(ctx, `UPDATE orders SET abandoned_at = ? WHERE merchant_order_no = ? AND abandoned_at IS NULL`, ms(a.At), a.No)
	return err
}

// authoriseExit records, in one transaction, the payment (if any), the
// exit and the barrier authorisation. lane.ErrAlreadyExited: the ticket
// has a live exit and this is no override (anti-passback).
func authoriseExit(ctx context.Context, tx *sql.Tx, e lane.ExitRec) error {
	if e.Paid != nil {
		if err := recordStatus(ctx, tx, *e.Paid); err != nil {
			return err
		}
	}
	var no any
	if e.No != "" {
		no = e.No
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO exits (visit_id, ticket_id, at, cause, amount, merchant_order_no, attendant, reason, override, offline, vat_rate, vat)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, e.Visit, e.TicketID, ms(e.At), text(e.Cause), int64(e.Amount), no, e.Attendant, e.Reason, b2i(e.Override), b2i(e.Offline),
		e.VATRate, int64(money.VATPart(e.Amount, e.VATRate)))
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
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
	// Earlier exits of the ticket whose outcome a crash hid (unknown) are
	// replaced by this one, which took over their payments. If the pulse
	// of one of them had started (and no exit since got further than
	// unknown), this exit opens the barrier again after it.
	reopens := ""
	if e.TicketID != "" {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET exit_id = ?
			WHERE ticket_id = ? AND exit_id IS NULL AND resolved_at IS NULL AND paid > refunded`, id, e.TicketID); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT b.auth FROM exits x JOIN barrier_events b ON b.exit_id = x.id
			LEFT JOIN exits r ON r.id = x.replaced_by
			WHERE x.ticket_id = ? AND x.state = 'unknown' AND b.started_at IS NOT NULL AND (x.replaced_by IS NULL OR r.state = 'unknown')
			ORDER BY x.id DESC LIMIT 1`, e.TicketID).Scan(&reopens)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE exits SET replaced_by = ?
			WHERE ticket_id = ? AND state = 'unknown' AND replaced_by IS NULL AND id <> ?`, id, e.TicketID, id); err != nil {
			return err
		}
	}
	actor := e.Attendant
	if actor == "" {
		actor = "lane"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO barrier_events (auth, at, cause, actor, reason, merchant_order_no, visit_id, exit_id, reopens)
		VALUES (?,?,?,?,?,?,?,?,?)`, e.Auth, ms(e.At), text(e.Cause), actor, e.Reason, e.No, e.Visit, id, reopens); err != nil {
		return err
	}
	cause, err := e.Cause.MarshalText()
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE visits SET ended_at = ?, outcome = ? WHERE id = ?`, ms(e.At), "exit_"+string(cause), e.Visit); err != nil {
		return err
	}
	line := lane.Transaction{At: e.At, Kind: "exit", Visit: e.Visit, Cause: e.Cause, Amount: e.Amount, MerchantOrderNo: e.No,
		Status: "pending", Attendant: e.Attendant, Reason: e.Reason}
	if reopens != "" {
		line.Status = "reopened"
		line.Reason = strings.TrimPrefix(e.Reason+"; "+textReopened, "; ")
	}
	return entry(ctx, tx, line)
}

// authoriseOpen records a barrier authorisation without an exit (manual open).
func authoriseOpen(ctx context.Context, tx *sql.Tx, o lane.OpenRec) error {
	var visit any
	if o.Visit != 0 {
		visit = o.Visit
	}
	actor := o.Attendant
	if actor == "" {
		actor = "lane"
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO barrier_events (auth, at, cause, actor, reason, visit_id) VALUES (?,?,?,?,?,?)`,
		o.Auth, ms(o.At), text(o.Cause), actor, o.Reason, visit); err != nil {
		return err
	}
	return entry(ctx, tx, lane.Transaction{At: o.At, Kind: "barrier", Visit: o.Visit, Cause: o.Cause, Status: "authorised",
		Attendant: o.Attendant, Reason: o.Reason})
}

// pulseStarted records that an authorised pulse is being sent, before
// its ON frame. Only an authorisation still waiting for its pulse can
// start, once: ErrNotAuthorised otherwise (already started or done, or
// left unknown by a restart), ErrUnknownAuth if there is none.
func pulseStarted(ctx context.Context, tx *sql.Tx, p lane.PulseStartRec) error {
	res, err := tx.ExecContext(ctx, `UPDATE barrier_events SET started_at = ? WHERE auth = ? AND state = 'authorised' AND started_at IS NULL`,
		ms(p.At), p.Auth)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var state string
	err = tx.QueryRowContext(ctx, `SELECT state FROM barrier_events WHERE auth = ?`, p.Auth).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrUnknownAuth, p.Auth)
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s is %s", ErrNotAuthorised, p.Auth, state)
}

// pulseDone records the outcome of an authorised pulse. A failed pulse
// voids its exit, so the payment shows as "paid, not exited" again.
func pulseDone(ctx context.Context, tx *sql.Tx, p lane.PulseRec) error {
	var exitID sql.NullInt64
	var visit sql.NullInt64
	var cause lane.Cause
	err := tx.QueryRowContext(ctx, `SELECT exit_id, visit_id, cause FROM barrier_events WHERE auth = ?`, p.Auth).Scan(&exitID, &visit, scanText(&cause))
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", ErrUnknownAuth, p.Auth)
	}
	if err != nil {
		return err
	}
	state, exitState := "pulsed", "completed"
	if !p.OK {
		state, exitState = "failed", "void"
	}
	if _, err := tx.ExecContext(ctx, `UPDATE barrier_events SET state = ?, done_at = ?, error = ? WHERE auth = ?`, state, ms(p.At), p.Err, p.Auth); err != nil {
		return err
	}
	if exitID.Valid {
		if _, err := tx.ExecContext(ctx, `UPDATE exits SET state = ? WHERE id = ?`, exitState, exitID.Int64); err != nil {
			return err
		}
		if !p.OK {
			if _, err := tx.ExecContext(ctx, `UPDATE orders SET exit_id = NULL WHERE exit_id = ?`, exitID.Int64); err != nil {
				return err
			}
			// The exits it replaced count again (their outcome is unknown).
			if _, err := tx.ExecContext(ctx, `UPDATE exits SET replaced_by = NULL WHERE replaced_by = ?`, exitID.Int64); err != nil {
				return err
			}
		}
	}
	return entry(ctx, tx, lane.Transaction{At: p.At, Kind: "barrier", Visit: visit.Int64, Cause: cause, Status: state, Reason: p.Err})
}

// recordAudit records an attendant action.
func recordAudit(ctx context.Context, tx *sql.Tx, a lane.AuditRec) error {
	var visit any
	if a.Visit != 0 {
		visit = a.Visit
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO audit (at, attendant, action, reason, visit_id, merchant_order_no, amount) VALUES (?,?,?,?,?,?,?)`,
		ms(a.At), a.Attendant, a.Action, a.Reason, visit, a.No, int64(a.Amount)); err != nil {
		return err
	}
	return entry(ctx, tx, lane.Transaction{At: a.At, Kind: "audit", Visit: a.Visit, Amount: a.Amount, MerchantOrderNo: a.No, Status: a.Action,
		Attendant: a.Attendant, Reason: a.Reason})
}

// recordRefund inserts or updates a refund, recorded pending before it is
// sent and done or failed after; on done the order's refunded amount
// grows (once).
func recordRefund(ctx context.Context, tx *sql.Tx, r lane.RefundRec) error {
	var cur lane.RefundStatus
	err := tx.QueryRowContext(ctx, `SELECT status FROM refunds WHERE refund_no = ?`, r.RefundNo).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// The refund's VAT, at the rate of the order it refunds.
		var rate int64
		_ = tx.QueryRowContext(ctx, `SELECT vat_rate FROM orders WHERE merchant_order_no = ?`, r.No).Scan(&rate)
		if _, err := tx.ExecContext(ctx, `INSERT INTO refunds (refund_no, merchant_order_no, amount, at, attendant, reason, status, vat) VALUES (?,?,?,?,?,?,?,?)`,
			r.RefundNo, r.No, int64(r.Amount), ms(r.At), r.Attendant, r.Reason, string(r.Status), int64(money.VATPart(r.Amount, rate))); err != nil {
			return err
		}
	case err != nil:
		return err
	case cur == r.Status || cur == lane.RefundDone:
		return nil
	default:
		if _, err := tx.ExecContext(ctx, `UPDATE refunds SET status = ?, at = ? WHERE refund_no = ?`, string(r.Status), ms(r.At), r.RefundNo); err != nil {
			return err
		}
	}
	if r.Status == lane.RefundDone {
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET refunded = refunded + ? WHERE merchant_order_no = ?`, int64(r.Amount), r.No); err != nil {
			return err
		}
	}
	var visit int64
	_ = tx.QueryRowContext(ctx, `SELECT visit_id FROM orders WHERE merchant_order_no = ?`, r.No).Scan(&visit)
	return entry(ctx, tx, lane.Transaction{At: r.At, Kind: "refund", Visit: visit, Amount: r.Amount, MerchantOrderNo: r.No, Status: string(r.Status),
		Attendant: r.Attendant, Reason: r.Reason})
}

// resolve closes an unresolved entry: a paid order without exit (by
// number) or an unable-to-collect exit (by visit).
func resolve(ctx context.Context, tx *sql.Tx, r lane.ResolveRec) error {
	if r.Attendant == "" || r.Reason == "" {
		return lane.ErrReasonRequired
	}
	var n int64
	if r.No != "" {
		res, err := tx.ExecContext(ctx, `UPDATE orders SET resolved_at = ?, resolved_by = ?, resolution = ? WHERE merchant_order_no = ? AND resolved_at IS NULL`,
			ms(r.At), r.Attendant, r.Reason, r.No)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
	} else {
		res, err := tx.ExecContext(ctx, `UPDATE exits SET resolved_at = ?, resolved_by = ? WHERE visit_id = ? AND cause = 'unable_to_collect' AND resolved_at IS NULL`,
			ms(r.At), r.Attendant, r.Visit)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
	}
	if n == 0 {
		return lane.ErrNotFound
	}
	return entry(ctx, tx, lane.Transaction{At: r.At, Kind: "resolve", Visit: r.Visit, MerchantOrderNo: r.No, Status: "resolved",
		Attendant: r.Attendant, Reason: r.Reason})
}

// shift starts a shift for an attendant (closing any open one) or ends
// the open shift.
func shift(ctx context.Context, tx *sql.Tx, s lane.ShiftRec) error {
	if _, err := tx.ExecContext(ctx, `UPDATE shifts SET ended_at = ? WHERE ended_at IS NULL`, ms(s.At)); err != nil {
		return err
	}
	if !s.Start {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO shifts (attendant, started_at) VALUES (?, ?)`, s.Attendant, ms(s.At))
	return err
}
