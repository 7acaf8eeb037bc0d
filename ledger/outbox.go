package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/exitlane/exitlane/lane"
)

// OutboxRow is one record of the outbox: what the site store receives
// under seq (lane.EncodeRecord's kind and bytes).
type OutboxRow struct {
	Seq  int64
	Kind string
	Data []byte
	At   time.Time // when the ledger wrote it
}

// Record decodes the row's record.
func (o OutboxRow) Record() (lane.Record, error) { return lane.DecodeRecord(o.Kind, o.Data) }

// Outbox returns up to limit rows after seq, in order.
func (l *DB) Outbox(ctx context.Context, after int64, limit int) ([]OutboxRow, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT seq, kind, rec, at FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: outbox: %w", err)
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var o OutboxRow
		var data string
		var at int64
		if err := rows.Scan(&o.Seq, &o.Kind, &data, &at); err != nil {
			return nil, fmt.Errorf("ledger: outbox: %w", err)
		}
		o.Data, o.At = []byte(data), time.UnixMilli(at).UTC()
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: outbox: %w", err)
	}
	return out, nil
}

// OutboxSeq is the outbox's last seq (0: empty).
func (l *DB) OutboxSeq(ctx context.Context) (int64, error) {
	var n int64
	if err := l.db.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM outbox`).Scan(&n); err != nil {
		return 0, fmt.Errorf("ledger: outbox seq: %w", err)
	}
	return n, nil
}

// HasExit reports whether the ledger holds an exit for visit (at start-up
// the lane releases the site-wide claims it never authorised).
func (l *DB) HasExit(ctx context.Context, visit int64) (bool, error) {
	var n int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM exits WHERE visit_id = ?`, visit).Scan(&n); err != nil {
		return false, fmt.Errorf("ledger: has exit: %w", err)
	}
	return n > 0, nil
}

// LastVisitAt is when the latest visit started (zero: none yet), for the
// lane's status at the office.
func (l *DB) LastVisitAt(ctx context.Context) (time.Time, error) {
	var at sql.NullInt64
	if err := l.db.QueryRowContext(ctx, `SELECT started_at FROM visits ORDER BY id DESC LIMIT 1`).Scan(&at); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("ledger: last visit: %w", err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return time.UnixMilli(at.Int64).UTC(), nil
}
