package iscc

import (
	"fmt"
	"image"
	"math"
	"slices"
)

// PixelCount is the number of grey pixels (32×32, row-major) the Image-Code hashes.
const PixelCount = 32 * 32

// ImageCode computes the Image-Code of 32×32 grey pixels (row-major, 1024 bytes) with the given
// bit length (32..256, a multiple of 32; 64 is the usual length, 256 the one IEP-0020 uses).
func ImageCode(pixels []byte, bits int) (Code, error) {
	if len(pixels) != PixelCount {
		return Code{}, fmt.Errorf("iscc: image code: %d pixels, want %d (32×32 grey)", len(pixels), PixelCount)
	}
	if bits < 32 || bits > 256 || bits%32 != 0 {
		return Code{}, fmt.Errorf("iscc: image code: bit length %d is not 32..256 in steps of 32", bits)
	}
	return Code{
		MainType: MainTypeContent,
		SubType:  SubTypeImage,
		Version:  0,
		Bits:     bits,
		Body:     softHashImage(pixels, bits),
	}, nil
}

// FromImage normalises img (see Normalize) and computes its Image-Code.
func FromImage(img image.Image, bits int) (Code, error) {
	px, err := Normalize(img)
	if err != nil {
		return Code{}, err
	}
	return ImageCode(px, bits)
}

// softHashImage is the ISCC image soft hash: a 2-D DCT-II of the 32×32 pixels, then for the 8×8
// blocks of coefficients at offsets (0,0), (1,0), (0,1), (1,1) (column, row), one bit per
// coefficient: 1 when it is strictly greater than the block's median.
func softHashImage(pixels []byte, nbits int) []byte {
	var m [32][32]float64 // m[row][col]
	var scratch, col [32]float64
	for r := range 32 {
		for c := range 32 {
			m[r][c] = float64(pixels[r*32+c])
		}
		dctInPlace(m[r][:], scratch[:])
	}
	for c := range 32 {
		for r := range 32 {
			col[r] = m[r][c]
		}
		dctInPlace(col[:], scratch[:])
		for r := range 32 {
			m[r][c] = col[r]
		}
	}
	out := make([]byte, nbits/8)
	bit := 0
	block := make([]float64, 0, 64)
	for _, off := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
		if bit >= nbits {
			break
		}
		block = block[:0]
		for r := off[1]; r < off[1]+8; r++ {
			block = append(block, m[r][off[0]:off[0]+8]...)
		}
		sorted := slices.Clone(block)
		slices.Sort(sorted)
		median := (sorted[31] + sorted[32]) / 2
		for _, v := range block {
			if bit >= nbits {
				break
			}
			if v > median {
				out[bit/8] |= 0x80 >> (bit % 8)
			}
			bit++
		}
	}
	return out
}

// dctCos[n][i] is the divisor of dct's odd half for length n: cos((i+½)π/n)·2.
var dctCos = func() map[int][]float64 {
	t := map[int][]float64{}
	for n := 2; n <= 32; n *= 2 {
		c := make([]float64, n/2)
		for i := range c {
			c[i] = math.Cos((float64(i)+0.5)*math.Pi/float64(n)) * 2.0
		}
		t[n] = c
	}
	return t
}()

// dctInPlace replaces v by its unnormalised DCT-II, in Nayuki's recursive fast form (len(v) a
// power of two up to 32), using scratch (len(v) values) and v itself as working space. The
// evaluation order matters: a direct O(N²) DCT leaves rounding noise that changes bits.
func dctInPlace(v, scratch []float64) {
	n := len(v)
	if n == 1 {
		return
	}
	half := n / 2
	alpha, beta := scratch[:half], scratch[half:n]
	cs := dctCos[n]
	for i := range half {
		alpha[i] = v[i] + v[n-1-i]
		beta[i] = (v[i] - v[n-1-i]) / cs[i]
	}
	dctInPlace(alpha, v[:half])
	dctInPlace(beta, v[half:])
	for i := range half - 1 {
		v[2*i], v[2*i+1] = alpha[i], beta[i]+beta[i+1]
	}
	v[n-2], v[n-1] = alpha[half-1], beta[half-1]
}
