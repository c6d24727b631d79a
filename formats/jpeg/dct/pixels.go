package dct

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"runtime"
	"sync"

	"github.com/ailabel/ailabel/formats"
)

// basis[x][u] is C(u)/2 * cos((2x+1)uπ/16), C(0) = 1/√2: the orthonormal 8-point DCT-II basis.
// The 2-D transforms of T.81 A.3.3 are F = Bᵀ f B and f = B F Bᵀ.
var basis = func() (b [8][8]float64) {
	for x := 0; x < 8; x++ {
		for u := 0; u < 8; u++ {
			c := 0.5
			if u == 0 {
				c = 0.5 / math.Sqrt2
			}
			b[x][u] = c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/16)
		}
	}
	return b
}()

// idct dequantises a block (zig-zag order) and writes its 64 samples, level-shifted and clamped,
// in natural order.
func idct(blk []int16, q *[64]uint16, out *[64]uint8) {
	ac := false
	for _, v := range blk[1:64] {
		if v != 0 {
			ac = true
			break
		}
	}
	if !ac {
		// A flat block: every sample is basis[x][0]·basis[y][0]·DC, computed in the same order
		// as the two passes below compute it, so the result is the same to the last bit.
		c := basis[0][0]
		v := uint8(min(max(math.Round(c*(c*(float64(blk[0])*float64(q[0])))+128), 0), 255))
		for i := range out {
			out[i] = v
		}
		return
	}
	var f, t [64]float64
	for k := 0; k < 64; k++ {
		f[unzig[k]] = float64(blk[k]) * float64(q[k])
	}
	// Columns: t[y][u] = Σv basis[y][v] f[v][u].
	for y := 0; y < 8; y++ {
		for u := 0; u < 8; u++ {
			var s float64
			for v := 0; v < 8; v++ {
				s += basis[y][v] * f[v*8+u]
			}
			t[y*8+u] = s
		}
	}
	// Rows: out[y][x] = Σu basis[x][u] t[y][u].
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			var s float64
			for u := 0; u < 8; u++ {
				s += basis[x][u] * t[y*8+u]
			}
			out[y*8+x] = uint8(min(max(math.Round(s+128), 0), 255))
		}
	}
}

// forward is the 2-D DCT of 64 values in natural order: rows t[y][u] = Σx basis[x][u] p[y][x],
// then columns f[v][u] = Σy basis[y][v] t[y][u].
func forward(p, f *[64]float64) {
	var t [64]float64
	for y := 0; y < 8; y++ {
		for u := 0; u < 8; u++ {
			var s float64
			for x := 0; x < 8; x++ {
				s += basis[x][u] * p[y*8+x]
			}
			t[y*8+u] = s
		}
	}
	for v := 0; v < 8; v++ {
		for u := 0; u < 8; u++ {
			var s float64
			for y := 0; y < 8; y++ {
				s += basis[y][v] * t[y*8+u]
			}
			f[v*8+u] = s
		}
	}
}

// fdct transforms 64 samples (natural order) and quantises the result into blk (zig-zag order).
func fdct(in *[64]uint8, q *[64]uint16, blk []int16) {
	var p, f [64]float64
	for i, v := range in {
		p[i] = float64(v) - 128
	}
	forward(&p, &f)
	for k := 0; k < 64; k++ {
		v := math.Round(f[unzig[k]] / float64(q[k]))
		lo, hi := float64(-maxAC), float64(maxAC)
		if k == 0 {
			lo, hi = minDC, maxDC
		}
		blk[k] = int16(min(max(v, lo), hi))
	}
}

// planeRect returns the rectangle of component c's samples covering the MCU-aligned region r.
func (m *Image) planeRect(c *Component, r image.Rectangle) image.Rectangle {
	return image.Rect(
		r.Min.X*c.H/m.hmax, r.Min.Y*c.V/m.vmax,
		(r.Max.X*c.H+m.hmax-1)/m.hmax, (r.Max.Y*c.V+m.vmax-1)/m.vmax)
}

// Pixels decodes the MCU-aligned region r (see BlockAligned) of the picture: an *image.Gray for a
// grey JPEG, an *image.YCbCr with the JPEG's own chroma subsampling otherwise. Only the blocks of
// r are transformed. Its Bounds are r.
func (m *Image) Pixels(r image.Rectangle) (image.Image, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	if err := m.checkAligned("Pixels", r); err != nil {
		return nil, err
	}
	if len(m.Components) == 1 {
		g := image.NewGray(r)
		m.decodePlane(&m.Components[0], r, g.Pix, g.Stride)
		return g, nil
	}
	ratio, err := m.subsampleRatio()
	if err != nil {
		return nil, err
	}
	img := image.NewYCbCr(r, ratio)
	m.decodePlane(&m.Components[0], r, img.Y, img.YStride)
	m.decodePlane(&m.Components[1], r, img.Cb, img.CStride)
	m.decodePlane(&m.Components[2], r, img.Cr, img.CStride)
	return img, nil
}

// Luma decodes the picture's luma, its first component, at full resolution (chroma is not
// transformed): for analysing a picture, e.g. to make an invisible watermark's mark. JPEGs that
// do not code luma at full resolution in their first component (RGB, CMYK/YCCK, luma sampled
// below the others) give an error wrapping formats.ErrUnsupported.
func (m *Image) Luma() (*image.Gray, error) {
	if err := m.validate(); err != nil {
		return nil, err
	}
	c, err := m.lumaComponent()
	if err != nil {
		return nil, err
	}
	r := m.BlockAligned(m.Bounds())
	g := image.NewGray(r)
	// Bands of whole rows of luma blocks are independent: decode them on up to four cores.
	blockRows := (r.Dy() + 7) / 8
	workers := max(1, min(runtime.GOMAXPROCS(0), 4, blockRows))
	var wg sync.WaitGroup
	for i := range workers {
		y0 := r.Min.Y + blockRows*i/workers*8
		y1 := min(r.Min.Y+blockRows*(i+1)/workers*8, r.Max.Y)
		band := image.Rect(r.Min.X, y0, r.Max.X, y1)
		wg.Go(func() { m.decodePlane(c, band, g.Pix[(y0-r.Min.Y)*g.Stride:], g.Stride) })
	}
	wg.Wait()
	return g.SubImage(m.Bounds()).(*image.Gray), nil
}

// decodePlane writes component c's samples for region r into dst, whose origin is the first
// sample of the plane rectangle.
func (m *Image) decodePlane(c *Component, r image.Rectangle, dst []uint8, stride int) {
	pr := m.planeRect(c, r)
	var out [64]uint8
	for by := pr.Min.Y / 8; by*8 < pr.Max.Y; by++ {
		for bx := pr.Min.X / 8; bx*8 < pr.Max.X; bx++ {
			idct(c.Block(bx, by), &c.Quant, &out)
			for y := 0; y < 8; y++ {
				py := by*8 + y
				if py >= pr.Max.Y {
					break
				}
				row := (py - pr.Min.Y) * stride
				for x := 0; x < 8; x++ {
					px := bx*8 + x
					if px >= pr.Max.X {
						break
					}
					dst[row+px-pr.Min.X] = out[y*8+x]
				}
			}
		}
	}
}

// Replace codes the pixels of src over the MCU-aligned region r (see BlockAligned) into the
// image: each block of the MCUs r covers is forward-transformed and quantised with its
// component's own table, at the image's own sampling (chroma averaged over each sample's
// pixels). Beyond the right and bottom edges of the picture the last column and row are
// repeated. Every block outside those MCUs keeps its coefficients. src must cover r; its colours
// are converted to YCbCr as image/jpeg does (alpha is ignored, premultiplied colour is used).
func (m *Image) Replace(r image.Rectangle, src image.Image) error {
	if err := m.validate(); err != nil {
		return err
	}
	if err := m.checkAligned("Replace", r); err != nil {
		return err
	}
	if !r.In(src.Bounds()) {
		return fmt.Errorf("dct: Replace: the source image %v does not cover the region %v", src.Bounds(), r)
	}
	if len(m.Components) == 3 && m.isRGB() {
		return fmt.Errorf("%w: dct: Replace: the JPEG codes RGB, not YCbCr", formats.ErrUnsupported)
	}
	for i := range m.Components {
		c := &m.Components[i]
		if m.hmax%c.H != 0 || m.vmax%c.V != 0 {
			return fmt.Errorf("%w: dct: Replace: component %d's sampling %dx%d does not divide the largest, %dx%d",
				formats.ErrUnsupported, c.ID, c.H, c.V, m.hmax, m.vmax)
		}
		for k, q := range c.Quant {
			if q == 0 {
				return fmt.Errorf("%w: dct: Replace: component %d's quantisation table has 0 at position %d", formats.ErrMalformed, c.ID, k)
			}
		}
	}
	// The MCUs covered, in pixels: r grown to whole MCUs, past the picture's edge if need be.
	mw, mh := m.mcuSize()
	area := image.Rect(r.Min.X, r.Min.Y, (r.Max.X+mw-1)/mw*mw, (r.Max.Y+mh-1)/mh*mh)
	w, h := area.Dx(), area.Dy()
	nc := len(m.Components)
	planes := make([][]uint8, nc)
	for i := range planes {
		planes[i] = make([]uint8, w*h)
	}
	pix := func(x, y int) (yy, cb, cr uint8) {
		switch s := src.(type) {
		case *image.YCbCr:
			c := s.YCbCrAt(x, y)
			return c.Y, c.Cb, c.Cr
		case *image.Gray:
			return s.Pix[s.PixOffset(x, y)], 128, 128
		case *image.RGBA:
			i := s.PixOffset(x, y)
			return color.RGBToYCbCr(s.Pix[i], s.Pix[i+1], s.Pix[i+2])
		}
		r, g, b, _ := src.At(x, y).RGBA()
		return color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(b>>8))
	}
	for y := 0; y < h; y++ {
		sy := min(area.Min.Y+y, r.Max.Y-1)
		for x := 0; x < w; x++ {
			sx := min(area.Min.X+x, r.Max.X-1)
			yy, cb, cr := pix(sx, sy)
			planes[0][y*w+x] = yy
			if nc == 3 {
				planes[1][y*w+x] = cb
				planes[2][y*w+x] = cr
			}
		}
	}
	var in [64]uint8
	for i := range m.Components {
		c := &m.Components[i]
		fx, fy := m.hmax/c.H, m.vmax/c.V
		n := fx * fy
		bx0, by0 := area.Min.X/mw*c.H, area.Min.Y/mh*c.V
		bw, bh := w/mw*c.H, h/mh*c.V
		p := planes[i]
		for by := 0; by < bh; by++ {
			for bx := 0; bx < bw; bx++ {
				for y := 0; y < 8; y++ {
					for x := 0; x < 8; x++ {
						// The pixels of sample (bx*8+x, by*8+y) in the area.
						px, py := (bx*8+x)*fx, (by*8+y)*fy
						sum := 0
						for j := 0; j < fy; j++ {
							row := (py + j) * w
							for k := 0; k < fx; k++ {
								sum += int(p[row+px+k])
							}
						}
						in[y*8+x] = uint8((sum + n/2) / n)
					}
				}
				fdct(&in, &c.Quant, c.Block(bx0+bx, by0+by))
			}
		}
	}
	return nil
}
