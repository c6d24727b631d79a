// Package repository stores signed C2PA manifest stores together with their soft-binding values
// and serves them through the C2PA Soft Binding Resolution API (OpenAPI 2.4.0, base path /v1).
//
// A Store keeps one Record per C2PA manifest: the manifest label (urn:c2pa:…) as ManifestID, the
// manifest store bytes (application/c2pa) and the soft bindings (alg, value) that identify the
// asset after its metadata was stripped. ByBinding finds manifests by binding:
//
//   - every algorithm: exact match of alg and value bytes, similarityScore 100 — this is what the
//     open-source resolvers (Cognitive-Proof, deepmark, iscc-c2pa-resolver) do;
//   - alg "io.iscc.v0" additionally: the ISCC Image-Code unit (Content-Code, SubType Image) of the
//     queried ISCC-SEQ is compared with every stored one by Hamming distance, and stored values at
//     or above the minimum similarity (default 75 %, WithMinSimilarity) are returned with
//     similarityScore = ⌊100 × (1 − distance / bits)⌋. Unrelated images score about 50 % (standard
//     deviation ≈ 3 points for 256 bits), so 75 % is about 8 standard deviations above chance.
//     This search is a linear scan over the stored Image-Codes (no index): fine for the embedded
//     default up to some hundred thousand manifests, not a substitute for a nearest-neighbour index.
//
// Three implementations share one behaviour (tested by one table-driven suite): NewMemory for
// tests; OpenSQLite, an embedded pure-Go SQLite database (modernc.org/sqlite) in WAL mode with a
// versioned schema migration applied at open; and OpenPostgres, a PostgreSQL database
// (jackc/pgx) shared by several replicas. Open picks SQLite or PostgreSQL by the name it is
// given.
package repository

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Limits on what a Store accepts. They bound memory per request and row sizes on disk.
const (
	// MaxManifestBytes bounds a manifest store (16 MiB).
	MaxManifestBytes = 16 << 20
	// MaxValueBytes bounds one soft-binding value (decoded bytes).
	MaxValueBytes = 4096
	// MaxAlgBytes bounds a soft-binding algorithm name.
	MaxAlgBytes = 256
	// MaxManifestIDBytes bounds a manifest identifier (a C2PA manifest label).
	MaxManifestIDBytes = 512
	// MaxBindingsPerRecord bounds the soft bindings registered with one manifest.
	MaxBindingsPerRecord = 32
	// MaxResults bounds the matches one query returns.
	MaxResults = 100
	// DefaultMaxResults is the number of matches returned when a query does not say (the API's
	// default for maxResults).
	DefaultMaxResults = 10
	// DefaultMinSimilarity is the lowest ISCC Image-Code similarity (percent) reported as a match.
	DefaultMinSimilarity = 75
)

// AlgISCC is the soft-binding algorithm name of the ISCC (C2PA soft-binding algorithm list),
// the one algorithm for which ByBinding also searches by similarity.
const AlgISCC = "io.iscc.v0"

// Errors returned by Store implementations; test with errors.Is.
var (
	// ErrNotFound: no manifest has the requested identifier.
	ErrNotFound = errors.New("repository: manifest not found")
	// ErrInvalid: an argument is malformed (empty, bad characters, out of range).
	ErrInvalid = errors.New("repository: invalid argument")
	// ErrTooLarge: an argument exceeds one of the limits above.
	ErrTooLarge = errors.New("repository: argument too large")
	// ErrConflict: a manifest with the same identifier but different bytes is already stored.
	ErrConflict = errors.New("repository: manifest identifier already stored with different bytes")
	// ErrUnavailable: the database cannot be reached, refused the connection or is shutting
	// down or starting up; the request may succeed later (an HTTP server answers 503). A
	// caller's context deadline or cancellation is returned as it is, not as ErrUnavailable.
	ErrUnavailable = errors.New("repository: database unavailable")
)

// Binding is one soft binding of an asset: the algorithm name from the C2PA soft-binding
// algorithm list and the value bytes as the algorithm defines them.
type Binding struct {
	Alg   string
	Value []byte
}

// Record is what a Store keeps for one manifest.
type Record struct {
	// ManifestID is the C2PA manifest label of the active manifest (urn:c2pa:…).
	ManifestID string
	// Store is the C2PA manifest store (JUMBF, application/c2pa), at most MaxManifestBytes.
	Store []byte
	// Bindings are the soft bindings that find this manifest; at most MaxBindingsPerRecord.
	Bindings []Binding
}

// Match is one result of a binding query.
type Match struct {
	// ManifestID identifies the manifest found.
	ManifestID string
	// SimilarityScore is 100 for an exact match, lower for a similarity match (0–100).
	SimilarityScore int
}

// Store keeps manifest stores and finds them by soft binding. Implementations are safe for
// concurrent use.
type Store interface {
	// Put stores rec. Putting a record whose ManifestID is already stored with identical Store
	// bytes adds its new bindings and succeeds (idempotent retries); different bytes under the
	// same ManifestID fail with ErrConflict, so a writer never silently replaces a manifest.
	Put(ctx context.Context, rec Record) error
	// Manifest returns the manifest store bytes stored under id, or ErrNotFound.
	Manifest(ctx context.Context, id string) ([]byte, error)
	// ByBinding returns at most max (1..MaxResults) matches for the binding (alg, value), best
	// score first, then in the order the manifests were stored. No match is an empty slice and
	// a nil error.
	ByBinding(ctx context.Context, alg string, value []byte, max int) ([]Match, error)
}

// StoreOption configures a Store built by NewMemory, OpenSQLite, OpenPostgres or Open.
type StoreOption func(*storeConfig)

type storeConfig struct {
	minSimilarity int
}

func newStoreConfig(opts []StoreOption) storeConfig {
	c := storeConfig{minSimilarity: DefaultMinSimilarity}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithMinSimilarity sets the lowest ISCC similarity (percent, clamped to 1..100) that ByBinding
// reports for alg "io.iscc.v0"; 100 disables near matches (only equal Image-Codes).
func WithMinSimilarity(percent int) StoreOption {
	return func(c *storeConfig) { c.minSimilarity = min(max(percent, 1), 100) }
}

// ValidateManifestID checks a manifest identifier: 1..MaxManifestIDBytes bytes of visible ASCII
// without '/', '?', '#' or '%', so that it is one clean URL path segment.
func ValidateManifestID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty manifest id", ErrInvalid)
	}
	if len(id) > MaxManifestIDBytes {
		return fmt.Errorf("%w: manifest id of %d bytes, at most %d", ErrTooLarge, len(id), MaxManifestIDBytes)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '%' {
			return fmt.Errorf("%w: manifest id has byte %#02x at offset %d (visible ASCII without / ? # %% expected)", ErrInvalid, c, i)
		}
	}
	return nil
}

// validateAlg checks a soft-binding algorithm name.
func validateAlg(alg string) error {
	if alg == "" {
		return fmt.Errorf("%w: empty alg", ErrInvalid)
	}
	if len(alg) > MaxAlgBytes {
		return fmt.Errorf("%w: alg of %d bytes, at most %d", ErrTooLarge, len(alg), MaxAlgBytes)
	}
	if !utf8.ValidString(alg) {
		return fmt.Errorf("%w: alg is not valid UTF-8", ErrInvalid)
	}
	for _, r := range alg {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: alg contains control character %U", ErrInvalid, r)
		}
	}
	return nil
}

// validateValue checks a soft-binding value.
func validateValue(v []byte) error {
	if len(v) == 0 {
		return fmt.Errorf("%w: empty binding value", ErrInvalid)
	}
	if len(v) > MaxValueBytes {
		return fmt.Errorf("%w: binding value of %d bytes, at most %d", ErrTooLarge, len(v), MaxValueBytes)
	}
	return nil
}

// validateRecord checks rec against the limits.
func validateRecord(rec Record) error {
	if err := ValidateManifestID(rec.ManifestID); err != nil {
		return err
	}
	if len(rec.Store) == 0 {
		return fmt.Errorf("%w: empty manifest store", ErrInvalid)
	}
	if len(rec.Store) > MaxManifestBytes {
		return fmt.Errorf("%w: manifest store of %d bytes, at most %d", ErrTooLarge, len(rec.Store), MaxManifestBytes)
	}
	if len(rec.Bindings) > MaxBindingsPerRecord {
		return fmt.Errorf("%w: %d bindings, at most %d", ErrTooLarge, len(rec.Bindings), MaxBindingsPerRecord)
	}
	for i, b := range rec.Bindings {
		if err := validateAlg(b.Alg); err != nil {
			return fmt.Errorf("binding %d: %w", i, err)
		}
		if err := validateValue(b.Value); err != nil {
			return fmt.Errorf("binding %d: %w", i, err)
		}
	}
	return nil
}

// validateQuery checks the arguments of ByBinding.
func validateQuery(alg string, value []byte, maxResults int) error {
	if err := validateAlg(alg); err != nil {
		return err
	}
	if err := validateValue(value); err != nil {
		return err
	}
	if maxResults < 1 || maxResults > MaxResults {
		return fmt.Errorf("%w: maxResults %d outside 1..%d", ErrInvalid, maxResults, MaxResults)
	}
	return nil
}
