package watermark

import (
	"fmt"
	"image"
	"math"
)

// Detection parameters (see docs/watermark.md, "Detection").
const (
	maxAspect  = 4     // analyse at most a centred window of 4 × the short side
	scaleMin   = 0.98  // cell-size hypotheses, as (embedded cell)/(nominal cell of the analysed picture)
	scaleMax   = 1.13  // 1/0.9 ≈ 1.111: a crop removing 10 % of the area, plus margin
	scaleStep  = 0.006 // grid of hypotheses; refined by ± scaleStep/2 afterwards
	whitenR    = 2     // local mean window radius (samples) for whitening
	energyR    = 4     // local energy window radius (samples) for normalisation
	energyEps  = 0.5   // luma-level floor of the local energy
	clipSigmas = 3     // whitened samples are clipped to ± this many local deviations
	maxDecode  = 3     // synchronised hypotheses tried by the BCH decoder
	refineGate = 0.85  // refine only hypotheses scoring ≥ this × SyncThreshold
	specR      = 2     // fold-spectrum power is averaged over (2·specR+1)² bins
)

// whitenPow is the exponent of the fold-spectrum whitening: 0.5 weights
// each frequency by 1/|F| (phase-only-like). 1 (the Gaussian matched filter)
// also flattens the coherent mark itself and measured worse; 0 (none) fails
// on periodic textures.
const whitenPow = 0.5

// hypothesis is one synchronisation candidate.
type hypothesis struct {
	scale      float64 // embedded cell / nominal cell
	phx, phy   float64 // sampling phase in base samples
	dx, dy     int     // fold shift (half cells) where the pilot peaks
	fx, fy     float64 // sub-sample offset of the peak, in [-0.5, 0.5]
	z          float64 // peak in standard deviations of the correlation surface
	z0         float64 // correlation at shift (0,0), same units (for embedding)
	fold       []float32
	sampleSize float64 // base sample spacing in pixels
	x0, y0     int     // window origin in the picture (pixels from Min)
}

// result is the full outcome of an analysis, for Detect and for tests.
type result struct {
	best hypothesis
	bits [bchN]uint8 // hard decisions (scrambling removed), layout order
	soft [bchN]float64
	ok   bool   // a synchronised hypothesis decoded
	msg  uint64 // the decoded message when ok
	nerr int    // corrected bit errors when ok
}

// Detect looks for a mark in img. It returns ErrNotFound (wrapped) when no
// mark is found, which is the common case; pictures with a short side below
// MinDetectSide give an error wrapping both ErrNotFound and ErrTooSmall.
// o is accepted for symmetry with Embed and currently unused. Detect is
// safe for concurrent use.
func Detect(img image.Image, o *Options) (Detection, error) {
	d, _, err := detect(img)
	return d, err
}

// detect is Detect that also returns the analysis (nil when the picture is
// too small).
func detect(img image.Image) (Detection, *result, error) {
	res, err := analyse(img)
	if err != nil {
		return Detection{}, nil, err
	}
	d, err := res.detection(img.Bounds())
	return d, res, err
}

// detection converts an analysis into Detect's answer.
func (res *result) detection(b image.Rectangle) (Detection, error) {
	if res.best.z < SyncThreshold {
		return Detection{}, fmt.Errorf("watermark: synchronisation score %.2f < %.1f: %w", res.best.z, SyncThreshold, ErrNotFound)
	}
	if !res.ok {
		return Detection{}, fmt.Errorf("watermark: synchronised (score %.2f) but %w: %w", res.best.z, errUncorrectable, ErrNotFound)
	}
	d := Detection{BitErrors: res.nerr, Score: res.best.z}
	for i := range d.ID {
		d.ID[i] = byte(res.msg >> (56 - 8*i))
	}
	h := res.best
	cellPx := 2 * h.scale * h.sampleSize
	d.CellSize = cellPx
	// Fold sample q lies at base coordinate ph + q·scale; base sample t is
	// centred on pixel (t+0.5)·sampleSize of the window.
	d.Origin[0] = float64(b.Min.X+h.x0) + (h.phx+float64(h.dx)*h.scale+0.5)*h.sampleSize
	d.Origin[1] = float64(b.Min.Y+h.y0) + (h.phy+float64(h.dy)*h.scale+0.5)*h.sampleSize
	return d, nil
}

// analyse synchronises and demodulates; it never decodes.
func analyse(img image.Image) (*result, error) {
	r := img.Bounds()
	if err := checkSize(r, MinDetectSide, "detect"); err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrNotFound)
	}
	w, h := r.Dx(), r.Dy()
	short := min(w, h)
	// Centred window of at most maxAspect × short side.
	ww, wh := min(w, maxAspect*short), min(h, maxAspect*short)
	x0, y0 := (w-ww)/2, (h-wh)/2
	src := img
	if ww != w || wh != h {
		if s, ok := img.(interface {
			SubImage(image.Rectangle) image.Image
		}); ok {
			src = s.SubImage(image.Rect(r.Min.X+x0, r.Min.Y+y0, r.Min.X+x0+ww, r.Min.Y+y0+wh))
		} else {
			x0, y0, ww, wh = 0, 0, w, h
		}
	}
	sp := float64(short) / gridCells / 2 // base sample spacing: half a nominal cell
	bx, by := gridCount(ww, sp), gridCount(wh, sp)
	base, _ := downsample(newLumaSource(src), sp, 0, bx, by, false)
	white := whitenInto(floats32.take(len(base)), base, bx, by)
	floats32.give(base)
	defer floats32.give(white)

	l := theLayout()
	s := takeSearcher(white, bx, by, l)
	defer giveSearcher(s) // results keep their own folds, never the searcher's
	var best hypothesis
	best.z = math.Inf(-1)
	var scales []float64
	for sc := scaleMin; sc <= scaleMax+1e-9; sc += scaleStep {
		scales = append(scales, sc)
	}
	for i := 0; i < len(scales); i += 2 {
		var hs []hypothesis
		if i+1 < len(scales) {
			ha, hb := s.tryPair(scales[i], scales[i+1])
			hs = []hypothesis{ha, hb}
		} else {
			hs = []hypothesis{s.try(scales[i], 0, 0)}
		}
		for _, hy := range hs {
			if hy.z > best.z {
				best = hy
			}
		}
	}
	// Refine (only when the coarse score could reach the threshold: a
	// half-sample phase error keeps about 84 % of the correlation). A phase
	// error can make a wrong scale score best at phase 0, so each of five
	// scales around the coarse one (half-step spacing) is scored after its
	// own phase correction: the correlation peak is interpolated to a
	// fraction of a sample and the fold resampled so that the peak falls on
	// a sample. A parabola through the aligned scores then gives the final
	// scale. The embedder's informed gains are tuned to the exact alignment,
	// which this estimate approaches; up to maxDecode hypotheses (the
	// estimate, the best aligned one, the coarse one) go to the decoder.
	cands := []hypothesis{best}
	if best.z >= refineGate*SyncThreshold {
		c := best.scale
		var zs [5]float64
		var al [5]hypothesis
		kb := 2
		for k := range 5 {
			sc := c + float64(k-2)*scaleStep/2
			al[k] = s.aligned(sc)
			zs[k] = al[k].z
			if zs[k] > zs[kb] {
				kb = k
			}
		}
		sc := c + float64(kb-2)*scaleStep/2
		if kb > 0 && kb < 4 {
			sc += parabolaPeak(zs[kb-1], zs[kb], zs[kb+1]) * scaleStep / 2
		}
		est := s.aligned(sc)
		cands = []hypothesis{est, al[kb], best}
		if al[kb].z > est.z {
			cands[0], cands[1] = al[kb], est
		}
	}
	res := &result{}
	for i, h := range cands {
		if i >= maxDecode {
			break
		}
		h = s.tryKeep(h.scale, h.phx, h.phy)
		h.sampleSize, h.x0, h.y0 = sp, x0, y0
		r := &result{best: h}
		demodulate(h, l, r)
		if i == 0 || h.z > res.best.z && !res.ok {
			res = r
		}
		if h.z < SyncThreshold {
			continue
		}
		if msg, nerr, err := l.bch.decode(r.bits); err == nil {
			r.ok, r.msg, r.nerr = true, msg, nerr
			return r, nil
		}
	}
	return res, nil
}

// aligned scores scale sc after correcting the sampling phase so that the
// interpolated pilot peak falls on a fold sample.
func (s *searcher) aligned(sc float64) hypothesis {
	e := s.try(sc, 0, 0)
	phx := math.Mod(float64(e.dx)*sc+e.fx*sc, sc)
	phy := math.Mod(float64(e.dy)*sc+e.fy*sc, sc)
	if phx < 0 {
		phx += sc
	}
	if phy < 0 {
		phy += sc
	}
	a := s.try(sc, phx, phy)
	if a.z < e.z {
		return e
	}
	return a
}

// whitenInto writes to res (len(b) values) the grid b with the local mean (a (2·whitenR+1)²
// box) removed, divided by the local RMS of the residual (a (2·energyR+1)² box, floored at
// energyEps) and clipped to ±clipSigmas. Brightness scaling then leaves it unchanged.
func whitenInto(res, b []float32, nx, ny int) []float32 {
	tmp, sq := floats32.take(len(b)), floats32.take(len(b))
	defer floats32.give(tmp)
	defer floats32.give(sq)
	boxFilterInto(res, tmp, b, nx, ny, whitenR) // the local mean
	for i, v := range b {
		d := v - res[i]
		res[i] = d
		sq[i] = d * d
	}
	en := boxFilterInto(sq, tmp, sq, nx, ny, energyR)
	for i, d := range res {
		v := d / float32(math.Sqrt(float64(en[i])+energyEps*energyEps))
		// min and max, without their branches for NaN and signed zeros (which v never is).
		if v > clipSigmas {
			v = clipSigmas
		} else if v < -clipSigmas {
			v = -clipSigmas
		}
		res[i] = v
	}
	return res
}

// boxFilterInto writes to dst the mean of src over a (2r+1)² window, shrunk at the borders,
// with tmp (len(src) values) as working space; dst may be src.
func boxFilterInto(dst, tmp, src []float32, nx, ny, r int) []float32 {
	var stack [2 * 512]float32
	var pre, inv []float32
	if nx+1 <= 512 {
		pre, inv = stack[:nx+1], stack[512:512+nx]
	} else {
		pre, inv = make([]float32, nx+1), make([]float32, nx)
	}
	for i := range inv { // 1 / the window's width at each column
		inv[i] = 1 / float32(min(i+r+1, nx)-max(i-r, 0))
	}
	// Columns whose window is whole: [lo, hi) = [r, nx-r); the others are clipped at a border.
	lo, hi := min(r, nx), max(nx-r, 0)
	for j := range ny {
		row := src[j*nx : (j+1)*nx]
		var sum float32 // in a register: reading pre[i] back would wait for its store
		for i, v := range row {
			sum += v
			pre[i+1] = sum
		}
		t := tmp[j*nx : (j+1)*nx]
		for i := range lo {
			t[i] = (pre[min(i+r+1, nx)] - pre[0]) * inv[i]
		}
		if lo < hi {
			w := inv[lo]
			a, b := pre[:hi-r], pre[lo+r+1:hi+r+1]
			tt := t[lo:hi]
			for i := range tt {
				tt[i] = (b[i] - a[i]) * w
			}
		}
		for i := max(hi, lo); i < nx; i++ {
			t[i] = (pre[min(i+r+1, nx)] - pre[max(i-r, 0)]) * inv[i]
		}
	}
	// Vertical pass row-wise: a running sum of rows (src is no longer read).
	var acc []float32
	if nx <= 512 {
		acc = stack[:nx]
		clear(acc)
	} else {
		acc = make([]float32, nx)
	}
	top, bottom := 0, 0 // rows [top, bottom) are in acc
	for j := range ny {
		for ; bottom < min(j+r+1, ny); bottom++ {
			add := tmp[bottom*nx : (bottom+1)*nx]
			add = add[:len(acc)]
			for i, v := range add {
				acc[i] += v
			}
		}
		for ; top < j-r; top++ {
			sub := tmp[top*nx : (top+1)*nx]
			sub = sub[:len(acc)]
			for i, v := range sub {
				acc[i] -= v
			}
		}
		w := 1 / float32(bottom-top)
		o := dst[j*nx : (j+1)*nx]
		o = o[:len(acc)]
		for i, v := range acc {
			o[i] = v * w
		}
	}
	return dst
}

// searcher folds the whitened grid for scale/phase hypotheses.
type searcher struct {
	w      []float32
	nx, ny int
	l      *layout
	fold   []float32
	spec   []complex128
	power  []float64
	power2 []float64
	foldA  []float32
	specA  []complex128
	specB  []complex128
	xi     []int32
	xf     []float32
}

func newSearcher(w []float32, nx, ny int, l *layout) *searcher {
	return &searcher{w: w, nx: nx, ny: ny, l: l,
		fold: make([]float32, foldArea), spec: make([]complex128, foldArea),
		power: make([]float64, foldArea), power2: make([]float64, foldArea),
		foldA: make([]float32, foldArea),
		specA: make([]complex128, foldArea), specB: make([]complex128, foldArea)}
}

func (s *searcher) try(scale, phx, phy float64) hypothesis {
	s.foldAt(scale, phx, phy)
	return s.correlate(scale, phx, phy, false)
}

func (s *searcher) tryKeep(scale, phx, phy float64) hypothesis {
	s.foldAt(scale, phx, phy)
	return s.correlate(scale, phx, phy, true)
}

// foldAt resamples the whitened grid at positions ph + k·scale (bilinear)
// and sums the samples modulo the fold period.
func (s *searcher) foldAt(scale, phx, phy float64) {
	clear(s.fold)
	nq := int((float64(s.nx-1)-phx)/scale) + 1
	s.xi, s.xf = s.xi[:0], s.xf[:0]
	for q := range nq {
		t := phx + float64(q)*scale
		i := min(int(t), s.nx-2)
		s.xi = append(s.xi, int32(i))
		s.xf = append(s.xf, float32(t-float64(i)))
	}
	np := int((float64(s.ny-1)-phy)/scale) + 1
	for p := range np {
		t := phy + float64(p)*scale
		j := min(int(t), s.ny-2)
		fy := float32(t - float64(j))
		r0 := s.w[j*s.nx : (j+1)*s.nx]
		r1 := s.w[(j+1)*s.nx : (j+2)*s.nx]
		frow := s.fold[(p%foldSide)*foldSide : (p%foldSide+1)*foldSide]
		for q, i := range s.xi {
			fx := s.xf[q]
			a := r0[i] + fx*(r0[i+1]-r0[i])
			b := r1[i] + fx*(r1[i+1]-r1[i])
			frow[q%foldSide] += a + fy*(b-a)
		}
	}
}

// correlate cross-correlates the fold with the pilot template circularly,
// after whitening the fold's spectrum (a matched filter for coloured host
// noise: each frequency is weighted by 1/S^whitenPow, S the locally
// averaged power of the fold), and returns the peak in standard deviations
// of the surface. With keep it also stores the whitened fold.
func (s *searcher) correlate(scale, phx, phy float64, keep bool) hypothesis {
	var mean float64
	for _, v := range s.fold {
		mean += float64(v)
	}
	mean /= foldArea
	for i, v := range s.fold {
		s.spec[i] = complex(float64(v)-mean, 0)
	}
	fft2(s.spec, foldSide, false)
	s.whitenSpectrum(s.spec)
	var out []float32
	if keep {
		g := append([]complex128(nil), s.spec...)
		fft2(g, foldSide, true)
		out = make([]float32, foldArea)
		for i, c := range g {
			out[i] = float32(real(c) / foldArea)
		}
	}
	for i, p := range s.l.pilotFFT {
		s.spec[i] *= complex(real(p), -imag(p))
	}
	fft2(s.spec, foldSide, true)
	h := peakOf(s.spec, false)
	h.scale, h.phx, h.phy, h.fold = scale, phx, phy, out
	return h
}

// peakOf finds the maximum of the real (or imaginary) part of a
// correlation surface and its score.
func peakOf(c []complex128, imagPart bool) hypothesis {
	var sum, sum2 float64
	peak, at := math.Inf(-1), 0
	for i, x := range c {
		v := real(x)
		if imagPart {
			v = imag(x)
		}
		sum += v
		sum2 += v * v
		if v > peak {
			peak, at = v, i
		}
	}
	m := sum / foldArea
	sd := math.Sqrt(max(sum2/foldArea-m*m, 0))
	z, z0 := 0.0, 0.0
	if sd > 0 {
		z = (peak - m) / sd
		v0 := real(c[0])
		if imagPart {
			v0 = imag(c[0])
		}
		z0 = (v0 - m) / sd
	}
	h := hypothesis{dx: at % foldSide, dy: at / foldSide, z: z, z0: z0}
	val := func(x, y int) float64 {
		v := c[(y&(foldSide-1))*foldSide+x&(foldSide-1)]
		if imagPart {
			return imag(v)
		}
		return real(v)
	}
	h.fx = parabolaPeak(val(h.dx-1, h.dy), peak, val(h.dx+1, h.dy))
	h.fy = parabolaPeak(val(h.dx, h.dy-1), peak, val(h.dx, h.dy+1))
	return h
}

// parabolaPeak returns the offset in [-0.5, 0.5] of the vertex of the
// parabola through (-1, a), (0, b), (1, c).
func parabolaPeak(a, b, c float64) float64 {
	den := a - 2*b + c
	if den >= 0 {
		return 0
	}
	return min(max((a-c)/(2*den), -0.5), 0.5)
}

// tryPair scores two scale hypotheses (phase 0) with one complex FFT pair:
// the two real folds are packed as real and imaginary parts, separated by
// conjugate symmetry, whitened and correlated, and recombined so that the
// inverse transform returns one surface in each part.
func (s *searcher) tryPair(sa, sb float64) (hypothesis, hypothesis) {
	s.foldAt(sa, 0, 0)
	fa := append(s.foldA[:0], s.fold...)
	s.foldAt(sb, 0, 0)
	var ma, mb float64
	for i := range s.fold {
		ma += float64(fa[i])
		mb += float64(s.fold[i])
	}
	ma /= foldArea
	mb /= foldArea
	z := s.spec
	for i := range z {
		z[i] = complex(float64(fa[i])-ma, float64(s.fold[i])-mb)
	}
	fft2(z, foldSide, false)
	a, b := s.specA, s.specB
	for r := range foldSide {
		for c := range foldSide {
			k := r*foldSide + c
			n := ((foldSide-r)&(foldSide-1))*foldSide + (foldSide-c)&(foldSide-1)
			zk, zn := z[k], complex(real(z[n]), -imag(z[n]))
			a[k] = (zk + zn) * 0.5
			d := (zk - zn) * 0.5
			b[k] = complex(imag(d), -real(d)) // d / i
		}
	}
	s.whitenSpectrum(a)
	s.whitenSpectrum(b)
	for i, p := range s.l.pilotFFT {
		cp := complex(real(p), -imag(p))
		x, y := a[i]*cp, b[i]*cp
		z[i] = x + complex(-imag(y), real(y)) // x + i·y
	}
	fft2(z, foldSide, true)
	ha, hb := peakOf(z, false), peakOf(z, true)
	ha.scale, hb.scale = sa, sb
	return ha, hb
}

// whitenSpectrum divides every bin of spec by (S + ε)^whitenPow, S the
// mean power over the (2·specR+1)² bins around it (circularly).
func (s *searcher) whitenSpectrum(spec []complex128) {
	pw := s.power
	var total float64
	for i, c := range spec {
		pw[i] = real(c)*real(c) + imag(c)*imag(c)
		total += pw[i]
	}
	eps := 1e-3*total/foldArea + 1e-12
	// Separable circular box over rows then columns.
	tmp := s.power2
	for r := range foldSide {
		row := pw[r*foldSide:]
		for c := range foldSide {
			var a float64
			for d := -specR; d <= specR; d++ {
				a += row[(c+d)&(foldSide-1)]
			}
			tmp[r*foldSide+c] = a
		}
	}
	for c := range foldSide {
		for r := range foldSide {
			var a float64
			for d := -specR; d <= specR; d++ {
				a += tmp[((r+d)&(foldSide-1))*foldSide+c]
			}
			w := 1 / math.Sqrt(a/float64((2*specR+1)*(2*specR+1))+eps) // whitenPow = 0.5
			spec[r*foldSide+c] *= complex(w, 0)
		}
	}
}

// demodulate estimates every codeword bit from the aligned fold.
func demodulate(h hypothesis, l *layout, res *result) {
	at := func(p, q int) float64 {
		return float64(h.fold[((p+h.dy)&(foldSide-1))*foldSide+((q+h.dx)&(foldSide-1))])
	}
	var cellEst [tileArea]float64
	for i := range tileCells {
		for j := range tileCells {
			p, q := 2*i, 2*j
			v := at(p, q) +
				0.5*(at(p-1, q)+at(p+1, q)+at(p, q-1)+at(p, q+1)) +
				0.25*(at(p-1, q-1)+at(p-1, q+1)+at(p+1, q-1)+at(p+1, q+1))
			cellEst[i*tileCells+j] = v
		}
	}
	for k := range bchN {
		var soft float64
		for _, c := range l.cells[k] {
			soft += float64(l.chip[c]) * cellEst[c]
		}
		res.soft[k] = soft
		var b uint8
		if soft > 0 {
			b = 1
		}
		res.bits[k] = b ^ l.mask[k]
	}
}
