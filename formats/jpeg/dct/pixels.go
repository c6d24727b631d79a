package dct

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"

	"github.com/ailabel/ailabel/formats"
)

// aan[k] is the scale of output k of the Arai-Agui-Nakajima 8-point DCT relative to the
// orthonormal one: 1 for k = 0, cos(kπ/16)·√2 otherwise.
var aan = func() (a [8]float64) {
	for k := range a {
		a[k] = 1
		if k > 0 {
			a[k] = math.Cos(float64(k)*math.Pi/16) * math.Sqrt2
		}
	}
	return a
}()

// aan2[v*8+u] is aan[v]·aan[u]/8: what a coefficient (row v, column u) is multiplied by before
// the AAN inverse transform, and what the forward one's output is divided by.
var aan2 = func() (t [64]float64) {
	for v := range 8 {
		for u := range 8 {
			t[v*8+u] = aan[v] * aan[u] / 8
		}
	}
	return t
}()

// Constants of the AAN flow graphs.
const (
	c707  = 0.707106781186547524 // cos(π/4)
	c1414 = 1.414213562373095049 // 2·cos(π/4)
	c1848 = 1.847759065022573512 // 2·cos(π/8)
	c1082 = 1.082392200292393968 // 2·(cos(π/8) − cos(3π/8))
	c2613 = 2.613125929752753055 // 2·(cos(π/8) + cos(3π/8))
	c383  = 0.382683432365089772 // cos(3π/8)
	c541  = 0.541196100146196984 // cos(π/8) − cos(3π/8)
	c1307 = 1.306562964876376527 // cos(π/8) + cos(3π/8)
)

// idct8 is the AAN 8-point inverse DCT of the scaled coefficients x0 … x7. Its callers (idctCol,
// idctRow) index a block held in an array with offsets the compiler can check once, not eight
// times a call.
func idct8(x0, x1, x2, x3, x4, x5, x6, x7 float64) (y0, y1, y2, y3, y4, y5, y6, y7 float64) {
	// Even part.
	t0, t1, t2, t3 := x0, x2, x4, x6
	t10, t11 := t0+t2, t0-t2
	t13 := t1 + t3
	t12 := (t1-t3)*c1414 - t13
	t0, t3 = t10+t13, t10-t13
	t1, t2 = t11+t12, t11-t12
	// Odd part.
	t4, t5, t6, t7 := x1, x3, x5, x7
	z13, z10 := t6+t5, t6-t5
	z11, z12 := t4+t7, t4-t7
	t7 = z11 + z13
	t11 = (z11 - z13) * c1414
	z5 := (z10 + z12) * c1848
	t10 = z5 - z12*c1082
	t12 = z5 - z10*c2613
	t6 = t12 - t7
	t5 = t11 - t6
	t4 = t10 - t5
	return t0 + t7, t1 + t6, t2 + t5, t3 + t4, t3 - t4, t2 - t5, t1 - t6, t0 - t7
}

// idctCol is idct8 of column u of f, in place.
func idctCol(f *[64]float64, u int) {
	u &= 7
	f[u], f[u+8], f[u+16], f[u+24], f[u+32], f[u+40], f[u+48], f[u+56] =
		idct8(f[u], f[u+8], f[u+16], f[u+24], f[u+32], f[u+40], f[u+48], f[u+56])
}

// idctRow is idct8 of row y of f, in place.
func idctRow(f *[64]float64, y int) {
	r := (*[8]float64)(f[(y&7)*8:])
	r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = idct8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
}

// fdct8 is the AAN 8-point forward DCT of x0 … x7; output k comes out scaled by 2·√2·aan[k]
// relative to the orthonormal transform (forward removes the scale).
func fdct8(x0, x1, x2, x3, x4, x5, x6, x7 float64) (y0, y1, y2, y3, y4, y5, y6, y7 float64) {
	t0, t7 := x0+x7, x0-x7
	t1, t6 := x1+x6, x1-x6
	t2, t5 := x2+x5, x2-x5
	t3, t4 := x3+x4, x3-x4
	// Even part.
	t10, t13 := t0+t3, t0-t3
	t11, t12 := t1+t2, t1-t2
	y0, y4 = t10+t11, t10-t11
	z1 := (t12 + t13) * c707
	y2, y6 = t13+z1, t13-z1
	// Odd part.
	t10, t11, t12 = t4+t5, t5+t6, t6+t7
	z5 := (t10 - t12) * c383
	z2 := c541*t10 + z5
	z4 := c1307*t12 + z5
	z3 := t11 * c707
	z11, z13 := t7+z3, t7-z3
	y5, y3 = z13+z2, z13-z2
	y1, y7 = z11+z4, z11-z4
	return
}

// fdctRow is fdct8 of row y of f, in place.
func fdctRow(f *[64]float64, y int) {
	r := (*[8]float64)(f[(y&7)*8:])
	r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] = fdct8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
}

// fdctCol is fdct8 of column u of f, in place.
func fdctCol(f *[64]float64, u int) {
	u &= 7
	f[u], f[u+8], f[u+16], f[u+24], f[u+32], f[u+40], f[u+48], f[u+56] =
		fdct8(f[u], f[u+8], f[u+16], f[u+24], f[u+32], f[u+40], f[u+48], f[u+56])
}

// idct dequantises a block (zig-zag order) and writes its 64 samples, level-shifted and clamped,
// in natural order: the separable inverse of T.81 A.3.3 (f = B F Bᵀ), computed with the
// Arai-Agui-Nakajima flow graph (5 multiplications per 8 points instead of 64). It agrees with
// the plain sums (idctReference in the tests) to about 1e-12, so a sample can differ only when
// it falls within that of a rounding boundary.
func idct(blk []int16, q *[64]uint16, out *[64]uint8) {
	var f [64]float64
	var cols, colsAC uint8 // columns with a nonzero coefficient; with one below the first row
	b := (*[64]int16)(blk)
	for k0 := 0; k0 < 64; k0 += 4 {
		if b[k0]|b[k0+1]|b[k0+2]|b[k0+3] == 0 { // most of a block is zeros: four at a time
			continue
		}
		for k := k0; k < k0+4; k++ {
			if b[k] == 0 {
				continue
			}
			n := unzig[k]
			f[n] = float64(b[k]) * float64(q[k]) * aan2[n]
			cols |= 1 << (n & 7)
			if n >= 8 {
				colsAC |= 1 << (n & 7)
			}
		}
	}
	// The 1-D transform of (a, 0, …, 0) is (a, …, a) exactly, and of zeros zeros: such columns
	// and rows are filled rather than transformed (the same values, bit for bit). A flat block
	// (DC only) is filled twice: every sample is DC/8.
	for u := 0; u < 8; u++ {
		switch bit := uint8(1) << u; {
		case colsAC&bit != 0:
			idctCol(&f, u)
		case cols&bit != 0:
			for y := 8; y < 64; y += 8 {
				f[u+y] = f[u]
			}
		}
	}
	if cols <= 1 { // every row is (a, 0, …, 0)
		for y := 0; y < 64; y += 8 {
			v := toSample(f[y])
			for x := range 8 {
				out[y+x] = v
			}
		}
		return
	}
	for y := 0; y < 8; y++ {
		idctRow(&f, y)
	}
	for i, v := range f {
		out[i] = toSample(v)
	}
}

// toSample level-shifts an inverse-transformed value and rounds it to a sample: round(v + 128),
// ties away from zero, clamped to 0…255 (truncating the clamped v + 128.5 is exactly that).
func toSample(v float64) uint8 {
	v += 128.5
	if v < 0 { // min and max without their branches for NaN and signed zeros (v is finite)
		v = 0
	} else if v > 255 {
		v = 255
	}
	return uint8(int32(v))
}

// forward is the 2-D DCT of 64 values in natural order (F = Bᵀ f B, T.81 A.3.3), computed with
// the Arai-Agui-Nakajima flow graph and its output scale removed; it agrees with the plain sums
// (forwardReference in the tests) to about 1e-12.
func forward(p, f *[64]float64) {
	*f = *p
	for y := 0; y < 8; y++ {
		fdctRow(f, y)
	}
	for u := 0; u < 8; u++ {
		fdctCol(f, u)
	}
	for i := range f {
		f[i] /= 64 * aan2[i]
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
	workers := workersFor(blockRows*((r.Dx()+7)/8), blockRows)
	if workers == 1 {
		m.decodePlane(c, r, g.Pix, g.Stride)
		return g.SubImage(m.Bounds()).(*image.Gray), nil
	}
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
		h := min(8, pr.Max.Y-by*8) // rows of the block inside pr
		for bx := pr.Min.X / 8; bx*8 < pr.Max.X; bx++ {
			idct(c.Block(bx, by), &c.Quant, &out)
			w := min(8, pr.Max.X-bx*8) // columns inside pr
			at := (by*8-pr.Min.Y)*stride + bx*8 - pr.Min.X
			for y := range h {
				copy(dst[at+y*stride:][:w], out[y*8:])
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
