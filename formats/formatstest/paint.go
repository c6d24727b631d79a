package formatstest

import (
	"image"
	"image/color"

	"github.com/ailabel/ailabel/formats"
)

// Badge is the containers' test overlay: 40x20, opaque red inside a 3-pixel semi-transparent
// blue border, with 2x2 fully transparent corners. Its bounds start at origin.
func Badge(origin image.Point) *image.NRGBA {
	m := image.NewNRGBA(image.Rectangle{origin, origin.Add(image.Pt(40, 20))})
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			c := color.NRGBA{255, 0, 0, 255}
			if x < 3 || y < 3 || x >= 37 || y >= 17 {
				c = color.NRGBA{0, 0, 255, 96}
			}
			if (x < 2 || x >= 38) && (y < 2 || y >= 18) {
				c = color.NRGBA{}
			}
			m.SetNRGBA(origin.X+x, origin.Y+y, c)
		}
	}
	return m
}

// Corner places ov at the bottom-right corner of the picture, inset by 3x2 pixels.
func Corner(ov image.Image) formats.OverlayFunc {
	return func(b image.Rectangle) (image.Image, image.Rectangle, error) {
		s := ov.Bounds().Size()
		min := b.Max.Sub(s).Sub(image.Pt(3, 2))
		return ov, image.Rectangle{min, min.Add(s)}, nil
	}
}

// Placed puts ov at a fixed rectangle.
func Placed(ov image.Image, at image.Rectangle) formats.OverlayFunc {
	return func(image.Rectangle) (image.Image, image.Rectangle, error) { return ov, at, nil }
}
