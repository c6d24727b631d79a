package jpeg

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

func TestRegistered(t *testing.T) {
	f, ok := formats.Lookup("jpeg")
	if !ok {
		t.Fatal("jpeg is not registered")
	}
	if f.MIME != "image/jpeg" || f.Binding != formats.DataHash {
		t.Fatalf("registration %+v", f)
	}
	in := encodeJPEG(t, 8, 8, 80)
	got, err := formats.Sniff(in[:formats.SniffLen])
	if err != nil || got.Name != "jpeg" {
		t.Fatalf("Sniff: %v, %v", got, err)
	}
	if Match([]byte{0xFF, 0xD8}) || Match([]byte("\x89PNG\r\n\x1a\n")) {
		t.Fatal("Match accepts a non-JPEG")
	}
	c, err := formats.Open(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	if c.Format() != f {
		t.Fatalf("Format() = %p, want the registered %p", c.Format(), f)
	}
	if _, ok := c.(formats.Writable); !ok {
		t.Fatal("a JPEG container is not Writable")
	}
}

func TestReferenceManifestStore(t *testing.T) {
	signed := reference(t, "c2pa-rs-signed.jpg")
	want := reference(t, "c2pa-rs-manifest.c2pa")
	got, err := openBytes(t, signed).ManifestStore()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("manifest store differs from c2pa-rs-manifest.c2pa (%d vs %d bytes)", len(got), len(want))
	}
	// The tampered and bad-signature samples carry the same kind of store.
	for _, name := range []string{"c2pa-rs-signed-tampered.jpg", "c2pa-rs-signed-badsig.jpg", "c2pa-rs-signed-dersig.jpg"} {
		if st, err := openBytes(t, reference(t, name)).ManifestStore(); err != nil || len(st) < 1000 {
			t.Errorf("%s: %d bytes, %v", name, len(st), err)
		}
	}
	for _, name := range []string{"unsigned.jpg", "c2pa-rs-stripped.jpg"} {
		f := openBytes(t, reference(t, name))
		if _, err := f.ManifestStore(); !errors.Is(err, formats.ErrNoManifest) {
			t.Errorf("%s: ManifestStore error %v, want ErrNoManifest", name, err)
		}
	}
}

// Embedding c2pa-rs's own store with Layout reproduces c2pa-rs's file byte for byte: same place
// (after the JFIF APP0), same framing (En 0x0211), same exclusion (start 20, length 3279).
func TestReferenceReembedIsByteIdentical(t *testing.T) {
	signed := reference(t, "c2pa-rs-signed.jpg")
	store := reference(t, "c2pa-rs-manifest.c2pa")
	for _, name := range []string{"unsigned.jpg", "c2pa-rs-signed.jpg"} {
		in := reference(t, name)
		out, l := write(t, openBytes(t, in), in, formats.Edit{StoreLen: len(store)}, store)
		if !bytes.Equal(out, signed) {
			t.Errorf("%s: re-embedding the store gives %d bytes that differ from c2pa-rs-signed.jpg (%d bytes)", name, len(out), len(signed))
		}
		if off, n := l.StoreOffset(); off != 20 || n != 3279 {
			t.Errorf("%s: store at %d+%d, c2pa-rs excludes 20+3279", name, off, n)
		}
	}
}

// Relabelling a signed file replaces its store: one store in the output, the new one, and the rest
// of the file is c2pa-rs's stripped file.
func TestReferenceRelabel(t *testing.T) {
	in := reference(t, "c2pa-rs-signed.jpg")
	stripped := reference(t, "c2pa-rs-stripped.jpg")
	for _, n := range []int{100, 200000} {
		st := fakeStore(t, n)
		out, l := write(t, openBytes(t, in), in, formats.Edit{StoreLen: n}, st)
		got, err := openBytes(t, out).ManifestStore()
		if err != nil || !bytes.Equal(got, st) {
			t.Fatalf("store %d: ManifestStore after relabel: %d bytes, %v", n, len(got), err)
		}
		segs, _ := modelParse(t, out)
		if k := len(c2paInstances(segs)); k != 1 {
			t.Fatalf("store %d: %d C2PA stores in the output", n, k)
		}
		off, fl := l.StoreOffset()
		rest := append(append([]byte(nil), out[:off]...), out[off+fl:]...)
		if !bytes.Equal(rest, stripped) {
			t.Fatalf("store %d: output minus the store is not c2pa-rs-stripped.jpg", n)
		}
	}
}
