package watermark

import "sync"

// Working grids are reused across pictures. Marking a 256 × 256 picture would otherwise
// allocate about 1.7 MB of short-lived grids (the half-cell luma, its whitening, the simulated
// detection's fold and spectra), which the garbage collector then reclaims: in a sidecar that
// labels hundreds of pictures a second, that is a tenth of its CPU. The pools hold spare memory
// only: every buffer taken is fully written (or cleared) before it is read, and
// TestScratchReuse checks that a mark does not depend on what was computed before it.
var (
	floats32  slicePool[float32]
	floats64  slicePool[float64]
	searchers sync.Pool // *searcher, its fold and spectra
)

// slicePool holds slices of T given back for reuse.
type slicePool[T any] struct{ p sync.Pool } // of *[]T

// take returns a slice of n values with unspecified contents.
func (sp *slicePool[T]) take(n int) []T {
	if b, ok := sp.p.Get().(*[]T); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]T, n)
}

// give returns b to the pool; the caller must not use it again.
func (sp *slicePool[T]) give(b []T) {
	if cap(b) > 0 {
		sp.p.Put(&b)
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
