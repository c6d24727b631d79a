// Package id3 reads the C2PA manifest store of MP3 and FLAC files from their ID3v2 tag. It is
// read-only: ailabel verifies MP3 and FLAC files that others signed but does not write them.
//
// Import it for its side effect of registering the "mp3" and "flac" formats with package formats.
//
// c2pa-rs stores the manifest store in a GEOB (general encapsulated object) frame whose MIME type
// is "application/c2pa", in an ID3v2 tag at the start of the file: the MP3's own tag, or a tag it
// prepends before "fLaC" for FLAC. The tag header is "ID3", a version (2, 3 or 4), a revision,
// flags and a 28-bit syncsafe size. ID3v2.3 frames have 32-bit sizes, ID3v2.4 frames syncsafe
// ones; unsynchronisation (0xFF 0x00 → 0xFF) is undone where the tag or frame flags say so. XMP is
// read from a PRIV frame owned by "XMP" when there is one. Audio frames are never read.
//
// Which format a file is, MP3 or FLAC, is decided by what follows the ID3 tag, so a FLAC file
// behind an ID3 tag is reported as "flac" even though the "mp3" format sniffed it.
package id3

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory and how many frames it walks.
const (
	// MaxStoreLen is the largest manifest store Open reads.
	MaxStoreLen = 64 << 20
	// MaxXMPLen is the largest XMP packet Open reads.
	MaxXMPLen = 16 << 20
	// MaxFrames bounds the number of ID3 frames.
	MaxFrames = 1 << 16
	// MaxTags bounds the number of consecutive ID3v2 tags at the start of the file.
	MaxTags = 16
)

// MP3 is the MP3 format description registered with package formats.
var MP3 = formats.Format{
	Name:       "mp3",
	MIME:       "audio/mpeg",
	Extensions: []string{".mp3"},
	Binding:    formats.DataHash,
	Match:      MatchMP3,
}

// FLAC is the FLAC format description registered with package formats.
var FLAC = formats.Format{
	Name:       "flac",
	MIME:       "audio/flac",
	Extensions: []string{".flac"},
	Binding:    formats.DataHash,
	Match:      MatchFLAC,
}

func init() {
	open := func(r io.ReaderAt, size int64) (formats.Container, error) {
		f, err := Open(r, size)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	MP3.Open, FLAC.Open = open, open
	formats.Register(MP3)
	formats.Register(FLAC)
}

// MatchMP3 reports whether head starts with an ID3v2 tag header or an MPEG audio frame header.
func MatchMP3(head []byte) bool {
	if isTagHeader(head) {
		return true
	}
	if len(head) < 3 || head[0] != 0xFF || head[1]&0xE0 != 0xE0 {
		return false
	}
	version, layer := head[1]>>3&3, head[1]>>1&3
	bitrate, rate := head[2]>>4, head[2]>>2&3
	return version != 1 && layer != 0 && bitrate != 15 && rate != 3
}

// MatchFLAC reports whether head starts with "fLaC".
func MatchFLAC(head []byte) bool { return bytes.HasPrefix(head, []byte("fLaC")) }

// isTagHeader reports whether b starts with a plausible ID3v2 tag header.
func isTagHeader(b []byte) bool {
	return len(b) >= 10 && string(b[:3]) == "ID3" && b[3] >= 2 && b[3] <= 4 && b[4] != 0xFF &&
		b[6]|b[7]|b[8]|b[9] < 0x80
}

// File is an opened MP3 or FLAC file. It implements formats.Container (read-only).
type File struct {
	format   *formats.Format
	store    []byte
	hasStore bool
	xmp      []byte
}

// Format returns MP3 or FLAC, by what follows the ID3 tags.
func (f *File) Format() *formats.Format { return f.format }

// ManifestStore returns the object of the first GEOB frame of type "application/c2pa".
func (f *File) ManifestStore() ([]byte, error) {
	if !f.hasStore {
		return nil, fmt.Errorf("%s: %w", f.format.Name, formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the XMP packet of a PRIV frame owned by "XMP", or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns nil.
func (f *File) EXIF() []byte { return nil }

func readAt(r io.ReaderAt, off, n int64, what string) ([]byte, error) {
	b := make([]byte, n)
	if k, err := r.ReadAt(b, off); k != len(b) {
		return nil, fmt.Errorf("%w: ID3 %s at offset %d: %v", formats.ErrMalformed, what, off, err)
	}
	return b, nil
}

func syncsafe(b []byte) int64 {
	return int64(b[0]&0x7F)<<21 | int64(b[1]&0x7F)<<14 | int64(b[2]&0x7F)<<7 | int64(b[3]&0x7F)
}

// resync undoes unsynchronisation: every 0xFF 0x00 becomes 0xFF.
func resync(b []byte) []byte {
	if bytes.Index(b, []byte{0xFF, 0}) < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		out = append(out, b[i])
		if b[i] == 0xFF && i+1 < len(b) && b[i+1] == 0 {
			i++
		}
	}
	return out
}

// Open parses the ID3v2 tags at the start of an MP3 or FLAC file of size bytes read from r.
func Open(r io.ReaderAt, size int64) (*File, error) {
	f := &File{format: &MP3}
	off := int64(0)
	for tags := 0; ; tags++ {
		h, err := readAt(r, off, min(10, size-off), "tag header")
		if err != nil {
			return nil, err
		}
		if MatchFLAC(h) {
			f.format = &FLAC
			return f, nil
		}
		if !isTagHeader(h) {
			if off == 0 && !MatchMP3(h) {
				return nil, fmt.Errorf("%w: neither an ID3 tag, an MPEG audio frame nor fLaC at offset 0", formats.ErrMalformed)
			}
			return f, nil
		}
		if tags >= MaxTags {
			return nil, fmt.Errorf("%w: more than %d ID3 tags in a row", formats.ErrTooLarge, MaxTags)
		}
		n := syncsafe(h[6:10])
		end := off + 10 + n
		if h[3] == 4 && h[5]&0x10 != 0 {
			end += 10 // footer
		}
		if end > size {
			return nil, fmt.Errorf("%w: ID3 tag at offset %d: size %d runs past the end of the %d-byte file", formats.ErrMalformed, off, n, size)
		}
		if err := f.tag(r, off, h[3], h[5], n); err != nil {
			return nil, err
		}
		off = end
		// Padding after the tag is inside it; some writers add zeros after it too.
		if off == size {
			return f, nil
		}
	}
}

// tag walks the frames of the ID3v2 tag at off whose body is n bytes.
func (f *File) tag(r io.ReaderAt, off int64, version, flags byte, n int64) error {
	if version == 2 {
		return nil // ID3v2.2 has 3-character frame IDs and no GEOB: nothing to find
	}
	body := off + 10
	end := body + n
	// ID3v2.3 unsynchronises the whole tag: read it all (bounded), resynchronise, and walk that.
	var src io.ReaderAt = r
	if version == 3 && flags&0x80 != 0 {
		if n > MaxStoreLen+MaxXMPLen {
			return fmt.Errorf("%w: unsynchronised ID3 tag at offset %d is %d bytes", formats.ErrTooLarge, off, n)
		}
		b, err := readAt(r, body, n, "unsynchronised tag")
		if err != nil {
			return err
		}
		b = resync(b)
		src, body, end = bytes.NewReader(b), 0, int64(len(b))
	}
	pos := body
	if flags&0x40 != 0 { // extended header
		if end-pos < 4 {
			return fmt.Errorf("%w: ID3 extended header at offset %d: no room for its size", formats.ErrMalformed, pos)
		}
		b, err := readAt(src, pos, 4, "extended header size")
		if err != nil {
			return err
		}
		var x int64
		if version == 4 {
			x = syncsafe(b) // includes its own size
		} else {
			x = 4 + int64(binary.BigEndian.Uint32(b))
		}
		if x < 4 || x > end-pos {
			return fmt.Errorf("%w: ID3 extended header at offset %d: size %d does not fit the tag", formats.ErrMalformed, pos, x)
		}
		pos += x
	}
	for frames := 0; end-pos >= 10; frames++ {
		if frames >= MaxFrames {
			return fmt.Errorf("%w: ID3 tag at offset %d has more than %d frames", formats.ErrTooLarge, off, MaxFrames)
		}
		fh, err := readAt(src, pos, 10, "frame header")
		if err != nil {
			return err
		}
		if fh[0] == 0 {
			break // padding
		}
		id := string(fh[:4])
		var fn int64
		if version == 4 {
			fn = syncsafe(fh[4:8])
		} else {
			fn = int64(binary.BigEndian.Uint32(fh[4:8]))
		}
		if fn > end-pos-10 {
			return fmt.Errorf("%w: ID3 frame %q at offset %d: size %d runs past the end of the tag (%d bytes left)", formats.ErrMalformed, printable(id), pos, fn, end-pos-10)
		}
		if (id == "GEOB" && !f.hasStore) || (id == "PRIV" && f.xmp == nil) {
			if err := f.frame(src, id, pos, fn, version, flags, fh[9]); err != nil {
				return err
			}
		}
		pos += 10 + fn
	}
	return nil
}

// frame reads a GEOB or PRIV frame's content at pos (header included) of fn bytes.
func (f *File) frame(r io.ReaderAt, id string, pos, fn int64, version, tagFlags, format byte) error {
	limit := int64(MaxStoreLen) + 4096
	if id == "PRIV" {
		limit = MaxXMPLen + 64
	}
	if fn > limit {
		if id == "PRIV" {
			return nil // some other, large private frame: skip it
		}
		return fmt.Errorf("%w: ID3 %s frame at offset %d is %d bytes, more than %d", formats.ErrTooLarge, id, pos, fn, limit)
	}
	b, err := readAt(r, pos+10, fn, id+" frame")
	if err != nil {
		return err
	}
	if version == 4 {
		if format&0x0C != 0 {
			return nil // compressed or encrypted: c2pa-rs writes neither
		}
		if format&0x40 != 0 { // grouping identity
			if len(b) < 1 {
				return fmt.Errorf("%w: ID3 %s frame at offset %d: no room for its group", formats.ErrMalformed, id, pos)
			}
			b = b[1:]
		}
		if format&0x01 != 0 { // data length indicator
			if len(b) < 4 {
				return fmt.Errorf("%w: ID3 %s frame at offset %d: no room for its data length indicator", formats.ErrMalformed, id, pos)
			}
			b = b[4:]
		}
		if format&0x02 != 0 || tagFlags&0x80 != 0 {
			b = resync(b)
		}
	} else if format&0xC0 != 0 {
		return nil // ID3v2.3 compressed or encrypted
	} else if format&0x20 != 0 { // grouping identity
		if len(b) < 1 {
			return fmt.Errorf("%w: ID3 %s frame at offset %d: no room for its group", formats.ErrMalformed, id, pos)
		}
		b = b[1:]
	}
	if id == "PRIV" {
		if owner, data, ok := bytes.Cut(b, []byte{0}); ok && string(owner) == "XMP" {
			f.xmp = data
		}
		return nil
	}
	// GEOB: encoding, MIME (Latin-1, NUL-terminated), file name and description (in the encoding,
	// terminated), then the object.
	if len(b) < 1 {
		return fmt.Errorf("%w: empty ID3 GEOB frame at offset %d", formats.ErrMalformed, pos)
	}
	enc, rest := b[0], b[1:]
	mime, rest, ok := bytes.Cut(rest, []byte{0})
	if !ok {
		return fmt.Errorf("%w: ID3 GEOB frame at offset %d: unterminated MIME type", formats.ErrMalformed, pos)
	}
	if !strings.EqualFold(string(mime), "application/c2pa") {
		return nil
	}
	for range 2 { // file name, description
		if rest, ok = cutString(rest, enc); !ok {
			return fmt.Errorf("%w: ID3 GEOB frame at offset %d: unterminated text", formats.ErrMalformed, pos)
		}
	}
	if len(rest) > MaxStoreLen {
		return fmt.Errorf("%w: ID3 GEOB object at offset %d is %d bytes, more than %d", formats.ErrTooLarge, pos, len(rest), MaxStoreLen)
	}
	f.store, f.hasStore = rest, true
	return nil
}

// cutString drops one terminated string in encoding enc from the start of b.
func cutString(b []byte, enc byte) ([]byte, bool) {
	if enc == 1 || enc == 2 { // UTF-16: a 2-byte aligned 00 00
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				return b[i+2:], true
			}
		}
		return nil, false
	}
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return nil, false
	}
	return b[i+1:], true
}

func printable(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x20 || c > 0x7E {
			c = '?'
		}
		b.WriteByte(c)
	}
	return b.String()
}
