// Package bmff reads and writes ISO base media files: MP4, MOV (QuickTime), M4A, HEIC and AVIF.
// Import it for its side effect of registering these formats with package formats. The format is
// told from the brands of the leading ftyp box; files without one (pre-2001 QuickTime) are not
// recognised.
//
// The C2PA manifest store lives in a top-level uuid box (extended type
// D8FEC3D6-1B0E-483C-9297-5828877EC481, purpose "manifest"); XMP in a top-level uuid box
// BE7ACFCB-97A9-42E8-9C71-999491E3AFAC. Opening walks only the top-level box headers, so it costs
// the same for a 2 GB file as for a small one. Writing places the XMP and the manifest store
// right after ftyp and copies every other top-level box in order; the boxes holding absolute file
// offsets (moov's chunk offsets, moof's explicit base data offsets, mfra's fragment offsets, and
// a top-level meta's item locations) are re-serialised with the offsets moved, everything else
// (in particular every mdat) is copied from the input without being read.
//
// The hard binding is c2pa.hash.bmff.v3 (see package manifest/bmffhash).
package bmff

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits.
const (
	// MaxBoxes bounds the number of top-level boxes Open accepts.
	MaxBoxes = 1 << 20
	// MaxStoreLen bounds the manifest store read from, or planned into, a file.
	MaxStoreLen = 256 << 20
	// MaxXMPLen bounds an XMP packet read from, or written to, a file.
	MaxXMPLen = 64 << 20
	// MaxRewriteLen bounds a box that has to be re-serialised in memory (moov, moof, mfra, meta).
	MaxRewriteLen = 256 << 20
)

// C2PAUUID is the extended type of the uuid box holding C2PA data.
var C2PAUUID = [16]byte{0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81}

// XMPUUID is the extended type of the uuid box holding an XMP packet.
var XMPUUID = [16]byte{0xBE, 0x7A, 0xCF, 0xCB, 0x97, 0xA9, 0x42, 0xE8, 0x9C, 0x71, 0x99, 0x94, 0x91, 0xE3, 0xAF, 0xAC}

// StoreFrameOverhead is how many bytes the uuid box adds around a manifest store: the 8-byte box
// header, the 16-byte extended type, version and flags, the purpose "manifest\0" and the u64
// offset of the first merkle box.
const StoreFrameOverhead = 8 + 16 + 4 + 9 + 8

type kind uint8

const (
	kindOther  kind = iota
	kindC2PA        // C2PA uuid box with a purpose other than "merkle"
	kindMerkle      // C2PA uuid box with purpose "merkle": auxiliary, kept
	kindXMP
)

// topBox is one top-level box of the input, or a run of adjacent plain boxes (see plain), which
// Layout handles alike. It holds no pointers, so many of them cost little memory and garbage
// collection.
type topBox struct {
	off, size int64
	hlen      int32
	typ       [4]byte
	kind      kind
}

// c2paInfo is what Open learned about a C2PA uuid box.
type c2paInfo struct {
	purpose string
	err     error // the purpose could not be read
}

func (b *topBox) end() int64 { return b.off + b.size }

// file is an opened BMFF file.
type file struct {
	format *formats.Format
	r      io.ReaderAt
	size   int64
	boxes  []topBox
	tail   int64 // bytes after the last box, too few to form a box header
	xmp    []byte
	c2pa   map[int64]c2paInfo // by box offset
}

func init() {
	reg := func(name, mime string, exts []string) {
		formats.Register(formats.Format{
			Name:       name,
			MIME:       mime,
			Extensions: exts,
			Binding:    formats.BMFFHash,
			Match:      func(head []byte) bool { return classify(head) == name },
			Open: func(r io.ReaderAt, size int64) (formats.Container, error) {
				f, err := open(r, size)
				if err != nil {
					return nil, err
				}
				f.format = lookup(name, mime, exts)
				return f, nil
			},
		})
	}
	reg("mp4", "video/mp4", []string{".mp4", ".m4v"})
	reg("mov", "video/quicktime", []string{".mov", ".qt"})
	reg("m4a", "audio/mp4", []string{".m4a"})
	reg("heic", "image/heic", []string{".heic", ".heif"})
	reg("avif", "image/avif", []string{".avif"})
}

// lookup returns the registered format (registration copies the struct).
func lookup(name, mime string, exts []string) *formats.Format {
	if f, ok := formats.Lookup(name); ok {
		return f
	}
	return &formats.Format{Name: name, MIME: mime, Extensions: exts, Binding: formats.BMFFHash}
}

func isFourCC(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// classify names the format of a file from its leading ftyp box, or returns "" when head does not
// start with one. The major brand decides first; compatible brands break ties.
func classify(head []byte) string {
	if len(head) < 16 || string(head[4:8]) != "ftyp" {
		return ""
	}
	size := uint64(binary.BigEndian.Uint32(head))
	hl := uint64(8)
	if size == 1 {
		if len(head) < 24 {
			return ""
		}
		size, hl = binary.BigEndian.Uint64(head[8:]), 16
	}
	// A real ftyp holds a major brand, a minor version and whole 4-byte compatible brands, and is
	// small: text that happens to have "ftyp" at offset 4 is not BMFF.
	if size < hl+8 || size > 4096 || (size-hl-8)%4 != 0 || !isFourCC(head[hl:hl+4]) {
		return ""
	}
	major := string(head[hl : hl+4])
	end := min(size, uint64(len(head)))
	var brands []string
	brands = append(brands, major)
	for p := hl + 8; p+4 <= end; p += 4 {
		brands = append(brands, string(head[p:p+4]))
	}
	has := func(set ...string) bool {
		for _, b := range brands {
			for _, s := range set {
				if b == s {
					return true
				}
			}
		}
		return false
	}
	switch {
	case major == "crx ": // Canon raw: BMFF, but not ours to rewrite
		return ""
	case major == "qt  ":
		return "mov"
	case has("avif", "avis"):
		return "avif"
	case has("heic", "heix", "heim", "heis", "hevc", "hevx") || major == "mif1" || major == "msf1" || major == "mif2":
		return "heic"
	case major == "M4A " || major == "M4B " || major == "M4P " || major == "F4A ":
		return "m4a"
	case has("qt  "):
		return "mov"
	}
	return "mp4"
}

// window reads small ranges of a file through a read-ahead buffer, so walking many small boxes
// does not cost one read each.
type window struct {
	r    io.ReaderAt
	size int64
	buf  []byte
	off  int64
	n    int
}

func (w *window) at(off int64, n int) ([]byte, error) {
	if off < w.off || off+int64(n) > w.off+int64(w.n) {
		if w.buf == nil {
			w.buf = make([]byte, 64<<10)
		}
		want := int64(len(w.buf))
		if rem := w.size - off; rem < want {
			want = rem
		}
		k, err := w.r.ReadAt(w.buf[:want], off)
		if int64(k) < want {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading at offset %d: %w", off, err)
		}
		w.off, w.n = off, k
	}
	if off+int64(n) > w.off+int64(w.n) {
		return nil, fmt.Errorf("reading %d bytes at offset %d: %w", n, off, io.ErrUnexpectedEOF)
	}
	return w.buf[off-w.off : off-w.off+int64(n)], nil
}

func fourcc(t [4]byte) string {
	for _, c := range t {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", t[:])
		}
	}
	return fmt.Sprintf("%q", string(t[:]))
}

func malformed(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), formats.ErrMalformed)
}

// open walks the top-level boxes.
func open(r io.ReaderAt, size int64) (*file, error) {
	if size < 0 {
		return nil, malformed("negative size %d", size)
	}
	f := &file{r: r, size: size}
	w := &window{r: r, size: size}
	for pos := int64(0); pos < size; {
		rem := size - pos
		if rem < 8 {
			f.tail = rem
			break
		}
		h, err := w.at(pos, 8)
		if err != nil {
			return nil, err
		}
		var b topBox
		b.off = pos
		copy(b.typ[:], h[4:8])
		sz := uint64(binary.BigEndian.Uint32(h))
		b.hlen = 8
		switch {
		case sz == 1:
			if rem < 16 {
				f.tail = rem
				break
			}
			h, err = w.at(pos+8, 8)
			if err != nil {
				return nil, err
			}
			sz, b.hlen = binary.BigEndian.Uint64(h), 16
			if sz < 16 {
				return nil, malformed("top-level box %s at offset %d has largesize %d, less than its 16-byte header", fourcc(b.typ), pos, sz)
			}
		case sz == 0:
			sz = uint64(rem)
		case sz < 8:
			return nil, malformed("top-level box %s at offset %d has size %d, less than its 8-byte header", fourcc(b.typ), pos, sz)
		}
		if f.tail != 0 {
			break
		}
		if sz > uint64(rem) {
			return nil, malformed("top-level box %s at offset %d claims %d bytes, only %d remain in the file", fourcc(b.typ), pos, sz, rem)
		}
		b.size = int64(sz)
		if len(f.boxes) == 0 && string(b.typ[:]) != "ftyp" {
			return nil, malformed("first box is %s, not ftyp", fourcc(b.typ))
		}
		if string(b.typ[:]) == "uuid" && b.size >= int64(b.hlen)+16 {
			if err := f.readUUID(w, &b); err != nil {
				return nil, err
			}
		}
		pos += b.size
		// Runs of boxes Layout treats alike (copied, no offsets inside) are kept as one entry.
		if k := len(f.boxes) - 1; k > 0 && plain(&b) && plain(&f.boxes[k]) {
			f.boxes[k].size += b.size
			continue
		}
		if len(f.boxes) >= MaxBoxes {
			return nil, fmt.Errorf("more than %d top-level boxes: %w", MaxBoxes, formats.ErrTooLarge)
		}
		f.boxes = append(f.boxes, b)
	}
	if len(f.boxes) == 0 {
		return nil, malformed("no ftyp box")
	}
	return f, nil
}

// plain reports whether Layout copies the box as is and nothing needs to know where it ends:
// any box but the ones holding or framing offsets, media data or metadata.
func plain(b *topBox) bool {
	if b.kind != kindOther {
		return false
	}
	switch string(b.typ[:]) {
	case "ftyp", "moov", "moof", "mfra", "meta", "mdat", "sidx":
		return false
	}
	return true
}

// readUUID classifies a uuid box and reads what Open keeps of it (the XMP packet, a C2PA purpose).
func (f *file) readUUID(w *window, b *topBox) error {
	ext, err := w.at(b.off+int64(b.hlen), 16)
	if err != nil {
		return err
	}
	body := b.off + int64(b.hlen) + 16
	setInfo := func(i c2paInfo) {
		if f.c2pa == nil {
			f.c2pa = map[int64]c2paInfo{}
		}
		f.c2pa[b.off] = i
	}
	switch {
	case bytes.Equal(ext, XMPUUID[:]):
		b.kind = kindXMP
		if f.xmp != nil {
			return nil // the first one wins
		}
		n := b.end() - body
		if n > MaxXMPLen {
			return fmt.Errorf("XMP box at offset %d holds %d bytes (limit %d): %w", b.off, n, MaxXMPLen, formats.ErrTooLarge)
		}
		x, err := readAt(f.r, body, n)
		if err != nil {
			return fmt.Errorf("reading the XMP box at offset %d: %w", b.off, err)
		}
		f.xmp = x
	case bytes.Equal(ext, C2PAUUID[:]):
		b.kind = kindC2PA
		n := min(b.end()-body, 4+256)
		if n < 5 {
			setInfo(c2paInfo{err: malformed("C2PA uuid box at offset %d is too short for version, flags and purpose", b.off)})
			return nil
		}
		p, err := w.at(body, int(n))
		if err != nil {
			return err
		}
		i := bytes.IndexByte(p[4:], 0)
		if i < 0 {
			setInfo(c2paInfo{err: malformed("C2PA uuid box at offset %d: box_purpose is not NUL-terminated within 256 bytes", b.off)})
			return nil
		}
		purpose := string(p[4 : 4+i])
		setInfo(c2paInfo{purpose: purpose})
		if purpose == "merkle" {
			b.kind = kindMerkle
		}
	}
	return nil
}

// Format returns the format that opened the file.
func (f *file) Format() *formats.Format { return f.format }

// XMP returns the packet of the first top-level XMP uuid box, or nil.
func (f *file) XMP() []byte { return f.xmp }

// EXIF returns nil: MP4 and MOV have no standard EXIF location, and the EXIF item of a HEIF file
// is not read.
func (f *file) EXIF() []byte { return nil }

// ManifestStore returns the JUMBF manifest store of the top-level C2PA uuid box with purpose
// "manifest". Update manifests (purposes "original" and "update") are not supported.
func (f *file) ManifestStore() ([]byte, error) {
	var found *topBox
	for i := range f.boxes {
		b := &f.boxes[i]
		if b.kind != kindC2PA {
			continue
		}
		info := f.c2pa[b.off]
		if info.err != nil {
			return nil, info.err
		}
		switch info.purpose {
		case "manifest":
			if found != nil {
				return nil, malformed("more than one C2PA manifest box (offsets %d and %d)", found.off, b.off)
			}
			found = b
		case "original", "update":
			return nil, fmt.Errorf("C2PA uuid box at offset %d has purpose %q: update manifests are not supported: %w", b.off, info.purpose, formats.ErrUnsupported)
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no top-level C2PA uuid box with purpose \"manifest\": %w", formats.ErrNoManifest)
	}
	b := found
	// uuid header, extended type, version+flags, purpose and its NUL, u64 merkle offset
	start := b.off + int64(b.hlen) + 16 + 4 + int64(len("manifest")) + 1 + 8
	rem := b.end() - start
	if rem < 8 {
		return nil, malformed("C2PA manifest box at offset %d has no room for a JUMBF box", b.off)
	}
	var h [16]byte
	hb, err := readAt(f.r, start, 8)
	if err != nil {
		return nil, fmt.Errorf("reading the manifest store at offset %d: %w", start, err)
	}
	copy(h[:], hb)
	lbox := uint64(binary.BigEndian.Uint32(h[:4]))
	hl := uint64(8)
	switch lbox {
	case 0:
		lbox = uint64(rem)
	case 1:
		if rem < 16 {
			return nil, malformed("manifest store at offset %d: extended JUMBF header truncated", start)
		}
		xb, err := readAt(f.r, start+8, 8)
		if err != nil {
			return nil, fmt.Errorf("reading the manifest store at offset %d: %w", start, err)
		}
		copy(h[8:], xb)
		lbox, hl = binary.BigEndian.Uint64(h[8:16]), 16
	}
	if string(h[4:8]) != "jumb" {
		return nil, malformed("C2PA manifest box at offset %d holds a %s box, not a JUMBF superbox", b.off, fourcc([4]byte(h[4:8])))
	}
	if lbox < hl || lbox > uint64(rem) {
		return nil, malformed("manifest store at offset %d claims %d bytes, the C2PA box has %d", start, lbox, rem)
	}
	if lbox > MaxStoreLen {
		return nil, fmt.Errorf("manifest store at offset %d is %d bytes (limit %d): %w", start, lbox, MaxStoreLen, formats.ErrTooLarge)
	}
	store, err := readAt(f.r, start, int64(lbox))
	if err != nil {
		return nil, fmt.Errorf("reading the manifest store at offset %d: %w", start, err)
	}
	return store, nil
}

// readAt reads exactly n bytes at off. Callers bound n first.
func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	b := make([]byte, n)
	k, err := r.ReadAt(b, off)
	if int64(k) == n {
		return b, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return nil, err
}
