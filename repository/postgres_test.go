package repository

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/repository/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// newPGMaker returns a storeMaker that opens a Postgres store on a fresh database of one
// throw-away cluster, started at the first call and stopped when parent ends.
func newPGMaker(parent *testing.T) storeMaker {
	var (
		once sync.Once
		cl   *pgtest.Cluster
		err  error
	)
	return func(t *testing.T) Store {
		t.Helper()
		once.Do(func() { cl, err = pgtest.New(parent) })
		if errors.Is(err, pgtest.ErrNotInstalled) {
			testtool.SkipOrFail(t, "%v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		return openPG(t, cl.NewDatabase(t))
	}
}

// openPG opens a Postgres store that is closed when t ends.
func openPG(t testing.TB, dsn string, opts ...StoreOption) *Postgres {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	p, err := OpenPostgres(ctx, dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// pgConn is a plain connection for looking at the tables behind the store's back.
func pgConn(t testing.TB, dsn string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func queryInt(t testing.TB, c *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := c.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPostgres runs the PostgreSQL-specific tests on one throw-away cluster, each on a database
// of its own. The subtests that stop the server run last and restart it.
func TestPostgres(t *testing.T) {
	cl := pgtest.Start(t)
	for _, c := range []struct {
		name string
		fn   func(*testing.T, *pgtest.Cluster)
	}{
		{"open", testOpen},
		{"migrations", testPGMigrations},
		{"schema limits", testPGSchemaLimits},
		{"replicas", testPGReplicas},
		{"outage", testPGOutage},
		{"redacts password", testPGRedactsPassword},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, cl) })
	}
}

func testPGMigrations(t *testing.T, cl *pgtest.Cluster) {
	ctx := t.Context()
	dsn := cl.NewDatabase(t)

	// Two opens in a row: the second finds the schema and applies nothing.
	for i := range 2 {
		p := openPG(t, dsn)
		if v, err := p.SchemaVersion(ctx); err != nil || v != len(pgMigrations) {
			t.Fatalf("open %d: schema version %d, %v; want %d", i, v, err, len(pgMigrations))
		}
		if err := p.Put(ctx, Record{ManifestID: fmt.Sprintf("urn:c2pa:open%d", i), Store: []byte{1}}); err != nil {
			t.Fatal(err)
		}
		p.Close()
	}
	c := pgConn(t, dsn)
	if n := queryInt(t, c, "SELECT count(*) FROM schema_migrations"); n != len(pgMigrations) {
		t.Errorf("%d rows in schema_migrations, want %d", n, len(pgMigrations))
	}
	if n := queryInt(t, c, "SELECT count(*) FROM manifests"); n != 2 {
		t.Errorf("reopen lost data: %d manifests, want 2", n)
	}

	// Replicas starting at once on an empty database: every open succeeds, the schema is
	// created once.
	fresh := cl.NewDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			p, err := OpenPostgres(ctx, fresh)
			if err == nil {
				p.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent open %d: %v", i, err)
		}
	}
	cf := pgConn(t, fresh)
	if n := queryInt(t, cf, "SELECT count(*) FROM schema_migrations"); n != len(pgMigrations) {
		t.Errorf("concurrent opens: %d rows in schema_migrations, want %d", n, len(pgMigrations))
	}

	// A database migrated by a newer program is refused.
	if _, err := cf.Exec(ctx, "INSERT INTO schema_migrations (version) VALUES ($1)", len(pgMigrations)+1); err != nil {
		t.Fatal(err)
	}
	_, err := OpenPostgres(ctx, fresh)
	if err == nil || !strings.Contains(err.Error(), "newer than this program") {
		t.Fatalf("newer schema: err = %v", err)
	}
	t.Logf("newer schema refused: %v", err)
}

// The schema holds the same limits as the Go checks, and the largest values the limits allow
// fit its indexes (a B-tree entry holds about 2.7 kB; values may have 4 kB).
func testPGSchemaLimits(t *testing.T, cl *pgtest.Cluster) {
	ctx := t.Context()
	dsn := cl.NewDatabase(t)
	p := openPG(t, dsn)

	id := "urn:c2pa:" + strings.Repeat("x", MaxManifestIDBytes-len("urn:c2pa:"))
	alg := strings.Repeat("a", MaxAlgBytes)
	large := randomBytes(t, MaxValueBytes)
	iv := isccValue(t, body(9), 0x01)
	rec := Record{ManifestID: id, Store: randomBytes(t, 1<<20), Bindings: []Binding{{alg, large}, {AlgISCC, iv}, {"b", []byte{1}}}}
	if err := p.Put(ctx, rec); err != nil {
		t.Fatalf("largest values: %v", err)
	}
	if err := p.Put(ctx, rec); err != nil {
		t.Fatalf("largest values again: %v", err)
	}
	if ms, err := p.ByBinding(ctx, alg, large, 10); err != nil || fmt.Sprint(ms) != fmt.Sprintf("[{%s 100}]", id) {
		t.Fatalf("ByBinding 4 kB value: %v, %v", ms, err)
	}
	got, err := p.Manifest(ctx, id)
	if err != nil || !bytes.Equal(got, rec.Store) {
		t.Fatalf("Manifest: %d bytes, %v", len(got), err)
	}

	c := pgConn(t, dsn)
	// Only the ISCC binding carries an Image-Code, and it is the unit similarity.go compares.
	if n := queryInt(t, c, "SELECT count(*) FROM bindings WHERE image_code IS NOT NULL"); n != 1 {
		t.Errorf("%d bindings with an image_code, want 1", n)
	}
	var unit []byte
	if err := c.QueryRow(ctx, "SELECT image_code FROM bindings WHERE alg = $1", AlgISCC).Scan(&unit); err != nil {
		t.Fatal(err)
	}
	if want, _ := imageCode(iv); !bytes.Equal(unit, want.Bytes()) {
		t.Errorf("image_code %x, want %x", unit, want.Bytes())
	}

	// Rows past the limits are refused by the database itself.
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO manifests (id, store) VALUES ($1, $2)", []any{strings.Repeat("y", MaxManifestIDBytes+1), []byte{1}}},
		{"INSERT INTO manifests (id, store) VALUES ($1, $2)", []any{"urn:c2pa:empty", []byte{}}},
		{"INSERT INTO bindings (manifest_id, alg, value) VALUES ($1, $2, $3)", []any{id, "a", make([]byte, MaxValueBytes+1)}},
		{"INSERT INTO bindings (manifest_id, alg, value) VALUES ($1, $2, $3)", []any{id, strings.Repeat("a", MaxAlgBytes+1), []byte{1}}},
		{"INSERT INTO bindings (manifest_id, alg, value) VALUES ($1, $2, $3)", []any{"urn:c2pa:nobody", "a", []byte{1}}},
	} {
		_, err := c.Exec(ctx, q.sql, q.args...)
		var pe *pgconn.PgError
		if !errors.As(err, &pe) || (pe.Code != "23514" && pe.Code != "23503") {
			t.Errorf("%s: err = %v, want a check or foreign-key violation", q.sql, err)
		}
	}
	// The (alg, value) lookup can use the index (the planner prefers a scan on a table this
	// small, so scans are switched off for the question).
	if _, err := c.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := c.Query(ctx, "EXPLAIN SELECT manifest_id, seq FROM bindings WHERE alg = $1 AND value_hash = sha256($2) AND value = $2 ORDER BY seq LIMIT 10", alg, large)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.String(), "bindings_alg_value_manifest") {
		t.Errorf("plan does not use the (alg, value) index:\n%s", plan.String())
	}
}

// Two replicas (two pools on one database) write 1,000 manifests concurrently, some ids from
// both at once: nothing is lost, nothing is doubled, each replica reads what the other wrote.
func testPGReplicas(t *testing.T, cl *pgtest.Cluster) {
	ctx := t.Context()
	dsn := cl.NewDatabase(t)
	a, b := openPG(t, dsn), openPG(t, dsn)
	replicas := []*Postgres{a, b}
	const wm = "com.example.wm"

	const puts, distinct = 1000, 700
	type op struct {
		replica int
		rec     Record
	}
	rec := func(i int, extra bool) Record {
		id := fmt.Sprintf("urn:c2pa:replica-%04d", i)
		r := Record{ManifestID: id, Store: []byte("store of " + id), Bindings: []Binding{{wm, []byte(id)}}}
		if extra {
			r.Bindings = append(r.Bindings, Binding{wm, []byte("extra " + id)})
		}
		return r
	}
	ops := make([]op, 0, puts)
	for i := range distinct {
		ops = append(ops, op{i % 2, rec(i, false)})
	}
	// 300 more Puts of ids already in the list, on the other replica, with one more binding.
	for i := range puts - distinct {
		id := i * 2
		ops = append(ops, op{1 - id%2, rec(id, true)})
	}
	// Shuffle so that a re-put races its first put.
	for i := len(ops) - 1; i > 0; i-- {
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		ops[i], ops[j.Int64()] = ops[j.Int64()], ops[i]
	}

	start := time.Now()
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		errs = make(chan error, puts)
	)
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(ops) {
					return
				}
				if err := replicas[ops[i].replica].Put(ctx, ops[i].rec); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Put: %v", err)
	}
	t.Logf("%d Puts from 2 replicas in %v", puts, time.Since(start).Round(time.Millisecond))

	c := pgConn(t, dsn)
	if n := queryInt(t, c, "SELECT count(*) FROM manifests"); n != distinct {
		t.Errorf("%d manifests, want %d", n, distinct)
	}
	if n := queryInt(t, c, "SELECT count(*) FROM bindings"); n != distinct+(puts-distinct) {
		t.Errorf("%d bindings, want %d", n, puts)
	}
	for i := range distinct {
		want := rec(i, i < 2*(puts-distinct) && i%2 == 0)
		reader := replicas[1-i%2] // the replica that did not write it first
		got, err := reader.Manifest(ctx, want.ManifestID)
		if err != nil || !bytes.Equal(got, want.Store) {
			t.Errorf("%s: %q, %v", want.ManifestID, got, err)
			continue
		}
		for _, bd := range want.Bindings {
			ms, err := reader.ByBinding(ctx, wm, bd.Value, 10)
			if err != nil || fmt.Sprint(ms) != fmt.Sprintf("[{%s 100}]", want.ManifestID) {
				t.Errorf("%s binding %q: %v, %v", want.ManifestID, bd.Value, ms, err)
			}
		}
	}

	// Ten writers, both replicas, one id, different bytes: exactly one wins, the others get
	// ErrConflict, and the stored bytes are the winner's.
	var (
		mu     sync.Mutex
		won    []string
		others int
	)
	for w := range 10 {
		wg.Go(func() {
			store := fmt.Sprintf("writer %d", w)
			err := replicas[w%2].Put(ctx, Record{ManifestID: "urn:c2pa:race", Store: []byte(store), Bindings: []Binding{{wm, []byte(store)}}})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, store)
			case errors.Is(err, ErrConflict):
				others++
			default:
				t.Errorf("writer %d: %v", w, err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 || others != 9 {
		t.Fatalf("race for one id: winners %q, %d conflicts; want 1 and 9", won, others)
	}
	if got, _ := b.Manifest(ctx, "urn:c2pa:race"); string(got) != won[0] {
		t.Errorf("stored %q, winner %q", got, won[0])
	}
	if n := queryInt(t, c, "SELECT count(*) FROM bindings WHERE manifest_id = 'urn:c2pa:race'"); n != 1 {
		t.Errorf("losers registered bindings: %d rows, want 1", n)
	}
}

// The database stops while two replicas write: Puts fail quickly with ErrUnavailable (no
// hang), and after a restart every Put that succeeded is there with all its bindings, and no
// manifest is half-written.
func testPGOutage(t *testing.T, cl *pgtest.Cluster) {
	ctx := t.Context()
	dsn := cl.NewDatabase(t)
	replicas := []*Postgres{openPG(t, dsn), openPG(t, dsn)}
	const bindingsPer = 3

	rec := func(w, i int) Record {
		id := fmt.Sprintf("urn:c2pa:outage-%d-%05d", w, i)
		r := Record{ManifestID: id, Store: append([]byte(id), make([]byte, 32<<10)...)}
		for k := range bindingsPer {
			r.Bindings = append(r.Bindings, Binding{fmt.Sprintf("com.example.b%d", k), []byte(id)})
		}
		return r
	}

	var (
		mu        sync.Mutex
		stored    []Record
		failures  []error
		slowest   time.Duration
		stopped   atomic.Bool
		afterStop atomic.Int64 // Puts that failed after Stop returned
		wg        sync.WaitGroup
	)
	const writers = 8
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				down := stopped.Load()
				if down && afterStop.Load() >= 40 {
					return
				}
				r := rec(w, i)
				pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
				t0 := time.Now()
				err := replicas[w%2].Put(pctx, r)
				d := time.Since(t0)
				cancel()
				mu.Lock()
				if err == nil {
					stored = append(stored, r)
				} else {
					failures = append(failures, err)
					if down {
						afterStop.Add(1)
						slowest = max(slowest, d)
					}
				}
				mu.Unlock()
				if down && err == nil {
					t.Errorf("Put %s succeeded after the database stopped", r.ManifestID)
				}
			}
		})
	}
	// Let the writers get going, then stop the database under them.
	for {
		mu.Lock()
		n := len(stored)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	t0 := time.Now()
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("pg_ctl stop -m fast took %v", time.Since(t0).Round(time.Millisecond))
	stopped.Store(true)
	wg.Wait()

	// The other operations fail the same way while the database is down.
	down := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s while the database is down: err = %v, want ErrUnavailable", what, err)
		}
	}
	p := replicas[0]
	_, err := p.Manifest(ctx, stored[0].ManifestID)
	down("Manifest", err)
	_, err = p.ByBinding(ctx, "com.example.b0", []byte(stored[0].ManifestID), 10)
	down("ByBinding", err)
	down("Ping", p.Ping(ctx))
	_, err = OpenPostgres(ctx, dsn)
	down("OpenPostgres", err)
	// A caller's deadline stays a deadline.
	dctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	<-dctx.Done()
	err = p.Put(dctx, rec(99, 0))
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrUnavailable) {
		t.Errorf("expired context: err = %v, want DeadlineExceeded without ErrUnavailable", err)
	}

	mu.Lock()
	t.Logf("%d Puts stored before the stop, %d failed (%d after the stop returned; slowest failure %v)",
		len(stored), len(failures), afterStop.Load(), slowest.Round(time.Millisecond))
	for _, err := range failures {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("failure is not ErrUnavailable: %v", err)
		}
		if strings.Contains(err.Error(), cl.Password()) {
			t.Errorf("error text holds the password: %v", err)
		}
	}
	if len(failures) == 0 {
		t.Fatal("no Put failed: the database did not stop under the writers")
	}
	if slowest > 6*time.Second {
		t.Errorf("a Put took %v to fail with the database down", slowest)
	}
	mu.Unlock()

	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
	// The same handles work again once the database is back.
	if err := p.Put(ctx, rec(99, 1)); err != nil {
		t.Fatalf("Put after restart: %v", err)
	}
	c := pgConn(t, dsn)
	for _, r := range stored {
		got, err := replicas[1].Manifest(ctx, r.ManifestID)
		if err != nil || !bytes.Equal(got, r.Store) {
			t.Errorf("stored %s lost: %v", r.ManifestID, err)
		}
		if n := queryInt(t, c, "SELECT count(*) FROM bindings WHERE manifest_id = $1", r.ManifestID); n != bindingsPer {
			t.Errorf("%s has %d bindings, want %d", r.ManifestID, n, bindingsPer)
		}
	}
	if n := queryInt(t, c, `SELECT count(*) FROM manifests m
		WHERE (SELECT count(*) FROM bindings b WHERE b.manifest_id = m.id) <> $1
		AND m.id <> 'urn:c2pa:outage-99-00001'`, bindingsPer); n != 0 {
		t.Errorf("%d half-written manifests (not exactly %d bindings)", n, bindingsPer)
	}
	if n := queryInt(t, c, "SELECT count(*) FROM bindings b WHERE NOT EXISTS (SELECT 1 FROM manifests m WHERE m.id = b.manifest_id)"); n != 0 {
		t.Errorf("%d bindings without their manifest", n)
	}
	total := queryInt(t, c, "SELECT count(*) FROM manifests")
	t.Logf("after restart: %d manifests, %d of them reported stored (any others committed just as their connection dropped)", total-1, len(stored))
	if total-1 < len(stored) {
		t.Errorf("%d manifests after restart, fewer than the %d stored", total-1, len(stored))
	}
}

// The DSN's password appears in no error text: bad password, database down, malformed DSN.
func testPGRedactsPassword(t *testing.T, cl *pgtest.Cluster) {
	ctx := t.Context()
	dsn := cl.NewDatabase(t)
	const secret = "Sekr3t-pa55word"
	check := func(what string, err error, secrets ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error holds the password: %v", what, err)
			}
		}
		t.Logf("%s: %v", what, err)
	}
	wrong := strings.Replace(dsn, cl.Password(), secret, 1)
	_, err := OpenPostgres(ctx, wrong)
	check("wrong password", err, secret)
	if errors.Is(err, ErrUnavailable) {
		t.Errorf("wrong password counted as unavailable: %v", err)
	}
	for _, bad := range []string{
		"postgres://postgres:" + secret + "@127.0.0.1:notaport/db",
		"postgresql://postgres:" + secret + "@[::1/db",
		"host=127.0.0.1 port=x password=" + secret,
		"host=127.0.0.1 port=x password='" + secret + " more'",
		"postgres://postgres:" + secret + "@127.0.0.1:5432/db?sslmode=bogus",
	} {
		_, err := OpenPostgres(ctx, bad)
		check("malformed "+strings.ReplaceAll(bad, secret, "…"), err, secret)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("malformed DSN: err = %v, want ErrInvalid", err)
		}
	}
	if err := cl.Stop(); err != nil {
		t.Fatal(err)
	}
	_, err = OpenPostgres(ctx, dsn)
	check("database down", err, cl.Password())
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("database down: err = %v, want ErrUnavailable", err)
	}
	if err := cl.Start(); err != nil {
		t.Fatal(err)
	}
}

func testOpen(t *testing.T, cl *pgtest.Cluster) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*SQLite); !ok {
		t.Errorf("file path opened %T, want *SQLite", s)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
	for dsn, want := range map[string]bool{
		"postgres://h/db": true, "postgresql://h/db": true, "POSTGRES://h/db": true,
		"postgres:/h": false, "repo.db": false, "/var/lib/postgres://x": false, "": false, "postgres": false,
	} {
		if got := IsPostgresDSN(dsn); got != want {
			t.Errorf("IsPostgresDSN(%q) = %v", dsn, got)
		}
	}
	dsn := cl.NewDatabase(t)
	for _, d := range []string{dsn, strings.Replace(dsn, "postgres://", "postgresql://", 1)} {
		s, err := Open(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.(*Postgres); !ok {
			t.Errorf("%s opened %T, want *Postgres", strings.Replace(d, cl.Password(), "…", 1), s)
		}
		if err := s.Put(ctx, Record{ManifestID: "urn:c2pa:open", Store: []byte{1}}); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
}

// The classification behind ErrUnavailable, without a server.
func TestPostgresUnavailable(t *testing.T) {
	pg := func(code string) error { return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "m"} }
	cases := []struct {
		err  error
		want bool
	}{
		{pg("08006"), true}, {pg("08001"), true}, {pg("57P01"), true}, {pg("57P02"), true}, {pg("57P03"), true},
		{fmt.Errorf("wrapped: %w", pg("57P01")), true},
		{pg("23505"), false}, {pg("28P01"), false}, {pg("40001"), false}, {pg("57014"), false},
		{io.EOF, true}, {io.ErrUnexpectedEOF, true}, {pgconn.ErrConnClosed, true},
		{errors.New("other"), false}, {ErrConflict, false},
	}
	p := &Postgres{secret: "hunter2"}
	for _, c := range cases {
		if got := errors.Is(p.fail(context.Background(), c.err), ErrUnavailable); got != c.want {
			t.Errorf("%v: unavailable = %v, want %v", c.err, got, c.want)
		}
	}
	// A caller's ended context is not the database's fault.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.fail(ctx, io.EOF); errors.Is(err, ErrUnavailable) {
		t.Errorf("cancelled context: %v marked unavailable", err)
	}
	// Secrets are scrubbed from the text but the chain is kept.
	err := p.fail(context.Background(), fmt.Errorf("oops hunter2: %w", io.EOF))
	if strings.Contains(err.Error(), "hunter2") || !errors.Is(err, io.EOF) || !errors.Is(err, ErrUnavailable) {
		t.Errorf("redaction: %v", err)
	}
	if !slices.Equal([]bool{retryable(pg("40001")), retryable(pg("40P01")), retryable(pg("23505"))}, []bool{true, true, false}) {
		t.Error("retryable misclassifies SQLSTATEs")
	}
}

// BenchmarkPostgresISCCScan measures an io.iscc.v0 query (exact lookup plus the similarity scan)
// over 10,000 stored ISCC bindings.
func BenchmarkPostgresISCCScan(b *testing.B) {
	cl := pgtest.Start(b)
	p := openPG(b, cl.NewDatabase(b))
	const n = 10000
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				id := fmt.Sprintf("urn:c2pa:bench-%05d", i)
				v := isccValue(b, randomBytes(b, 32), byte(i))
				if err := p.Put(b.Context(), Record{ManifestID: id, Store: []byte(id), Bindings: []Binding{{AlgISCC, v}}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	q := isccValue(b, body(1), 0x11)
	b.ResetTimer()
	for b.Loop() {
		if _, err := p.ByBinding(b.Context(), AlgISCC, q, 10); err != nil {
			b.Fatal(err)
		}
	}
}
