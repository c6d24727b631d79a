// Package iscc implements the ISCC Image-Code (ISO 24138:2024, soft-binding algorithm
// "io.iscc.v0"), the ISCC Instance-Code, the ISCC unit codec (header, binary and text forms) and
// the ISCC-SEQ byte string used as the soft-binding value by IEP-0020 (draft).
//
// The Image-Code is byte-exact with iscc-core 1.3.0 for given 32×32 grey pixels. Normalize
// reproduces iscc-sdk's image normalisation (transparency filled white, border trimmed, grey
// conversion, Pillow's bicubic resize to 32×32) for 8-bit images.
package iscc

import (
	"encoding/base32"
	"errors"
	"fmt"
	"math/bits"
	"strings"
)

// ISCC MainType values (ISO 24138).
const (
	MainTypeMeta     = 0
	MainTypeSemantic = 1
	MainTypeContent  = 2
	MainTypeData     = 3
	MainTypeInstance = 4
	MainTypeISCC     = 5
	MainTypeID       = 6
	MainTypeFlake    = 7
)

// SubTypeImage is the Content-Code SubType of an Image-Code.
const SubTypeImage = 1

// Alg is the soft-binding algorithm name of the ISCC in the C2PA soft-binding algorithm list.
const Alg = "io.iscc.v0"

// Prefix starts the text form of an ISCC.
const Prefix = "ISCC:"

// maxVarnibble is the largest value a header varnibble can hold (4 nibbles: 584 + 2^12 - 1).
const maxVarnibble = 4679

// maxTextLen bounds the text form Parse accepts (a 256-bit unit needs 5+56 characters; the
// widest header adds a few).
const maxTextLen = 128

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Code is one ISCC unit: a header (MainType, SubType, Version, length) and a body of Bits/8 bytes.
// Only unit types whose length field counts 32-bit blocks are supported (MainType 0–4 and 7);
// composite ISCC-CODEs (5) and ISCC-IDs (6) are not.
type Code struct {
	MainType, SubType, Version int
	// Bits is the body length in bits: 32..256, a multiple of 32.
	Bits int
	// Body holds Bits/8 bytes.
	Body []byte
}

// validate checks that c can be encoded.
func (c Code) validate() error {
	switch {
	case c.MainType == MainTypeISCC || c.MainType == MainTypeID:
		return fmt.Errorf("iscc: MainType %d (composite ISCC-CODE or ISCC-ID) is not supported", c.MainType)
	case c.MainType < 0 || c.MainType > MainTypeFlake:
		return fmt.Errorf("iscc: unknown MainType %d", c.MainType)
	case c.SubType < 0 || c.SubType > maxVarnibble:
		return fmt.Errorf("iscc: SubType %d out of range", c.SubType)
	case c.Version < 0 || c.Version > maxVarnibble:
		return fmt.Errorf("iscc: Version %d out of range", c.Version)
	case c.Bits < 32 || c.Bits > 256 || c.Bits%32 != 0:
		return fmt.Errorf("iscc: bit length %d is not 32..256 in steps of 32", c.Bits)
	case len(c.Body) != c.Bits/8:
		return fmt.Errorf("iscc: body has %d bytes, bit length %d needs %d", len(c.Body), c.Bits, c.Bits/8)
	}
	return nil
}

// Bytes returns the binary form of c: header followed by body. It returns nil when c is invalid
// (unsupported MainType, bad bit length, or a body that does not match the bit length).
func (c Code) Bytes() []byte {
	if c.validate() != nil {
		return nil
	}
	var nib []byte
	for _, v := range []int{c.MainType, c.SubType, c.Version, c.Bits/32 - 1} {
		nib = appendVarnibble(nib, v)
	}
	if len(nib)%2 == 1 {
		nib = append(nib, 0)
	}
	out := make([]byte, 0, len(nib)/2+len(c.Body))
	for i := 0; i < len(nib); i += 2 {
		out = append(out, nib[i]<<4|nib[i+1])
	}
	return append(out, c.Body...)
}

// String returns the text form "ISCC:" + RFC 4648 base32 (upper case, no padding) of Bytes, or
// "" when c is invalid.
func (c Code) String() string {
	b := c.Bytes()
	if b == nil {
		return ""
	}
	return Prefix + b32.EncodeToString(b)
}

// appendVarnibble appends v (0..maxVarnibble) as ISCC variable-length nibbles.
func appendVarnibble(nib []byte, v int) []byte {
	switch {
	case v < 8: // 0xxx
		return append(nib, byte(v))
	case v < 72: // 10xx xxxx
		v -= 8
		return append(nib, 0x8|byte(v>>4), byte(v&0xf))
	case v < 584: // 110x xxxx xxxx
		v -= 72
		return append(nib, 0xc|byte(v>>8), byte(v>>4&0xf), byte(v&0xf))
	default: // 1110 xxxx xxxx xxxx
		v -= 584
		return append(nib, 0xe, byte(v>>8), byte(v>>4&0xf), byte(v&0xf))
	}
}

// nibbleReader reads nibbles from the front of a byte slice.
type nibbleReader struct {
	b   []byte
	pos int // in nibbles
}

func (r *nibbleReader) next() (int, error) {
	if r.pos/2 >= len(r.b) {
		return 0, errors.New("header truncated")
	}
	v := r.b[r.pos/2]
	if r.pos%2 == 0 {
		v >>= 4
	}
	r.pos++
	return int(v & 0xf), nil
}

func (r *nibbleReader) varnibble() (int, error) {
	first, err := r.next()
	if err != nil {
		return 0, err
	}
	n := bits.LeadingZeros8(^byte(first << 4)) // count of leading 1 bits in the nibble
	if n > 3 {
		return 0, errors.New("header nibble 1111 is not a valid varnibble prefix")
	}
	v := first & (0xf >> (n + 1))
	for range n {
		x, err := r.next()
		if err != nil {
			return 0, err
		}
		v = v<<4 | x
	}
	return v + [...]int{0, 8, 72, 584}[n], nil
}

// decodeUnit decodes one ISCC unit from the front of b and returns it and the number of bytes
// it used.
func decodeUnit(b []byte) (Code, int, error) {
	r := nibbleReader{b: b}
	var f [4]int
	for i, name := range []string{"MainType", "SubType", "Version", "Length"} {
		v, err := r.varnibble()
		if err != nil {
			return Code{}, 0, fmt.Errorf("%s: %w", name, err)
		}
		f[i] = v
	}
	if r.pos%2 == 1 {
		pad, err := r.next()
		if err != nil {
			return Code{}, 0, err
		}
		if pad != 0 {
			return Code{}, 0, fmt.Errorf("header padding nibble is %#x, want 0", pad)
		}
	}
	c := Code{MainType: f[0], SubType: f[1], Version: f[2]}
	if c.MainType == MainTypeISCC || c.MainType == MainTypeID {
		return Code{}, 0, fmt.Errorf("MainType %d (composite ISCC-CODE or ISCC-ID) is not allowed here", c.MainType)
	}
	if c.MainType > MainTypeFlake {
		return Code{}, 0, fmt.Errorf("unknown MainType %d", c.MainType)
	}
	if f[3] > 7 {
		return Code{}, 0, fmt.Errorf("Length %d is over 7 (more than 256 bits)", f[3])
	}
	c.Bits = (f[3] + 1) * 32
	hl := r.pos / 2
	n := c.Bits / 8
	if len(b)-hl < n {
		return Code{}, 0, fmt.Errorf("body truncated: %d bytes, header says %d", len(b)-hl, n)
	}
	c.Body = append([]byte(nil), b[hl:hl+n]...)
	return c, hl + n, nil
}

// FromBytes decodes the binary form of exactly one ISCC unit.
func FromBytes(b []byte) (Code, error) {
	c, n, err := decodeUnit(b)
	if err != nil {
		return Code{}, fmt.Errorf("iscc: decode unit: %w", err)
	}
	if n != len(b) {
		return Code{}, fmt.Errorf("iscc: decode unit: %d trailing bytes", len(b)-n)
	}
	return c, nil
}

// Parse decodes the text form of one ISCC unit. The "ISCC:" prefix is optional (any case); the
// base32 part is case-insensitive and must not be padded.
func Parse(s string) (Code, error) {
	if len(s) > maxTextLen {
		return Code{}, fmt.Errorf("iscc: parse: text is %d characters, at most %d allowed", len(s), maxTextLen)
	}
	if len(s) >= len(Prefix) && strings.EqualFold(s[:len(Prefix)], Prefix) {
		s = s[len(Prefix):]
	}
	if s == "" {
		return Code{}, errors.New("iscc: parse: empty code")
	}
	b, err := b32.DecodeString(strings.ToUpper(s))
	if err != nil {
		return Code{}, fmt.Errorf("iscc: parse %q: base32: %w", s, err)
	}
	c, err := FromBytes(b)
	if err != nil {
		return Code{}, fmt.Errorf("iscc: parse %q: %w", s, err)
	}
	return c, nil
}

// Hamming returns the number of differing bits between the bodies of a and b. Both must have the
// same MainType, SubType and Version; when their lengths differ, the shorter prefix is compared
// (an ISCC of fewer bits is a prefix of the longer one of the same content). Similarity in
// percent is 100 × (1 − distance / min(a.Bits, b.Bits)).
func Hamming(a, b Code) (int, error) {
	if err := a.validate(); err != nil {
		return 0, fmt.Errorf("iscc: hamming: first code: %w", err)
	}
	if err := b.validate(); err != nil {
		return 0, fmt.Errorf("iscc: hamming: second code: %w", err)
	}
	if a.MainType != b.MainType || a.SubType != b.SubType || a.Version != b.Version {
		return 0, fmt.Errorf("iscc: hamming: codes of different types (%d/%d/%d and %d/%d/%d)",
			a.MainType, a.SubType, a.Version, b.MainType, b.SubType, b.Version)
	}
	n := min(len(a.Body), len(b.Body))
	d := 0
	for i := range n {
		d += bits.OnesCount8(a.Body[i] ^ b.Body[i])
	}
	return d, nil
}
