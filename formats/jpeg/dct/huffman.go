package dct

import (
	"errors"
	"sort"
)

// lookBits is how many bits the Huffman decoder's lookahead table resolves at once.
const lookBits = 9

// huffDec is a Huffman decoding table.
type huffDec struct {
	defined bool
	// look maps the next lookBits bits to length<<8 | symbol, or 0 when the code is longer.
	look [1 << lookBits]uint16
	// fast (AC tables) maps the next lookBits bits, when they hold both a code with a non-zero
	// size and its extra bits, to value<<16 | run<<8 | bits used; otherwise it holds 0.
	fast [1 << lookBits]uint32
	// end[l] is one past the last code of length l; valoff[l] maps a code of length l to its
	// index in vals.
	end    [17]int32
	valoff [17]int32
	vals   [256]byte
}

var errHuffCodes = errors.New("more codes of one length than the shorter codes leave room for")

// build makes the table from the DHT counts of codes of each length (1 to 16) and the symbols;
// ac selects the AC fast table.
func (h *huffDec) build(counts *[16]byte, syms []byte, ac bool) error {
	*h = huffDec{defined: true}
	copy(h.vals[:], syms)
	code, k := 0, 0
	for l := 1; l <= 16; l++ {
		n := int(counts[l-1])
		if code+n > 1<<l {
			return errHuffCodes
		}
		h.end[l] = int32(code + n)
		h.valoff[l] = int32(k - code)
		for i := 0; i < n; i++ {
			if l <= lookBits {
				shift := lookBits - l
				base := code << shift
				e := uint16(l)<<8 | uint16(syms[k])
				run, size := int(syms[k]>>4), int(syms[k]&15)
				for j := 0; j < 1<<shift; j++ {
					h.look[base+j] = e
					if ac && size > 0 && l+size <= lookBits {
						extra := int32(j>>(shift-size)) & (1<<size - 1)
						v := extend(extra, uint(size))
						h.fast[base+j] = uint32(uint16(int16(v)))<<16 | uint32(run)<<8 | uint32(l+size)
					}
				}
			}
			code++
			k++
		}
		code <<= 1
	}
	return nil
}

// errBadCode reports a bit pattern that is no code of the table.
var errBadCode = errors.New("a bit pattern that is no code of the Huffman table")

// bitReader reads the entropy-coded data of a scan, undoing byte stuffing. At a marker it stops
// and supplies zero bits; consuming any of them means the data ended early, which overrun
// reports.
type bitReader struct {
	data   []byte
	pos    int    // next byte to load
	acc    uint64 // bits, most significant first; the unused low bits are zero
	n      uint   // bits in acc
	fake   uint   // how many of the low bits of acc are zeros supplied past a marker or the end
	marker bool   // pos is at the FF of a marker (or at the end of the data)
}

// fill loads bytes until acc holds more than 56 bits.
func (b *bitReader) fill() {
	if b.marker {
		b.fake += 64 - b.n
		b.n = 64
		return
	}
	for b.n <= 56 {
		// Fast path: eight bytes without FF.
		if b.pos+8 <= len(b.data) {
			d := b.data[b.pos : b.pos+8 : b.pos+8]
			x := uint64(d[0])<<56 | uint64(d[1])<<48 | uint64(d[2])<<40 | uint64(d[3])<<32 |
				uint64(d[4])<<24 | uint64(d[5])<<16 | uint64(d[6])<<8 | uint64(d[7])
			nx := ^x
			if (nx-0x0101010101010101)&^nx&0x8080808080808080 == 0 {
				k := (64 - b.n) >> 3 // whole bytes that fit
				b.acc |= x >> b.n &^ (1<<(64-b.n-8*k) - 1)
				b.n += 8 * k
				b.pos += int(k)
				return
			}
		}
		if b.pos >= len(b.data) {
			b.marker = true
			b.fake += 64 - b.n
			b.n = 64
			return
		}
		c := b.data[b.pos]
		if c == 0xFF {
			p := b.pos + 1
			for p < len(b.data) && b.data[p] == 0xFF {
				p++
			}
			if p >= len(b.data) || b.data[p] != 0 {
				b.marker = true
				b.fake += 64 - b.n
				b.n = 64
				return
			}
			b.pos = p + 1
		} else {
			b.pos++
		}
		b.acc |= uint64(c) << (56 - b.n)
		b.n += 8
	}
}

// overrun reports whether bits past the end of the data were consumed.
func (b *bitReader) overrun() bool { return b.n < b.fake }

// reset drops the buffered bits, as at a restart marker.
func (b *bitReader) reset() {
	b.acc, b.n, b.fake, b.marker = 0, 0, 0, false
}

// bits returns the next n (1..16) bits. The caller has made sure acc holds them.
func (b *bitReader) bits(n uint) int32 {
	v := int32(b.acc >> (64 - n))
	b.acc <<= n
	b.n -= n
	return v
}

// extend turns s bits (1..15) read as v into the signed value they code (T.81 F.2.2.1),
// without a branch: the sign of coefficients is unpredictable.
func extend(v int32, s uint) int32 {
	return v + (v-1<<(s-1))>>31&(1-1<<s)
}

// receiveExtend reads s bits (1..15) and extends them to a signed value.
func (b *bitReader) receiveExtend(s uint) int32 {
	if b.n < 16 {
		b.fill()
	}
	return extend(b.bits(s), s)
}

// bit reads one bit.
func (b *bitReader) bit() bool {
	if b.n < 1 {
		b.fill()
	}
	v := b.acc>>63 != 0
	b.acc <<= 1
	b.n--
	return v
}

// decode reads one Huffman-coded symbol.
func (b *bitReader) decode(h *huffDec) (byte, error) {
	if b.n < 16 {
		b.fill()
	}
	if e := h.look[b.acc>>(64-lookBits)]; e != 0 {
		l := uint(e >> 8)
		b.acc <<= l
		b.n -= l
		return byte(e), nil
	}
	sym, l, ok := h.slow(b.acc)
	if !ok {
		return 0, errBadCode
	}
	b.acc <<= l
	b.n -= l
	return sym, nil
}

// slow decodes a code longer than lookBits at the top of acc: its symbol and length.
func (h *huffDec) slow(acc uint64) (sym byte, l uint, ok bool) {
	for l := uint(lookBits + 1); l <= 16; l++ {
		code := int32(acc >> (64 - l))
		if code < h.end[l] {
			return h.vals[code+h.valoff[l]], l, true
		}
	}
	return 0, 0, false
}

// huffEnc is a Huffman encoding table: the code and its length for every symbol.
type huffEnc struct {
	code [256]uint16
	size [256]uint8
}

// huffSpec is a table as a DHT segment carries it.
type huffSpec struct {
	counts [16]byte
	vals   []byte
}

// buildHuffman makes an optimal Huffman code of at most 16 bits for the symbol frequencies, by
// the procedure of ITU T.81 Annex K.2: a reserved symbol of frequency 1 keeps any code from being
// all ones; code lengths come from repeatedly merging the two least frequent trees; lengths over
// 16 are then shortened (Figure K.3) and the reserved code removed.
func buildHuffman(freq *[256]int64) (huffSpec, huffEnc) {
	const n = 257
	var f [n]int64
	copy(f[:], freq[:])
	f[256] = 1
	var codesize [n]int
	var others [n]int
	for i := range others {
		others[i] = -1
	}
	for {
		// v1: least frequency > 0, the largest symbol on ties; v2: the next least.
		v1, v2 := -1, -1
		for i := 0; i < n; i++ {
			if f[i] == 0 {
				continue
			}
			if v1 < 0 || f[i] <= f[v1] {
				v2 = v1
				v1 = i
			} else if v2 < 0 || f[i] <= f[v2] {
				v2 = i
			}
		}
		if v2 < 0 {
			break
		}
		f[v1] += f[v2]
		f[v2] = 0
		codesize[v1]++
		for others[v1] >= 0 {
			v1 = others[v1]
			codesize[v1]++
		}
		others[v1] = v2
		codesize[v2]++
		for others[v2] >= 0 {
			v2 = others[v2]
			codesize[v2]++
		}
	}
	// Count codes of each length; a tree of 257 leaves is at most 256 deep.
	var bits [n + 1]int
	maxLen := 0
	for i := 0; i < n; i++ {
		if codesize[i] > 0 {
			bits[codesize[i]]++
			maxLen = max(maxLen, codesize[i])
		}
	}
	// Figure K.3: move pairs of codes up from lengths over 16.
	for i := maxLen; i > 16; i-- {
		for bits[i] > 0 {
			j := i - 2
			for bits[j] == 0 {
				j--
			}
			bits[i] -= 2
			bits[i-1]++
			bits[j+1] += 2
			bits[j]--
		}
	}
	// Remove the reserved code, which is one of the longest.
	i := min(maxLen, 16)
	for i > 0 && bits[i] == 0 {
		i--
	}
	if i > 0 {
		bits[i]--
	}
	var spec huffSpec
	for l := 1; l <= 16; l++ {
		spec.counts[l-1] = byte(bits[l])
	}
	// Figure K.4: symbols in order of code length, then value.
	type sv struct{ size, sym int }
	var order []sv
	for s := 0; s < 256; s++ {
		if codesize[s] > 0 {
			order = append(order, sv{codesize[s], s})
		}
	}
	sort.Slice(order, func(a, b int) bool {
		if order[a].size != order[b].size {
			return order[a].size < order[b].size
		}
		return order[a].sym < order[b].sym
	})
	for _, o := range order {
		spec.vals = append(spec.vals, byte(o.sym))
	}
	var enc huffEnc
	code, k := 0, 0
	for l := 1; l <= 16; l++ {
		for c := 0; c < int(spec.counts[l-1]); c++ {
			s := spec.vals[k]
			enc.code[s] = uint16(code)
			enc.size[s] = uint8(l)
			code++
			k++
		}
		code <<= 1
	}
	return spec, enc
}
