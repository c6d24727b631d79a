package warningtest

import (
	"image"
	"image/color"
	"math"
	"testing"
)

func TestLuminanceAndContrast(t *testing.T) {
	black, white := color.Black, color.White
	if l := Luminance(black); l != 0 {
		t.Errorf("L(black) = %v", l)
	}
	if l := Luminance(white); math.Abs(l-1) > 1e-12 {
		t.Errorf("L(white) = %v", l)
	}
	if r := ContrastRatio(black, white); math.Abs(r-21) > 1e-9 {
		t.Errorf("black/white = %v, want 21", r)
	}
	if r := ContrastRatio(white, black); math.Abs(r-21) > 1e-9 {
		t.Errorf("white/black = %v, want 21 (order must not matter)", r)
	}
	// Published WCAG figures: #777 on white is 4.48:1, #767676 on white 4.54:1.
	if r := ContrastRatio(color.RGBA{0x77, 0x77, 0x77, 255}, white); math.Abs(r-4.48) > 0.01 {
		t.Errorf("#777/white = %.3f, want 4.48", r)
	}
	if r := ContrastRatio(color.RGBA{0x76, 0x76, 0x76, 255}, white); math.Abs(r-4.54) > 0.01 {
		t.Errorf("#767676/white = %.3f, want 4.54", r)
	}
	// Pure green weighs 0.7152.
	if l := Luminance(color.RGBA{0, 255, 0, 255}); math.Abs(l-0.7152) > 1e-9 {
		t.Errorf("L(green) = %v", l)
	}
}

// overlayWith draws a synthetic overlay: a plate with "text" bars at the given rows.
func overlayWith(rows ...[2]int) *image.NRGBA {
	plate := color.NRGBA{20, 20, 20, 235}
	ov := image.NewNRGBA(image.Rect(10, 20, 110, 80))
	for y := 20; y < 80; y++ {
		for x := 10; x < 110; x++ {
			ov.SetNRGBA(x, y, plate)
		}
	}
	ov.SetNRGBA(10, 20, color.NRGBA{}) // a transparent corner
	for _, r := range rows {
		for y := r[0]; y < r[1]; y++ {
			for x := 30; x < 40; x++ {
				ov.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			}
			// an anti-aliased edge: 30 % and 70 % text
			ov.SetNRGBA(29, y, color.NRGBA{90, 90, 90, 242})
			ov.SetNRGBA(40, y, color.NRGBA{185, 185, 185, 250})
		}
	}
	return ov
}

func TestColoursAndInkSpans(t *testing.T) {
	ov := overlayWith([2]int{25, 35}, [2]int{36, 37}, [2]int{45, 60})
	plate, text, err := Colours(ov)
	if err != nil {
		t.Fatal(err)
	}
	if plate != (color.NRGBA{20, 20, 20, 235}) || text != (color.NRGBA{255, 255, 255, 255}) {
		t.Errorf("Colours = %v, %v", plate, text)
	}
	if IsText(color.NRGBA{90, 90, 90, 242}, plate, text) || !IsText(color.NRGBA{185, 185, 185, 250}, plate, text) {
		t.Error("IsText misclassifies anti-aliased pixels")
	}
	spans, err := InkSpans(ov, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Span{{25, 35}, {36, 37}, {45, 60}}
	if len(spans) != 3 || spans[0] != want[0] || spans[1] != want[1] || spans[2] != want[2] {
		t.Errorf("spans %v, want %v", spans, want)
	}
	spans, _ = InkSpans(ov, 1) // the one-row gap merges, the nine-row one does not
	if len(spans) != 2 || spans[0] != (Span{25, 37}) || spans[0].Height() != 12 {
		t.Errorf("merged spans %v", spans)
	}
}

func TestColoursErrors(t *testing.T) {
	if _, _, err := Colours(image.NewNRGBA(image.Rect(0, 0, 5, 5))); err == nil {
		t.Error("transparent overlay accepted")
	}
	if _, _, err := Colours(overlayWith()); err == nil {
		t.Error("overlay without text accepted")
	}
	if _, _, err := Colours(nil); err == nil {
		t.Error("nil overlay accepted")
	}
}

func TestWorstContrast(t *testing.T) {
	ov := overlayWith([2]int{25, 35})
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	// Composite by hand: text pixels white; plate pixels over a background that is white on
	// the left half and black on the right, i.e. the translucent plate is lighter on the left.
	for y := 20; y < 80; y++ {
		for x := 10; x < 110; x++ {
			c := ov.NRGBAAt(x, y)
			bg := uint8(255)
			if x >= 60 {
				bg = 0
			}
			a := uint32(c.A)
			v := uint8((uint32(c.R)*a + uint32(bg)*(255-a)) / 255)
			img.SetRGBA(x, y, color.RGBA{v, v, v, 255})
		}
	}
	got, err := WorstContrast(img, ov)
	if err != nil {
		t.Fatal(err)
	}
	// Worst plate pixel: 20*235/255 + 255*20/255 = 38 → contrast of white against #262626.
	want := ContrastRatio(color.White, color.RGBA{38, 38, 38, 255})
	if math.Abs(got-want) > 1e-9 {
		t.Errorf("WorstContrast = %.3f, want %.3f", got, want)
	}
	// Dark text on a light plate is measured the other way round.
	inv := image.NewRGBA(img.Rect)
	for i := range img.Pix {
		inv.Pix[i] = 255 - img.Pix[i]
		if i%4 == 3 {
			inv.Pix[i] = 255
		}
	}
	if got, err := WorstContrast(inv, ov); err != nil || got >= want || got < 1 {
		t.Errorf("inverted: %.3f, %v", got, err)
	}
	if _, err := WorstContrast(image.NewRGBA(image.Rect(0, 0, 50, 50)), ov); err == nil {
		t.Error("overlay outside the image accepted")
	}
}
