// Package bmffhash computes the c2pa.hash.bmff.v3 hard binding of an ISO BMFF file (MP4, MOV,
// HEIF, …) in one streaming pass.
//
// The hash covers the file's top-level boxes. For each top-level box that no exclusion removes
// entirely, the hash is fed the box's absolute file offset as a big-endian u64 and then the box's
// bytes (header included), minus the byte ranges its matching exclusions' subsets remove. Boxes
// that an exclusion without subsets matches contribute nothing, not even their offset.
//
// A Hasher is an io.Writer: write it the whole file (or the output of a formats.Layout) in order.
// It keeps no more than a box header and the few leading bytes of a box that its exclusions
// inspect, so memory does not grow with the file.
//
// Only top-level exclusions ("/uuid", "/ftyp", "/mdat[2]") are supported; nested xpaths such as
// "/moov/trak/mdia/minf/stbl/stco" make NewHasher fail with an error wrapping ErrUnsupported.
//
// The rules follow c2pa-rs (sdk/src/assertions/bmff_hash.rs and utils/hash_utils.rs) including
// its corner cases: bytes after the last box that are too few to form a box header are hashed as
// plain data; when a subset removes the first byte of a box, that box's offset is hashed only if
// some hashed bytes come both before and after it; and when a box's first byte is hashed but its
// second is not, the offset is hashed a second time in place of the first byte. Differences
// from c2pa-rs, all for malformed files: a stream that ends inside a box (c2pa-rs tolerates a
// truncated mdat) is an error, and a data match or version/flags test that would read past the
// end of its box does not match (c2pa-rs reads the following bytes of the file).
package bmffhash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// C2PAUUID is the extended type of the top-level uuid box that holds a C2PA manifest store.
var C2PAUUID = [16]byte{0xD8, 0xFE, 0xC3, 0xD6, 0x1B, 0x0E, 0x48, 0x3C, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7E, 0xC4, 0x81}

// Errors wrapped by this package.
var (
	// ErrUnsupported: an exclusion this hasher cannot apply (nested xpath, odd syntax, huge data match).
	ErrUnsupported = errors.New("unsupported bmff hash exclusion")
	// ErrMalformed: the stream is not a sequence of well-formed top-level boxes.
	ErrMalformed = errors.New("malformed BMFF stream")
)

// MaxDataMatchEnd bounds how far into a box a data match may look (Offset+len(Value)). The
// bytes up to there are buffered while a box is being matched.
const MaxDataMatchEnd = 1 << 16

// maxPending bounds the offsets of boxes whose first byte is excluded by a subset and whose
// inclusion is not yet decided (see the package comment). Only exotic exclusion lists create them.
const maxPending = 1 << 20

// DataMatch is one data condition of an exclusion: the box's bytes at Offset equal Value.
type DataMatch struct {
	Offset uint64 `cbor:"offset"`
	Value  []byte `cbor:"value"`
}

// SubsetRange is a byte range of a matching box to leave out of the hash. Length 0 means to the
// end of the box.
type SubsetRange struct {
	Offset uint64 `cbor:"offset"`
	Length uint64 `cbor:"length"`
}

// Exclusion is one entry of the assertion's exclusions array (spec §A.5 exclusions-map).
type Exclusion struct {
	XPath   string        `cbor:"xpath"`
	Length  *uint64       `cbor:"length,omitempty"`
	Data    []DataMatch   `cbor:"data,omitempty"`
	Subset  []SubsetRange `cbor:"subset,omitempty"`
	Version *uint8        `cbor:"version,omitempty"`
	Flags   []byte        `cbor:"flags,omitempty"`
	Exact   *bool         `cbor:"exact,omitempty"`
}

// C2PAExclusions returns the exclusions ailabel writes: the mandatory /uuid (only the box whose
// extended type is the C2PA UUID), /ftyp and /mfra, plus /free and /skip as c2pa-rs writes them
// (the list is the same as in the c2pa-rs samples, in the same order). Excluding free space lets a
// later writer grow or shrink padding without breaking the binding; free and skip boxes carry
// nothing a player shows.
func C2PAExclusions() []Exclusion {
	return []Exclusion{
		{XPath: "/uuid", Data: []DataMatch{{Offset: 8, Value: append([]byte(nil), C2PAUUID[:]...)}}},
		{XPath: "/ftyp"},
		{XPath: "/mfra"},
		{XPath: "/free"},
		{XPath: "/skip"},
	}
}

// fullBoxTypes are the box types c2pa-rs reads a version and flags from (its FULL_BOX_TYPES).
// Only the ones that can meaningfully sit at the top level matter here, but the list is kept
// whole so an exclusion's version/flags behave exactly as in c2pa-rs.
var fullBoxTypes = map[string]bool{}

func init() {
	for _, t := range strings.Split("pdin mvhd tkhd mdhd hdlr nmhd elng stsd stdp stts ctts cslg stss stsh elst dref stsz stz2 stsc stco co64 padb subs saiz saio mehd trex mfhd tfhd trun tfra mfro tfdt leva trep assp sbgp sgpd csgp cprt tsel kind meta bxml iloc pitm ipro infe iinf iref ipma schm fiin fpar fecr gitn fire stri stsg stvi csch sidx ssix prft srpp vmhd smhd srat chnl dmix txtC mime uriI hmhd sthd vvhd medc", " ") {
		fullBoxTypes[t] = true
	}
	fullBoxTypes["xml "] = true
	fullBoxTypes["uri "] = true
}

type compiled struct {
	typ     [4]byte
	index   uint64 // 1-based; 0 = any
	length  *uint64
	data    []DataMatch
	subset  []SubsetRange
	hasVF   bool
	version *uint8
	flags   *uint32
	exact   bool
}

// span is a half-open byte range relative to the start of a box; end == 0 with open == true
// means to the end of the box.
type span struct {
	start, end uint64
	open       bool
}

type state int

const (
	stHeader state = iota // collecting a box header
	stPrefix              // collecting the leading bytes the exclusions inspect
	stBody                // streaming the rest of the box
)

// Hasher computes a c2pa.hash.bmff.v3 hash over the bytes written to it.
type Hasher struct {
	h      hash.Hash
	ex     []compiled
	counts map[[4]byte]uint64 // top-level boxes seen so far, for types named with an index

	pos   uint64 // absolute offset of the next byte
	state state
	err   error
	done  bool
	sum   []byte

	hdr  [16]byte
	hdrN int

	// the current box
	start, size uint64 // size is 0 until known for a box that runs to the end
	toEnd       bool
	hlen        int
	typ         [4]byte
	cands       []int // indexes into ex of exclusions that name this box
	need        uint64
	prefix      []byte
	excluded    bool
	spans       []span // merged excluded ranges of the box, sorted
	spanIdx     int
	dupMarker   bool // c2pa-rs quirk: the offset replaces the box's first byte

	hashedAny bool
	pending   []uint64
	offBuf    [8]byte
}

// NewHasher returns a Hasher that feeds h according to the exclusions. It fails for exclusions it
// cannot apply: nested or malformed xpaths, data matches reaching past MaxDataMatchEnd, and
// subsets that are unordered or overlap (c2pa-rs rejects those as malformed).
func NewHasher(h hash.Hash, ex []Exclusion) (*Hasher, error) {
	if h == nil {
		return nil, errors.New("bmffhash: nil hash")
	}
	hs := &Hasher{h: h}
	for i, e := range ex {
		c, err := compile(e)
		if err != nil {
			return nil, fmt.Errorf("bmffhash: exclusion %d (%q): %w", i, e.XPath, err)
		}
		if c.index != 0 {
			if hs.counts == nil {
				hs.counts = map[[4]byte]uint64{}
			}
			hs.counts[c.typ] = 0
		}
		hs.ex = append(hs.ex, c)
	}
	return hs, nil
}

func compile(e Exclusion) (compiled, error) {
	var c compiled
	p := e.XPath
	if !strings.HasPrefix(p, "/") {
		return c, fmt.Errorf("%w: xpath must be absolute, starting with /", ErrUnsupported)
	}
	p = p[1:]
	if strings.Contains(p, "/") {
		return c, fmt.Errorf("%w: nested xpath; only top-level boxes (\"/uuid\", \"/mdat[2]\") are supported", ErrUnsupported)
	}
	if i := strings.IndexByte(p, '['); i >= 0 {
		if !strings.HasSuffix(p, "]") {
			return c, fmt.Errorf("%w: malformed index in xpath", ErrUnsupported)
		}
		n, err := strconv.ParseUint(p[i+1:len(p)-1], 10, 64)
		if err != nil || n == 0 {
			return c, fmt.Errorf("%w: xpath index must be a positive integer", ErrUnsupported)
		}
		c.index = n
		p = p[:i]
	}
	if len(p) != 4 {
		return c, fmt.Errorf("%w: xpath node %q is not a four-character box type", ErrUnsupported, p)
	}
	copy(c.typ[:], p)
	c.length = e.Length
	for _, d := range e.Data {
		if d.Offset > MaxDataMatchEnd || uint64(len(d.Value)) > MaxDataMatchEnd-d.Offset {
			return c, fmt.Errorf("%w: data match at offset %d (%d bytes) reaches past %d bytes into the box", ErrUnsupported, d.Offset, len(d.Value), MaxDataMatchEnd)
		}
	}
	c.data = e.Data
	for i := 1; i < len(e.Subset); i++ {
		prev := e.Subset[i-1]
		end := prev.Offset + prev.Length
		if end < prev.Offset || e.Subset[i].Offset < prev.Offset || end > e.Subset[i].Offset {
			return c, fmt.Errorf("%w: subsets must be ordered by offset and must not overlap", ErrUnsupported)
		}
	}
	c.subset = e.Subset
	c.version = e.Version
	if e.Flags != nil {
		var f uint32
		if len(e.Flags) >= 3 {
			f = uint32(e.Flags[0])<<16 | uint32(e.Flags[1])<<8 | uint32(e.Flags[2])
		}
		c.flags = &f
	}
	c.hasVF = c.version != nil || c.flags != nil
	c.exact = e.Exact == nil || *e.Exact
	return c, nil
}

// Write feeds the next bytes of the file.
func (hs *Hasher) Write(p []byte) (int, error) {
	if hs.err != nil {
		return 0, hs.err
	}
	if hs.done {
		return 0, errors.New("bmffhash: write after Sum")
	}
	n := 0
	for len(p) > 0 {
		var k int
		switch hs.state {
		case stHeader:
			k = hs.writeHeader(p)
		case stPrefix:
			k = hs.writePrefix(p)
		case stBody:
			k = hs.writeBody(p)
		}
		n += k
		p = p[k:]
		if hs.err != nil {
			return n, hs.err
		}
	}
	return n, nil
}

func (hs *Hasher) fail(err error) {
	if hs.err == nil {
		hs.err = err
	}
}

func (hs *Hasher) writeHeader(p []byte) int {
	want := 8
	if hs.hdrN >= 8 && binary.BigEndian.Uint32(hs.hdr[:4]) == 1 {
		want = 16
	}
	k := copy(hs.hdr[hs.hdrN:want], p)
	hs.hdrN += k
	hs.pos += uint64(k)
	if hs.hdrN < want {
		return k
	}
	if want == 8 && binary.BigEndian.Uint32(hs.hdr[:4]) == 1 {
		return k // a largesize follows
	}
	hs.beginBox()
	return k
}

// beginBox is called with a complete header in hs.hdr.
func (hs *Hasher) beginBox() {
	hs.start = hs.pos - uint64(hs.hdrN)
	hs.hlen = hs.hdrN
	copy(hs.typ[:], hs.hdr[4:8])
	size := uint64(binary.BigEndian.Uint32(hs.hdr[:4]))
	hs.toEnd = false
	switch size {
	case 0:
		hs.toEnd = true
	case 1:
		size = binary.BigEndian.Uint64(hs.hdr[8:16])
		if size < 16 {
			hs.fail(fmt.Errorf("%w: box %s at offset %d has largesize %d, less than its 16-byte header", ErrMalformed, fourcc(hs.typ), hs.start, size))
			return
		}
	default:
		if size < 8 {
			hs.fail(fmt.Errorf("%w: box %s at offset %d has size %d, less than its 8-byte header", ErrMalformed, fourcc(hs.typ), hs.start, size))
			return
		}
	}
	if !hs.toEnd && hs.start+size < hs.start {
		hs.fail(fmt.Errorf("%w: box %s at offset %d: size %d overflows", ErrMalformed, fourcc(hs.typ), hs.start, size))
		return
	}
	hs.size = size

	// Exclusions that name this box by type and index.
	hs.cands = hs.cands[:0]
	var idx uint64
	if hs.counts != nil {
		if n, ok := hs.counts[hs.typ]; ok {
			idx = n + 1
			hs.counts[hs.typ] = idx
		}
	}
	hs.need = uint64(hs.hlen)
	for i := range hs.ex {
		c := &hs.ex[i]
		if c.typ != hs.typ || (c.index != 0 && c.index != idx) {
			continue
		}
		if c.length != nil && hs.toEnd {
			hs.fail(fmt.Errorf("%w: exclusion %s has a length condition but the box at offset %d runs to the end of the stream (size 0)", ErrUnsupported, fourcc(c.typ), hs.start))
			return
		}
		hs.cands = append(hs.cands, i)
		for _, d := range c.data {
			if e := d.Offset + uint64(len(d.Value)); e > hs.need {
				hs.need = e
			}
		}
		if c.hasVF {
			// A C2PA uuid box keeps its version and flags after the 16-byte extended type;
			// a QuickTime meta box is told apart by its first child being hdlr.
			if e := uint64(hs.hlen) + 24; e > hs.need {
				hs.need = e
			}
		}
	}
	if !hs.toEnd && hs.need > hs.size {
		hs.need = hs.size
	}
	hs.prefix = append(hs.prefix[:0], hs.hdr[:hs.hdrN]...)
	hs.hdrN = 0
	if uint64(len(hs.prefix)) >= hs.need {
		hs.decide()
		return
	}
	hs.state = stPrefix
}

func (hs *Hasher) writePrefix(p []byte) int {
	want := hs.need - uint64(len(hs.prefix))
	k := len(p)
	if uint64(k) > want {
		k = int(want)
	}
	hs.prefix = append(hs.prefix, p[:k]...)
	hs.pos += uint64(k)
	if uint64(len(hs.prefix)) >= hs.need {
		hs.decide()
	}
	return k
}

// decide applies the candidate exclusions to the box, with hs.prefix holding its first bytes,
// then hashes the prefix.
func (hs *Hasher) decide() {
	hs.excluded = false
	hs.spans = hs.spans[:0]
	hs.spanIdx = 0
	known := !hs.toEnd || hs.done // box length is known
	boxLen := hs.size
	if hs.toEnd && hs.done {
		boxLen = uint64(len(hs.prefix))
	}
	for _, i := range hs.cands {
		c := &hs.ex[i]
		if !hs.matches(c, boxLen, known) {
			continue
		}
		if c.subset == nil {
			hs.excluded = true
			continue
		}
		for _, s := range c.subset {
			if known && s.Offset > boxLen {
				continue
			}
			sp := span{start: s.Offset, open: s.Length == 0}
			if !sp.open {
				sp.end = s.Offset + s.Length
				if sp.end < s.Offset {
					sp.open = true // overflow: to the end of the box
				}
			}
			hs.spans = append(hs.spans, sp)
		}
	}
	if !hs.excluded {
		hs.mergeSpans()
		first := hs.isExcluded(0)
		if first {
			if len(hs.pending) >= maxPending {
				hs.fail(fmt.Errorf("%w: more than %d boxes whose first byte is excluded", ErrUnsupported, maxPending))
				return
			}
			hs.pending = append(hs.pending, hs.start)
		} else {
			hs.hashOffset(hs.start)
			hs.dupMarker = hs.isExcluded(1)
		}
	}
	hs.state = stBody
	buf := hs.prefix
	hs.emit(buf, 0)
	hs.afterBox(uint64(len(buf)))
}

func (hs *Hasher) matches(c *compiled, boxLen uint64, known bool) bool {
	if c.length != nil && *c.length != boxLen {
		return false
	}
	if c.hasVF {
		ok, v, f := hs.versionFlags(boxLen, known)
		if ok {
			if c.version != nil && *c.version != v {
				return false
			}
			if c.flags != nil {
				if c.exact && *c.flags != f {
					return false
				}
				if !c.exact && (*c.flags|f) != *c.flags {
					return false
				}
			}
		} else if v == 1 {
			return false // full box too short to hold version and flags
		}
	}
	for _, d := range c.data {
		end := d.Offset + uint64(len(d.Value))
		if (known && end > boxLen) || end > uint64(len(hs.prefix)) {
			return false
		}
		if !bytes.Equal(hs.prefix[d.Offset:end], d.Value) {
			return false
		}
	}
	return true
}

// versionFlags returns the box's version and flags when c2pa-rs would know them. ok is false
// when the box has none (then v is 0) or when it should have them but is too short (then v is 1).
func (hs *Hasher) versionFlags(boxLen uint64, known bool) (ok bool, v uint8, f uint32) {
	h := uint64(hs.hlen)
	avail := uint64(len(hs.prefix))
	if known && boxLen < avail {
		avail = boxLen
	}
	at := uint64(0)
	switch t := string(hs.typ[:]); {
	case t == "uuid":
		if avail < h+16 || !bytes.Equal(hs.prefix[h:h+16], C2PAUUID[:]) {
			return false, 0, 0
		}
		at = h + 16
	case t == "meta":
		if avail >= h+8 && string(hs.prefix[h+4:h+8]) == "hdlr" {
			return false, 0, 0 // QuickTime meta: no version and flags
		}
		at = h
	case fullBoxTypes[t]:
		at = h
	default:
		return false, 0, 0
	}
	if avail < at+4 {
		return false, 1, 0
	}
	b := hs.prefix[at : at+4]
	return true, b[0], uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func (hs *Hasher) mergeSpans() {
	s := hs.spans
	if len(s) < 2 {
		return
	}
	// insertion sort: the lists are tiny
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].start < s[j-1].start; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	out := s[:1]
	for _, sp := range s[1:] {
		last := &out[len(out)-1]
		if last.open || sp.start <= last.end {
			if sp.open {
				last.open = true
			} else if !last.open && sp.end > last.end {
				last.end = sp.end
			}
			continue
		}
		out = append(out, sp)
	}
	hs.spans = out
}

func (hs *Hasher) isExcluded(rel uint64) bool {
	if hs.excluded {
		return true
	}
	if !hs.toEnd && rel >= hs.size {
		return true // past the box: c2pa-rs's split only ever sees in-box bytes here
	}
	for _, sp := range hs.spans {
		if rel >= sp.start && (sp.open || rel < sp.end) {
			return true
		}
	}
	return false
}

// emit hashes the box bytes b found at box-relative offset rel, skipping excluded ranges.
func (hs *Hasher) emit(b []byte, rel uint64) {
	if hs.excluded || len(b) == 0 {
		return
	}
	for len(b) > 0 {
		// advance the span cursor past spans that end before rel
		for hs.spanIdx < len(hs.spans) && !hs.spans[hs.spanIdx].open && hs.spans[hs.spanIdx].end <= rel {
			hs.spanIdx++
		}
		if hs.spanIdx < len(hs.spans) {
			sp := hs.spans[hs.spanIdx]
			if rel >= sp.start {
				if sp.open {
					return
				}
				skip := sp.end - rel
				if skip >= uint64(len(b)) {
					return
				}
				b = b[skip:]
				rel += skip
				continue
			}
			n := sp.start - rel
			if n > uint64(len(b)) {
				n = uint64(len(b))
			}
			hs.hashData(b[:n], rel)
			b = b[n:]
			rel += n
			continue
		}
		hs.hashData(b, rel)
		return
	}
}

func (hs *Hasher) hashData(b []byte, rel uint64) {
	if len(b) == 0 {
		return
	}
	hs.flushPending()
	if rel == 0 && hs.dupMarker {
		// c2pa-rs treats the one-byte range at a box start as the offset marker again.
		hs.writeOffset(hs.start)
		b = b[1:]
	}
	hs.hashedAny = true
	hs.h.Write(b)
}

func (hs *Hasher) hashOffset(off uint64) {
	hs.flushPending()
	hs.writeOffset(off)
	hs.hashedAny = true
}

func (hs *Hasher) writeOffset(off uint64) {
	binary.BigEndian.PutUint64(hs.offBuf[:], off)
	hs.h.Write(hs.offBuf[:])
}

// flushPending is called before anything is hashed: pending offsets lie between hashed bytes
// when something was hashed before them, and are dropped otherwise.
func (hs *Hasher) flushPending() {
	if len(hs.pending) == 0 {
		return
	}
	if hs.hashedAny {
		for _, o := range hs.pending {
			hs.writeOffset(o)
		}
	}
	hs.pending = hs.pending[:0]
}

func (hs *Hasher) writeBody(p []byte) int {
	rel := hs.pos - hs.start
	k := len(p)
	if !hs.toEnd {
		if left := hs.size - rel; uint64(k) > left {
			k = int(left)
		}
	}
	hs.emit(p[:k], rel)
	hs.pos += uint64(k)
	hs.afterBox(rel + uint64(k))
	return k
}

// afterBox returns to header state once rel bytes of the box have been seen and that is all.
func (hs *Hasher) afterBox(rel uint64) {
	if !hs.toEnd && rel >= hs.size {
		hs.state = stHeader
		hs.dupMarker = false
	}
}

// Sum finishes the stream and returns the hash. It fails when the stream is empty, ended inside
// a box, or an earlier write failed. Later calls return the same result.
func (hs *Hasher) Sum() ([]byte, error) {
	if hs.done {
		return hs.sum, hs.err
	}
	if hs.err != nil {
		return nil, hs.err
	}
	hs.done = true
	switch hs.state {
	case stHeader:
		if hs.hdrN > 0 {
			// Fewer bytes than a box header: c2pa-rs hashes them as plain data.
			hs.flushPending()
			hs.hashedAny = true
			hs.h.Write(hs.hdr[:hs.hdrN])
		}
	case stPrefix:
		if !hs.toEnd {
			hs.err = fmt.Errorf("%w: stream ended inside box %s at offset %d (%d of %d bytes)", ErrMalformed, fourcc(hs.typ), hs.start, hs.pos-hs.start, hs.size)
			return nil, hs.err
		}
		hs.decide()
	case stBody:
		if !hs.toEnd {
			hs.err = fmt.Errorf("%w: stream ended inside box %s at offset %d (%d of %d bytes)", ErrMalformed, fourcc(hs.typ), hs.start, hs.pos-hs.start, hs.size)
			return nil, hs.err
		}
	}
	if hs.err != nil {
		return nil, hs.err
	}
	if hs.pos == 0 {
		hs.err = fmt.Errorf("%w: empty stream", ErrMalformed)
		return nil, hs.err
	}
	if !hs.hashedAny {
		// Nothing was hashed: c2pa-rs then hashes the offsets of partly excluded boxes that lie
		// strictly inside the file.
		for _, o := range hs.pending {
			if o > 0 && o < hs.pos-1 {
				hs.writeOffset(o)
			}
		}
	}
	hs.pending = nil
	hs.sum = hs.h.Sum(nil)
	return hs.sum, nil
}

func fourcc(t [4]byte) string {
	for _, c := range t {
		if c < 0x20 || c > 0x7e {
			return fmt.Sprintf("%x", t[:])
		}
	}
	return strconv.Quote(string(t[:]))
}
