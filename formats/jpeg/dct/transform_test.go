package dct

import (
	"math"
	"math/rand/v2"
	"testing"
)

// basis[x][u] is C(u)/2 * cos((2x+1)uπ/16), C(0) = 1/√2: the orthonormal 8-point DCT-II basis.
// The 2-D transforms of T.81 A.3.3 are F = Bᵀ f B and f = B F Bᵀ.
var basis = func() (b [8][8]float64) {
	for x := 0; x < 8; x++ {
		for u := 0; u < 8; u++ {
			c := 0.5
			if u == 0 {
				c = 0.5 / math.Sqrt2
			}
			b[x][u] = c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return b
}()

// idctReference and forwardReference are the plain separable sums the fast transforms are
// checked against; idctExact gives idctReference's samples before rounding.
func idctExact(blk []int16, q *[64]uint16) (out [64]float64) {
	var f, t [64]float64
	for k := 0; k < 64; k++ {
		f[unzig[k]] = float64(blk[k]) * float64(q[k])
	}
	for y := 0; y < 8; y++ {
		for u := 0; u < 8; u++ {
			var s float64
			for v := 0; v < 8; v++ {
				s += basis[y][v] * f[v*8+u]
			}
			t[y*8+u] = s
		}
	}
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			var s float64
			for u := 0; u < 8; u++ {
				s += basis[x][u] * t[y*8+u]
			}
			out[y*8+x] = s + 128
		}
	}
	return out
}

func idctReference(blk []int16, q *[64]uint16, out *[64]uint8) {
	for i, v := range idctExact(blk, q) {
		out[i] = uint8(min(max(math.Round(v), 0), 255))
	}
}

func forwardReference(p, f *[64]float64) {
	var t [64]float64
	for y := 0; y < 8; y++ {
		for u := 0; u < 8; u++ {
			var s float64
			for x := 0; x < 8; x++ {
				s += basis[x][u] * p[y*8+x]
			}
			t[y*8+u] = s
		}
	}
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			var s float64
			for y := 0; y < 8; y++ {
				s += basis[y][v] * t[y*8+u]
			}
			f[v*8+u] = s
		}
	}
}

// The fast transforms agree with the reference sums: forward to 1e-9, idct sample for sample
// except for exact ties (k + ½), which either may round up. Blocks with 0 to 64 non-zero coefficients at random places, flat blocks,
// extreme values, random quantisers.
func TestTransformsMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var q [64]uint16
	off, samples := 0, 0
	for n := 0; n < 200_000; n++ {
		for k := range q {
			q[k] = uint16(1 + rng.IntN(255))
		}
		blk := make([]int16, 64)
		nz := rng.IntN(65)
		if n%7 == 0 {
			nz = 1 // DC only, or one AC
		}
		for i := 0; i < nz; i++ {
			k := rng.IntN(64)
			switch rng.IntN(4) {
			case 0:
				blk[k] = int16(rng.IntN(2*maxAC+1) - maxAC)
			default:
				blk[k] = int16(rng.IntN(21) - 10)
			}
		}
		var a, b [64]uint8
		idct(blk, &q, &a)
		idctReference(blk, &q, &b)
		exact := idctExact(blk, &q)
		for i := range a {
			samples++
			if a[i] != b[i] {
				// Only a tie may round either way: a value k + ½ to rounding noise (single
				// coefficients whose basis products are multiples of 1/16 make them).
				off++
				if _, frac := math.Modf(math.Abs(exact[i])); math.Abs(frac-0.5) > 1e-9 || math.Abs(float64(a[i])-exact[i]) > 0.5+1e-9 {
					t.Fatalf("idct sample %d is %d, the reference %d (%v), for %v (q %v)", i, a[i], b[i], exact[i], blk, q)
				}
			}
		}
		var p, fa, fb [64]float64
		for i := range p {
			p[i] = rng.NormFloat64() * 40
		}
		forward(&p, &fa)
		forwardReference(&p, &fb)
		for i := range fa {
			if math.Abs(fa[i]-fb[i]) > 1e-9 {
				t.Fatalf("forward coefficient %d is %v, the reference %v", i, fa[i], fb[i])
			}
		}
	}
	t.Logf("idct: %d of %d samples are ties rounded the other way", off, samples)
}

func BenchmarkIDCT(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	var q [64]uint16
	for k := range q {
		q[k] = uint16(2 + k/4)
	}
	blks := make([][]int16, 256)
	for i := range blks {
		blks[i] = make([]int16, 64)
		for k := 0; k < 12; k++ { // typical: the first coefficients of the zig-zag
			blks[i][rng.IntN(16)] = int16(rng.IntN(41) - 20)
		}
	}
	var out [64]uint8
	b.Run("fast", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			idct(blks[i%256], &q, &out)
		}
	})
	b.Run("reference", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			idctReference(blks[i%256], &q, &out)
		}
	})
}

// idctFull is idct without its shortcuts for constant columns and rows: every column and row
// transformed. The shortcuts must give the same samples, bit for bit.
func idctFull(blk []int16, q *[64]uint16, out *[64]uint8) {
	var f [64]float64
	for k := 0; k < 64; k++ {
		n := unzig[k]
		f[n] = float64(blk[k]) * float64(q[k]) * aan2[n]
	}
	for u := 0; u < 8; u++ {
		idctCol(&f, u)
	}
	for y := 0; y < 8; y++ {
		idctRow(&f, y)
	}
	for i, v := range f {
		out[i] = toSample(v)
	}
}

func TestIDCTShortcutsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var q [64]uint16
	for i := range q {
		q[i] = uint16(1 + rng.IntN(40))
	}
	blk := make([]int16, 64)
	for n := range 200000 {
		clear(blk)
		// Sparse blocks in natural positions: the first row, the first column, a few anywhere.
		for range rng.IntN(6) {
			var pos int
			switch n % 4 {
			case 0:
				pos = rng.IntN(8) // first row
			case 1:
				pos = 8 * rng.IntN(8) // first column
			default:
				pos = rng.IntN(64)
			}
			blk[zigOf(pos)] = int16(rng.IntN(400) - 200)
		}
		var got, want [64]uint8
		idct(blk, &q, &got)
		idctFull(blk, &q, &want)
		if got != want {
			t.Fatalf("block %v: %v, want %v", blk, got, want)
		}
	}
}

// zigOf is the zig-zag index of natural position n.
func zigOf(n int) int {
	for k, v := range unzig {
		if int(v) == n {
			return k
		}
	}
	panic("no zig-zag index")
}
