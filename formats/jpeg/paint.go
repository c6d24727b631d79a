package jpeg

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	stdjpeg "image/jpeg"
	"io"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/jpeg/dct"
	"github.com/ailabel/ailabel/formats/paint"
)

// MaxPaintPixels is the largest picture (width times height) Paint decodes. It is checked against
// the frame header before anything is decoded.
const MaxPaintPixels = 120_000_000

// fallbackQuality is the quality of a full re-encoding when the input's cannot be estimated.
const fallbackQuality = 90

// Paint composites the overlay onto the picture and writes the JPEG to w.
//
// The JPEG is decoded into quantised DCT coefficients (package dct) and only the MCUs under the
// overlay are turned into pixels, painted and coded again with the image's own quantisation
// tables and chroma subsampling; every other 8x8 block keeps its coefficients, so every pixel
// outside PaintInfo.Changed (the overlay's rectangle grown to whole MCUs) decodes exactly as
// before with image/jpeg. (Decoders that upsample chroma across block edges, as libjpeg's
// "fancy" upsampling does, may see pixels next to Changed move by a rounding step.) Pixels
// of the re-coded MCUs that the overlay does not cover keep their Y, Cb and Cr samples and lose
// only what one more quantisation loses. The output is sequential with optimised Huffman tables
// (a progressive input becomes sequential) and keeps every APPn, COM and DQT segment before the
// first scan byte for byte, as dct.Encode does; anything after the first scan's segments (and
// after EOI) is dropped.
//
// When dct cannot work on the file (an error wrapping formats.ErrUnsupported: CMYK, RGB-coded,
// 12-bit …), the picture is decoded with image/jpeg, painted and encoded again with image/jpeg
// at the input's estimated quality (or 90), and the input's APPn and COM segments are kept in
// their order, except an Adobe APP14 segment (its colour transform describes the old coding)
// and, for a CMYK input, ICC_PROFILE segments (a CMYK profile does not describe the YCbCr
// output). PaintInfo.Method then says "JPEG fully re-encoded at quality N" and Changed is the
// whole picture.
//
// A picture of more than MaxPaintPixels pixels is refused with an error wrapping
// formats.ErrTooLarge, before decoding. When the overlay does not meet the picture the input is
// copied unchanged and Changed is empty. Paint reads the input through the io.ReaderAt given to
// Open, which must still be readable.
func (f *File) Paint(w io.Writer, overlay formats.OverlayFunc) (formats.PaintInfo, error) {
	var info formats.PaintInfo
	if f.r == nil {
		return info, errors.New("jpeg: Paint needs a File made by Open")
	}
	// The overlay is made once, also when the full re-encoding takes over after Pixels.
	var made struct {
		ov     image.Image
		at     image.Rectangle
		err    error
		bounds image.Rectangle
		done   bool
	}
	orig := overlay
	overlay = func(b image.Rectangle) (image.Image, image.Rectangle, error) {
		if !made.done || made.bounds != b {
			made.ov, made.at, made.err = orig(b)
			made.bounds, made.done = b, true
		}
		return made.ov, made.at, made.err
	}
	m, err := dct.Decode(io.NewSectionReader(f.r, 0, f.size), dct.Limits{MaxPixels: MaxPaintPixels})
	if err != nil {
		if errors.Is(err, formats.ErrUnsupported) {
			return f.paintFull(w, overlay, nil, err)
		}
		return info, fmt.Errorf("jpeg: Paint: %w", err)
	}
	bounds := m.Bounds()
	ov, at, err := overlay(bounds)
	if err != nil {
		return info, fmt.Errorf("jpeg: making the overlay: %w", err)
	}
	if ov == nil || paint.Rect(bounds, ov, at).Empty() {
		return f.copyUnchanged(w)
	}
	if info, err = paintDCT(m, ov, at); err != nil {
		if errors.Is(err, formats.ErrUnsupported) {
			return f.paintFull(w, overlay, m, err)
		}
		return info, fmt.Errorf("jpeg: Paint: %w", err)
	}
	if err := encodeTo(w, m, "painted"); err != nil {
		return info, err
	}
	return info, nil
}

// paintDCT composites ov (its pixel at ov.Bounds().Min lands on at.Min) onto the decoded m,
// re-coding only the MCUs it covers. It needs an overlay that meets the picture.
func paintDCT(m *dct.Image, ov image.Image, at image.Rectangle) (formats.PaintInfo, error) {
	var info formats.PaintInfo
	bounds := m.Bounds()
	clip := paint.Rect(bounds, ov, at)
	region := m.BlockAligned(clip)
	px, err := m.Pixels(region)
	if err != nil {
		return info, err
	}
	var painted image.Image
	switch p := px.(type) {
	case *image.YCbCr:
		painted = paintYCbCr(p, ov, at, clip)
	case *image.Gray:
		painted = paintGray(p, ov, at, clip)
	default:
		return info, fmt.Errorf("jpeg: internal error: dct.Pixels returned %T", px)
	}
	if err := m.Replace(region, painted); err != nil {
		return info, err
	}
	mw, mh := mcuSize(m)
	cols, rows := ceilDiv(bounds.Dx(), mw), ceilDiv(bounds.Dy(), mh)
	n := ceilDiv(region.Dx(), mw) * ceilDiv(region.Dy(), mh)
	info.Changed = region
	info.Method = fmt.Sprintf("JPEG: %d of %d MCUs re-coded, the rest copied", n, cols*rows)
	if m.Progressive {
		info.Method += "; the progressive input is written sequential"
	}
	return info, nil
}

// encodeTo writes m to w; what names the picture in errors ("painted", "watermarked").
func encodeTo(w io.Writer, m *dct.Image, what string) error {
	ew := &errWriter{w: w}
	if err := m.Encode(ew); err != nil {
		if ew.err != nil {
			err = ew.err
		}
		return fmt.Errorf("jpeg: writing the %s JPEG: %w", what, err)
	}
	return nil
}

// copyUnchanged writes the input as it is.
func (f *File) copyUnchanged(w io.Writer) (formats.PaintInfo, error) {
	if _, err := io.Copy(w, io.NewSectionReader(f.r, 0, f.size)); err != nil {
		return formats.PaintInfo{}, fmt.Errorf("jpeg: copying the input: %w", err)
	}
	return formats.PaintInfo{Method: "JPEG copied unchanged: the overlay does not meet the picture"}, nil
}

// paintYCbCr returns a copy of p with the overlay drawn over the pixels of clip. Luma is set per
// pixel; a chroma sample is recomputed, as the mean over the pixels it covers, only when one of
// those pixels changed, so the samples of untouched pixels stay exactly as decoded.
func paintYCbCr(p *image.YCbCr, ov image.Image, at, clip image.Rectangle) *image.YCbCr {
	q := &image.YCbCr{
		Y: append([]byte(nil), p.Y...), Cb: append([]byte(nil), p.Cb...), Cr: append([]byte(nil), p.Cr...),
		YStride: p.YStride, CStride: p.CStride, SubsampleRatio: p.SubsampleRatio, Rect: p.Rect,
	}
	hf, vf := chromaFactors(p.SubsampleRatio)
	d := ov.Bounds().Min.Sub(at.Min)
	// The new chroma of each changed pixel of clip, and which pixels changed.
	cw := clip.Dx()
	newCb, newCr := make([]byte, cw*clip.Dy()), make([]byte, cw*clip.Dy())
	changed := make([]bool, cw*clip.Dy())
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		for x := clip.Min.X; x < clip.Max.X; x++ {
			s := paint.At(ov, x+d.X, y+d.Y)
			if s.A == 0 {
				continue
			}
			yi, ci := p.YOffset(x, y), p.COffset(x, y)
			r, g, b := color.YCbCrToRGB(p.Y[yi], p.Cb[ci], p.Cr[ci])
			c := paint.To8(paint.Over(s, color.NRGBA64{uint16(r) * 0x101, uint16(g) * 0x101, uint16(b) * 0x101, 0xffff}))
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			q.Y[yi] = yy
			k := (y-clip.Min.Y)*cw + (x - clip.Min.X)
			newCb[k], newCr[k], changed[k] = cb, cr, true
		}
	}
	// Chroma samples whose pixels meet clip: average over their pixels inside the picture part p
	// holds, taking the new chroma of changed pixels and the old sample for the others.
	for cy := clip.Min.Y / vf; cy <= (clip.Max.Y-1)/vf; cy++ {
		for cx := clip.Min.X / hf; cx <= (clip.Max.X-1)/hf; cx++ {
			foot := image.Rect(cx*hf, cy*vf, cx*hf+hf, cy*vf+vf).Intersect(p.Rect)
			if foot.Empty() {
				continue
			}
			ci := p.COffset(foot.Min.X, foot.Min.Y)
			var sumCb, sumCr, n, moved int
			for y := foot.Min.Y; y < foot.Max.Y; y++ {
				for x := foot.Min.X; x < foot.Max.X; x++ {
					cb, cr := int(p.Cb[ci]), int(p.Cr[ci])
					if image.Pt(x, y).In(clip) {
						if k := (y-clip.Min.Y)*cw + (x - clip.Min.X); changed[k] {
							cb, cr = int(newCb[k]), int(newCr[k])
							moved++
						}
					}
					sumCb += cb
					sumCr += cr
					n++
				}
			}
			if moved > 0 {
				q.Cb[ci] = byte((sumCb + n/2) / n)
				q.Cr[ci] = byte((sumCr + n/2) / n)
			}
		}
	}
	return q
}

// chromaFactors returns how many pixels wide and high one chroma sample is.
func chromaFactors(r image.YCbCrSubsampleRatio) (h, v int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// paintGray returns a copy of p with the overlay drawn over the pixels of clip, as luma.
func paintGray(p *image.Gray, ov image.Image, at, clip image.Rectangle) *image.Gray {
	q := &image.Gray{Pix: append([]byte(nil), p.Pix...), Stride: p.Stride, Rect: p.Rect}
	d := ov.Bounds().Min.Sub(at.Min)
	for y := clip.Min.Y; y < clip.Max.Y; y++ {
		for x := clip.Min.X; x < clip.Max.X; x++ {
			s := paint.At(ov, x+d.X, y+d.Y)
			if s.A == 0 {
				continue
			}
			i := p.PixOffset(x, y)
			v := uint16(p.Pix[i]) * 0x101
			c := paint.To8(paint.Over(s, color.NRGBA64{v, v, v, 0xffff}))
			q.Pix[i], _, _ = color.RGBToYCbCr(c.R, c.G, c.B)
		}
	}
	return q
}

// paintFull is the fallback for JPEGs dct cannot work on: decode with image/jpeg, paint, encode
// with image/jpeg, keep the APPn and COM segments. m is the dct image when Decode succeeded
// (for its quality estimate), why is dct's error.
func (f *File) paintFull(w io.Writer, overlay formats.OverlayFunc, m *dct.Image, why error) (formats.PaintInfo, error) {
	var info formats.PaintInfo
	cfg, err := stdjpeg.DecodeConfig(io.NewSectionReader(f.r, 0, f.size))
	if err != nil {
		return info, stdError(fmt.Sprintf("reading the frame header (package dct: %v)", why), err)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPaintPixels {
		return info, fmt.Errorf("%w: JPEG picture of %dx%d pixels (%d) is larger than the %d pixels Paint decodes", formats.ErrTooLarge, cfg.Width, cfg.Height, px, MaxPaintPixels)
	}
	bounds := image.Rect(0, 0, cfg.Width, cfg.Height)
	ov, at, err := overlay(bounds)
	if err != nil {
		return info, fmt.Errorf("jpeg: making the overlay: %w", err)
	}
	if ov == nil || paint.Rect(bounds, ov, at).Empty() {
		return f.copyUnchanged(w)
	}
	segs, err := f.keptSegments(cfg.ColorModel == color.CMYKModel)
	if err != nil {
		return info, err
	}
	src, err := stdjpeg.Decode(io.NewSectionReader(f.r, 0, f.size))
	if err != nil {
		return info, stdError(fmt.Sprintf("decoding the picture (package dct: %v)", why), err)
	}
	if src.Bounds() != bounds {
		return info, fmt.Errorf("%w: JPEG decoded to %v, its frame header says %v", formats.ErrMalformed, src.Bounds(), bounds)
	}
	pic := image.NewNRGBA(bounds)
	draw.Draw(pic, bounds, src, bounds.Min, draw.Src)
	paint.Composite(pic, ov, at)
	var out image.Image = pic
	if _, gray := src.(*image.Gray); gray {
		g := image.NewGray(bounds)
		draw.Draw(g, bounds, pic, bounds.Min, draw.Src)
		out = g
	}
	q := fallbackQuality
	if m != nil {
		q, _ = m.Quality()
	}
	var enc bytes.Buffer
	if err := stdjpeg.Encode(&enc, out, &stdjpeg.Options{Quality: q}); err != nil {
		return info, fmt.Errorf("jpeg: encoding the painted picture: %w", err)
	}
	e := enc.Bytes()
	if len(e) < 2 || e[0] != 0xFF || e[1] != mSOI {
		return info, errors.New("jpeg: internal error: image/jpeg wrote no SOI")
	}
	ew := &errWriter{w: w}
	ew.Write(e[:2])
	for _, s := range segs {
		ew.Write(s)
	}
	ew.Write(e[2:])
	if ew.err != nil {
		return info, fmt.Errorf("jpeg: writing the painted JPEG: %w", ew.err)
	}
	info.Changed = bounds
	info.Method = fmt.Sprintf("JPEG fully re-encoded at quality %d (package dct: %v)", q, why)
	return info, nil
}

// stdError wraps an image/jpeg error with the shared error kinds.
func stdError(what string, err error) error {
	var ue stdjpeg.UnsupportedError
	if errors.As(err, &ue) {
		return fmt.Errorf("%w: JPEG: %s: %v", formats.ErrUnsupported, what, err)
	}
	var fe stdjpeg.FormatError
	if errors.As(err, &fe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: JPEG: %s: %v", formats.ErrMalformed, what, err)
	}
	return fmt.Errorf("jpeg: %s: %w", what, err)
}

// keptSegments returns the APPn and COM segments before the first SOS, whole (marker, length and
// payload), in their order, without Adobe APP14 and, when cmyk is set, without ICC_PROFILE APP2.
func (f *File) keptSegments(cmyk bool) ([][]byte, error) {
	var segs [][]byte
	br := formats.NewWindowReader(f.r, f.size, "JPEG")
	pos := int64(2)
	for {
		if f.size-pos < 2 {
			return nil, malformed(pos, "the file ends before a start-of-scan (SOS) segment")
		}
		b, err := br.At(pos, 2)
		if err != nil {
			return nil, err
		}
		if b[0] != 0xFF {
			return nil, malformed(pos, "expected a marker (FF), found byte %02X", b[0])
		}
		if b[1] == 0xFF { // fill byte
			pos++
			continue
		}
		m := b[1]
		if m == mTEM || (m >= mRST0 && m <= mRST7) {
			pos += 2
			continue
		}
		if m == mSOS {
			return segs, nil
		}
		if m == mSOI || m == mEOI || m == 0 {
			return nil, malformed(pos, "marker FF%02X before any start-of-scan segment", m)
		}
		if f.size-pos < 4 {
			return nil, malformed(pos, "the file ends inside the length of marker FF%02X", m)
		}
		h, err := br.At(pos, 4)
		if err != nil {
			return nil, err
		}
		n := int64(binary.BigEndian.Uint16(h[2:]))
		if n < 2 || n > f.size-pos-2 {
			return nil, malformed(pos, "segment FF%02X of %d bytes does not fit the file", m, n)
		}
		if (m >= 0xE0 && m <= 0xEF) || m == 0xFE {
			seg := make([]byte, 2+n)
			if err := readAt(f.r, seg, pos); err != nil {
				return nil, err
			}
			p := seg[4:]
			adobe := m == 0xEE && bytes.HasPrefix(p, []byte("Adobe"))
			icc := m == 0xE2 && bytes.HasPrefix(p, []byte("ICC_PROFILE\x00"))
			if !adobe && !(cmyk && icc) {
				segs = append(segs, seg)
			}
		}
		pos += 2 + n
	}
}

// mcuSize returns the MCU size in pixels: 8 times the largest sampling factors.
func mcuSize(m *dct.Image) (w, h int) {
	hmax, vmax := 1, 1
	if len(m.Components) > 1 {
		for _, c := range m.Components {
			hmax, vmax = max(hmax, c.H), max(vmax, c.V)
		}
	}
	return 8 * hmax, 8 * vmax
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// errWriter remembers the first write error and fails every later write.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
