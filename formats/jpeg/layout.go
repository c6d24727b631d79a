package jpeg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	"github.com/ailabel/ailabel/formats"
)

// FramedLen returns the length of the APP11 segment run that carries a manifest store of storeLen
// bytes: the first segment holds up to 65525 store bytes, every later one repeats the store's 8-byte
// LBox+TBox and holds up to 65517 more; each segment adds its marker, length and 8-byte JP header.
// It depends on storeLen only. storeLen must be at least 8.
func FramedLen(storeLen int) int64 {
	n := int64(storeLen)
	first := min(n, seg1Cap)
	rest := n - first
	k := (rest + segNCap - 1) / segNCap
	return 4 + jpHeaderLen + first + k*(4+jpHeaderLen+8) + rest
}

// frame wraps a store in APP11 segments with box instance en. For a store of the planned length
// the result is FramedLen(len(store)) bytes; a store shorter than 8 bytes gives a shorter result,
// which Layout.WriteTo rejects.
func frame(st []byte, en uint16) []byte {
	hdr := st[:min(len(st), 8)]
	out := make([]byte, 0, FramedLen(len(st)))
	first := min(len(st), seg1Cap)
	out = appendJP(out, en, 1, nil, st[:first])
	rest := st[first:]
	for z := uint32(2); len(rest) > 0; z++ {
		k := min(len(rest), segNCap)
		out = appendJP(out, en, z, hdr, rest[:k])
		rest = rest[k:]
	}
	return out
}

func appendJP(out []byte, en uint16, z uint32, hdr, data []byte) []byte {
	out = append(out, 0xFF, mAPP11)
	out = binary.BigEndian.AppendUint16(out, uint16(2+jpHeaderLen+len(hdr)+len(data)))
	out = append(out, 'J', 'P')
	out = binary.BigEndian.AppendUint16(out, en)
	out = binary.BigEndian.AppendUint32(out, z)
	out = append(out, hdr...)
	return append(out, data...)
}

// app1 encodes an APP1 segment: marker, length, prefix and body.
func app1(prefix string, body []byte) []byte {
	out := make([]byte, 0, 4+len(prefix)+len(body))
	out = append(out, 0xFF, mAPP1)
	out = binary.BigEndian.AppendUint16(out, uint16(2+len(prefix)+len(body)))
	out = append(out, prefix...)
	return append(out, body...)
}

// edit replaces the input segment s with data (nil drops it).
type edit struct {
	s    span
	data []byte
}

// Layout plans the output. It keeps SOI and the input's segments in order, except:
//   - every APP11 segment of an existing C2PA manifest store is dropped;
//   - when e.XMP is non-nil the first standard XMP APP1 segment is replaced by it in place (other
//     standard XMP APP1 segments are dropped; ExtendedXMP segments are kept), or a new one is
//     inserted; likewise e.EXIF with the first "Exif" APP1 segment. A non-nil empty e.XMP or
//     e.EXIF removes the segment instead;
//   - the Store piece, then a new EXIF APP1, then a new XMP APP1 go right after the APP0 segments
//     that directly follow SOI, or right after SOI when there are none.
//
// The Store piece is the run of APP11 segments Layout.Frame makes, markers and lengths included,
// which is exactly the data hash exclusion. Everything else is copied from the input.
func (f *File) Layout(e formats.Edit) (*formats.Layout, error) {
	if e.StoreLen < 8 {
		return nil, fmt.Errorf("jpeg: a manifest store of %d bytes is shorter than a box header", e.StoreLen)
	}
	if e.StoreLen > MaxStoreLen {
		return nil, fmt.Errorf("%w: jpeg: manifest store of %d bytes, the limit is %d", formats.ErrTooLarge, e.StoreLen, MaxStoreLen)
	}
	if len(e.XMP) > MaxXMPLen {
		return nil, fmt.Errorf("%w: jpeg: XMP packet of %d bytes does not fit in one APP1 segment (at most %d); ExtendedXMP is not written",
			formats.ErrTooLarge, len(e.XMP), MaxXMPLen)
	}
	if len(e.EXIF) > MaxEXIFLen {
		return nil, fmt.Errorf("%w: jpeg: EXIF of %d bytes does not fit in one APP1 segment (at most %d)", formats.ErrTooLarge, len(e.EXIF), MaxEXIFLen)
	}
	en, err := f.freeEn()
	if err != nil {
		return nil, err
	}

	var edits []edit
	for _, s := range f.drop {
		edits = append(edits, edit{s: s})
	}
	var inserts [][]byte
	replace := func(segs []span, prefix string, body []byte) {
		if body == nil {
			return
		}
		var seg []byte
		if len(body) > 0 {
			seg = app1(prefix, body)
		}
		if len(segs) == 0 {
			if seg != nil {
				inserts = append(inserts, seg)
			}
			return
		}
		edits = append(edits, edit{s: segs[0], data: seg})
		for _, s := range segs[1:] {
			edits = append(edits, edit{s: s})
		}
	}
	replace(f.exfSegs, exifPrefix, e.EXIF)
	replace(f.xmpSegs, xmpPrefix, e.XMP)
	sort.Slice(edits, func(i, j int) bool { return edits[i].s.start < edits[j].s.start })

	l := &formats.Layout{Frame: func(st []byte) []byte { return frame(st, en) }}
	add := func(p formats.Piece) {
		if p.Len == 0 {
			return
		}
		if n := len(l.Pieces); n > 0 && p.Kind == formats.Copy {
			if q := &l.Pieces[n-1]; q.Kind == formats.Copy && q.Off+q.Len == p.Off {
				q.Len += p.Len
				return
			}
		}
		l.Pieces = append(l.Pieces, p)
	}
	copyTo := func(cur, to int64) int64 {
		add(formats.Piece{Kind: formats.Copy, Off: cur, Len: to - cur})
		return to
	}
	// The insertion point ends the leading APP0 segments; every edited segment comes after it.
	cur := copyTo(0, f.insert)
	add(formats.Piece{Kind: formats.Store, Len: FramedLen(e.StoreLen)})
	for _, b := range inserts {
		add(formats.Piece{Kind: formats.Literal, Len: int64(len(b)), Data: b})
	}
	for _, ed := range edits {
		if ed.s.start < cur {
			return nil, errors.New("jpeg: internal error: overlapping segment edits")
		}
		cur = copyTo(cur, ed.s.start)
		if ed.data != nil {
			add(formats.Piece{Kind: formats.Literal, Len: int64(len(ed.data)), Data: ed.data})
		}
		cur = ed.s.end
	}
	copyTo(cur, f.size)
	return l, nil
}

// freeEn picks the box instance number for the new store: DefaultBoxInstance unless a JUMBF box
// kept in the file uses it.
func (f *File) freeEn() (uint16, error) {
	for i := 0; i < 1<<16; i++ {
		en := uint16(DefaultBoxInstance + i)
		if !f.usedEn[en] {
			return en, nil
		}
	}
	return 0, fmt.Errorf("%w: jpeg: every APP11 box instance number is in use", formats.ErrTooLarge)
}
