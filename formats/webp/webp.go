// Package webp reads and writes the C2PA manifest store, XMP and EXIF of WebP files.
//
// Import it for its side effect of registering the "webp" format with package formats.
//
// A WebP file is a RIFF container: "RIFF", a little-endian u32 size, "WEBP", then chunks (FourCC,
// little-endian u32 size, data, and a zero pad byte when the size is odd). The manifest store is a
// "C2PA" chunk at the end of the RIFF; ailabel binds it with c2pa.hash.data excluding the chunk's
// FourCC, size and data, but not its pad byte. The RIFF size at bytes 4..7 is hashed.
//
// A RIFF size smaller than the file is tolerated: the bytes after the RIFF chunk are not part of
// the WebP image, so they are ignored and not written back. A RIFF size larger than the file is an
// error.
package webp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory.
const (
	// MaxStoreLen is the largest C2PA chunk Open reads.
	MaxStoreLen = 64 << 20
	// MaxXMPLen is the largest XMP chunk Open reads.
	MaxXMPLen = 16 << 20
	// MaxEXIFLen is the largest EXIF chunk Open reads.
	MaxEXIFLen = 16 << 20
	// MaxRuns bounds the number of runs of chunks (consecutive chunks of the same kind count
	// once), which is what Open keeps in memory and Layout may reorder. Real files have a handful:
	// even an animation's ANMF frames form one run.
	MaxRuns = 1 << 16
)

// Format is the WebP container description registered with package formats.
var Format = formats.Format{
	Name:       "webp",
	MIME:       "image/webp",
	Extensions: []string{".webp"},
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

// Match reports whether head starts with "RIFF" ???? "WEBP".
func Match(head []byte) bool {
	return len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP"
}

// kind is a chunk's class, in the order the extended format wants them.
type kind uint8

const (
	kVP8X kind = iota
	kICCP
	kANIM
	kImage // ALPH, VP8, VP8L, ANMF
	kEXIF
	kXMP
	kUnknown
	kC2PA
)

func kindOf(id string) kind {
	switch id {
	case "VP8X":
		return kVP8X
	case "ICCP":
		return kICCP
	case "ANIM":
		return kANIM
	case "ALPH", "VP8 ", "VP8L", "ANMF":
		return kImage
	case "EXIF":
		return kEXIF
	case "XMP ":
		return kXMP
	case "C2PA":
		return kC2PA
	}
	return kUnknown
}

// run is a range of consecutive whole chunks (pad bytes included) of one kind.
type run struct {
	off, end int64
	k        kind
}

// VP8X flags.
const (
	flagAnimation = 0x02
	flagXMP       = 0x04
	flagEXIF      = 0x08
	flagAlpha     = 0x10
	flagICC       = 0x20
)

// File is an opened WebP. It implements formats.Writable.
type File struct {
	r       io.ReaderAt // the input, which Paint decodes again
	riffEnd int64
	runs    []run

	vp8x     []byte // the first 10 bytes of the VP8X chunk's data, or nil
	vp8xSize int64  // the VP8X chunk's data size

	hasICCP, hasANIM, hasALPH bool
	width, height             int  // from the first VP8 or VP8L frame header, 0 when unknown
	losslessAlpha             bool // the VP8L header's alpha_is_used bit

	store    []byte
	hasStore bool
	xmp      []byte
	hasXMP   bool
	exif     []byte
	hasEXIF  bool
}

// Open parses a WebP of size bytes read from r: the RIFF header and the chunk headers, plus the
// data of the VP8X, C2PA, EXIF and XMP chunks and the first bytes of the first VP8/VP8L chunk.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < 12 {
		return nil, fmt.Errorf("%w: WebP of %d bytes is shorter than the 12-byte RIFF header", formats.ErrMalformed, size)
	}
	br := formats.NewWindowReader(r, size, "WebP")
	h, err := br.At(0, 12)
	if err != nil {
		return nil, err
	}
	if string(h[:4]) != "RIFF" || string(h[8:12]) != "WEBP" {
		return nil, fmt.Errorf("%w: WebP does not start with RIFF....WEBP", formats.ErrMalformed)
	}
	riffSize := int64(binary.LittleEndian.Uint32(h[4:8]))
	if riffSize < 4 {
		return nil, fmt.Errorf("%w: WebP RIFF size %d at offset 4 is smaller than the WEBP form type", formats.ErrMalformed, riffSize)
	}
	if riffSize > size-8 {
		return nil, fmt.Errorf("%w: WebP RIFF size %d at offset 4 needs a file of %d bytes, the file has %d", formats.ErrMalformed, riffSize, riffSize+8, size)
	}
	f := &File{r: r, riffEnd: 8 + riffSize}
	off := int64(12)
	sawImage := false
	for off < f.riffEnd {
		if f.riffEnd-off < 8 {
			return nil, fmt.Errorf("%w: WebP chunk header at offset %d: only %d bytes left in the RIFF", formats.ErrMalformed, off, f.riffEnd-off)
		}
		h, err := br.At(off, 8)
		if err != nil {
			return nil, err
		}
		id := string(h[:4])
		n := int64(binary.LittleEndian.Uint32(h[4:8]))
		padded := n + n&1
		if padded > f.riffEnd-off-8 {
			return nil, fmt.Errorf("%w: WebP chunk %q at offset %d: size %d (padded to %d) runs past the end of the RIFF (%d bytes left)", formats.ErrMalformed, printable(id), off, n, padded, f.riffEnd-off-8)
		}
		end := off + 8 + padded
		k := kindOf(id)
		switch id {
		case "VP8X":
			if off != 12 {
				return nil, fmt.Errorf("%w: WebP VP8X chunk at offset %d is not the first chunk", formats.ErrMalformed, off)
			}
			if n < 10 {
				return nil, fmt.Errorf("%w: WebP VP8X chunk at offset %d has %d bytes, needs 10", formats.ErrMalformed, off, n)
			}
			d, err := br.At(off+8, 10)
			if err != nil {
				return nil, err
			}
			f.vp8x = append([]byte(nil), d...)
			f.vp8xSize = n
		case "ICCP":
			f.hasICCP = true
		case "ANIM", "ANMF":
			f.hasANIM = true
		case "ALPH":
			f.hasALPH = true
		case "VP8 ", "VP8L":
			if !sawImage {
				if err := f.frameHeader(br, id, off, n); err != nil {
					return nil, err
				}
			}
		case "C2PA":
			if !f.hasStore {
				if f.store, err = readData(r, id, off, n, MaxStoreLen); err != nil {
					return nil, err
				}
				f.hasStore = true
			}
		case "EXIF":
			if !f.hasEXIF {
				d, err := readData(r, id, off, n, MaxEXIFLen)
				if err != nil {
					return nil, err
				}
				f.exif = bytes.TrimPrefix(d, []byte("Exif\x00\x00"))
				f.hasEXIF = true
			}
		case "XMP ":
			if !f.hasXMP {
				if f.xmp, err = readData(r, id, off, n, MaxXMPLen); err != nil {
					return nil, err
				}
				f.hasXMP = true
			}
		}
		if k == kImage {
			sawImage = true
		}
		if last := len(f.runs) - 1; last >= 0 && f.runs[last].k == k && f.runs[last].end == off {
			f.runs[last].end = end
		} else {
			if len(f.runs) >= MaxRuns {
				return nil, fmt.Errorf("%w: WebP has more than %d runs of chunks (at offset %d)", formats.ErrTooLarge, MaxRuns, off)
			}
			f.runs = append(f.runs, run{off, end, k})
		}
		off = end
	}
	if !sawImage {
		return nil, fmt.Errorf("%w: WebP has no image chunk (VP8, VP8L or ANMF)", formats.ErrMalformed)
	}
	return f, nil
}

// frameHeader reads the canvas size from the first VP8 or VP8L chunk. A header too damaged to
// read leaves the size unknown; Layout fails only if it has to create a VP8X chunk.
func (f *File) frameHeader(br *formats.WindowReader, id string, off, n int64) error {
	switch id {
	case "VP8 ":
		if n < 10 {
			return nil
		}
		d, err := br.At(off+8, 10)
		if err != nil {
			return err
		}
		if d[0]&1 != 0 || d[3] != 0x9d || d[4] != 0x01 || d[5] != 0x2a {
			return nil // not a key frame, or no start code
		}
		f.width = int(binary.LittleEndian.Uint16(d[6:]) & 0x3fff)
		f.height = int(binary.LittleEndian.Uint16(d[8:]) & 0x3fff)
	case "VP8L":
		if n < 5 {
			return nil
		}
		d, err := br.At(off+8, 5)
		if err != nil {
			return err
		}
		if d[0] != 0x2f {
			return nil
		}
		v := binary.LittleEndian.Uint32(d[1:])
		if v>>29 != 0 {
			return nil // unknown version
		}
		f.width = int(v&0x3fff) + 1
		f.height = int(v>>14&0x3fff) + 1
		f.losslessAlpha = v>>28&1 != 0
	}
	return nil
}

// readData reads the n-byte data of the chunk at off, refusing more than limit bytes.
func readData(r io.ReaderAt, id string, off, n, limit int64) ([]byte, error) {
	if n > limit {
		return nil, fmt.Errorf("%w: WebP %q chunk at offset %d is %d bytes, the limit is %d", formats.ErrTooLarge, printable(id), off, n, limit)
	}
	d := make([]byte, n)
	if k, err := r.ReadAt(d, off+8); k < len(d) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("WebP %q chunk at offset %d: reading %d bytes: %w", printable(id), off, n, err)
	}
	return d, nil
}

func printable(s string) string {
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", s)
		}
	}
	return s
}

// Format returns the WebP format.
func (f *File) Format() *formats.Format {
	if p, ok := formats.Lookup(Format.Name); ok {
		return p
	}
	return &Format
}

// ManifestStore returns the data of the first C2PA chunk, or an error wrapping
// formats.ErrNoManifest.
func (f *File) ManifestStore() ([]byte, error) {
	if !f.hasStore {
		return nil, fmt.Errorf("%w: WebP has no C2PA chunk", formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the data of the first "XMP " chunk, or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns the data of the first EXIF chunk without an "Exif\0\0" prefix, or nil.
func (f *File) EXIF() []byte { return f.exif }

// Layout describes the output: a new RIFF header, the chunks, and a C2PA chunk of e.StoreLen bytes
// last (followed by a zero pad byte when e.StoreLen is odd). Any earlier C2PA chunk is dropped.
//
// When e.XMP and e.EXIF are nil and the input has no VP8X chunk, the simple layout is kept: the
// chunks are copied in their order, as c2pa-rs does. Otherwise the output uses the extended layout:
// VP8X (patched, or created from the VP8/VP8L frame header), ICCP, ANIM, the image chunks, EXIF,
// XMP, unknown chunks in their original order, then C2PA. A non-nil e.EXIF or e.XMP replaces every
// chunk of its kind with one new chunk; a non-nil empty one removes them.
func (f *File) Layout(e formats.Edit) (*formats.Layout, error) {
	if e.StoreLen < 0 || int64(e.StoreLen) > 0xfffffff0 {
		return nil, fmt.Errorf("%w: WebP C2PA chunk of %d bytes", formats.ErrTooLarge, e.StoreLen)
	}
	b := builder{pieces: []formats.Piece{{Kind: formats.Literal}}} // the RIFF header, filled in below
	if e.XMP == nil && e.EXIF == nil && f.vp8x == nil {
		for _, r := range f.runs {
			if r.k != kC2PA {
				b.copy(r.off, r.end)
			}
		}
	} else {
		newEXIF, err := newChunk("EXIF", e.EXIF)
		if err != nil {
			return nil, err
		}
		newXMP, err := newChunk("XMP ", e.XMP)
		if err != nil {
			return nil, err
		}
		hasEXIF := f.hasEXIF
		if e.EXIF != nil {
			hasEXIF = len(e.EXIF) > 0
		}
		hasXMP := f.hasXMP
		if e.XMP != nil {
			hasXMP = len(e.XMP) > 0
		}
		var vp8x [18]byte
		copy(vp8x[:], "VP8X")
		binary.LittleEndian.PutUint32(vp8x[4:], 10)
		var flags byte
		if f.vp8x != nil {
			copy(vp8x[8:], f.vp8x)
			flags = f.vp8x[0] &^ (flagICC | flagEXIF | flagXMP)
		} else {
			if f.width == 0 || f.height == 0 {
				return nil, fmt.Errorf("%w: WebP has no VP8X chunk and no readable VP8/VP8L frame header to take the canvas size from", formats.ErrMalformed)
			}
			if f.hasALPH || f.losslessAlpha {
				flags |= flagAlpha
			}
			if f.hasANIM {
				flags |= flagAnimation
			}
			put24(vp8x[12:], f.width-1)
			put24(vp8x[15:], f.height-1)
		}
		if f.hasICCP {
			flags |= flagICC
		}
		if hasEXIF {
			flags |= flagEXIF
		}
		if hasXMP {
			flags |= flagXMP
		}
		vp8x[8] = flags
		if f.vp8x != nil {
			// Keep the input's chunk size and any bytes past the first 10.
			binary.LittleEndian.PutUint32(vp8x[4:], uint32(f.vp8xSize))
			b.literal(vp8x[:])
			b.copy(12+18, 12+8+f.vp8xSize+f.vp8xSize&1)
		} else {
			b.literal(vp8x[:])
		}
		for k := kICCP; k <= kUnknown; k++ {
			if k == kEXIF && e.EXIF != nil {
				b.literal(newEXIF)
				continue
			}
			if k == kXMP && e.XMP != nil {
				b.literal(newXMP)
				continue
			}
			for _, r := range f.runs {
				if r.k == k {
					b.copy(r.off, r.end)
				}
			}
		}
	}
	b.pieces = append(b.pieces, formats.Piece{Kind: formats.Store, Len: int64(e.StoreLen) + 8})
	if e.StoreLen&1 != 0 {
		b.pieces = append(b.pieces, formats.Piece{Kind: formats.Literal, Len: 1, Data: []byte{0}})
	}
	l := &formats.Layout{Pieces: b.pieces}
	riffSize := l.Size() + 12 - 8 // the header piece is still empty
	if riffSize > 0xffffffff {
		return nil, fmt.Errorf("%w: WebP output of %d bytes does not fit a RIFF size", formats.ErrTooLarge, riffSize+8)
	}
	hdr := make([]byte, 12)
	copy(hdr, "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(riffSize))
	copy(hdr[8:], "WEBP")
	l.Pieces[0] = formats.Piece{Kind: formats.Literal, Len: 12, Data: hdr}
	l.Frame = func(store []byte) []byte {
		c := make([]byte, 8, 8+len(store))
		copy(c, "C2PA")
		binary.LittleEndian.PutUint32(c[4:], uint32(len(store)))
		return append(c, store...)
	}
	return l, nil
}

func put24(b []byte, v int) { b[0], b[1], b[2] = byte(v), byte(v>>8), byte(v>>16) }

// newChunk encodes a chunk with its pad byte; nil for empty data.
func newChunk(id string, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, nil
	}
	if int64(len(data)) > 0xfffffff0 {
		return nil, fmt.Errorf("%w: WebP %q chunk of %d bytes", formats.ErrTooLarge, id, len(data))
	}
	return Chunk(id, data), nil
}

// Chunk encodes a RIFF chunk: FourCC, little-endian size, data, and a zero pad byte when the size
// is odd.
func Chunk(id string, data []byte) []byte {
	c := make([]byte, 8, 8+len(data)+1)
	copy(c, id)
	binary.LittleEndian.PutUint32(c[4:], uint32(len(data)))
	c = append(c, data...)
	if len(data)&1 != 0 {
		c = append(c, 0)
	}
	return c
}

// builder appends pieces, merging adjacent copies and adjacent literals.
type builder struct{ pieces []formats.Piece }

func (b *builder) copy(off, end int64) {
	if end <= off {
		return
	}
	if k := len(b.pieces); k > 0 {
		p := &b.pieces[k-1]
		if p.Kind == formats.Copy && p.Off+p.Len == off {
			p.Len += end - off
			return
		}
	}
	b.pieces = append(b.pieces, formats.Piece{Kind: formats.Copy, Off: off, Len: end - off})
}

func (b *builder) literal(d []byte) {
	if len(d) == 0 {
		return
	}
	b.pieces = append(b.pieces, formats.Piece{Kind: formats.Literal, Len: int64(len(d)), Data: d})
}
