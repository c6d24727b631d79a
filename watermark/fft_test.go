package watermark

import (
	"math"
	"math/cmplx"
	"math/rand/v2"
	"slices"
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
	got := boxFilterInto(make([]float32, len(src)), make([]float32, len(src)), src, nx, ny, r)
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

// boxFilterPlain is boxFilterInto as first written (a min/max per column, fresh buffers): the
// faster one must give the same bits, which the tuned thresholds of the detector rely on.
func boxFilterPlain(src []float32, nx, ny, r int) []float32 {
	dst, tmp := make([]float32, len(src)), make([]float32, len(src))
	pre := make([]float32, nx+1)
	inv := make([]float32, nx)
	for i := range inv {
		inv[i] = 1 / float32(min(i+r+1, nx)-max(i-r, 0))
	}
	for j := range ny {
		for i, v := range src[j*nx : (j+1)*nx] {
			pre[i+1] = pre[i] + v
		}
		for i := range nx {
			lo, hi := max(i-r, 0), min(i+r+1, nx)
			tmp[j*nx+i] = (pre[hi] - pre[lo]) * inv[i]
		}
	}
	acc := make([]float32, nx)
	lo, hi := 0, 0
	for j := range ny {
		for ; hi < min(j+r+1, ny); hi++ {
			for i, v := range tmp[hi*nx : (hi+1)*nx] {
				acc[i] += v
			}
		}
		for ; lo < j-r; lo++ {
			for i, v := range tmp[lo*nx : (lo+1)*nx] {
				acc[i] -= v
			}
		}
		inv := 1 / float32(hi-lo)
		for i, v := range acc {
			dst[j*nx+i] = v * inv
		}
	}
	return dst
}

func TestBoxFilterBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][2]int{{1, 1}, {3, 2}, {4, 7}, {5, 5}, {9, 9}, {10, 3}, {13, 9}, {192, 192}, {600, 40}} {
		for _, r := range []int{1, 2, 4, 7} {
			nx, ny := sz[0], sz[1]
			src := make([]float32, nx*ny)
			for i := range src {
				src[i] = float32(rng.NormFloat64() * 40)
			}
			want := boxFilterPlain(src, nx, ny, r)
			got := boxFilterInto(make([]float32, len(src)), make([]float32, len(src)), src, nx, ny, r)
			inPlace := slices.Clone(src) // dst may be src
			boxFilterInto(inPlace, make([]float32, len(src)), inPlace, nx, ny, r)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) || math.Float32bits(inPlace[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%d×%d r=%d: sample %d is %v (in place %v), want %v", nx, ny, r, i, got[i], inPlace[i], want[i])
				}
			}
		}
	}
}
