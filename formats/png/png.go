// Package png reads and writes the C2PA manifest store, XMP and EXIF of PNG files.
//
// Import it for its side effect of registering the "png" format with package formats.
//
// The manifest store lives in a "caBX" chunk. ailabel places it right after IHDR, as c2pa-rs does,
// and binds it with c2pa.hash.data excluding the whole caBX chunk (length, type, data and CRC).
// XMP is an iTXt chunk with the keyword "XML:com.adobe.xmp"; EXIF is an "eXIf" chunk holding a
// raw TIFF structure.
//
// Open reads only chunk headers, except for IHDR, caBX, eXIf and the XMP iTXt chunk (and the first
// bytes of every iTXt chunk, to see its keyword). It keeps no per-chunk state, so memory does not
// grow with the number of chunks. Bytes after the IEND chunk are not part of the image: they are
// ignored and not written back.
package png

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory.
const (
	// MaxStoreLen is the largest caBX chunk Open reads.
	MaxStoreLen = 64 << 20
	// MaxXMPLen bounds an XMP iTXt chunk and its decompressed packet.
	MaxXMPLen = 16 << 20
	// MaxEXIFLen is the largest eXIf chunk Open reads.
	MaxEXIFLen = 16 << 20
	// MaxMetadataChunks bounds how many caBX, XMP iTXt and eXIf chunks one file may hold.
	MaxMetadataChunks = 1024
	// maxChunkLen is the PNG limit on a chunk's data length (2^31-1).
	maxChunkLen = 1<<31 - 1
)

// Signature is the 8-byte PNG file signature.
const Signature = "\x89PNG\r\n\x1a\n"

// xmpKeyword is the iTXt keyword of an XMP packet, NUL included.
const xmpKeyword = "XML:com.adobe.xmp\x00"

// Format is the PNG container description registered with package formats.
var Format = formats.Format{
	Name:       "png",
	MIME:       "image/png",
	Extensions: []string{".png"},
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

// Match reports whether head starts with the PNG signature.
func Match(head []byte) bool { return bytes.HasPrefix(head, []byte(Signature)) }

// span is a byte range [off, end) of the input.
type span struct{ off, end int64 }

// File is an opened PNG. It implements formats.Writable.
type File struct {
	r io.ReaderAt // the input, which Paint decodes again

	ihdrEnd   int64 // end of the IHDR chunk
	iendEnd   int64 // end of the IEND chunk: the output never copies past it
	firstIDAT int64 // offset of the first IDAT chunk, or of IEND when there is none

	store     []byte // data of the first caBX chunk
	hasStore  bool
	storeSpan []span // every caBX chunk

	xmp      []byte // packet of the first XMP iTXt chunk
	xmpSpans []span // every XMP iTXt chunk

	exif      []byte // data of the first eXIf chunk
	exifSpans []span // every eXIf chunk
}

// Open parses a PNG of size bytes read from r. It checks every chunk length against the bytes
// that remain, reads only the chunks it needs, and checks their CRCs.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < int64(len(Signature)) {
		return nil, fmt.Errorf("%w: PNG of %d bytes is shorter than the signature", formats.ErrMalformed, size)
	}
	br := formats.NewWindowReader(r, size, "PNG")
	head, err := br.At(0, len(Signature))
	if err != nil {
		return nil, err
	}
	if string(head) != Signature {
		return nil, fmt.Errorf("%w: PNG signature missing at offset 0", formats.ErrMalformed)
	}
	f := &File{r: r, firstIDAT: -1}
	off := int64(len(Signature))
	first := true
	meta := 0
	for {
		if size-off < 12 {
			return nil, fmt.Errorf("%w: PNG chunk header at offset %d: file ends after %d bytes, before IEND", formats.ErrMalformed, off, size-off)
		}
		h, err := br.At(off, 8)
		if err != nil {
			return nil, err
		}
		n := int64(binary.BigEndian.Uint32(h))
		typ := string(h[4:8])
		if !validType(h[4:8]) {
			return nil, fmt.Errorf("%w: PNG chunk at offset %d has an invalid type %q", formats.ErrMalformed, off, typ)
		}
		if n > maxChunkLen {
			return nil, fmt.Errorf("%w: PNG chunk %q at offset %d: length %d exceeds 2^31-1", formats.ErrMalformed, typ, off, n)
		}
		if n > size-off-12 {
			return nil, fmt.Errorf("%w: PNG chunk %q at offset %d: length %d runs past the end of the file (%d bytes left)", formats.ErrMalformed, typ, off, n, size-off-12)
		}
		end := off + 12 + n
		if first {
			if typ != "IHDR" || n != 13 {
				return nil, fmt.Errorf("%w: PNG first chunk at offset %d is %q of %d bytes, want IHDR of 13", formats.ErrMalformed, off, typ, n)
			}
			if _, err := readChunk(r, off, typ, n); err != nil {
				return nil, err
			}
			f.ihdrEnd = end
			first = false
			off = end
			continue
		}
		switch typ {
		case "IHDR":
			return nil, fmt.Errorf("%w: PNG has a second IHDR chunk at offset %d", formats.ErrMalformed, off)
		case "IDAT":
			if f.firstIDAT < 0 {
				f.firstIDAT = off
			}
		case "IEND":
			f.iendEnd = end
			if f.firstIDAT < 0 {
				f.firstIDAT = off
			}
			return f, nil
		case "caBX":
			if meta++; meta > MaxMetadataChunks {
				return nil, tooMany(off)
			}
			if !f.hasStore {
				if n > MaxStoreLen {
					return nil, fmt.Errorf("%w: PNG caBX chunk at offset %d is %d bytes, the limit is %d", formats.ErrTooLarge, off, n, MaxStoreLen)
				}
				if f.store, err = readChunkCRC(r, off, typ, n, false); err != nil {
					return nil, err
				}
				f.hasStore = true
			}
			f.storeSpan = append(f.storeSpan, span{off, end})
		case "eXIf":
			if meta++; meta > MaxMetadataChunks {
				return nil, tooMany(off)
			}
			if f.exifSpans == nil {
				if n > MaxEXIFLen {
					return nil, fmt.Errorf("%w: PNG eXIf chunk at offset %d is %d bytes, the limit is %d", formats.ErrTooLarge, off, n, MaxEXIFLen)
				}
				d, err := readChunk(r, off, typ, n)
				if err != nil {
					return nil, err
				}
				f.exif = tiff(d)
			}
			f.exifSpans = append(f.exifSpans, span{off, end})
		case "iTXt":
			if n < int64(len(xmpKeyword)) {
				break
			}
			kw, err := br.At(off+8, len(xmpKeyword))
			if err != nil {
				return nil, err
			}
			if string(kw) != xmpKeyword {
				break
			}
			if meta++; meta > MaxMetadataChunks {
				return nil, tooMany(off)
			}
			if f.xmpSpans == nil {
				if n > MaxXMPLen {
					return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d is %d bytes, the limit is %d", formats.ErrTooLarge, off, n, MaxXMPLen)
				}
				d, err := readChunk(r, off, typ, n)
				if err != nil {
					return nil, err
				}
				if f.xmp, err = xmpPacket(d, off); err != nil {
					return nil, err
				}
			}
			f.xmpSpans = append(f.xmpSpans, span{off, end})
		}
		off = end
	}
}

func tooMany(off int64) error {
	return fmt.Errorf("%w: PNG has more than %d caBX/XMP/eXIf chunks (at offset %d)", formats.ErrTooLarge, MaxMetadataChunks, off)
}

// validType reports whether a chunk type is four ASCII letters, as the PNG spec requires.
func validType(t []byte) bool {
	for _, c := range t {
		if (c < 'A' || c > 'Z') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// readChunk reads the data of the n-byte chunk at off and checks its CRC.
func readChunk(r io.ReaderAt, off int64, typ string, n int64) ([]byte, error) {
	return readChunkCRC(r, off, typ, n, true)
}

// readChunkCRC reads a chunk's data, checking its CRC when check is set. The manifest store's
// CRC is not checked: its bytes are protected by the C2PA hashes and signature, and c2pa-rs
// does not check it either, so a tampered store must reach validation and get C2PA's status
// codes rather than a container error.
func readChunkCRC(r io.ReaderAt, off int64, typ string, n int64, check bool) ([]byte, error) {
	buf := make([]byte, 4+n+4)
	if k, err := r.ReadAt(buf, off+4); k < len(buf) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("PNG chunk %q at offset %d: reading %d bytes: %w", typ, off, n, err)
	}
	want := binary.BigEndian.Uint32(buf[4+n:])
	if got := crc32.ChecksumIEEE(buf[:4+n]); check && got != want {
		return nil, fmt.Errorf("%w: PNG chunk %q at offset %d: CRC is %08x, the chunk says %08x", formats.ErrMalformed, typ, off, got, want)
	}
	return buf[4 : 4+n : 4+n], nil
}

// tiff strips an "Exif\0\0" prefix some writers put before the TIFF header.
func tiff(d []byte) []byte {
	if bytes.HasPrefix(d, []byte("Exif\x00\x00")) {
		return d[6:]
	}
	return d
}

// xmpPacket returns the packet of an XMP iTXt chunk's data, decompressing it when needed.
func xmpPacket(d []byte, off int64) ([]byte, error) {
	rest := d[len(xmpKeyword):]
	if len(rest) < 2 {
		return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d is truncated before its compression flags", formats.ErrMalformed, off)
	}
	flag, method := rest[0], rest[1]
	rest = rest[2:]
	for _, field := range []string{"language tag", "translated keyword"} {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d: %s is not NUL-terminated", formats.ErrMalformed, off, field)
		}
		rest = rest[i+1:]
	}
	if method != 0 {
		return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d: unknown compression method %d", formats.ErrMalformed, off, method)
	}
	switch flag {
	case 0:
		return rest, nil
	case 1:
		zr, err := zlib.NewReader(bytes.NewReader(rest))
		if err != nil {
			return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d: %v", formats.ErrMalformed, off, err)
		}
		var out bytes.Buffer
		k, err := io.Copy(&out, io.LimitReader(zr, MaxXMPLen+1))
		if err != nil {
			return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d: decompressing: %v", formats.ErrMalformed, off, err)
		}
		if k > MaxXMPLen {
			return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d decompresses to more than %d bytes", formats.ErrTooLarge, off, MaxXMPLen)
		}
		return out.Bytes(), nil
	default:
		return nil, fmt.Errorf("%w: PNG XMP iTXt chunk at offset %d: compression flag %d is neither 0 nor 1", formats.ErrMalformed, off, flag)
	}
}

// Format returns the PNG format.
func (f *File) Format() *formats.Format {
	if p, ok := formats.Lookup(Format.Name); ok {
		return p
	}
	return &Format
}

// ManifestStore returns the data of the first caBX chunk, or an error wrapping
// formats.ErrNoManifest.
func (f *File) ManifestStore() ([]byte, error) {
	if !f.hasStore {
		return nil, fmt.Errorf("%w: PNG has no caBX chunk", formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the packet of the first XMP iTXt chunk, or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns the data of the first eXIf chunk (without an "Exif\0\0" prefix), or nil.
func (f *File) EXIF() []byte { return f.exif }

// edit replaces the input range [off, end) by data (an insertion when off == end).
type edit struct {
	off, end int64
	data     []byte
}

// Layout describes the output: the signature and IHDR, the caBX chunk of e.StoreLen bytes, then
// the other chunks up to IEND in their order, without any earlier caBX chunk.
//
// When e.XMP is not nil it replaces the first XMP iTXt chunk in place (further XMP iTXt chunks
// are dropped) or, when there is none, goes in a new uncompressed iTXt chunk before the first IDAT.
// When e.EXIF is not nil it replaces the first eXIf chunk if that comes before the first IDAT, or
// else goes in a new eXIf chunk before the first IDAT; other eXIf chunks are dropped. A non-nil
// empty e.XMP or e.EXIF removes the chunk.
func (f *File) Layout(e formats.Edit) (*formats.Layout, error) {
	if e.StoreLen < 0 || int64(e.StoreLen) > maxChunkLen {
		return nil, fmt.Errorf("%w: PNG caBX chunk of %d bytes (the limit is 2^31-1)", formats.ErrTooLarge, e.StoreLen)
	}
	var edits []edit
	for _, s := range f.storeSpan {
		edits = append(edits, edit{off: s.off, end: s.end})
	}
	var insert []byte // chunks to add before the first IDAT
	if e.XMP != nil {
		var c []byte
		if len(e.XMP) > 0 {
			d := make([]byte, 0, len(xmpKeyword)+4+len(e.XMP))
			d = append(d, xmpKeyword...)
			d = append(d, 0, 0, 0, 0) // flag, method, empty language tag, empty translated keyword
			d = append(d, e.XMP...)
			if int64(len(d)) > maxChunkLen {
				return nil, fmt.Errorf("%w: PNG XMP iTXt chunk of %d bytes (the limit is 2^31-1)", formats.ErrTooLarge, len(d))
			}
			c = Chunk("iTXt", d)
		}
		if len(f.xmpSpans) == 0 {
			insert = append(insert, c...)
		}
		for i, s := range f.xmpSpans {
			ed := edit{off: s.off, end: s.end}
			if i == 0 {
				ed.data = c
			}
			edits = append(edits, ed)
		}
	}
	if e.EXIF != nil {
		if int64(len(e.EXIF)) > maxChunkLen {
			return nil, fmt.Errorf("%w: PNG eXIf chunk of %d bytes (the limit is 2^31-1)", formats.ErrTooLarge, len(e.EXIF))
		}
		var c []byte
		if len(e.EXIF) > 0 {
			c = Chunk("eXIf", e.EXIF)
		}
		inPlace := len(f.exifSpans) > 0 && f.exifSpans[0].off < f.firstIDAT
		if !inPlace {
			insert = append(c, insert...) // eXIf first, then the XMP iTXt
		}
		for i, s := range f.exifSpans {
			ed := edit{off: s.off, end: s.end}
			if i == 0 && inPlace {
				ed.data = c
			}
			edits = append(edits, ed)
		}
	}
	if len(insert) > 0 {
		edits = append(edits, edit{off: f.firstIDAT, end: f.firstIDAT, data: insert})
	}
	sortEdits(edits)

	var b builder
	b.copy(0, f.ihdrEnd)
	b.pieces = append(b.pieces, formats.Piece{Kind: formats.Store, Len: int64(e.StoreLen) + 12})
	cur := f.ihdrEnd
	for _, ed := range edits {
		b.copy(cur, ed.off)
		b.literal(ed.data)
		cur = ed.end
	}
	b.copy(cur, f.iendEnd)
	return &formats.Layout{
		Pieces: b.pieces,
		Frame:  func(store []byte) []byte { return Chunk("caBX", store) },
	}, nil
}

// sortEdits sorts by offset (insertion sort: there are few edits, and they are nearly sorted).
// Edits never overlap: they are whole distinct chunks, or an insertion before an IDAT chunk.
func sortEdits(es []edit) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && less(es[j], es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func less(a, b edit) bool {
	if a.off != b.off {
		return a.off < b.off
	}
	return a.end < b.end
}

// builder appends pieces, merging adjacent copies.
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
	if k := len(b.pieces); k > 0 {
		p := &b.pieces[k-1]
		if p.Kind == formats.Literal {
			p.Data = append(p.Data[:len(p.Data):len(p.Data)], d...)
			p.Len = int64(len(p.Data))
			return
		}
	}
	b.pieces = append(b.pieces, formats.Piece{Kind: formats.Literal, Len: int64(len(d)), Data: d})
}

// Chunk encodes a PNG chunk: length, type, data and the CRC-32 of type and data.
func Chunk(typ string, data []byte) []byte {
	c := make([]byte, 0, 12+len(data))
	c = binary.BigEndian.AppendUint32(c, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}
