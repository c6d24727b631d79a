package formatstest

import (
	"image"
	"image/color"
	"math"
	"testing"

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

// Wave is a test luma change: amplitude A times a diagonal sine of period P pixels, mostly
// low-frequency, as an invisible watermark's signal is.
type Wave struct{ A, P float64 }

// LumaRow implements formats.LumaDelta.
func (w Wave) LumaRow(y int, dst []float32) {
	for x := range dst {
		dst[x] = float32(w.A * math.Sin(2*math.Pi*float64(x+y)/w.P))
	}
}

// LumaOf returns the BT.601 luma of every pixel of an opaque img, row by row (float, 0–255).
func LumaOf(img image.Image) [][]float64 {
	b := img.Bounds()
	out := make([][]float64, b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := make([]float64, b.Dx())
		for x := b.Min.X; x < b.Max.X; x++ {
			if yc, ok := img.(*image.YCbCr); ok {
				row[x-b.Min.X] = float64(yc.Y[yc.YOffset(x, y)])
				continue
			}
			r, g, bl, _ := img.At(x, y).RGBA() // opaque pictures: premultiplied is the same
			row[x-b.Min.X] = (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
		}
		out[y-b.Min.Y] = row
	}
	return out
}

// CheckLumaAdded fails t unless after's luma is before's plus the change d: the mean of
// (after − before) · d over the picture, divided by the mean of d², must be at least minGain
// (1 for exact, lower where quantisation or clipping takes a share), and the change must stay
// within tol of d at every pixel (tol ≥ 0.5 covers rounding).
func CheckLumaAdded(t testing.TB, before, after image.Image, d formats.LumaDelta, minGain, tol float64) {
	t.Helper()
	if before.Bounds().Size() != after.Bounds().Size() {
		t.Fatalf("size %v became %v", before.Bounds().Size(), after.Bounds().Size())
	}
	lb, la := LumaOf(before), LumaOf(after)
	var num, den, worst float64
	row := make([]float32, before.Bounds().Dx())
	for y := range lb {
		d.LumaRow(y, row)
		for x := range row {
			diff := la[y][x] - lb[y][x]
			num += diff * float64(row[x])
			den += float64(row[x]) * float64(row[x])
			worst = max(worst, math.Abs(diff-float64(row[x])))
		}
	}
	gain := num / den
	if gain < minGain || worst > tol {
		t.Fatalf("luma change: gain %.3f (want ≥ %.2f), worst deviation %.2f (want ≤ %.2f)", gain, minGain, worst, tol)
	}
	t.Logf("luma change: gain %.3f, worst deviation %.2f", gain, worst)
}
