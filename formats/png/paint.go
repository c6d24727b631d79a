package png

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	stdpng "image/png"
	"io"
	"strings"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/paint"
)

// Limits of Paint.
const (
	// MaxPaintPixels is the largest picture (width times height) Paint decodes. It is checked
	// against IHDR before anything is decoded.
	MaxPaintPixels = 120_000_000
	// idatChunkLen is the largest IDAT chunk Paint writes.
	idatChunkLen = 1 << 20
	// maxInflate bounds the zlib expansion ratio (deflate's limit is about 1032:1).
	maxInflate = 1040
)

// PNG colour types (IHDR).
const (
	ctGray      = 0
	ctRGB       = 2
	ctPalette   = 3
	ctGrayAlpha = 4
	ctRGBA      = 6
)

var colourName = map[byte]string{ctGray: "grey", ctRGB: "RGB", ctPalette: "palette", ctGrayAlpha: "grey+alpha", ctRGBA: "RGBA"}

// ihdr is the parsed IHDR chunk.
type ihdr struct {
	width, height uint32
	depth, ctype  byte
	interlace     byte
}

// chunkAt is a chunk header: the chunk spans [off, end) of the input, data included.
type chunkAt struct {
	off, end int64
	n        int64 // data length
	typ      string
}

// Paint composites the overlay onto the picture and writes the PNG to w. The picture is decoded
// with image/png and converted, without losing anything, to 8-bit NRGBA (8-bit and lower depths,
// palette and grey included) or 16-bit NRGBA64 (16-bit input); the overlay is drawn over it
// (Porter-Duff "over") and the result is encoded again with image/png at the default
// compression level, so every pixel outside PaintInfo.Changed decodes exactly as before.
//
// The output keeps the input's chunks in their order. IHDR is rebuilt for the new colour type
// and bit depth and is never interlaced (Adam7 input is written non-interlaced); the IDAT
// chunks are replaced by the new image data, split into chunks of at most 1 MiB; tRNS is
// dropped (transparency is now in the alpha channel); PLTE and hIST are dropped when the input
// was paletted; bKGD is converted to the new colour type; sBIT is dropped when the colour type
// or bit depth changed. Every other chunk (iCCP, gAMA, cHRM, sRGB, pHYs, tEXt, zTXt, iTXt with
// XMP, eXIf, caBX, unknown ancillary chunks …) is copied byte for byte. Bytes after IEND are
// not written.
//
// Animated PNG (acTL) and unknown critical chunks are refused with an error wrapping
// formats.ErrUnsupported; a picture of more than MaxPaintPixels pixels with one wrapping
// formats.ErrTooLarge, before decoding. When the overlay does not meet the picture the input is
// copied unchanged and Changed is empty. Paint reads the input through the io.ReaderAt given to
// Open, which must still be readable.
func (f *File) Paint(w io.Writer, overlay formats.OverlayFunc) (formats.PaintInfo, error) {
	return f.edit(w, "Paint", func(bounds image.Rectangle) (func(draw.Image) (image.Rectangle, error), string, error) {
		ov, at, err := overlay(bounds)
		if err != nil {
			return nil, "", fmt.Errorf("png: making the overlay: %w", err)
		}
		if ov == nil || paint.Rect(bounds, ov, at).Empty() {
			return nil, "PNG copied unchanged: the overlay does not meet the picture", nil
		}
		return func(dst draw.Image) (image.Rectangle, error) { return paint.Composite(dst, ov, at), nil }, "", nil
	})
}

// AddLuma adds the luma change mark makes for the decoded picture (an invisible watermark) and
// writes the PNG to w, re-encoded losslessly and with every other chunk kept, as Paint does.
// Equal amounts are added to R, G and B, so luma changes by the delta and chroma does not;
// samples are rounded and clipped. Changed is the whole picture.
func (f *File) AddLuma(w io.Writer, mark formats.LumaFunc) (formats.PaintInfo, error) {
	return f.edit(w, "AddLuma", func(bounds image.Rectangle) (func(draw.Image) (image.Rectangle, error), string, error) {
		return func(dst draw.Image) (image.Rectangle, error) {
			d, err := mark(dst)
			if err != nil {
				return image.Rectangle{}, err
			}
			return paint.AddLuma(dst, d)
		}, "", nil
	})
}

// edit decodes the picture, lets the function plan returns change it, and writes the PNG back.
// plan may answer no function and a reason: the input is then copied unchanged.
func (f *File) edit(w io.Writer, op string, plan func(bounds image.Rectangle) (func(draw.Image) (image.Rectangle, error), string, error)) (formats.PaintInfo, error) {
	var info formats.PaintInfo
	if f.r == nil {
		return info, fmt.Errorf("png: %s needs a File made by Open", op)
	}
	hdrData, err := readChunk(f.r, int64(len(Signature)), "IHDR", 13)
	if err != nil {
		return info, err
	}
	h := ihdr{
		width:     binary.BigEndian.Uint32(hdrData[0:]),
		height:    binary.BigEndian.Uint32(hdrData[4:]),
		depth:     hdrData[8],
		ctype:     hdrData[9],
		interlace: hdrData[12],
	}
	if h.width == 0 || h.height == 0 || h.width > maxChunkLen || h.height > maxChunkLen {
		return info, fmt.Errorf("%w: PNG IHDR gives a picture of %dx%d pixels", formats.ErrMalformed, h.width, h.height)
	}
	if px := uint64(h.width) * uint64(h.height); px > MaxPaintPixels {
		return info, fmt.Errorf("%w: PNG picture of %dx%d pixels (%d) is larger than the %d pixels Paint decodes", formats.ErrTooLarge, h.width, h.height, px, MaxPaintPixels)
	}
	bpp, ok := bitsPerPixel(h.ctype, h.depth)
	if !ok {
		return info, fmt.Errorf("%w: PNG IHDR has colour type %d with bit depth %d", formats.ErrMalformed, h.ctype, h.depth)
	}

	// Look at the chunks before decoding: refuse what cannot be repainted, keep the palette for bKGD.
	var plte []byte
	var idatLen int64
	err = f.walk(func(c chunkAt) error {
		switch {
		case c.typ == "IDAT":
			idatLen += c.n
		case c.typ == "acTL":
			return fmt.Errorf("%w: animated PNG (APNG: acTL chunk at offset %d): Paint draws on still pictures only", formats.ErrUnsupported, c.off)
		case c.typ == "PLTE" && plte == nil:
			if c.n > 3*256 || c.n%3 != 0 {
				return fmt.Errorf("%w: PNG PLTE chunk at offset %d has %d bytes", formats.ErrMalformed, c.off, c.n)
			}
			d, err := readChunk(f.r, c.off, c.typ, c.n)
			if err != nil {
				return err
			}
			plte = d
		case isCritical(c.typ) && !knownCritical(c.typ):
			return fmt.Errorf("%w: PNG has an unknown critical chunk %q at offset %d", formats.ErrUnsupported, c.typ, c.off)
		}
		return nil
	})
	if err != nil {
		return info, err
	}
	// zlib inflates at most about 1032 bytes from one: a picture that needs far more than its
	// IDAT chunks could hold is truncated, and is refused before its pixels are allocated.
	if raw := uint64(h.width) * uint64(h.height) * uint64(bpp) / 8; raw > uint64(idatLen)*maxInflate+4096 {
		return info, fmt.Errorf("%w: PNG IDAT chunks hold %d bytes, too few for a %dx%d picture (%d bytes of samples)", formats.ErrMalformed, idatLen, h.width, h.height, raw)
	}

	bounds := image.Rect(0, 0, int(h.width), int(h.height))
	apply, why, err := plan(bounds)
	if err != nil {
		return info, err
	}
	if apply == nil {
		if _, err := io.Copy(w, io.NewSectionReader(f.r, 0, f.iendEnd)); err != nil {
			return info, fmt.Errorf("png: copying the input: %w", err)
		}
		info.Method = why
		return info, nil
	}

	rr := &recordingReader{r: io.NewSectionReader(f.r, 0, f.iendEnd)}
	src, err := stdpng.Decode(rr)
	if err != nil {
		return info, decodeError(err, rr.err)
	}
	if src.Bounds() != bounds {
		return info, fmt.Errorf("%w: PNG decoded to %v, IHDR says %v", formats.ErrMalformed, src.Bounds(), bounds)
	}
	dst := drawable(src)
	if info.Changed, err = apply(dst); err != nil {
		return info, fmt.Errorf("png: %s: %w", op, err)
	}

	var enc bytes.Buffer
	e := stdpng.Encoder{CompressionLevel: stdpng.DefaultCompression}
	if err := e.Encode(&enc, dst); err != nil {
		return info, fmt.Errorf("png: encoding the painted picture: %w", err)
	}
	newHdr, idat, err := splitEncoded(enc.Bytes())
	if err != nil {
		return info, err
	}
	nh := ihdr{depth: newHdr[8], ctype: newHdr[9]}
	same := nh.depth == h.depth && nh.ctype == h.ctype

	var dropped []string
	drop := func(typ string) {
		for _, d := range dropped {
			if d == typ {
				return
			}
		}
		dropped = append(dropped, typ)
	}
	out := &errWriter{w: w}
	out.write([]byte(Signature))
	wroteIDAT := false
	err = f.walk(func(c chunkAt) error {
		switch c.typ {
		case "IHDR":
			out.write(Chunk("IHDR", newHdr))
		case "IDAT":
			if !wroteIDAT {
				for len(idat) > 0 {
					k := min(len(idat), idatChunkLen)
					out.write(Chunk("IDAT", idat[:k]))
					idat = idat[k:]
				}
				wroteIDAT = true
			}
		case "tRNS":
			drop(c.typ)
		case "PLTE", "hIST":
			if h.ctype == ctPalette {
				drop(c.typ)
				return nil
			}
			return f.copyChunk(out, c)
		case "sBIT":
			if !same {
				drop(c.typ)
				return nil
			}
			return f.copyChunk(out, c)
		case "bKGD":
			if same {
				return f.copyChunk(out, c)
			}
			d, err := readChunk(f.r, c.off, c.typ, min(c.n, 16))
			if err != nil {
				return err
			}
			if nb := convertBKGD(d, h, nh, plte); nb != nil {
				out.write(Chunk("bKGD", nb))
			} else {
				drop(c.typ)
			}
		default:
			return f.copyChunk(out, c)
		}
		return out.err
	})
	if err == nil {
		err = out.err
	}
	if err != nil {
		return info, fmt.Errorf("png: writing the painted PNG: %w", err)
	}

	var m strings.Builder
	fmt.Fprintf(&m, "PNG re-encoded losslessly as %d-bit %s", nh.depth, colourName[nh.ctype])
	if !same {
		fmt.Fprintf(&m, " (was %d-bit %s)", h.depth, colourName[h.ctype])
	}
	if h.interlace != 0 {
		m.WriteString("; the Adam7-interlaced input is written non-interlaced")
	}
	if len(dropped) > 0 {
		fmt.Fprintf(&m, "; dropped %s", strings.Join(dropped, ", "))
	}
	info.Method = m.String()
	return info, nil
}

// walk calls fn for every chunk from IHDR to IEND. Open has checked the lengths; they are checked
// again here so a File is never trusted beyond its input.
func (f *File) walk(fn func(c chunkAt) error) error {
	br := formats.NewWindowReader(f.r, f.iendEnd, "PNG")
	for off := int64(len(Signature)); off < f.iendEnd; {
		if f.iendEnd-off < 12 {
			return fmt.Errorf("%w: PNG chunk header at offset %d runs past IEND", formats.ErrMalformed, off)
		}
		hd, err := br.At(off, 8)
		if err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint32(hd))
		if n > f.iendEnd-off-12 {
			return fmt.Errorf("%w: PNG chunk at offset %d: length %d runs past IEND", formats.ErrMalformed, off, n)
		}
		c := chunkAt{off: off, end: off + 12 + n, n: n, typ: string(hd[4:8])}
		if err := fn(c); err != nil {
			return err
		}
		off = c.end
	}
	return nil
}

// copyChunk copies a whole chunk of the input (length, type, data and CRC) to out.
func (f *File) copyChunk(out *errWriter, c chunkAt) error {
	if out.err != nil {
		return out.err
	}
	n, err := io.Copy(out.w, io.NewSectionReader(f.r, c.off, c.end-c.off))
	if err == nil && n != c.end-c.off {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		out.err = fmt.Errorf("copying chunk %q at offset %d: %w", c.typ, c.off, err)
	}
	return out.err
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

// bitsPerPixel returns the bits a pixel takes for a valid colour type and bit depth.
func bitsPerPixel(ctype, depth byte) (int, bool) {
	ok := func(depths ...byte) bool {
		for _, d := range depths {
			if d == depth {
				return true
			}
		}
		return false
	}
	switch ctype {
	case ctGray:
		return int(depth), ok(1, 2, 4, 8, 16)
	case ctPalette:
		return int(depth), ok(1, 2, 4, 8)
	case ctRGB:
		return 3 * int(depth), ok(8, 16)
	case ctGrayAlpha:
		return 2 * int(depth), ok(8, 16)
	case ctRGBA:
		return 4 * int(depth), ok(8, 16)
	}
	return 0, false
}

func isCritical(typ string) bool { return typ[0] >= 'A' && typ[0] <= 'Z' }

func knownCritical(typ string) bool {
	return typ == "IHDR" || typ == "PLTE" || typ == "IDAT" || typ == "IEND"
}

// decodeError wraps an image/png error with the shared error kinds: a read error of the input
// is passed on, an unsupported feature is ErrUnsupported, and anything else (bad zlib data, bad
// filter bytes, too little data …) is a malformed file.
func decodeError(err, readErr error) error {
	var ue stdpng.UnsupportedError
	switch {
	case readErr != nil:
		return fmt.Errorf("png: reading the input: %w", readErr)
	case errors.As(err, &ue):
		return fmt.Errorf("%w: PNG: decoding the picture: %v", formats.ErrUnsupported, err)
	}
	return fmt.Errorf("%w: PNG: decoding the picture: %v", formats.ErrMalformed, err)
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

// drawable returns the picture as *image.NRGBA (8 bits a sample or fewer) or *image.NRGBA64
// (16 bits), with every colour exactly as decoded. Opaque RGB(A) pictures are reused in place.
func drawable(src image.Image) draw.Image {
	switch m := src.(type) {
	case *image.NRGBA:
		return m
	case *image.NRGBA64:
		return m
	case *image.RGBA:
		// image/png returns RGBA only for truecolour without tRNS, where every alpha is 0xff,
		// so premultiplied and non-premultiplied are the same bytes.
		if m.Opaque() {
			return &image.NRGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
		}
	case *image.RGBA64:
		if m.Opaque() {
			return &image.NRGBA64{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
		}
	case *image.Gray:
		d := image.NewNRGBA(m.Rect)
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			s := m.Pix[m.PixOffset(m.Rect.Min.X, y):]
			p := d.Pix[d.PixOffset(m.Rect.Min.X, y):]
			for x := 0; x < m.Rect.Dx(); x++ {
				v := s[x]
				p[4*x], p[4*x+1], p[4*x+2], p[4*x+3] = v, v, v, 0xff
			}
		}
		return d
	case *image.Paletted:
		var lut [256][4]byte
		for i, c := range m.Palette {
			n := paint.NRGBA64(c)
			lut[i] = [4]byte{byte(n.R >> 8), byte(n.G >> 8), byte(n.B >> 8), byte(n.A >> 8)}
		}
		d := image.NewNRGBA(m.Rect)
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			s := m.Pix[m.PixOffset(m.Rect.Min.X, y):]
			p := d.Pix[d.PixOffset(m.Rect.Min.X, y):]
			for x := 0; x < m.Rect.Dx(); x++ {
				copy(p[4*x:4*x+4], lut[s[x]][:])
			}
		}
		return d
	case *image.Gray16:
		d := image.NewNRGBA64(m.Rect)
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			s := m.Pix[m.PixOffset(m.Rect.Min.X, y):]
			p := d.Pix[d.PixOffset(m.Rect.Min.X, y):]
			for x := 0; x < m.Rect.Dx(); x++ {
				hi, lo := s[2*x], s[2*x+1]
				q := p[8*x : 8*x+8 : 8*x+8]
				q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7] = hi, lo, hi, lo, hi, lo, 0xff, 0xff
			}
		}
		return d
	}
	// Anything else: 16 bits a sample, through the exact non-premultiplied conversion.
	b := src.Bounds()
	d := image.NewNRGBA64(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			d.SetNRGBA64(x, y, paint.NRGBA64(src.At(x, y)))
		}
	}
	return d
}

// splitEncoded returns the IHDR data and the concatenated IDAT data of a PNG made by image/png.
func splitEncoded(b []byte) (hdr, idat []byte, err error) {
	if !bytes.HasPrefix(b, []byte(Signature)) {
		return nil, nil, errors.New("png: internal error: the encoder wrote no PNG signature")
	}
	b = b[len(Signature):]
	for len(b) >= 12 {
		n := int(binary.BigEndian.Uint32(b))
		if n > len(b)-12 {
			break
		}
		typ, data := string(b[4:8]), b[8:8+n]
		switch typ {
		case "IHDR":
			hdr = data
		case "IDAT":
			idat = append(idat, data...)
		case "IEND":
			switch {
			case len(hdr) != 13 || len(idat) == 0:
				return nil, nil, errors.New("png: internal error: the encoder wrote IEND without IHDR or IDAT")
			case hdr[12] != 0:
				return nil, nil, errors.New("png: internal error: the encoder wrote an interlaced PNG")
			}
			return hdr, idat, nil
		}
		b = b[12+n:]
	}
	return nil, nil, errors.New("png: internal error: the encoder's output has no IHDR, IDAT and IEND")
}

// convertBKGD converts bKGD data from the input's colour type and bit depth to the output's
// (always truecolour, RGB or RGBA). It returns nil when the data does not fit the input's type.
func convertBKGD(d []byte, in, out ihdr, plte []byte) []byte {
	var r, g, b uint16
	switch in.ctype {
	case ctPalette:
		if len(d) != 1 || 3*int(d[0])+3 > len(plte) {
			return nil
		}
		p := plte[3*int(d[0]):]
		r, g, b = uint16(p[0]), uint16(p[1]), uint16(p[2])
		r, g, b = scale(r, 8, out.depth), scale(g, 8, out.depth), scale(b, 8, out.depth)
	case ctGray, ctGrayAlpha:
		if len(d) != 2 {
			return nil
		}
		v := scale(binary.BigEndian.Uint16(d), in.depth, out.depth)
		r, g, b = v, v, v
	case ctRGB, ctRGBA:
		if len(d) != 6 {
			return nil
		}
		r = scale(binary.BigEndian.Uint16(d[0:]), in.depth, out.depth)
		g = scale(binary.BigEndian.Uint16(d[2:]), in.depth, out.depth)
		b = scale(binary.BigEndian.Uint16(d[4:]), in.depth, out.depth)
	default:
		return nil
	}
	nb := make([]byte, 6)
	binary.BigEndian.PutUint16(nb[0:], r)
	binary.BigEndian.PutUint16(nb[2:], g)
	binary.BigEndian.PutUint16(nb[4:], b)
	return nb
}

// scale maps a sample of from bits to one of to bits, as PNG decoders widen low bit depths.
func scale(v uint16, from, to byte) uint16 {
	if from == to || from == 0 || from > 16 || to > 16 {
		return v
	}
	maxIn, maxOut := uint32(1)<<from-1, uint32(1)<<to-1
	return uint16((min(uint32(v), maxIn)*maxOut + maxIn/2) / maxIn)
}
