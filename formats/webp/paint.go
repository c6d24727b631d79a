package webp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"

	"github.com/HugoSmits86/nativewebp"
	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/paint"
	libwebp "github.com/gen2brain/webp"
	xwebp "golang.org/x/image/webp"
)

// MaxPaintPixels is the largest picture (width times height) Paint decodes. It is checked against
// the VP8X canvas and the VP8/VP8L frame header before anything is decoded. It is lower than the
// other containers' limit because Paint, mostly the lossless encoder, allocates about 65 bytes a
// pixel (780 MB for 12 megapixels): 16 megapixels bound one call to about 1 GB. Larger pictures
// are labeled without a visible warning (the labeler says so).
const MaxPaintPixels = 16_000_000

// Paint composites the overlay onto the picture and writes the WebP to w.
//
// The picture is decoded with golang.org/x/image/webp into 8-bit NRGBA (a lossy picture through
// the standard YCbCr conversion of image/color, with nearest-neighbour chroma as that decoder
// gives it), the overlay is drawn over it (Porter-Duff "over") and the result is encoded
// losslessly (VP8L) with github.com/HugoSmits86/nativewebp. The encoded picture is decoded again
// and compared with the painted one before anything is written, so a faulty encoding is an error,
// never a damaged file. Every pixel outside PaintInfo.Changed therefore decodes (with
// x/image/webp) exactly as the input did; for lossy input the output is lossless and larger,
// and decoders that upsample chroma differently (libwebp's "fancy" upsampling) see the input's
// pixels as they saw them before only up to their own conversion.
//
// The output keeps the input's chunks in their order (ICCP, EXIF, XMP, unknown chunks and any
// C2PA chunk byte for byte); the image chunks (VP8 with ALPH, or VP8L) are replaced by one VP8L
// chunk. A VP8X chunk keeps its canvas size and its ICC, EXIF and XMP flags, with the alpha flag
// set when the painted picture has transparency. Bytes after the RIFF chunk are not written.
//
// Animated WebP is refused with an error wrapping formats.ErrUnsupported; a picture of more than
// MaxPaintPixels pixels with one wrapping formats.ErrTooLarge, before decoding. When the overlay
// does not meet the picture the input is copied unchanged and Changed is empty. Paint reads the
// input through the io.ReaderAt given to Open, which must still be readable.
func (f *File) Paint(w io.Writer, overlay formats.OverlayFunc) (formats.PaintInfo, error) {
	return f.edit(w, "Paint", "pixels outside the badge equal the decoded lossy input exactly", func(bounds image.Rectangle) (func(*image.NRGBA) (image.Rectangle, error), string, error) {
		ov, at, err := overlay(bounds)
		if err != nil {
			return nil, "", fmt.Errorf("webp: making the overlay: %w", err)
		}
		if ov == nil || paint.Rect(bounds, ov, at).Empty() {
			return nil, "WebP copied unchanged: the overlay does not meet the picture", nil
		}
		return func(pic *image.NRGBA) (image.Rectangle, error) { return paint.Composite(pic, ov, at), nil }, "", nil
	})
}

// AddLuma adds the luma change mark makes for the decoded picture (an invisible watermark) and
// writes the WebP to w, losslessly (VP8L) and with every other chunk kept, as Paint does. Equal
// amounts are added to R, G and B; samples are rounded and clipped. Changed is the whole picture.
// A lossy input becomes lossless, and larger.
func (f *File) AddLuma(w io.Writer, mark formats.LumaFunc) (formats.PaintInfo, error) {
	return f.edit(w, "AddLuma", "pixels equal the decoded lossy input plus the watermark's change", func(bounds image.Rectangle) (func(*image.NRGBA) (image.Rectangle, error), string, error) {
		return func(pic *image.NRGBA) (image.Rectangle, error) {
			d, err := mark(pic)
			if err != nil {
				return image.Rectangle{}, err
			}
			return paint.AddLuma(pic, d)
		}, "", nil
	})
}

// edit decodes the picture, lets the function plan returns change it, and writes the WebP back.
// plan may answer no function and a reason: the input is then copied unchanged.
func (f *File) edit(w io.Writer, op, lossyNote string, plan func(bounds image.Rectangle) (func(*image.NRGBA) (image.Rectangle, error), string, error)) (formats.PaintInfo, error) {
	var info formats.PaintInfo
	if f.r == nil {
		return info, fmt.Errorf("webp: %s needs a File made by Open", op)
	}
	if f.hasANIM || (f.vp8x != nil && f.vp8x[0]&flagAnimation != 0) {
		return info, fmt.Errorf("%w: animated WebP: %s works on still pictures only", formats.ErrUnsupported, op)
	}
	imgID, err := f.imageChunk()
	if err != nil {
		return info, err
	}
	width, height, err := f.size()
	if err != nil {
		return info, err
	}

	bounds := image.Rect(0, 0, width, height)
	apply, why, err := plan(bounds)
	if err != nil {
		return info, err
	}
	if apply == nil {
		if _, err := io.Copy(w, io.NewSectionReader(f.r, 0, f.riffEnd)); err != nil {
			return info, fmt.Errorf("webp: copying the input: %w", err)
		}
		info.Method = why
		return info, nil
	}

	pic, err := f.decode(imgID)
	if err != nil {
		return info, err
	}
	if pic.Bounds() != bounds {
		return info, fmt.Errorf("%w: WebP decoded to %v, its headers say %v", formats.ErrMalformed, pic.Bounds(), bounds)
	}
	if info.Changed, err = apply(pic); err != nil {
		return info, fmt.Errorf("webp: %s: %w", op, err)
	}

	vp8l, err := encodeLossless(pic)
	if err != nil {
		return info, err
	}
	hasAlpha := !pic.Opaque()
	n, err := f.mux(w, vp8l, hasAlpha)
	if err != nil {
		return info, fmt.Errorf("webp: writing the painted WebP: %w", err)
	}
	if imgID == "VP8L" {
		info.Method = fmt.Sprintf("WebP lossless (VP8L), re-encoded losslessly; %d bytes, was %d", n, f.riffEnd)
	} else {
		info.Method = fmt.Sprintf("WebP lossy (VP8) input re-encoded losslessly (VP8L): %s; %d bytes, was %d", lossyNote, n, f.riffEnd)
	}
	return info, nil
}

// imageChunk returns the FourCC of the first VP8 or VP8L chunk ("VP8 " or "VP8L").
func (f *File) imageChunk() (string, error) {
	for _, r := range f.runs {
		if r.k != kImage {
			continue
		}
		// A run of image chunks: ALPH then VP8, or VP8L.
		for off := r.off; off+8 <= r.end; {
			var h [8]byte
			if _, err := f.r.ReadAt(h[:], off); err != nil {
				return "", fmt.Errorf("webp: reading the chunk header at offset %d: %w", off, err)
			}
			id := string(h[:4])
			if id == "VP8 " || id == "VP8L" {
				return id, nil
			}
			n := int64(binary.LittleEndian.Uint32(h[4:]))
			off += 8 + n + n&1
		}
	}
	return "", fmt.Errorf("%w: WebP has no VP8 or VP8L chunk", formats.ErrMalformed)
}

// size returns the picture's size from the VP8X canvas and the frame header, checked against
// MaxPaintPixels and against each other.
func (f *File) size() (w, h int, err error) {
	check := func(w, h int, what string) error {
		if px := int64(w) * int64(h); px > MaxPaintPixels {
			return fmt.Errorf("%w: WebP %s of %dx%d pixels (%d) is larger than the %d pixels Paint decodes", formats.ErrTooLarge, what, w, h, px, MaxPaintPixels)
		}
		return nil
	}
	if f.width > 0 && f.height > 0 {
		if err := check(f.width, f.height, "frame"); err != nil {
			return 0, 0, err
		}
	}
	if f.vp8x == nil {
		if f.width == 0 || f.height == 0 {
			return 0, 0, fmt.Errorf("%w: WebP frame header unreadable: no picture size", formats.ErrMalformed)
		}
		return f.width, f.height, nil
	}
	cw := int(uint32(f.vp8x[4])|uint32(f.vp8x[5])<<8|uint32(f.vp8x[6])<<16) + 1
	ch := int(uint32(f.vp8x[7])|uint32(f.vp8x[8])<<8|uint32(f.vp8x[9])<<16) + 1
	if err := check(cw, ch, "VP8X canvas"); err != nil {
		return 0, 0, err
	}
	if f.width > 0 && (f.width != cw || f.height != ch) {
		return 0, 0, fmt.Errorf("%w: WebP VP8X canvas is %dx%d but the frame is %dx%d", formats.ErrMalformed, cw, ch, f.width, f.height)
	}
	return cw, ch, nil
}

// decode decodes the picture with x/image/webp into NRGBA. That decoder refuses a VP8L picture
// whose VP8X chunk has the alpha flag (which the WebP container specification asks for when the
// VP8L picture has transparency), so it is shown the file with that flag cleared.
func (f *File) decode(imgID string) (*image.NRGBA, error) {
	var src io.Reader = io.NewSectionReader(f.r, 0, f.riffEnd)
	if f.vp8x != nil && f.vp8x[0]&flagAlpha != 0 && imgID == "VP8L" {
		head := make([]byte, 30)
		if _, err := f.r.ReadAt(head, 0); err != nil {
			return nil, fmt.Errorf("webp: reading the VP8X chunk: %w", err)
		}
		head[20] &^= flagAlpha
		src = io.MultiReader(bytes.NewReader(head), io.NewSectionReader(f.r, 30, f.riffEnd-30))
	}
	rr := &recordingReader{r: src}
	m, err := xwebp.Decode(rr)
	if err != nil {
		if rr.err != nil {
			return nil, fmt.Errorf("webp: reading the input: %w", rr.err)
		}
		return nil, fmt.Errorf("%w: WebP: decoding the picture: %v", formats.ErrMalformed, err)
	}
	return toNRGBA(m)
}

// toNRGBA converts what x/image/webp returns to NRGBA without losing anything it decoded.
func toNRGBA(m image.Image) (*image.NRGBA, error) {
	switch m := m.(type) {
	case *image.NRGBA:
		return m, nil
	case *image.YCbCr:
		return fromYCbCr(m, nil, 0), nil
	case *image.NYCbCrA:
		return fromYCbCr(&m.YCbCr, m.A, m.AStride), nil
	}
	return nil, fmt.Errorf("%w: WebP decoded to an unexpected %T", formats.ErrUnsupported, m)
}

// fromYCbCr converts with color.YCbCrToRGB, the conversion of color.YCbCr; alpha, when given, is
// non-premultiplied as in NYCbCrA.
func fromYCbCr(m *image.YCbCr, alpha []byte, aStride int) *image.NRGBA {
	r := m.Rect
	d := image.NewNRGBA(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		p := d.Pix[d.PixOffset(r.Min.X, y):]
		for x := r.Min.X; x < r.Max.X; x++ {
			yi, ci := m.YOffset(x, y), m.COffset(x, y)
			cr, cg, cb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
			a := byte(0xff)
			if alpha != nil {
				a = alpha[(y-r.Min.Y)*aStride+(x-r.Min.X)]
			}
			i := 4 * (x - r.Min.X)
			p[i], p[i+1], p[i+2], p[i+3] = cr, cg, cb, a
		}
	}
	return d
}

// encodeLossless encodes pic as a VP8L bitstream (the data of a VP8L chunk) and checks that
// x/image/webp decodes it to exactly pic. It uses nativewebp (pure Go, fast to start), and when
// that fails on a picture (v1.2.0 gives up on noise-like content) libwebp through
// github.com/gen2brain/webp (WebAssembly run by wazero, or the system's libwebp when present).
func encodeLossless(pic *image.NRGBA) ([]byte, error) {
	vp8l, err := checkedLossless(pic, func(buf *bytes.Buffer) (err error) {
		// nativewebp v1.2.0 panics on some pictures (noise-like content makes a code length
		// that does not fit its bit writer); report that as an error.
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("the lossless encoder failed on this picture: %v", r)
			}
		}()
		return nativewebp.Encode(buf, pic, nil)
	})
	if err == nil {
		return vp8l, nil
	}
	vp8l, err2 := checkedLossless(pic, func(buf *bytes.Buffer) error {
		return libwebp.Encode(buf, pic, libwebp.Options{Lossless: true, Exact: true, Method: 4})
	})
	if err2 != nil {
		return nil, fmt.Errorf("webp: encoding the painted picture: %v; libwebp: %w", err, err2)
	}
	return vp8l, nil
}

// checkedLossless runs encode and returns the VP8L chunk data of its output once x/image/webp
// decodes that to exactly pic.
func checkedLossless(pic *image.NRGBA, encode func(*bytes.Buffer) error) (vp8l []byte, err error) {
	var buf bytes.Buffer
	if err := encode(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	if len(b) < 20 || string(b[:4]) != "RIFF" || string(b[8:16]) != "WEBPVP8L" {
		return nil, errors.New("webp: internal error: the lossless encoder did not write RIFF/WEBP/VP8L")
	}
	n := int(binary.LittleEndian.Uint32(b[16:]))
	if n > len(b)-20 {
		return nil, errors.New("webp: internal error: the lossless encoder's VP8L chunk runs past its output")
	}
	got, err := xwebp.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("webp: internal error: the lossless encoding does not decode: %w", err)
	}
	g, ok := got.(*image.NRGBA)
	if !ok || g.Rect.Size() != pic.Rect.Size() {
		return nil, fmt.Errorf("webp: internal error: the lossless encoding decodes to %T %v", got, got.Bounds())
	}
	row := 4 * pic.Rect.Dx()
	for y := 0; y < pic.Rect.Dy(); y++ {
		if !bytes.Equal(g.Pix[y*g.Stride:y*g.Stride+row], pic.Pix[y*pic.Stride:y*pic.Stride+row]) {
			return nil, fmt.Errorf("webp: internal error: the lossless encoding decodes to other pixels (row %d)", y)
		}
	}
	return b[20 : 20+n], nil
}

// mux writes the output RIFF: the input's chunks in order with the image chunks replaced by a
// VP8L chunk holding vp8l, and the VP8X flags patched. It returns the bytes written.
func (f *File) mux(w io.Writer, vp8l []byte, hasAlpha bool) (int64, error) {
	body := int64(4) // "WEBP"
	imageDone := false
	for _, r := range f.runs {
		if r.k == kImage {
			if !imageDone {
				body += 8 + int64(len(vp8l)) + int64(len(vp8l)&1)
				imageDone = true
			}
			continue
		}
		body += r.end - r.off
	}
	if body > 0xffffffff {
		return 0, fmt.Errorf("%w: WebP output of %d bytes does not fit a RIFF size", formats.ErrTooLarge, body+8)
	}
	cw := &countWriter{w: w}
	hdr := make([]byte, 12)
	copy(hdr, "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(body))
	copy(hdr[8:], "WEBP")
	cw.write(hdr)
	imageDone = false
	for _, r := range f.runs {
		switch {
		case r.k == kImage:
			if !imageDone {
				cw.write(Chunk("VP8L", vp8l))
				imageDone = true
			}
		case r.k == kVP8X:
			// The VP8X chunk is alone in its run and first (Open checks it is at offset 12).
			d := append([]byte(nil), f.vp8x...)
			d[0] &^= flagAlpha | flagICC | flagEXIF | flagXMP
			if hasAlpha {
				d[0] |= flagAlpha
			}
			if f.hasICCP {
				d[0] |= flagICC
			}
			if f.hasEXIF {
				d[0] |= flagEXIF
			}
			if f.hasXMP {
				d[0] |= flagXMP
			}
			h := make([]byte, 8)
			copy(h, "VP8X")
			binary.LittleEndian.PutUint32(h[4:], uint32(f.vp8xSize))
			cw.write(h)
			cw.write(d)
			cw.copy(f.r, r.off+18, r.end) // bytes past the first 10, and the pad byte
		default:
			cw.copy(f.r, r.off, r.end)
		}
	}
	return cw.n, cw.err
}

// countWriter counts the bytes written and remembers the first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) write(b []byte) {
	if c.err == nil {
		var k int
		k, c.err = c.w.Write(b)
		c.n += int64(k)
	}
}

func (c *countWriter) copy(r io.ReaderAt, off, end int64) {
	if c.err != nil || end <= off {
		return
	}
	k, err := io.Copy(c.w, io.NewSectionReader(r, off, end-off))
	c.n += k
	if err == nil && k != end-off {
		err = io.ErrUnexpectedEOF
	}
	c.err = err
}

// recordingReader remembers the first error of its reader other than io.EOF.
type recordingReader struct {
	r   io.Reader
	err error
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}
