package watermark

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// layout is the immutable tile description derived from layoutSeed.
type layout struct {
	chip  [tileArea]float32 // ±1 per cell, cell index = row*tileCells + col
	bit   [tileArea]int16   // codeword bit index of a data cell, -1 for a pilot cell
	cells [bchN][cellsPerBt]int16
	pilot [tileArea]float32 // chip on pilot cells, 0 on data cells
	mask  [bchN]uint8       // scrambling bits XORed onto the codeword
	bch   *bchCodec
	// pilotFFT is the 2-D DFT of the pilot rendered at fold resolution.
	pilotFFT []complex128
}

// stream is the key stream: SHA-256(seed ‖ uint32be(counter)), counter = 0, 1, …
type stream struct {
	seed string
	ctr  uint32
	buf  []byte
}

func (s *stream) byte() byte {
	if len(s.buf) == 0 {
		var c [4]byte
		binary.BigEndian.PutUint32(c[:], s.ctr)
		s.ctr++
		h := sha256.Sum256(append([]byte(s.seed), c[:]...))
		s.buf = h[:]
	}
	b := s.buf[0]
	s.buf = s.buf[1:]
	return b
}

func (s *stream) uint32() uint32 {
	return uint32(s.byte())<<24 | uint32(s.byte())<<16 | uint32(s.byte())<<8 | uint32(s.byte())
}

// uniform returns an unbiased integer in [0, n) by rejection sampling.
func (s *stream) uniform(n uint32) uint32 {
	bound := uint64(1<<32) - uint64(1<<32)%uint64(n) // a multiple of n
	for {
		if v := s.uint32(); uint64(v) < bound {
			return v % n
		}
	}
}

var theLayout = sync.OnceValue(newLayout)

func newLayout() *layout {
	l := &layout{bch: newBCH()}
	s := &stream{seed: layoutSeed}
	// 1. Fisher–Yates shuffle of the cell indices 0 … 1023.
	var perm [tileArea]int16
	for i := range perm {
		perm[i] = int16(i)
	}
	for i := tileArea - 1; i > 0; i-- {
		j := s.uniform(uint32(i + 1))
		perm[i], perm[j] = perm[j], perm[i]
	}
	// 2. Chips: 1024 bits, MSB first, bit m is the chip of cell m (1 ⇒ +1).
	for m := 0; m < tileArea; m += 8 {
		b := s.byte()
		for k := range 8 {
			if b&(0x80>>k) != 0 {
				l.chip[m+k] = 1
			} else {
				l.chip[m+k] = -1
			}
		}
	}
	// 3. Scrambling mask: 127 bits, MSB first.
	var b byte
	for i := range bchN {
		if i%8 == 0 {
			b = s.byte()
		}
		l.mask[i] = (b >> (7 - i%8)) & 1
	}
	// Roles: perm[0 … 261] pilot, perm[262 + 6k + r] data cell r of bit k.
	for i, c := range perm {
		if i < pilotCells {
			l.bit[c] = -1
			l.pilot[c] = l.chip[c]
			continue
		}
		k := (i - pilotCells) / cellsPerBt
		l.bit[c] = int16(k)
		l.cells[k][(i-pilotCells)%cellsPerBt] = c
	}
	// The pilot template at fold resolution (two samples per cell, bilinear,
	// circular), as the detector sees a perfectly aligned fold.
	tpl := renderFold(&l.pilot)
	l.pilotFFT = make([]complex128, foldArea)
	for i, v := range tpl {
		l.pilotFFT[i] = complex(float64(v), 0)
	}
	fft2(l.pilotFFT, foldSide, false)
	return l
}

// renderFold samples the tile pattern w (cell values) at half-cell steps,
// bilinearly and circularly: sample (2i, 2j) is the centre of cell (i, j).
func renderFold(w *[tileArea]float32) []float32 {
	out := make([]float32, foldArea)
	for p := range foldSide {
		i0, i1 := p/2, (p/2+p%2)%tileCells
		for q := range foldSide {
			j0, j1 := q/2, (q/2+q%2)%tileCells
			out[p*foldSide+q] = (w[i0*tileCells+j0] + w[i0*tileCells+j1] + w[i1*tileCells+j0] + w[i1*tileCells+j1]) / 4
		}
	}
	return out
}

// tileValues returns the cell values of the tile carrying codeword cw
// (bits in layout order, before scrambling): chip × (±1 of the bit) on data
// cells, the chip on pilot cells.
func (l *layout) tileValues(cw [bchN]uint8) *[tileArea]float32 {
	var w [tileArea]float32
	for c := range tileArea {
		k := l.bit[c]
		if k < 0 {
			w[c] = l.chip[c]
			continue
		}
		if cw[k]^l.mask[k] != 0 {
			w[c] = l.chip[c]
		} else {
			w[c] = -l.chip[c]
		}
	}
	return &w
}
