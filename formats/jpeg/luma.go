package jpeg

import (
	"fmt"
	"image"
	"io"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/jpeg/dct"
	"github.com/ailabel/ailabel/formats/paint"
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
	m, err := f.decodeDCT("AddLuma")
	if err != nil {
		return info, err
	}
	if info, err = lumaDCT(m, mark); err != nil {
		return info, fmt.Errorf("jpeg: AddLuma: %w", err)
	}
	if err := encodeTo(w, m, "watermarked"); err != nil {
		return info, err
	}
	return info, nil
}

// lumaDCT adds the luma change mark makes for m's decoded luma to m's luma coefficients. A nil
// change from mark leaves m alone and gives an empty PaintInfo.
func lumaDCT(m *dct.Image, mark formats.LumaFunc) (formats.PaintInfo, error) {
	var info formats.PaintInfo
	pic, err := m.Luma() // the mark needs luma only
	if err != nil {
		return info, err
	}
	d, err := mark(pic)
	if err != nil || d == nil {
		return info, err
	}
	n, err := m.AddLuma(d)
	if err != nil {
		return info, err
	}
	c := m.Components[0]
	info.Changed = m.Bounds()
	info.Method = fmt.Sprintf("JPEG: luma coefficients of %d of %d blocks changed in the DCT domain, chroma and the rest copied", n, c.BlocksWide*c.BlocksHigh)
	if m.Progressive {
		info.Method += "; the progressive input is written sequential"
	}
	return info, nil
}

// EditPicture makes e's changes (formats.PictureEditor) with one decoding into DCT coefficients
// and one encoding: the overlay as Paint draws it, then the luma change as AddLuma adds it, then
// Final sees the picture decoded from the coefficients as written (an *image.YCbCr, or
// *image.Gray for a grey JPEG). JPEGs Paint would re-encode in full, and those AddLuma
// refuses, give an error wrapping formats.ErrUnsupported.
func (f *File) EditPicture(w io.Writer, e formats.PictureEdit) (formats.EditInfo, error) {
	var info formats.EditInfo
	m, err := f.decodeDCT("EditPicture")
	if err != nil {
		return info, err
	}
	if e.Overlay != nil {
		ov, at, err := e.Overlay(m.Bounds())
		if err != nil {
			return info, fmt.Errorf("jpeg: making the overlay: %w", err)
		}
		if ov == nil || paint.Rect(m.Bounds(), ov, at).Empty() {
			info.Overlay.Method = "JPEG unchanged: the overlay does not meet the picture"
		} else if info.Overlay, err = paintDCT(m, ov, at); err != nil {
			return info, fmt.Errorf("jpeg: EditPicture: %w", err)
		}
	}
	if e.Luma != nil {
		if info.Luma, err = lumaDCT(m, e.Luma); err != nil {
			return info, fmt.Errorf("jpeg: EditPicture: %w", err)
		}
	}
	if e.Final != nil {
		px, err := m.Pixels(m.BlockAligned(m.Bounds()))
		if err != nil {
			return info, fmt.Errorf("jpeg: EditPicture: %w", err)
		}
		sub, ok := px.(interface {
			SubImage(image.Rectangle) image.Image
		})
		if !ok {
			return info, fmt.Errorf("jpeg: internal error: dct.Pixels returned %T", px)
		}
		pic := sub.SubImage(m.Bounds())
		if err := e.Final(pic); err != nil {
			return info, err
		}
	}
	if info.Overlay.Changed.Empty() && info.Luma.Changed.Empty() {
		_, err := f.copyUnchanged(w)
		return info, err
	}
	return info, encodeTo(w, m, "edited")
}

// decodeDCT decodes the file into DCT coefficients for op, the method named in errors.
func (f *File) decodeDCT(op string) (*dct.Image, error) {
	if f.r == nil {
		return nil, fmt.Errorf("jpeg: %s needs a File made by Open", op)
	}
	m, err := dct.Decode(io.NewSectionReader(f.r, 0, f.size), dct.Limits{MaxPixels: MaxPaintPixels})
	if err != nil {
		return nil, fmt.Errorf("jpeg: %s: %w", op, err)
	}
	return m, nil
}
