package paint

import (
	"image"
	"image/color"
	"testing"
)

func TestOver(t *testing.T) {
	d := color.NRGBA64{0x1234, 0x5678, 0x9abc, 0xffff}
	if got := Over(color.NRGBA64{}, d); got != d {
		t.Errorf("a transparent source changed the pixel: %v", got)
	}
	s := color.NRGBA64{0xffff, 0, 0, 0xffff}
	if got := Over(s, d); got != s {
		t.Errorf("an opaque source did not replace the pixel: %v", got)
	}
	half := Over(color.NRGBA64{0xffff, 0xffff, 0xffff, 0x8000}, color.NRGBA64{0, 0, 0, 0xffff})
	if half.A != 0xffff || half.R < 0x7f00 || half.R > 0x8100 {
		t.Errorf("half white over black = %v", half)
	}
	if got := Over(color.NRGBA64{0xffff, 0, 0, 0x8000}, color.NRGBA64{}); got.A != 0x8000 || got.R != 0xffff {
		t.Errorf("over a transparent pixel = %v", got)
	}
}

// Composite leaves pixels under transparent overlay pixels and outside the rectangle exactly.
func TestComposite(t *testing.T) {
	dst := image.NewNRGBA(image.Rect(0, 0, 10, 10))
	for i := range dst.Pix {
		dst.Pix[i] = uint8(i * 7)
	}
	before := append([]byte(nil), dst.Pix...)
	ov := image.NewNRGBA(image.Rect(100, 100, 104, 104)) // bounds need not start at 0
	ov.SetNRGBA(101, 101, color.NRGBA{255, 255, 255, 255})
	r := Composite(dst, ov, image.Rect(8, 8, 12, 12)) // half outside the picture
	if r != image.Rect(8, 8, 10, 10) {
		t.Fatalf("covered %v", r)
	}
	for y := 0; y < 10; y++ {
		for x := 0; x < 10; x++ {
			i := dst.PixOffset(x, y)
			want := before[i : i+4]
			if x == 9 && y == 9 {
				want = []byte{255, 255, 255, 255}
			}
			if string(dst.Pix[i:i+4]) != string(want) {
				t.Errorf("(%d,%d) = %v, want %v", x, y, dst.Pix[i:i+4], want)
			}
		}
	}
}

// At reads *image.NRGBA directly and agrees with NRGBA64(img.At) everywhere, outside the
// bounds included, for it and for other image types.
func TestAtMatchesNRGBA64(t *testing.T) {
	m := image.NewNRGBA(image.Rect(3, 5, 9, 8))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 37)
	}
	g := image.NewGray(image.Rect(0, 0, 4, 4))
	g.Pix[5] = 200
	for _, img := range []image.Image{m, g} {
		for y := -1; y < 10; y++ {
			for x := -1; x < 11; x++ {
				if a, b := At(img, x, y), NRGBA64(img.At(x, y)); a != b {
					t.Fatalf("%T (%d,%d): At %v, NRGBA64 %v", img, x, y, a, b)
				}
			}
		}
	}
}
