package watermark

import (
	"math"
	"slices"
)

// Closed-loop strength and informed embedding (see docs/watermark.md).
//
// The embedder runs the detector's own pipeline on the host plus the mark,
// on the half-cell grid at the true alignment ("simulate").
//
// Stage 1: it uses the smallest uniform boost in loopBoosts for which the
// simulated detection, with the mark attenuated to loopAtten of its
// amplitude, synchronises with a score ≥ loopSync and has ≤ loopErrors bit
// errors. Most pictures stop here with boost 1.
//
// Stage 2 (heavily textured pictures, where the host's own projection on
// each bit's chips dominates): one gain per codeword bit, chosen so that
// host projection + gain × response reaches the same target margin τ for
// every bit (improved spread spectrum: the host interference is cancelled
// instead of overpowered), and a pilot gain that brings the simulated
// synchronisation score to pilotTarget. Two correction rounds re-simulate.
const (
	loopAtten   = 0.5
	loopSync    = 9.0
	loopErrors  = 2
	issLo       = 0.25 // per-bit gain bounds in stage 2
	issHi       = 4.0
	issTau      = 2.5 // target margin, in units of the median unit response
	issRounds   = 2
	pilotTarget = 10.0
	pilotGainHi = 3.0
)

var loopBoosts = []float32{1, 1.3, 1.7}

// shapeMark returns the per-role gains (index role+1: [0] pilot, [k+1] bit
// k) to multiply base with. shifted returns the host on the half-cell grid
// offset by a quarter cell (computed only when stage 2 needs it).
func shapeMark(l *layout, cw [bchN]uint8, host []float32, bx, by int, shifted func() ([]float32, int, int), base []float32, nx, ny int, strength float64) []float32 {
	g := make([]float32, bchN+1)
	set := func(v float32) {
		for i := range g {
			g[i] = v
		}
	}
	views := []simView{{host: host, bx: bx, by: by, align: 0}}
	for _, b := range loopBoosts {
		set(b * loopAtten)
		soft, z0 := views[0].simulate(l, base, g, nx, ny)
		if z0 >= loopSync && bitErrors(l, cw, soft) <= loopErrors {
			set(b)
			return g
		}
	}
	// Stage 2, on both sampling extremes: half-cell samples centred a
	// quarter cell off the cell centres (view 0, as at embedding) and on
	// them (view 1).
	h2, bx2, by2 := shifted()
	views = append(views, simView{host: h2, bx: bx2, by: by2, align: 1})
	want := wantSigns(l, cw)
	set(1)
	type viewState struct {
		host0, resp []float64 // per bit, in units of the view's median unit response
		unit        float64   // that median, in soft-value units
	}
	st := make([]viewState, len(views))
	var z0 float64 = math.Inf(1)
	for v := range views {
		hSoft, _ := views[v].simulate(l, nil, nil, nx, ny)
		uSoft, z := views[v].simulate(l, base, g, nx, ny)
		z0 = min(z0, z)
		resp := make([]float64, bchN)
		host0 := make([]float64, bchN)
		for k := range bchN {
			resp[k] = want[k] * (uSoft[k] - hSoft[k])
			host0[k] = want[k] * hSoft[k]
		}
		med := slices.Clone(resp)
		slices.Sort(med)
		m := med[bchN/2]
		if m <= 0 {
			set(loopBoosts[len(loopBoosts)-1])
			return g
		}
		for k := range resp {
			resp[k] = max(resp[k], 0.25*m) / m // guard against noisy responses; unit median
			host0[k] /= m
		}
		st[v] = viewState{host0, resp, m}
	}
	// Energy per role at unit gain, and the budget (the PSNR floor).
	roleE := make([]float64, bchN+1)
	for j := range ny {
		trow := l.bit[(j%tileCells)*tileCells:]
		for i := range nx {
			v := float64(base[j*nx+i])
			roleE[trow[i%tileCells]+1] += v * v
		}
	}
	budget := rmsMax * rmsMax * strength * strength * 9 / 4 * float64(nx*ny)
	energy := func() float64 {
		var e float64
		for r, v := range g {
			e += float64(v) * float64(v) * roleE[r]
		}
		return e
	}
	gainsFor := func(tau float64) { // every view reaches margin τ
		for k := range bchN {
			need := 0.0
			for _, sv := range st {
				need = max(need, (tau-sv.host0[k])/sv.resp[k])
			}
			g[k+1] = float32(min(max(need, issLo), issHi))
		}
	}
	solve := func() { // the largest τ ≤ issTau within the budget
		gainsFor(issTau)
		if energy() <= budget {
			return
		}
		lo, hi := 0.0, issTau
		for range 20 {
			mid := (lo + hi) / 2
			gainsFor(mid)
			if energy() <= budget {
				lo = mid
			} else {
				hi = mid
			}
		}
		gainsFor(lo)
	}
	g[0] = pilotGain(z0, 1)
	solve()
	for range issRounds {
		z0 = math.Inf(1)
		for v := range views {
			soft, z := views[v].simulate(l, base, g, nx, ny)
			z0 = min(z0, z)
			m := st[v].unit
			for k := range bchN {
				// Fold the model error (non-linearity, cross-talk) into the
				// host term so that the next solution aims at the
				// simulated result.
				st[v].host0[k] = want[k]*soft[k]/m - float64(g[k+1])*st[v].resp[k]
			}
		}
		g[0] = pilotGain(z0, g[0])
		solve()
	}
	return g
}

func pilotGain(z0 float64, g float32) float32 {
	if z0 <= 0 {
		return pilotGainHi
	}
	if z0 < pilotTarget {
		return float32(min(float64(g)*pilotTarget/z0, pilotGainHi))
	}
	return g
}

func wantSigns(l *layout, cw [bchN]uint8) []float64 {
	want := make([]float64, bchN) // +1 when the bit's soft value must be positive
	for k := range bchN {
		want[k] = -1
		if cw[k]^l.mask[k] != 0 {
			want[k] = 1
		}
	}
	return want
}

func bitErrors(l *layout, cw [bchN]uint8, soft [bchN]float64) int {
	errs := 0
	for k := range bchN {
		bit := uint8(0)
		if soft[k] > 0 {
			bit = 1
		}
		if bit^l.mask[k] != cw[k] {
			errs++
		}
	}
	return errs
}

// simView is the host on one half-cell sampling grid.
type simView struct {
	host   []float32
	bx, by int
	align  int // 0: sample t at cell coordinate t/2 - 1/4; 1: at t/2
}

// simulate runs the detector on host + mark at the true alignment and
// returns the soft bit values and the pilot score at shift 0. The mark is
// base with per-role gains g (index role+1); a nil base means the host
// alone.
func (sv simView) simulate(l *layout, base, g []float32, nx, ny int) ([bchN]float64, float64) {
	host, bx, by := sv.host, sv.bx, sv.by
	off, ph := 0.25, 0.5
	if sv.align == 1 {
		off, ph = 0, 0
	}
	b := host
	if base != nil {
		b = floats32.take(len(host))
		defer floats32.give(b)
		cells := floats32.take(nx * ny)
		defer floats32.give(cells)
		for j := range ny {
			trow := l.bit[(j%tileCells)*tileCells:]
			for i := range nx {
				cells[j*nx+i] = base[j*nx+i] * g[trow[i%tileCells]+1]
			}
		}
		// Cell values rendered bilinearly at half-cell sample t (cell
		// coordinate t/2 - 1/4): the box average of the embedded bilinear
		// surface over that half cell.
		cellAt := func(i, j int) float32 {
			return cells[min(max(j, 0), ny-1)*nx+min(max(i, 0), nx-1)]
		}
		for y := range by {
			v := float64(y)/2 - off
			j0 := int(v+1) - 1 // floor for v ≥ -1
			fy := float32(v - float64(j0))
			for x := range bx {
				u := float64(x)/2 - off
				i0 := int(u+1) - 1
				fx := float32(u - float64(i0))
				a := cellAt(i0, j0) + fx*(cellAt(i0+1, j0)-cellAt(i0, j0))
				c := cellAt(i0, j0+1) + fx*(cellAt(i0+1, j0+1)-cellAt(i0, j0+1))
				b[y*bx+x] = a + fy*(c-a)
			}
		}
		for i, v := range host {
			b[i] += v
		}
	}
	wb := whitenInto(floats32.take(len(b)), b, bx, by)
	defer floats32.give(wb)
	s := takeSearcher(wb, bx, by, l)
	defer giveSearcher(s)
	h := s.tryKeep(1, ph, ph)
	h.dx, h.dy = 0, 0
	var res result
	demodulate(h, l, &res)
	return res.soft, h.z0
}
