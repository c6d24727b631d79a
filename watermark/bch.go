package watermark

import (
	"errors"
	"fmt"
)

// The error-correcting code is the narrow-sense binary BCH code of length
// n = 127 over GF(2^7) (primitive polynomial x^7 + x^3 + 1) with designed
// distance 21: it corrects t = 10 bit errors and carries k = 64 data bits,
// exactly the 64-bit identifier. The generator polynomial g(x) is the least
// common multiple of the minimal polynomials of α^1 … α^20; it has degree 63.
//
// Bit order of a codeword (as laid on the picture, index 0 … 126): index i is
// the coefficient of x^(126-i). Indices 0 … 63 hold the identifier, most
// significant bit of byte 0 first (systematic code); indices 64 … 126 hold
// the remainder of m(x)·x^63 divided by g(x), highest degree first.
//
// No maintained pure-Go BCH library with error correction exists (the
// packages found are unmaintained ports of a C example), so the codec is
// written here; it is small and fuzzed (FuzzBCHDecode).

const (
	bchN = 127 // codeword length in bits
	bchK = 64  // data bits
	bchT = 10  // correctable bit errors
)

// errUncorrectable reports that a received word is farther than bchT bit
// errors from every codeword (or the decoder could not locate the errors).
var errUncorrectable = errors.New("watermark: too many bit errors to correct")

// gf128 holds exp/log tables of GF(2^7) with primitive polynomial 0x89.
type gf128 struct {
	exp [2 * 127]uint8 // exp[i] = α^i, doubled to skip a modulo
	log [128]int       // log[α^i] = i; log[0] unused
}

func newGF128() *gf128 {
	g := &gf128{}
	x := 1
	for i := range 127 {
		g.exp[i] = uint8(x)
		g.exp[i+127] = uint8(x)
		g.log[x] = i
		x <<= 1
		if x&0x80 != 0 {
			x ^= 0x89
		}
	}
	return g
}

func (g *gf128) mul(a, b uint8) uint8 {
	if a == 0 || b == 0 {
		return 0
	}
	return g.exp[g.log[a]+g.log[b]]
}

func (g *gf128) div(a, b uint8) uint8 {
	if a == 0 {
		return 0
	}
	return g.exp[(g.log[a]-g.log[b]+127)%127]
}

// pow returns α^e for any integer e.
func (g *gf128) pow(e int) uint8 {
	e %= 127
	if e < 0 {
		e += 127
	}
	return g.exp[e]
}

// bchCodec is the immutable BCH(127,64) code description.
type bchCodec struct {
	gf  *gf128
	gen uint64 // g(x) without its x^63 term: bit d = coefficient of x^d, d < 63
}

func newBCH() *bchCodec {
	gf := newGF128()
	// g(x) = product of the minimal polynomials of the distinct cyclotomic
	// cosets met among α^1 … α^(2t). Polynomials over GF(2) as bit masks in a
	// [2]uint64 would do, but the degree stays ≤ 63 so a []uint8 is simpler.
	gen := []uint8{1} // coefficients, index = degree
	seen := make([]bool, 127)
	for i := 1; i <= 2*bchT; i++ {
		if seen[i] {
			continue
		}
		// minimal polynomial of α^i: Π over the coset (x - α^j), j = i·2^s.
		mp := []uint8{1}
		for j := i; !seen[j]; j = (j * 2) % 127 {
			seen[j] = true
			root := gf.exp[j]
			next := make([]uint8, len(mp)+1)
			for d, c := range mp {
				next[d+1] ^= c             // x · mp
				next[d] ^= gf.mul(c, root) // root · mp (minus = plus)
			}
			mp = next
		}
		// mp now has coefficients in {0,1}; multiply into gen over GF(2).
		prod := make([]uint8, len(gen)+len(mp)-1)
		for a, ca := range gen {
			if ca == 0 {
				continue
			}
			for b, cb := range mp {
				prod[a+b] ^= cb & 1
			}
		}
		gen = prod
	}
	if len(gen) != bchN-bchK+1 {
		panic(fmt.Sprintf("watermark: BCH generator degree %d, want %d", len(gen)-1, bchN-bchK))
	}
	var g uint64
	for d := range bchN - bchK {
		if gen[d] != 0 {
			g |= 1 << d
		}
	}
	return &bchCodec{gf: gf, gen: g}
}

// parity returns the 63 parity bits of message m (bit 63 of m = coefficient
// of x^126): bit d of the result is the coefficient of x^d.
func (c *bchCodec) parity(m uint64) uint64 {
	const mask = 1<<(bchN-bchK) - 1
	var reg uint64
	for i := 63; i >= 0; i-- {
		fb := (m>>i)&1 ^ (reg>>(bchN-bchK-1))&1
		reg = (reg << 1) & mask
		if fb != 0 {
			reg ^= c.gen
		}
	}
	return reg
}

// encode returns the 127 codeword bits (each 0 or 1) in layout order.
func (c *bchCodec) encode(m uint64) [bchN]uint8 {
	var out [bchN]uint8
	for i := range bchK {
		out[i] = uint8(m >> (63 - i) & 1)
	}
	p := c.parity(m)
	for i := range bchN - bchK {
		out[bchK+i] = uint8(p >> (bchN - bchK - 1 - i) & 1)
	}
	return out
}

// syndromes computes S_1 … S_2t of the received bits (layout order);
// it reports whether all are zero.
func (c *bchCodec) syndromes(r *[bchN]uint8, s *[2*bchT + 1]uint8) bool {
	zero := true
	for j := 1; j <= 2*bchT; j++ {
		var v uint8
		for i, b := range r {
			if b&1 != 0 {
				v ^= c.gf.pow(j * (bchN - 1 - i))
			}
		}
		s[j] = v
		if v != 0 {
			zero = false
		}
	}
	return zero
}

// decode corrects up to bchT errors in r (bits in layout order; any nonzero
// byte counts as 1) and returns the message and the number of corrected bits.
func (c *bchCodec) decode(in [bchN]uint8) (uint64, int, error) {
	r := in
	for i := range r {
		r[i] &= 1
		if in[i] != 0 {
			r[i] = 1
		}
	}
	var s [2*bchT + 1]uint8
	nerr := 0
	if !c.syndromes(&r, &s) {
		gf := c.gf
		// Berlekamp–Massey: error locator Λ(x) with Λ(0) = 1.
		var lam, prev, tmp [2*bchT + 2]uint8
		lam[0], prev[0] = 1, 1
		L, shift := 0, 1
		b := uint8(1)
		for n := range 2 * bchT {
			d := s[n+1]
			for i := 1; i <= L; i++ {
				d ^= gf.mul(lam[i], s[n+1-i])
			}
			if d == 0 {
				shift++
				continue
			}
			coef := gf.div(d, b)
			tmp = lam
			for i := 0; i+shift < len(lam); i++ {
				lam[i+shift] ^= gf.mul(coef, prev[i])
			}
			if 2*L <= n {
				L = n + 1 - L
				prev = tmp
				b = d
				shift = 1
			} else {
				shift++
			}
		}
		if L > bchT {
			return 0, 0, errUncorrectable
		}
		// Chien search: an error at degree d ⇔ Λ(α^-d) = 0.
		for i := range bchN {
			deg := bchN - 1 - i
			var v uint8
			for k := 0; k <= L; k++ {
				if lam[k] != 0 {
					v ^= gf.mul(lam[k], gf.pow(-deg*k))
				}
			}
			if v == 0 {
				r[i] ^= 1
				nerr++
			}
		}
		if nerr != L || !c.syndromes(&r, &s) {
			return 0, 0, errUncorrectable
		}
	}
	var m uint64
	for i := range bchK {
		m = m<<1 | uint64(r[i])
	}
	return m, nerr, nil
}
