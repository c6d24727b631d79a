package iscc

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
)

// MaxPixels bounds the images Normalize accepts (width × height).
const MaxPixels = 1 << 28

// Normalize turns img into the 1024 grey pixels (32×32, row-major) the Image-Code hashes, as
// iscc-sdk's image_normalize does with Pillow:
//
//  1. transparency is composited onto white (Pillow's paste with the alpha channel as mask);
//  2. the border whose colour is pixel (0,0)'s is trimmed (any channel differing is content);
//  3. grey = (19595 R + 38470 G + 7471 B + 32768) >> 16;
//  4. Pillow's bicubic resize to 32×32 (a = −0.5, support scaled by the downscale factor, 22-bit
//     fixed-point weights, horizontal then vertical pass, rounded and clipped between passes).
//
// Pixels are read as 8-bit non-premultiplied RGBA (color.NRGBAModel). EXIF orientation is not
// part of an image.Image: apply Orient first. The result is byte-exact with iscc-sdk when the
// decoded 8-bit pixels agree with Pillow's; JPEG decoders may differ by a level here and there.
func Normalize(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, errors.New("iscc: normalize: nil image")
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("iscc: normalize: empty image (%d×%d)", w, h)
	}
	if int64(w)*int64(h) > MaxPixels {
		return nil, fmt.Errorf("iscc: normalize: image %d×%d has over %d pixels", w, h, MaxPixels)
	}
	switch m := img.(type) {
	case *image.Gray:
		// Grey pixels are their own grey value ((19595+38470+7471)·v + 32768) >> 16 = v, and
		// opaque: steps 1 and 3 leave them as they are.
		return normalizeGray(m), nil
	case *image.YCbCr:
		return normalizeYCbCr(m), nil
	}
	// 1. Fill transparency with white: out = DIV255(255·(255−a) + c·a), exact for a = 255.
	rgb := flattenRGB(img)
	// 2. Trim the border of pixel (0,0)'s colour.
	x0, y0, x1, y1 := trimBox(rgb, w, h)
	// 3. Grey.
	cw, ch := x1-x0, y1-y0
	grey := make([]byte, cw*ch)
	for y := range ch {
		for x := range cw {
			p := rgb[((y+y0)*w+x+x0)*3:]
			grey[y*cw+x] = byte((19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 0x8000) >> 16)
		}
	}
	// 4. Resize.
	return resizeBicubic(grey, cw, ch, 32, 32), nil
}

// flattenRGB returns the picture's pixels as 8-bit RGB, row by row, with transparency filled
// with white: out = DIV255(255·(255−a) + c·a), exact for a = 255. NRGBA (what PNG and WebP
// decode to) is read directly; every other type through color.NRGBAModel, with the same result.
// (Grey and YCbCr pictures never come here: Normalize has its own paths for them.)
func flattenRGB(img image.Image) []byte {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgb := make([]byte, 0, w*h*3)
	switch m := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			p := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
			for x := 0; x < w; x++ {
				a := uint32(p[4*x+3])
				if a == 255 {
					rgb = append(rgb, p[4*x], p[4*x+1], p[4*x+2])
					continue
				}
				for _, v := range p[4*x : 4*x+3] {
					rgb = append(rgb, div255(255*(255-a)+uint32(v)*a))
				}
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				a := uint32(c.A)
				for _, v := range [3]uint8{c.R, c.G, c.B} {
					rgb = append(rgb, div255(255*(255-a)+uint32(v)*a))
				}
			}
		}
	}
	return rgb
}

// normalizeGray is Normalize for a grey picture: trim, then resize.
func normalizeGray(g *image.Gray) []byte {
	b := g.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := g.Pix[g.PixOffset(b.Min.X, b.Min.Y):]
	row := func(y int) []byte { return pix[y*g.Stride : y*g.Stride+w] }
	v0 := pix[0]
	x0, y0, x1, y1 := w, h, 0, 0
	for y := range h {
		for x, v := range row(y) {
			if v != v0 {
				x0, x1 = min(x0, x), max(x1, x+1)
				y0, y1 = min(y0, y), max(y1, y+1)
			}
		}
	}
	if x1 == 0 {
		x0, y0, x1, y1 = 0, 0, w, h
	}
	return resizeWindow(pix, g.Stride, x0, y0, x1, y1)
}

// normalizeYCbCr is Normalize for a YCbCr picture (opaque): one pass converts each pixel to
// RGB (as color.YCbCr's RGBA does), finds the border to trim and writes the grey value; then
// the trimmed grey is resized.
func normalizeYCbCr(m *image.YCbCr) []byte {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	grey := make([]byte, w*h)
	yi, ci := m.YOffset(b.Min.X, b.Min.Y), m.COffset(b.Min.X, b.Min.Y)
	r0, g0, b0 := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
	// Chroma offsets are a column part plus a row part, for every subsampling: the column part
	// is tabulated once, and each chroma row's terms of the conversion once per row.
	cx := make([]int, w)
	for x := range w {
		cx[x] = m.COffset(b.Min.X+x, b.Min.Y) - ci
	}
	nc := cx[w-1] + 1
	rc, gc, bc := make([]int32, nc), make([]int32, nc), make([]int32, nc)
	lastRow := -1
	x0, y0, x1, y1 := w, h, 0, 0
	for y := range h {
		row := grey[y*w : (y+1)*w]
		inside := false // a pixel of this row differs from pixel (0,0)
		lo, hi := w, 0
		yrow := m.Y[m.YOffset(b.Min.X, b.Min.Y+y):][:w]
		if crow := m.COffset(b.Min.X, b.Min.Y+y); crow != lastRow {
			cbs, crs := m.Cb[crow:crow+nc], m.Cr[crow:crow+nc]
			for i := range nc {
				rc[i], gc[i], bc[i] = chromaTerms(cbs[i], crs[i])
			}
			lastRow = crow
		}
		for x, yv := range yrow {
			c := cx[x]
			r, g, bl := rgbOf(yv, rc[c], gc[c], bc[c])
			row[x] = byte((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(bl) + 0x8000) >> 16)
			if r != r0 || g != g0 || bl != b0 {
				inside = true
				lo, hi = min(lo, x), max(hi, x+1)
			}
		}
		if inside {
			x0, x1 = min(x0, lo), max(x1, hi)
			y0, y1 = min(y0, y), max(y1, y+1)
		}
	}
	if x1 == 0 {
		x0, y0, x1, y1 = 0, 0, w, h
	}
	return resizeWindow(grey, w, x0, y0, x1, y1)
}

// chromaTerms and rgbOf are color.YCbCrToRGB split in two, so that the chroma terms of a
// subsampled picture are computed once per chroma sample (TestYCbCrToRGBSplit checks every
// input against the standard library).
func chromaTerms(cb, cr uint8) (r, g, b int32) {
	cb1, cr1 := int32(cb)-128, int32(cr)-128
	return 91881 * cr1, -22554*cb1 - 46802*cr1, 116130 * cb1
}

func rgbOf(y uint8, rc, gc, bc int32) (r, g, b uint8) {
	yy := int32(y) * 0x10101
	return clip16(yy + rc), clip16(yy + gc), clip16(yy + bc)
}

// clip16 is v>>16 clipped to [0, 255] (v < 2^24 + 2^23).
func clip16(v int32) uint8 {
	if uint32(v)&0xff000000 == 0 {
		return uint8(v >> 16)
	}
	return uint8(^(v >> 31))
}

// resizeWindow resizes the window [x0, x1) × [y0, y1) of a grey plane with the given stride to
// 32×32 (step 4), copying the window out first unless its rows are already contiguous.
func resizeWindow(pix []byte, stride, x0, y0, x1, y1 int) []byte {
	cw, ch := x1-x0, y1-y0
	if cw == stride {
		return resizeBicubic(pix[y0*stride:y1*stride], cw, ch, 32, 32)
	}
	grey := make([]byte, cw*ch)
	for y := range ch {
		copy(grey[y*cw:(y+1)*cw], pix[(y+y0)*stride+x0:(y+y0)*stride+x1])
	}
	return resizeBicubic(grey, cw, ch, 32, 32)
}

// div255 divides by 255 with rounding, as Pillow's DIV255 does.
func div255(v uint32) uint8 {
	t := v + 128
	return uint8((t>>8 + t) >> 8)
}

// trimBox returns the bounding box of the pixels that differ from pixel (0,0), or the whole
// image when none does.
func trimBox(rgb []byte, w, h int) (x0, y0, x1, y1 int) {
	r, g, bl := rgb[0], rgb[1], rgb[2]
	x0, y0, x1, y1 = w, h, 0, 0
	for y := range h {
		row := rgb[y*w*3 : (y+1)*w*3]
		for x := range w {
			p := row[x*3 : x*3+3]
			if p[0] != r || p[1] != g || p[2] != bl {
				x0, x1 = min(x0, x), max(x1, x+1)
				y0, y1 = min(y0, y), max(y1, y+1)
			}
		}
	}
	if x1 == 0 {
		return 0, 0, w, h
	}
	return x0, y0, x1, y1
}

// precisionBits is Pillow's fixed-point precision for 8-bit resampling weights.
const precisionBits = 32 - 8 - 2

// bicubic is Pillow's bicubic filter with a = −0.5 (support 2).
func bicubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// coeffs holds, for each output pixel, the first input index and the fixed-point weights.
type coeffs struct {
	min []int
	k   [][]int32
}

// precompute builds the resampling weights from inSize to outSize as Pillow's precompute_coeffs
// and normalize_coeffs_8bpc do.
func precompute(inSize, outSize int) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := 2 * filterscale
	c := coeffs{min: make([]int, outSize), k: make([][]int32, outSize)}
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		w := make([]float64, xmax)
		ww := 0.0
		for x := range xmax {
			w[x] = bicubic((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		k := make([]int32, xmax)
		for x := range xmax {
			if ww != 0 {
				w[x] /= ww
			}
			if w[x] < 0 {
				k[x] = int32(-0.5 + w[x]*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + w[x]*(1<<precisionBits))
			}
		}
		c.min[xx], c.k[xx] = xmin, k
	}
	return c
}

// clip8 rounds a fixed-point sum to uint8 as Pillow's clip8 does (the sum starts at half a unit).
func clip8(v int64) byte {
	switch {
	case v >= 1<<precisionBits<<8:
		return 255
	case v <= 0:
		return 0
	}
	return byte(v >> precisionBits)
}

// resizeBicubic resizes grey pixels as Pillow's ImagingResample with BICUBIC: a horizontal pass
// over the rows the vertical pass needs, then a vertical pass; a pass is skipped when its size
// does not change.
func resizeBicubic(src []byte, w, h, ow, oh int) []byte {
	if w != ow {
		hc := precompute(w, ow)
		tmp := make([]byte, ow*h)
		for y := range h {
			row := src[y*w : (y+1)*w]
			for xx := range ow {
				s := int64(1) << (precisionBits - 1)
				ks := hc.k[xx]
				px := row[hc.min[xx]:][:len(ks)] // one bounds check for the window
				for i, k := range ks {
					s += int64(px[i]) * int64(k)
				}
				tmp[y*ow+xx] = clip8(s)
			}
		}
		src, w = tmp, ow
	}
	if h != oh {
		vc := precompute(h, oh)
		out := make([]byte, w*oh)
		for yy := range oh {
			for x := range w {
				s := int64(1) << (precisionBits - 1)
				for i, k := range vc.k[yy] {
					s += int64(src[(vc.min[yy]+i)*w+x]) * int64(k)
				}
				out[yy*w+x] = clip8(s)
			}
		}
		src = out
	}
	return src
}

// Orient returns img turned upright according to an EXIF Orientation value (1–8), as Pillow's
// ImageOps.exif_transpose does; 0 and 1 return img unchanged.
func Orient(img image.Image, orientation int) (image.Image, error) {
	if orientation == 0 || orientation == 1 {
		return img, nil
	}
	if orientation < 0 || orientation > 8 {
		return nil, fmt.Errorf("iscc: orient: EXIF orientation %d is not 1..8", orientation)
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if int64(w)*int64(h) > MaxPixels {
		return nil, fmt.Errorf("iscc: orient: image %d×%d has over %d pixels", w, h, MaxPixels)
	}
	ow, oh := w, h
	if orientation >= 5 {
		ow, oh = h, w
	}
	out := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch orientation {
			case 2: // mirror horizontal
				dx, dy = w-1-x, y
			case 3: // rotate 180
				dx, dy = w-1-x, h-1-y
			case 4: // mirror vertical
				dx, dy = x, h-1-y
			case 5: // transpose
				dx, dy = y, x
			case 6: // rotate 90 CW
				dx, dy = h-1-y, x
			case 7: // transverse
				dx, dy = h-1-y, w-1-x
			case 8: // rotate 90 CCW
				dx, dy = y, w-1-x
			}
			out.SetNRGBA(dx, dy, color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA))
		}
	}
	return out, nil
}
