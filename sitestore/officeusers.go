package sitestore

// The office console's own records (migration 006): its users, failed
// log-ins, sessions, audit trail and alarms. The policy (roles, lockout
// length, session timeouts, what raises an alarm) is the office's; the
// store keeps the rows and makes each change atomic.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrUserExists: AddOfficeUser of a name already taken.
var ErrUserExists = errors.New("sitestore: office user exists")

// OfficeUser is one user of the office console.
type OfficeUser struct {
	Name         string
	Role         string // viewer, supervisor or admin
	PasswordHash []byte // bcrypt
	Disabled     bool
	Created      time.Time
	PasswordAt   time.Time
	LastLogin    time.Time // zero: never
}

const userCols = `name, role, password_hash, disabled, created_at, password_at, last_login_at`

func scanUser(r pgx.Row) (OfficeUser, error) {
	var u OfficeUser
	var hash string
	var last *time.Time
	err := r.Scan(&u.Name, &u.Role, &hash, &u.Disabled, &u.Created, &u.PasswordAt, &last)
	u.PasswordHash, u.Created, u.PasswordAt, u.LastLogin = []byte(hash), u.Created.UTC(), u.PasswordAt.UTC(), utcOf(last)
	return u, err
}

// AddOfficeUser adds a user (ErrUserExists if the name is taken).
func (s *Store) AddOfficeUser(ctx context.Context, u OfficeUser) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO office_users (site, name, role, password_hash, disabled, created_at, password_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, s.site, u.Name, u.Role, string(u.PasswordHash), u.Disabled, u.Created.UTC())
	switch {
	case isUnique(err):
		return fmt.Errorf("sitestore: add office user %s: %w", u.Name, ErrUserExists)
	case err != nil:
		return fmt.Errorf("sitestore: add office user: %w", err)
	}
	return nil
}

// OfficeUser returns one user (ErrNotFound if there is none).
func (s *Store) OfficeUser(ctx context.Context, name string) (OfficeUser, error) {
	if err := s.ready(ctx); err != nil {
		return OfficeUser{}, err
	}
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM office_users WHERE site = $1 AND name = $2`, s.site, name))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("sitestore: office user %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("sitestore: office user: %w", err)
	}
	return u, nil
}

// OfficeUsers lists the users by name.
func (s *Store) OfficeUsers(ctx context.Context) ([]OfficeUser, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM office_users WHERE site = $1 ORDER BY name`, s.site)
	if err != nil {
		return nil, fmt.Errorf("sitestore: office users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OfficeUser, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("sitestore: office users: %w", err)
	}
	return out, nil
}

// updateUser runs one UPDATE of a user and ends the user's sessions when
// endSessions (a new password, a disabled account, a new role).
func (s *Store) updateUser(ctx context.Context, op, name string, at time.Time, endSessions bool, sql string, args ...any) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, sql, append([]any{s.site, name}, args...)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return ErrNotFound
		}
		if endSessions {
			_, err = tx.Exec(ctx, `UPDATE office_sessions SET ended_at = $3 WHERE site = $1 AND user_name = $2 AND ended_at IS NULL`,
				s.site, name, at.UTC())
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("sitestore: %s %s: %w", op, name, err)
	}
	return nil
}

// SetOfficePassword replaces a user's password hash, clears the name's
// failed log-ins and ends the user's sessions.
func (s *Store) SetOfficePassword(ctx context.Context, name string, hash []byte, at time.Time) error {
	if err := s.updateUser(ctx, "set password of", name, at, true,
		`UPDATE office_users SET password_hash = $3, password_at = $4 WHERE site = $1 AND name = $2`, string(hash), at.UTC()); err != nil {
		return err
	}
	return s.OfficeLoginSucceeded(ctx, name, time.Time{})
}

// SetOfficeUserDisabled disables (ending the user's sessions) or enables
// a user.
func (s *Store) SetOfficeUserDisabled(ctx context.Context, name string, disabled bool, at time.Time) error {
	return s.updateUser(ctx, "disable", name, at, disabled,
		`UPDATE office_users SET disabled = $3 WHERE site = $1 AND name = $2`, disabled)
}

// SetOfficeRole changes a user's role and ends the user's sessions.
func (s *Store) SetOfficeRole(ctx context.Context, name, role string, at time.Time) error {
	return s.updateUser(ctx, "set role of", name, at, true,
		`UPDATE office_users SET role = $3 WHERE site = $1 AND name = $2`, role)
}

// LoginFailures is the state of failed log-ins for one typed name.
type LoginFailures struct {
	Failed      int       // in a row
	LockedUntil time.Time // zero: not locked
}

// OfficeLoginFailures returns the failed log-ins of name (zero if none).
func (s *Store) OfficeLoginFailures(ctx context.Context, name string) (LoginFailures, error) {
	if err := s.ready(ctx); err != nil {
		return LoginFailures{}, err
	}
	var f LoginFailures
	var until *time.Time
	err := s.pool.QueryRow(ctx, `SELECT failed, locked_until FROM office_login_failures WHERE site = $1 AND name = $2`,
		s.site, name).Scan(&f.Failed, &until)
	if errors.Is(err, pgx.ErrNoRows) {
		return LoginFailures{}, nil
	}
	if err != nil {
		return f, fmt.Errorf("sitestore: login failures: %w", err)
	}
	f.LockedUntil = utcOf(until)
	return f, nil
}

// OfficeLoginFailed counts a failed log-in of name at now: after max
// failures in a row the name is locked until now+lock (and the count
// starts again once that lock has passed). It returns the new state.
func (s *Store) OfficeLoginFailed(ctx context.Context, name string, now time.Time, max int, lock time.Duration) (LoginFailures, error) {
	if err := s.ready(ctx); err != nil {
		return LoginFailures{}, err
	}
	var f LoginFailures
	var until *time.Time
	err := s.pool.QueryRow(ctx, `INSERT INTO office_login_failures AS f (site, name, failed, last_at, locked_until)
		VALUES ($1, $2, 1, $3, CASE WHEN $4 <= 1 THEN $5::timestamptz END)
		ON CONFLICT (site, name) DO UPDATE SET
			failed = CASE WHEN f.locked_until IS NOT NULL AND f.locked_until <= $3 THEN 1 ELSE f.failed + 1 END,
			last_at = $3,
			locked_until = CASE
				WHEN f.locked_until IS NOT NULL AND f.locked_until > $3 THEN f.locked_until
				WHEN (CASE WHEN f.locked_until IS NOT NULL AND f.locked_until <= $3 THEN 1 ELSE f.failed + 1 END) >= $4 THEN $5::timestamptz
				END
		RETURNING failed, locked_until`, s.site, name, now.UTC(), max, now.Add(lock).UTC()).Scan(&f.Failed, &until)
	if err != nil {
		return f, fmt.Errorf("sitestore: login failed: %w", err)
	}
	f.LockedUntil = utcOf(until)
	return f, nil
}

// OfficeLoginSucceeded clears name's failed log-ins and, for a user,
// records the log-in time (at zero: only the clearing).
func (s *Store) OfficeLoginSucceeded(ctx context.Context, name string, at time.Time) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue(`DELETE FROM office_login_failures WHERE site = $1 AND name = $2`, s.site, name)
	if !at.IsZero() {
		b.Queue(`UPDATE office_users SET last_login_at = $3 WHERE site = $1 AND name = $2`, s.site, name, at.UTC())
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("sitestore: login succeeded: %w", err)
	}
	return nil
}

// OfficeSession is one log-in of the console. ID is the SHA-256 of the
// random id in the cookie.
type OfficeSession struct {
	ID       []byte
	User     OfficeUser
	CSRF     string
	Remote   string
	Created  time.Time
	LastSeen time.Time
	Ended    time.Time // zero: live
}

// CreateOfficeSession stores a new session of s.User.Name.
func (s *Store) CreateOfficeSession(ctx context.Context, ss OfficeSession) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO office_sessions (id_sha256, site, user_name, csrf, remote, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6)`, ss.ID, s.site, ss.User.Name, ss.CSRF, ss.Remote, ss.Created.UTC()); err != nil {
		return fmt.Errorf("sitestore: create session: %w", err)
	}
	return nil
}

// OfficeSessionByID returns a session with its user (ErrNotFound if
// there is none).
func (s *Store) OfficeSessionByID(ctx context.Context, id []byte) (OfficeSession, error) {
	if err := s.ready(ctx); err != nil {
		return OfficeSession{}, err
	}
	ss := OfficeSession{ID: id}
	var ended, last *time.Time
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT s.csrf, s.remote, s.created_at, s.last_seen_at, s.ended_at,
			u.name, u.role, u.password_hash, u.disabled, u.created_at, u.password_at, u.last_login_at
		FROM office_sessions s JOIN office_users u ON u.site = s.site AND u.name = s.user_name
		WHERE s.id_sha256 = $1 AND s.site = $2`, id, s.site).Scan(&ss.CSRF, &ss.Remote, &ss.Created, &ss.LastSeen, &ended,
		&ss.User.Name, &ss.User.Role, &hash, &ss.User.Disabled, &ss.User.Created, &ss.User.PasswordAt, &last)
	if errors.Is(err, pgx.ErrNoRows) {
		return ss, fmt.Errorf("sitestore: session: %w", ErrNotFound)
	}
	if err != nil {
		return ss, fmt.Errorf("sitestore: session: %w", err)
	}
	ss.User.PasswordHash, ss.User.LastLogin = []byte(hash), utcOf(last)
	ss.Created, ss.LastSeen, ss.Ended = ss.Created.UTC(), ss.LastSeen.UTC(), utcOf(ended)
	return ss, nil
}

// TouchOfficeSession records activity on a live session at now.
func (s *Store) TouchOfficeSession(ctx context.Context, id []byte, now time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE office_sessions SET last_seen_at = greatest(last_seen_at, $3)
		WHERE id_sha256 = $1 AND site = $2 AND ended_at IS NULL`, id, s.site, now.UTC()); err != nil {
		return fmt.Errorf("sitestore: touch session: %w", err)
	}
	return nil
}

// EndOfficeSession ends a session (log-out or expiry).
func (s *Store) EndOfficeSession(ctx context.Context, id []byte, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE office_sessions SET ended_at = $3
		WHERE id_sha256 = $1 AND site = $2 AND ended_at IS NULL`, id, s.site, at.UTC()); err != nil {
		return fmt.Errorf("sitestore: end session: %w", err)
	}
	return nil
}

// OfficeAuditEntry is one line of the office's audit trail.
type OfficeAuditEntry struct {
	ID     int64
	At     time.Time
	User   string
	Remote string
	Action string // login, login_failed, logout, refund, close_lane, ...
	Lane   string
	Reason string
	Result string
}

// AddOfficeAudit appends an entry to the office's audit trail.
func (s *Store) AddOfficeAudit(ctx context.Context, e OfficeAuditEntry) error {
	if err := s.ready(ctx); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO office_audit (site, at, user_name, remote, action, lane, reason, result)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, s.site, e.At.UTC(), e.User, e.Remote, e.Action, e.Lane, e.Reason, e.Result); err != nil {
		return fmt.Errorf("sitestore: office audit: %w", err)
	}
	return nil
}

// OfficeAudit lists the newest entries of the office's audit trail, at
// most limit, newest first.
func (s *Store) OfficeAudit(ctx context.Context, limit int) ([]OfficeAuditEntry, error) {
	if err := s.ready(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT id, at, user_name, remote, action, lane, reason, result FROM office_audit
		WHERE site = $1 ORDER BY id DESC LIMIT $2`, s.site, limit)
	if err != nil {
		return nil, fmt.Errorf("sitestore: office audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OfficeAuditEntry, error) {
		var e OfficeAuditEntry
		err := r.Scan(&e.ID, &e.At, &e.User, &e.Remote, &e.Action, &e.Lane, &e.Reason, &e.Result)
		e.At = e.At.UTC()
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: office audit: %w", err)
	}
	return out, nil
}

// Alarm is one alarm of the office: raised, and cleared once its cause
// is gone. Kind, Lane and Subject identify it; one of a kind is open at
// a time.
type Alarm struct {
	ID      int64
	Kind    string
	Lane    string
	Subject string
	Detail  string
	Raised  time.Time
	Cleared time.Time // zero: open
}

// Key identifies the condition an alarm stands for.
func (a Alarm) Key() string { return a.Kind + "\x00" + a.Lane + "\x00" + a.Subject }

// SyncAlarms makes the open alarms those of active, at now: an alarm in
// active and not open is raised, an open alarm not in active is cleared,
// an open one still active keeps its raise time (its detail is updated).
// It returns how many were raised and cleared.
func (s *Store) SyncAlarms(ctx context.Context, now time.Time, active []Alarm) (raised, cleared int, err error) {
	if err := s.ready(ctx); err != nil {
		return 0, 0, err
	}
	err = s.tx(ctx, func(tx pgx.Tx) error {
		raised, cleared = 0, 0
		// One evaluator at a time (two office servers over one store).
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('office_alarms:' || $1))`, s.site); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, kind, lane, subject FROM office_alarms WHERE site = $1 AND cleared_at IS NULL`, s.site)
		if err != nil {
			return err
		}
		open := map[string]int64{}
		for rows.Next() {
			var a Alarm
			if err := rows.Scan(&a.ID, &a.Kind, &a.Lane, &a.Subject); err != nil {
				rows.Close()
				return err
			}
			open[a.Key()] = a.ID
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, a := range active {
			k := a.Key()
			if seen[k] {
				continue
			}
			seen[k] = true
			if id, ok := open[k]; ok {
				if _, err := tx.Exec(ctx, `UPDATE office_alarms SET detail = $2 WHERE id = $1 AND detail <> $2`, id, a.Detail); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO office_alarms (site, kind, lane, subject, detail, raised_at) VALUES ($1, $2, $3, $4, $5, $6)`,
				s.site, a.Kind, a.Lane, a.Subject, a.Detail, now.UTC()); err != nil {
				return err
			}
			raised++
		}
		for k, id := range open {
			if seen[k] {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE office_alarms SET cleared_at = $2 WHERE id = $1`, id, now.UTC()); err != nil {
				return err
			}
			cleared++
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("sitestore: sync alarms: %w", err)
	}
	return raised, cleared, nil
}

// Alarms lists the open alarms (oldest first) and then up to limit of
// the cleared ones (newest first).
func (s *Store) Alarms(ctx context.Context, limit int) (open, cleared []Alarm, err error) {
	if err := s.ready(ctx); err != nil {
		return nil, nil, err
	}
	rows, err := s.pool.Query(ctx, `(SELECT id, kind, lane, subject, detail, raised_at, cleared_at FROM office_alarms
			WHERE site = $1 AND cleared_at IS NULL ORDER BY raised_at, id)
		UNION ALL
		(SELECT id, kind, lane, subject, detail, raised_at, cleared_at FROM office_alarms
			WHERE site = $1 AND cleared_at IS NOT NULL ORDER BY cleared_at DESC, id DESC LIMIT $2)`, s.site, limit)
	if err != nil {
		return nil, nil, fmt.Errorf("sitestore: alarms: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alarm, error) {
		var a Alarm
		var c *time.Time
		err := r.Scan(&a.ID, &a.Kind, &a.Lane, &a.Subject, &a.Detail, &a.Raised, &c)
		a.Raised, a.Cleared = a.Raised.UTC(), utcOf(c)
		return a, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("sitestore: alarms: %w", err)
	}
	for _, a := range all {
		if a.Cleared.IsZero() {
			open = append(open, a)
		} else {
			cleared = append(cleared, a)
		}
	}
	return open, cleared, nil
}
