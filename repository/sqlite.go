package repository

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" database/sql driver
)

// migrations are applied in order at open; PRAGMA user_version records how many have been
// applied. Append only: never edit an applied migration.
var migrations = []string{
	// 1: manifests and their soft bindings.
	`CREATE TABLE manifests (
		id      TEXT PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 512),
		store   BLOB NOT NULL CHECK (length(store) BETWEEN 1 AND 16777216),
		created INTEGER NOT NULL DEFAULT (unixepoch())
	) STRICT;
	CREATE TABLE bindings (
		seq         INTEGER PRIMARY KEY AUTOINCREMENT,
		manifest_id TEXT NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
		alg         TEXT NOT NULL CHECK (length(alg) BETWEEN 1 AND 256),
		value       BLOB NOT NULL CHECK (length(value) BETWEEN 1 AND 4096),
		UNIQUE (alg, value, manifest_id)
	) STRICT;
	CREATE INDEX bindings_manifest ON bindings(manifest_id);`,
}

// SQLite is a Store in an embedded SQLite database (modernc.org/sqlite, pure Go, no cgo), in
// WAL mode so that readers do not block the writer. Several processes may open the same file;
// writes are serialised by SQLite's lock (busy timeout 5 s).
type SQLite struct {
	cfg storeConfig
	db  *sql.DB
}

// OpenSQLite opens or creates the database file at path, sets WAL mode and applies the schema
// migrations it lacks. A database written by a newer schema than this program knows is refused.
func OpenSQLite(path string, opts ...StoreOption) (*SQLite, error) {
	if path == "" {
		return nil, fmt.Errorf("repository: open sqlite: %w: empty path", ErrInvalid)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("repository: open sqlite %s: %w", path, err)
	}
	s := &SQLite{cfg: newStoreConfig(opts), db: db}
	if err := s.migrate(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("repository: open sqlite %s: %w", path, err)
	}
	return s, nil
}

// migrate applies the missing migrations in one transaction.
func (s *SQLite) migrate(ctx context.Context) error {
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, WAL required", mode)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if version > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this program's %d", version, len(migrations))
	}
	if version == len(migrations) {
		return nil
	}
	for i := version; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	// PRAGMA takes no bound parameters; the value is an int this program computed.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// SchemaVersion returns the number of schema migrations applied to the database.
func (s *SQLite) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("repository: schema version: %w", err)
	}
	return v, nil
}

// Close closes the database.
func (s *SQLite) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("repository: close sqlite: %w", err)
	}
	return nil
}

// Ping checks that the database answers; the HTTP status route uses it.
func (s *SQLite) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("repository: ping sqlite: %w", err)
	}
	return nil
}

// Put implements Store.
func (s *SQLite) Put(ctx context.Context, rec Record) error {
	if err := validateRecord(rec); err != nil {
		return fmt.Errorf("repository: put: %w", err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("repository: put %q: begin: %w", rec.ManifestID, err)
	}
	defer tx.Rollback()
	var prev []byte
	err = tx.QueryRowContext(ctx, "SELECT store FROM manifests WHERE id = ?", rec.ManifestID).Scan(&prev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, "INSERT INTO manifests (id, store) VALUES (?, ?)", rec.ManifestID, rec.Store); err != nil {
			return fmt.Errorf("repository: put %q: insert manifest: %w", rec.ManifestID, err)
		}
	case err != nil:
		return fmt.Errorf("repository: put %q: read manifest: %w", rec.ManifestID, err)
	case !bytes.Equal(prev, rec.Store):
		return fmt.Errorf("repository: put %q: %w", rec.ManifestID, ErrConflict)
	}
	for i, b := range rec.Bindings {
		if _, err := tx.ExecContext(ctx,
			"INSERT OR IGNORE INTO bindings (manifest_id, alg, value) VALUES (?, ?, ?)",
			rec.ManifestID, b.Alg, b.Value); err != nil {
			return fmt.Errorf("repository: put %q: insert binding %d: %w", rec.ManifestID, i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("repository: put %q: commit: %w", rec.ManifestID, err)
	}
	return nil
}

// Manifest implements Store.
func (s *SQLite) Manifest(ctx context.Context, id string) ([]byte, error) {
	if err := ValidateManifestID(id); err != nil {
		return nil, fmt.Errorf("repository: manifest: %w", err)
	}
	var b []byte
	err := s.db.QueryRowContext(ctx, "SELECT store FROM manifests WHERE id = ?", id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("repository: manifest %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("repository: manifest %q: %w", id, err)
	}
	return b, nil
}

// ByBinding implements Store. For alg "io.iscc.v0" it scans every stored ISCC value (see the
// package documentation); for any other alg it uses the (alg, value) index.
func (s *SQLite) ByBinding(ctx context.Context, alg string, value []byte, maxResults int) ([]Match, error) {
	if err := validateQuery(alg, value, maxResults); err != nil {
		return nil, fmt.Errorf("repository: by binding: %w", err)
	}
	r := newRanker(alg, value, s.cfg.minSimilarity)
	var (
		rows *sql.Rows
		err  error
	)
	if r.hasQuery {
		rows, err = s.db.QueryContext(ctx,
			"SELECT manifest_id, value, seq FROM bindings WHERE alg = ? ORDER BY seq", alg)
	} else {
		// Exact matches only: UNIQUE(alg, value, manifest_id) gives one row per manifest, all
		// scoring 100, so the first maxResults in storage order are the answer.
		rows, err = s.db.QueryContext(ctx,
			"SELECT manifest_id, value, seq FROM bindings WHERE alg = ? AND value = ? ORDER BY seq LIMIT ?",
			alg, value, maxResults)
	}
	if err != nil {
		return nil, fmt.Errorf("repository: by binding: query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c candidate
		if err := rows.Scan(&c.manifestID, &c.value, &c.order); err != nil {
			return nil, fmt.Errorf("repository: by binding: scan: %w", err)
		}
		r.add(c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("repository: by binding: rows: %w", err)
	}
	return r.result(maxResults), nil
}
