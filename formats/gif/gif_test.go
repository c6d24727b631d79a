package gif

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/formatstest"
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func open(b []byte) (*File, error) { return Open(bytes.NewReader(b), int64(len(b))) }

func mustOpen(t *testing.T, b []byte) *File {
	t.Helper()
	f, err := open(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReferenceFiles(t *testing.T) {
	formatstest.CheckReferencePair(t, &Format, sample(t, "unsigned.gif"), sample(t, "c2pa-rs-signed.gif"))
}

// gifWith builds a minimal GIF89a with a global colour table, the given extension blocks and a
// 1x1 image.
func gifWith(blocks ...[]byte) []byte {
	b := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00")
	b = append(b, 0, 0, 0, 255, 255, 255)
	for _, x := range blocks {
		b = append(b, x...)
	}
	b = append(b, 0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x4C, 0x01, 0)
	return append(b, 0x3B)
}

func appExt(id string, data []byte, raw bool) []byte {
	b := append([]byte{0x21, 0xFF, 11}, id...)
	if raw {
		return append(append(b, data...), 0)
	}
	for len(data) > 0 {
		n := min(len(data), 255)
		b = append(b, byte(n))
		b = append(b, data[:n]...)
		data = data[n:]
	}
	return append(b, 0)
}

func TestExtensions(t *testing.T) {
	store := bytes.Repeat([]byte("0123456789"), 60)
	packet := []byte(`<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"/><?xpacket end="w"?>`)
	trailer := []byte{1}
	for i := 255; i >= 0; i-- {
		trailer = append(trailer, byte(i))
	}
	comment := []byte{0x21, 0xFE, 3, 'a', 'b', 'c', 0}
	in := gifWith(comment, appExt("XMP DataXMP", append(append([]byte(nil), packet...), trailer...), true),
		appExt("NETSCAPE2.0", []byte{1, 0, 0}, false), appExt("C2PA_GIF\x01\x00\x00", store, false),
		appExt("C2PA_GIF\x01\x00\x00", []byte("second"), false))
	f := mustOpen(t, in)
	got, err := f.ManifestStore()
	if err != nil || !bytes.Equal(got, store) {
		t.Fatalf("store %q, %v", got, err)
	}
	if !bytes.Equal(f.XMP(), packet) {
		t.Fatalf("XMP %q", f.XMP())
	}
	// Without the trailer byte the file still opens.
	if _, err := open(in[:len(in)-1]); err != nil {
		t.Fatal(err)
	}
	// Every shorter prefix is an error or a file without the store, never a wrong store.
	opened := 0
	for n := range len(in) - 1 {
		f, err := open(in[:n])
		if err != nil {
			if !errors.Is(err, formats.ErrMalformed) {
				t.Fatalf("prefix %d: %v is not ErrMalformed", n, err)
			}
			continue
		}
		// A cut between blocks reads as a GIF without a trailer.
		if s, err := f.ManifestStore(); err == nil && !bytes.Equal(s, store) {
			t.Fatalf("prefix %d: store %q", n, s)
		}
		opened++
	}
	if opened > 6 {
		t.Fatalf("%d prefixes opened; only cuts between blocks should", opened)
	}
}

func TestHostile(t *testing.T) {
	for name, in := range map[string][]byte{
		"bad block":          gifWith([]byte{0x99}),
		"colour table short": []byte("GIF89a\x01\x00\x01\x00\x87\x00\x00\x00"),
		"sub-block past EOF": append(gifWith()[:19], 0x21, 0xFF, 11, 'C', '2', 'P', 'A', '_', 'G', 'I', 'F', 1, 0, 0, 200, 1, 2),
		"not gif":            []byte("GIF90a\x01\x00\x01\x00\x00\x00\x00"),
		"empty":              nil,
	} {
		if _, err := open(in); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	// Stores beyond the limit are refused with ErrTooLarge without reading them all.
	big := bytes.Repeat(append([]byte{255}, make([]byte, 255)...), MaxStoreLen/255+2)
	in := append(gifWith()[:19], 0x21, 0xFF, 11)
	in = append(append(append(in, "C2PA_GIF\x01\x00\x00"...), big...), 0, 0x3B)
	if _, err := open(in); !errors.Is(err, formats.ErrTooLarge) {
		t.Fatalf("huge store: %v", err)
	}
}

func TestTruncatedReference(t *testing.T) {
	in := sample(t, "c2pa-rs-signed.gif")
	full, _ := mustOpen(t, in).ManifestStore()
	for n := range len(in) {
		f, err := open(in[:n])
		if err != nil {
			continue
		}
		if s, err := f.ManifestStore(); err == nil && !bytes.Equal(s, full) {
			t.Fatalf("prefix %d: a different store", n)
		}
	}
}

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"unsigned.gif", "c2pa-rs-signed.gif"} {
		f.Add(sample(f, name))
	}
	f.Add(gifWith(appExt("C2PA_GIF\x01\x00\x00", []byte("store"), false)))
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := open(in)
		if err != nil {
			return
		}
		if s, err := g.ManifestStore(); err == nil && len(s) > len(in) {
			t.Fatalf("store of %d bytes from %d input bytes", len(s), len(in))
		}
		if len(g.XMP()) > len(in) {
			t.Fatal("XMP longer than the input")
		}
	})
}
