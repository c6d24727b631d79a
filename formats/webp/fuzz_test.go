package webp

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

// FuzzOpen: Open, Layout, WriteTo and re-Open never panic, and a written file re-opens with the
// store and metadata that were written.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"c2pa-rs-signed.webp", "unsigned.webp"} {
		f.Add(refFile(f, name))
	}
	for _, in := range handmade(f) {
		f.Add(in.b)
	}
	vp8l := binary.LittleEndian.AppendUint32([]byte{0x2f}, uint32(4)|uint32(2)<<14|1<<28)
	f.Add(build(Chunk("VP8L", vp8l)))
	f.Add(build(Chunk("VP8X", []byte{flagAnimation, 0, 0, 0, 1, 0, 0, 1, 0, 0}), Chunk("ANIM", make([]byte, 6)),
		Chunk("ANMF", make([]byte, 17)), Chunk("ANMF", make([]byte, 16)), Chunk("EXIF", []byte("Exif\x00\x00MM")), Chunk("ZZZZ", nil)))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Open(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			return
		}
		p.ManifestStore()
		for _, e := range []formats.Edit{
			{StoreLen: 7},
			{StoreLen: 8, XMP: []byte("<x:xmpmeta/>"), EXIF: tiffBlob("e")},
			{StoreLen: 3, XMP: []byte{}, EXIF: []byte{}},
		} {
			l, err := p.Layout(e)
			if err != nil {
				// Only a missing canvas size may stop the extended layout.
				if e.XMP == nil || p.vp8x != nil || (p.width != 0 && p.height != 0) {
					t.Fatalf("Layout of an opened file: %v", err)
				}
				continue
			}
			store := bytes.Repeat([]byte{0xA5}, e.StoreLen)
			var out bytes.Buffer
			if _, err := l.WriteTo(&out, bytes.NewReader(in), store); err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			q, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
			if err != nil {
				t.Fatalf("re-Open: %v", err)
			}
			got, err := q.ManifestStore()
			if err != nil || !bytes.Equal(got, store) {
				t.Fatalf("re-opened store %x, %v", got, err)
			}
			if e.XMP != nil && !bytes.Equal(q.XMP(), e.XMP) && !(len(e.XMP) == 0 && q.XMP() == nil) {
				t.Fatalf("re-opened XMP %q, want %q", q.XMP(), e.XMP)
			}
			if e.EXIF != nil && !bytes.Equal(q.EXIF(), e.EXIF) && !(len(e.EXIF) == 0 && q.EXIF() == nil) {
				t.Fatalf("re-opened EXIF %q, want %q", q.EXIF(), e.EXIF)
			}
		}
	})
}
