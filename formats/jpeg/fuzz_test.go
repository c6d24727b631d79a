package jpeg

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"c2pa-rs-signed.jpg", "unsigned.jpg"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	base := encodeJPEG(f, 8, 8, 75)
	f.Add(base)
	f.Add(richJPEG(f))
	f.Add(insertAfterSOI(base, append([][]byte{jfif, comment, []byte{0xFF, 0xFF}}, frameJP(fakeStore(f, 200), 1, 70)...)...))
	f.Add(insertAfterSOI(base, append(frameJP(otherBox, DefaultBoxInstance, 40), exifSeg(oldEXIF), xmpSeg(oldXMP), extXMP)...))
	st := fakeStore(f, 120)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, formats.ErrMalformed) && !errors.Is(err, formats.ErrTooLarge) {
				t.Fatalf("Open error wraps neither ErrMalformed nor ErrTooLarge: %v", err)
			}
			return
		}
		if s, err := c.ManifestStore(); err == nil && int64(len(s)) > int64(len(b)) {
			t.Fatalf("store of %d bytes from a %d-byte file", len(s), len(b))
		}
		e := formats.Edit{StoreLen: len(st), XMP: newXMP}
		l, err := c.Layout(e)
		if err != nil {
			t.Fatalf("Layout of an opened file: %v", err)
		}
		var out bytes.Buffer
		if _, err := l.WriteTo(&out, bytes.NewReader(b), st); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		c2, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("re-Open of the written file: %v", err)
		}
		if got, err := c2.ManifestStore(); err != nil || !bytes.Equal(got, st) {
			t.Fatalf("re-opened store: %d bytes, %v", len(got), err)
		}
		if !bytes.Equal(c2.XMP(), newXMP) || !bytes.Equal(c2.EXIF(), c.EXIF()) {
			t.Fatal("re-opened XMP or EXIF differs")
		}
	})
}

var (
	bigOnce sync.Once
	bigJPEG []byte
)

// BenchmarkLayout12MP measures Open+Layout+WriteTo (to io.Discard) on a 4000×3000 JPEG (quality
// 90) with a 3 KB store, reading from memory and from a file.
func BenchmarkLayout12MP(b *testing.B) {
	bigOnce.Do(func() { bigJPEG = encodeJPEG(b, 4000, 3000, 90) })
	in := bigJPEG
	path := filepath.Join(b.TempDir(), "12mp.jpg")
	if err := os.WriteFile(path, in, 0o644); err != nil {
		b.Fatal(err)
	}
	file, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	st := fakeStore(b, 3000)
	for _, r := range []struct {
		name string
		r    io.ReaderAt
	}{{"memory", bytes.NewReader(in)}, {"file", file}} {
		b.Run(r.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				f, err := Open(r.r, int64(len(in)))
				if err != nil {
					b.Fatal(err)
				}
				l, err := f.Layout(formats.Edit{StoreLen: len(st), XMP: newXMP})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := l.WriteTo(io.Discard, r.r, st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
