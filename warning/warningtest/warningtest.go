// Package warningtest measures rendered warnings for tests: the height of the text's ink and
// the WCAG contrast between text and plate as they appear on an image. It knows nothing of
// package warning's colours: it finds the plate and text colours in the overlay itself, so it
// can check any renderer that draws one text colour on one plate colour.
package warningtest

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
)

// Luminance returns the WCAG 2 relative luminance of c, from 0 (black) to 1 (white). Alpha is
// ignored: pass opaque colours, such as pixels of a composited image.
func Luminance(c color.Color) float64 {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return 0.2126*linear(n.R) + 0.7152*linear(n.G) + 0.0722*linear(n.B)
}

// linear converts an sRGB channel value to linear light (WCAG 2's formula).
func linear(v uint8) float64 {
	s := float64(v) / 255
	if s <= 0.04045 {
		return s / 12.92
	}
	return math.Pow((s+0.055)/1.055, 2.4)
}

// ContrastRatio returns the WCAG 2 contrast ratio of two opaque colours, (L1+0.05)/(L2+0.05)
// with L1 the lighter: 1 for equal colours, 21 for black and white.
func ContrastRatio(a, b color.Color) float64 {
	return ratio(Luminance(a), Luminance(b))
}

func ratio(la, lb float64) float64 {
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// Colours finds the plate and text colours of an overlay: the plate colour is its most
// frequent non-transparent colour, the text colour the colour farthest from it among the
// pixels at least as opaque as the plate. It fails for an overlay with no plate or no second
// colour.
func Colours(overlay *image.NRGBA) (plate, text color.NRGBA, err error) {
	if overlay == nil || overlay.Rect.Empty() {
		return plate, text, errors.New("warningtest: empty overlay")
	}
	counts := map[color.NRGBA]int{}
	r := overlay.Rect
	var run color.NRGBA // counted in runs: most neighbouring pixels are alike
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := overlay.Pix[overlay.PixOffset(r.Min.X, y):]
		for i := range r.Dx() {
			c := color.NRGBA{row[4*i], row[4*i+1], row[4*i+2], row[4*i+3]}
			if c != run {
				if run.A != 0 {
					counts[run] += n
				}
				run, n = c, 0
			}
			n++
		}
	}
	if run.A != 0 {
		counts[run] += n
	}
	best := -1
	for c, n := range counts {
		if n > best || (n == best && less(c, plate)) {
			plate, best = c, n
		}
	}
	if best < 0 {
		return plate, text, errors.New("warningtest: the overlay is fully transparent")
	}
	far := -1
	for c := range counts {
		if c.A < plate.A {
			continue
		}
		if d := dist(c, plate); d > far || (d == far && less(c, text)) {
			text, far = c, d
		}
	}
	if far <= 0 {
		return plate, text, errors.New("warningtest: the overlay has only one colour (no text)")
	}
	return plate, text, nil
}

// less orders colours, to make ties deterministic.
func less(a, b color.NRGBA) bool {
	if a.R != b.R {
		return a.R < b.R
	}
	if a.G != b.G {
		return a.G < b.G
	}
	if a.B != b.B {
		return a.B < b.B
	}
	return a.A < b.A
}

// dist is the squared distance of two colours in RGB.
func dist(a, b color.NRGBA) int {
	dr, dg, db := int(a.R)-int(b.R), int(a.G)-int(b.G), int(a.B)-int(b.B)
	return dr*dr + dg*dg + db*db
}

// IsText reports whether pixel c of an overlay with the given plate and text colours is text:
// at least half opaque and closer in colour to the text than to the plate. For anti-aliased
// text that means at least about half covered.
func IsText(c, plate, text color.NRGBA) bool {
	return c.A >= 128 && dist(c, text) < dist(c, plate)
}

// Span is a run of image rows, [Min, Max).
type Span struct{ Min, Max int }

// Height returns the number of rows in s.
func (s Span) Height() int { return s.Max - s.Min }

// InkSpans returns the runs of rows of the overlay that hold text pixels (IsText), top to
// bottom. Runs separated by at most mergeGap rows without text are merged, so that a line's
// accents, which may float a row or two above its capitals, count with the line; pick
// mergeGap below the renderer's gap between lines. Each span is then one line of text and its
// height is the line's ink height.
func InkSpans(overlay *image.NRGBA, mergeGap int) ([]Span, error) {
	plate, text, err := Colours(overlay)
	if err != nil {
		return nil, err
	}
	var spans []Span
	r := overlay.Rect
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := overlay.Pix[overlay.PixOffset(r.Min.X, y):]
		ink := false
		for i := range r.Dx() {
			if IsText(color.NRGBA{row[4*i], row[4*i+1], row[4*i+2], row[4*i+3]}, plate, text) {
				ink = true
				break
			}
		}
		if !ink {
			continue
		}
		if n := len(spans); n > 0 && y-spans[n-1].Max <= mergeGap {
			spans[n-1].Max = y + 1
		} else {
			spans = append(spans, Span{y, y + 1})
		}
	}
	return spans, nil
}

// WorstContrast returns the lowest WCAG contrast ratio between the warning's text and its
// plate as composited into img (after Draw). It compares every pixel where the overlay is
// solid text with every pixel where it is solid plate (the plate colour at full plate
// opacity), in img's colours: with a translucent plate, img's background shows through and
// the plate's luminance varies from pixel to pixel, and the worst pair counts. img must hold
// the overlay's rectangle.
func WorstContrast(img image.Image, overlay *image.NRGBA) (float64, error) {
	plate, text, err := Colours(overlay)
	if err != nil {
		return 0, err
	}
	r := overlay.Rect
	if !r.In(img.Bounds()) {
		return 0, fmt.Errorf("warningtest: overlay %v lies outside the image %v", r, img.Bounds())
	}
	var lin [256]float64
	for i := range lin {
		lin[i] = linear(uint8(i))
	}
	lum := func(x, y int) float64 {
		var c color.NRGBA
		if rgba, ok := img.(*image.RGBA); ok && rgba.RGBAAt(x, y).A == 0xff {
			p := rgba.RGBAAt(x, y)
			c = color.NRGBA{p.R, p.G, p.B, p.A}
		} else {
			c = color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
		}
		return 0.2126*lin[c.R] + 0.7152*lin[c.G] + 0.0722*lin[c.B]
	}
	tMin, tMax, pMin, pMax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	nt, np := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			switch overlay.NRGBAAt(x, y) {
			case text:
				l := lum(x, y)
				tMin, tMax = math.Min(tMin, l), math.Max(tMax, l)
				nt++
			case plate:
				l := lum(x, y)
				pMin, pMax = math.Min(pMin, l), math.Max(pMax, l)
				np++
			}
		}
	}
	if nt == 0 || np == 0 {
		return 0, fmt.Errorf("warningtest: found %d solid text and %d solid plate pixels", nt, np)
	}
	if (tMin+tMax)/2 >= (pMin+pMax)/2 { // light text on a dark plate
		return ratio(tMin, pMax), nil
	}
	return ratio(tMax, pMin), nil
}
