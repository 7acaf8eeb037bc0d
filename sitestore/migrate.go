package sitestore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLock is the advisory lock key that serialises migrators (two
// lanes or operators running exitlane store migrate at once).
const migrateLock = 0x65786974_6c616e65 // "exitlane"

type migration struct {
	version int
	name    string
	body    string
}

func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []migration
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("bad migration name %s", base)
		}
		if len(out) > 0 && out[len(out)-1].version == v {
			return nil, fmt.Errorf("two migrations numbered %d", v)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: base, body: string(body)})
	}
	return out, nil
}

var embedded = func() []migration {
	ms, err := loadMigrations(migrations)
	if err != nil {
		panic("sitestore: " + err.Error())
	}
	return ms
}()

// known is the highest migration this exitlane embeds. The embedded
// migrations are numbered in increasing order (TestMigrationsNumbered);
// a number may be missing while parallel branches each hold their own
// (each is applied when it arrives), so a schema is current when every
// embedded migration, and no other, is recorded.
func known() int { return embedded[len(embedded)-1].version }

// embeddedVersions are the numbers of the embedded migrations.
func embeddedVersions() []int32 {
	out := make([]int32, len(embedded))
	for i, m := range embedded {
		out[i] = int32(m.version)
	}
	return out
}

// Migration is one applied migration.
type Migration struct {
	Version   int
	Name      string
	AppliedAt time.Time
}

// Migrate applies the migrations the database lacks, each in its own
// transaction under an advisory lock, and returns their names. It refuses
// (a *SchemaError) a database migrated by a newer exitlane.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	applied, err := s.migrate(ctx, embedded)
	if err != nil {
		return applied, fmt.Errorf("sitestore: migrate: %w", err)
	}
	s.schemaOK.Store(false) // checked again on first use
	return applied, nil
}

func (s *Store) migrate(ctx context.Context, ms []migration) ([]string, error) {
	var applied []string
	for _, m := range ms {
		done := false
		err := s.tx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrateLock)); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var top, have int
			if err := tx.QueryRow(ctx, `SELECT COALESCE(max(version), 0), count(*) FILTER (WHERE version = $1)
				FROM schema_migrations`, m.version).Scan(&top, &have); err != nil {
				return err
			}
			if top > ms[len(ms)-1].version {
				return &SchemaError{Version: top, Known: ms[len(ms)-1].version}
			}
			if have > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.body); err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
			done = true
			return nil
		})
		if err != nil {
			return applied, err
		}
		if done {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// Migrations lists the migrations recorded in the database.
func (s *Store) Migrations(ctx context.Context) ([]Migration, error) {
	rows, err := s.pool.Query(ctx, `SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("sitestore: migrations: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Migration, error) {
		var m Migration
		err := r.Scan(&m.Version, &m.Name, &m.AppliedAt)
		m.AppliedAt = m.AppliedAt.UTC()
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("sitestore: migrations: %w", err)
	}
	return out, nil
}

// schemaVersion returns the highest recorded migration, how many of the
// embedded ones are recorded, and how many are recorded in all (0, 0, 0
// for a database never migrated).
func (s *Store) schemaVersion(ctx context.Context) (version, applied, recorded int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT COALESCE(max(version), 0), count(*) FILTER (WHERE version = ANY($1)), count(*)
		FROM schema_migrations`, embeddedVersions()).Scan(&version, &applied, &recorded)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: never migrated
		return 0, 0, 0, nil
	}
	return version, applied, recorded, err
}
