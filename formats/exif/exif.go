// Package exif writes and reads the metadata-only AI label in EXIF (a TIFF structure): IFD0
// ImageDescription, Software and Artist, and the Exif IFD UserComment. Tools that do not read
// C2PA (exiftool, photo managers, social networks) show these.
//
// Build merges into an existing TIFF structure without re-laying it out: the input bytes are
// kept verbatim (so maker notes, thumbnails, GPS data, unknown and private tags keep working,
// including the ones that hold offsets into the block), and a new IFD0 and, when needed, a new
// Exif IFD are appended after them; the header is pointed at the new IFD0. The superseded IFDs
// stay behind as unreferenced bytes, a few hundred bytes at most for ordinary files.
//
// The UserComment is written by hand: github.com/dsoprea/go-exif/v3 v3.0.1 writes the UNICODE
// character-code prefix as "Unicode\0", which exiftool rejects ("Invalid EXIF text encoding").
// Its merge path (NewIfdBuilderFromExistingChain) also drops tags it does not know and fails on
// UNDEFINED tags it has no decoder for, which is why this package edits the TIFF itself.
//
// Both functions take untrusted bytes: every offset and count is checked against the input
// before use, work is linear in the input, and a panic never escapes (it becomes an error).
package exif

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
)

// Limits.
const (
	// MaxInput is the largest TIFF structure Build and Parse accept. EXIF in a JPEG APP1
	// segment is at most 64 KiB; PNG eXIf and WebP EXIF chunks are sometimes larger.
	MaxInput = 4 << 20
	// MaxField is the largest value, in bytes of UTF-8, of one field given to Build.
	MaxField = 64 << 10
)

// Errors. Both wrap the shared container errors, so errors.Is(err, formats.ErrMalformed) also
// holds for ErrMalformed.
var (
	// ErrMalformed is wrapped by errors about input that is not a usable TIFF structure.
	// The caller may then decide to replace the EXIF instead of merging into it.
	ErrMalformed = formats.ErrMalformed
	// ErrTooLarge is wrapped by errors about input or fields over the limits.
	ErrTooLarge = formats.ErrTooLarge
)

// errInternal marks a recovered panic, which is a bug in this package. The fuzz targets fail on it.
var errInternal = errors.New("exif: internal error")

// Tag numbers.
const (
	tagImageDescription = 0x010E
	tagSoftware         = 0x0131
	tagArtist           = 0x013B
	tagExifIFD          = 0x8769
	tagExifVersion      = 0x9000
	tagUserComment      = 0x9286
)

// TIFF field types used here.
const (
	typeByte      = 1
	typeASCII     = 2
	typeLong      = 4
	typeUndefined = 7
	typeIFD       = 13
	typeUTF8      = 129 // Exif 3.0
)

// UserComment character-code prefixes (Exif 2.32 table 9).
var (
	prefixASCII   = []byte("ASCII\x00\x00\x00")
	prefixUnicode = []byte("UNICODE\x00")
)

// Fields are the EXIF tags ailabel writes. Build leaves a tag as the input has it when its
// field is empty.
type Fields struct {
	// ImageDescription is IFD0 tag 0x010E (ASCII). Non-ASCII text is stored as UTF-8 bytes,
	// which exiftool shows correctly but strict readers may not; keep multilingual text in XMP.
	ImageDescription string
	// Software is IFD0 tag 0x0131 (ASCII): the generating model or software.
	Software string
	// Artist is IFD0 tag 0x013B (ASCII), optional.
	Artist string
	// UserComment is Exif IFD tag 0x9286 (UNDEFINED with a character-code prefix): written
	// "ASCII\0\0\0"+text when the text is ASCII, else "UNICODE\0"+UTF-16 in the TIFF's byte order.
	UserComment string
}

// Build returns a TIFF structure ("MM\x00*…" when existing is empty, else in existing's byte
// order) holding f's non-empty fields and every tag of existing. existing may start with the
// JPEG APP1 "Exif\0\0" header, which is dropped. Errors wrap ErrMalformed for unusable input and
// ErrTooLarge for input or fields over the limits; other errors report invalid fields (a NUL
// byte, invalid UTF-8).
func Build(existing []byte, f Fields) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: exif build: %v", errInternal, r)
		}
	}()
	if err := f.check(); err != nil {
		return nil, err
	}
	existing = trimExifHeader(existing)
	if len(existing) == 0 {
		return build(nil, f)
	}
	t, err := parseHeader(existing)
	if err != nil {
		return nil, err
	}
	return build(t, f)
}

// Parse reads the label fields from a TIFF structure (an "Exif\0\0" prefix is accepted).
// Missing tags give empty fields. Errors wrap ErrMalformed or ErrTooLarge.
func Parse(tiff []byte) (f *Fields, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("%w: exif parse: %v", errInternal, r)
		}
	}()
	t, err := parseHeader(trimExifHeader(tiff))
	if err != nil {
		return nil, err
	}
	ifd0, _, err := t.readIFD(t.ifd0, "IFD0")
	if err != nil {
		return nil, err
	}
	f = &Fields{}
	var exifPtr *entry
	for i, e := range ifd0 {
		var dst *string
		switch e.tag {
		case tagImageDescription:
			dst = &f.ImageDescription
		case tagSoftware:
			dst = &f.Software
		case tagArtist:
			dst = &f.Artist
		case tagExifIFD:
			if exifPtr == nil {
				exifPtr = &ifd0[i] // only the first pointer is followed
			}
			continue
		default:
			continue
		}
		if *dst != "" {
			continue // the first of duplicated tags wins
		}
		switch e.typ {
		case typeASCII, typeByte, typeUndefined, typeUTF8:
		default:
			continue // a numeric type: not text
		}
		v, err := t.value(e, fmt.Sprintf("IFD0 tag 0x%04X", e.tag))
		if err != nil {
			return nil, err
		}
		*dst = trimNUL(v)
	}
	if exifPtr != nil {
		off, err := t.ifdPointer(*exifPtr, "IFD0 ExifIFD pointer")
		if err != nil {
			return nil, err
		}
		exifIFD, _, err := t.readIFD(off, "Exif IFD")
		if err != nil {
			return nil, err
		}
		for _, x := range exifIFD {
			if x.tag != tagUserComment {
				continue
			}
			v, err := t.value(x, "Exif IFD UserComment")
			if err != nil {
				return nil, err
			}
			f.UserComment = decodeUserComment(v, t.bo)
			break
		}
	}
	return f, nil
}

// check validates the fields given to Build.
func (f *Fields) check() error {
	for _, c := range []struct{ name, v string }{
		{"ImageDescription", f.ImageDescription},
		{"Software", f.Software},
		{"Artist", f.Artist},
		{"UserComment", f.UserComment},
	} {
		switch {
		case len(c.v) > MaxField:
			return fmt.Errorf("exif: %s is %d bytes, limit %d: %w", c.name, len(c.v), MaxField, ErrTooLarge)
		case !utf8.ValidString(c.v):
			return fmt.Errorf("exif: %s is not valid UTF-8", c.name)
		case strings.IndexByte(c.v, 0) >= 0:
			return fmt.Errorf("exif: %s contains a NUL byte", c.name)
		}
	}
	return nil
}

// trimExifHeader drops a leading "Exif\0\0" (the JPEG APP1 identifier) if present.
func trimExifHeader(b []byte) []byte {
	if len(b) >= 6 && string(b[:6]) == "Exif\x00\x00" {
		return b[6:]
	}
	return b
}

// byteOrder is binary.BigEndian or binary.LittleEndian.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// tiff is a parsed TIFF header over the input bytes.
type tiff struct {
	b    []byte
	bo   byteOrder
	ifd0 uint32
}

// entry is one 12-byte IFD entry as stored.
type entry struct {
	tag, typ uint16
	count    uint32
	field    [4]byte // the value, or the offset of the value, in the TIFF's byte order
	data     []byte  // a new entry's out-of-line value (more than 4 bytes), placed by build
}

func parseHeader(b []byte) (*tiff, error) {
	if len(b) > MaxInput {
		return nil, fmt.Errorf("exif: TIFF structure is %d bytes, limit %d: %w", len(b), MaxInput, ErrTooLarge)
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("exif: TIFF header at offset 0: %d bytes, need 8: %w", len(b), ErrMalformed)
	}
	t := &tiff{b: b}
	switch string(b[:4]) {
	case "MM\x00*":
		t.bo = binary.BigEndian
	case "II*\x00":
		t.bo = binary.LittleEndian
	case "MM\x00+", "II+\x00":
		return nil, fmt.Errorf("exif: BigTIFF header at offset 0 is not supported: %w", ErrMalformed)
	default:
		return nil, fmt.Errorf("exif: no TIFF byte-order mark at offset 0 (%q): %w", b[:4], ErrMalformed)
	}
	t.ifd0 = t.bo.Uint32(b[4:8])
	return t, nil
}

// readIFD reads the entries of the IFD at off and its next-IFD offset. The last IFD of some
// writers lacks the next-IFD field; that reads as 0.
func (t *tiff) readIFD(off uint32, what string) ([]entry, uint32, error) {
	n := uint64(len(t.b))
	if off < 8 || uint64(off)+2 > n {
		return nil, 0, fmt.Errorf("exif: %s offset %d is outside the %d-byte TIFF structure: %w", what, off, n, ErrMalformed)
	}
	count := uint64(t.bo.Uint16(t.b[off:]))
	end := uint64(off) + 2 + 12*count
	if end > n {
		return nil, 0, fmt.Errorf("exif: %s at offset %d has %d entries, which run past the end (%d bytes): %w", what, off, count, n, ErrMalformed)
	}
	entries := make([]entry, count)
	for i := range entries {
		p := t.b[uint64(off)+2+12*uint64(i):]
		e := &entries[i]
		e.tag = t.bo.Uint16(p[0:])
		e.typ = t.bo.Uint16(p[2:])
		e.count = t.bo.Uint32(p[4:])
		copy(e.field[:], p[8:12])
	}
	var next uint32
	if end+4 <= n {
		next = t.bo.Uint32(t.b[end:])
	}
	return entries, next, nil
}

// typeSize returns the size of one unit of a TIFF field type, or 0 for an unknown type.
func typeSize(typ uint16) uint64 {
	switch typ {
	case 1, 2, 6, 7, typeUTF8: // BYTE, ASCII, SBYTE, UNDEFINED, UTF-8
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11, typeIFD: // LONG, SLONG, FLOAT, IFD
		return 4
	case 5, 10, 12, 16, 17, 18: // RATIONAL, SRATIONAL, DOUBLE, LONG8, SLONG8, IFD8
		return 8
	}
	return 0
}

// value returns e's value bytes (a sub-slice of the input; do not modify), checking that an
// out-of-line value lies inside the TIFF structure. Unknown types give nil.
func (t *tiff) value(e entry, what string) ([]byte, error) {
	size := typeSize(e.typ) * uint64(e.count) // at most 8·(2³²−1): no overflow
	if size == 0 {
		return nil, nil
	}
	if size <= 4 {
		return e.field[:size], nil
	}
	off := uint64(t.bo.Uint32(e.field[:]))
	if off+size > uint64(len(t.b)) {
		return nil, fmt.Errorf("exif: %s: %d-byte value at offset %d runs past the end of the %d-byte TIFF structure: %w", what, size, off, len(t.b), ErrMalformed)
	}
	return t.b[off : off+size], nil
}

// ifdPointer returns the offset held by a sub-IFD pointer entry.
func (t *tiff) ifdPointer(e entry, what string) (uint32, error) {
	if (e.typ != typeLong && e.typ != typeIFD) || e.count != 1 {
		return 0, fmt.Errorf("exif: %s has type %d and count %d, want one LONG: %w", what, e.typ, e.count, ErrMalformed)
	}
	return t.bo.Uint32(e.field[:]), nil
}

// build makes the output. t is nil for a fresh structure.
func build(t *tiff, f Fields) ([]byte, error) {
	var (
		bo      byteOrder = binary.BigEndian
		base    []byte
		ifd0    []entry
		next0   uint32
		exifPtr *entry // IFD0's existing Exif IFD pointer
		exifIFD []entry
	)
	if t != nil {
		bo = t.bo
		var err error
		ifd0, next0, err = t.readIFD(t.ifd0, "IFD0")
		if err != nil {
			return nil, err
		}
		// Copied entries keep their value offsets, so those must already point inside the input
		// (past its end they would land in the bytes appended below).
		for i, e := range ifd0 {
			if _, err := t.value(e, fmt.Sprintf("IFD0 entry %d (tag 0x%04X)", i, e.tag)); err != nil {
				return nil, err
			}
			if e.tag == tagExifIFD && exifPtr == nil {
				exifPtr = &ifd0[i]
			}
		}
		if exifPtr != nil {
			off, err := t.ifdPointer(*exifPtr, "IFD0 ExifIFD pointer")
			if err != nil {
				return nil, err
			}
			exifIFD, _, err = t.readIFD(off, "Exif IFD")
			if err != nil {
				return nil, err
			}
			for i, e := range exifIFD {
				if _, err := t.value(e, fmt.Sprintf("Exif IFD entry %d (tag 0x%04X)", i, e.tag)); err != nil {
					return nil, err
				}
			}
		}
		base = t.b
	} else {
		base = []byte{'M', 'M', 0, '*', 0, 0, 0, 0}
	}

	// IFD0: drop the tags we replace, add ours.
	replace := map[uint16]string{}
	if f.ImageDescription != "" {
		replace[tagImageDescription] = f.ImageDescription
	}
	if f.Software != "" {
		replace[tagSoftware] = f.Software
	}
	if f.Artist != "" {
		replace[tagArtist] = f.Artist
	}
	newExif := f.UserComment != ""
	if len(replace) == 0 && !newExif && t != nil {
		return slices.Clone(t.b), nil
	}
	ifd0 = slices.DeleteFunc(ifd0, func(e entry) bool {
		_, ok := replace[e.tag]
		return ok || (newExif && e.tag == tagExifIFD)
	})
	for tag, s := range replace {
		ifd0 = append(ifd0, newEntry(bo, tag, typeASCII, append([]byte(s), 0)))
	}

	// The Exif IFD, rewritten only when the UserComment changes.
	if newExif {
		exifIFD = slices.DeleteFunc(exifIFD, func(e entry) bool { return e.tag == tagUserComment })
		if !slices.ContainsFunc(exifIFD, func(e entry) bool { return e.tag == tagExifVersion }) {
			// Exif requires it; exiftool -validate warns without it.
			exifIFD = append(exifIFD, newEntry(bo, tagExifVersion, typeUndefined, []byte("0232")))
		}
		exifIFD = append(exifIFD, newEntry(bo, tagUserComment, typeUndefined, encodeUserComment(f.UserComment, bo)))
		sortEntries(exifIFD)
		// The pointer's value is set once the layout is known.
		ifd0 = append(ifd0, entry{tag: tagExifIFD, typ: typeLong, count: 1})
	}
	sortEntries(ifd0)

	// Layout: base (padded to even), IFD0 and its new values, then the Exif IFD and its values.
	out := make([]byte, 0, len(base)+ifdSize(ifd0)+ifdSize(exifIFD)+16)
	out = append(out, base...)
	if len(out)%2 == 1 {
		out = append(out, 0)
	}
	ifd0Off := uint32(len(out))
	exifOff := ifd0Off + uint32(ifdSize(ifd0))
	if newExif {
		for i := range ifd0 {
			if ifd0[i].tag == tagExifIFD { // ours: the input's pointers were removed above
				bo.PutUint32(ifd0[i].field[:], exifOff)
			}
		}
	}
	out = appendIFD(out, bo, ifd0, next0)
	if newExif {
		if uint32(len(out)) != exifOff {
			return nil, fmt.Errorf("%w: Exif IFD planned at %d, placed at %d", errInternal, exifOff, len(out))
		}
		out = appendIFD(out, bo, exifIFD, 0)
	}
	if len(out) > MaxInput {
		return nil, fmt.Errorf("exif: output would be %d bytes, limit %d: %w", len(out), MaxInput, ErrTooLarge)
	}
	bo.PutUint32(out[4:8], ifd0Off)
	return out, nil
}

// newEntry makes an entry for a value of 1-byte units.
func newEntry(bo byteOrder, tag, typ uint16, v []byte) entry {
	e := entry{tag: tag, typ: typ, count: uint32(len(v))}
	if len(v) <= 4 {
		copy(e.field[:], v)
	} else {
		e.data = v
	}
	return e
}

// sortEntries orders entries by tag number, as TIFF requires; equal tags keep their order.
func sortEntries(es []entry) {
	slices.SortStableFunc(es, func(a, b entry) int { return int(a.tag) - int(b.tag) })
}

// ifdSize is the number of bytes appendIFD writes for es.
func ifdSize(es []entry) int {
	n := 2 + 12*len(es) + 4
	for _, e := range es {
		n += len(e.data) + len(e.data)%2
	}
	return n
}

// appendIFD writes the IFD at the end of out (which must have an even length), followed by the
// new out-of-line values, each at an even offset.
func appendIFD(out []byte, bo byteOrder, es []entry, next uint32) []byte {
	start := len(out)
	dataOff := uint32(start + 2 + 12*len(es) + 4)
	out = bo.AppendUint16(out, uint16(len(es)))
	for _, e := range es {
		out = bo.AppendUint16(out, e.tag)
		out = bo.AppendUint16(out, e.typ)
		out = bo.AppendUint32(out, e.count)
		if e.data != nil {
			out = bo.AppendUint32(out, dataOff)
			dataOff += uint32(len(e.data) + len(e.data)%2)
		} else {
			out = append(out, e.field[:]...)
		}
	}
	out = bo.AppendUint32(out, next)
	for _, e := range es {
		if e.data != nil {
			out = append(out, e.data...)
			if len(e.data)%2 == 1 {
				out = append(out, 0)
			}
		}
	}
	return out
}

// isASCII reports whether s is 7-bit ASCII.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// encodeUserComment returns the UserComment value: the character-code prefix and the text.
func encodeUserComment(s string, bo byteOrder) []byte {
	if isASCII(s) {
		return append(slices.Clone(prefixASCII), s...)
	}
	units := utf16.Encode([]rune(s))
	v := make([]byte, 0, len(prefixUnicode)+2*len(units))
	v = append(v, prefixUnicode...)
	for _, u := range units {
		v = bo.AppendUint16(v, u)
	}
	return v
}

// decodeUserComment decodes a UserComment value. UNICODE text is UTF-16 in the TIFF's byte
// order unless it starts with a byte-order mark; go-exif's "Unicode\0" prefix is accepted.
// ASCII and undefined-code text is returned as is up to the first NUL; JIS text is returned
// undecoded.
func decodeUserComment(v []byte, bo binary.ByteOrder) string {
	if len(v) < 8 {
		return trimNUL(v)
	}
	id, text := v[:8], v[8:]
	switch {
	case bytes.EqualFold(id, prefixUnicode):
		if len(text) >= 2 {
			switch {
			case text[0] == 0xFE && text[1] == 0xFF:
				bo, text = binary.BigEndian, text[2:]
			case text[0] == 0xFF && text[1] == 0xFE:
				bo, text = binary.LittleEndian, text[2:]
			}
		}
		units := make([]uint16, len(text)/2)
		for i := range units {
			units[i] = bo.Uint16(text[2*i:])
		}
		for len(units) > 0 && units[len(units)-1] == 0 {
			units = units[:len(units)-1]
		}
		return string(utf16.Decode(units))
	case bytes.HasPrefix(id, []byte("ASCII")), bytes.HasPrefix(id, []byte("JIS")), id[0] == 0,
		len(bytes.Trim(id, "\x00 ")) == 0:
		// ASCII, JIS (returned undecoded) and undefined-code text.
		return trimNUL(text)
	default:
		// No character-code prefix: some writers store bare text.
		return trimNUL(v)
	}
}

// trimNUL returns b up to its first NUL as a string.
func trimNUL(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
