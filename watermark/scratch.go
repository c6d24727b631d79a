package watermark

import "sync"

// Working grids are reused across pictures. Marking a 256 × 256 picture would otherwise
// allocate about 1.7 MB of short-lived grids (the half-cell luma, its whitening, the simulated
// detection's fold and spectra), which the garbage collector then reclaims: in a sidecar that
// labels hundreds of pictures a second, that is a tenth of its CPU. The pools hold spare memory
// only: every buffer taken is fully written (or cleared) before it is read, and
// TestScratchReuse checks that a mark does not depend on what was computed before it.
var (
	floats32  sync.Pool // *[]float32
	floats64  sync.Pool // *[]float64
	searchers sync.Pool // *searcher, its fold and spectra
)

// takeF32 returns a slice of n float32 values with unspecified contents.
func takeF32(n int) []float32 {
	if p, ok := floats32.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

// giveF32 returns b to the pool; the caller must not use it again.
func giveF32(b []float32) {
	if cap(b) > 0 {
		floats32.Put(&b)
	}
}

// takeF64 returns a slice of n float64 values with unspecified contents.
func takeF64(n int) []float64 {
	if p, ok := floats64.Get().(*[]float64); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float64, n)
}

// giveF64 returns b to the pool; the caller must not use it again.
func giveF64(b []float64) {
	if cap(b) > 0 {
		floats64.Put(&b)
	}
}

// takeSearcher is newSearcher with the fold and spectra of a searcher given back earlier.
func takeSearcher(w []float32, nx, ny int, l *layout) *searcher {
	s, ok := searchers.Get().(*searcher)
	if !ok {
		return newSearcher(w, nx, ny, l)
	}
	s.w, s.nx, s.ny, s.l = w, nx, ny, l
	return s
}

// giveSearcher returns s to the pool; its grid (s.w) is the caller's.
func giveSearcher(s *searcher) {
	s.w, s.l = nil, nil
	searchers.Put(s)
}
