package bmff

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"

	"github.com/ailabel/ailabel/formats"
)

// offsetMap maps an absolute offset of the input to the output. Every input box keeps its
// content, so an offset inside a kept box moves with that box; an offset inside a dropped box
// moves to where the next kept box starts; the end of the input maps to the end of the output;
// offsets past the end of the input (broken tables) are left alone.
type offsetMap struct {
	oldOff  []int64
	newOff  []int64 // for a dropped box: the output offset of the next kept box
	keep    []bool
	boxEnd  int64 // input offset where the tail (bytes after the last box) starts
	tailNew int64
	inSize  int64
	last    int // index of the box the previous lookup landed in
}

func (m *offsetMap) mapOff(x uint64) uint64 {
	if x > uint64(m.inSize) {
		return x
	}
	if x >= uint64(m.boxEnd) {
		return uint64(m.tailNew) + (x - uint64(m.boxEnd))
	}
	i := m.last
	if i >= len(m.oldOff) || uint64(m.oldOff[i]) > x || (i+1 < len(m.oldOff) && uint64(m.oldOff[i+1]) <= x) {
		i = sort.Search(len(m.oldOff), func(i int) bool { return uint64(m.oldOff[i]) > x }) - 1
		m.last = i
	}
	if !m.keep[i] {
		return uint64(m.newOff[i])
	}
	return uint64(m.newOff[i]) + (x - uint64(m.oldOff[i]))
}

// identity reports whether no kept byte moves.
func (m *offsetMap) identity() bool {
	for i := range m.oldOff {
		if m.keep[i] && m.oldOff[i] != m.newOff[i] {
			return false
		}
	}
	return m.tailNew == m.boxEnd
}

// rewriter re-serialises one top-level box with its absolute offsets moved.
type rewriter struct {
	m   *offsetMap
	top int64 // input offset of the top-level box, for messages
	// Widening of 32-bit offset tables (stco→co64, saio and tfra version 0→1). In the deciding
	// pass a table is widened when its largest moved entry plus margin, the most that all
	// widenings together can still move it, reaches 2^32; the next pass repeats the decisions.
	decide  bool
	margin  uint64
	widen   map[int]bool // keyed by the table box's offset within the top-level box
	changed bool
	growth  uint64 // bytes all widenable tables would add (counting pass)
	count   bool   // counting pass: only accumulate growth
}

type child struct {
	at  int // offset within the top-level box
	b   []byte
	hl  int
	typ string
}

func (rw *rewriter) errf(at int, kind error, format string, a ...any) error {
	return fmt.Errorf("box at offset %d (in the top-level box at %d): %s: %w", rw.top+int64(at), rw.top, fmt.Sprintf(format, a...), kind)
}

// header parses a box header at b[0:] with parent-relative end; size 0 runs to the end of b.
func boxHeader(b []byte) (size uint64, hl int, ok bool) {
	if len(b) < 8 {
		return 0, 0, false
	}
	size = uint64(binary.BigEndian.Uint32(b))
	hl = 8
	switch size {
	case 0:
		size = uint64(len(b))
	case 1:
		if len(b) < 16 {
			return 0, 0, false
		}
		size, hl = binary.BigEndian.Uint64(b[8:]), 16
	}
	if size < uint64(hl) || size > uint64(len(b)) {
		return 0, 0, false
	}
	return size, hl, true
}

// box returns the new bytes of b, found at offset at of the top-level box, reached by path.
// Boxes off the known paths come back unchanged.
func (rw *rewriter) box(b []byte, at, hl int, path string) ([]byte, error) {
	switch path {
	case "moov", "moov/trak", "moov/trak/mdia", "moov/trak/mdia/minf", "moov/trak/mdia/minf/stbl",
		"moof", "moof/traf", "mfra":
		return rw.container(b, at, hl, 0, path)
	case "meta", "moov/meta", "moov/trak/meta":
		if len(b) < hl+4 {
			return nil, rw.errf(at, formats.ErrMalformed, "meta box too short")
		}
		skip := 4 // a FullBox, except QuickTime's, whose first child (hdlr) starts at once
		if len(b) >= hl+8 && string(b[hl+4:hl+8]) == "hdlr" {
			skip = 0
		}
		return rw.container(b, at, hl, skip, path)
	case "moov/trak/mdia/minf/stbl/stco":
		return rw.table(b, at, hl, 4, false)
	case "moov/trak/mdia/minf/stbl/co64":
		return rw.table(b, at, hl, 8, false)
	case "moov/trak/mdia/minf/stbl/saio":
		return rw.table(b, at, hl, 0, true)
	case "moof/traf/tfhd":
		return rw.tfhd(b, at, hl)
	case "mfra/tfra":
		return rw.tfra(b, at, hl)
	case "meta/iloc", "moov/meta/iloc", "moov/trak/meta/iloc":
		return rw.iloc(b, at, hl)
	case "moov/cmov":
		return nil, rw.errf(at, formats.ErrUnsupported, "compressed movie header (cmov): its chunk offsets cannot be moved")
	}
	return b, nil
}

// container rebuilds a container box from its children. skip is the number of payload bytes
// before the first child (4 for a FullBox).
func (rw *rewriter) container(b []byte, at, hl, skip int, path string) ([]byte, error) {
	if len(b) < hl+skip {
		return nil, rw.errf(at, formats.ErrMalformed, "%s box too short", path)
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:hl+skip]...)
	p := b[hl+skip:]
	pos := 0
	for pos < len(p) {
		rest := p[pos:]
		if len(rest) < 8 {
			out = append(out, rest...) // e.g. QuickTime's 32-bit zero terminator
			break
		}
		size, chl, ok := boxHeader(rest)
		if !ok {
			return nil, rw.errf(at+hl+skip+pos, formats.ErrMalformed, "child of %s has a bad size", path)
		}
		cb := rest[:size]
		nb, err := rw.box(cb, at+hl+skip+pos, chl, path+"/"+string(cb[4:8]))
		if err != nil {
			return nil, err
		}
		out = append(out, nb...)
		pos += int(size)
	}
	if err := setSize(out, b, hl); err != nil {
		return nil, rw.errf(at, formats.ErrTooLarge, "%v", err)
	}
	return out, nil
}

// setSize writes len(out) into out's header, which was copied from orig; a size of 0 (to the
// end of the parent) is kept.
func setSize(out, orig []byte, hl int) error {
	if binary.BigEndian.Uint32(orig) == 0 {
		return nil
	}
	if hl == 16 {
		binary.BigEndian.PutUint64(out[8:], uint64(len(out)))
		return nil
	}
	if uint64(len(out)) > math.MaxUint32 {
		return fmt.Errorf("box grew to %d bytes, past a 32-bit size", len(out))
	}
	binary.BigEndian.PutUint32(out, uint32(len(out)))
	return nil
}

func (rw *rewriter) mapped(old uint64) uint64 {
	v := rw.m.mapOff(old)
	if v != old {
		rw.changed = true
	}
	return v
}

// wide decides whether a 32-bit table at offset at must become 64-bit.
func (rw *rewriter) wide(at int, maxOld uint64) bool {
	if rw.decide {
		v := rw.m.mapOff(maxOld)
		if v+rw.margin < v || v+rw.margin > math.MaxUint32 {
			rw.widen[at] = true
		}
	}
	return rw.widen[at]
}

// table moves the entries of an stco (width 4), co64 (width 8) or saio (width from its version)
// box, widening stco to co64 and saio version 0 to version 1 when entries no longer fit.
func (rw *rewriter) table(b []byte, at, hl, width int, saio bool) ([]byte, error) {
	p := b[hl:]
	name := string(b[4:8])
	if len(p) < 8 {
		return nil, rw.errf(at, formats.ErrMalformed, "%s box too short", name)
	}
	head := 4 // version and flags
	if saio {
		width = 4
		if p[0] == 1 {
			width = 8
		}
		if p[0] > 1 {
			return nil, rw.errf(at, formats.ErrUnsupported, "saio version %d", p[0])
		}
		if binary.BigEndian.Uint32(p)&0xFFFFFF&1 != 0 {
			head += 8 // aux_info_type and aux_info_type_parameter
		}
	}
	if len(p) < head+4 {
		return nil, rw.errf(at, formats.ErrMalformed, "%s box too short", name)
	}
	n := uint64(binary.BigEndian.Uint32(p[head:]))
	head += 4
	if n > uint64(len(p)-head)/uint64(width) {
		return nil, rw.errf(at, formats.ErrMalformed, "%s claims %d entries, room for %d", name, n, (len(p)-head)/width)
	}
	entries := p[head : head+int(n)*width]
	if width == 8 {
		if rw.count {
			return b, nil
		}
		out := append([]byte(nil), b...)
		e := out[hl+head:]
		for i := 0; i < int(n); i++ {
			binary.BigEndian.PutUint64(e[8*i:], rw.mapped(binary.BigEndian.Uint64(e[8*i:])))
		}
		return out, nil
	}
	if rw.count {
		rw.growth += 4 * n
		return b, nil
	}
	var maxOld uint64
	for i := 0; i < int(n); i++ {
		if v := uint64(binary.BigEndian.Uint32(entries[4*i:])); v > maxOld {
			maxOld = v
		}
	}
	if !rw.wide(at, maxOld) {
		out := append([]byte(nil), b...)
		e := out[hl+head:]
		for i := 0; i < int(n); i++ {
			v := rw.mapped(uint64(binary.BigEndian.Uint32(e[4*i:])))
			if v > math.MaxUint32 {
				return nil, rw.errf(at, formats.ErrTooLarge, "%s entry %d moves to %d, past 32 bits", name, i, v)
			}
			binary.BigEndian.PutUint32(e[4*i:], uint32(v))
		}
		return out, nil
	}
	// Widen: stco becomes co64, saio version 0 becomes version 1.
	rw.changed = true
	out := make([]byte, 0, len(b)+4*int(n))
	out = append(out, b[:hl]...)
	if !saio {
		copy(out[4:8], "co64")
	}
	out = append(out, p[:head]...)
	if saio {
		out[hl] = 1
	}
	for i := 0; i < int(n); i++ {
		out = binary.BigEndian.AppendUint64(out, rw.m.mapOff(uint64(binary.BigEndian.Uint32(entries[4*i:]))))
	}
	out = append(out, p[head+int(n)*4:]...)
	if err := setSize(out, b, hl); err != nil {
		return nil, rw.errf(at, formats.ErrTooLarge, "%v", err)
	}
	return out, nil
}

// tfhd moves an explicit base_data_offset.
func (rw *rewriter) tfhd(b []byte, at, hl int) ([]byte, error) {
	p := b[hl:]
	if len(p) < 8 {
		return nil, rw.errf(at, formats.ErrMalformed, "tfhd box too short")
	}
	if binary.BigEndian.Uint32(p)&1 == 0 {
		return b, nil // offsets are relative to the moof or the previous fragment data
	}
	if len(p) < 16 {
		return nil, rw.errf(at, formats.ErrMalformed, "tfhd box too short for its base_data_offset")
	}
	if rw.count {
		return b, nil
	}
	out := append([]byte(nil), b...)
	binary.BigEndian.PutUint64(out[hl+8:], rw.mapped(binary.BigEndian.Uint64(p[8:])))
	return out, nil
}

// tfra moves the moof offsets of a track fragment random access box, widening version 0 to 1
// when they no longer fit in 32 bits.
func (rw *rewriter) tfra(b []byte, at, hl int) ([]byte, error) {
	p := b[hl:]
	if len(p) < 16 {
		return nil, rw.errf(at, formats.ErrMalformed, "tfra box too short")
	}
	v := p[0]
	if v > 1 {
		return nil, rw.errf(at, formats.ErrUnsupported, "tfra version %d", v)
	}
	sizes := binary.BigEndian.Uint32(p[8:])
	tail := int(sizes>>4&3) + int(sizes>>2&3) + int(sizes&3) + 3
	fixed := 8
	if v == 1 {
		fixed = 16
	}
	esz := fixed + tail
	n := uint64(binary.BigEndian.Uint32(p[12:]))
	if n > uint64(len(p)-16)/uint64(esz) {
		return nil, rw.errf(at, formats.ErrMalformed, "tfra claims %d entries, room for %d", n, (len(p)-16)/esz)
	}
	entries := p[16 : 16+int(n)*esz]
	if v == 1 {
		if rw.count {
			return b, nil
		}
		out := append([]byte(nil), b...)
		e := out[hl+16:]
		for i := 0; i < int(n); i++ {
			o := e[i*esz+8:]
			binary.BigEndian.PutUint64(o, rw.mapped(binary.BigEndian.Uint64(o)))
		}
		return out, nil
	}
	if rw.count {
		rw.growth += 8 * n
		return b, nil
	}
	var maxOld uint64
	for i := 0; i < int(n); i++ {
		if o := uint64(binary.BigEndian.Uint32(entries[i*esz+4:])); o > maxOld {
			maxOld = o
		}
	}
	if !rw.wide(at, maxOld) {
		out := append([]byte(nil), b...)
		e := out[hl+16:]
		for i := 0; i < int(n); i++ {
			o := e[i*esz+4:]
			nv := rw.mapped(uint64(binary.BigEndian.Uint32(o)))
			if nv > math.MaxUint32 {
				return nil, rw.errf(at, formats.ErrTooLarge, "tfra entry %d moves to %d, past 32 bits", i, nv)
			}
			binary.BigEndian.PutUint32(o, uint32(nv))
		}
		return out, nil
	}
	rw.changed = true
	out := make([]byte, 0, len(b)+8*int(n))
	out = append(out, b[:hl]...)
	out = append(out, p[:16]...)
	out[hl] = 1
	for i := 0; i < int(n); i++ {
		e := entries[i*esz:]
		out = binary.BigEndian.AppendUint64(out, uint64(binary.BigEndian.Uint32(e)))
		out = binary.BigEndian.AppendUint64(out, rw.m.mapOff(uint64(binary.BigEndian.Uint32(e[4:]))))
		out = append(out, e[8:esz]...)
	}
	out = append(out, p[16+int(n)*esz:]...)
	if err := setSize(out, b, hl); err != nil {
		return nil, rw.errf(at, formats.ErrTooLarge, "%v", err)
	}
	return out, nil
}

// iloc moves the file offsets of items stored in this file (construction method 0, data
// reference 0). Fields keep their widths; an offset that no longer fits is an error.
func (rw *rewriter) iloc(b []byte, at, hl int) ([]byte, error) {
	if rw.count {
		return b, nil
	}
	out := append([]byte(nil), b...)
	p := out[hl:]
	bad := func(what string) error { return rw.errf(at, formats.ErrMalformed, "iloc: %s", what) }
	if len(p) < 6 {
		return nil, bad("too short")
	}
	v := p[0]
	if v > 2 {
		return nil, rw.errf(at, formats.ErrUnsupported, "iloc version %d", v)
	}
	offSize, lenSize, baseSize := int(p[4]>>4), int(p[4]&15), int(p[5]>>4)
	idxSize := 0
	if v >= 1 {
		idxSize = int(p[5] & 15)
	}
	for _, s := range []int{offSize, lenSize, baseSize, idxSize} {
		if s != 0 && s != 4 && s != 8 {
			return nil, bad(fmt.Sprintf("field size %d", s))
		}
	}
	pos := 6
	need := func(k int) bool { return len(p)-pos >= k }
	get := func(k int) uint64 {
		var x uint64
		for i := 0; i < k; i++ {
			x = x<<8 | uint64(p[pos+i])
		}
		pos += k
		return x
	}
	put := func(at, k int, x uint64) bool {
		if k == 4 && x > math.MaxUint32 {
			return false
		}
		for i := k - 1; i >= 0; i-- {
			p[at+i] = byte(x)
			x >>= 8
		}
		return true
	}
	idW := 2
	if v == 2 {
		idW = 4
	}
	if !need(idW) {
		return nil, bad("truncated item count")
	}
	items := get(idW)
	for it := uint64(0); it < items; it++ {
		if !need(idW + 2) {
			return nil, bad(fmt.Sprintf("item %d truncated", it))
		}
		get(idW)
		method := uint64(0)
		if v >= 1 {
			method = get(2) & 15
		}
		if !need(2 + baseSize + 2) {
			return nil, bad(fmt.Sprintf("item %d truncated", it))
		}
		dref := get(2)
		baseAt := pos
		base := get(baseSize)
		ne := int(get(2))
		esz := idxSize + offSize + lenSize
		if !need(ne * esz) {
			return nil, bad(fmt.Sprintf("item %d extents truncated", it))
		}
		first := pos
		pos += ne * esz
		if method != 0 || dref != 0 {
			continue
		}
		extOff := func(j int) (int, uint64) {
			a := first + j*esz + idxSize
			var x uint64
			for i := 0; i < offSize; i++ {
				x = x<<8 | uint64(p[a+i])
			}
			return a, x
		}
		if baseSize == 0 {
			if offSize == 0 {
				continue // every extent starts at offset 0, which never moves
			}
			for j := 0; j < ne; j++ {
				a, x := extOff(j)
				if !put(a, offSize, rw.mapped(x)) {
					return nil, rw.errf(at, formats.ErrTooLarge, "iloc item %d extent offset past 32 bits", it)
				}
			}
			continue
		}
		if ne == 0 {
			if !put(baseAt, baseSize, rw.mapped(base)) {
				return nil, rw.errf(at, formats.ErrTooLarge, "iloc item %d base offset past 32 bits", it)
			}
			continue
		}
		// base + extent offset: move the base by the first extent's shift, then correct the
		// other extents if their data moved by a different amount.
		_, e0 := extOff(0)
		n0 := rw.mapped(base + e0)
		if n0 < e0 {
			return nil, bad(fmt.Sprintf("item %d extent offset larger than its target", it))
		}
		nb := n0 - e0
		if !put(baseAt, baseSize, nb) {
			return nil, rw.errf(at, formats.ErrTooLarge, "iloc item %d base offset past 32 bits", it)
		}
		for j := 1; j < ne; j++ {
			a, x := extOff(j)
			nj := rw.mapped(base + x)
			if nj-nb == x {
				continue
			}
			if offSize == 0 || nj < nb || !put(a, offSize, nj-nb) {
				return nil, rw.errf(at, formats.ErrUnsupported, "iloc item %d: extents moved by different amounts", it)
			}
		}
	}
	return out, nil
}
