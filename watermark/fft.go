package watermark

import (
	"math"
	"math/bits"
	"sync"
)

// fftPlan holds the tables of an n-point radix-2 FFT.
type fftPlan struct {
	n      int
	rev    []int
	tw     []complex128 // e^{-2πik/n}, k < n/2
	twConj []complex128
}

func newFFTPlan(n int) *fftPlan {
	p := &fftPlan{n: n, rev: make([]int, n), tw: make([]complex128, n/2), twConj: make([]complex128, n/2)}
	shift := 64 - bits.Len(uint(n-1))
	for i := range n {
		p.rev[i] = int(bits.Reverse64(uint64(i)) >> shift)
	}
	for k := range p.tw {
		s, c := math.Sincos(-2 * math.Pi * float64(k) / float64(n))
		p.tw[k] = complex(c, s)
		p.twConj[k] = complex(c, -s)
	}
	return p
}

var foldPlan = sync.OnceValue(func() *fftPlan { return newFFTPlan(foldSide) })

// fft1 is an in-place iterative radix-2 FFT of x[0], x[stride], … (n
// points); inverse selects the conjugate transform (unnormalised).
func (p *fftPlan) fft1(x []complex128, stride int, inverse bool) {
	n := p.n
	for i, j := range p.rev {
		if j > i {
			x[i*stride], x[j*stride] = x[j*stride], x[i*stride]
		}
	}
	tw := p.tw
	if inverse {
		tw = p.twConj
	}
	for size := 2; size <= n; size <<= 1 {
		half := size / 2
		step := n / size
		for start := 0; start < n; start += size {
			for k := range half {
				a := (start + k) * stride
				b := a + half*stride
				t := tw[k*step] * x[b]
				x[b] = x[a] - t
				x[a] += t
			}
		}
	}
}

// fft2 transforms the n×n row-major array x in place (inverse unnormalised).
func fft2(x []complex128, n int, inverse bool) {
	p := foldPlan()
	if n != p.n {
		p = newFFTPlan(n)
	}
	for r := range n {
		p.fft1(x[r*n:], 1, inverse)
	}
	for c := range n {
		p.fft1(x[c:], n, inverse)
	}
}
