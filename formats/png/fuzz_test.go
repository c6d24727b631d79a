package png

import (
	"bytes"
	"image"
	"image/color"
	stdpng "image/png"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

// FuzzOpen: Open, Layout, WriteTo and re-Open never panic, and a written file re-opens with the
// store and metadata that were written.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"c2pa-rs-signed.png", "unsigned.png"} {
		f.Add(refFile(f, name))
	}
	m := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	m.Set(1, 1, color.NRGBA{1, 2, 3, 4})
	var b bytes.Buffer
	if err := stdpng.Encode(&b, m); err != nil {
		f.Fatal(err)
	}
	small := b.Bytes()
	f.Add(small)
	f.Add(insertChunks(f, small, "IDAT", xmpChunk("<x/>", true), Chunk("eXIf", tiffBlob("f")), Chunk("caBX", []byte("store"))))
	f.Add(insertChunks(f, small, "IEND", xmpChunk("<x/>", false), Chunk("eXIf", tiffBlob("g"))))
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
				t.Fatalf("Layout of an opened file: %v", err)
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
