// Package jpeg reads and writes the C2PA manifest store, XMP and EXIF of JPEG files.
//
// Import it for its side effect: it registers the "jpeg" format with package formats.
//
// Open walks the marker segments from SOI up to the first SOS. Only segment headers are read,
// through a small window. The XMP packet and the EXIF block (APP1) are read by Open, the C2PA store
// (APP11 JUMBF segments, ISO 19566-5 Annex D.2) by ManifestStore; each is bounded by segment
// lengths that were checked against the file size. Other payloads are never read. Everything from
// the first SOS to the end of the file (entropy-coded data, later scans and segments, EOI, trailing
// bytes) is one opaque range, copied as it is.
//
// Layout removes the existing manifest store, replaces or inserts XMP and EXIF APP1 segments and
// plans a run of APP11 segments for the new store right after the leading APP0 (JFIF/JFXX)
// segments, or right after SOI when there are none, which is where c2pa-rs puts it. The data hash
// exclusion is exactly that run, markers and lengths included.
package jpeg

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"sort"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest/jumbf"
)

// Limits and sizes of the segments this package reads and writes.
const (
	// MaxStoreLen is the largest manifest store ManifestStore returns and Layout plans for.
	MaxStoreLen = 256 << 20
	// MaxXMPLen is the largest XMP packet that fits in one APP1 segment after its namespace prefix.
	MaxXMPLen = 0xFFFF - 2 - len(xmpPrefix) // 65504
	// MaxEXIFLen is the largest EXIF TIFF structure that fits in one APP1 segment after "Exif\0\0".
	MaxEXIFLen = 0xFFFF - 2 - len(exifPrefix) // 65527
	// DefaultBoxInstance is the APP11 box instance number (En) Layout uses for the store, the
	// value c2pa-rs writes. Another one is chosen when a JUMBF box kept in the file already uses it.
	DefaultBoxInstance = 0x0211
)

const (
	xmpPrefix  = "http://ns.adobe.com/xap/1.0/\x00"
	exifPrefix = "Exif\x00\x00"

	jpHeaderLen = 8                        // CI "JP" + En u16 + Z u32
	seg1Cap     = 0xFFFF - 2 - jpHeaderLen // store bytes in the first APP11 segment: 65525
	segNCap     = seg1Cap - 8              // store bytes in each later one (after the repeated LBox+TBox): 65517

	// maxJPSegments bounds how many APP11 "JP" segments are remembered. 4097 carry MaxStoreLen.
	maxJPSegments = 1 << 16
	// jpHeadLen is how much of an APP11 "JP" payload Open reads: the JP header, a box header with
	// XLBox, and the jumd box header with its type UUID.
	jpHeadLen = jpHeaderLen + 16 + 8 + 16
)

// Marker codes used here.
const (
	mSOI   = 0xD8
	mEOI   = 0xD9
	mSOS   = 0xDA
	mTEM   = 0x01
	mRST0  = 0xD0
	mRST7  = 0xD7
	mAPP0  = 0xE0
	mAPP1  = 0xE1
	mAPP11 = 0xEB
)

var format *formats.Format

func init() {
	formats.Register(formats.Format{
		Name:       "jpeg",
		MIME:       "image/jpeg",
		Extensions: []string{".jpg", ".jpeg", ".jpe"},
		Binding:    formats.DataHash,
		Match:      Match,
		Open: func(r io.ReaderAt, size int64) (formats.Container, error) {
			f, err := Open(r, size)
			if err != nil {
				return nil, err
			}
			return f, nil
		},
	})
	format, _ = formats.Lookup("jpeg")
}

// Match reports whether head starts like a JPEG file: SOI followed by a marker (FF D8 FF).
func Match(head []byte) bool {
	return len(head) >= 3 && head[0] == 0xFF && head[1] == mSOI && head[2] == 0xFF
}

// span is a run of input bytes [start, end). For a segment, start includes the fill bytes before its
// marker and body is where its payload begins (after the marker and the length).
type span struct{ start, body, end int64 }

// jpSeg is an APP11 segment with the JPEG XT "JP" header.
type jpSeg struct {
	span         // the whole segment, fill bytes before its marker included
	lbox  uint64 // first: the box length (LBox or XLBox)
	z     uint32
	en    uint16
	hlen  uint8 // first: box header length, 8 or 16
	first bool  // z == 1 and the data starts with a plausible box header
	c2pa  bool  // first: a "jumb" box whose jumd type is the C2PA manifest store
}

// data returns the JUMBF bytes of the segment: its payload after the 8-byte JP header.
func (s *jpSeg) data() span { return span{start: s.body + jpHeaderLen, end: s.end} }

// store is the located C2PA manifest store: its APP11 segments in sequence order.
type store struct {
	segs []jpSeg
	hlen int
	n    int64 // reassembled length, equal to the box length
}

// File is an opened JPEG. It implements formats.Writable.
type File struct {
	r    io.ReaderAt
	size int64

	insert  int64 // end of the leading APP0 segments, or 2
	xmpSegs []span
	exfSegs []span
	xmp     []byte
	exif    []byte

	store    *store
	storeErr error  // why the store cannot be returned, when it cannot
	drop     []span // APP11 segments of every C2PA store found
	usedEn   map[uint16]bool
}

func malformed(off int64, format string, args ...any) error {
	return fmt.Errorf("%w: JPEG at offset %d: %s", formats.ErrMalformed, off, fmt.Sprintf(format, args...))
}

// window reads small pieces of the input through a buffer, so that walking many small segments
// costs few ReadAt calls and skipping a large segment costs none.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64
	n    int
}

const windowLen = 4096

// at returns n bytes (n <= windowLen) at off, valid until the next call. ok is false when the
// file ends first; err reports a read error.
func (w *window) at(off int64, n int) (b []byte, ok bool, err error) {
	if n > len(w.buf) {
		return nil, false, fmt.Errorf("jpeg: internal error: a %d-byte read through a %d-byte window", n, len(w.buf))
	}
	if off < 0 || n < 0 || off > w.size || int64(n) > w.size-off {
		return nil, false, nil
	}
	if off >= w.off && off+int64(n) <= w.off+int64(w.n) {
		i := off - w.off
		return w.buf[i : i+int64(n)], true, nil
	}
	m := int64(len(w.buf))
	if rem := w.size - off; rem < m {
		m = rem
	}
	k, err := w.r.ReadAt(w.buf[:m], off)
	if k < n {
		w.n = 0
		if err == nil || err == io.EOF {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("jpeg: reading at offset %d: %w", off, err)
	}
	w.off, w.n = off, k
	return w.buf[:n], true, nil
}

// Open parses the marker segments of a JPEG file of the given size, from SOI to the first SOS.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: JPEG: negative size %d", formats.ErrMalformed, size)
	}
	w := &window{r: r, size: size, buf: make([]byte, windowLen)}
	b, ok, err := w.at(0, 3)
	if err != nil {
		return nil, err
	}
	if !ok || !Match(b) {
		return nil, malformed(0, "does not start with SOI (FF D8 FF)")
	}
	f := &File{r: r, size: size, insert: 2}
	var jp []jpSeg
	leading := true // still in the APP0 segments right after SOI
	pos := int64(2)
	for {
		start := pos
		b, ok, err := w.at(pos, 1)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, malformed(pos, "the file ends before a start-of-scan (SOS) segment")
		}
		if b[0] != 0xFF {
			return nil, malformed(pos, "expected a marker (FF), found byte %02X", b[0])
		}
		// Skip fill bytes: any number of FF before the marker code.
		var m byte
		for {
			pos++
			b, ok, err := w.at(pos, 1)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, malformed(pos, "the file ends inside a marker (no start-of-scan segment)")
			}
			if b[0] != 0xFF {
				m = b[0]
				break
			}
		}
		markerOff := pos - 1
		pos++
		switch {
		case m == 0x00:
			return nil, malformed(markerOff, "FF 00 (a stuffed byte) where a marker was expected")
		case m == mTEM || (m >= mRST0 && m <= mRST7):
			leading = false // a standalone marker, no length
			continue
		case m == mSOI:
			return nil, malformed(markerOff, "a second SOI marker")
		case m == mEOI:
			return nil, malformed(markerOff, "EOI before any start-of-scan (SOS) segment")
		}
		b, ok, err = w.at(pos, 2)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, malformed(markerOff, "the file ends inside the length of marker FF%02X", m)
		}
		lp := int64(binary.BigEndian.Uint16(b))
		if lp < 2 {
			return nil, malformed(markerOff, "marker FF%02X has segment length %d, less than 2", m, lp)
		}
		end := pos + lp
		if end > size {
			return nil, malformed(markerOff, "segment FF%02X of %d bytes runs past the end of the file (%d bytes)", m, lp, size)
		}
		if m == mSOS {
			break // the rest of the file is copied as it is
		}
		seg := span{start, pos + 2, end}
		if leading && m == mAPP0 {
			f.insert = end
		} else {
			leading = false
		}
		switch m {
		case mAPP1:
			if err := f.app1(w, seg); err != nil {
				return nil, err
			}
		case mAPP11:
			s, isJP, err := readJP(w, seg)
			if err != nil {
				return nil, err
			}
			if isJP {
				if len(jp) >= maxJPSegments {
					return nil, fmt.Errorf("%w: JPEG at offset %d: more than %d APP11 JUMBF segments", formats.ErrTooLarge, markerOff, maxJPSegments)
				}
				jp = append(jp, s)
			}
		}
		pos = end
	}
	f.findStore(jp)
	if len(f.xmpSegs) > 0 {
		if f.xmp, err = readSpan(r, f.xmpSegs[0], len(xmpPrefix)); err != nil {
			return nil, err
		}
	}
	if len(f.exfSegs) > 0 {
		if f.exif, err = readSpan(r, f.exfSegs[0], len(exifPrefix)); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// app1 classifies an APP1 segment as XMP or EXIF by its payload prefix.
func (f *File) app1(w *window, seg span) error {
	n := len(xmpPrefix)
	if l := seg.end - seg.body; l < int64(n) {
		n = int(l)
	}
	b, ok, err := w.at(seg.body, n)
	if err != nil || !ok {
		return err
	}
	switch {
	case bytes.HasPrefix(b, []byte(xmpPrefix)):
		f.xmpSegs = append(f.xmpSegs, seg)
	case bytes.HasPrefix(b, []byte(exifPrefix)):
		f.exfSegs = append(f.exfSegs, seg)
	}
	return nil
}

// readSpan reads a segment's payload after a prefix of skip bytes. The segment was checked against
// the file size and its payload is at most 65533 bytes.
func readSpan(r io.ReaderAt, seg span, skip int) ([]byte, error) {
	n := seg.end - seg.body - int64(skip)
	if n <= 0 {
		return nil, nil
	}
	p := make([]byte, n)
	if err := readAt(r, p, seg.body+int64(skip)); err != nil {
		return nil, err
	}
	return p, nil
}

// readJP reads the header of an APP11 segment. isJP is false when it is not a JPEG XT "JP" segment.
func readJP(w *window, seg span) (s jpSeg, isJP bool, err error) {
	n := int64(jpHeadLen)
	if l := seg.end - seg.body; l < n {
		n = l
	}
	b, ok, err := w.at(seg.body, int(n))
	if err != nil || !ok {
		return s, false, err
	}
	if len(b) < jpHeaderLen || b[0] != 'J' || b[1] != 'P' {
		return s, false, nil
	}
	s = jpSeg{
		span: seg,
		en:   binary.BigEndian.Uint16(b[2:]),
		z:    binary.BigEndian.Uint32(b[4:]),
	}
	d := b[jpHeaderLen:]
	if s.z != 1 || len(d) < 8 {
		return s, true, nil
	}
	s.first = true
	s.hlen = 8
	s.lbox = uint64(binary.BigEndian.Uint32(d))
	if s.lbox == 1 {
		if len(d) < 16 {
			s.first = false
			return s, true, nil
		}
		s.hlen = 16
		s.lbox = binary.BigEndian.Uint64(d[8:])
	}
	if string(d[4:8]) == "jumb" && len(d) >= int(s.hlen)+24 {
		j := d[s.hlen:]
		s.c2pa = string(j[4:8]) == "jumd" && bytes.Equal(j[8:24], jumbf.TypeManifestStore[:])
	}
	return s, true, nil
}

// findStore groups the APP11 "JP" segments by box instance and picks the C2PA manifest store.
// Problems with the store are kept for ManifestStore to report; Layout still removes it.
func (f *File) findStore(jp []jpSeg) {
	f.usedEn = make(map[uint16]bool)
	groups := make(map[uint16][]jpSeg)
	var order []uint16
	for _, s := range jp {
		if _, seen := groups[s.en]; !seen {
			order = append(order, s.en)
		}
		groups[s.en] = append(groups[s.en], s)
	}
	var stores []uint16
	for _, en := range order {
		g := groups[en]
		isC2PA := false
		for _, s := range g {
			if s.first && s.c2pa {
				isC2PA = true
			}
		}
		if !isC2PA {
			f.usedEn[en] = true
			continue
		}
		stores = append(stores, en)
		for _, s := range g {
			f.drop = append(f.drop, s.span)
		}
	}
	sort.Slice(f.drop, func(i, j int) bool { return f.drop[i].start < f.drop[j].start })
	switch len(stores) {
	case 0:
		f.storeErr = fmt.Errorf("%w: no APP11 JUMBF segment of the JPEG holds a C2PA manifest store", formats.ErrNoManifest)
		return
	case 1:
	default:
		f.storeErr = malformed(groups[stores[1]][0].start, "a second C2PA manifest store (APP11 box instance %04X; the first is %04X); only one is allowed",
			stores[1], stores[0])
		return
	}
	g := groups[stores[0]]
	sort.SliceStable(g, func(i, j int) bool { return g[i].z < g[j].z })
	first := g[0]
	for i, s := range g {
		if s.z != uint32(i+1) {
			f.storeErr = malformed(s.start, "APP11 segment of the C2PA manifest store (box instance %04X) has sequence number %d, expected %d", s.en, s.z, i+1)
			return
		}
	}
	if !first.first {
		f.storeErr = malformed(first.start, "the first APP11 segment of the C2PA manifest store is too short for a box header")
		return
	}
	if first.lbox > MaxStoreLen {
		f.storeErr = fmt.Errorf("%w: JPEG at offset %d: the C2PA manifest store claims %d bytes, more than the limit of %d",
			formats.ErrTooLarge, first.start, first.lbox, MaxStoreLen)
		return
	}
	var n int64
	for i, s := range g {
		l := s.data().end - s.data().start
		if i > 0 {
			if l < int64(first.hlen) {
				f.storeErr = malformed(s.start, "APP11 segment %d of the C2PA manifest store is too short to repeat the %d-byte box header", s.z, first.hlen)
				return
			}
			l -= int64(first.hlen)
		}
		n += l
	}
	if uint64(n) != first.lbox {
		f.storeErr = malformed(first.start, "the C2PA manifest store's %d APP11 segments hold %d bytes, but its box length says %d", len(g), n, first.lbox)
		return
	}
	f.store = &store{segs: g, hlen: int(first.hlen), n: n}
	f.storeErr = nil
}

// Format returns the registered JPEG format.
func (f *File) Format() *formats.Format { return format }

// XMP returns the XMP packet of the first standard XMP APP1 segment, or nil. The slice belongs to
// the File; do not modify it.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns the TIFF structure of the first EXIF APP1 segment (after "Exif\0\0"), or nil. The
// slice belongs to the File; do not modify it.
func (f *File) EXIF() []byte { return f.exif }

// ManifestStore reads and reassembles the C2PA manifest store from its APP11 segments. It returns
// an error wrapping formats.ErrNoManifest when there is none, formats.ErrMalformed when its
// segments do not form one box, and formats.ErrTooLarge when the box exceeds MaxStoreLen.
func (f *File) ManifestStore() ([]byte, error) {
	if f.storeErr != nil {
		return nil, f.storeErr
	}
	st := f.store
	out := make([]byte, st.n)
	pos := 0
	for i, s := range st.segs {
		l := int(s.data().end - s.data().start)
		if i == 0 {
			if err := readAt(f.r, out[:l], s.data().start); err != nil {
				return nil, err
			}
			pos = l
			continue
		}
		var hdr [16]byte
		h := hdr[:st.hlen]
		if err := readAt(f.r, h, s.data().start); err != nil {
			return nil, err
		}
		if !bytes.Equal(h, out[:st.hlen]) {
			return nil, malformed(s.start, "APP11 segment %d of the C2PA manifest store does not repeat the box header % X (found % X)", s.z, out[:st.hlen], h)
		}
		l -= st.hlen
		if err := readAt(f.r, out[pos:pos+l], s.data().start+int64(st.hlen)); err != nil {
			return nil, err
		}
		pos += l
	}
	return out, nil
}

func readAt(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("jpeg: reading %d bytes at offset %d: %w", len(p), off, err)
}
