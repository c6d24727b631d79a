package watermark

import (
	"image"
	"image/color"
	"math"
	"runtime"
	"sync"
)

// lumaSource yields rows of 8-bit luma (Y = (19595 R + 38470 G + 7471 B +
// 2^15) >> 16, as image/color computes it) of a picture, reading the Y plane
// of *image.YCbCr and the pixels of *image.Gray directly.
type lumaSource struct {
	img   image.Image
	r     image.Rectangle
	gray  *image.Gray
	ycc   *image.YCbCr
	nrgba *image.NRGBA
	rgba  *image.RGBA
	pal   *image.Paletted
	palY  []uint8
}

func newLumaSource(img image.Image) *lumaSource {
	s := &lumaSource{img: img, r: img.Bounds()}
	switch m := img.(type) {
	case *image.Gray:
		s.gray = m
	case *image.YCbCr:
		s.ycc = m
	case *image.NRGBA:
		s.nrgba = m
	case *image.RGBA:
		s.rgba = m
	case *image.Paletted:
		s.pal = m
		s.palY = make([]uint8, 256)
		for i, c := range m.Palette {
			if i < 256 {
				s.palY[i] = color.GrayModel.Convert(c).(color.Gray).Y
			}
		}
	}
	return s
}

func rgbLuma(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// rgbRowLuma computes the luma of 4-byte R, G, B, x pixels.
func rgbRowLuma(dst, p []uint8) {
	for x := range dst {
		q := p[4*x : 4*x+3 : 4*x+3]
		dst[x] = uint8((19595*uint32(q[0]) + 38470*uint32(q[1]) + 7471*uint32(q[2]) + 1<<15) >> 16)
	}
}

// row returns the luma of row y (0-based within the bounds), using buf
// (length ≥ width) when it must compute.
func (s *lumaSource) row(y int, buf []uint8) []uint8 {
	w := s.r.Dx()
	ay := s.r.Min.Y + y
	switch {
	case s.gray != nil:
		o := s.gray.PixOffset(s.r.Min.X, ay)
		return s.gray.Pix[o : o+w]
	case s.ycc != nil:
		o := s.ycc.YOffset(s.r.Min.X, ay)
		return s.ycc.Y[o : o+w]
	case s.nrgba != nil:
		o := s.nrgba.PixOffset(s.r.Min.X, ay)
		rgbRowLuma(buf[:w], s.nrgba.Pix[o:o+4*w])
	case s.rgba != nil:
		o := s.rgba.PixOffset(s.r.Min.X, ay)
		rgbRowLuma(buf[:w], s.rgba.Pix[o:o+4*w])
	case s.pal != nil:
		o := s.pal.PixOffset(s.r.Min.X, ay)
		for x, i := range s.pal.Pix[o : o+w] {
			buf[x] = s.palY[i]
		}
	default:
		for x := range w {
			buf[x] = color.GrayModel.Convert(s.img.At(s.r.Min.X+x, ay)).(color.Gray).Y
		}
	}
	return buf[:w]
}

// lumaImage returns img itself when it is *image.Gray or *image.YCbCr (read
// in place), else its luma as a new *image.Gray with the same bounds
// (computed in parallel; 1 byte a pixel, temporary).
func lumaImage(img image.Image) image.Image {
	switch img.(type) {
	case *image.Gray, *image.YCbCr:
		return img
	}
	src := newLumaSource(img)
	r := src.r
	g := image.NewGray(r)
	h := r.Dy()
	nw := max(1, min(workersFor(r.Dx()*h), h))
	var wg sync.WaitGroup
	for k := range nw {
		y0, y1 := k*h/nw, (k+1)*h/nw
		wg.Go(func() {
			buf := make([]uint8, r.Dx())
			for y := y0; y < y1; y++ {
				copy(g.Pix[y*g.Stride:], src.row(y, buf))
			}
		})
	}
	wg.Wait()
	return g
}

// span is the footprint of one output sample on the input axis: full-weight
// pixels [p0, p1) plus partial pixels lp (weight lw) and rp (weight rw).
type span struct {
	p0, p1 int
	lp, rp int
	lw, rw float32
	inv    float32 // 1 / total weight
}

// makeSpans covers [off, length) with n samples of width sp starting at
// pixel coordinate off (the last one clipped); n must be
// ceil((length-off)/sp).
func makeSpans(length, n int, sp, off float64) []span {
	out := make([]span, n)
	for j := range out {
		a := off + float64(j)*sp
		b := min(off+float64(j+1)*sp, float64(length))
		a = min(a, b-1e-6)
		fa := int(math.Floor(a))
		cb := int(math.Ceil(b))
		cb = max(cb, fa+1)
		s := span{inv: float32(1 / (b - a))}
		if cb-fa == 1 {
			s.lp, s.lw, s.rp = fa, float32(b-a), fa
		} else {
			s.lp, s.lw = fa, float32(float64(fa+1)-a)
			s.rp, s.rw = cb-1, float32(b-float64(cb-1))
			s.p0, s.p1 = fa+1, cb-1
		}
		out[j] = s
	}
	return out
}

// gridCount returns ceil(length/sp) without float surprises at exact
// multiples.
func gridCount(length int, sp float64) int {
	n := int(math.Ceil(float64(length)/sp - 1e-9))
	return max(n, 1)
}

// workers returns the number of goroutines to split pixel work over.
func workers() int { return max(1, min(runtime.GOMAXPROCS(0), 4)) }

// parallelMin is the smallest picture, in pixels, whose pixel work is split over goroutines.
// Below it the work takes a few milliseconds at most and splitting costs more CPU (wake-ups,
// idle cores spinning) than it saves; a server labeling many small pictures at once keeps its
// cores busy with requests instead.
const parallelMin = 1 << 20

// workersFor returns the number of goroutines for pixel work over a picture of that many pixels.
func workersFor(pixels int) int {
	if pixels < parallelMin {
		return 1
	}
	return workers()
}

// downsample area-averages the luma of src over a grid of nx×ny samples of
// spacing sp pixels, the first starting at pixel coordinate (off, off).
// With wantSq it also returns the area mean of luma².
func downsample(src *lumaSource, sp, off float64, nx, ny int, wantSq bool) (mean, sq []float32) {
	w, h := src.r.Dx(), src.r.Dy()
	xs := makeSpans(w, nx, sp, off)
	ys := makeSpans(h, ny, sp, off)
	mean = floats32.take(nx * ny)
	clear(mean)
	if wantSq {
		sq = floats32.take(nx * ny)
		clear(sq)
	}
	nw := max(1, min(workersFor(w*h), ny))
	var wg sync.WaitGroup
	for k := range nw {
		j0, j1 := k*ny/nw, (k+1)*ny/nw
		wg.Go(func() {
			buf := make([]uint8, w)
			tmp := make([]float32, nx)
			tmpSq := make([]float32, nx)
			lastY := -1
			for j := j0; j < j1; j++ {
				acc := mean[j*nx : (j+1)*nx]
				var accSq []float32
				if wantSq {
					accSq = sq[j*nx : (j+1)*nx]
				}
				ysp := ys[j]
				add := func(y int, wt float32) {
					if wt == 0 {
						return
					}
					if y != lastY {
						rowSums(src.row(y, buf), xs, tmp, tmpSq, wantSq)
						lastY = y
					}
					for i := range acc {
						acc[i] += wt * tmp[i]
					}
					if wantSq {
						for i := range accSq {
							accSq[i] += wt * tmpSq[i]
						}
					}
				}
				add(ysp.lp, ysp.lw)
				for y := ysp.p0; y < ysp.p1; y++ {
					add(y, 1)
				}
				if ysp.rp != ysp.lp || ysp.p1 > ysp.p0 {
					add(ysp.rp, ysp.rw)
				}
				for i := range acc {
					acc[i] *= ysp.inv
				}
				for i := range accSq {
					accSq[i] *= ysp.inv
				}
			}
		})
	}
	wg.Wait()
	return mean, sq
}

// rowSums area-averages one luma row over the spans xs (and luma² when
// wantSq).
func rowSums(row []uint8, xs []span, out, outSq []float32, wantSq bool) {
	if !wantSq {
		for j, s := range xs {
			var sum uint32
			for _, v := range row[s.p0:s.p1] {
				sum += uint32(v)
			}
			out[j] = (float32(sum) + s.lw*float32(row[s.lp]) + s.rw*float32(row[s.rp])) * s.inv
		}
		return
	}
	for j, s := range xs {
		var sum, sum2 uint32
		for _, v := range row[s.p0:s.p1] {
			u := uint32(v)
			sum += u
			sum2 += u * u
		}
		l, r := float32(row[s.lp]), float32(row[s.rp])
		out[j] = (float32(sum) + s.lw*l + s.rw*r) * s.inv
		outSq[j] = (float32(sum2) + s.lw*l*l + s.rw*r*r) * s.inv
	}
}
