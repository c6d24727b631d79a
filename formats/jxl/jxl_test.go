package jxl

import (
	"bytes"
	"encoding/binary"
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

func TestReferenceFiles(t *testing.T) {
	formatstest.CheckReferencePair(t, &Format, sample(t, "unsigned.jxl"), sample(t, "c2pa-rs-signed.jxl"))
}

func box(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(b, typ...), payload...)
}

func file(boxes ...[]byte) []byte {
	b := append([]byte(nil), signature...)
	for _, x := range boxes {
		b = append(b, x...)
	}
	return b
}

func TestBoxes(t *testing.T) {
	jumd := box("jumd", append([]byte("c2pa\x00\x11\x00\x10\x80\x00\x00\xaa\x00\x38\x9b\x71\x03c2pa"), 0))
	store := box("jumb", jumd)
	other := box("jumb", box("jumd", make([]byte, 20)))
	exif := append([]byte{0, 0, 0, 0}, "MM\x00*\x00\x00\x00\x08"...)
	in := file(box("ftyp", []byte("jxl \x00\x00\x00\x00jxl ")), other, store, box("xml ", []byte("<x/>")), box("Exif", exif), box("jxlc", []byte{0xFF, 0x0A}))
	f, err := open(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.ManifestStore()
	if err != nil || !bytes.Equal(got, store) || string(f.XMP()) != "<x/>" || !bytes.Equal(f.EXIF(), exif[4:]) {
		t.Fatalf("store %x %v, XMP %q, EXIF %q", got, err, f.XMP(), f.EXIF())
	}
	// A 64-bit box size is read and the store is handed back with a 32-bit header.
	large := binary.BigEndian.AppendUint32(nil, 1)
	large = binary.BigEndian.AppendUint64(append(large, "jumb"...), uint64(16+len(jumd)))
	if f, err := open(file(append(large, jumd...))); err != nil {
		t.Fatal(err)
	} else if got, _ := f.ManifestStore(); !bytes.Equal(got, store) {
		t.Fatalf("large-size store %x", got)
	}
	// Size 0 runs to the end of the file.
	if f, err := open(file(append([]byte{0, 0, 0, 0}, store[4:]...))); err != nil {
		t.Fatal(err)
	} else if _, err := f.ManifestStore(); err != nil {
		t.Fatal(err)
	}
	// A bare codestream has no store.
	if f, err := open([]byte{0xFF, 0x0A, 1, 2}); err != nil {
		t.Fatal(err)
	} else if _, err := f.ManifestStore(); !errors.Is(err, formats.ErrNoManifest) {
		t.Fatal(err)
	}
}

func TestHostile(t *testing.T) {
	pastEOF := file(binary.BigEndian.AppendUint32(nil, 1000), []byte("jumb...."))
	huge := file(append(append(binary.BigEndian.AppendUint32(nil, 1), "jxlc"...), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF))
	tiny := file([]byte{0, 0, 0, 4, 'f', 'r', 'e', 'e'})
	badExif := file(box("Exif", []byte{0xFF, 0xFF, 0xFF, 0xFF, 1}))
	for name, in := range map[string][]byte{"past EOF": pastEOF, "huge 64-bit size": huge, "size below header": tiny, "short": signature[:8]} {
		if _, err := open(in); !errors.Is(err, formats.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if f, err := open(badExif); err != nil || f.EXIF() != nil {
		t.Errorf("bad Exif offset: %v %q", err, f.EXIF())
	}
	// Many empty boxes: walked in linear time, bounded by MaxBoxes.
	many := file(bytes.Repeat(box("free", nil), MaxBoxes+1))
	if _, err := open(many); !errors.Is(err, formats.ErrTooLarge) {
		t.Errorf("many boxes: %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"unsigned.jxl", "c2pa-rs-signed.jxl"} {
		f.Add(sample(f, name))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := open(in)
		if err != nil {
			return
		}
		if s, err := g.ManifestStore(); err == nil && len(s) > len(in) {
			t.Fatalf("store of %d bytes from %d input bytes", len(s), len(in))
		}
		if len(g.XMP())+len(g.EXIF()) > len(in) {
			t.Fatal("metadata longer than the input")
		}
	})
}
