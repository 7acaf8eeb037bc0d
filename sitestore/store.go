// Package sitestore is the site store: the PostgreSQL database that the
// lanes of one site (a garage with several exits) share, over pgx
// (github.com/jackc/pgx/v5, pgxpool).
//
// It holds two things:
//
//   - every lane's records (lane.Record), replicated from the lane's SQLite
//     ledger, which stays the lane's journal and is always written first.
//     Apply takes them in each lane's order (seq 1, 2, 3, ...), idempotently,
//     keeps each record as JSON in the journal table and updates the derived
//     tables (visits, orders and their status changes, exits, barrier
//     events, audit, refunds, shifts) in the same transaction. Conflicts
//     between lanes found on the way (a ticket that exited at two lanes
//     while one was offline, a ticket paid twice) become incidents.
//   - the facts the lanes decide with at scan and at exit: a ticket's exit
//     is claimed once site-wide (ClaimExit), and a ticket's payments and
//     open orders at every lane are one query away (TicketHistory).
//
// Schema migrations are embedded and recorded in schema_migrations, like
// the ledger's; Migrate applies them (exitlane store migrate) and a store
// refuses to work on a schema other than the one it knows (SchemaError).
// The replication contract and the schema are described in
// docs/site-store.md.
package sitestore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/exitlane/exitlane/lane"
)

// Errors a caller decides on.
var (
	// ErrAlreadyExited is the lane's own sentinel: a ticket's exit was
	// claimed by another lane (ClaimExit returns an *ExitedError).
	ErrAlreadyExited = lane.ErrAlreadyExited
	// ErrReasonRequired: an attendant override needs the attendant and a reason.
	ErrReasonRequired = lane.ErrReasonRequired
	// ErrNotFound: no such incident.
	ErrNotFound = lane.ErrNotFound
	// ErrSchemaNotCurrent: the database lacks migrations this exitlane
	// has (run exitlane store migrate). See SchemaError.
	ErrSchemaNotCurrent = errors.New("sitestore: schema not current")
	// ErrSchemaNewer: the database has migrations this exitlane does not
	// know (a newer exitlane migrated it). See SchemaError.
	ErrSchemaNewer = errors.New("sitestore: schema newer than this exitlane")
	// ErrSeqGap and ErrSeqConflict: a lane's record out of order, or a
	// sequence number reused for another record. See SeqError.
	ErrSeqGap      = errors.New("sitestore: record out of order")
	ErrSeqConflict = errors.New("sitestore: sequence number reused for another record")
)

// SchemaError is a database whose schema is not the one this exitlane
// knows. It matches ErrSchemaNewer or ErrSchemaNotCurrent.
type SchemaError struct {
	Version int // highest migration recorded in the database (0: none)
	Applied int // how many of this exitlane's are recorded
	Known   int // highest migration this exitlane embeds
}

func (e *SchemaError) Error() string {
	if e.Version > e.Known {
		return fmt.Sprintf("sitestore: schema version %d is newer than this exitlane knows (%d): upgrade exitlane", e.Version, e.Known)
	}
	return fmt.Sprintf("sitestore: schema not current (version %d, %d of %d migrations applied): run exitlane store migrate", e.Version, e.Applied, len(embedded))
}

// Is matches ErrSchemaNewer or ErrSchemaNotCurrent.
func (e *SchemaError) Is(target error) bool {
	if e.Version > e.Known {
		return target == ErrSchemaNewer
	}
	return target == ErrSchemaNotCurrent
}

// SeqError is a lane record Apply refused: out of order (Err ErrSeqGap,
// Expected the seq the store waits for) or a seq already applied with
// another record (Err ErrSeqConflict: two lanes configured with one lane
// id, or a lane whose ledger was replaced).
type SeqError struct {
	Lane     string
	Seq      int64
	Expected int64
	Err      error
}

func (e *SeqError) Error() string {
	if e.Err == ErrSeqConflict {
		return fmt.Sprintf("sitestore: lane %s: seq %d was applied with another record", e.Lane, e.Seq)
	}
	return fmt.Sprintf("sitestore: lane %s: seq %d out of order: expected %d", e.Lane, e.Seq, e.Expected)
}

func (e *SeqError) Unwrap() error { return e.Err }

// ExitedError is a claim lost to another lane's exit of the ticket.
type ExitedError struct {
	Ticket  string
	Lane    string // the lane that holds the exit
	Visit   int64
	At      time.Time
	Offline bool // that exit was decided offline and replayed
}

func (e *ExitedError) Error() string {
	return fmt.Sprintf("sitestore: ticket %s already exited at lane %s (visit %d) at %s",
		e.Ticket, e.Lane, e.Visit, e.At.UTC().Format(time.RFC3339))
}

// Is matches ErrAlreadyExited.
func (e *ExitedError) Is(target error) bool { return target == ErrAlreadyExited }

// Options configure a Store. Zero fields mean the defaults.
type Options struct {
	// Site is the site id every lane of the site shares (required).
	Site string
	// MaxConns bounds the pool (0: pgxpool's default, max(4, CPUs)).
	MaxConns int32
}

// Store is a site store for one site. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	site string
	// schemaOK: the schema was found current once; every operation checks
	// it before its first use, so a store never writes to a schema it
	// does not know.
	schemaOK atomic.Bool
}

// New returns a store without connecting: a lane starts even while its
// site store is down. The first operation (or Check) checks the schema.
func New(url string, o Options) (*Store, error) {
	if o.Site == "" {
		return nil, errors.New("sitestore: the site id is required")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("sitestore: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, fmt.Errorf("sitestore: %w", err)
	}
	return &Store{pool: pool, site: o.Site}, nil
}

// Open returns a store that could be reached and whose schema is current
// (else a *SchemaError).
func Open(ctx context.Context, url string, o Options) (*Store, error) {
	s, err := New(url, o)
	if err != nil {
		return nil, err
	}
	if err := s.Check(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Site is the store's site id.
func (s *Store) Site() string { return s.site }

// Pool exposes the pool for tests and tools.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Check reports whether the store can be reached and its schema is the
// one this exitlane knows (exitlane config check; the lane's health).
func (s *Store) Check(ctx context.Context) error {
	v, n, all, err := s.schemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("sitestore: check: %w", err)
	}
	if v != known() || n != len(embedded) || all != n {
		s.schemaOK.Store(false)
		return &SchemaError{Version: v, Applied: n, Known: known()}
	}
	s.schemaOK.Store(true)
	return nil
}

// ready checks the schema before a store's first operation.
func (s *Store) ready(ctx context.Context) error {
	if s.schemaOK.Load() {
		return nil
	}
	return s.Check(ctx)
}

// tx runs f in one transaction (begin, defer rollback, commit), again
// from the start when PostgreSQL aborted it for a deadlock or a
// serialization failure. f must not keep state between attempts.
func (s *Store) tx(ctx context.Context, f func(pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, f)
		if err == nil || attempt == 5 || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// isUnique reports a unique violation (SQLSTATE 23505): a lost race for a claim.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

func isCheck(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514"
}

// ts is an instant for a nullable timestamptz column (zero: NULL).
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// utcOf reads a nullable timestamptz (NULL: zero).
func utcOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
