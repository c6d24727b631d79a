package watermark

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

func TestExplore(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("WM_EXPLORE"))
	if n == 0 {
		t.Skip("set WM_EXPLORE=n")
	}
	l := theLayout()
	tot, okc := 0, 0
	defer func() { t.Logf("ok %d of %d", okc, tot) }()
	for i := range n {
		p := photos.Photo(i, 1)
		id := testID(i)
		cw := l.bch.encode(binary.BigEndian.Uint64(id[:]))
		wm, err := Embed(p, id, nil)
		if err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("%2d k%d %4dx%4d psnr %.1f |", i, i%8, p.Bounds().Dx(), p.Bounds().Dy(), psnrRGB(p, wm))
		for _, a := range attacks {
			am, err := a.fn(wm)
			if err != nil {
				t.Fatal(err)
			}
			res, err := analyse(am)
			if err != nil {
				t.Fatal(err)
			}
			be := 0
			for k := range cw {
				if res.bits[k] != cw[k] {
					be++
				}
			}
			d, derr := Detect(am, nil)
			ok := "x"
			if derr == nil && d.ID == id {
				ok = "+"
				okc++
			}
			tot++
			line += fmt.Sprintf(" %s z%4.1f s%.3f e%2d|", ok, res.best.z, res.best.scale, be)
		}
		t.Log(line)
	}
}
