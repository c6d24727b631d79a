package jpeg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

type source struct {
	name string
	b    []byte
}

func generatedSources(t *testing.T) []source {
	var out []source
	for _, sz := range [][2]int{{1, 1}, {17, 13}, {64, 48}, {333, 257}} {
		base := encodeJPEG(t, sz[0], sz[1], 85)
		n := fmt.Sprintf("%dx%d", sz[0], sz[1])
		out = append(out,
			source{n + "/bare", base},
			source{n + "/app0", insertAfterSOI(base, jfif)},
			source{n + "/app0+jfxx+exif+xmp", insertAfterSOI(base, jfif, jfxx, exifSeg(oldEXIF), comment, xmpSeg(oldXMP), extXMP)},
			source{n + "/exif-first", insertAfterSOI(base, exifSeg(oldEXIF), jfif, xmpSeg(oldXMP))},
		)
	}
	// A JUMBF box that is not a manifest store, with the En c2pa-rs uses: kept, not read as ours.
	base := encodeJPEG(t, 40, 30, 90)
	out = append(out, source{"other-jumbf", insertAfterSOI(base, append([][]byte{jfif}, frameJP(otherBox, DefaultBoxInstance, 1000)...)...)})
	// An old store in three segments, after a comment.
	old := fakeStore(t, 140000)
	out = append(out, source{"old-store", insertAfterSOI(base, append([][]byte{jfif, comment}, frameJP(old, 7, 65000)...)...)})
	return out
}

func TestRoundTrip(t *testing.T) {
	srcs := generatedSources(t)
	if prog := progressiveJPEG(t, 203, 150); prog != nil {
		if n := bytes.Count(prog, []byte{0xFF, 0xDA}); n < 2 || !bytes.Contains(prog, []byte{0xFF, 0xC2}) {
			t.Fatalf("ImageMagick's output is not progressive (%d SOS, SOF2 %v)", n, bytes.Contains(prog, []byte{0xFF, 0xC2}))
		}
		srcs = append(srcs, source{"progressive", prog}, source{"progressive+xmp", insertAfterSOI(prog, xmpSeg(oldXMP))})
	}
	edits := []struct {
		name string
		e    formats.Edit
	}{
		{"keep", formats.Edit{}},
		{"both", formats.Edit{XMP: newXMP, EXIF: newEXIF}},
		{"xmp", formats.Edit{XMP: newXMP}},
		{"remove", formats.Edit{XMP: []byte{}, EXIF: []byte{}}},
		{"max", formats.Edit{XMP: bytes.Repeat([]byte("x"), MaxXMPLen), EXIF: bytes.Repeat([]byte("e"), MaxEXIFLen)}},
	}
	storeLens := []int{100, seg1Cap, seg1Cap + 1, seg1Cap + segNCap, seg1Cap + segNCap + 1, 200000}
	for _, src := range srcs {
		in0 := openBytes(t, src.b)
		for _, ed := range edits {
			for i, n := range storeLens {
				t.Run(fmt.Sprintf("%s/%s/%d", src.name, ed.name, n), func(t *testing.T) {
					e := ed.e
					e.StoreLen = n
					st := fakeStore(t, n)
					out, l := write(t, in0, src.b, e, st)
					checkOutput(t, src.b, out, l, e, st, in0)
					if i == 0 {
						// Pixels do not depend on the store size.
						samePixels(t, src.b, out)
					}
				})
			}
		}
	}
}

// checkOutput verifies one written file against its input and edit.
func checkOutput(t *testing.T, in, out []byte, l *formats.Layout, e formats.Edit, st []byte, in0 *File) {
	t.Helper()
	f := openBytes(t, out)
	got, err := f.ManifestStore()
	if err != nil || !bytes.Equal(got, st) {
		t.Fatalf("ManifestStore of the output: %d bytes, %v", len(got), err)
	}
	wantXMP, wantEXIF := in0.XMP(), in0.EXIF()
	if e.XMP != nil {
		wantXMP = e.XMP
	}
	if e.EXIF != nil {
		wantEXIF = e.EXIF
	}
	if len(wantXMP) == 0 {
		wantXMP = nil
	}
	if len(wantEXIF) == 0 {
		wantEXIF = nil
	}
	if !bytes.Equal(f.XMP(), wantXMP) || (f.XMP() == nil) != (wantXMP == nil) {
		t.Fatalf("XMP of the output is %d bytes, want %d", len(f.XMP()), len(wantXMP))
	}
	if !bytes.Equal(f.EXIF(), wantEXIF) || (f.EXIF() == nil) != (wantEXIF == nil) {
		t.Fatalf("EXIF of the output is %d bytes, want %d", len(f.EXIF()), len(wantEXIF))
	}

	// The Store piece is exactly Frame's output, and exactly the run of APP11 segments of the store.
	off, n := l.StoreOffset()
	if n != FramedLen(len(st)) {
		t.Fatalf("store piece is %d bytes, FramedLen says %d", n, FramedLen(len(st)))
	}
	if !bytes.Equal(out[off:off+n], l.Frame(st)) {
		t.Fatal("the bytes at StoreOffset are not Frame(store)")
	}
	segs, _ := modelParse(t, out)
	var runStart, runEnd int64 = -1, -1
	var ours uint16
	pos := int64(2)
	for _, s := range segs {
		en, z, ok := s.jp()
		if ok && z == 1 && bytes.Equal(s.payload()[8:], st[:len(s.payload())-8]) {
			runStart, ours = pos, en
		}
		if runStart >= 0 && runEnd < 0 && !(ok && en == ours) {
			runEnd = pos
		}
		if ok && en == ours && runEnd >= 0 {
			t.Fatalf("a segment of the store at %d is outside the run %d..%d", pos, runStart, runEnd)
		}
		pos += int64(len(s.raw))
	}
	if runEnd < 0 {
		runEnd = pos
	}
	if runStart != off || runEnd != off+n {
		t.Fatalf("store run is %d..%d in the file, the layout says %d..%d", runStart, runEnd, off, off+n)
	}

	// Outside the excluded range, the output is the input with old stores removed and the
	// metadata edits applied, as the model computes it.
	want, insertAt := expectedWithoutStore(t, in, e)
	rest := append(append([]byte(nil), out[:off]...), out[off+n:]...)
	if !bytes.Equal(rest, want) {
		t.Fatalf("output minus the store run (%d bytes) differs from the expected file (%d bytes)", len(rest), len(want))
	}
	if off != int64(insertAt) {
		t.Fatalf("store at %d, want %d (after the leading APP0 segments)", off, insertAt)
	}
	// Copies are merged: no two adjacent copy pieces continue each other.
	for i := 1; i < len(l.Pieces); i++ {
		p, q := l.Pieces[i-1], l.Pieces[i]
		if p.Kind == formats.Copy && q.Kind == formats.Copy && p.Off+p.Len == q.Off {
			t.Fatalf("pieces %d and %d are adjacent copies", i-1, i)
		}
		if q.Len <= 0 {
			t.Fatalf("piece %d has length %d", i, q.Len)
		}
	}
}

// The input's other JUMBF box keeps its En; the new store takes the next free one.
func TestStoreAvoidsUsedBoxInstance(t *testing.T) {
	base := encodeJPEG(t, 16, 16, 90)
	in := insertAfterSOI(base, append([][]byte{jfif}, frameJP(otherBox, DefaultBoxInstance, 1000)...)...)
	f := openBytes(t, in)
	if _, err := f.ManifestStore(); err == nil {
		t.Fatal("a non-C2PA JUMBF box was read as the manifest store")
	}
	st := fakeStore(t, 500)
	out, l := write(t, f, in, formats.Edit{StoreLen: len(st)}, st)
	off, _ := l.StoreOffset()
	if en := binary.BigEndian.Uint16(out[off+6:]); en != DefaultBoxInstance+1 {
		t.Fatalf("new store uses En %04X", en)
	}
	if !bytes.Contains(out, frameJP(otherBox, DefaultBoxInstance, 1000)[0]) {
		t.Fatal("the other JUMBF box was not kept")
	}
}

func TestFramedLen(t *testing.T) {
	for _, n := range []int{8, 46, 1000, seg1Cap - 1, seg1Cap, seg1Cap + 1, seg1Cap + segNCap, seg1Cap + segNCap + 1, 3*segNCap + 17, 1 << 20} {
		st := make([]byte, n)
		copy(st, []byte{0, 0, 0, 0, 'j', 'u', 'm', 'b'})
		fr := frame(st, 0x0211)
		if int64(len(fr)) != FramedLen(n) {
			t.Fatalf("store %d: framed %d bytes, FramedLen %d", n, len(fr), FramedLen(n))
		}
		// Every segment is at most 65535 bytes after its marker, and the chunks give back the store.
		var got []byte
		for pos, z := 0, uint32(1); pos < len(fr); z++ {
			if fr[pos] != 0xFF || fr[pos+1] != 0xEB {
				t.Fatalf("store %d: no APP11 marker at %d", n, pos)
			}
			lp := int(binary.BigEndian.Uint16(fr[pos+2:]))
			p := fr[pos+4 : pos+2+lp]
			if string(p[:2]) != "JP" || binary.BigEndian.Uint16(p[2:]) != 0x0211 || binary.BigEndian.Uint32(p[4:]) != z {
				t.Fatalf("store %d: bad JP header % X", n, p[:8])
			}
			if z == 1 {
				got = append(got, p[8:]...)
			} else {
				if !bytes.Equal(p[8:16], st[:8]) {
					t.Fatalf("store %d: segment %d does not repeat LBox+TBox", n, z)
				}
				got = append(got, p[16:]...)
			}
			if (z == 1 && len(p) != 8+seg1Cap && pos+2+lp != len(fr)) || (z > 1 && len(p) != 16+segNCap && pos+2+lp != len(fr)) {
				t.Fatalf("store %d: segment %d is not full though more follow", n, z)
			}
			pos += 2 + lp
		}
		if !bytes.Equal(got, st) {
			t.Fatalf("store %d: unframed bytes differ", n)
		}
	}
	// The largest allowed store, by arithmetic only.
	if got, want := FramedLen(MaxStoreLen), int64(MaxStoreLen)+12+((MaxStoreLen-seg1Cap+segNCap-1)/segNCap)*20; got != want {
		t.Fatalf("FramedLen(MaxStoreLen) = %d, want %d", got, want)
	}
}

func TestLayoutLimits(t *testing.T) {
	in := encodeJPEG(t, 8, 8, 80)
	f := openBytes(t, in)
	for _, e := range []formats.Edit{
		{StoreLen: MaxStoreLen + 1},
		{StoreLen: 100, XMP: make([]byte, MaxXMPLen+1)},
		{StoreLen: 100, EXIF: make([]byte, MaxEXIFLen+1)},
	} {
		if _, err := f.Layout(e); !errors.Is(err, formats.ErrTooLarge) {
			t.Errorf("Layout(StoreLen %d, XMP %d, EXIF %d): %v, want ErrTooLarge", e.StoreLen, len(e.XMP), len(e.EXIF), err)
		}
	}
	for _, n := range []int{-1, 0, 7} {
		if _, err := f.Layout(formats.Edit{StoreLen: n}); err == nil {
			t.Errorf("Layout(StoreLen %d) succeeded", n)
		}
	}
	// A store of another length than planned is refused by WriteTo, never written short.
	l, err := f.Layout(formats.Edit{StoreLen: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 3, 99, 101} {
		if _, err := l.WriteTo(&bytes.Buffer{}, bytes.NewReader(in), make([]byte, n)); err == nil {
			t.Errorf("WriteTo accepted a %d-byte store for a 100-byte plan", n)
		}
	}
}

// Fill bytes before markers are kept and do not confuse the walk.
func TestFillBytes(t *testing.T) {
	base := encodeJPEG(t, 24, 24, 80)
	fill := func(seg []byte) []byte { return append([]byte{0xFF, 0xFF, 0xFF}, seg...) }
	old := fakeStore(t, 300)
	in := insertAfterSOI(base, fill(jfif), fill(exifSeg(oldEXIF)), fill(frameJP(old, 5, 1000)[0]), fill(xmpSeg(oldXMP)), []byte{0xFF, 0xFF})
	f := openBytes(t, in)
	if !bytes.Equal(f.XMP(), oldXMP) || !bytes.Equal(f.EXIF(), oldEXIF) {
		t.Fatal("XMP or EXIF not found behind fill bytes")
	}
	if got, err := f.ManifestStore(); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("store behind fill bytes: %v", err)
	}
	st := fakeStore(t, 100)
	out, l := write(t, f, in, formats.Edit{StoreLen: 100, XMP: newXMP}, st)
	off, n := l.StoreOffset()
	// Old store dropped together with its fill bytes; XMP replaced together with its fill bytes.
	want := insertAfterSOI(base, fill(jfif), fill(exifSeg(oldEXIF)), xmpSeg(newXMP), []byte{0xFF, 0xFF})
	if off != 2+int64(len(fill(jfif))) {
		t.Fatalf("store at %d", off)
	}
	if rest := append(append([]byte(nil), out[:off]...), out[off+n:]...); !bytes.Equal(rest, want) {
		t.Fatal("unexpected output around fill bytes")
	}
	samePixels(t, in, out)
}

// Standalone markers (RSTn, TEM) before SOS have no length; they are walked over and kept.
func TestStandaloneMarkers(t *testing.T) {
	base := encodeJPEG(t, 24, 24, 80)
	rst := []byte{0xFF, 0xD3}
	tem := []byte{0xFF, 0x01}
	for _, c := range []struct {
		name   string
		in     []byte
		decode bool // image/jpeg skips stray RSTn but reads a length after TEM
	}{
		{"rst", insertAfterSOI(base, jfif, rst, exifSeg(oldEXIF), rst), true},
		{"tem", insertAfterSOI(base, tem, jfif, xmpSeg(oldXMP)), false},
	} {
		f := openBytes(t, c.in)
		st := fakeStore(t, 100)
		out, l := write(t, f, c.in, formats.Edit{StoreLen: 100, XMP: newXMP}, st)
		if got, err := openBytes(t, out).ManifestStore(); err != nil || !bytes.Equal(got, st) {
			t.Fatalf("%s: %v", c.name, err)
		}
		off, n := l.StoreOffset()
		rest := append(append([]byte(nil), out[:off]...), out[off+n:]...)
		var want []byte
		switch c.name {
		case "rst":
			// The store and the new XMP go after the APP0; the stray RSTn ends the leading APP0 run.
			want = insertAfterSOI(base, jfif, xmpSeg(newXMP), rst, exifSeg(oldEXIF), rst)
			if off != 2+int64(len(jfif)) {
				t.Fatalf("rst: store at %d", off)
			}
		case "tem":
			// TEM before APP0: the APP0 is not leading, so the store goes right after SOI; the XMP is replaced in place.
			want = insertAfterSOI(base, tem, jfif, xmpSeg(newXMP))
			if off != 2 {
				t.Fatalf("tem: store at %d", off)
			}
		}
		if !bytes.Equal(rest, want) {
			t.Fatalf("%s: unexpected output", c.name)
		}
		if c.decode {
			samePixels(t, c.in, out)
		}
	}
}
