package riff

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

func openBytes(b []byte) (*File, error) { return Open(bytes.NewReader(b), int64(len(b))) }

func TestReferenceFiles(t *testing.T) {
	formatstest.CheckReferencePair(t, &AVI, sample(t, "unsigned.avi"), sample(t, "c2pa-rs-signed.avi"))
	formatstest.CheckReferencePair(t, &WAV, sample(t, "unsigned.wav"), sample(t, "c2pa-rs-signed.wav"))
}

func chunk(id string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint32([]byte(id), uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

func riff(form string, chunks ...[]byte) []byte {
	var body []byte
	for _, c := range chunks {
		body = append(body, c...)
	}
	b := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(4+len(body)))
	return append(append(b, form...), body...)
}

func TestChunks(t *testing.T) {
	in := riff("WAVE", chunk("fmt ", make([]byte, 16)), chunk("_PMX", []byte("<x/>")), chunk("odd ", []byte{1, 2, 3}),
		chunk("C2PA", []byte("store")), chunk("C2PA", []byte("second")))
	f, err := openBytes(in)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := f.ManifestStore(); err != nil || string(s) != "store" || string(f.XMP()) != "<x/>" {
		t.Fatalf("store %q %v, XMP %q", s, err, f.XMP())
	}
	if Match(riff("WEBP")) || AVI.Match(riff("WAVE")) || !AVI.Match(riff("AVI ")) {
		t.Fatal("Match")
	}
	if f, err := formats.Sniff(riff("WEBP", chunk("VP8 ", nil))); err == nil && (f.Name == "avi" || f.Name == "wav") {
		t.Fatal("WebP sniffed as", f.Name)
	}
	// The AVI format refuses a WAV.
	if _, err := AVI.Open(bytes.NewReader(in), int64(len(in))); err == nil {
		t.Fatal("AVI opened a WAV")
	}
}

func TestHostile(t *testing.T) {
	pastEOF := riff("AVI ", binary.LittleEndian.AppendUint32([]byte("C2PA"), 1<<30))
	tooBig := riff("AVI ", binary.LittleEndian.AppendUint32([]byte("C2PA"), MaxStoreLen+1))
	tooBig = append(tooBig, make([]byte, MaxStoreLen+2)...)
	binary.LittleEndian.PutUint32(tooBig[4:], uint32(len(tooBig)-8))
	halfHeader := append(riff("WAVE", chunk("fmt ", nil)), 'd', 'a')
	binary.LittleEndian.PutUint32(halfHeader[4:], uint32(len(halfHeader)-8))
	for name, c := range map[string]struct {
		in   []byte
		want error
	}{
		"chunk past EOF": {pastEOF, formats.ErrMalformed},
		"store too big":  {tooBig, formats.ErrTooLarge},
		"half a header":  {halfHeader, formats.ErrMalformed},
		"short":          {[]byte("RIFF\x04\x00\x00\x00WAV"), formats.ErrMalformed},
		"tiny RIFF size": {[]byte("RIFF\x00\x00\x00\x00WAVE"), formats.ErrMalformed},
	} {
		if _, err := openBytes(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// A RIFF size past the end of the file is clamped to the file.
	long := riff("WAVE", chunk("C2PA", []byte("ab")))
	binary.LittleEndian.PutUint32(long[4:], 0xFFFFFFFF)
	if f, err := openBytes(long); err != nil {
		t.Fatal(err)
	} else if s, _ := f.ManifestStore(); string(s) != "ab" {
		t.Fatalf("store %q", s)
	}
}

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"unsigned.wav", "c2pa-rs-signed.wav", "c2pa-rs-signed.avi"} {
		f.Add(sample(f, name))
	}
	f.Add(riff("AVI ", chunk("_PMX", []byte("<x/>")), chunk("C2PA", []byte("store"))))
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := openBytes(in)
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
