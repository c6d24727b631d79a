package watermark

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

// falsePositiveBound returns the analytical bound on a false recovery per
// unmarked picture (see docs/watermark.md, "False recoveries"):
//
//	P ≤ H · Q(SyncThreshold) · P_dec
//
// H: synchronisation hypotheses (29 coarse scales + 12 refinement
// evaluations, × 4096 shifts), each a correlation value compared with the
// threshold; Q: the standard normal tail at the threshold (the score is
// normalised by the surface's own standard deviation); P_dec: the
// probability that a uniformly random 127-bit word lies within 10 bits of
// one of the 2^64 codewords, 2^64 · Σ_{i≤10} C(127, i) / 2^127, times
// maxDecode (the decoder tries up to 3 synchronised hypotheses).
func falsePositiveBound() (h, q, pdec, bound float64) {
	scales := math.Floor((scaleMax-scaleMin)/scaleStep+1e-9) + 1
	h = (scales + 12) * foldArea // coarse scales + 12 refinement evaluations, × shifts
	q = 0.5 * math.Erfc(SyncThreshold/math.Sqrt2)
	var v float64
	for i := 0; i <= bchT; i++ {
		v += binom(bchN, i)
	}
	pdec = v * math.Pow(2, bchK-bchN)
	return h, q, pdec, h * q * pdec * maxDecode
}

func binom(n, k int) float64 {
	r := 1.0
	for i := 1; i <= k; i++ {
		r = r * float64(n-k+i) / float64(i)
	}
	return r
}

func TestFalsePositiveBound(t *testing.T) {
	h, q, pdec, b := falsePositiveBound()
	t.Logf("H = %.0f hypotheses, Q(%.1f) = %.3g, P_dec = %.3g ⇒ bound %.3g per picture", h, SyncThreshold, q, pdec, b)
	if b >= 1e-6 {
		t.Fatalf("false-recovery bound %.3g ≥ 1e-6", b)
	}
	if math.Abs(pdec-2.475e-5)/2.475e-5 > 0.01 {
		t.Fatalf("P_dec %.4g, want ≈ 2.475e-5", pdec)
	}
}

// TestFalsePositives runs Detect on 10,000 unmarked generated pictures of
// small sizes (128 … 176 px on the short side: detection works on a
// 192-sample grid whatever the size, so small pictures cost little to
// generate and lose nothing; all scene kinds, including periodic
// textures) and requires zero detections. It also reports how
// many cleared the synchronisation threshold alone. -short: 1,000.
func TestFalsePositives(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	sizes := [][2]int{{160, 128}, {192, 144}, {128, 128}, {144, 192}, {200, 150}, {176, 176}}
	var detected, synced, notFound atomic.Int64
	var maxScore atomic.Uint64
	var wg sync.WaitGroup
	next := make(chan int, 64)
	for range workers() {
		wg.Go(func() {
			for i := range next {
				sz := sizes[i%len(sizes)]
				p := photos.Sized(sz[0], sz[1], i, 77)
				d, res, err := detect(p)
				if res == nil {
					t.Errorf("picture %d: %v", i, err)
					continue
				}
				for {
					old := maxScore.Load()
					if res.best.z <= math.Float64frombits(old) || maxScore.CompareAndSwap(old, math.Float64bits(res.best.z)) {
						break
					}
				}
				if res.best.z >= SyncThreshold {
					synced.Add(1)
					t.Logf("picture %d (%v, scene kind %d) cleared the sync threshold: score %.2f (%v)", i, sz, i%photos.SceneKinds, res.best.z, err)
				}
				switch {
				case err == nil:
					detected.Add(1)
					t.Errorf("picture %d (%v): false detection %v (score %.2f)", i, sz, d.ID, d.Score)
				case errors.Is(err, ErrNotFound):
					notFound.Add(1)
				default:
					t.Errorf("picture %d: unexpected error %v", i, err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	_, _, _, bound := falsePositiveBound()
	t.Logf("%d unmarked pictures: %d detections, %d cleared the sync threshold alone, max score %.2f; analytical bound %.2g per picture",
		n, detected.Load(), synced.Load(), math.Float64frombits(maxScore.Load()), bound)
	if notFound.Load() != int64(n) {
		t.Fatalf("%d of %d pictures not reported as ErrNotFound", int64(n)-notFound.Load(), n)
	}
}

// TestFalsePositivesOtherMark checks that a picture marked with one
// identifier never reads as another after the attacks (covered in
// TestRobustness) and that a different key stream would not be confused:
// here, that unmarked flat and periodic pictures do not synchronise.
func TestFlatAndPeriodicNotDetected(t *testing.T) {
	for _, c := range []struct {
		name string
		img  image.Image
	}{
		{"flat grey", flat(640, 480, 128)},
		{"flat black", flat(640, 480, 0)},
		{"flat white", flat(640, 480, 255)},
		{"bricks", photos.Sized(640, 480, 6, 1)},
		{"stripes", photos.Sized(800, 600, 14, 3)},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Detect(c.img, nil)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("Detect = %v, want ErrNotFound", err)
			}
		})
	}
}

func flat(w, h int, v uint8) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = v
	}
	return g
}

var _ = fmt.Sprintf
