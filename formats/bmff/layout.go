package bmff

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/ailabel/ailabel/formats"
)

// Layout plans the output: ftyp, then the XMP uuid box when e.XMP is set (an existing top-level
// XMP box is then dropped; without e.XMP an existing one that directly follows ftyp stays there),
// then the C2PA uuid box framing the store, then every other top-level box in order. This is the
// order c2pa-rs writes, so re-embedding a store of the same size reproduces the input byte for
// byte. Existing C2PA boxes are dropped, except auxiliary ones with purpose "merkle".
//
// Moving boxes moves media data, so every absolute file offset is re-pointed: stco/co64 and saio
// in moov, explicit tfhd base_data_offset in moof, tfra in mfra, and iloc in a top-level, moov or
// trak meta box. Only those boxes are re-serialised (as Literal pieces); when nothing moves,
// nothing is. A 32-bit table whose entries would pass 4 GiB is widened (stco to co64, saio and
// tfra to version 1). Widening grows moov, which moves what follows it again, so the decision is
// made once against the largest growth all widenings could cause together, then the offsets are
// computed with the final sizes: two passes instead of an open-ended iteration to a fixed point.
//
// Relative offsets (trun data_offset, sidx, saio inside moof) stay valid because boxes are only
// inserted before the first fragment and removed from outside the fragment sequence; Layout
// refuses to drop a box from between fragments. e.EXIF is ignored: MP4 and MOV have no EXIF
// location, and the EXIF item of a HEIF file is left as it is.
//
// e.Captions become timed-text (tx3g, mov_text) tracks, one per language, whose samples go into
// a small mdat right after the store slot; e.Media goes into moov/udta, merged with what is
// there (see captions.go). Caption tracks an earlier Layout wrote are replaced, with their mdat.
// Files without a moov (HEIF, AVIF) ignore both; a fragmented movie refuses captions with
// formats.ErrUnsupported and takes the metadata.
func (f *file) Layout(e formats.Edit) (*formats.Layout, error) {
	if e.StoreLen < 0 || e.StoreLen > MaxStoreLen {
		return nil, fmt.Errorf("manifest store of %d bytes (limit %d): %w", e.StoreLen, MaxStoreLen, formats.ErrTooLarge)
	}
	if len(e.XMP) > MaxXMPLen {
		return nil, fmt.Errorf("XMP packet of %d bytes (limit %d): %w", len(e.XMP), MaxXMPLen, formats.ErrTooLarge)
	}
	n := len(f.boxes)
	keep := make([]bool, n)
	firstFrag, lastMedia, frag := -1, -1, false
	for i, b := range f.boxes {
		keep[i] = i == 0 || !(b.kind == kindC2PA || (e.XMP != nil && b.kind == kindXMP))
		switch string(b.typ[:]) {
		case "moof":
			frag = true
			if firstFrag < 0 {
				firstFrag = i
			}
			lastMedia = i
		case "sidx":
			if firstFrag < 0 {
				firstFrag = i
			}
		case "mdat":
			lastMedia = i
		}
	}
	if frag {
		for i, b := range f.boxes {
			if !keep[i] && i > firstFrag && i < lastMedia {
				return nil, fmt.Errorf("the %s box at offset %d sits between movie fragments; removing it would break their relative offsets: %w", describeKind(b.kind), b.off, formats.ErrUnsupported)
			}
		}
	}

	x, err := f.planExtras(e, frag)
	if err != nil {
		return nil, err
	}
	if x != nil {
		for _, i := range x.dropBox {
			keep[i] = false
		}
	}

	var xmpBox []byte
	lead := -1 // an existing XMP box that directly follows ftyp stays in front of the store
	if e.XMP != nil {
		xmpBox = uuidBox(XMPUUID, e.XMP)
	} else {
		for i := 1; i < n; i++ {
			if keep[i] {
				if f.boxes[i].kind == kindXMP {
					lead = i
				}
				break
			}
		}
	}
	frameLen := int64(StoreFrameOverhead + e.StoreLen)

	m := &offsetMap{
		oldOff: make([]int64, n),
		newOff: make([]int64, n),
		keep:   keep,
		inSize: f.size,
		boxEnd: f.size - f.tail,
	}
	sizes := make([]int64, n)
	for i, b := range f.boxes {
		m.oldOff[i] = b.off
		sizes[i] = b.size
	}
	if x != nil {
		sizes[x.moov] += x.delta
	}
	place := func() {
		cur := f.boxes[0].size + int64(len(xmpBox))
		if lead > 0 {
			m.newOff[lead] = cur
			cur += sizes[lead]
		}
		cur += frameLen
		if x != nil {
			x.mdatOff = uint64(cur)
			cur += int64(len(x.mdat))
		}
		for i := 1; i < n; i++ {
			if i == lead {
				continue
			}
			m.newOff[i] = cur
			if keep[i] {
				cur += sizes[i]
			}
		}
		m.tailNew = cur
	}
	place()

	lits := map[int][]byte{}
	if !m.identity() || x != nil {
		if err := f.rewrite(m, keep, sizes, place, lits, x); err != nil {
			return nil, err
		}
	}

	var pieces []formats.Piece
	addCopy := func(off, n int64) {
		if k := len(pieces) - 1; k >= 0 && pieces[k].Kind == formats.Copy && pieces[k].Off+pieces[k].Len == off {
			pieces[k].Len += n
			return
		}
		pieces = append(pieces, formats.Piece{Kind: formats.Copy, Off: off, Len: n})
	}
	addCopy(0, f.boxes[0].size)
	if xmpBox != nil {
		pieces = append(pieces, formats.Piece{Kind: formats.Literal, Len: int64(len(xmpBox)), Data: xmpBox})
	}
	if lead > 0 {
		addCopy(f.boxes[lead].off, f.boxes[lead].size)
	}
	pieces = append(pieces, formats.Piece{Kind: formats.Store, Len: frameLen})
	if x != nil && len(x.mdat) > 0 {
		pieces = append(pieces, formats.Piece{Kind: formats.Literal, Len: int64(len(x.mdat)), Data: x.mdat})
	}
	for i := 1; i < n; i++ {
		if !keep[i] || i == lead {
			continue
		}
		if lit, ok := lits[i]; ok {
			pieces = append(pieces, formats.Piece{Kind: formats.Literal, Len: int64(len(lit)), Data: lit})
			continue
		}
		addCopy(f.boxes[i].off, f.boxes[i].size)
	}
	if f.tail > 0 {
		addCopy(f.size-f.tail, f.tail)
	}
	return &formats.Layout{Pieces: pieces, Frame: FrameStore}, nil
}

var _ formats.Writable = (*file)(nil)

// FrameStore wraps a manifest store in the top-level C2PA uuid box: size, "uuid", the C2PA UUID,
// version and flags 0, purpose "manifest\0", a zero u64 merkle offset, then the store. The result
// is StoreFrameOverhead bytes longer than store.
func FrameStore(store []byte) []byte {
	n := StoreFrameOverhead + len(store)
	out := make([]byte, 0, n)
	out = binary.BigEndian.AppendUint32(out, uint32(n))
	out = append(out, "uuid"...)
	out = append(out, C2PAUUID[:]...)
	out = append(out, 0, 0, 0, 0)
	out = append(out, "manifest\x00"...)
	out = append(out, 0, 0, 0, 0, 0, 0, 0, 0)
	return append(out, store...)
}

func uuidBox(ext [16]byte, payload []byte) []byte {
	n := uint64(24 + len(payload))
	var out []byte
	if n > math.MaxUint32 {
		out = binary.BigEndian.AppendUint32(out, 1)
		out = append(out, "uuid"...)
		out = binary.BigEndian.AppendUint64(out, n+8)
	} else {
		out = binary.BigEndian.AppendUint32(out, uint32(n))
		out = append(out, "uuid"...)
	}
	out = append(out, ext[:]...)
	return append(out, payload...)
}

func describeKind(k kind) string {
	switch k {
	case kindC2PA:
		return "C2PA uuid"
	case kindXMP:
		return "XMP uuid"
	}
	return "top-level"
}

// rewrite re-serialises the kept boxes that hold absolute offsets, storing changed ones in lits
// and their new sizes in sizes. place recomputes m's output offsets from sizes.
// x, when not nil, adds caption tracks and metadata to moov after its offsets are moved.
func (f *file) rewrite(m *offsetMap, keep []bool, sizes []int64, place func(), lits map[int][]byte, x *extras) error {
	type target struct {
		i   int
		buf []byte
		rw  *rewriter
	}
	read := func(i int) ([]byte, error) {
		b := f.boxes[i]
		if b.size > MaxRewriteLen {
			return nil, fmt.Errorf("%s box at offset %d is %d bytes, more than the %d this writer rewrites in memory: %w", fourcc(b.typ), b.off, b.size, MaxRewriteLen, formats.ErrTooLarge)
		}
		buf, err := readAt(f.r, b.off, b.size)
		if err != nil {
			return nil, fmt.Errorf("reading the %s box at offset %d: %w", fourcc(b.typ), b.off, err)
		}
		return buf, nil
	}
	run := func(t *target) ([]byte, error) {
		b := f.boxes[t.i]
		t.rw.top = b.off
		t.rw.changed = false
		nb, err := t.rw.box(t.buf, 0, int(b.hlen), string(b.typ[:]))
		if err != nil || x == nil || t.i != x.moov {
			return nb, err
		}
		t.rw.changed = true
		return x.post(nb)
	}

	// Boxes whose size can change (their 32-bit tables may widen): moov and mfra.
	var grow []*target
	for i := 1; i < len(f.boxes); i++ {
		if t := string(f.boxes[i].typ[:]); keep[i] && (t == "moov" || t == "mfra") {
			buf, err := read(i)
			if err != nil {
				return err
			}
			grow = append(grow, &target{i: i, buf: buf})
		}
	}
	var margin uint64
	for _, t := range grow {
		t.rw = &rewriter{m: m, count: true}
		if _, err := run(t); err != nil {
			return err
		}
		margin += t.rw.growth
	}
	resized := false
	for _, t := range grow {
		t.rw = &rewriter{m: m, decide: true, margin: margin, widen: map[int]bool{}}
		nb, err := run(t)
		if err != nil {
			return err
		}
		if int64(len(nb)) != sizes[t.i] {
			resized = true
			sizes[t.i] = int64(len(nb))
		}
		if t.rw.changed {
			lits[t.i] = nb
		}
	}
	if resized {
		place()
		for _, t := range grow {
			t.rw.decide = false
			nb, err := run(t)
			if err != nil {
				return err
			}
			if int64(len(nb)) != sizes[t.i] {
				return fmt.Errorf("internal error: %s box at offset %d changed size between passes", fourcc(f.boxes[t.i].typ), f.boxes[t.i].off)
			}
			delete(lits, t.i)
			if t.rw.changed {
				lits[t.i] = nb
			}
		}
	}

	// Boxes whose size never changes: moof (tfhd offsets are 64-bit) and top-level meta (iloc
	// keeps its field widths). Each is read, patched and kept only if something moved.
	for i := 1; i < len(f.boxes); i++ {
		if t := string(f.boxes[i].typ[:]); !keep[i] || (t != "moof" && t != "meta") {
			continue
		}
		buf, err := read(i)
		if err != nil {
			return err
		}
		t := &target{i: i, buf: buf, rw: &rewriter{m: m}}
		nb, err := run(t)
		if err != nil {
			return err
		}
		if len(nb) != len(buf) {
			return fmt.Errorf("internal error: %s box at offset %d changed size", fourcc(f.boxes[i].typ), f.boxes[i].off)
		}
		if t.rw.changed {
			lits[i] = nb
		}
	}
	return nil
}
