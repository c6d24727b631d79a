package watermark

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

func TestExplore4(t *testing.T) {
	if os.Getenv("WM_EXPLORE4") == "" {
		t.Skip()
	}
	l := theLayout()
	for _, i := range []int{3, 31} {
		p := photos.Photo(i, robustnessSeed)
		id := testID(i)
		cw := l.bch.encode(binary.BigEndian.Uint64(id[:]))
		wm, _ := Embed(p, id, nil)
		w, h := p.Bounds().Dx(), p.Bounds().Dy()
		cell := float64(min(w, h)) / gridCells
		bx, by := gridCount(w, cell/2), gridCount(h, cell/2)
		mb, _ := downsample(newLumaSource(wm), cell/2, 0, bx, by, false)
		soft, z0 := simView{host: mb, bx: bx, by: by}.simulate(l, nil, nil, 0, 0)
		res, _ := analyse(wm)
		be2 := 0
		for k := range cw {
			if res.bits[k] != cw[k] {
				be2++
			}
		}
		// each phase
		s := newSearcher(whiten(mb, bx, by), bx, by, l)
		line := ""
		for _, ph := range [][2]float64{{0, 0}, {0.5, 0}, {0, 0.5}, {0.5, 0.5}} {
			hy := s.tryKeep(1, ph[0], ph[1])
			var r result
			demodulate(hy, l, &r)
			e := 0
			for k := range cw {
				if r.bits[k] != cw[k] {
					e++
				}
			}
			line += " | ph " + string(rune('0'+int(ph[0]*2))) + string(rune('0'+int(ph[1]*2))) + " z " + ftoa(hy.z) + " e " + itoa(e) + " d " + itoa(hy.dx) + "," + itoa(hy.dy)
		}
		t.Logf("photo %d forced: z0 %.1f e %d | search: z %.1f sc %.3f ph %v %v e %d%s", i, z0, bitErrors(l, cw, soft), res.best.z, res.best.scale, res.best.phx, res.best.phy, be2, line)
	}
}

func ftoa(f float64) string {
	return string([]byte{byte('0' + int(f)/10%10), byte('0' + int(f)%10), '.', byte('0' + int(f*10)%10)})
}
func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return string([]byte{byte('0' + i/10%10), byte('0' + i%10)})
}
