package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/softbinding/iscc"
)

// isccValue builds an IEP-0020 value: a 256-bit Image-Code with the given body and an
// Instance-Code whose body starts with inst.
func isccValue(t testing.TB, body []byte, inst byte) []byte {
	t.Helper()
	ib := bytes.Repeat([]byte{inst}, 32)
	v, err := iscc.EncodeSeq(
		iscc.Code{MainType: iscc.MainTypeContent, SubType: iscc.SubTypeImage, Bits: 256, Body: body},
		iscc.Code{MainType: iscc.MainTypeInstance, Bits: 256, Body: ib},
	)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// flipBits returns a copy of b with its first n bits inverted.
func flipBits(b []byte, n int) []byte {
	out := bytes.Clone(b)
	for i := range n {
		out[i/8] ^= 1 << (i % 8)
	}
	return out
}

func body(seed byte) []byte {
	b := make([]byte, 32)
	for i := range b {
		b[i] = seed*31 + byte(i)*97
	}
	return b
}

type storeMaker func(t *testing.T) Store

// stores returns a maker of each Store implementation. parent is the test whose subtests call
// the makers: the PostgreSQL cluster is started once, at the first call, lives as long as parent,
// and gives every store its own database.
func stores(parent *testing.T) map[string]storeMaker {
	return map[string]storeMaker{
		"memory":   func(t *testing.T) Store { return NewMemory() },
		"postgres": newPGMaker(parent),
		"sqlite": func(t *testing.T) Store {
			s, err := OpenSQLite(filepath.Join(t.TempDir(), "repo.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

func TestStores(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) { storeSuite(t, mk) })
	}
}

func storeSuite(t *testing.T, mk storeMaker) {
	ctx := context.Background()
	const wm = "com.example.watermark.v1"
	id := "urn:c2pa:0b6a3d8e-9f5f-4c6e-8c1e-5a1f2b3c4d5e"

	t.Run("put and fetch", func(t *testing.T) {
		s := mk(t)
		store := []byte("jumbf manifest store bytes")
		if err := s.Put(ctx, Record{ManifestID: id, Store: store, Bindings: []Binding{{wm, []byte{1, 2, 3}}}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Manifest(ctx, id)
		if err != nil || !bytes.Equal(got, store) {
			t.Fatalf("Manifest = %q, %v; want %q", got, err, store)
		}
		ms, err := s.ByBinding(ctx, wm, []byte{1, 2, 3}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []Match{{id, 100}}; fmt.Sprint(ms) != fmt.Sprint(want) {
			t.Fatalf("ByBinding = %v, want %v", ms, want)
		}
		for _, q := range []struct {
			alg string
			v   []byte
		}{{wm, []byte{1, 2}}, {wm, []byte{1, 2, 3, 4}}, {"com.other", []byte{1, 2, 3}}} {
			ms, err := s.ByBinding(ctx, q.alg, q.v, 10)
			if err != nil || ms == nil || len(ms) != 0 {
				t.Errorf("ByBinding(%s, %x) = %#v, %v; want empty non-nil", q.alg, q.v, ms, err)
			}
		}
	})

	t.Run("unknown id", func(t *testing.T) {
		s := mk(t)
		_, err := s.Manifest(ctx, "urn:c2pa:unknown")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})

	t.Run("maxResults", func(t *testing.T) {
		s := mk(t)
		for i := range 15 {
			if err := s.Put(ctx, Record{ManifestID: fmt.Sprintf("urn:c2pa:m%02d", i), Store: []byte{byte(i)},
				Bindings: []Binding{{wm, []byte("same")}}}); err != nil {
				t.Fatal(err)
			}
		}
		ms, err := s.ByBinding(ctx, wm, []byte("same"), 10)
		if err != nil || len(ms) != 10 {
			t.Fatalf("got %d matches, %v; want 10", len(ms), err)
		}
		for i, m := range ms {
			if want := fmt.Sprintf("urn:c2pa:m%02d", i); m.ManifestID != want || m.SimilarityScore != 100 {
				t.Errorf("match %d = %v, want %s (storage order)", i, m, want)
			}
		}
		if ms, _ := s.ByBinding(ctx, wm, []byte("same"), 100); len(ms) != 15 {
			t.Errorf("max 100: %d matches, want 15", len(ms))
		}
		for _, n := range []int{0, -1, MaxResults + 1} {
			if _, err := s.ByBinding(ctx, wm, []byte("same"), n); !errors.Is(err, ErrInvalid) {
				t.Errorf("max %d: err = %v, want ErrInvalid", n, err)
			}
		}
	})

	t.Run("bad input", func(t *testing.T) {
		s := mk(t)
		ok := Record{ManifestID: id, Store: []byte{1}}
		cases := []struct {
			name string
			rec  Record
			want error
		}{
			{"empty id", Record{Store: []byte{1}}, ErrInvalid},
			{"slash in id", Record{ManifestID: "urn:c2pa:a/b", Store: []byte{1}}, ErrInvalid},
			{"space in id", Record{ManifestID: "urn:c2pa:a b", Store: []byte{1}}, ErrInvalid},
			{"long id", Record{ManifestID: string(bytes.Repeat([]byte("a"), MaxManifestIDBytes+1)), Store: []byte{1}}, ErrTooLarge},
			{"empty store", Record{ManifestID: id}, ErrInvalid},
			{"oversize store", Record{ManifestID: id, Store: make([]byte, MaxManifestBytes+1)}, ErrTooLarge},
			{"empty alg", Record{ManifestID: id, Store: []byte{1}, Bindings: []Binding{{"", []byte{1}}}}, ErrInvalid},
			{"control in alg", Record{ManifestID: id, Store: []byte{1}, Bindings: []Binding{{"a\nb", []byte{1}}}}, ErrInvalid},
			{"empty value", Record{ManifestID: id, Store: []byte{1}, Bindings: []Binding{{wm, nil}}}, ErrInvalid},
			{"oversize value", Record{ManifestID: id, Store: []byte{1}, Bindings: []Binding{{wm, make([]byte, MaxValueBytes+1)}}}, ErrTooLarge},
			{"too many bindings", Record{ManifestID: id, Store: []byte{1}, Bindings: make([]Binding, MaxBindingsPerRecord+1)}, ErrTooLarge},
		}
		for _, c := range cases {
			if err := s.Put(ctx, c.rec); !errors.Is(err, c.want) {
				t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
			}
		}
		if _, err := s.Manifest(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused Put stored something: %v", err)
		}
		if err := s.Put(ctx, ok); err != nil {
			t.Fatal(err)
		}
		if _, err := s.ByBinding(ctx, wm, make([]byte, MaxValueBytes+1), 10); !errors.Is(err, ErrTooLarge) {
			t.Errorf("oversize query value: %v", err)
		}
		if _, err := s.ByBinding(ctx, "", []byte{1}, 10); !errors.Is(err, ErrInvalid) {
			t.Errorf("empty alg query: %v", err)
		}
	})

	t.Run("conflict and idempotent put", func(t *testing.T) {
		s := mk(t)
		if err := s.Put(ctx, Record{ManifestID: id, Store: []byte("A"), Bindings: []Binding{{wm, []byte{1}}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, Record{ManifestID: id, Store: []byte("B"), Bindings: []Binding{{wm, []byte{2}}}}); !errors.Is(err, ErrConflict) {
			t.Fatalf("different bytes: err = %v, want ErrConflict", err)
		}
		if ms, _ := s.ByBinding(ctx, wm, []byte{2}, 10); len(ms) != 0 {
			t.Errorf("conflicting Put registered its binding: %v", ms)
		}
		if err := s.Put(ctx, Record{ManifestID: id, Store: []byte("A"), Bindings: []Binding{{wm, []byte{1}}, {wm, []byte{3}}}}); err != nil {
			t.Fatalf("same bytes again: %v", err)
		}
		for _, v := range [][]byte{{1}, {3}} {
			ms, err := s.ByBinding(ctx, wm, v, 10)
			if err != nil || len(ms) != 1 || ms[0].ManifestID != id {
				t.Errorf("binding %x: %v, %v; want one match", v, ms, err)
			}
		}
		if got, _ := s.Manifest(ctx, id); string(got) != "A" {
			t.Errorf("manifest replaced: %q", got)
		}
	})

	t.Run("iscc similarity", func(t *testing.T) {
		s := mk(t)
		base := body(1)
		stored := isccValue(t, base, 0xAA)
		other := isccValue(t, body(2), 0xBB)
		if err := s.Put(ctx, Record{ManifestID: "urn:c2pa:near", Store: []byte{1}, Bindings: []Binding{{AlgISCC, stored}}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, Record{ManifestID: "urn:c2pa:other", Store: []byte{2}, Bindings: []Binding{{AlgISCC, other}}}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			value []byte
			want  string
		}{
			{"exact", stored, "[{urn:c2pa:near 100}]"},
			// Re-encoded copy: Image-Code equal, Instance-Code different → similarity 100.
			{"same image code", isccValue(t, base, 0x11), "[{urn:c2pa:near 100}]"},
			{"20 bits differ", isccValue(t, flipBits(base, 20), 0x11), "[{urn:c2pa:near 92}]"}, // ⌊100×236/256⌋
			{"64 bits differ", isccValue(t, flipBits(base, 64), 0x11), "[{urn:c2pa:near 75}]"}, // at the threshold
			{"65 bits differ", isccValue(t, flipBits(base, 65), 0x11), "[]"},                   // 74 < 75
			{"not an ISCC-SEQ", []byte("garbage"), "[]"},
		}
		for _, c := range cases {
			ms, err := s.ByBinding(ctx, AlgISCC, c.value, 10)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got := fmt.Sprint(ms); got != c.want {
				t.Errorf("%s: got %s, want %s", c.name, got, c.want)
			}
		}
		// Similarity is only for io.iscc.v0: the same bytes under another alg match exactly only.
		if err := s.Put(ctx, Record{ManifestID: "urn:c2pa:wm", Store: []byte{3}, Bindings: []Binding{{wm, stored}}}); err != nil {
			t.Fatal(err)
		}
		if ms, _ := s.ByBinding(ctx, wm, isccValue(t, base, 0x11), 10); len(ms) != 0 {
			t.Errorf("near match under %s: %v", wm, ms)
		}
	})

	t.Run("iscc ranking", func(t *testing.T) {
		s := mk(t)
		base := body(7)
		for i, flips := range []int{30, 0, 10} {
			id := fmt.Sprintf("urn:c2pa:r%d", i)
			if err := s.Put(ctx, Record{ManifestID: id, Store: []byte{byte(i)}, Bindings: []Binding{{AlgISCC, isccValue(t, flipBits(base, flips), byte(i))}}}); err != nil {
				t.Fatal(err)
			}
		}
		ms, err := s.ByBinding(ctx, AlgISCC, isccValue(t, base, 0x99), 2)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(ms), "[{urn:c2pa:r1 100} {urn:c2pa:r2 96}]"; got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})

	t.Run("concurrent puts", func(t *testing.T) {
		s := mk(t)
		var wg sync.WaitGroup
		errs := make(chan error, 40)
		for w := range 4 {
			wg.Go(func() {
				for i := range 10 {
					id := fmt.Sprintf("urn:c2pa:w%d-%d", w, i)
					errs <- s.Put(ctx, Record{ManifestID: id, Store: []byte(id), Bindings: []Binding{{wm, []byte("shared")}}})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		ms, err := s.ByBinding(ctx, wm, []byte("shared"), 100)
		if err != nil || len(ms) != 40 {
			t.Fatalf("%d matches, %v; want 40", len(ms), err)
		}
	})
}

func TestSQLiteFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "repo.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := s.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	if v, err := s.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(migrations))
	}
	if err := s.Put(ctx, Record{ManifestID: "urn:c2pa:keep", Store: []byte("kept"), Bindings: []Binding{{"a.b", []byte{9}}}}); err != nil {
		t.Fatal(err)
	}
	// A second handle on the same file (another replica or process) sees the write.
	s2, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("second open: %v", err)
	}
	if got, err := s2.Manifest(ctx, "urn:c2pa:keep"); err != nil || string(got) != "kept" {
		t.Fatalf("second handle: %q, %v", got, err)
	}
	s2.Close()
	// Reopen: data persists, migrations are not re-applied.
	if _, err := s.db.ExecContext(ctx, "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := OpenSQLite(path); err == nil {
		t.Fatal("opened a database of a newer schema version")
	}
	raw, err := OpenSQLite(filepath.Join(t.TempDir(), "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := OpenSQLite(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty path: %v", err)
	}
}

func TestSQLiteReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "repo.db")
	s, err := OpenSQLite(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(ctx, Record{ManifestID: "urn:c2pa:p", Store: []byte("p"), Bindings: []Binding{{"a.b", []byte{1}}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenSQLite(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	ms, err := s.ByBinding(ctx, "a.b", []byte{1}, 1)
	if err != nil || fmt.Sprint(ms) != "[{urn:c2pa:p 100}]" {
		t.Fatalf("after reopen: %v, %v", ms, err)
	}
}
