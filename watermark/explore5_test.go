package watermark

import (
	"os"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

func TestExplore5(t *testing.T) {
	if os.Getenv("WM_EXPLORE5") == "" {
		t.Skip()
	}
	l := theLayout()
	for _, i := range []int{3, 31, 5} {
		p := photos.Photo(i, robustnessSeed)
		wm, _ := Embed(p, testID(i), nil)
		w, h := p.Bounds().Dx(), p.Bounds().Dy()
		cell := float64(min(w, h)) / gridCells
		bx, by := gridCount(w, cell/2), gridCount(h, cell/2)
		mb, _ := downsample(newLumaSource(wm), cell/2, 0, bx, by, false)
		s := newSearcher(whiten(mb, bx, by), bx, by, l)
		for _, ph := range [][2]float64{{0, 0}, {0.25, 0.25}, {0.5, 0.5}, {0.75, 0}} {
			for _, sc := range []float64{0.997, 1, 1.003} {
				e := s.try(sc, ph[0], ph[1])
				t.Logf("photo %d sc %.3f ph %v: z %.2f d %d,%d f %.2f,%.2f => centre base %.2f,%.2f", i, sc, ph, e.z, e.dx, e.dy, e.fx, e.fy, ph[0]+(float64(e.dx)+e.fx)*sc, ph[1]+(float64(e.dy)+e.fy)*sc)
			}
		}
	}
}
