package dct

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/ailabel/ailabel/formats"
)

// LumaDelta is a change of luma at full resolution, row by row (formats.LumaDelta).
type LumaDelta = formats.LumaDelta

// AddLuma adds a luma change (an invisible watermark's signal) to the picture's coefficients:
// each 8x8 block of the change is transformed (the T.81 DCT), divided by the block's quantiser
// and rounded, and the result is added to the block's quantised coefficients. Nothing goes
// through the pixel domain, so blocks the change leaves at zero keep their coefficients bit for
// bit, and the rest differ only by the change itself (a coefficient moves only where the change
// is at least half a quantiser step there). It returns the number of blocks changed. Rows of
// blocks are shared among up to four goroutines: d.LumaRow must be safe for concurrent use.
//
// The picture must code luma in its first component at full resolution (YCbCr or grey JPEG;
// not RGB or CMYK, not a luma plane sampled below the others): otherwise the error wraps
// formats.ErrUnsupported.
func (m *Image) AddLuma(d LumaDelta) (changed int, err error) {
	c, err := m.lumaComponent()
	if err != nil {
		return 0, err
	}
	// Rows of blocks are independent: they are shared among the cores.
	workers := workersFor(c.BlocksWide*c.BlocksHigh, c.BlocksHigh)
	var next, total atomic.Int64
	if workers == 1 {
		return m.addLumaRows(c, d, &next), nil
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { total.Add(int64(m.addLumaRows(c, d, &next))) })
	}
	wg.Wait()
	return int(total.Load()), nil
}

// addLumaRows adds the change to rows of blocks of c, taking the next row from next until none
// is left, and returns the number of blocks it changed.
func (m *Image) addLumaRows(c *Component, d LumaDelta, next *atomic.Int64) (changed int) {
	width := c.BlocksWide * 8
	rows := make([][]float32, 8)
	for i := range rows {
		rows[i] = make([]float32, width)
	}
	var pix, f [64]float64
	for {
		by := int(next.Add(1) - 1)
		if by >= c.BlocksHigh {
			return changed
		}
		for r := 0; r < 8; r++ {
			clear(rows[r])
			if y := by*8 + r; y < m.Height {
				d.LumaRow(y, rows[r][:m.Width])
			}
		}
		for bx := 0; bx < c.BlocksWide; bx++ {
			nonzero := false
			for y := 0; y < 8; y++ {
				for x := 0; x < 8; x++ {
					v := float64(rows[y][bx*8+x])
					pix[y*8+x] = v
					nonzero = nonzero || v != 0
				}
			}
			if !nonzero {
				continue
			}
			forward(&pix, &f)
			blk := c.Block(bx, by)
			moved := false
			for k := 0; k < 64; k++ {
				dq := math.Round(f[unzig[k]] / float64(c.Quant[k]))
				if dq == 0 {
					continue
				}
				lo, hi := float64(-maxAC), float64(maxAC)
				if k == 0 {
					lo, hi = minDC, maxDC
				}
				nv := int16(min(max(float64(blk[k])+dq, lo), hi))
				if nv != blk[k] {
					blk[k], moved = nv, true
				}
			}
			if moved {
				changed++
			}
		}
	}
}

// lumaComponent returns the component that codes luma at full resolution: the first one of a
// grey or YCbCr JPEG whose luma is not sampled below the others. Anything else (RGB, CMYK,
// YCCK, unusual sampling) is an error wrapping formats.ErrUnsupported.
func (m *Image) lumaComponent() (*Component, error) {
	n := len(m.Components)
	if n == 0 {
		return nil, fmt.Errorf("%w: JPEG without components", formats.ErrMalformed)
	}
	if n != 1 && n != 3 || m.isRGB() {
		return nil, fmt.Errorf("%w: JPEG of %d components does not code luma in its first one", formats.ErrUnsupported, n)
	}
	c := &m.Components[0]
	if n == 3 && (c.H != m.hmax || c.V != m.vmax) {
		return nil, fmt.Errorf("%w: JPEG whose luma is sampled %dx%d of %dx%d", formats.ErrUnsupported, c.H, c.V, m.hmax, m.vmax)
	}
	return c, nil
}
