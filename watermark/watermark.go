// Package watermark embeds and detects an invisible, robust 64-bit
// identifier in the luma of a picture (soft-binding algorithm
// "org.ailabel.wm.v1", specified in docs/watermark.md).
//
// The mark is a keyed ±1 chip pattern on a working grid of cells whose size
// follows the picture's short side (96 cells across it), so rescaling keeps
// the grid. The grid is tiled with a 32×32-cell tile: 262 cells of each tile
// are a known pilot used for synchronisation, the other 762 carry the 127
// bits of a BCH(127,64, t = 10) codeword, six cells per bit per tile. The
// pattern is bilinearly interpolated to full resolution and scaled by a
// perceptual mask that follows local texture. The embedder checks its work
// by running the detector's pipeline on the host plus the mark: heavily
// textured pictures get a stronger mark (PSNR floor ≈ 34 dB) and per-bit
// gains that cancel the host's interference (informed embedding).
//
// Detection reduces luma to a grid of half cells, whitens it, folds it
// modulo the tile period for each hypothesis of the cell size (crops change
// the short side), finds the tile shift by an FFT cross-correlation with the
// pilot, and decodes the codeword. A mark is reported only when the
// correlation peak clears a threshold and the BCH word decodes.
//
// Pure Go, no cgo, no model weights.
package watermark

import (
	"errors"
	"fmt"
	"image"
)

// Alg is the soft-binding algorithm name written in c2pa.soft-binding
// assertions for this watermark.
const Alg = "org.ailabel.wm.v1"

// valueVersion is the first byte of a soft-binding value.
const valueVersion = 1

// ID is the 64-bit identifier carried by the watermark.
type ID [8]byte

// Value returns the soft-binding value bytes of id: one version byte (1)
// followed by the 8 identifier bytes.
func (id ID) Value() []byte {
	v := make([]byte, 0, 9)
	v = append(v, valueVersion)
	return append(v, id[:]...)
}

// String returns id as 16 lower-case hex digits.
func (id ID) String() string { return fmt.Sprintf("%x", id[:]) }

// ParseValue parses a soft-binding value written by ID.Value. It rejects any
// length other than 9 bytes and any version other than 1.
func ParseValue(b []byte) (ID, error) {
	var id ID
	if len(b) != 1+len(id) {
		return id, fmt.Errorf("watermark: soft-binding value is %d bytes, want %d", len(b), 1+len(id))
	}
	if b[0] != valueVersion {
		return id, fmt.Errorf("watermark: soft-binding value version %d, want %d", b[0], valueVersion)
	}
	copy(id[:], b[1:])
	return id, nil
}

// ErrTooSmall reports a picture whose short side is too small to carry the
// mark (embedding needs MinEmbedSide pixels, detection MinDetectSide).
var ErrTooSmall = errors.New("watermark: picture too small to carry the mark")

// ErrNotFound reports that no mark was found. Detect wraps it; test with
// errors.Is.
var ErrNotFound = errors.New("watermark: no mark found")

const (
	// MinEmbedSide is the smallest short side, in pixels, that NewMark and
	// Embed accept (a cell is then 2.67 px).
	MinEmbedSide = 256
	// MinDetectSide is the smallest short side, in pixels, that Detect
	// analyses; smaller pictures give an error wrapping both ErrNotFound and
	// ErrTooSmall.
	MinDetectSide = 128
)

// Options tunes embedding and detection. A nil *Options means defaults.
type Options struct {
	// Strength scales the mark amplitude and the PSNR floor's RMS; 0 means
	// 1 (the default: about 42 dB PSNR on typical photos, 34–35 dB on dense
	// foliage). Values are clamped to [0.25, 4]. Detect ignores it.
	Strength float64
}

func (o *Options) strength() float64 {
	if o == nil || o.Strength == 0 {
		return 1
	}
	return min(max(o.Strength, 0.25), 4)
}

// Detection describes a recovered mark.
type Detection struct {
	// ID is the recovered identifier.
	ID ID
	// BitErrors is the number of codeword bits (of 127) the BCH decoder
	// corrected; at most 10.
	BitErrors int
	// Score is the synchronisation peak in standard deviations of the
	// correlation surface (the acceptance threshold is SyncThreshold).
	Score float64
	// CellSize is the size of a grid cell in the analysed picture, in pixels.
	// The size at embedding was the short side / 96; a ratio other than that
	// means the picture was cropped.
	CellSize float64
	// Origin is the position, in pixels of the analysed picture, of the
	// centre of cell (0,0) of one tile (any tile: the pattern repeats every
	// 32 cells).
	Origin [2]float64
}

// Geometry of the working grid and the tile (see docs/watermark.md).
const (
	gridCells  = 96 // cells across the short side
	tileCells  = 32 // tile side in cells
	tileArea   = tileCells * tileCells
	cellsPerBt = 6                    // cells per codeword bit per tile
	dataCells  = bchN * cellsPerBt    // 762
	pilotCells = tileArea - dataCells // 262
	foldSide   = 2 * tileCells        // fold resolution: two samples per cell
	foldArea   = foldSide * foldSide  // 4096
	layoutSeed = "org.ailabel.wm.v1/layout"
)

// SyncThreshold is the minimum synchronisation Score for a detection.
const SyncThreshold = 6.0

// checkSize returns ErrTooSmall (wrapped) when r's short side is below min.
func checkSize(r image.Rectangle, minSide int, what string) error {
	if s := min(r.Dx(), r.Dy()); s < minSide {
		return fmt.Errorf("watermark: %s: short side %d px < %d: %w", what, s, minSide, ErrTooSmall)
	}
	return nil
}
