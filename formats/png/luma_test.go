package png

import (
	"bytes"
	"image"
	"image/color"
	stdpng "image/png"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/formatstest"
)

func TestAddLuma(t *testing.T) {
	for _, depth16 := range []bool{false, true} {
		var src image.Image
		if depth16 {
			m := image.NewNRGBA64(image.Rect(0, 0, 97, 61))
			for y := 0; y < 61; y++ {
				for x := 0; x < 97; x++ {
					v := uint16(20000 + 300*x + 200*y)
					m.SetNRGBA64(x, y, color.NRGBA64{v, v - 5000, v + 3000, 0xffff})
				}
			}
			src = m
		} else {
			m := image.NewNRGBA(image.Rect(0, 0, 97, 61))
			for y := 0; y < 61; y++ {
				for x := 0; x < 97; x++ {
					m.SetNRGBA(x, y, color.NRGBA{uint8(60 + x), uint8(50 + y), uint8(100 + (x+y)%50), 255})
				}
			}
			src = m
		}
		var in bytes.Buffer
		if err := stdpng.Encode(&in, src); err != nil {
			t.Fatal(err)
		}
		f, err := Open(bytes.NewReader(in.Bytes()), int64(in.Len()))
		if err != nil {
			t.Fatal(err)
		}
		wave := formatstest.Wave{A: 2.5, P: 20}
		var out bytes.Buffer
		info, err := formats.LumaMarker(f).AddLuma(&out, func(image.Image) (formats.LumaDelta, error) { return wave, nil })
		if err != nil {
			t.Fatal(err)
		}
		if info.Changed != src.Bounds() {
			t.Errorf("Changed = %v, want the whole picture", info.Changed)
		}
		after, err := stdpng.Decode(&out)
		if err != nil {
			t.Fatal(err)
		}
		// Lossless: the change is exact up to rounding each of R, G, B.
		// (8-bit samples round the change to whole levels, which costs some of the gain.)
		minGain := 0.85
		if depth16 {
			minGain = 0.99
		}
		formatstest.CheckLumaAdded(t, src, after, wave, minGain, 0.6)
	}
}
