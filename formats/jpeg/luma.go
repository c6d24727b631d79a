package jpeg

import (
	"errors"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/jpeg/dct"
)

// AddLuma adds the luma change mark makes for the decoded picture (an invisible watermark) to
// the JPEG's luma coefficients and writes the JPEG to w (formats.LumaMarker). The picture is
// not decoded to pixels and encoded again: the change is transformed into the DCT domain,
// quantised with the file's own tables and added to the quantised coefficients, so chroma and
// every block the change leaves alone stay bit for bit, and there is no second generation of
// JPEG loss. Every segment is kept as Paint keeps them; a progressive input is written
// sequential. JPEGs that do not code luma at full resolution in their first component (RGB,
// CMYK/YCCK, unusual sampling) are refused with an error wrapping formats.ErrUnsupported.
func (f *File) AddLuma(w io.Writer, mark formats.LumaFunc) (formats.PaintInfo, error) {
	var info formats.PaintInfo
	if f.r == nil {
		return info, errors.New("jpeg: AddLuma needs a File made by Open")
	}
	m, err := dct.Decode(io.NewSectionReader(f.r, 0, f.size), dct.Limits{MaxPixels: MaxPaintPixels})
	if err != nil {
		return info, fmt.Errorf("jpeg: AddLuma: %w", err)
	}
	pic, err := m.Luma() // the mark needs luma only
	if err != nil {
		return info, fmt.Errorf("jpeg: AddLuma: %w", err)
	}
	d, err := mark(pic)
	if err != nil {
		return info, fmt.Errorf("jpeg: AddLuma: %w", err)
	}
	n, err := m.AddLuma(d)
	if err != nil {
		return info, fmt.Errorf("jpeg: AddLuma: %w", err)
	}
	ew := &errWriter{w: w}
	if err := m.Encode(ew); err != nil {
		if ew.err != nil {
			err = ew.err
		}
		return info, fmt.Errorf("jpeg: writing the watermarked JPEG: %w", err)
	}
	c := m.Components[0]
	info.Changed = m.Bounds()
	info.Method = fmt.Sprintf("JPEG: luma coefficients of %d of %d blocks changed in the DCT domain, chroma and the rest copied", n, c.BlocksWide*c.BlocksHigh)
	if m.Progressive {
		info.Method += "; the progressive input is written sequential"
	}
	return info, nil
}
