// Package jxl reads the C2PA manifest store, XMP and EXIF of JPEG XL files in the ISO BMFF-style
// container. It is read-only: ailabel verifies JPEG XL files that others signed but does not write
// them.
//
// Import it for its side effect of registering the "jxl" format with package formats.
//
// The container starts with the 12-byte signature box 00 00 00 0C "JXL " 0D 0A 87 0A, then boxes:
// a big-endian u32 size (1: a u64 size follows the type; 0: to the end of the file), a 4-byte
// type, and the payload. c2pa-rs puts the manifest store, a JUMBF "jumb" superbox labelled "c2pa",
// as a top-level box after "ftyp". XMP is the "xml " box, EXIF the "Exif" box (a u32 offset, then
// the TIFF structure). A bare codestream (FF 0A) has no boxes and so no manifest store.
package jxl

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory and how many boxes it walks.
const (
	// MaxStoreLen is the largest manifest store Open reads.
	MaxStoreLen = 64 << 20
	// MaxXMPLen is the largest XMP box Open reads.
	MaxXMPLen = 16 << 20
	// MaxEXIFLen is the largest Exif box Open reads.
	MaxEXIFLen = 16 << 20
	// MaxBoxes bounds the number of top-level boxes.
	MaxBoxes = 1 << 20
)

var signature = []byte{0, 0, 0, 0x0C, 'J', 'X', 'L', ' ', 0x0D, 0x0A, 0x87, 0x0A}

// Format is the JPEG XL container description registered with package formats.
var Format = formats.Format{
	Name:       "jxl",
	MIME:       "image/jxl",
	Extensions: []string{".jxl"},
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

// Match reports whether head starts with the JPEG XL container signature or a bare codestream
// (FF 0A).
func Match(head []byte) bool {
	return bytes.HasPrefix(head, signature) || len(head) >= 2 && head[0] == 0xFF && head[1] == 0x0A
}

// File is an opened JPEG XL file. It implements formats.Container (read-only).
type File struct {
	store    []byte
	hasStore bool
	xmp      []byte
	exif     []byte
}

// Format returns the JPEG XL format.
func (f *File) Format() *formats.Format { return &Format }

// ManifestStore returns the first top-level "jumb" box labelled "c2pa", header included.
func (f *File) ManifestStore() ([]byte, error) {
	if !f.hasStore {
		return nil, fmt.Errorf("jxl: %w", formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the payload of the first "xml " box, or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns the TIFF structure of the first "Exif" box, or nil.
func (f *File) EXIF() []byte { return f.exif }

func readAt(r io.ReaderAt, off, n int64, what string) ([]byte, error) {
	b := make([]byte, n)
	if k, err := r.ReadAt(b, off); k != len(b) {
		return nil, fmt.Errorf("%w: JPEG XL %s at offset %d: %v", formats.ErrMalformed, what, off, err)
	}
	return b, nil
}

// isC2PAStore reports whether a jumb box's first child is a jumd whose type starts with "c2pa".
func isC2PAStore(r io.ReaderAt, off, hdr, n int64) bool {
	if n < hdr+8+16 {
		return false
	}
	h, err := readAt(r, off+hdr, 12, "jumd header")
	return err == nil && string(h[4:8]) == "jumd" && string(h[8:12]) == "c2pa"
}

// Open walks the top-level boxes of a JPEG XL file of size bytes read from r and reads the
// manifest store, XMP and EXIF boxes. Codestream boxes are skipped, never read.
func Open(r io.ReaderAt, size int64) (*File, error) {
	h, err := readAt(r, 0, min(size, 12), "signature")
	if err != nil {
		return nil, err
	}
	if len(h) >= 2 && h[0] == 0xFF && h[1] == 0x0A {
		return &File{}, nil // a bare codestream: no boxes
	}
	if !bytes.Equal(h, signature) {
		return nil, fmt.Errorf("%w: JPEG XL does not start with the container signature", formats.ErrMalformed)
	}
	f := &File{}
	off := int64(12)
	for boxes := 0; off < size; boxes++ {
		if boxes >= MaxBoxes {
			return nil, fmt.Errorf("%w: JPEG XL has more than %d boxes", formats.ErrTooLarge, MaxBoxes)
		}
		if size-off < 8 {
			return nil, fmt.Errorf("%w: JPEG XL box header at offset %d: only %d bytes left", formats.ErrMalformed, off, size-off)
		}
		bh, err := readAt(r, off, 8, "box header")
		if err != nil {
			return nil, err
		}
		n, typ, hdr := int64(binary.BigEndian.Uint32(bh)), string(bh[4:8]), int64(8)
		switch n {
		case 0:
			n = size - off
		case 1:
			if size-off < 16 {
				return nil, fmt.Errorf("%w: JPEG XL box %q at offset %d: no room for its 64-bit size", formats.ErrMalformed, typ, off)
			}
			xb, err := readAt(r, off+8, 8, "box size")
			if err != nil {
				return nil, err
			}
			x := binary.BigEndian.Uint64(xb)
			if x > uint64(size-off) {
				return nil, fmt.Errorf("%w: JPEG XL box %q at offset %d: size %d runs past the end of the %d-byte file", formats.ErrMalformed, typ, off, x, size)
			}
			n, hdr = int64(x), 16
		}
		if n < hdr || n > size-off {
			return nil, fmt.Errorf("%w: JPEG XL box %q at offset %d: size %d does not fit (header %d, %d bytes left)", formats.ErrMalformed, typ, off, n, hdr, size-off)
		}
		switch {
		case typ == "jumb" && !f.hasStore && isC2PAStore(r, off, hdr, n):
			if n > MaxStoreLen {
				return nil, fmt.Errorf("%w: JPEG XL manifest store box at offset %d is %d bytes, more than %d", formats.ErrTooLarge, off, n, MaxStoreLen)
			}
			if hdr != 8 {
				// The store is returned as a JUMBF box with a 32-bit size.
				b, err := readAt(r, off+hdr, n-hdr, "manifest store")
				if err != nil {
					return nil, err
				}
				f.store = append(binary.BigEndian.AppendUint32(nil, uint32(n-8)), "jumb"...)
				f.store = append(f.store, b...)
			} else if f.store, err = readAt(r, off, n, "manifest store"); err != nil {
				return nil, err
			}
			f.hasStore = true
		case typ == "xml " && f.xmp == nil:
			if n-hdr > MaxXMPLen {
				return nil, fmt.Errorf("%w: JPEG XL xml box at offset %d is %d bytes, more than %d", formats.ErrTooLarge, off, n, MaxXMPLen)
			}
			if f.xmp, err = readAt(r, off+hdr, n-hdr, "xml box"); err != nil {
				return nil, err
			}
		case typ == "Exif" && f.exif == nil:
			if n-hdr > MaxEXIFLen {
				return nil, fmt.Errorf("%w: JPEG XL Exif box at offset %d is %d bytes, more than %d", formats.ErrTooLarge, off, n, MaxEXIFLen)
			}
			if n-hdr >= 4 {
				b, err := readAt(r, off+hdr, n-hdr, "Exif box")
				if err != nil {
					return nil, err
				}
				if skip := binary.BigEndian.Uint32(b); uint64(skip) <= uint64(len(b)-4) {
					f.exif = b[4+skip:]
				}
			}
		}
		off += n
	}
	return f, nil
}
