// Package svg reads the C2PA manifest store and XMP of SVG files. It is read-only: ailabel
// verifies SVGs that others signed but does not write them.
//
// Import it for its side effect of registering the "svg" format with package formats. It is not a
// fallback format, so it is tried before the text formats, which refuse "<svg" heads anyway.
//
// c2pa-rs stores the manifest store base64-encoded as the text of a <c2pa:manifest> element
// (namespace http://c2pa.org/manifest) inside <metadata>, the first child of <svg>. Open scans the
// markup in one streaming pass: comments, CDATA sections, processing instructions and the DOCTYPE
// are skipped; attribute values are skipped without being kept. The manifest element is a
// "manifest" element with the "c2pa" prefix, or any "manifest" element inside <metadata>. XMP is
// the first <x:xmpmeta> element, kept as markup.
package svg

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory.
const (
	// MaxStoreLen is the largest manifest store Open decodes.
	MaxStoreLen = 64 << 20
	// MaxXMPLen is the largest XMP element Open reads.
	MaxXMPLen = 16 << 20
	// maxName bounds element names.
	maxName = 1024
)

// Format is the SVG description registered with package formats.
var Format = formats.Format{
	Name:       "svg",
	MIME:       "image/svg+xml",
	Extensions: []string{".svg"},
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

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

// Match reports whether head is an SVG document's start: an optional UTF-8 BOM, white space, an
// XML declaration, comments and a DOCTYPE, then a <svg root element. A head that ends inside the
// prolog (a long comment or DOCTYPE) matches too; Open then checks the root element.
func Match(head []byte) bool {
	h := bytes.TrimPrefix(head, []byte("\xEF\xBB\xBF"))
	// cut reports whether the head ended inside the prolog: that is an SVG candidate only after an
	// XML declaration (which no text format claims); Open then checks the root element.
	xmlDecl := false
	cut := func() bool { return len(head) >= formats.SniffLen && xmlDecl }
	for {
		h = bytes.TrimLeft(h, " \t\r\n")
		switch {
		case len(h) == 0:
			return cut()
		case bytes.HasPrefix(h, []byte("<?xml")) && !xmlDecl:
			xmlDecl = true
			i := bytes.Index(h, []byte("?>"))
			if i < 0 {
				return cut()
			}
			h = h[i+2:]
		case bytes.HasPrefix(h, []byte("<?")) && xmlDecl:
			i := bytes.Index(h, []byte("?>"))
			if i < 0 {
				return cut()
			}
			h = h[i+2:]
		case bytes.HasPrefix(h, []byte("<!--")):
			i := bytes.Index(h[4:], []byte("-->"))
			if i < 0 {
				return cut()
			}
			h = h[4+i+3:]
		case hasPrefixFold(h, "<!doctype"):
			rest := bytes.TrimLeft(h[9:], " \t\r\n")
			if len(rest) < 4 {
				return cut()
			}
			return hasPrefixFold(rest, "svg") && (isSpace(rest[3]) || rest[3] == '>' || rest[3] == '[')
		case bytes.HasPrefix(h, []byte("<svg:svg")):
			return len(h) == 8 || isSpace(h[8]) || h[8] == '>' || h[8] == '/'
		case bytes.HasPrefix(h, []byte("<svg")):
			return len(h) == 4 || isSpace(h[4]) || h[4] == '>' || h[4] == '/'
		case len(h) < 5 && bytes.HasPrefix([]byte("<svg:"), h):
			return cut()
		default:
			return false
		}
	}
}

// File is an opened SVG. It implements formats.Container (read-only).
type File struct {
	store    []byte
	hasStore bool
	storeErr error
	xmp      []byte
}

// Format returns the SVG format.
func (f *File) Format() *formats.Format { return &Format }

// ManifestStore returns the decoded text of the first manifest element.
func (f *File) ManifestStore() ([]byte, error) {
	if f.storeErr != nil {
		return nil, f.storeErr
	}
	if !f.hasStore {
		return nil, fmt.Errorf("svg: %w", formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns the first <x:xmpmeta> element, or nil.
func (f *File) XMP() []byte { return f.xmp }

// EXIF returns nil.
func (f *File) EXIF() []byte { return nil }

// scanner reads the markup with a buffer and counts the offset.
type scanner struct {
	br  *bufio.Reader
	off int64
}

func (s *scanner) readByte() (byte, error) {
	c, err := s.br.ReadByte()
	if err == nil {
		s.off++
	}
	return c, err
}

func (s *scanner) peek(n int) []byte {
	b, _ := s.br.Peek(n)
	return b
}

func (s *scanner) discard(n int) {
	k, _ := s.br.Discard(n)
	s.off += int64(k)
}

// skipTo reads up to and including the next occurrence of end.
func (s *scanner) skipTo(end string, what string) error {
	start := s.off
	matched := 0
	for {
		c, err := s.readByte()
		if err != nil {
			return fmt.Errorf("%w: SVG %s starting at offset %d is not closed with %q", formats.ErrMalformed, what, start, end)
		}
		switch {
		case c == end[matched]:
			matched++
			if matched == len(end) {
				return nil
			}
		case c == end[0]:
			matched = 1
		default:
			matched = 0
		}
	}
}

// skipText reads up to (not including) the next '<', or to EOF.
func (s *scanner) skipText() error {
	for {
		b, err := s.br.ReadSlice('<')
		s.off += int64(len(b))
		if err == nil {
			s.off--
			return s.br.UnreadByte()
		}
		if err != bufio.ErrBufferFull {
			return err
		}
	}
}

// tag reads a start or end tag after its '<' (and '/'), returning the name and whether it closed
// itself. Quoted attribute values are skipped.
func (s *scanner) tag(start int64) (name []byte, selfClosing bool, err error) {
	var quote, prev byte
	ended := false
	for {
		c, err := s.readByte()
		if err != nil {
			return nil, false, fmt.Errorf("%w: SVG tag at offset %d is not closed", formats.ErrMalformed, start)
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return name, prev == '/', nil
		case ended || isSpace(c) || c == '/':
			ended = true
		default:
			if len(name) >= maxName {
				return nil, false, fmt.Errorf("%w: SVG element name at offset %d is longer than %d bytes", formats.ErrMalformed, start, maxName)
			}
			name = append(name, c)
		}
		if quote == 0 && !isSpace(c) {
			prev = c
		}
	}
}

func local(name []byte) (prefix, loc string) {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return string(name[:i]), string(name[i+1:])
	}
	return "", string(name)
}

// Open scans an SVG of size bytes read from r for the manifest store and XMP.
func Open(r io.ReaderAt, size int64) (*File, error) {
	s := &scanner{br: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 32<<10)}
	if bytes.Equal(s.peek(3), []byte("\xEF\xBB\xBF")) {
		s.discard(3)
	}
	f := &File{}
	root := false
	metadata := 0 // depth of open <metadata> elements
	xmpStart := int64(-1)
	for {
		if err := s.skipText(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		start := s.off
		s.discard(1) // '<'
		p := s.peek(9)
		switch {
		case bytes.HasPrefix(p, []byte("!--")):
			s.discard(3)
			if err := s.skipTo("-->", "comment"); err != nil {
				return nil, err
			}
		case bytes.HasPrefix(p, []byte("![CDATA[")):
			s.discard(8)
			if err := s.skipTo("]]>", "CDATA section"); err != nil {
				return nil, err
			}
		case bytes.HasPrefix(p, []byte("!")):
			if err := s.skipDecl(start); err != nil {
				return nil, err
			}
		case bytes.HasPrefix(p, []byte("?")):
			if err := s.skipTo("?>", "processing instruction"); err != nil {
				return nil, err
			}
		case bytes.HasPrefix(p, []byte("/")):
			s.discard(1)
			name, _, err := s.tag(start)
			if err != nil {
				return nil, err
			}
			switch prefix, loc := local(name); {
			case loc == "metadata" && metadata > 0:
				metadata--
			case prefix == "x" && loc == "xmpmeta" && xmpStart >= 0 && f.xmp == nil:
				n := s.off - xmpStart
				if n > MaxXMPLen {
					return nil, fmt.Errorf("%w: SVG XMP at offset %d is %d bytes, more than %d", formats.ErrTooLarge, xmpStart, n, MaxXMPLen)
				}
				f.xmp = make([]byte, n)
				if k, err := r.ReadAt(f.xmp, xmpStart); k != len(f.xmp) {
					return nil, fmt.Errorf("%w: SVG XMP at offset %d: %v", formats.ErrMalformed, xmpStart, err)
				}
			}
		default:
			name, self, err := s.tag(start)
			if err != nil {
				return nil, err
			}
			prefix, loc := local(name)
			if !root {
				if loc != "svg" || prefix != "" && prefix != "svg" {
					return nil, fmt.Errorf("%w: the root element at offset %d is <%s>, not <svg>", formats.ErrUnsupported, start, printable(name))
				}
				root = true
				continue
			}
			if self {
				continue
			}
			switch {
			case loc == "metadata":
				metadata++
			case loc == "manifest" && (prefix == "c2pa" || metadata > 0) && !f.hasStore && f.storeErr == nil:
				f.store, f.storeErr = s.base64(start)
				f.hasStore = f.storeErr == nil
				if errors.Is(f.storeErr, formats.ErrTooLarge) {
					return nil, f.storeErr
				}
			case prefix == "x" && loc == "xmpmeta" && xmpStart < 0:
				xmpStart = start
			}
		}
		if root && (f.hasStore || f.storeErr != nil) && f.xmp != nil {
			break
		}
	}
	if !root {
		return nil, fmt.Errorf("%w: no <svg> root element", formats.ErrUnsupported)
	}
	return f, nil
}

// skipDecl skips a <!DOCTYPE …> (with an internal subset in brackets) or another <! declaration.
func (s *scanner) skipDecl(start int64) error {
	depth := 0
	var quote byte
	for {
		c, err := s.readByte()
		if err != nil {
			return fmt.Errorf("%w: SVG declaration at offset %d is not closed", formats.ErrMalformed, start)
		}
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[':
			depth++
		case c == ']' && depth > 0:
			depth--
		case c == '>' && depth == 0:
			return nil
		}
	}
}

// base64 reads the manifest element's text up to the next '<' and decodes it.
func (s *scanner) base64(start int64) ([]byte, error) {
	const maxEncoded = (MaxStoreLen + 2) / 3 * 4
	var enc []byte
	for {
		b, err := s.br.ReadSlice('<')
		s.off += int64(len(b))
		done := err == nil
		if done {
			b = b[:len(b)-1]
			s.off--
			if err := s.br.UnreadByte(); err != nil {
				return nil, err
			}
		}
		for len(b) > 0 {
			i := bytes.IndexAny(b, " \t\r\n")
			if i < 0 {
				i = len(b)
			}
			if len(enc)+i > maxEncoded {
				return nil, fmt.Errorf("%w: SVG manifest element at offset %d holds more than %d base64 characters", formats.ErrTooLarge, start, maxEncoded)
			}
			enc = append(enc, b[:i]...)
			b = bytes.TrimLeft(b[i:], " \t\r\n")
		}
		if done {
			break
		}
		if err != bufio.ErrBufferFull {
			return nil, fmt.Errorf("%w: SVG manifest element at offset %d is not closed", formats.ErrMalformed, start)
		}
	}
	out := make([]byte, base64.StdEncoding.DecodedLen(len(enc)))
	n, err := base64.StdEncoding.Decode(out, enc)
	if err != nil {
		return nil, fmt.Errorf("%w: SVG manifest element at offset %d is not base64: %v", formats.ErrMalformed, start, err)
	}
	return out[:n], nil
}

func printable(b []byte) string {
	if len(b) > 64 {
		b = b[:64]
	}
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7E {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
