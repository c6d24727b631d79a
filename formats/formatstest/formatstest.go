// Package formatstest holds checks that every container package's tests share, the way
// net/http/httptest serves net/http's users.
package formatstest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest"
)

// CheckReferencePair checks a container against a pair of reference files made by c2pa-rs: the
// unsigned file opens and has no manifest (formats.ErrNoManifest); the signed one opens with a
// store that manifest.ParseStore accepts; the registry sniffs both as the format named; and every
// prefix of the signed file either fails to open or yields the same store — never a different
// one, never a panic. It returns the signed file's store.
func CheckReferencePair(t testing.TB, f *formats.Format, unsigned, signed []byte) []byte {
	t.Helper()
	u, err := f.Open(bytes.NewReader(unsigned), int64(len(unsigned)))
	if err != nil {
		t.Fatalf("%s: opening the unsigned file: %v", f.Name, err)
	}
	if _, err := u.ManifestStore(); !errors.Is(err, formats.ErrNoManifest) {
		t.Fatalf("%s: unsigned file: %v, want ErrNoManifest", f.Name, err)
	}
	s, err := f.Open(bytes.NewReader(signed), int64(len(signed)))
	if err != nil {
		t.Fatalf("%s: opening the signed file: %v", f.Name, err)
	}
	store, err := s.ManifestStore()
	if err != nil {
		t.Fatalf("%s: signed file: %v", f.Name, err)
	}
	if _, err := manifest.ParseStore(store); err != nil {
		t.Fatalf("%s: ParseStore: %v", f.Name, err)
	}
	for _, b := range [][]byte{unsigned, signed} {
		c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil || c.Format().Name != f.Name {
			t.Fatalf("formats.Open of a %s file: %v, %v", f.Name, c, err)
		}
	}
	for n := range len(signed) {
		c, err := f.Open(bytes.NewReader(signed[:n]), int64(n))
		if err != nil {
			continue
		}
		if got, err := c.ManifestStore(); err == nil && !bytes.Equal(got, store) {
			t.Fatalf("%s: the first %d bytes of the signed file give a different store", f.Name, n)
		}
	}
	return store
}
