package dct

import (
	"fmt"
	"io"
	"math/bits"
)

// walkBlocks visits the blocks of a scan of the components comps (indexes into m.Components) in
// coding order: MCU by MCU for an interleaved scan, and for a single component block by block
// over the blocks inside the picture (T.81 A.2). restart is called before every MCU that starts
// a new restart interval of ri MCUs; block gets the component's position i in the scan, its
// index ci and the block index in its grid.
func (m *Image) walkBlocks(comps []int, ri int, restart func() error, block func(i, ci, bi int) error) error {
	mcu := 0
	if len(comps) == 1 {
		ci := comps[0]
		c := &m.Components[ci]
		bw, bh := m.compBlocks(c)
		for by := 0; by < bh; by++ {
			row := by * c.BlocksWide
			for bx := 0; bx < bw; bx++ {
				if ri > 0 && mcu > 0 && mcu%ri == 0 {
					if err := restart(); err != nil {
						return err
					}
				}
				if err := block(0, ci, row+bx); err != nil {
					return err
				}
				mcu++
			}
		}
		return nil
	}
	for my := 0; my < m.mcusY; my++ {
		for mx := 0; mx < m.mcusX; mx++ {
			if ri > 0 && mcu > 0 && mcu%ri == 0 {
				if err := restart(); err != nil {
					return err
				}
			}
			for i, ci := range comps {
				c := &m.Components[ci]
				for v := 0; v < c.V; v++ {
					row := (my*c.V + v) * c.BlocksWide
					for h := 0; h < c.H; h++ {
						if err := block(i, ci, row+mx*c.H+h); err != nil {
							return err
						}
					}
				}
			}
			mcu++
		}
	}
	return nil
}

// validate checks the fields callers may have changed before Encode or Replace use them.
func (m *Image) validate() error {
	if n := len(m.Components); n != 1 && n != 3 {
		return fmt.Errorf("dct: an image of %d components (1 or 3 expected)", n)
	}
	if m.mcusX == 0 || m.mcusY == 0 {
		return fmt.Errorf("dct: the image has no frame (make one with Decode)")
	}
	for i := range m.Components {
		c := &m.Components[i]
		if c.BlocksWide != m.mcusX*c.H || c.BlocksHigh != m.mcusY*c.V || len(c.Coeffs) != c.BlocksWide*c.BlocksHigh*64 {
			return fmt.Errorf("dct: component %d: %d coefficients for a %dx%d block grid (%dx%d expected)",
				c.ID, len(c.Coeffs), c.BlocksWide, c.BlocksHigh, m.mcusX*c.H, m.mcusY*c.V)
		}
	}
	if m.RestartInterval < 0 || m.RestartInterval > 0xFFFF {
		return fmt.Errorf("dct: restart interval %d (0 to 65535)", m.RestartInterval)
	}
	return nil
}

// scanPlan returns the scans Encode writes: one interleaved scan, or one per component when an
// MCU would have more than ten blocks.
func (m *Image) scanPlan() [][]int {
	if len(m.Components) == 1 {
		return [][]int{{0}}
	}
	n := 0
	for _, c := range m.Components {
		n += c.H * c.V
	}
	if n <= 10 {
		return [][]int{{0, 1, 2}}
	}
	return [][]int{{0}, {1}, {2}}
}

// tableOf returns the Huffman table pair a component is coded with: 0 for luma, 1 for chroma.
func tableOf(ci int) int { return min(ci, 1) }

// category returns the number of bits of |v| (the Huffman category, T.81 F.1.2.1).
func category(v int32) uint {
	m := v >> 31 // branch-free |v|: the sign of coefficients is unpredictable
	return uint(bits.Len32(uint32((v ^ m) - m)))
}

// Encode writes the image as a sequential JPEG with optimised Huffman tables. See the package
// documentation for what is written and which input segments are kept.
func (m *Image) Encode(w io.Writer) error {
	if err := m.validate(); err != nil {
		return err
	}
	plan := m.scanPlan()
	ri := m.RestartInterval

	// Pass 1: symbol statistics. The masks of non-zero AC coefficients found on the way (8 bytes
	// per block) spare pass 2 from finding them again.
	masks := make([][]uint64, len(m.Components))
	for ci := range m.Components {
		c := &m.Components[ci]
		masks[ci] = make([]uint64, c.BlocksWide*c.BlocksHigh)
	}
	var dcFreq, acFreq [2][256]int64
	var pred [3]int32
	resetPred := func() error { pred = [3]int32{}; return nil }
	for _, comps := range plan {
		pred = [3]int32{}
		err := m.walkBlocks(comps, ri, resetPred, func(i, ci, bi int) error {
			blk := m.Components[ci].Coeffs[bi*64 : bi*64+64 : bi*64+64]
			t := tableOf(ci)
			v := int32(blk[0])
			s := category(v - pred[ci])
			if s > 15 {
				return fmt.Errorf("dct: component %d block %d: DC difference %d cannot be coded", m.Components[ci].ID, bi, v-pred[ci])
			}
			pred[ci] = v
			dcFreq[t][s]++
			last := 0
			mask := acMask(blk)
			masks[ci][bi] = mask
			for nz := mask; nz != 0; nz &= nz - 1 {
				k := bits.TrailingZeros64(nz)
				a := blk[k]
				if a == -32768 {
					return fmt.Errorf("dct: component %d block %d: AC coefficient -32768 cannot be coded", m.Components[ci].ID, bi)
				}
				run := k - last - 1
				acFreq[t][0xF0] += int64(run >> 4)
				acFreq[t][(run&15)<<4|int(category(int32(a)))]++
				last = k
			}
			if last < 63 {
				acFreq[t][0]++
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var dcSpec, acSpec [2]huffSpec
	var dcEnc, acEnc [2]huffEnc
	used := [2]bool{true, len(m.Components) > 1}
	for t := 0; t < 2; t++ {
		if used[t] {
			dcSpec[t], dcEnc[t] = buildHuffman(&dcFreq[t])
			acSpec[t], acEnc[t] = buildHuffman(&acFreq[t])
		}
	}

	// Headers.
	bw := &bitWriter{w: w, buf: make([]byte, 0, 1<<16)}
	bw.raw([]byte{0xFF, mSOI})
	for _, s := range m.segs {
		bw.raw(s)
	}
	slots, wide, dqt := m.quantSlots()
	if dqt != nil {
		bw.raw(dqt)
	}
	sof := byte(mSOF0)
	for ci := range m.Components {
		if wide[slots[ci]] {
			sof = mSOF1
		}
	}
	nc := len(m.Components)
	h := []byte{0xFF, sof, 0, byte(8 + 3*nc), 8, byte(m.Height >> 8), byte(m.Height), byte(m.Width >> 8), byte(m.Width), byte(nc)}
	for ci, c := range m.Components {
		h = append(h, c.ID, byte(c.H<<4|c.V), byte(slots[ci]))
	}
	// One DHT segment with every table.
	dht := []byte{0xFF, mDHT, 0, 0}
	for t := 0; t < 2; t++ {
		if !used[t] {
			continue
		}
		for class, spec := range [2]*huffSpec{&dcSpec[t], &acSpec[t]} {
			dht = append(dht, byte(class<<4|t))
			dht = append(dht, spec.counts[:]...)
			dht = append(dht, spec.vals...)
		}
	}
	dht[2], dht[3] = byte((len(dht)-2)>>8), byte(len(dht)-2)
	h = append(h, dht...)
	if ri > 0 {
		h = append(h, 0xFF, mDRI, 0, 4, byte(ri>>8), byte(ri))
	}
	bw.raw(h)

	// Pass 2: the scans.
	for _, comps := range plan {
		sos := []byte{0xFF, mSOS, 0, byte(6 + 2*len(comps)), byte(len(comps))}
		for _, ci := range comps {
			t := tableOf(ci)
			sos = append(sos, m.Components[ci].ID, byte(t<<4|t))
		}
		sos = append(sos, 0, 63, 0)
		bw.raw(sos)
		pred = [3]int32{}
		rst := 0
		restart := func() error {
			bw.pad()
			bw.raw([]byte{0xFF, byte(mRST0 + rst)})
			rst = (rst + 1) & 7
			pred = [3]int32{}
			return bw.err
		}
		err := m.walkBlocks(comps, ri, restart, func(i, ci, bi int) error {
			t := tableOf(ci)
			bw.block(m.Components[ci].Coeffs[bi*64:bi*64+64:bi*64+64], masks[ci][bi], &pred[ci], &dcEnc[t], &acEnc[t])
			return bw.err
		})
		if err != nil {
			return fmt.Errorf("dct: writing the JPEG: %w", err)
		}
		bw.pad()
	}
	bw.raw([]byte{0xFF, mEOI})
	bw.flush()
	if bw.err != nil {
		return fmt.Errorf("dct: writing the JPEG: %w", bw.err)
	}
	return nil
}

// quantSlots chooses the quantisation table slot of each component. The kept DQT segments are
// written as they were; a further DQT segment (returned as dqt, or nil) defines the tables they
// do not define as the components need them. wide tells which slots hold 16-bit tables.
func (m *Image) quantSlots() (slots []int, wide [4]bool, dqt []byte) {
	var state [4]qtable
	for _, s := range m.segs {
		if s[1] == mDQT {
			_ = parseDQT(s[4:], &state) // checked by Decode
		}
	}
	slots = make([]int, len(m.Components))
	var want [4]*[64]uint16
	for ci := range m.Components {
		c := &m.Components[ci]
		slot := -1
		for j := 0; j < 4 && slot < 0; j++ {
			if want[j] != nil && *want[j] == c.Quant {
				slot = j
			}
		}
		if slot < 0 && want[c.tq] == nil {
			slot = c.tq
		}
		for j := 0; j < 4 && slot < 0; j++ {
			if want[j] == nil && state[j].defined && state[j].vals == c.Quant {
				slot = j
			}
		}
		for j := 0; j < 4 && slot < 0; j++ {
			if want[j] == nil {
				slot = j
			}
		}
		want[slot] = &c.Quant
		slots[ci] = slot
	}
	for j, q := range want {
		if q == nil {
			continue
		}
		if state[j].defined && state[j].vals == *q {
			wide[j] = state[j].wide
			continue
		}
		if dqt == nil {
			dqt = []byte{0xFF, mDQT, 0, 0}
		}
		for _, v := range q {
			wide[j] = wide[j] || v > 255
		}
		if wide[j] {
			dqt = append(dqt, byte(0x10|j))
			for _, v := range q {
				dqt = append(dqt, byte(v>>8), byte(v))
			}
		} else {
			dqt = append(dqt, byte(j))
			for _, v := range q {
				dqt = append(dqt, byte(v))
			}
		}
	}
	if dqt != nil {
		dqt[2], dqt[3] = byte((len(dqt)-2)>>8), byte(len(dqt)-2)
	}
	return slots, wide, dqt
}

// bitWriter writes entropy-coded data with byte stuffing, buffering the output.
type bitWriter struct {
	w   io.Writer
	buf []byte
	acc uint64 // the low n bits are pending output
	n   uint
	err error
}

// flush writes the buffer out.
func (b *bitWriter) flush() {
	if b.err == nil && len(b.buf) > 0 {
		_, b.err = b.w.Write(b.buf)
	}
	b.buf = b.buf[:0]
}

// raw writes bytes that are not entropy-coded. Pending bits must have been padded.
func (b *bitWriter) raw(p []byte) {
	if len(b.buf)+len(p) > cap(b.buf) {
		b.flush()
		if len(p) > cap(b.buf) {
			if b.err == nil {
				_, b.err = b.w.Write(p)
			}
			return
		}
	}
	b.buf = append(b.buf, p...)
}

// pad fills the last byte with one bits (T.81 F.1.2.3) and writes out the pending bytes.
func (b *bitWriter) pad() {
	if r := b.n % 8; r != 0 {
		b.acc = b.acc<<(8-r) | (1<<(8-r) - 1)
		b.n += 8 - r
	}
	for b.n >= 8 {
		b.n -= 8
		c := byte(b.acc >> b.n)
		b.buf = append(b.buf, c)
		if c == 0xFF {
			b.buf = append(b.buf, 0)
		}
	}
	if len(b.buf) >= cap(b.buf)-16 {
		b.flush()
	}
}

// block codes one block of a sequential scan (T.81 F.1.2), whose non-zero AC coefficients are
// the set bits of mask (see acMask). It is the hot loop of Encode: the bit buffer lives in locals
// while the block is coded.
func (b *bitWriter) block(blk []int16, mask uint64, pred *int32, dc, ac *huffEnc) {
	if len(b.buf) > cap(b.buf)-1024 { // a block codes to at most about 550 bytes
		b.flush()
	}
	buf, acc, n := b.buf, b.acc, b.n
	blk = blk[:64:64]
	v := int32(blk[0])
	diff := v - *pred
	*pred = v
	s := category(diff)
	diff += diff >> 31 // negative values are coded as v-1 in s bits
	acc = acc<<(uint(dc.size[s])+s) | uint64(uint32(dc.code[s])<<s|uint32(diff)&(1<<s-1))
	n += uint(dc.size[s]) + s
	if n >= 32 {
		n -= 32
		buf = emit32(buf, uint32(acc>>n))
	}
	last := 0
	for nz := mask; nz != 0; nz &= nz - 1 {
		k := bits.TrailingZeros64(nz)
		a := int32(blk[k&63])
		run := k - last - 1
		last = k
		for run > 15 {
			acc = acc<<uint(ac.size[0xF0]) | uint64(ac.code[0xF0])
			n += uint(ac.size[0xF0])
			if n >= 32 {
				n -= 32
				buf = emit32(buf, uint32(acc>>n))
			}
			run -= 16
		}
		s := category(a)
		a += a >> 31
		sym := (run<<4 | int(s)) & 0xFF
		acc = acc<<(uint(ac.size[sym])+s) | uint64(uint32(ac.code[sym])<<s|uint32(a)&(1<<s-1))
		n += uint(ac.size[sym]) + s
		if n >= 32 {
			n -= 32
			buf = emit32(buf, uint32(acc>>n))
		}
	}
	if last < 63 {
		acc = acc<<uint(ac.size[0]) | uint64(ac.code[0])
		n += uint(ac.size[0])
		if n >= 32 {
			n -= 32
			buf = emit32(buf, uint32(acc>>n))
		}
	}
	b.buf, b.acc, b.n = buf, acc, n
}

// emit32 appends the four bytes of x with byte stuffing. (Not inlined: block stays small.)
//
//go:noinline
func emit32(buf []byte, x uint32) []byte {
	if nx := ^x; (nx-0x01010101)&^nx&0x80808080 == 0 {
		return append(buf, byte(x>>24), byte(x>>16), byte(x>>8), byte(x))
	}
	return stuff32(buf, x)
}

// stuff32 appends the four bytes of x, each FF followed by a stuffed 00.
func stuff32(buf []byte, x uint32) []byte {
	for sh := 24; sh >= 0; sh -= 8 {
		c := byte(x >> sh)
		buf = append(buf, c)
		if c == 0xFF {
			buf = append(buf, 0)
		}
	}
	return buf
}

// acMask returns a mask with bit k set for each non-zero AC coefficient k of a block.
func acMask(blk []int16) uint64 {
	blk = blk[:64]
	var m uint64
	for k := 1; k < 64; k++ {
		v := int32(blk[k])
		m |= uint64(uint32(v|-v)>>31) << k
	}
	return m
}
