package dct

import (
	"fmt"
	"image"
	"runtime"

	"github.com/ailabel/ailabel/formats"
)

// Default limits, used for the zero fields of Limits.
const (
	// DefaultMaxPixels is the largest frame (width times height) Decode accepts by default.
	DefaultMaxPixels = 120_000_000
	// DefaultMaxBytes is the largest input Decode reads by default.
	DefaultMaxBytes = 1 << 30
	// MaxScans is the largest number of scans Decode accepts. Real progressive files have about
	// ten; the cap bounds decoding time, since every scan visits every block of its components.
	MaxScans = 128
)

// Limits bound what Decode accepts. The zero value selects the defaults.
type Limits struct {
	// MaxPixels bounds width times height; zero means DefaultMaxPixels.
	MaxPixels int64
	// MaxBytes bounds the length of the input; zero means DefaultMaxBytes.
	MaxBytes int64
}

func (l Limits) maxPixels() int64 {
	if l.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return l.MaxPixels
}

func (l Limits) maxBytes() int64 {
	if l.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return l.MaxBytes
}

// Component is one colour component of an Image: its sampling factors, its quantisation table
// and its quantised DCT coefficients.
//
// Coeffs holds BlocksWide*BlocksHigh blocks of 64 coefficients each, row by row; the block at
// (bx, by) starts at (by*BlocksWide+bx)*64, and its coefficients are in zig-zag order, as they
// are coded in the file (index 0 is DC). The grid covers whole MCUs, so it may extend past the
// picture on the right and at the bottom. Callers may change Coeffs and Quant; the other fields
// describe the frame and must not be changed.
type Component struct {
	ID         byte // component identifier from the frame header
	H, V       int  // horizontal and vertical sampling factors, 1 to 4
	BlocksWide int  // blocks per row of the grid
	BlocksHigh int  // rows of blocks
	// Quant is the quantisation table in zig-zag order: the one in effect when the component's
	// first scan began.
	Quant  [64]uint16
	Coeffs []int16

	tq int // the quantisation table slot the input used
}

// Block returns the 64 coefficients (zig-zag order) of the block at (bx, by) of the grid.
func (c *Component) Block(bx, by int) []int16 {
	i := (by*c.BlocksWide + bx) * 64
	return c.Coeffs[i : i+64 : i+64]
}

// Image is a JPEG held as quantised DCT coefficients, with the marker segments Encode writes
// back. Decode makes one.
type Image struct {
	// Width and Height are the picture's size in pixels, from the frame header.
	Width, Height int
	// Components are the colour components in frame order: one (grey) or three.
	Components []Component
	// RestartInterval is the number of MCUs between restart markers Encode writes (the input's
	// DRI value); zero writes none.
	RestartInterval int
	// Progressive reports that the input was progressive (SOF2). Encode writes sequential JPEG.
	Progressive bool

	segs           [][]byte // kept segments, marker and length included, in file order
	hmax, vmax     int
	mcusX, mcusY   int
	jfif           bool
	adobe          bool
	adobeTransform byte
}

// Bounds returns the picture's rectangle, (0, 0)-(Width, Height).
func (m *Image) Bounds() image.Rectangle { return image.Rect(0, 0, m.Width, m.Height) }

// mcuSize returns the width and height in pixels of one MCU of an interleaved scan.
func (m *Image) mcuSize() (w, h int) { return 8 * m.hmax, 8 * m.vmax }

// BlockAligned returns r grown to whole MCUs (the unit Pixels and Replace work in) and clipped to
// the picture. It returns the empty rectangle when r does not overlap the picture.
func (m *Image) BlockAligned(r image.Rectangle) image.Rectangle {
	r = r.Intersect(m.Bounds())
	if r.Empty() {
		return image.Rectangle{}
	}
	mw, mh := m.mcuSize()
	r.Min.X -= r.Min.X % mw
	r.Min.Y -= r.Min.Y % mh
	r.Max.X = (r.Max.X + mw - 1) / mw * mw
	r.Max.Y = (r.Max.Y + mh - 1) / mh * mh
	return r.Intersect(m.Bounds())
}

// checkAligned reports an error unless r is a non-empty MCU-aligned region of the picture.
func (m *Image) checkAligned(what string, r image.Rectangle) error {
	if r.Empty() || m.BlockAligned(r) != r {
		mw, mh := m.mcuSize()
		return fmt.Errorf("dct: %s: region %v is not a non-empty region of the %dx%d picture aligned to its %dx%d MCUs (use BlockAligned)",
			what, r, m.Width, m.Height, mw, mh)
	}
	return nil
}

// isRGB reports whether a three-component image codes R, G and B rather than Y, Cb and Cr, by the
// rules image/jpeg uses: a JFIF APP0 segment means YCbCr, then an Adobe APP14 segment's transform
// flag (0 means RGB), then component identifiers 'R', 'G', 'B'.
func (m *Image) isRGB() bool {
	if len(m.Components) != 3 || m.jfif {
		return false
	}
	if m.adobe {
		return m.adobeTransform == 0
	}
	c := m.Components
	return c[0].ID == 'R' && c[1].ID == 'G' && c[2].ID == 'B'
}

// subsampleRatio returns the image.YCbCr layout of a three-component image, or an error wrapping
// formats.ErrUnsupported.
func (m *Image) subsampleRatio() (image.YCbCrSubsampleRatio, error) {
	c := m.Components
	if m.isRGB() {
		return 0, fmt.Errorf("%w: dct: the JPEG codes RGB, not YCbCr", formats.ErrUnsupported)
	}
	y, cb, cr := c[0], c[1], c[2]
	if cb.H != cr.H || cb.V != cr.V || y.H != m.hmax || y.V != m.vmax || y.H%cb.H != 0 || y.V%cb.V != 0 {
		return 0, fmt.Errorf("%w: dct: sampling factors %dx%d, %dx%d, %dx%d have no image.YCbCr layout",
			formats.ErrUnsupported, y.H, y.V, cb.H, cb.V, cr.H, cr.V)
	}
	switch [2]int{y.H / cb.H, y.V / cb.V} {
	case [2]int{1, 1}:
		return image.YCbCrSubsampleRatio444, nil
	case [2]int{2, 1}:
		return image.YCbCrSubsampleRatio422, nil
	case [2]int{2, 2}:
		return image.YCbCrSubsampleRatio420, nil
	case [2]int{1, 2}:
		return image.YCbCrSubsampleRatio440, nil
	case [2]int{4, 1}:
		return image.YCbCrSubsampleRatio411, nil
	case [2]int{4, 2}:
		return image.YCbCrSubsampleRatio410, nil
	}
	return 0, fmt.Errorf("%w: dct: chroma subsampling %dx%d has no image.YCbCr layout", formats.ErrUnsupported, y.H/cb.H, y.V/cb.V)
}

// unzig maps a zig-zag index to a natural (row-major) index in an 8x8 block.
var unzig = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// ijgLuma is the luminance table of ITU T.81 Annex K.1 (Table K.1), in natural order, which the
// IJG quality scaling multiplies.
var ijgLuma = [64]uint16{
	16, 11, 10, 16, 24, 40, 51, 61,
	12, 12, 14, 19, 26, 58, 60, 55,
	14, 13, 16, 24, 40, 57, 69, 56,
	14, 17, 22, 29, 51, 87, 80, 62,
	18, 22, 37, 56, 68, 109, 103, 77,
	24, 35, 55, 64, 81, 104, 113, 92,
	49, 64, 78, 87, 103, 121, 120, 101,
	72, 92, 95, 98, 112, 100, 103, 99,
}

// Quality estimates the IJG quality setting (1 to 100) that made the luma quantisation table.
// ok is true when the table is exactly an IJG-scaled Annex K table at that quality (with or
// without the baseline clamp to 255); otherwise q is the nearest quality.
func (m *Image) Quality() (q int, ok bool) {
	if len(m.Components) == 0 {
		return 0, false
	}
	t := &m.Components[0].Quant
	best, bestDiff := 0, int64(-1)
	for quality := 100; quality >= 1; quality-- {
		scale := 200 - 2*quality
		if quality < 50 {
			scale = 5000 / quality
		}
		for _, clamp := range []int{255, 32767} {
			var diff int64
			for k := 0; k < 64; k++ {
				v := (int(ijgLuma[unzig[k]])*scale + 50) / 100
				v = min(max(v, 1), clamp)
				d := int64(v) - int64(t[k])
				if d < 0 {
					d = -d
				}
				diff += d
			}
			if diff == 0 {
				return quality, true
			}
			if bestDiff < 0 || diff < bestDiff {
				best, bestDiff = quality, diff
			}
		}
	}
	return best, false
}

// parallelBlocks is the smallest number of luma blocks (a megapixel) whose pixel work is split
// over goroutines. Below it the work takes a few milliseconds at most and splitting it costs more
// CPU than it saves; a server labeling many small pictures at once keeps its cores busy with
// requests instead.
const parallelBlocks = 1 << 14

// workersFor returns the number of goroutines for work over that many blocks in that many rows.
func workersFor(blocks, rows int) int {
	if blocks < parallelBlocks {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), 4, rows))
}
