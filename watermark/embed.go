package watermark

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"math"
	"sync"
)

// Masking parameters (see docs/watermark.md, "Embedding").
const (
	actMin    = 3.5  // activity floor, luma levels
	actMax    = 40.0 // activity ceiling, luma levels
	targetRMS = 2.0  // RMS luma change at strength 1 (≈ 42 dB PSNR)
	gainMax   = 0.5  // ceiling of the global gain: flat pictures get a weak mark
	rmsMax    = 5.0  // ceiling of the RMS change at strength 1 (PSNR ≥ 34 dB)
)

// Mark is the luma change of a watermark at full resolution, kept as the
// working-grid signal (one float32 per cell: mask × chip) and expanded a row
// at a time by bilinear interpolation.
type Mark struct {
	bounds image.Rectangle
	cell   float64   // cell size in pixels
	nx, ny int       // grid size in cells
	s      []float32 // ny×nx cell values (mask × chip), luma levels
	xq     []int32   // per column: left cell index
	xf     []float32 // per column: interpolation weight of the right cell
}

// NewMark computes the watermark carrying id for a picture with img's pixels;
// the picture is analysed for perceptual masking. It returns an error
// wrapping ErrTooSmall when the short side is below MinEmbedSide.
func NewMark(img image.Image, id ID, o *Options) (*Mark, error) {
	r := img.Bounds()
	if err := checkSize(r, MinEmbedSide, "embed"); err != nil {
		return nil, err
	}
	w, h := r.Dx(), r.Dy()
	cell := float64(min(w, h)) / gridCells
	nx, ny := gridCount(w, cell), gridCount(h, cell)
	// Luma and luma² on the detector's half-cell grid; cell statistics are
	// the 2×2 aggregates.
	bx, by := gridCount(w, cell/2), gridCount(h, cell/2)
	lum := lumaImage(img)
	hmean, hsq := downsample(newLumaSource(lum), cell/2, 0, bx, by, true)
	act := activity(hmean, hsq, bx, by, nx, ny)
	floats32.give(hsq)
	defer floats32.give(hmean) // after shapeMark, the last to read it
	var sumA2 float64
	for _, a := range act {
		sumA2 += float64(a) * float64(a)
	}
	// Bilinear interpolation of independent ±1 chips keeps 4/9 of the
	// energy; choose the gain for the target RMS, capped for flat pictures.
	rms := math.Sqrt(4.0 / 9 * sumA2 / float64(nx*ny))
	gain := min(targetRMS/rms, gainMax) * o.strength()

	l := theLayout()
	cw := l.bch.encode(binary.BigEndian.Uint64(id[:]))
	tile := l.tileValues(cw)
	base := make([]float32, nx*ny) // mask × chip × bit sign, before role gains
	for j := range ny {
		trow := tile[(j%tileCells)*tileCells:]
		for i := range nx {
			base[j*nx+i] = float32(gain) * act[j*nx+i] * trow[i%tileCells]
		}
	}
	// The host on the half-cell grid offset by a quarter cell: the other
	// extreme of the detector's sampling after a crop (stage 2 only).
	shifted := func() ([]float32, int, int) {
		sx, sy := gridCount(w-int(cell/4), cell/2), gridCount(h-int(cell/4), cell/2)
		m, _ := downsample(newLumaSource(lum), cell/2, cell/4, sx, sy, false)
		return m, sx, sy
	}
	g := shapeMark(l, cw, hmean, bx, by, shifted, base, nx, ny, o.strength())
	s := make([]float32, nx*ny)
	var e float64
	for j := range ny {
		trow := l.bit[(j%tileCells)*tileCells:]
		for i := range nx {
			v := base[j*nx+i] * g[trow[i%tileCells]+1]
			s[j*nx+i] = v
			e += float64(v) * float64(v)
		}
	}
	// PSNR floor: scale down if the expected RMS change exceeds rmsMax.
	if est := math.Sqrt(4.0 / 9 * e / float64(nx*ny)); est > rmsMax*o.strength() {
		f := float32(rmsMax * o.strength() / est)
		for i := range s {
			s[i] *= f
		}
	}
	m := &Mark{bounds: r, cell: cell, nx: nx, ny: ny, s: s,
		xq: make([]int32, w), xf: make([]float32, w)}
	for x := range w {
		q, f := interpPos(x, cell, nx)
		m.xq[x], m.xf[x] = int32(q), f
	}
	return m, nil
}

// activity returns, per cell, the luma standard deviation over the 3×3
// cells around it (from half-cell means of luma and luma²), clamped to
// [actMin, actMax].
func activity(hmean, hsq []float32, bx, by, nx, ny int) []float32 {
	// Separable window sums: per half-cell row, the sums over each cell's six columns
	// [2i-2, 2i+4) (prefix sums, float64); then per cell, the sum of its six rows.
	h1, h2 := floats64.take(by*nx), floats64.take(by*nx) // every value is written below
	defer floats64.give(h1)
	defer floats64.give(h2)
	p1 := make([]float64, bx+1)
	p2 := make([]float64, bx+1)
	for y := range by {
		var s1, s2 float64 // in registers: reading p1[x] back would wait for its store
		for x := range bx {
			s1 += float64(hmean[y*bx+x])
			s2 += float64(hsq[y*bx+x])
			p1[x+1], p2[x+1] = s1, s2
		}
		for i := range nx {
			lo, hi := max(2*i-2, 0), min(2*i+4, bx)
			h1[y*nx+i] = p1[hi] - p1[lo]
			h2[y*nx+i] = p2[hi] - p2[lo]
		}
	}
	act := make([]float32, nx*ny)
	for j := range ny {
		y0, y1 := max(2*j-2, 0), min(2*j+4, by)
		for i := range nx {
			var m1, m2 float64
			for y := y0; y < y1; y++ {
				m1 += h1[y*nx+i]
				m2 += h2[y*nx+i]
			}
			n := float64((y1 - y0) * (min(2*i+4, bx) - max(2*i-2, 0)))
			m1 /= n
			m2 /= n
			a := float32(math.Sqrt(max(m2-m1*m1, 0)))
			act[j*nx+i] = min(max(a, actMin), actMax)
		}
	}
	return act
}

// interpPos maps pixel index x to the left cell index and the weight of the
// cell to its right (cell q's centre is at pixel coordinate (q+0.5)·cell);
// beyond the outer cell centres the edge cell's value is held.
func interpPos(x int, cell float64, n int) (int, float32) {
	u := (float64(x)+0.5)/cell - 0.5
	if u <= 0 {
		return 0, 0
	}
	q := int(u)
	if q >= n-1 {
		return n - 1, 0
	}
	return q, float32(u - float64(q))
}

// Bounds returns the bounds of the picture the mark was computed for.
func (m *Mark) Bounds() image.Rectangle { return m.bounds }

// LumaRow writes the luma change of row y (Bounds().Min.Y ≤ y < Max.Y) to
// dst[0 … Bounds().Dx()-1]; dst[i] belongs to column Bounds().Min.X + i.
// Rows outside the bounds get zeros. It is safe for concurrent use.
func (m *Mark) LumaRow(y int, dst []float32) {
	var buf [512]float32 // on the stack for pictures up to 511 cells wide
	row := buf[:]
	if m.nx+1 > len(buf) {
		row = make([]float32, m.nx+1)
	}
	m.lumaRow(y, dst, row)
}

// lumaRow is LumaRow with rowBuf (at least m.nx+1 values) as working space.

func (m *Mark) lumaRow(y int, dst, rowBuf []float32) {
	w := min(len(dst), m.bounds.Dx())
	if y < m.bounds.Min.Y || y >= m.bounds.Max.Y {
		clear(dst[:w])
		return
	}
	q, f := interpPos(y-m.bounds.Min.Y, m.cell, m.ny)
	r0 := m.s[q*m.nx : (q+1)*m.nx]
	r1 := r0
	if f > 0 {
		r1 = m.s[(q+1)*m.nx : (q+2)*m.nx]
	}
	row := rowBuf[:m.nx+1]
	for i := range m.nx {
		row[i] = r0[i] + f*(r1[i]-r0[i])
	}
	row[m.nx] = row[m.nx-1] // xq = nx-1 has weight 0 on the right
	for x := range w {
		i := m.xq[x]
		a := row[i]
		dst[x] = a + m.xf[x]*(row[i+1]-a)
	}
}

// Embed returns a copy of img carrying id. *image.YCbCr and *image.Gray
// keep their type (the luma plane is changed); anything else becomes
// *image.NRGBA with the same change added to R, G and B. Values are
// rounded and clipped to 0 … 255; img is not modified. It returns an error
// wrapping ErrTooSmall when the short side is below MinEmbedSide.
func Embed(img image.Image, id ID, o *Options) (image.Image, error) {
	m, err := NewMark(img, id, o)
	if err != nil {
		return nil, err
	}
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	switch src := img.(type) {
	case *image.YCbCr:
		dst := image.NewYCbCr(r, src.SubsampleRatio)
		co := src.COffset(r.Min.X, r.Min.Y)
		copyPlane(dst.Cb, dst.CStride, src.Cb, src.CStride, co)
		copyPlane(dst.Cr, dst.CStride, src.Cr, src.CStride, co)
		m.apply(h, w, func(y int, d []float32) {
			so := src.YOffset(r.Min.X, r.Min.Y+y)
			addLuma(dst.Y[y*dst.YStride:y*dst.YStride+w], src.Y[so:so+w], d)
		})
		return dst, nil
	case *image.Gray:
		dst := image.NewGray(r)
		m.apply(h, w, func(y int, d []float32) {
			so := src.PixOffset(r.Min.X, r.Min.Y+y)
			addLuma(dst.Pix[y*dst.Stride:y*dst.Stride+w], src.Pix[so:so+w], d)
		})
		return dst, nil
	}
	dst := image.NewNRGBA(r)
	switch src := img.(type) {
	case *image.NRGBA:
		m.apply(h, w, func(y int, d []float32) {
			so := src.PixOffset(r.Min.X, r.Min.Y+y)
			addRGB(dst.Pix[y*dst.Stride:y*dst.Stride+4*w], src.Pix[so:so+4*w], d)
		})
	default:
		draw.Draw(dst, r, img, r.Min, draw.Src)
		m.apply(h, w, func(y int, d []float32) {
			p := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
			addRGB(p, p, d)
		})
	}
	return dst, nil
}

// copyPlane copies a chroma plane row by row (the source may be a
// sub-image with a wider stride).
func copyPlane(dst []uint8, dstStride int, src []uint8, srcStride, srcOff int) {
	for y := 0; y*dstStride < len(dst); y++ {
		d := dst[y*dstStride : min((y+1)*dstStride, len(dst))]
		o := srcOff + y*srcStride
		if o >= len(src) {
			return
		}
		copy(d, src[o:min(o+len(d), len(src))])
	}
}

// apply calls fn for every row y in [0, h) with the row's luma change,
// spreading rows over a few goroutines.
func (m *Mark) apply(h, w int, fn func(y int, d []float32)) {
	nw := max(1, min(workersFor(w*h), h))
	var wg sync.WaitGroup
	for k := range nw {
		y0, y1 := k*h/nw, (k+1)*h/nw
		wg.Go(func() {
			d := make([]float32, w)
			buf := make([]float32, m.nx+1)
			for y := y0; y < y1; y++ {
				m.lumaRow(m.bounds.Min.Y+y, d, buf)
				fn(y, d)
			}
		})
	}
	wg.Wait()
}

// roundDelta rounds a luma change to an integer (for an integer value v,
// round(v + d) = v + round(d)).
func roundDelta(d float32) int32 {
	if d < 0 {
		return -int32(-d + 0.5)
	}
	return int32(d + 0.5)
}

func clamp8(v int32) uint8 {
	if uint32(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return uint8(v)
}

func addLuma(dst, src []uint8, d []float32) {
	d = d[:len(src)]
	for x, v := range src {
		dst[x] = clamp8(int32(v) + roundDelta(d[x]))
	}
}

func addRGB(dst, src []uint8, d []float32) {
	for x, dv := range d {
		p := src[4*x : 4*x+4 : 4*x+4]
		q := dst[4*x : 4*x+4 : 4*x+4]
		di := roundDelta(dv)
		q[0] = clamp8(int32(p[0]) + di)
		q[1] = clamp8(int32(p[1]) + di)
		q[2] = clamp8(int32(p[2]) + di)
		q[3] = p[3]
	}
}

// String describes the mark's grid.
func (m *Mark) String() string {
	return fmt.Sprintf("watermark mark %v: %d×%d cells of %.2f px", m.bounds, m.nx, m.ny, m.cell)
}
