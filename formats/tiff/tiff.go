// Package tiff reads the C2PA manifest store and XMP of TIFF files (and of TIFF-based raw formats
// such as DNG). It is read-only: ailabel verifies TIFFs that others signed but does not write them.
//
// Import it for its side effect of registering the "tiff" format with package formats.
//
// A classic TIFF starts with "II*\0" (little-endian) or "MM\0*" (big-endian) and the u32 offset of
// IFD0; an IFD is a u16 entry count, 12-byte entries (tag, type, count, value or offset) and the
// next IFD's offset. BigTIFF ("II+\0", "MM\0+") uses u64 offsets and counts and 20-byte entries.
// c2pa-rs stores the manifest store as IFD0 tag 0xCD41 (52545), type UNDEFINED; XMP is IFD0 tag
// 700. Only IFD0 is read: image data is never touched.
package tiff

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory.
const (
	// MaxStoreLen is the largest manifest store Open reads.
	MaxStoreLen = 64 << 20
	// MaxXMPLen is the largest XMP packet Open reads.
	MaxXMPLen = 16 << 20
	// MaxEntries is the largest IFD0 entry count Open accepts (BigTIFF counts are 64-bit).
	MaxEntries = 1 << 16
)

// Tags Open reads from IFD0.
const (
	TagC2PA = 0xCD41 // the C2PA manifest store
	TagXMP  = 700    // the XMP packet
)

// Format is the TIFF container description registered with package formats.
var Format = formats.Format{
	Name:       "tiff",
	MIME:       "image/tiff",
	Extensions: []string{".tif", ".tiff", ".dng"},
	Binding:    formats.DataHash,
	Match:      Match,
	Open: func(r io.ReaderAt, size int64) (formats.Container, error) {
		f, err := Open(r, size)
		if err != nil {
			return nil, err
		}
		return f, nil
	},
}

func init() { formats.Register(Format) }

// Match reports whether head starts with a classic or BigTIFF header in either byte order.
func Match(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	switch string(head[:4]) {
	case "II*\x00", "MM\x00*", "II+\x00", "MM\x00+":
		return true
	}
	return false
}

// File is an opened TIFF. It implements formats.Container (read-only).
type File struct {
	store    []byte
	hasStore bool
	xmp      []byte
}

// Format returns the TIFF format.
func (f *File) Format() *formats.Format { return &Format }

// ManifestStore returns the bytes of IFD0 tag 0xCD41.
func (f *File) ManifestStore() ([]byte, error) {
	if !f.hasStore {
		return nil, fmt.Errorf("tiff: %w", formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the bytes of IFD0 tag 700, or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns nil: a TIFF's tags are the file itself, not an embedded EXIF block.
func (f *File) EXIF() []byte { return nil }

// typeSize is the size in bytes of one value of each TIFF field type (0 for unknown types).
func typeSize(t uint16) uint64 {
	switch t {
	case 1, 2, 6, 7: // BYTE, ASCII, SBYTE, UNDEFINED
		return 1
	case 3, 8: // SHORT, SSHORT
		return 2
	case 4, 9, 11, 13: // LONG, SLONG, FLOAT, IFD
		return 4
	case 5, 10, 12, 16, 17, 18: // RATIONAL, SRATIONAL, DOUBLE, LONG8, SLONG8, IFD8
		return 8
	}
	return 0
}

func readAt(r io.ReaderAt, off, n int64, what string) ([]byte, error) {
	b := make([]byte, n)
	if k, err := r.ReadAt(b, off); k != len(b) {
		return nil, fmt.Errorf("%w: TIFF %s at offset %d: %v", formats.ErrMalformed, what, off, err)
	}
	return b, nil
}

// Open parses the header and IFD0 of a TIFF of size bytes read from r, and reads the values of
// the C2PA and XMP tags.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < 8 {
		return nil, fmt.Errorf("%w: TIFF of %d bytes is shorter than its 8-byte header", formats.ErrMalformed, size)
	}
	h, err := readAt(r, 0, min(size, 16), "header")
	if err != nil {
		return nil, err
	}
	if !Match(h) {
		return nil, fmt.Errorf("%w: TIFF does not start with II*\\0, MM\\0*, II+\\0 or MM\\0+", formats.ErrMalformed)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if h[0] == 'M' {
		bo = binary.BigEndian
	}
	big := bo.Uint16(h[2:4]) == 43
	var ifd uint64
	entryLen, countLen, inline := int64(12), int64(2), uint64(4)
	if big {
		if len(h) < 16 {
			return nil, fmt.Errorf("%w: BigTIFF of %d bytes is shorter than its 16-byte header", formats.ErrMalformed, size)
		}
		if bo.Uint16(h[4:6]) != 8 || bo.Uint16(h[6:8]) != 0 {
			return nil, fmt.Errorf("%w: BigTIFF offset size %d at offset 4 is not 8", formats.ErrMalformed, bo.Uint16(h[4:6]))
		}
		ifd = bo.Uint64(h[8:16])
		entryLen, countLen, inline = 20, 8, 8
	} else {
		ifd = uint64(bo.Uint32(h[4:8]))
	}
	if ifd < 8 || ifd > uint64(size) || uint64(size)-ifd < uint64(countLen) {
		return nil, fmt.Errorf("%w: TIFF IFD0 offset %d lies outside the %d-byte file", formats.ErrMalformed, ifd, size)
	}
	cb, err := readAt(r, int64(ifd), countLen, "IFD0 entry count")
	if err != nil {
		return nil, err
	}
	var n uint64
	if big {
		n = bo.Uint64(cb)
	} else {
		n = uint64(bo.Uint16(cb))
	}
	if n > MaxEntries {
		return nil, fmt.Errorf("%w: TIFF IFD0 at offset %d has %d entries, more than %d", formats.ErrTooLarge, ifd, n, MaxEntries)
	}
	start := int64(ifd) + countLen
	if uint64(size-start)/uint64(entryLen) < n {
		return nil, fmt.Errorf("%w: TIFF IFD0 at offset %d: %d entries run past the end of the file", formats.ErrMalformed, ifd, n)
	}
	entries, err := readAt(r, start, int64(n)*entryLen, "IFD0 entries")
	if err != nil {
		return nil, err
	}
	f := &File{}
	for i := range int64(n) {
		e := entries[i*entryLen : (i+1)*entryLen]
		tag, typ := bo.Uint16(e[0:2]), bo.Uint16(e[2:4])
		if tag != TagC2PA && tag != TagXMP {
			continue
		}
		var count, valOff uint64
		var field []byte
		if big {
			count, field = bo.Uint64(e[4:12]), e[12:20]
			valOff = bo.Uint64(field)
		} else {
			count, field = uint64(bo.Uint32(e[4:8])), e[8:12]
			valOff = uint64(bo.Uint32(field))
		}
		at := start + i*entryLen
		ts := typeSize(typ)
		if ts == 0 {
			return nil, fmt.Errorf("%w: TIFF tag %d at offset %d has unknown type %d", formats.ErrMalformed, tag, at, typ)
		}
		limit := uint64(MaxStoreLen)
		if tag == TagXMP {
			limit = MaxXMPLen
		}
		if count > limit/ts {
			return nil, fmt.Errorf("%w: TIFF tag %d at offset %d holds %d values of %d bytes, more than %d bytes", formats.ErrTooLarge, tag, at, count, ts, limit)
		}
		length := count * ts
		var val []byte
		if length <= inline {
			val = append([]byte(nil), field[:length]...)
		} else {
			if valOff > uint64(size) || uint64(size)-valOff < length {
				return nil, fmt.Errorf("%w: TIFF tag %d at offset %d: %d bytes at offset %d run past the end of the %d-byte file", formats.ErrMalformed, tag, at, length, valOff, size)
			}
			if val, err = readAt(r, int64(valOff), int64(length), fmt.Sprintf("tag %d value", tag)); err != nil {
				return nil, err
			}
		}
		switch {
		case tag == TagC2PA && !f.hasStore:
			f.store, f.hasStore = val, true
		case tag == TagXMP && f.xmp == nil:
			f.xmp = val
		}
	}
	return f, nil
}
