package bmff

import (
	"encoding/binary"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// maxUdtaLen bounds the moov/udta box MetaKeys reads, and maxMoovChildren the moov children it
// walks to find it.
const (
	maxUdtaLen      = 16 << 20
	maxMoovChildren = 1 << 16
)

// MetaKeys returns the QuickTime metadata keys (moov/udta/meta or moov/meta with handler mdta,
// as ffmpeg's use_metadata_tags writes them) with UTF-8 values: China's AIGC label lives there.
// It reads only moov's child headers and the metadata boxes; damaged boxes yield nothing.
func (f *file) MetaKeys() []formats.MetaKey {
	for i := range f.boxes {
		b := &f.boxes[i]
		if string(b.typ[:]) != "moov" {
			continue
		}
		var out []formats.MetaKey
		f.moovChildren(b, func(typ string, off, size int64) bool {
			if typ != "udta" && typ != "meta" {
				return true
			}
			if size > maxUdtaLen {
				return true
			}
			buf := make([]byte, size)
			if _, err := f.r.ReadAt(buf, off); err != nil {
				return true
			}
			if typ == "udta" {
				buf = find(payload(buf, false), "meta")
			}
			out = append(out, mdtaKeys(buf)...)
			return true
		})
		return out
	}
	return nil
}

// moovChildren calls fn with each child box of the moov box b (type, offset, size) until fn
// returns false.
func (f *file) moovChildren(b *topBox, fn func(typ string, off, size int64) bool) {
	var h [16]byte
	off, end := b.off+int64(b.hlen), b.end()
	for n := 0; off+8 <= end && n < maxMoovChildren; n++ {
		if _, err := f.r.ReadAt(h[:8], off); err != nil {
			return
		}
		size, hl := int64(binary.BigEndian.Uint32(h[:])), int64(8)
		switch size {
		case 0:
			size = end - off
		case 1:
			if _, err := f.r.ReadAt(h[8:16], off+8); err != nil && err != io.EOF {
				return
			}
			u := binary.BigEndian.Uint64(h[8:])
			if u > uint64(end-off) {
				return
			}
			size, hl = int64(u), 16
		}
		if size < hl || size > end-off {
			return
		}
		if !fn(string(h[4:8]), off, size) {
			return
		}
		off += size
	}
}

// mdtaKeys reads a meta box with handler mdta: its keys box names the items of its ilst by
// 1-based index.
func mdtaKeys(meta []byte) []formats.MetaKey {
	p := payload(meta, true)
	if p == nil {
		return nil
	}
	hdlr := payload(find(p, "hdlr"), true)
	if len(hdlr) < 8 || string(hdlr[4:8]) != "mdta" {
		return nil
	}
	kp := payload(find(p, "keys"), true)
	if len(kp) < 4 {
		return nil
	}
	count := binary.BigEndian.Uint32(kp)
	var names []string
	rest := kp[4:]
	for i := uint32(0); i < count && len(rest) >= 8; i++ {
		size := binary.BigEndian.Uint32(rest)
		if size < 8 || uint64(size) > uint64(len(rest)) {
			return nil
		}
		names = append(names, string(rest[8:size])) // namespace (rest[4:8]) is mdta in practice
		rest = rest[size:]
	}
	items, _, err := children(payload(find(p, "ilst"), false))
	if err != nil {
		return nil
	}
	var out []formats.MetaKey
	for _, it := range items {
		idx := binary.BigEndian.Uint32(it[4:8])
		if idx == 0 || uint64(idx) > uint64(len(names)) {
			continue
		}
		data := find(payload(it, false), "data")
		dp := payload(data, false)
		if len(dp) < 8 || binary.BigEndian.Uint32(dp)&0xFFFFFF != 1 { // type 1: UTF-8
			continue
		}
		out = append(out, formats.MetaKey{Key: names[idx-1], Value: string(dp[8:])})
	}
	return out
}
