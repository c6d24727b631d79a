package watermark

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"testing"

	"golang.org/x/image/draw"
)

// attack is one distortion applied to a watermarked picture.
type attack struct {
	name string
	fn   func(image.Image) (image.Image, error)
}

// attacks are the distortions the issue requires the mark to survive.
// Resizing uses x/image/draw.CatmullRom; JPEG uses image/jpeg (IJG scaling).
var attacks = []attack{
	{"none", func(m image.Image) (image.Image, error) { return m, nil }},
	{"jpeg50", func(m image.Image) (image.Image, error) { return jpegRoundTrip(m, 50) }},
	{"resize0.5", func(m image.Image) (image.Image, error) { return resize(m, 0.5), nil }},
	{"crop90-centre", func(m image.Image) (image.Image, error) { return cropArea(m, 0.9, 0.5, 0.5), nil }},
	{"crop90-corner", func(m image.Image) (image.Image, error) { return cropArea(m, 0.9, 0, 1), nil }},
	{"crop90-side", func(m image.Image) (image.Image, error) { return cropSide(m, 0.9), nil }},
	{"bright+20", func(m image.Image) (image.Image, error) { return brightness(m, 1.2), nil }},
	{"bright-20", func(m image.Image) (image.Image, error) { return brightness(m, 0.8), nil }},
	{"resize0.5+jpeg75", func(m image.Image) (image.Image, error) { return jpegRoundTrip(resize(m, 0.5), 75) }},
}

func jpegRoundTrip(m image.Image, q int) (image.Image, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: q}); err != nil {
		return nil, fmt.Errorf("jpeg encode: %w", err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		return nil, fmt.Errorf("jpeg decode: %w", err)
	}
	return out, nil
}

func resize(m image.Image, f float64) image.Image {
	b := m.Bounds()
	w := max(1, int(math.Round(float64(b.Dx())*f)))
	h := max(1, int(math.Round(float64(b.Dy())*f)))
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(dst, dst.Bounds(), m, b, draw.Src, nil)
	return dst
}

// cropArea keeps a window of the given area fraction with the picture's
// aspect ratio; (fx, fy) place it (0 = left/top, 1 = right/bottom).
func cropArea(m image.Image, area, fx, fy float64) image.Image {
	b := m.Bounds()
	s := math.Sqrt(area)
	w, h := int(float64(b.Dx())*s), int(float64(b.Dy())*s)
	x0 := b.Min.X + int(fx*float64(b.Dx()-w))
	y0 := b.Min.Y + int(fy*float64(b.Dy()-h))
	return copyRect(m, image.Rect(x0, y0, x0+w, y0+h))
}

// cropSide removes 10 % of the area from the short side only (the hardest
// case for the grid: the short side, hence the cell size, shrinks by 10 %),
// keeping the far end.
func cropSide(m image.Image, area float64) image.Image {
	b := m.Bounds()
	r := b
	if b.Dx() <= b.Dy() {
		r.Min.X = b.Max.X - int(float64(b.Dx())*area)
	} else {
		r.Min.Y = b.Max.Y - int(float64(b.Dy())*area)
	}
	return copyRect(m, r)
}

func copyRect(m image.Image, r image.Rectangle) image.Image {
	dst := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(dst, dst.Bounds(), m, r.Min, draw.Src)
	return dst
}

func brightness(m image.Image, f float64) image.Image {
	b := m.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), m, b.Min, draw.Src)
	for i := 0; i < len(dst.Pix); i += 4 {
		for k := range 3 {
			dst.Pix[i+k] = uint8(min(math.Round(float64(dst.Pix[i+k])*f), 255))
		}
	}
	return dst
}

// psnrRGB is the PSNR over the R, G and B channels.
func psnrRGB(a, b image.Image) float64 {
	r := a.Bounds()
	var se float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c1 := color.NRGBAModel.Convert(a.At(x, y)).(color.NRGBA)
			c2 := color.NRGBAModel.Convert(b.At(x, y)).(color.NRGBA)
			for _, d := range []float64{float64(c1.R) - float64(c2.R), float64(c1.G) - float64(c2.G), float64(c1.B) - float64(c2.B)} {
				se += d * d
			}
		}
	}
	mse := se / float64(3*r.Dx()*r.Dy())
	if mse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/mse)
}

// ssimLuma is the mean SSIM of the luma planes over 8×8 windows (step 4),
// with the usual constants (K1 = 0.01, K2 = 0.03, L = 255).
func ssimLuma(a, b image.Image) float64 {
	la, lb := lumaPlane(a), lumaPlane(b)
	r := a.Bounds()
	w, h := r.Dx(), r.Dy()
	const c1, c2 = (0.01 * 255) * (0.01 * 255), (0.03 * 255) * (0.03 * 255)
	var sum float64
	n := 0
	for y := 0; y+8 <= h; y += 4 {
		for x := 0; x+8 <= w; x += 4 {
			var ma, mb, va, vb, cov float64
			for j := range 8 {
				for i := range 8 {
					p, q := la[(y+j)*w+x+i], lb[(y+j)*w+x+i]
					ma += p
					mb += q
				}
			}
			ma /= 64
			mb /= 64
			for j := range 8 {
				for i := range 8 {
					p, q := la[(y+j)*w+x+i]-ma, lb[(y+j)*w+x+i]-mb
					va += p * p
					vb += q * q
					cov += p * q
				}
			}
			va /= 63
			vb /= 63
			cov /= 63
			sum += (2*ma*mb + c1) * (2*cov + c2) / ((ma*ma + mb*mb + c1) * (va + vb + c2))
			n++
		}
	}
	return sum / float64(n)
}

func lumaPlane(m image.Image) []float64 {
	s := newLumaSource(m)
	w, h := s.r.Dx(), s.r.Dy()
	out := make([]float64, w*h)
	buf := make([]uint8, w)
	for y := range h {
		for x, v := range s.row(y, buf) {
			out[y*w+x] = float64(v)
		}
	}
	return out
}

func testID(i int) ID {
	var id ID
	for k := range id {
		id[k] = byte(i*37 + k*101 + 13)
	}
	return id
}

func TestAttacksHelpers(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 400, 300))
	if got := cropSide(m, 0.9).Bounds(); got.Dx() != 400 || got.Dy() != 270 {
		t.Fatalf("cropSide: %v", got)
	}
	if got := resize(m, 0.5).Bounds(); got.Dx() != 200 || got.Dy() != 150 {
		t.Fatalf("resize: %v", got)
	}
	if a := cropArea(m, 0.9, 0, 1).Bounds(); math.Abs(float64(a.Dx()*a.Dy())/120000-0.9) > 0.01 {
		t.Fatalf("cropArea: %v", a)
	}
}
