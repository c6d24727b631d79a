// Package gif reads the C2PA manifest store and XMP of GIF files. It is read-only: ailabel
// verifies GIFs that others signed but does not write them.
//
// Import it for its side effect of registering the "gif" format with package formats.
//
// A GIF is a header ("GIF87a" or "GIF89a"), a logical screen descriptor, an optional global colour
// table, then blocks: extensions (0x21, a label, data sub-blocks) and images (0x2C, a descriptor,
// an optional local colour table, the LZW code size and data sub-blocks), ended by a trailer
// (0x3B). Data sub-blocks are a length byte (1..255) and that many bytes, ended by a zero byte.
//
// c2pa-rs stores the manifest store in an application extension whose identifier is "C2PA_GIF":
// the store is the concatenation of its data sub-blocks. XMP is the application extension "XMP
// DataXMP", whose sub-blocks are the raw packet followed by a 257-byte "magic trailer".
package gif

import (
	"bufio"
	"bytes"
	"errors"
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
)

// Format is the GIF container description registered with package formats.
var Format = formats.Format{
	Name:       "gif",
	MIME:       "image/gif",
	Extensions: []string{".gif"},
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

// Match reports whether head starts with "GIF87a" or "GIF89a".
func Match(head []byte) bool {
	return bytes.HasPrefix(head, []byte("GIF87a")) || bytes.HasPrefix(head, []byte("GIF89a"))
}

// File is an opened GIF. It implements formats.Container (read-only).
type File struct {
	store    []byte
	hasStore bool
	xmp      []byte
}

// Format returns the GIF format.
func (f *File) Format() *formats.Format { return &Format }

// ManifestStore returns the data of the first "C2PA_GIF" application extension.
func (f *File) ManifestStore() ([]byte, error) {
	if !f.hasStore {
		return nil, fmt.Errorf("gif: %w", formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the XMP packet of the "XMP DataXMP" application extension, or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns nil: GIF has no EXIF.
func (f *File) EXIF() []byte { return nil }

// reader tracks the offset of a buffered reader over the file, for error messages.
type reader struct {
	br  *bufio.Reader
	off int64
}

func (r *reader) byte(what string) (byte, error) {
	b, err := r.br.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("%w: GIF %s at offset %d: %v", formats.ErrMalformed, what, r.off, eofErr(err))
	}
	r.off++
	return b, nil
}

func (r *reader) full(p []byte, what string) error {
	n, err := io.ReadFull(r.br, p)
	r.off += int64(n)
	if err != nil {
		return fmt.Errorf("%w: GIF %s at offset %d: %v", formats.ErrMalformed, what, r.off, eofErr(err))
	}
	return nil
}

func (r *reader) skip(n int, what string) error {
	k, err := r.br.Discard(n)
	r.off += int64(k)
	if err != nil {
		return fmt.Errorf("%w: GIF %s at offset %d: %v", formats.ErrMalformed, what, r.off, eofErr(err))
	}
	return nil
}

func eofErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// subBlocks reads data sub-blocks up to and including the zero terminator. When keep is
// non-nil, the data is appended to *keep (the length bytes too when raw), up to limit bytes.
func (r *reader) subBlocks(keep *[]byte, raw bool, limit int, what string) error {
	start := r.off
	for {
		n, err := r.byte(what + " sub-block length")
		if err != nil {
			return err
		}
		if keep != nil && raw {
			*keep = append(*keep, n)
		}
		if n == 0 {
			return nil
		}
		if keep == nil {
			if err := r.skip(int(n), what+" sub-block"); err != nil {
				return err
			}
			continue
		}
		if len(*keep)+int(n) > limit {
			return fmt.Errorf("%w: GIF %s starting at offset %d is larger than %d bytes", formats.ErrTooLarge, what, start, limit)
		}
		k := len(*keep)
		*keep = append(*keep, make([]byte, n)...)
		if err := r.full((*keep)[k:], what+" sub-block"); err != nil {
			return err
		}
	}
}

// Open parses a GIF of size bytes read from r. It reads every block header and skips image data
// sub-block by sub-block (GIF has no other way to find the next block).
func Open(r io.ReaderAt, size int64) (*File, error) {
	rd := &reader{br: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 32<<10)}
	var hdr [13]byte
	if err := rd.full(hdr[:], "header and logical screen descriptor"); err != nil {
		return nil, err
	}
	if !Match(hdr[:]) {
		return nil, fmt.Errorf("%w: GIF does not start with GIF87a or GIF89a", formats.ErrMalformed)
	}
	if hdr[10]&0x80 != 0 {
		if err := rd.skip(3<<(hdr[10]&7+1), "global colour table"); err != nil {
			return nil, err
		}
	}
	f := &File{}
	for {
		at := rd.off
		if at == size {
			// Many writers leave out the trailer.
			return f, nil
		}
		b, err := rd.byte("block introducer")
		if err != nil {
			return nil, err
		}
		switch b {
		case 0x3B: // trailer
			return f, nil
		case 0x2C: // image descriptor
			var d [9]byte
			if err := rd.full(d[:], "image descriptor"); err != nil {
				return nil, err
			}
			if d[8]&0x80 != 0 {
				if err := rd.skip(3<<(d[8]&7+1), "local colour table"); err != nil {
					return nil, err
				}
			}
			if _, err := rd.byte("LZW minimum code size"); err != nil {
				return nil, err
			}
			if err := rd.subBlocks(nil, false, 0, "image data"); err != nil {
				return nil, err
			}
		case 0x21: // extension
			label, err := rd.byte("extension label")
			if err != nil {
				return nil, err
			}
			if label != 0xFF {
				if err := rd.subBlocks(nil, false, 0, "extension"); err != nil {
					return nil, err
				}
				continue
			}
			n, err := rd.byte("application extension block size")
			if err != nil {
				return nil, err
			}
			if n != 11 {
				// Not a well-formed application identifier: treat the block as data sub-blocks.
				if err := rd.skip(int(n), "application extension"); err != nil {
					return nil, err
				}
				if err := rd.subBlocks(nil, false, 0, "application extension"); err != nil {
					return nil, err
				}
				continue
			}
			var id [11]byte
			if err := rd.full(id[:], "application identifier"); err != nil {
				return nil, err
			}
			switch {
			case string(id[:8]) == "C2PA_GIF" && !f.hasStore:
				if err := rd.subBlocks(&f.store, false, MaxStoreLen, "C2PA_GIF extension"); err != nil {
					return nil, err
				}
				if f.store == nil {
					f.store = []byte{}
				}
				f.hasStore = true
			case string(id[:]) == "XMP DataXMP" && f.xmp == nil:
				var raw []byte
				if err := rd.subBlocks(&raw, true, MaxXMPLen+258, "XMP extension"); err != nil {
					return nil, err
				}
				// XMP is UTF-8, which never holds 0xFF: the magic trailer starts at the first one.
				if i := bytes.IndexByte(raw, 0xFF); i > 0 {
					f.xmp = raw[:i-1]
				}
			default:
				if err := rd.subBlocks(nil, false, 0, "application extension"); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("%w: GIF block at offset %d starts with 0x%02x, want 0x21, 0x2C or 0x3B", formats.ErrMalformed, at, b)
		}
	}
}
