package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	"github.com/mattn/go-sqlite3"
)

// OpenReadOnly opens an existing ledger for reading only: no migrations,
// no recovery. Tools that look at a lane's ledger while the lane runs
// (backup, check, reports) use it, because Open's recovery would mark the
// running lane's authorised pulses unknown.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?mode=ro&_busy_timeout=5000&_foreign_keys=on")
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	l := &DB{db: db, path: path}
	if _, err := l.Migrations(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: open %s: not a ledger (%w)", path, err)
	}
	return l, nil
}

// Backup writes a consistent copy of the ledger at src to dst with
// SQLite's online backup API: the lane may keep writing while it runs
// (the copy is the ledger as of one read transaction, not a file copy of
// a database in use). The copy is written to a temporary file beside dst,
// checked (Verify), made mode 600 and only then renamed to dst, so dst is
// either absent or a whole, checked ledger.
func Backup(ctx context.Context, src, dst string) error {
	l, err := OpenReadOnly(ctx, src)
	if err != nil {
		return fmt.Errorf("ledger: backup: %w", err)
	}
	defer l.Close()
	return l.Backup(ctx, dst)
}

// Backup writes a consistent copy of l to dst (see the function Backup).
func (l *DB) Backup(ctx context.Context, dst string) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("ledger: backup: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer func() {
		if err != nil {
			os.Remove(tmpPath)
			os.Remove(tmpPath + "-journal")
		}
	}()
	if err := os.Chmod(tmpPath, 0o600); err != nil {
		return fmt.Errorf("ledger: backup: %w", err)
	}
	if err := l.copyTo(ctx, tmpPath); err != nil {
		return fmt.Errorf("ledger: backup: %w", err)
	}
	if err := Verify(ctx, tmpPath); err != nil {
		return fmt.Errorf("ledger: backup: the copy: %w", err)
	}
	if err := syncFile(tmpPath); err != nil {
		return fmt.Errorf("ledger: backup: %w", err)
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		return fmt.Errorf("ledger: backup: %w", err)
	}
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return fmt.Errorf("ledger: backup: %w", err)
	}
	return nil
}

// copyTo runs the backup API from l's main database into the file path.
// One step of all pages: the whole copy is taken inside one read
// transaction, so writers on other connections never restart it.
func (l *DB) copyTo(ctx context.Context, path string) error {
	dstDB, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath())
	if err != nil {
		return err
	}
	defer dstDB.Close()
	dc, err := dstDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer dc.Close()
	sc, err := l.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	err = dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error {
			dconn, ok1 := d.(*sqlite3.SQLiteConn)
			sconn, ok2 := s.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("not a go-sqlite3 connection")
			}
			b, err := dconn.Backup("main", sconn, "main")
			if err != nil {
				return err
			}
			done, err := b.Step(-1)
			if err == nil && !done {
				err = errors.New("backup step did not finish")
			}
			if ferr := b.Finish(); err == nil {
				err = ferr
			}
			return err
		})
	})
	if err == nil {
		// The copy carries the source's WAL mode in its header; a
		// backup file is one self-contained file (readers of it, such
		// as Verify, open it read-only and could not remove a -wal or
		// -shm). ledger.Open makes a restored copy WAL again.
		_, err = dc.ExecContext(ctx, `PRAGMA journal_mode=DELETE`)
	}
	if err != nil {
		return err
	}
	if err := dc.Close(); err != nil {
		return err
	}
	return dstDB.Close()
}

// Verify checks that the file at path is a whole ledger: SQLite's
// integrity check passes and its migrations table is readable.
func Verify(ctx context.Context, path string) error {
	l, err := OpenReadOnly(ctx, path)
	if err != nil {
		return err
	}
	defer l.Close()
	bad, err := l.Integrity(ctx)
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		return fmt.Errorf("integrity check: %s", bad[0])
	}
	return nil
}

// Integrity runs SQLite's PRAGMA integrity_check and returns what it
// found wrong (nothing: the database file is sound).
func (l *DB) Integrity(ctx context.Context) ([]string, error) {
	rows, err := l.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, fmt.Errorf("ledger: integrity check: %w", err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("ledger: integrity check: %w", err)
		}
		if s != "ok" {
			bad = append(bad, s)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: integrity check: %w", err)
	}
	return bad, nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
