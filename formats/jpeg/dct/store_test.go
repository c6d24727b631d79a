package dct_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ailabel/ailabel/formats/jpeg"
	"github.com/ailabel/ailabel/formats/jpeg/dct"
)

// TestStoreStillFound: after Decode and Encode, formats/jpeg finds the same C2PA manifest store,
// XMP and EXIF as in the input. (An external test package: formats/jpeg imports dct.)
func TestStoreStillFound(t *testing.T) {
	names := []string{filepath.Join("..", "testdata", "c2pa-rs-signed.jpg")}
	shared := filepath.Join("..", "..", "..", "..", "shared", "testdata", "c2pa-reference", "c2pa-rs-signed.jpg")
	if _, err := os.Stat(shared); err == nil {
		names = append(names, shared)
	}
	for _, name := range names {
		in, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		m, err := dct.Decode(bytes.NewReader(in), dct.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := m.Encode(&out); err != nil {
			t.Fatal(err)
		}
		f1, err := jpeg.Open(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			t.Fatal(err)
		}
		f2, err := jpeg.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("%s: formats/jpeg cannot open the output: %v", name, err)
		}
		s1, err1 := f1.ManifestStore()
		s2, err2 := f2.ManifestStore()
		if err1 != nil || err2 != nil || !bytes.Equal(s1, s2) {
			t.Fatalf("%s: manifest store: %d bytes (%v) in, %d bytes (%v) out", name, len(s1), err1, len(s2), err2)
		}
		if !bytes.Equal(f1.XMP(), f2.XMP()) || !bytes.Equal(f1.EXIF(), f2.EXIF()) {
			t.Fatalf("%s: XMP or EXIF differs", name)
		}
	}
}
