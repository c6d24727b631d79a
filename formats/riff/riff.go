// Package riff reads the C2PA manifest store and XMP of AVI and WAV files. It is read-only:
// ailabel verifies AVI and WAV files that others signed but does not write them.
//
// Import it for its side effect of registering the "avi" and "wav" formats with package formats.
// WebP is also RIFF, but package webp owns it: Match never claims "RIFF....WEBP".
//
// A RIFF file is "RIFF", a little-endian u32 size, a form type ("AVI " or "WAVE"), then chunks:
// a FourCC, a little-endian u32 size, the data, and a zero pad byte when the size is odd. c2pa-rs
// appends the manifest store as a top-level "C2PA" chunk; XMP is the "_PMX" chunk. Only chunk
// headers are read while walking: the media data (AVI "movi" list, WAV "data") is skipped.
package riff

import (
	"encoding/binary"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory and how many chunks it walks.
const (
	// MaxStoreLen is the largest C2PA chunk Open reads.
	MaxStoreLen = 64 << 20
	// MaxXMPLen is the largest _PMX chunk Open reads.
	MaxXMPLen = 16 << 20
	// MaxChunks bounds the number of top-level chunks.
	MaxChunks = 1 << 20
)

// AVI is the AVI container description registered with package formats.
var AVI = formats.Format{
	Name:       "avi",
	MIME:       "video/avi",
	Extensions: []string{".avi"},
	Binding:    formats.DataHash,
	Match:      func(head []byte) bool { return match(head, "AVI ") },
}

// WAV is the WAV container description registered with package formats.
var WAV = formats.Format{
	Name:       "wav",
	MIME:       "audio/wav",
	Extensions: []string{".wav"},
	Binding:    formats.DataHash,
	Match:      func(head []byte) bool { return match(head, "WAVE") },
}

func init() {
	AVI.Open = func(r io.ReaderAt, size int64) (formats.Container, error) { return open(r, size, &AVI) }
	WAV.Open = func(r io.ReaderAt, size int64) (formats.Container, error) { return open(r, size, &WAV) }
	formats.Register(AVI)
	formats.Register(WAV)
}

func match(head []byte, form string) bool {
	return len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == form
}

// Match reports whether head starts a RIFF file of form type "AVI " or "WAVE".
func Match(head []byte) bool { return match(head, "AVI ") || match(head, "WAVE") }

// File is an opened AVI or WAV file. It implements formats.Container (read-only).
type File struct {
	format   *formats.Format
	store    []byte
	hasStore bool
	xmp      []byte
}

// Format returns the AVI or WAV format, by the file's form type.
func (f *File) Format() *formats.Format { return f.format }

// ManifestStore returns the data of the first top-level "C2PA" chunk.
func (f *File) ManifestStore() ([]byte, error) {
	if !f.hasStore {
		return nil, fmt.Errorf("%s: %w", f.format.Name, formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the data of the first top-level "_PMX" chunk, or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns nil.
func (f *File) EXIF() []byte { return nil }

func readAt(r io.ReaderAt, off, n int64, what string) ([]byte, error) {
	b := make([]byte, n)
	if k, err := r.ReadAt(b, off); k != len(b) {
		return nil, fmt.Errorf("%w: RIFF %s at offset %d: %v", formats.ErrMalformed, what, off, err)
	}
	return b, nil
}

// Open parses an AVI or WAV file of size bytes read from r.
func Open(r io.ReaderAt, size int64) (*File, error) { return open(r, size, nil) }

func open(r io.ReaderAt, size int64, want *formats.Format) (*File, error) {
	if size < 12 {
		return nil, fmt.Errorf("%w: RIFF file of %d bytes is shorter than the 12-byte header", formats.ErrMalformed, size)
	}
	h, err := readAt(r, 0, 12, "header")
	if err != nil {
		return nil, err
	}
	f := &File{}
	switch {
	case match(h, "AVI "):
		f.format = &AVI
	case match(h, "WAVE"):
		f.format = &WAV
	default:
		return nil, fmt.Errorf("%w: not a RIFF AVI or WAVE file", formats.ErrMalformed)
	}
	if want != nil && want != f.format {
		return nil, fmt.Errorf("%w: a %s file, not %s", formats.ErrMalformed, f.format.Name, want.Name)
	}
	// Writers that stream often leave a wrong RIFF size: never read past the file.
	end := min(8+int64(binary.LittleEndian.Uint32(h[4:8])), size)
	if end < 12 {
		return nil, fmt.Errorf("%w: RIFF size %d at offset 4 is smaller than the form type", formats.ErrMalformed, end-8)
	}
	off := int64(12)
	for chunks := 0; off < end; chunks++ {
		if chunks >= MaxChunks {
			return nil, fmt.Errorf("%w: RIFF has more than %d chunks", formats.ErrTooLarge, MaxChunks)
		}
		if end-off < 8 {
			if end == size && chunks > 0 && end-off == 1 {
				break // a final pad byte that the RIFF size counts
			}
			return nil, fmt.Errorf("%w: RIFF chunk header at offset %d: only %d bytes left", formats.ErrMalformed, off, end-off)
		}
		ch, err := readAt(r, off, 8, "chunk header")
		if err != nil {
			return nil, err
		}
		id, n := string(ch[:4]), int64(binary.LittleEndian.Uint32(ch[4:8]))
		if n > end-off-8 {
			return nil, fmt.Errorf("%w: RIFF chunk %q at offset %d: size %d runs past the end (%d bytes left)", formats.ErrMalformed, id, off, n, end-off-8)
		}
		switch {
		case id == "C2PA" && !f.hasStore:
			if n > MaxStoreLen {
				return nil, fmt.Errorf("%w: RIFF C2PA chunk at offset %d is %d bytes, more than %d", formats.ErrTooLarge, off, n, MaxStoreLen)
			}
			if f.store, err = readAt(r, off+8, n, "C2PA chunk"); err != nil {
				return nil, err
			}
			f.hasStore = true
		case id == "_PMX" && f.xmp == nil:
			if n > MaxXMPLen {
				return nil, fmt.Errorf("%w: RIFF _PMX chunk at offset %d is %d bytes, more than %d", formats.ErrTooLarge, off, n, MaxXMPLen)
			}
			if f.xmp, err = readAt(r, off+8, n, "_PMX chunk"); err != nil {
				return nil, err
			}
		}
		off += 8 + n + n&1
	}
	return f, nil
}
