package jpeg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats"
)

// A small JPEG with every kind of segment Open looks at.
func richJPEG(t testing.TB) []byte {
	t.Helper()
	base := encodeJPEG(t, 16, 8, 75)
	st := fakeStore(t, 300)
	segs := append([][]byte{jfif, exifSeg(oldEXIF), xmpSeg(oldXMP)}, frameJP(st, 3, 120)...)
	return insertAfterSOI(base, segs...)
}

// sosEnd returns the offset just past the first SOS segment's header.
func sosEnd(t testing.TB, b []byte) int {
	_, tail := modelParse(t, b)
	sos := len(b) - len(tail)
	return sos + 2 + int(binary.BigEndian.Uint16(b[sos+2:]))
}

func TestTruncatedPrefixes(t *testing.T) {
	full := richJPEG(t)
	need := sosEnd(t, full)
	st := fakeStore(t, 64)
	for n := 0; n <= len(full); n++ {
		b := full[:n]
		f, err := Open(bytes.NewReader(b), int64(n))
		if n < need {
			if err == nil {
				t.Fatalf("prefix %d (SOS header ends at %d): Open succeeded", n, need)
			}
			if !errors.Is(err, formats.ErrMalformed) {
				t.Fatalf("prefix %d: %v does not wrap ErrMalformed", n, err)
			}
			if n > 3 && !strings.Contains(err.Error(), "offset") {
				t.Fatalf("prefix %d: error %q names no offset", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("prefix %d: %v", n, err)
		}
		if got, err := f.ManifestStore(); err != nil || len(got) != 300 {
			t.Fatalf("prefix %d: store %d bytes, %v", n, len(got), err)
		}
		out, _ := write(t, f, b, formats.Edit{StoreLen: len(st), XMP: newXMP}, st)
		if got, err := openBytes(t, out).ManifestStore(); err != nil || !bytes.Equal(got, st) {
			t.Fatalf("prefix %d: rewritten store: %v", n, err)
		}
	}
}

func TestMalformedSegments(t *testing.T) {
	base := encodeJPEG(t, 8, 8, 75)
	cases := []struct {
		name string
		b    []byte
		want string
	}{
		{"not-jpeg", []byte("GIF89a"), "SOI"},
		{"length-past-eof", append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0}, "Exif\x00\x00"...), "past the end"},
		{"length-below-2", insertAfterSOI(base, []byte{0xFF, 0xE0, 0x00, 0x01}), "less than 2"},
		{"garbage-between", insertAfterSOI(base, jfif, []byte{0x00}), "expected a marker"},
		{"stuffed-zero", insertAfterSOI(base, []byte{0xFF, 0x00}), "stuffed"},
		{"second-soi", insertAfterSOI(base, []byte{0xFF, 0xD8}), "second SOI"},
		{"eoi-before-sos", []byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0xFF, 0xD9}, "EOI"},
		{"only-fill", append([]byte{0xFF, 0xD8}, bytes.Repeat([]byte{0xFF}, 100)...), "ends inside a marker"},
		{"no-sos", insertAfterSOI([]byte{0xFF, 0xD8}, jfif), "ends before"},
		{"sos-past-eof", []byte{0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x0C, 0x01}, "past the end"},
	}
	for _, c := range cases {
		_, err := Open(bytes.NewReader(c.b), int64(len(c.b)))
		if !errors.Is(err, formats.ErrMalformed) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrMalformed mentioning %q", c.name, err, c.want)
		}
	}
	// A size larger than the data behind the reader: the read fails, nothing panics.
	if _, err := Open(bytes.NewReader(base[:100]), int64(len(base))); err == nil {
		t.Error("Open succeeded with a size past the end of the data")
	}
	if _, err := Open(bytes.NewReader(base), -5); err == nil {
		t.Error("Open succeeded with a negative size")
	}
}

type failingReader struct{ after int64 }

func (r failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.after {
		return 0, errors.New("disk on fire")
	}
	return len(p), nil
}

func TestReadErrorsPropagate(t *testing.T) {
	in := richJPEG(t)
	r := failingReader{after: 10}
	if _, err := Open(r, int64(len(in))); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("Open: %v", err)
	}
}

// storeFile builds a JPEG whose APP11 segments are the given ones.
func storeFile(t testing.TB, segs ...[]byte) []byte {
	t.Helper()
	return insertAfterSOI(encodeJPEG(t, 8, 8, 75), append([][]byte{jfif}, segs...)...)
}

func TestBrokenStores(t *testing.T) {
	st := fakeStore(t, 3000)
	segs := frameJP(st, 9, 800) // four segments
	jpHead := func(en uint16, z uint32) []byte {
		b := []byte{'J', 'P'}
		b = binary.BigEndian.AppendUint16(b, en)
		return binary.BigEndian.AppendUint32(b, z)
	}
	// A first segment that claims a huge box.
	huge := append([]byte(nil), st[:200]...)
	binary.BigEndian.PutUint32(huge, 0xFFFFFF00)
	xl := append([]byte{0, 0, 0, 1, 'j', 'u', 'm', 'b', 0x10, 0, 0, 0, 0, 0, 0, 0}, st[8:200]...)
	short := append([]byte(nil), st[:200]...)
	binary.BigEndian.PutUint32(short, 150)
	badRepeat := append([]byte(nil), segs[2]...)
	badRepeat[4+8+3] ^= 1 // the repeated LBox
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"gap", storeFile(t, segs[0], segs[1], segs[3]), formats.ErrMalformed},
		{"missing-last", storeFile(t, segs[0], segs[1], segs[2]), formats.ErrMalformed},
		{"duplicate", storeFile(t, segs[0], segs[1], segs[1], segs[2], segs[3]), formats.ErrMalformed},
		{"zero-sequence", storeFile(t, segs[0], segment(0xEB, jpHead(9, 0), st[:8], st[1000:1100])), formats.ErrMalformed},
		{"huge-lbox", storeFile(t, segment(0xEB, jpHead(9, 1), huge)), formats.ErrTooLarge},
		{"huge-xlbox", storeFile(t, segment(0xEB, jpHead(9, 1), xl)), formats.ErrTooLarge},
		{"lbox-mismatch", storeFile(t, segment(0xEB, jpHead(9, 1), short)), formats.ErrMalformed},
		{"bad-repeat", storeFile(t, segs[0], segs[1], badRepeat, segs[3]), formats.ErrMalformed},
		{"short-continuation", storeFile(t, segs[0], segment(0xEB, jpHead(9, 2), st[:4])), formats.ErrMalformed},
		{"two-stores", storeFile(t, append(frameJP(st, 1, 5000), frameJP(st, 2, 5000)...)...), formats.ErrMalformed},
	}
	newStore := fakeStore(t, 100)
	for _, c := range cases {
		f := openBytes(t, c.b)
		got, err := f.ManifestStore()
		if !errors.Is(err, c.want) || got != nil {
			t.Errorf("%s: ManifestStore: %d bytes, %v, want %v", c.name, len(got), err, c.want)
			continue
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("%s: error %q names no offset", c.name, err)
		}
		// Layout still removes the broken store: the output has only the new one.
		out, _ := write(t, f, c.b, formats.Edit{StoreLen: len(newStore)}, newStore)
		s, err := openBytes(t, out).ManifestStore()
		if err != nil || !bytes.Equal(s, newStore) {
			t.Errorf("%s: rewritten store: %v", c.name, err)
		}
		ms, _ := modelParse(t, out)
		if n := len(c2paInstances(ms)); n != 1 {
			t.Errorf("%s: %d stores after rewriting", c.name, n)
		}
	}

	// Segments out of file order are reassembled by sequence number.
	f := openBytes(t, storeFile(t, segs[0], segs[2], segs[1], segs[3]))
	if got, err := f.ManifestStore(); err != nil || !bytes.Equal(got, st) {
		t.Errorf("out-of-order segments: %v", err)
	}
	// A store with an XLBox header is read, its continuation segments stripping 16 bytes.
	xst := append([]byte{0, 0, 0, 1, 'j', 'u', 'm', 'b', 0, 0, 0, 0, 0, 0, 0, 0}, st[8:]...)
	binary.BigEndian.PutUint64(xst[8:], uint64(len(xst)))
	x1 := segment(0xEB, jpHead(4, 1), xst[:1500])
	x2 := segment(0xEB, jpHead(4, 2), xst[:16], xst[1500:])
	if got, err := openBytes(t, storeFile(t, x1, x2)).ManifestStore(); err != nil || !bytes.Equal(got, xst) {
		t.Errorf("XLBox store: %v", err)
	}
}

func TestManyTinySegments(t *testing.T) {
	base := encodeJPEG(t, 8, 8, 75)
	var pad []byte
	for i := 0; i < 100000; i++ {
		if i%2 == 0 {
			pad = append(pad, 0xFF, 0xFE, 0x00, 0x02) // empty COM
		} else {
			pad = append(pad, 0xFF, 0xFF, 0xE5, 0x00, 0x02) // fill byte + empty APP5
		}
	}
	in := insertAfterSOI(base, jfif, pad)
	st := fakeStore(t, 100)
	// The best of three runs, so that a busy machine does not fail the test; a walk that is not
	// linear in the number of segments would take far longer than the bound.
	took := bestOf(3, func() {
		f := openBytes(t, in)
		out, _ := write(t, f, in, formats.Edit{StoreLen: 100, XMP: newXMP}, st)
		if len(out) != len(in)+int(FramedLen(100))+len(xmpSeg(newXMP)) {
			t.Fatal("unexpected output length")
		}
	})
	t.Logf("100k segments: Open+Layout+WriteTo %v", took)
	if took > time.Second {
		t.Fatalf("Open+Layout+WriteTo of 100k segments took %v", took)
	}

	// Too many APP11 JUMBF segments are refused, quickly.
	var jp []byte
	for i := 0; i < maxJPSegments+10; i++ {
		jp = append(jp, 0xFF, 0xEB, 0x00, 0x0A, 'J', 'P', 0, 1, 0, 0, 0, 2)
	}
	in = insertAfterSOI(base, jp)
	took = bestOf(3, func() {
		if _, err := Open(bytes.NewReader(in), int64(len(in))); !errors.Is(err, formats.ErrTooLarge) {
			t.Fatalf("%d APP11 segments: %v", maxJPSegments+10, err)
		}
	})
	t.Logf("refusing %d APP11 segments: %v", maxJPSegments+10, took)
	if took > time.Second {
		t.Fatalf("refusing many APP11 segments took %v", took)
	}
}

func bestOf(n int, f func()) time.Duration {
	best := time.Duration(1<<63 - 1)
	for range n {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}

// countingReader counts the bytes Open reads.
type countingReader struct {
	r io.ReaderAt
	n int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.n += int64(n)
	return n, err
}

// Open reads segment headers, not payloads: a file with big segments it does not need and a big
// scan costs a few windows.
func TestOpenReadsHeadersOnly(t *testing.T) {
	base := encodeJPEG(t, 800, 600, 95)
	big := make([]byte, 65000)
	var segs [][]byte
	for i := 0; i < 20; i++ {
		segs = append(segs, segment(0xE2, big)) // APP2, e.g. ICC
	}
	in := insertAfterSOI(base, segs...)
	cr := &countingReader{r: bytes.NewReader(in)}
	if _, err := Open(cr, int64(len(in))); err != nil {
		t.Fatal(err)
	}
	// 20 windows for the APP2 headers, a few for the rest; the file is ~1.4 MB.
	if cr.n > 40*windowLen {
		t.Fatalf("Open read %d of %d bytes", cr.n, len(in))
	}
	t.Logf("Open read %d of %d bytes", cr.n, len(in))
}
