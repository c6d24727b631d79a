package paint

import (
	"fmt"
	"image"
	"math"

	"github.com/ailabel/ailabel/formats"
)

// AddLuma adds the luma change d to dst in place and returns the rectangle it covered (all of
// dst). For RGB pictures equal amounts go to R, G and B, so luma (any weighting summing to one)
// changes by the delta and chroma does not; for *image.YCbCr and *image.Gray the delta goes to
// Y. Samples are rounded to nearest and clipped to their range; 16-bit samples get the delta
// scaled by 257. Alpha is left alone. Other image types are refused.
func AddLuma(dst image.Image, d formats.LumaDelta) (image.Rectangle, error) {
	b := dst.Bounds()
	row := make([]float32, b.Dx())
	add8 := func(v uint8, dv float32) uint8 {
		return uint8(min(max(math.Round(float64(v)+float64(dv)), 0), 255))
	}
	switch m := dst.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			d.LumaRow(y-b.Min.Y, row)
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x, dv := range row {
				if dv == 0 {
					continue
				}
				q := p[4*x : 4*x+3 : 4*x+3]
				q[0], q[1], q[2] = add8(q[0], dv), add8(q[1], dv), add8(q[2], dv)
			}
		}
	case *image.NRGBA64:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			d.LumaRow(y-b.Min.Y, row)
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x, dv := range row {
				if dv == 0 {
					continue
				}
				for c := 0; c < 3; c++ {
					i := 8*x + 2*c
					v := float64(uint16(p[i])<<8|uint16(p[i+1])) + 257*float64(dv)
					u := uint16(min(max(math.Round(v), 0), 65535))
					p[i], p[i+1] = uint8(u>>8), uint8(u)
				}
			}
		}
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			d.LumaRow(y-b.Min.Y, row)
			p := m.Y[m.YOffset(b.Min.X, y):]
			for x, dv := range row {
				p[x] = add8(p[x], dv)
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			d.LumaRow(y-b.Min.Y, row)
			p := m.Pix[m.PixOffset(b.Min.X, y):]
			for x, dv := range row {
				p[x] = add8(p[x], dv)
			}
		}
	default:
		return image.Rectangle{}, fmt.Errorf("paint: cannot add luma to a %T picture", dst)
	}
	return b, nil
}
