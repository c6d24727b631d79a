package id3

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
	formatstest.CheckReferencePair(t, &MP3, sample(t, "unsigned.mp3"), sample(t, "c2pa-rs-signed.mp3"))
	formatstest.CheckReferencePair(t, &FLAC, sample(t, "unsigned.flac"), sample(t, "c2pa-rs-signed.flac"))
}

func syncsafeBytes(n int) []byte {
	return []byte{byte(n >> 21 & 0x7F), byte(n >> 14 & 0x7F), byte(n >> 7 & 0x7F), byte(n & 0x7F)}
}

func frame(version byte, id string, format byte, data []byte) []byte {
	b := []byte(id)
	if version == 4 {
		b = append(b, syncsafeBytes(len(data))...)
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	}
	return append(append(b, 0, format), data...)
}

func tag(version, flags byte, frames ...[]byte) []byte {
	var body []byte
	for _, f := range frames {
		body = append(body, f...)
	}
	body = append(body, make([]byte, 7)...) // padding
	return append(append([]byte{'I', 'D', '3', version, 0, flags}, syncsafeBytes(len(body))...), body...)
}

func geob(enc byte, mime string, object []byte) []byte {
	b := append([]byte{enc}, mime...)
	b = append(b, 0)
	if enc == 1 {
		b = append(b, 0xFF, 0xFE, 'c', 0, 0, 0, 0xFF, 0xFE, 'd', 0, 0, 0)
	} else {
		b = append(b, "c2pa\x00c2pa manifest store\x00"...)
	}
	return append(b, object...)
}

var mp3Frame = []byte{0xFF, 0xFB, 0x50, 0xC0, 0, 0, 0, 0}

func TestFrames(t *testing.T) {
	store := []byte("jumb\xFF\x00\xFFstore")
	xmp := []byte("<x:xmpmeta/>")
	other := frame(4, "GEOB", 0, geob(0, "image/png", []byte("png")))
	for name, c := range map[string]struct {
		in        []byte
		format    string
		wantStore []byte
	}{
		"v2.4": {append(tag(4, 0, frame(4, "TSSE", 0, []byte("\x03Lavf")), other, frame(4, "PRIV", 0, append([]byte("XMP\x00"), xmp...)),
			frame(4, "GEOB", 0, geob(3, "application/c2pa", store))), mp3Frame...), "mp3", store},
		"v2.3 UTF-16": {append(tag(3, 0, frame(3, "GEOB", 0, geob(1, "application/C2PA", store))), "fLaC\x00\x00\x00\x22"...), "flac", store},
		// Frame unsynchronisation with a data length indicator (v2.4): FF 00 in the frame is FF.
		"v2.4 unsync": {tag(4, 0, frame(4, "GEOB", 0x03, append([]byte{0, 0, 0, 0}, geob(0, "application/c2pa", []byte{0xFF, 0x00, 0xE0})...))), "mp3", []byte{0xFF, 0xE0}},
		// Tag unsynchronisation (v2.3): the whole tag is resynchronised before the frames are read.
		"v2.3 tag unsync": {tag(3, 0x80, []byte("GEOB\x00\x00\x00\x17\x00\x00\x00application/c2pa\x00\x00\x00\xFF\x00\xE0\x01")), "mp3", []byte{0xFF, 0xE0, 0x01}},
		"two tags":        {append(tag(4, 0), tag(4, 0, frame(4, "GEOB", 0, geob(0, "application/c2pa", []byte("x"))))...), "mp3", []byte("x")},
		"bare mp3":        {mp3Frame, "mp3", nil},
		"flac":            {[]byte("fLaC\x00\x00\x00\x22"), "flac", nil},
		"v2.2":            {append(tag(2, 0, []byte("GEO\x00\x00\x01x")), mp3Frame...), "mp3", nil},
	} {
		f, err := openBytes(c.in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Format().Name != c.format {
			t.Fatalf("%s: format %s", name, f.Format().Name)
		}
		got, err := f.ManifestStore()
		if c.wantStore == nil {
			if !errors.Is(err, formats.ErrNoManifest) {
				t.Fatalf("%s: %q %v", name, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.wantStore) {
			t.Fatalf("%s: store %q %v, want %q", name, got, err, c.wantStore)
		}
		if name == "v2.4" && !bytes.Equal(f.XMP(), xmp) {
			t.Fatalf("XMP %q", f.XMP())
		}
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		head       []byte
		mp3, flac_ bool
	}{
		{[]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), true, false},
		{mp3Frame, true, false},
		{[]byte{0xFF, 0xF1, 0x50, 0x80}, false, false}, // AAC ADTS: layer 0
		{[]byte{0xFF, 0xD8, 0xFF, 0xE0}, false, false}, // JPEG
		{[]byte("fLaC"), false, true},
		{[]byte("ID3\x04\x00\x00\x80\x00\x00\x00"), false, false}, // not syncsafe
	} {
		if MatchMP3(c.head) != c.mp3 || MatchFLAC(c.head) != c.flac_ {
			t.Errorf("%x: mp3 %v flac %v", c.head, MatchMP3(c.head), MatchFLAC(c.head))
		}
	}
}

func TestHostile(t *testing.T) {
	huge := append([]byte("ID3\x04\x00\x00"), 0x7F, 0x7F, 0x7F, 0x7F)
	frameOver := tag(4, 0, []byte("GEOB\x00\x00\x7F\x7F\x00\x00"))
	extOver := tag(4, 0x40, []byte("\x7F\x7F\x7F\x7Fxx"))
	noMime := tag(4, 0, frame(4, "GEOB", 0, []byte("\x00application/c2pa")))
	noDesc := tag(4, 0, frame(4, "GEOB", 0, []byte("\x00application/c2pa\x00name")))
	dli := tag(4, 0, frame(4, "GEOB", 0x01, []byte{0, 0}))
	many := tag(3, 0, bytes.Repeat(frame(3, "TXXX", 0, nil), MaxFrames+1))
	var tags []byte
	for range MaxTags + 1 {
		tags = append(tags, tag(4, 0)...)
	}
	for name, c := range map[string]struct {
		in   []byte
		want error
	}{
		"tag past EOF":   {huge, formats.ErrMalformed},
		"frame past tag": {frameOver, formats.ErrMalformed},
		"ext header":     {extOver, formats.ErrMalformed},
		"no MIME end":    {noMime, formats.ErrMalformed},
		"no description": {noDesc, formats.ErrMalformed},
		"short DLI":      {dli, formats.ErrMalformed},
		"many frames":    {many, formats.ErrTooLarge},
		"many tags":      {tags, formats.ErrTooLarge},
		"not audio":      {[]byte("hello"), formats.ErrMalformed},
		"empty":          {nil, formats.ErrMalformed},
		"short header":   {[]byte("ID3\x04"), formats.ErrMalformed},
	} {
		if _, err := openBytes(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"unsigned.mp3", "c2pa-rs-signed.mp3", "c2pa-rs-signed.flac"} {
		f.Add(sample(f, name))
	}
	f.Add(tag(3, 0x80, frame(3, "GEOB", 0x20, append([]byte{1}, geob(1, "application/c2pa", []byte{0xFF, 0, 1})...))))
	f.Add(tag(4, 0x40, []byte{0, 0, 0, 6, 1, 0}, frame(4, "GEOB", 0x4B, []byte("g\x00\x00\x00\x10\x00application/c2pa\x00\x00\x00x"))))
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
