package watermark

import (
	"encoding/binary"
	"image"
	"os"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

func TestExplore6(t *testing.T) {
	if os.Getenv("WM_EXPLORE6") == "" {
		t.Skip()
	}
	l := theLayout()
	for _, i := range []int{3, 47, 11, 19, 27} {
		p := photos.Photo(i, robustnessSeed)
		id := testID(i)
		cw := l.bch.encode(binary.BigEndian.Uint64(id[:]))
		wm, _ := Embed(p, id, nil)
		line := ""
		for _, a := range attacks {
			am, _ := a.fn(wm)
			d, res, err := detect(am)
			e := 0
			for k := range cw {
				if res.bits[k] != cw[k] {
					e++
				}
			}
			ok := "x"
			if err == nil && d.ID == id {
				ok = "+"
			}
			line += " " + ok + itoa(e)
		}
		t.Logf("photo %d kind %d %v psnr %.1f:%s", i, i%8, p.Bounds().Size(), psnrNRGBA(p, wm.(*image.NRGBA)), line)
	}
}
