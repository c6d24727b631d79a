package tiff

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
	formatstest.CheckReferencePair(t, &Format, sample(t, "unsigned.tif"), sample(t, "c2pa-rs-signed.tif"))
}

// order is a byte order that can also append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

type entry struct {
	tag, typ uint16
	val      []byte
}

// build writes a TIFF (classic or BigTIFF) in byte order bo whose IFD0 holds the entries; values
// longer than the inline field go after the IFD.
func build(bo order, big bool, es ...entry) []byte {
	var b []byte
	mark := "II"
	if bo.String() == binary.BigEndian.String() {
		mark = "MM"
	}
	b = append(b, mark...)
	entryLen, inline := 12, 4
	if big {
		b = bo.AppendUint16(b, 43)
		b = bo.AppendUint16(b, 8)
		b = bo.AppendUint16(b, 0)
		b = bo.AppendUint64(b, 16)
		b = bo.AppendUint64(b, uint64(len(es)))
		entryLen, inline = 20, 8
	} else {
		b = bo.AppendUint16(b, 42)
		b = bo.AppendUint32(b, 8)
		b = bo.AppendUint16(b, uint16(len(es)))
	}
	data := len(b) + len(es)*entryLen + inline
	var tail []byte
	for _, e := range es {
		b = bo.AppendUint16(b, e.tag)
		b = bo.AppendUint16(b, e.typ)
		field := make([]byte, inline)
		if len(e.val) <= inline {
			copy(field, e.val)
		} else if big {
			bo.PutUint64(field, uint64(data+len(tail)))
			tail = append(tail, e.val...)
		} else {
			bo.PutUint32(field, uint32(data+len(tail)))
			tail = append(tail, e.val...)
		}
		if big {
			b = bo.AppendUint64(b, uint64(len(e.val)))
		} else {
			b = bo.AppendUint32(b, uint32(len(e.val)))
		}
		b = append(b, field...)
	}
	b = append(b, make([]byte, inline)...) // next IFD: none
	return append(b, tail...)
}

func TestByteOrdersAndBigTIFF(t *testing.T) {
	store := bytes.Repeat([]byte("jumb"), 100)
	xmp := []byte("<x:xmpmeta/>")
	for _, bo := range []order{binary.LittleEndian, binary.BigEndian} {
		for _, big := range []bool{false, true} {
			in := build(bo, big, entry{256, 3, []byte{1, 0}}, entry{TagXMP, 1, xmp}, entry{TagC2PA, 7, store})
			if !Match(in) {
				t.Fatalf("%v big=%v: Match false", bo, big)
			}
			f, err := open(in)
			if err != nil {
				t.Fatalf("%v big=%v: %v", bo, big, err)
			}
			got, err := f.ManifestStore()
			if err != nil || !bytes.Equal(got, store) || !bytes.Equal(f.XMP(), xmp) {
				t.Fatalf("%v big=%v: store %q %v, XMP %q", bo, big, got, err, f.XMP())
			}
			tiny := build(bo, big, entry{TagC2PA, 7, []byte("abc")})
			if f, err := open(tiny); err != nil {
				t.Fatal(err)
			} else if got, _ := f.ManifestStore(); string(got) != "abc" {
				t.Fatalf("inline store %q", got)
			}
			for n := range len(in) - len(store) {
				if _, err := open(in[:n]); err == nil {
					t.Fatalf("%v big=%v: prefix %d opened", bo, big, n)
				}
			}
		}
	}
}

func TestHostile(t *testing.T) {
	le := binary.LittleEndian
	pastEOF := build(le, false, entry{TagC2PA, 7, make([]byte, 10)})
	le.PutUint32(pastEOF[10+4:], 1<<20) // count
	hugeCount := build(le, false, entry{TagC2PA, 4, make([]byte, 8)})
	le.PutUint32(hugeCount[10+4:], 0xFFFFFFFF)
	badType := build(le, false, entry{TagC2PA, 99, make([]byte, 8)})
	bigEntries := build(le, true)
	le.PutUint64(bigEntries[16:], 1<<40)
	badIFD := build(le, false)
	le.PutUint32(badIFD[4:], 0xFFFFFFF0)
	for name, c := range map[string]struct {
		in   []byte
		want error
	}{
		"value past EOF":   {pastEOF, formats.ErrMalformed},
		"huge count":       {hugeCount, formats.ErrTooLarge},
		"unknown type":     {badType, formats.ErrMalformed},
		"huge entry count": {bigEntries, formats.ErrTooLarge},
		"IFD past EOF":     {badIFD, formats.ErrMalformed},
		"short":            {[]byte("II*\x00"), formats.ErrMalformed},
	} {
		if _, err := open(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"unsigned.tif", "c2pa-rs-signed.tif"} {
		f.Add(sample(f, name))
	}
	f.Add(build(binary.BigEndian, true, entry{TagXMP, 7, []byte("<x/>")}, entry{TagC2PA, 7, []byte("0123456789")}))
	f.Add(build(binary.BigEndian, false, entry{TagC2PA, 7, []byte("0123456789")}))
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
