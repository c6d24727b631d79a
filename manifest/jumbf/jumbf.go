// Package jumbf reads and writes JUMBF boxes (ISO/IEC 19566-5), the container format of a C2PA
// manifest store.
//
// A JUMBF superbox ("jumb") holds a description box ("jumd") followed by content boxes or child
// superboxes. Parse builds a tree that keeps every box's exact bytes, so hashes can be computed over
// what was stored rather than over a re-encoding. Every length read is checked against the bytes
// that remain and against Limits before anything is allocated.
package jumbf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Toggles of a description box.
const (
	ToggleRequestable = 0x01
	ToggleLabel       = 0x02
	ToggleID          = 0x04
	ToggleSignature   = 0x08
	TogglePrivate     = 0x10
)

// C2PA content type UUIDs: the first four bytes are ASCII, the rest is the C2PA suffix.
var (
	TypeManifestStore = c2paUUID("c2pa")
	TypeManifest      = c2paUUID("c2ma")
	TypeUpdate        = c2paUUID("c2um")
	TypeAssertions    = c2paUUID("c2as")
	TypeClaim         = c2paUUID("c2cl")
	TypeSignature     = c2paUUID("c2cs")
	TypeCBOR          = c2paUUID("cbor")
	TypeJSON          = c2paUUID("json")
	TypeCodestream    = c2paUUID("jp2c")
	TypeEmbeddedFile  = [16]byte{0x40, 0xCB, 0x0C, 0x32, 0xBB, 0x8A, 0x48, 0x9D, 0xA7, 0x0B, 0x2A, 0xD6, 0xF4, 0x7F, 0x43, 0x69}
)

func c2paUUID(prefix string) [16]byte {
	var u [16]byte
	copy(u[:4], prefix)
	copy(u[4:], []byte{0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	return u
}

// Limits bound what Parse accepts.
type Limits struct {
	MaxDepth int // nesting of superboxes
	MaxBoxes int // boxes in the whole tree
}

// DefaultLimits are generous for any real manifest store and small enough to stop hostile input.
var DefaultLimits = Limits{MaxDepth: 16, MaxBoxes: 100000}

// ErrMalformed is wrapped by every parse error.
var ErrMalformed = errors.New("malformed JUMBF")

// Box is one parsed box. For a superbox, Desc and Children are set and Payload is nil.
type Box struct {
	Type     string // four-character type, e.g. "jumb", "cbor"
	Raw      []byte // the whole box as stored, header included
	Header   int    // header length within Raw (8 or 16)
	Payload  []byte // Raw[Header:] for content boxes
	Desc     *Description
	DescRaw  []byte // the whole jumd box as stored
	Children []*Box // content boxes after the description
}

// Description is the content of a "jumd" box.
type Description struct {
	Type      [16]byte
	Toggles   byte
	Label     string
	ID        uint32
	Signature []byte
	Private   []byte // the whole private box, header included (C2PA: a "c2sh" salt box)
}

// Label returns the box's label, or "" for a content box.
func (b *Box) Label() string {
	if b.Desc == nil {
		return ""
	}
	return b.Desc.Label
}

// Child returns the first child superbox with the given label.
func (b *Box) Child(label string) *Box {
	for _, c := range b.Children {
		if c.Desc != nil && c.Desc.Label == label {
			return c
		}
	}
	return nil
}

// Content returns the first content (non-superbox) child of the given type.
func (b *Box) Content(typ string) *Box {
	for _, c := range b.Children {
		if c.Desc == nil && c.Type == typ {
			return c
		}
	}
	return nil
}

// HashedBytes returns the bytes C2PA hashes for a superbox referenced by a hashed URI: the
// superbox without its own LBox/TBox header.
func (b *Box) HashedBytes() []byte { return b.Raw[b.Header:] }

// Parse reads one box (normally the "jumb" manifest store) from the start of data. Trailing bytes
// after the box are ignored (C2PA containers may pad).
func Parse(data []byte, lim Limits) (*Box, error) {
	p := parser{lim: lim}
	b, _, err := p.box(data, 0, 0)
	return b, err
}

type parser struct {
	lim   Limits
	count int
}

// header reads a box header at data[0:] and returns the type, the total length and the header
// length.
func header(data []byte, off int) (typ string, total uint64, hlen int, err error) {
	if len(data) < 8 {
		return "", 0, 0, fmt.Errorf("%w: box header at offset %d needs 8 bytes, %d remain", ErrMalformed, off, len(data))
	}
	total = uint64(binary.BigEndian.Uint32(data))
	typ = string(data[4:8])
	hlen = 8
	switch total {
	case 0:
		total = uint64(len(data)) // to the end
	case 1:
		if len(data) < 16 {
			return "", 0, 0, fmt.Errorf("%w: extended box header at offset %d is truncated", ErrMalformed, off)
		}
		total = binary.BigEndian.Uint64(data[8:])
		hlen = 16
	}
	if total < uint64(hlen) {
		return "", 0, 0, fmt.Errorf("%w: box %q at offset %d claims %d bytes, less than its header", ErrMalformed, printable(typ), off, total)
	}
	if total > uint64(len(data)) {
		return "", 0, 0, fmt.Errorf("%w: box %q at offset %d claims %d bytes, only %d remain", ErrMalformed, printable(typ), off, total, len(data))
	}
	return typ, total, hlen, nil
}

func (p *parser) box(data []byte, off, depth int) (*Box, int, error) {
	p.count++
	if p.count > p.lim.MaxBoxes {
		return nil, 0, fmt.Errorf("%w: more than %d boxes", ErrMalformed, p.lim.MaxBoxes)
	}
	typ, total, hlen, err := header(data, off)
	if err != nil {
		return nil, 0, err
	}
	b := &Box{Type: typ, Raw: data[:total], Header: hlen}
	if typ != "jumb" {
		b.Payload = b.Raw[hlen:]
		return b, int(total), nil
	}
	if depth >= p.lim.MaxDepth {
		return nil, 0, fmt.Errorf("%w: superboxes nested deeper than %d at offset %d", ErrMalformed, p.lim.MaxDepth, off)
	}
	body := b.Raw[hlen:]
	pos := 0
	first := true
	for pos < len(body) {
		child, n, err := p.box(body[pos:], off+hlen+pos, depth+1)
		if err != nil {
			return nil, 0, err
		}
		if first {
			if child.Type != "jumd" {
				return nil, 0, fmt.Errorf("%w: superbox at offset %d does not start with a description box (found %q)", ErrMalformed, off, printable(child.Type))
			}
			d, err := parseDescription(child.Payload, off+hlen)
			if err != nil {
				return nil, 0, err
			}
			b.Desc, b.DescRaw = d, child.Raw
			first = false
		} else {
			b.Children = append(b.Children, child)
		}
		pos += n
	}
	if b.Desc == nil {
		return nil, 0, fmt.Errorf("%w: empty superbox at offset %d", ErrMalformed, off)
	}
	return b, int(total), nil
}

func parseDescription(p []byte, off int) (*Description, error) {
	if len(p) < 17 {
		return nil, fmt.Errorf("%w: description box at offset %d is %d bytes, needs at least 17", ErrMalformed, off, len(p))
	}
	d := &Description{Toggles: p[16]}
	copy(d.Type[:], p[:16])
	rest := p[17:]
	if d.Toggles&ToggleLabel != 0 {
		i := bytes.IndexByte(rest, 0)
		if i < 0 {
			return nil, fmt.Errorf("%w: description label at offset %d is not NUL-terminated", ErrMalformed, off)
		}
		d.Label = string(rest[:i])
		rest = rest[i+1:]
	}
	if d.Toggles&ToggleID != 0 {
		if len(rest) < 4 {
			return nil, fmt.Errorf("%w: description ID at offset %d is truncated", ErrMalformed, off)
		}
		d.ID = binary.BigEndian.Uint32(rest)
		rest = rest[4:]
	}
	if d.Toggles&ToggleSignature != 0 {
		if len(rest) < 32 {
			return nil, fmt.Errorf("%w: description signature at offset %d is truncated", ErrMalformed, off)
		}
		d.Signature = rest[:32]
		rest = rest[32:]
	}
	if d.Toggles&TogglePrivate != 0 {
		_, total, _, err := header(rest, off)
		if err != nil {
			return nil, fmt.Errorf("description private box: %w", err)
		}
		d.Private = rest[:total]
	}
	return d, nil
}

func printable(s string) string {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Sprintf("%x", []byte(s))
		}
	}
	return s
}

// AppendBox appends a box with the given type and payload to dst.
func AppendBox(dst []byte, typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	dst = slices.Grow(dst, n+8) // one allocation, not one per doubling
	if uint64(n) > 0xFFFFFFFF {
		// Extended size; never needed for a manifest store in practice.
		dst = binary.BigEndian.AppendUint32(dst, 1)
		dst = append(dst, typ...)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n+8))
	} else {
		dst = binary.BigEndian.AppendUint32(dst, uint32(n))
		dst = append(dst, typ...)
	}
	for _, p := range payload {
		dst = append(dst, p...)
	}
	return dst
}

// DescriptionBox encodes a "jumd" box. Salt, when not nil, goes in a "c2sh" private box.
func DescriptionBox(typ [16]byte, label string, salt []byte) []byte {
	toggles := byte(ToggleRequestable | ToggleLabel)
	if salt != nil {
		toggles |= TogglePrivate
	}
	p := make([]byte, 0, 17+len(label)+1+8+len(salt))
	p = append(p, typ[:]...)
	p = append(p, toggles)
	p = append(p, label...)
	p = append(p, 0)
	if salt != nil {
		p = AppendBox(p, "c2sh", salt)
	}
	return AppendBox(nil, "jumd", p)
}

// Superbox encodes a "jumb" box from a description and children, each already encoded.
func Superbox(typ [16]byte, label string, salt []byte, children ...[]byte) []byte {
	return AppendBox(nil, "jumb", append([][]byte{DescriptionBox(typ, label, salt)}, children...)...)
}

// Node is a box to be encoded: written once, into one buffer of its whole size, so that a
// superbox nested in others is not copied once per level (Superbox, called from the inside
// out, copies every child into each parent). Build nodes with Encoded, ContentBox and
// SuperboxNode; AppendTo gives the bytes Superbox and AppendBox would.
type Node struct {
	raw      []byte // written as is, when typ is ""
	typ      string
	children []Node
}

// Encoded is an already encoded box (or any bytes), written as is.
func Encoded(b []byte) Node { return Node{raw: b} }

// ContentBox is a box of the given type around payload.
func ContentBox(typ string, payload []byte) Node {
	return Node{typ: typ, children: []Node{{raw: payload}}}
}

// SuperboxNode is Superbox as a Node.
func SuperboxNode(typ [16]byte, label string, salt []byte, children ...Node) Node {
	return Node{typ: "jumb", children: append([]Node{{raw: DescriptionBox(typ, label, salt)}}, children...)}
}

// Len is the encoded size of n.
func (n Node) Len() int {
	if n.typ == "" {
		return len(n.raw)
	}
	size := 8
	for _, c := range n.children {
		size += c.Len()
	}
	if uint64(size) > 0xFFFFFFFF {
		size += 8 // extended size, as AppendBox writes it
	}
	return size
}

// AppendTo appends the encoding of n to dst.
func (n Node) AppendTo(dst []byte) []byte {
	if n.typ == "" {
		return append(dst, n.raw...)
	}
	size := n.Len()
	if uint64(size) > 0xFFFFFFFF { // extended (Len added its 8 bytes)
		dst = binary.BigEndian.AppendUint32(dst, 1)
		dst = append(dst, n.typ...)
		dst = binary.BigEndian.AppendUint64(dst, uint64(size))
	} else {
		dst = binary.BigEndian.AppendUint32(dst, uint32(size))
		dst = append(dst, n.typ...)
	}
	for _, c := range n.children {
		dst = c.AppendTo(dst)
	}
	return dst
}

// Encode returns the encoding of n in a buffer of exactly its size.
func (n Node) Encode() []byte { return n.AppendTo(make([]byte, 0, n.Len())) }
