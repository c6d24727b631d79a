package watermark

import (
	"math"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

// TestTryPairMatchesSingle checks the packed two-fold correlation against
// one fold at a time.
func TestTryPairMatchesSingle(t *testing.T) {
	m, err := Embed(photos.Sized(640, 480, 2, 3), ID{9}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bx, by := gridCount(640, 2.5/2*2), gridCount(480, 2.5/2*2)
	base, _ := downsample(newLumaSource(m), 2.5, 0, bx, by, false)
	s := newSearcher(whitenInto(make([]float32, len(base)), base, bx, by), bx, by, theLayout())
	for _, sc := range [][2]float64{{1, 1.006}, {0.97, 1.1}} {
		ha, hb := s.tryPair(sc[0], sc[1])
		a, b := s.try(sc[0], 0, 0), s.try(sc[1], 0, 0)
		for _, p := range [][2]hypothesis{{ha, a}, {hb, b}} {
			if math.Abs(p[0].z-p[1].z) > 1e-6 || p[0].dx != p[1].dx || p[0].dy != p[1].dy {
				t.Fatalf("pair %+v != single %+v", p[0], p[1])
			}
		}
	}
}
