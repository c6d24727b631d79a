package watermark

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

func TestFFT2AgainstDFT(t *testing.T) {
	const n = 8
	rng := rand.New(rand.NewPCG(7, 8))
	x := make([]complex128, n*n)
	for i := range x {
		x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
	}
	want := make([]complex128, n*n)
	for u := range n {
		for v := range n {
			var s complex128
			for a := range n {
				for b := range n {
					s += x[a*n+b] * cmplx.Exp(complex(0, -2*math.Pi*float64(u*a+v*b)/n))
				}
			}
			want[u*n+v] = s
		}
	}
	got := append([]complex128(nil), x...)
	fft2(got, n, false)
	for i := range got {
		if cmplx.Abs(got[i]-want[i]) > 1e-9 {
			t.Fatalf("bin %d: %v, want %v", i, got[i], want[i])
		}
	}
	fft2(got, n, true)
	for i := range got {
		if cmplx.Abs(got[i]/complex(n*n, 0)-x[i]) > 1e-9 {
			t.Fatalf("inverse bin %d: %v, want %v", i, got[i]/(n*n), x[i])
		}
	}
}

func TestBoxFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	nx, ny, r := 13, 9, 2
	src := make([]float32, nx*ny)
	for i := range src {
		src[i] = float32(rng.NormFloat64())
	}
	got := boxFilter(src, nx, ny, r)
	for j := range ny {
		for i := range nx {
			var s float64
			n := 0
			for y := max(j-r, 0); y <= min(j+r, ny-1); y++ {
				for x := max(i-r, 0); x <= min(i+r, nx-1); x++ {
					s += float64(src[y*nx+x])
					n++
				}
			}
			if d := math.Abs(s/float64(n) - float64(got[j*nx+i])); d > 1e-5 {
				t.Fatalf("(%d,%d): %v, want %v", i, j, got[j*nx+i], s/float64(n))
			}
		}
	}
}
