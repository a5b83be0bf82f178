// Package records is the factory's database: boards and their certificates, the outbox of
// pending DPS enrollments, stations, customers, shipments and the audit trail, in SQLite or
// PostgreSQL through database/sql with numbered migrations.
package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver
)

// DatabaseFile is the SQLite database's name in the data directory.
const DatabaseFile = "factory.db"

// Sentinel errors callers branch on.
var (
	ErrNotFound = errors.New("records: not found")
	ErrExists   = errors.New("records: already exists")
)

// Store is an open factory database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// rd serves the pages' and the API's reads: on SQLite a pool of read-only connections
	// beside the one writer, so that reads run on every core and never wait behind a write's
	// fsync (WAL lets readers and the writer work at once); on PostgreSQL the same pool as db.
	rd       *sql.DB
	postgres bool
}

// SQLite's page cache per connection (KiB, as cache_size takes it negated) and the size of the
// file it reads through mmap rather than a read call per page: a 100,000-board fleet's indexes
// stay in memory.
const (
	sqliteCache = "_pragma=cache_size(-32768)&_pragma=mmap_size(1073741824)"
	// readers is how many read-only connections serve reads at once.
	readers = 4
)

// OpenSQLite opens (creating if needed) the SQLite database in dir: WAL journal, a busy timeout,
// one connection so that there is one writer, and beside it a pool of read-only connections.
func OpenSQLite(ctx context.Context, dir string) (*Store, error) {
	file := "file:" + filepath.Join(dir, DatabaseFile)
	db, err := sql.Open("sqlite", file+
		"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&"+sqliteCache)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	db.SetMaxOpenConns(1)
	s, err := open(ctx, db, false)
	if err != nil {
		return nil, err
	}
	// Opened after the migrations, which the writer runs.
	if s.rd, err = sql.Open("sqlite", file+"?_pragma=query_only(1)&_pragma=busy_timeout(10000)&"+sqliteCache); err != nil {
		db.Close()
		return nil, fmt.Errorf("records: %w", err)
	}
	s.rd.SetMaxOpenConns(readers)
	s.rd.SetMaxIdleConns(readers)
	if err := s.rd.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("records: connect: %w", err)
	}
	return s, nil
}

// OpenPostgres opens the PostgreSQL database at dbURL (postgres://…).
func OpenPostgres(ctx context.Context, dbURL string) (*Store, error) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, errors.New("records: the database URL must start postgres:// or postgresql://")
	}
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, fmt.Errorf("records: %w", err)
	}
	return open(ctx, db, true)
}

func open(ctx context.Context, db *sql.DB, postgres bool) (*Store, error) {
	s := &Store{db: db, rd: db, postgres: postgres}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("records: connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	if s.rd != s.db {
		s.rd.Close()
	}
	return s.db.Close()
}

// q rewrites ? placeholders as $n for PostgreSQL; the SQL is otherwise the same on both.
func (s *Store) q(query string) string {
	if !s.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tx runs f in a transaction, committed when f returns nil.
func (s *Store) tx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("records: %w", err)
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("records: commit: %w", err)
	}
	return nil
}

// tsLayout is RFC 3339 with nine fraction digits always, so that text order is time order.
const tsLayout = "2006-01-02T15:04:05.000000000Z07:00"

// ts is how times are stored: UTC RFC 3339 text of fixed width sorts and reads the same on both
// databases (times stored before had fractions of varying width; parseTS reads both).
func ts(t time.Time) string { return t.UTC().Format(tsLayout) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func nullTS(s sql.NullString) time.Time {
	if !s.Valid {
		return time.Time{}
	}
	return parseTS(s.String)
}

// TimeText is a time as the records store it (fixed-width RFC 3339 in UTC, so that text order is
// time order), as a Cursor carries it.
func TimeText(t time.Time) string { return ts(t) }
