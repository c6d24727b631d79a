package text

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/ailabel/ailabel/formats"
)

// C2PA 2.4 Appendix A.8 (unstructured text): the C2PATextManifestWrapper is U+FEFF followed by
// one Unicode variation selector per byte of
//
//	magic "C2PATXT\0" (8) | version 0x01 (1) | manifestLength u32 BE (4) | manifest store | padding
//
// Bytes 0x00–0x0F become U+FE00–U+FE0F (3 UTF-8 bytes each) and 0x10–0xFF become
// U+E0100–U+E01EF (4 UTF-8 bytes each). Decoders take manifestLength bytes after the header and
// ignore any further selectors of the run (padding).
const (
	// WrapperMagic is the 8-byte magic at the start of a text manifest wrapper.
	WrapperMagic = "C2PATXT\x00"
	// WrapperVersion is the wrapper version ailabel writes and reads.
	WrapperVersion = 1
	// wrapperHeaderLen is magic + version + length.
	wrapperHeaderLen = 13
	// zwnbsp is U+FEFF (ZERO WIDTH NO-BREAK SPACE) in UTF-8: the wrapper's first character.
	zwnbsp = "\xef\xbb\xbf"
	// wrapperFirstVS is the selector of the magic's first byte, 'C' (U+E0133).
	wrapperFirstVS = "\xf3\xa0\x84\xb3"
)

// Status codes the spec defines for text wrappers (A.8).
const (
	CodeCorruptedWrapper = "manifest.text.corruptedWrapper"
	CodeMultipleWrappers = "manifest.text.multipleWrappers"
)

// WrapperLen is the UTF-8 length of the padded wrapper ailabel writes for a manifest store of n
// bytes: 3 + 4·(13+n) + 6. Every store of n bytes pads to this length whatever its byte values
// (each byte takes 3 or 4 UTF-8 bytes, and the margin of 6 makes every gap a sum of 3s and 4s),
// so the wrapper's place and length are known before the store is signed.
func WrapperLen(n int) int { return 3 + 4*(wrapperHeaderLen+n) + 6 }

// appendVS appends the variation selector encoding of b. It grows out once and writes each
// selector in place (about twice as fast as appending byte by byte: a 2 KB store is encoded
// twice per labeled text).
func appendVS(out, b []byte) []byte {
	n := len(out)
	out = slices.Grow(out, 4*len(b))[:n+4*len(b)]
	j := n
	for _, c := range b {
		d := out[j : j+4 : j+4] // in range: j <= n+4·(bytes done), whatever their widths
		if c < 0x10 {
			d[0], d[1], d[2] = 0xef, 0xb8, 0x80+c // U+FE00 + c
			j += 3
		} else {
			k := c - 0x10 // U+E0100 + k
			d[0], d[1], d[2], d[3] = 0xf3, 0xa0, 0x84+k>>6, 0x80+k&0x3f
			j += 4
		}
	}
	return out[:j]
}

func wrapperHeader(n int) []byte { return putWrapperHeader(make([]byte, wrapperHeaderLen), n) }

// putWrapperHeader writes the header of a wrapper of a store of n bytes into h
// (wrapperHeaderLen bytes) and returns it.
func putWrapperHeader(h []byte, n int) []byte {
	copy(h, WrapperMagic)
	h[8] = WrapperVersion
	binary.BigEndian.PutUint32(h[9:], uint32(n))
	return h
}

// EncodeWrapper returns the wrapper for store without padding: U+FEFF and the selectors of the
// header and the store. Its length depends on the store's byte values; see EncodeWrapperPadded.
func EncodeWrapper(store []byte) []byte {
	out := make([]byte, 0, 3+4*(wrapperHeaderLen+len(store)))
	out = append(out, zwnbsp...)
	out = appendVS(out, wrapperHeader(len(store)))
	return appendVS(out, store)
}

// EncodeWrapperPadded returns the wrapper for store padded with further selectors to exactly
// target UTF-8 bytes. The gap g is filled with a = (g − 4b)/3 selectors U+FE00 (byte 0x00) and
// then b = g mod 3 selectors U+E0100 (byte 0x10). Gaps of 1, 2 and 5 cannot be filled; with
// target = WrapperLen(len(store)) the gap is always at least 6.
func EncodeWrapperPadded(store []byte, target int) ([]byte, error) {
	return AppendWrapperPadded(make([]byte, 0, target), store, target)
}

// AppendWrapperPadded is EncodeWrapperPadded appending to dst. On error it returns dst as it
// was.
func AppendWrapperPadded(dst, store []byte, target int) ([]byte, error) {
	if len(store) > maxWrapperStore {
		return dst, fmt.Errorf("%w: a text wrapper holds at most %d bytes, the store is %d", formats.ErrTooLarge, maxWrapperStore, len(store))
	}
	start := len(dst)
	out := slices.Grow(dst, target)
	out = append(out, zwnbsp...)
	var h [wrapperHeaderLen]byte
	out = appendVS(out, putWrapperHeader(h[:], len(store)))
	out = appendVS(out, store)
	gap := target - (len(out) - start)
	b := gap % 3
	if gap < 0 || gap < 4*b {
		return dst, fmt.Errorf("text wrapper: %d bytes cannot be padded to %d", len(out)-start, target)
	}
	for a := (gap - 4*b) / 3; a > 0; a-- {
		out = append(out, 0xef, 0xb8, 0x80)
	}
	for ; b > 0; b-- {
		out = append(out, 0xf3, 0xa0, 0x84, 0x80)
	}
	return out, nil
}

// wrapperSample returns the padded wrapper of an all-zero store of n bytes (as
// EncodeWrapperPadded(make([]byte, n), WrapperLen(n)) makes it) in short: its length, and a
// slice that starts with its first window bytes and ends with its last window bytes, the middle
// left out. Laying out a text needs only that much of it, and the whole wrapper is about 4n
// bytes. nil when no store of n bytes fits a wrapper.
func wrapperSample(n, window int) ([]byte, int64) {
	target := WrapperLen(n)
	if n < 0 || n > maxWrapperStore {
		return nil, 0
	}
	if 3*n < 2*window+6 { // short: the whole of it
		w, err := EncodeWrapperPadded(make([]byte, n), target)
		if err != nil {
			return nil, 0
		}
		return w, int64(len(w))
	}
	head := appendVS([]byte(zwnbsp), wrapperHeader(n))
	gap := target - len(head) - 3*n // each zero byte is a 3-byte selector
	b := gap % 3
	if gap < 0 || gap < 4*b {
		return nil, 0
	}
	// The wrapper is head, n+a selectors U+FE00 (the zero bytes, then the padding's a), and b
	// selectors U+E0100: keep enough U+FE00 to fill a window on either side.
	a := (gap - 4*b) / 3
	k := min(n+a, 2*((window+2)/3))
	out := make([]byte, 0, len(head)+3*k+4*b)
	out = append(out, head...)
	for range k {
		out = append(out, 0xef, 0xb8, 0x80)
	}
	for ; b > 0; b-- {
		out = append(out, 0xf3, 0xa0, 0x84, 0x80)
	}
	return out, int64(target)
}

// maxWrapperStore bounds the store a wrapper may hold (the length field is a u32).
const maxWrapperStore = MaxStoreLen

// vsByte decodes the variation selector at the start of p: the byte it encodes and its UTF-8
// length, or n == 0 when p does not start with a complete selector.
func vsByte(p []byte) (b byte, n int) {
	if len(p) >= 3 && p[0] == 0xef && p[1] == 0xb8 && p[2] >= 0x80 && p[2] <= 0x8f {
		return p[2] - 0x80, 3
	}
	if len(p) >= 4 && p[0] == 0xf3 && p[1] == 0xa0 && p[2] >= 0x84 && p[2] <= 0x87 && p[3] >= 0x80 && p[3] <= 0xbf {
		k := int(p[2]-0x84)<<6 | int(p[3]-0x80)
		if k <= 0xef {
			return byte(k + 0x10), 4
		}
	}
	return 0, 0
}

// Wrapper is a text manifest wrapper found in a text.
type Wrapper struct {
	Start, End int64  // byte range of the wrapper, U+FEFF and every selector of its run included
	Store      []byte // the manifest store (manifestLength bytes after the header)
}

// errNotWrapper: U+FEFF not followed by a wrapper header (a byte order mark, or a stray U+FEFF).
var errNotWrapper = errors.New("not a C2PA text wrapper")

// readWrapper decodes a wrapper whose U+FEFF starts at off, reading from br positioned just
// after the U+FEFF; remain is how many bytes of the input follow the U+FEFF. It returns
// errNotWrapper when the selectors do not start with the magic, an error wrapping
// formats.ErrMalformed (manifest.text.corruptedWrapper) when the magic is there but the rest is
// not, and formats.ErrTooLarge for a store over maxStore.
func readWrapper(br *bufio.Reader, off, remain int64, maxStore int) (*Wrapper, error) {
	pos := off + 3
	next := func() (byte, bool, error) {
		p, err := br.Peek(4)
		b, n := vsByte(p)
		if n == 0 {
			if err != nil && err != io.EOF {
				return 0, false, err
			}
			return 0, false, nil
		}
		br.Discard(n)
		pos += int64(n)
		return b, true, nil
	}
	var hdr [wrapperHeaderLen]byte
	for i := range hdr {
		b, ok, err := next()
		if err != nil {
			return nil, fmt.Errorf("text wrapper at offset %d: %w", off, err)
		}
		if !ok {
			if i >= len(WrapperMagic) {
				return nil, fmt.Errorf("%w: %s: the text wrapper at offset %d ends inside its header", formats.ErrMalformed, CodeCorruptedWrapper, off)
			}
			return nil, errNotWrapper
		}
		hdr[i] = b
		if i < len(WrapperMagic) && b != WrapperMagic[i] {
			return nil, errNotWrapper
		}
	}
	if hdr[8] != WrapperVersion {
		return nil, fmt.Errorf("%w: %s: the text wrapper at offset %d has version %d, not %d", formats.ErrMalformed, CodeCorruptedWrapper, off, hdr[8], WrapperVersion)
	}
	n := int64(binary.BigEndian.Uint32(hdr[9:]))
	if rest := remain - (pos - off - 3); n > rest/3 {
		return nil, fmt.Errorf("%w: %s: the text wrapper at offset %d says its store is %d bytes, but only %d bytes of text follow", formats.ErrMalformed, CodeCorruptedWrapper, off, n, rest)
	}
	if n > int64(maxStore) {
		return nil, fmt.Errorf("%w: the text wrapper at offset %d holds a %d-byte store, the limit is %d", formats.ErrTooLarge, off, n, maxStore)
	}
	store := make([]byte, n)
	for i := range store {
		b, ok, err := next()
		if err != nil {
			return nil, fmt.Errorf("text wrapper at offset %d: %w", off, err)
		}
		if !ok {
			return nil, fmt.Errorf("%w: %s: the text wrapper at offset %d ends after %d of its %d store bytes", formats.ErrMalformed, CodeCorruptedWrapper, off, i, n)
		}
		store[i] = b
	}
	for { // padding
		_, ok, err := next()
		if err != nil {
			return nil, fmt.Errorf("text wrapper at offset %d: %w", off, err)
		}
		if !ok {
			break
		}
	}
	return &Wrapper{Start: off, End: pos, Store: store}, nil
}

// FindWrappers returns every C2PA text wrapper in text, in order. A U+FEFF that does not start a
// wrapper is ordinary text. It fails (wrapping formats.ErrMalformed) on a corrupted wrapper: the
// magic present but the header or the store cut short.
func FindWrappers(text []byte) ([]Wrapper, error) {
	var out []Wrapper
	for i := 0; ; {
		j := bytes.Index(text[i:], []byte(zwnbsp))
		if j < 0 {
			return out, nil
		}
		at := i + j
		rest := text[at+3:]
		if !bytes.HasPrefix(rest, []byte(wrapperFirstVS)) {
			i = at + 3
			continue
		}
		br := bufio.NewReaderSize(&sliceReader{b: rest}, 16)
		w, err := readWrapper(br, int64(at), int64(len(rest)), MaxStoreLen)
		switch {
		case errors.Is(err, errNotWrapper):
			i = at + 3
		case err != nil:
			return out, err
		default:
			out = append(out, *w)
			i = int(w.End)
		}
	}
}

// DecodeWrapper returns the manifest store of the one wrapper in text and the wrapper's byte
// range. It fails with formats.ErrNoManifest when there is none and formats.ErrMalformed when
// there is more than one (manifest.text.multipleWrappers) or it is corrupted.
func DecodeWrapper(text []byte) (*Wrapper, error) {
	ws, err := FindWrappers(text)
	if err != nil {
		return nil, err
	}
	switch len(ws) {
	case 0:
		return nil, fmt.Errorf("%w: no C2PA text wrapper", formats.ErrNoManifest)
	case 1:
		return &ws[0], nil
	}
	return nil, fmt.Errorf("%w: %s: %d C2PA text wrappers (at offsets %d and %d); one is allowed", formats.ErrMalformed, CodeMultipleWrappers, len(ws), ws[0].Start, ws[1].Start)
}

// EmbedUnstructured returns the NFC form of text with the unpadded wrapper for store appended
// (spec A.8; the form of the reference vectors).
func EmbedUnstructured(text, store []byte) []byte {
	out := nfcAppend(nil, text)
	return append(out, EncodeWrapper(store)...)
}

// sliceReader is an io.Reader over a byte slice (bytes.Reader without the seek state).
type sliceReader struct{ b []byte }

func (s *sliceReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}
