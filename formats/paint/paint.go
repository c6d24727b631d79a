// Package paint composites an overlay (a visible warning) onto decoded pictures for the image
// containers' Paint methods: the Porter-Duff "over" operator in non-premultiplied 16-bit
// arithmetic with rounding, so that a pixel under a fully transparent part of the overlay stays
// exactly as it was (draw.Over goes through premultiplied colour and can change such pixels).
package paint

import (
	"image"
	"image/color"
	"image/draw"
)

// Rect is the part of the picture the overlay covers: at, clipped to the picture and to the
// overlay's own bounds (placed with overlay.Bounds().Min on at.Min).
func Rect(bounds image.Rectangle, ov image.Image, at image.Rectangle) image.Rectangle {
	placed := ov.Bounds().Add(at.Min.Sub(ov.Bounds().Min))
	return at.Intersect(bounds).Intersect(placed)
}

// Composite draws ov over dst (an *image.NRGBA or *image.NRGBA64; other types are left alone)
// at the rectangle at, and returns the rectangle of dst it covered.
func Composite(dst draw.Image, ov image.Image, at image.Rectangle) image.Rectangle {
	r := Rect(dst.Bounds(), ov, at)
	d := ov.Bounds().Min.Sub(at.Min)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			s := At(ov, x+d.X, y+d.Y)
			if s.A == 0 {
				continue
			}
			switch m := dst.(type) {
			case *image.NRGBA:
				m.SetNRGBA(x, y, To8(Over(s, NRGBA64(m.NRGBAAt(x, y)))))
			case *image.NRGBA64:
				m.SetNRGBA64(x, y, Over(s, m.NRGBA64At(x, y)))
			}
		}
	}
	return r
}

// NRGBA64 converts a colour to non-premultiplied 16-bit without the round trip through
// premultiplied alpha that color.NRGBA64Model makes (which loses colour at low alpha).
func NRGBA64(c color.Color) color.NRGBA64 {
	switch c := c.(type) {
	case color.NRGBA:
		return color.NRGBA64{uint16(c.R) * 0x101, uint16(c.G) * 0x101, uint16(c.B) * 0x101, uint16(c.A) * 0x101}
	case color.NRGBA64:
		return c
	case color.Gray:
		v := uint16(c.Y) * 0x101
		return color.NRGBA64{v, v, v, 0xffff}
	case color.Gray16:
		return color.NRGBA64{c.Y, c.Y, c.Y, 0xffff}
	}
	return color.NRGBA64Model.Convert(c).(color.NRGBA64)
}

// At is NRGBA64(img.At(x, y)), read straight from the samples (no allocation) for the
// *image.NRGBA overlays warning.Render makes.
func At(img image.Image, x, y int) color.NRGBA64 {
	if m, ok := img.(*image.NRGBA); ok {
		if !image.Pt(x, y).In(m.Rect) {
			return color.NRGBA64{}
		}
		i := m.PixOffset(x, y)
		p := m.Pix[i : i+4 : i+4]
		return color.NRGBA64{uint16(p[0]) * 0x101, uint16(p[1]) * 0x101, uint16(p[2]) * 0x101, uint16(p[3]) * 0x101}
	}
	return NRGBA64(img.At(x, y))
}

// Over composites s over d, both non-premultiplied 16-bit.
func Over(s, d color.NRGBA64) color.NRGBA64 {
	if s.A == 0xffff {
		return s
	}
	sa, da := uint64(s.A), uint64(d.A)
	dw := da * (0xffff - sa) // destination weight, scaled by 0xffff
	oa := sa*0xffff + dw     // output alpha, scaled by 0xffff
	if oa == 0 {
		return color.NRGBA64{}
	}
	ch := func(sc, dc uint16) uint16 {
		return uint16((uint64(sc)*sa*0xffff + uint64(dc)*dw + oa/2) / oa)
	}
	return color.NRGBA64{ch(s.R, d.R), ch(s.G, d.G), ch(s.B, d.B), uint16((oa + 0x7fff) / 0xffff)}
}

// To8 rounds a 16-bit colour to 8 bits a sample.
func To8(c color.NRGBA64) color.NRGBA {
	r := func(v uint16) uint8 { return uint8((uint32(v) + 128) / 257) }
	return color.NRGBA{r(c.R), r(c.G), r(c.B), r(c.A)}
}
