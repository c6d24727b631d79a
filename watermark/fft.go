package watermark

import (
	"math"
	"math/bits"
)

// fft1 is an in-place iterative radix-2 FFT of x (length a power of two)
// with stride; inverse selects the conjugate transform (unnormalised).
func fft1(x []complex128, n, stride int, inverse bool, tw []complex128) {
	shift := 64 - bits.Len(uint(n-1))
	for i := range n {
		j := int(bits.Reverse64(uint64(i)) >> shift)
		if j > i {
			x[i*stride], x[j*stride] = x[j*stride], x[i*stride]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		half := size / 2
		step := n / size
		for start := 0; start < n; start += size {
			for k := range half {
				w := tw[k*step]
				if inverse {
					w = complex(real(w), -imag(w))
				}
				a := start + k
				b := a + half
				t := w * x[b*stride]
				x[b*stride] = x[a*stride] - t
				x[a*stride] += t
			}
		}
	}
}

// twiddles returns e^{-2πik/n} for k < n/2.
func twiddles(n int) []complex128 {
	tw := make([]complex128, n/2)
	for k := range tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		tw[k] = complex(c, s)
	}
	return tw
}

// fft2 transforms the n×n row-major array x in place (inverse unnormalised).
func fft2(x []complex128, n int, inverse bool) {
	tw := twiddles(n)
	for r := range n {
		fft1(x[r*n:], n, 1, inverse, tw)
	}
	for c := range n {
		fft1(x[c:], n, n, inverse, tw)
	}
}
