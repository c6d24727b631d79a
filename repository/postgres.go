package repository

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ailabel/ailabel/softbinding/iscc"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgMigrations are the PostgreSQL schema migrations, applied in order at open; the table
// schema_migrations records the versions applied (version n is pgMigrations[n-1]). Append only:
// never edit an applied migration.
//
// The logical schema is SQLite's. Two differences: a B-tree entry holds at most about 2.7 kB, so
// the uniqueness of (alg, value, manifest_id) and the exact-match lookup go through value_hash
// = sha256(value) (values reach MaxValueBytes = 4 kB); and image_code keeps the ISCC Image-Code
// unit of io.iscc.v0 values (iscc.Code.Bytes, header and body) so that the similarity scan reads
// a small covering index instead of decoding every stored ISCC-SEQ.
var pgMigrations = []string{
	// 1: manifests and their soft bindings.
	`CREATE TABLE manifests (
		id      text PRIMARY KEY CHECK (octet_length(id) BETWEEN 1 AND 512),
		store   bytea NOT NULL CHECK (octet_length(store) BETWEEN 1 AND 16777216),
		created timestamptz NOT NULL DEFAULT now()
	);
	CREATE TABLE bindings (
		seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		manifest_id text NOT NULL REFERENCES manifests(id) ON DELETE CASCADE,
		alg         text NOT NULL CHECK (octet_length(alg) BETWEEN 1 AND 256),
		value       bytea NOT NULL CHECK (octet_length(value) BETWEEN 1 AND 4096),
		value_hash  bytea NOT NULL GENERATED ALWAYS AS (sha256(value)) STORED,
		image_code  bytea CHECK (octet_length(image_code) BETWEEN 5 AND 64),
		CONSTRAINT bindings_alg_value_manifest UNIQUE (alg, value_hash, manifest_id)
	);
	CREATE INDEX bindings_manifest ON bindings (manifest_id);
	CREATE INDEX bindings_image_code ON bindings (alg, seq) INCLUDE (manifest_id, image_code)
		WHERE image_code IS NOT NULL;`,
}

// pgMigrationLock is the pg_advisory_xact_lock key that serialises migrations of replicas
// opening one database at once ("ailabel" in ASCII).
const pgMigrationLock = 0x61696c6162656c

// pgDefaultConnectTimeout bounds a connection attempt when the DSN does not set connect_timeout,
// so that an unreachable database fails with ErrUnavailable instead of waiting for the caller's
// deadline.
const pgDefaultConnectTimeout = 5 * time.Second

// pgPutAttempts bounds the tries of one Put that hits a deadlock, a serialisation failure or a
// connection that broke before anything was sent.
const pgPutAttempts = 4

// Postgres is a Store in a PostgreSQL database (github.com/jackc/pgx, a connection pool), for
// several sidecar replicas sharing one repository. Put writes a manifest and its bindings in one
// transaction; concurrent Puts of one manifest from several processes are safe (the first
// writer wins, identical retries succeed, different bytes fail with ErrConflict). Errors caused
// by an unreachable or shutting-down database wrap ErrUnavailable.
type Postgres struct {
	cfg    storeConfig
	pool   *pgxpool.Pool
	secret string // the DSN's password, scrubbed from error texts
}

// StoreCloser is a Store that holds resources to release with Close.
type StoreCloser interface {
	Store
	Close() error
}

// Open opens the repository named by dsn: a "postgres://" or "postgresql://" URL opens a
// PostgreSQL database (OpenPostgres; the URL's scheme is matched case-insensitively); anything
// else is the path of a SQLite database file (OpenSQLite), created when missing.
func Open(ctx context.Context, dsn string, opts ...StoreOption) (StoreCloser, error) {
	if IsPostgresDSN(dsn) {
		p, err := OpenPostgres(ctx, dsn, opts...)
		if err != nil {
			return nil, err
		}
		return p, nil
	}
	s, err := OpenSQLite(dsn, opts...)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// IsPostgresDSN reports whether Open treats dsn as a PostgreSQL URL (scheme postgres or
// postgresql).
func IsPostgresDSN(dsn string) bool {
	l := strings.ToLower(dsn[:min(len(dsn), len("postgresql://"))])
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL or keyword/value
// connection string as pgx accepts it, including pool_max_conns) and applies the schema
// migrations it lacks, under an advisory lock so that replicas starting together do not race.
// A database of a newer schema than this program knows is refused. Without connect_timeout in
// dsn, connection attempts time out after 5 s. Errors never contain the DSN's password.
func OpenPostgres(ctx context.Context, dsn string, opts ...StoreOption) (*Postgres, error) {
	pc, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("repository: open postgres: %w: connection string: %s", ErrInvalid, parseErrorText(dsn, err))
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		pc.ConnConfig.ConnectTimeout = pgDefaultConnectTimeout
	}
	p := &Postgres{cfg: newStoreConfig(opts), secret: pc.ConnConfig.Password}
	where := fmt.Sprintf("%s:%d/%s", pc.ConnConfig.Host, pc.ConnConfig.Port, pc.ConnConfig.Database)
	p.pool, err = pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("repository: open postgres %s: %w", where, p.fail(ctx, err))
	}
	if err := p.migrate(ctx); err != nil {
		p.pool.Close()
		return nil, fmt.Errorf("repository: open postgres %s: %w", where, p.fail(ctx, err))
	}
	return p, nil
}

// migrate applies the missing migrations in one transaction under pgMigrationLock.
func (p *Postgres) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(pgMigrationLock)); err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY CHECK (version > 0),
			applied timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var version int
		if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&version); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if version > len(pgMigrations) {
			return fmt.Errorf("schema version %d is newer than this program's %d: upgrade ailabel before using this database", version, len(pgMigrations))
		}
		for i := version; i < len(pgMigrations); i++ {
			if _, err := tx.Exec(ctx, pgMigrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", i+1); err != nil {
				return fmt.Errorf("record migration %d: %w", i+1, err)
			}
		}
		return nil
	})
}

// SchemaVersion returns the newest schema migration applied to the database.
func (p *Postgres) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := p.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("repository: schema version: %w", p.fail(ctx, err))
	}
	return v, nil
}

// Close closes the connection pool, waiting for connections in use to be returned.
func (p *Postgres) Close() error {
	p.pool.Close()
	return nil
}

// Ping checks that the database answers; the HTTP status route uses it.
func (p *Postgres) Ping(ctx context.Context) error {
	if err := p.pool.Ping(ctx); err != nil {
		return fmt.Errorf("repository: ping postgres: %w", p.fail(ctx, err))
	}
	return nil
}

// pgBindings are a record's bindings as the column arrays of one INSERT.
type pgBindings struct {
	algs   []string
	values [][]byte
	codes  [][]byte // ISCC Image-Code unit or nil (NULL)
}

// newPGBindings sorts and deduplicates bs, so that concurrent Puts of one manifest lock its
// binding rows in the same order (no deadlock), and extracts the ISCC Image-Codes.
func newPGBindings(bs []Binding) pgBindings {
	bs = slices.Clone(bs)
	slices.SortFunc(bs, func(a, b Binding) int {
		return cmp.Or(strings.Compare(a.Alg, b.Alg), bytes.Compare(a.Value, b.Value))
	})
	bs = slices.CompactFunc(bs, func(a, b Binding) bool { return a.Alg == b.Alg && bytes.Equal(a.Value, b.Value) })
	var out pgBindings
	for _, b := range bs {
		var code []byte
		if b.Alg == AlgISCC {
			if c, ok := imageCode(b.Value); ok {
				code = c.Bytes()
			}
		}
		out.algs = append(out.algs, b.Alg)
		out.values = append(out.values, b.Value)
		out.codes = append(out.codes, code)
	}
	return out
}

// Put implements Store.
func (p *Postgres) Put(ctx context.Context, rec Record) error {
	if err := validateRecord(rec); err != nil {
		return fmt.Errorf("repository: put: %w", err)
	}
	bs := newPGBindings(rec.Bindings)
	sum := sha256.Sum256(rec.Store)
	var err error
	for attempt := 1; attempt <= pgPutAttempts; attempt++ {
		err = p.put(ctx, rec, sum[:], bs)
		if err == nil || errors.Is(err, ErrConflict) || !retryable(err) || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(time.Duration(attempt*attempt) * 10 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
	}
	if errors.Is(err, ErrConflict) {
		return fmt.Errorf("repository: put %q: %w", rec.ManifestID, ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("repository: put %q: %w", rec.ManifestID, p.fail(ctx, err))
	}
	return nil
}

// put is one attempt of Put: one transaction (READ COMMITTED). INSERT … ON CONFLICT DO NOTHING
// waits for a concurrent writer of the same id; the following SELECT then sees its row.
func (p *Postgres) put(ctx context.Context, rec Record, sum []byte, bs pgBindings) error {
	return pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO manifests (id, store) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
			rec.ManifestID, rec.Store)
		if err != nil {
			return fmt.Errorf("insert manifest: %w", err)
		}
		if tag.RowsAffected() == 0 {
			var same bool
			err := tx.QueryRow(ctx, "SELECT octet_length(store) = $2 AND sha256(store) = $3 FROM manifests WHERE id = $1",
				rec.ManifestID, len(rec.Store), sum).Scan(&same)
			if err != nil {
				return fmt.Errorf("read manifest: %w", err)
			}
			if !same {
				return ErrConflict
			}
		}
		if len(bs.algs) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO bindings (manifest_id, alg, value, image_code)
			SELECT $1, b.alg, b.value, b.image_code
			FROM unnest($2::text[], $3::bytea[], $4::bytea[]) WITH ORDINALITY AS b (alg, value, image_code, n)
			ORDER BY b.n
			ON CONFLICT ON CONSTRAINT bindings_alg_value_manifest DO NOTHING`,
			rec.ManifestID, bs.algs, bs.values, bs.codes); err != nil {
			return fmt.Errorf("insert bindings: %w", err)
		}
		return nil
	})
}

// Manifest implements Store.
func (p *Postgres) Manifest(ctx context.Context, id string) ([]byte, error) {
	if err := ValidateManifestID(id); err != nil {
		return nil, fmt.Errorf("repository: manifest: %w", err)
	}
	var b []byte
	err := p.pool.QueryRow(ctx, "SELECT store FROM manifests WHERE id = $1", id).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("repository: manifest %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("repository: manifest %q: %w", id, p.fail(ctx, err))
	}
	return b, nil
}

// ByBinding implements Store. Exact matches use the (alg, sha256(value)) index. For alg
// "io.iscc.v0" with a decodable query it also scans the stored Image-Codes (a covering partial
// index: manifest, order and the 34-byte unit per row) and scores them as similarity.go does.
// A stored value equal to the query has an equal Image-Code, so every exact match of an
// ISCC-SEQ is also found by the scan; values without an Image-Code match exactly only.
func (p *Postgres) ByBinding(ctx context.Context, alg string, value []byte, maxResults int) ([]Match, error) {
	if err := validateQuery(alg, value, maxResults); err != nil {
		return nil, fmt.Errorf("repository: by binding: %w", err)
	}
	r := newRanker(alg, value, p.cfg.minSimilarity)
	// Exact matches: UNIQUE(alg, value, manifest_id) gives one row per manifest, all scoring
	// 100, so the first maxResults in storage order are the best of them.
	rows, err := p.pool.Query(ctx,
		"SELECT manifest_id, seq FROM bindings WHERE alg = $1 AND value_hash = sha256($2) AND value = $2 ORDER BY seq LIMIT $3",
		alg, value, maxResults)
	if err != nil {
		return nil, fmt.Errorf("repository: by binding: query: %w", p.fail(ctx, err))
	}
	var c candidate
	_, err = pgx.ForEachRow(rows, []any{&c.manifestID, &c.order}, func() error {
		r.add(candidate{manifestID: c.manifestID, value: value, order: c.order})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repository: by binding: rows: %w", p.fail(ctx, err))
	}
	if r.hasQuery {
		rows, err := p.pool.Query(ctx,
			"SELECT manifest_id, seq, image_code FROM bindings WHERE alg = $1 AND image_code IS NOT NULL ORDER BY seq", alg)
		if err != nil {
			return nil, fmt.Errorf("repository: by binding: similarity query: %w", p.fail(ctx, err))
		}
		var (
			id    string
			order int64
			unit  []byte
		)
		_, err = pgx.ForEachRow(rows, []any{&id, &order, &unit}, func() error {
			code, err := iscc.FromBytes(unit)
			if err != nil {
				return nil // not written by Put; nothing to compare
			}
			if s, ok := similarity(r.query, code); ok && s >= r.minScore {
				r.addScored(id, order, s)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("repository: by binding: similarity rows: %w", p.fail(ctx, err))
		}
	}
	return r.result(maxResults), nil
}

// addScored records a match whose score is already known, with ranker.add's rule: one entry per
// manifest, the best score, then the earliest order.
func (r *ranker) addScored(id string, order int64, score int) {
	if prev, ok := r.best[id]; !ok || score > prev.score || (score == prev.score && order < prev.order) {
		r.best[id] = scored{score: score, order: order}
	}
}

// fail prepares an error from pgx for returning: it marks a database that cannot be reached with
// ErrUnavailable (unless ctx itself ended: a caller's deadline or cancellation stays what it is)
// and removes the DSN's password from the text.
func (p *Postgres) fail(ctx context.Context, err error) error {
	if ctx.Err() == nil && unavailable(err) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if p.secret != "" && strings.Contains(err.Error(), p.secret) {
		err = &redactedError{err: err, secrets: []string{p.secret}}
	}
	return err
}

// unavailable reports whether err means that the database cannot be reached or is shutting
// down or starting up, as opposed to refusing the request itself.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01 admin_shutdown, 57P02 crash_shutdown,
		// 57P03 cannot_connect_now (starting up or shutting down).
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return pgconn.SafeToRetry(err) || errors.As(err, &ce) || errors.As(err, &ne) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// retryable reports whether a failed Put may simply be tried again: a deadlock or serialisation
// failure, or a connection that failed before the transaction sent anything.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01"
	}
	return pgconn.SafeToRetry(err)
}

// redactedError hides secrets in the text of the error it wraps.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string { return scrub(e.err.Error(), e.secrets) }
func (e *redactedError) Unwrap() error { return e.err }

// scrub replaces every secret in s by "xxxxx".
func scrub(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "xxxxx")
		}
	}
	return s
}

var keywordPassword = regexp.MustCompile(`(?i)\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|[^\s]+)`)

// parseErrorText returns pgx's text for a connection string it could not parse, without the
// password. When the password cannot be located with certainty, the details are withheld.
func parseErrorText(dsn string, err error) string {
	var secrets []string
	if u, uerr := url.Parse(dsn); uerr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw, url.QueryEscape(pw), url.PathEscape(pw))
		}
	}
	for _, m := range keywordPassword.FindAllStringSubmatch(dsn, -1) {
		secrets = append(secrets, m[1], strings.Trim(m[1], "'"))
	}
	if len(secrets) == 0 && (strings.Contains(dsn, "@") || strings.Contains(strings.ToLower(dsn), "password")) {
		return "malformed (details withheld: they could contain the password)"
	}
	// Longest first, so that a secret's quoted form is replaced whole.
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	return scrub(err.Error(), secrets)
}
