package png

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	stdpng "image/png"
	"io"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/formatstest"
	"github.com/ailabel/ailabel/internal/testtool"
)

var _ formats.Painter = (*File)(nil)

// exact converts a decoded colour to non-premultiplied 16-bit without going through
// premultiplied alpha.
func exact(c color.Color) color.NRGBA64 {
	switch c := c.(type) {
	case color.NRGBA:
		return color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, uint16(c.A) * 257}
	case color.NRGBA64:
		return c
	}
	return color.NRGBA64Model.Convert(c).(color.NRGBA64)
}

// wantOver is Porter-Duff "over" in floating point.
func wantOver(s, d color.NRGBA64) [4]float64 {
	sa, da := float64(s.A)/65535, float64(d.A)/65535
	oa := sa + da*(1-sa)
	if oa == 0 {
		return [4]float64{}
	}
	ch := func(sc, dc uint16) float64 { return (float64(sc)*sa + float64(dc)*da*(1-sa)) / oa }
	return [4]float64{ch(s.R, d.R), ch(s.G, d.G), ch(s.B, d.B), oa * 65535}
}

// checkPixels decodes in and out and checks the painting: every pixel outside info.Changed is
// identical; inside, a pixel under a transparent part of the overlay is identical, one under an
// opaque part is the overlay's colour, and the others are "over" within tol (16-bit units).
func checkPixels(t *testing.T, in, out image.Image, info formats.PaintInfo, ov image.Image, at image.Rectangle, tol float64) {
	t.Helper()
	if in.Bounds() != out.Bounds() {
		t.Fatalf("output bounds %v, input %v", out.Bounds(), in.Bounds())
	}
	b := in.Bounds()
	d := ov.Bounds().Min.Sub(at.Min)
	wantChanged := at.Intersect(b).Intersect(ov.Bounds().Sub(d))
	if info.Changed != wantChanged {
		t.Errorf("Changed = %v, want %v", info.Changed, wantChanged)
	}
	bad := 0
	for y := b.Min.Y; y < b.Max.Y && bad < 5; y++ {
		for x := b.Min.X; x < b.Max.X && bad < 5; x++ {
			a, o := exact(in.At(x, y)), exact(out.At(x, y))
			p := image.Pt(x, y)
			if !p.In(wantChanged) {
				if a != o {
					t.Errorf("pixel %v outside the overlay: %v, want %v", p, o, a)
					bad++
				}
				continue
			}
			s := exact(ov.At(x+d.X, y+d.Y))
			switch s.A {
			case 0:
				if a != o {
					t.Errorf("pixel %v under a transparent overlay pixel: %v, want %v", p, o, a)
					bad++
				}
			case 0xffff:
				if o != s {
					t.Errorf("pixel %v under an opaque overlay pixel: %v, want %v", p, o, s)
					bad++
				}
			default:
				w := wantOver(s, a)
				got := [4]float64{float64(o.R), float64(o.G), float64(o.B), float64(o.A)}
				for i := range w {
					if math.Abs(got[i]-w[i]) > tol {
						t.Errorf("pixel %v: %v over %v gave %v, want %.0f (tolerance %.0f)", p, s, a, o, w, tol)
						bad++
						break
					}
				}
			}
		}
	}
}

// withMeta adds the metadata chunks Paint must keep: caBX, iCCP and gAMA after IHDR; pHYs, eXIf,
// XMP iTXt and an unknown ancillary chunk before the first IDAT; tEXt and zTXt after the last.
func withMeta(t testing.TB, b []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(fakeICC())
	zw.Close()
	iccp := Chunk("iCCP", append([]byte("test profile\x00\x00"), z.Bytes()...))
	gama := Chunk("gAMA", []byte{0, 0, 0xb1, 0x8f})
	b = insertChunks(t, b, "", Chunk("caBX", fakeStore(t, 300)), iccp, gama)
	phys := Chunk("pHYs", []byte{0, 0, 0x0b, 0x13, 0, 0, 0x0b, 0x13, 1})
	b = insertChunks(t, b, "IDAT", phys, Chunk("eXIf", tiffBlob("paint")), xmpChunk(paintXMP, false), Chunk("vpAg", []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}))
	var zt bytes.Buffer
	zw = zlib.NewWriter(&zt)
	zw.Write([]byte("compressed comment"))
	zw.Close()
	return insertChunks(t, b, "IEND", Chunk("tEXt", []byte("Comment\x00made for paint_test")), Chunk("zTXt", append([]byte("Note\x00\x00"), zt.Bytes()...)))
}

const paintXMP = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title><rdf:Alt><rdf:li xml:lang="x-default">paint test</rdf:li></rdf:Alt></dc:title></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`

// fakeICC is a 132-byte ICC profile header with an empty tag table.
func fakeICC() []byte {
	p := make([]byte, 132)
	binary.BigEndian.PutUint32(p, 132)
	copy(p[4:], "none")
	p[8] = 2
	copy(p[12:], "mntrRGB XYZ ")
	copy(p[36:], "acsp")
	return p
}

// paintInputs are the PNGs Paint is tried on, each with the metadata chunks of withMeta.
func paintInputs(t testing.TB) map[string][]byte {
	t.Helper()
	const w, h = 67, 45
	r := image.Rect(0, 0, w, h)
	rgb := image.NewRGBA(r)
	nrgba := image.NewNRGBA(r)
	rgb16 := image.NewRGBA64(r)
	nrgba16 := image.NewNRGBA64(r)
	gray := image.NewGray(r)
	gray16 := image.NewGray16(r)
	pal := color.Palette{color.NRGBA{0, 0, 0, 0}, color.NRGBA{200, 10, 10, 255}, color.NRGBA{10, 200, 10, 128}, color.NRGBA{250, 250, 5, 3}}
	for i := 4; i < 40; i++ {
		pal = append(pal, color.NRGBA{uint8(i * 6), uint8(255 - i*5), uint8(i * 3), 255})
	}
	paletted := image.NewPaletted(r, pal)
	pal2 := image.NewPaletted(r, pal[:4]) // 2-bit with tRNS
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(x*3 + y*2)
			rgb.SetRGBA(x, y, color.RGBA{v, uint8(x * 5), uint8(y * 5), 255})
			// Low and zero alpha with colour under it: only an exact conversion keeps it.
			nrgba.SetNRGBA(x, y, color.NRGBA{v, uint8(x * 5), uint8(y * 5), uint8((x * y) % 7 * 40)})
			rgb16.SetRGBA64(x, y, color.RGBA64{uint16(x*977 + y), uint16(y * 1409), uint16(x*y*13 + 1), 0xffff})
			nrgba16.SetNRGBA64(x, y, color.NRGBA64{uint16(x*977 + y), uint16(y * 1409), 0xabcd, uint16((x + y) * 700)})
			gray.SetGray(x, y, color.Gray{v})
			gray16.SetGray16(x, y, color.Gray16{uint16(x*900 + y*7)})
			paletted.SetColorIndex(x, y, uint8((x/3+y)%len(pal)))
			pal2.SetColorIndex(x, y, uint8((x+y)%4))
		}
	}
	in := map[string][]byte{}
	for name, m := range map[string]image.Image{
		"rgb8": rgb, "rgba8": nrgba, "rgb16": rgb16, "rgba16": nrgba16, "gray8": gray, "gray16": gray16,
		"palette8-trns": paletted, "palette2-trns": pal2,
	} {
		in[name] = withMeta(t, encode(t, m))
	}
	// A palette with bKGD (index 2) and sBIT, to see them converted and dropped.
	in["palette8-bkgd"] = insertChunks(t, in["palette8-trns"], "IDAT", Chunk("bKGD", []byte{2}), Chunk("sBIT", []byte{8, 8, 8}))
	files, err := filepath.Glob(filepath.Join("testdata", "paint", "*.png"))
	if err != nil || len(files) < 5 {
		t.Fatalf("testdata/paint: %d files (%v), want the 5 ImageMagick-made inputs", len(files), err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in[strings.TrimSuffix(filepath.Base(f), ".png")] = withMeta(t, b)
	}
	in["c2pa-rs-signed"] = refFile(t, "c2pa-rs-signed.png")
	return in
}

// paint opens b and paints it with fn.
func paintFile(t testing.TB, b []byte, fn formats.OverlayFunc) ([]byte, formats.PaintInfo, error) {
	t.Helper()
	c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("formats.Open: %v", err)
	}
	p, ok := c.(formats.Painter)
	if !ok {
		t.Fatalf("%T is not a formats.Painter", c)
	}
	var out bytes.Buffer
	info, err := p.Paint(&out, fn)
	return out.Bytes(), info, err
}

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	m, err := stdpng.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("image/png: %v", err)
	}
	return m
}

func TestPaint(t *testing.T) {
	for name, in := range paintInputs(t) {
		t.Run(name, func(t *testing.T) {
			ov := formatstest.Badge(image.Pt(100, 50)) // bounds away from origin: Paint must map ov.Bounds().Min to at.Min
			fn := formatstest.Corner(ov)
			m := decode(t, in)
			_, at, _ := fn(m.Bounds())
			out, info, err := paintFile(t, in, fn)
			if err != nil {
				t.Fatalf("Paint: %v", err)
			}
			t.Logf("%s", info.Method)
			tol := 257.0 + 1 // one step of 8 bits
			if strings.Contains(info.Method, "16-bit") {
				tol = 2
			}
			checkPixels(t, m, decode(t, out), info, ov, at, tol)
			checkChunks(t, in, out)
			if !strings.HasPrefix(info.Method, "PNG re-encoded losslessly") {
				t.Errorf("Method %q", info.Method)
			}
			ci := walk(t, in)
			if ci[0].data[12] == 1 && !strings.Contains(info.Method, "non-interlaced") {
				t.Errorf("interlaced input: Method %q does not say so", info.Method)
			}
		})
	}
}

// checkChunks checks the output's chunk structure against the input's: a fresh non-interlaced
// IHDR with the same size, consecutive IDAT chunks of at most 1 MiB, no tRNS, and every other
// chunk byte-identical and in the same order, except those the colour change drops or converts.
func checkChunks(t *testing.T, in, out []byte) {
	t.Helper()
	ci, co := walk(t, in), walk(t, out)
	if !bytes.Equal(ci[0].data[:8], co[0].data[:8]) || co[0].data[12] != 0 {
		t.Errorf("IHDR %x, input %x: want the same size, not interlaced", co[0].data, ci[0].data)
	}
	inType, outType := ci[0].data[9], co[0].data[9]
	changed := ci[0].data[8] != co[0].data[8] || inType != outType
	var idat []int
	var keptIn, keptOut [][]byte
	for i, c := range co {
		switch c.typ {
		case "IDAT":
			idat = append(idat, i)
			if len(c.data) > 1<<20 {
				t.Errorf("IDAT chunk of %d bytes", len(c.data))
			}
		case "tRNS":
			t.Errorf("output has a tRNS chunk")
		case "IHDR", "IEND":
		case "bKGD":
			if !changed {
				keptOut = append(keptOut, c.raw)
			} else if len(c.data) != 6 {
				t.Errorf("converted bKGD has %d bytes, want 6 (RGB)", len(c.data))
			}
		default:
			keptOut = append(keptOut, c.raw)
		}
	}
	if len(idat) == 0 || idat[len(idat)-1]-idat[0] != len(idat)-1 {
		t.Errorf("IDAT chunks at %v: want one consecutive run", idat)
	}
	for _, c := range ci {
		switch c.typ {
		case "IHDR", "IDAT", "IEND", "tRNS":
			continue
		case "PLTE", "hIST":
			if inType == ctPalette {
				continue
			}
		case "sBIT", "bKGD":
			if changed {
				continue
			}
		}
		keptIn = append(keptIn, c.raw)
	}
	if len(keptIn) != len(keptOut) {
		t.Fatalf("kept %d chunks, want %d", len(keptOut), len(keptIn))
	}
	for i := range keptIn {
		if !bytes.Equal(keptIn[i], keptOut[i]) {
			t.Errorf("kept chunk %d: %q, want %q byte for byte", i, keptOut[i][4:8], keptIn[i][4:8])
		}
	}
}

// TestPaintBKGD checks the bKGD conversion: palette index 2 of the input becomes its RGB colour.
func TestPaintBKGD(t *testing.T) {
	in := paintInputs(t)
	for name, want := range map[string][]byte{
		"palette8-bkgd": {0, 10, 0, 200, 0, 10},
		"gray1":         nil, // ImageMagick writes bKGD 1 (white) for the 1-bit input: 0x00ff each
	} {
		out, _, err := paintFile(t, in[name], formatstest.Corner(formatstest.Badge(image.Point{})))
		if err != nil {
			t.Fatalf("%s: Paint: %v", name, err)
		}
		var got []byte
		var inBKGD []byte
		for _, c := range walk(t, in[name]) {
			if c.typ == "bKGD" {
				inBKGD = c.data
			}
		}
		for _, c := range walk(t, out) {
			if c.typ == "bKGD" {
				got = c.data
			}
		}
		if want == nil {
			v := uint16(binary.BigEndian.Uint16(inBKGD)) * 255 // 1-bit to 8-bit
			want = []byte{byte(v >> 8), byte(v), byte(v >> 8), byte(v), byte(v >> 8), byte(v)}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: bKGD %x (input %x), want %x", name, got, inBKGD, want)
		}
	}
}

// TestPaintMetadataRead checks the labeler's view of the output: the same XMP, EXIF and C2PA
// store as the input's.
func TestPaintMetadataRead(t *testing.T) {
	for _, name := range []string{"rgb8", "c2pa-rs-signed"} {
		in := paintInputs(t)[name]
		out, _, err := paintFile(t, in, formatstest.Corner(formatstest.Badge(image.Point{})))
		if err != nil {
			t.Fatal(err)
		}
		a, b := open(t, in), open(t, out)
		sa, errA := a.ManifestStore()
		sb, errB := b.ManifestStore()
		if errA != nil || errB != nil || !bytes.Equal(sa, sb) {
			t.Errorf("%s: manifest store %d bytes (%v), input %d bytes (%v)", name, len(sb), errB, len(sa), errA)
		}
		if !bytes.Equal(a.XMP(), b.XMP()) || !bytes.Equal(a.EXIF(), b.EXIF()) {
			t.Errorf("%s: XMP or EXIF differ", name)
		}
	}
}

// TestPaintTools reads the outputs with exiftool (XMP) and ImageMagick's identify (the pixels).
func TestPaintTools(t *testing.T) {
	identify := testtool.Require(t, "identify")
	dir := t.TempDir()
	for name, in := range paintInputs(t) {
		ov := formatstest.Badge(image.Point{})
		out, _, err := paintFile(t, in, formatstest.Placed(ov, image.Rect(10, 12, 50, 32)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		// Red inside the badge, and the input's colour at (0,0), as ImageMagick reads them.
		got, err := runTool(t, identify, "-format", "%w %h %[pixel:p{20,22}] %[pixel:p{0,0}]", p)
		if err != nil {
			t.Fatalf("%s: identify: %v", name, err)
		}
		m := decode(t, in)
		f := strings.Fields(got)
		if len(f) != 4 || f[0] != fmt.Sprint(m.Bounds().Dx()) || f[1] != fmt.Sprint(m.Bounds().Dy()) {
			t.Errorf("%s: identify says %q, want the size %v", name, got, m.Bounds().Size())
			continue
		}
		if c, ok := parseIM(f[2]); !ok || c != [4]int{255, 0, 0, 255} {
			t.Errorf("%s: identify reads the badge as %q, want red", name, f[2])
		}
		o := exact(m.At(0, 0))
		want := [4]int{(int(o.R) + 128) / 257, (int(o.G) + 128) / 257, (int(o.B) + 128) / 257, (int(o.A) + 128) / 257}
		if c, ok := parseIM(f[3]); !ok || (c != want && !(want[3] == 0 && c[3] == 0)) {
			t.Errorf("%s: identify reads pixel (0,0) as %q, want %v", name, f[3], want)
		}
		if name == "c2pa-rs-signed" {
			continue
		}
		if title := strings.TrimSpace(testtool.Exiftool(t, "-s3", "-XMP-dc:Title", p)); title != "paint test" {
			t.Errorf("%s: exiftool reads the XMP title %q, want %q", name, title, "paint test")
		}
	}
}

// parseIM parses an ImageMagick colour as printed by %[pixel:…]: a name (red, black, white,
// none) or srgb(a)/gray(a) with 8-bit or percent values.
func parseIM(s string) ([4]int, bool) {
	switch s {
	case "red":
		return [4]int{255, 0, 0, 255}, true
	case "black":
		return [4]int{0, 0, 0, 255}, true
	case "white":
		return [4]int{255, 255, 255, 255}, true
	case "none", "transparent":
		return [4]int{0, 0, 0, 0}, true
	}
	i, j := strings.IndexByte(s, '('), strings.IndexByte(s, ')')
	if i < 0 || j < i {
		return [4]int{}, false
	}
	fields := strings.Split(s[i+1:j], ",")
	var v []float64
	for k, f := range fields {
		var x float64
		if strings.HasSuffix(f, "%") {
			if _, err := fmt.Sscan(strings.TrimSuffix(f, "%"), &x); err != nil {
				return [4]int{}, false
			}
			x = x * 255 / 100
		} else if _, err := fmt.Sscan(f, &x); err != nil {
			return [4]int{}, false
		} else if k == 3 || (strings.HasPrefix(s, "graya") && k == 1) {
			x *= 255 // alpha is 0..1
		}
		v = append(v, math.Round(x))
	}
	switch {
	case strings.HasPrefix(s, "srgba") && len(v) == 4:
		return [4]int{int(v[0]), int(v[1]), int(v[2]), int(v[3])}, true
	case strings.HasPrefix(s, "srgb") && len(v) == 3:
		return [4]int{int(v[0]), int(v[1]), int(v[2]), 255}, true
	case strings.HasPrefix(s, "graya") && len(v) == 2:
		return [4]int{int(v[0]), int(v[0]), int(v[0]), int(v[1])}, true
	case strings.HasPrefix(s, "gray") && len(v) == 1:
		return [4]int{int(v[0]), int(v[0]), int(v[0]), 255}, true
	}
	return [4]int{}, false
}

func TestParseIM(t *testing.T) {
	for s, want := range map[string][4]int{
		"red": {255, 0, 0, 255}, "srgb(1,2,3)": {1, 2, 3, 255}, "srgba(1,2,3,0.5)": {1, 2, 3, 128},
		"gray(50%)": {128, 128, 128, 255}, "graya(10,1)": {10, 10, 10, 255},
	} {
		if got, ok := parseIM(s); !ok || got != want {
			t.Errorf("parseIM(%q) = %v %v, want %v", s, got, ok, want)
		}
	}
	if _, ok := parseIM("cmyk(1,2,3,4)"); ok {
		t.Errorf("parseIM accepted cmyk")
	}
}

// TestPaintClipped puts the overlay partly and wholly outside the picture.
func TestPaintClipped(t *testing.T) {
	in := paintInputs(t)["rgba8"]
	m := decode(t, in)
	ov := formatstest.Badge(image.Point{})
	for _, at := range []image.Rectangle{
		image.Rect(-10, -5, 30, 15),  // top-left, partly outside
		image.Rect(50, 40, 90, 60),   // bottom-right, partly outside
		image.Rect(-100, 0, -60, 20), // wholly outside
		image.Rect(60, 0, 61, 45),    // a 1-pixel column of a larger overlay: clipped to its bounds
	} {
		out, info, err := paintFile(t, in, formatstest.Placed(ov, at))
		if err != nil {
			t.Fatalf("%v: Paint: %v", at, err)
		}
		checkPixels(t, m, decode(t, out), info, ov, at, 258)
		if at.Intersect(m.Bounds()).Empty() && !bytes.Equal(out, in) {
			t.Errorf("%v: an overlay outside the picture changed the file (%s)", at, info.Method)
		}
	}
	// An overlay smaller than at: only the overlay's own pixels count as changed.
	small := formatstest.Badge(image.Point{}).SubImage(image.Rect(0, 0, 10, 10))
	out, info, err := paintFile(t, in, formatstest.Placed(small, image.Rect(5, 5, 45, 25)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Changed != image.Rect(5, 5, 15, 15) {
		t.Errorf("Changed %v, want (5,5)-(15,15)", info.Changed)
	}
	got := decode(t, out)
	if exact(got.At(20, 20)) != exact(m.At(20, 20)) {
		t.Errorf("pixel outside the small overlay changed")
	}
}

// TestPaintHostile feeds bad inputs and overlays: each must give a clear error, never a panic,
// and a picture too large must be refused before it is decoded.
func TestPaintHostile(t *testing.T) {
	good := encode(t, image.NewGray(image.Rect(0, 0, 8, 8)))
	withIHDR := func(w, h uint32, depth, ctype byte) []byte {
		cs := walk(t, good)
		d := make([]byte, 13)
		binary.BigEndian.PutUint32(d, w)
		binary.BigEndian.PutUint32(d[4:], h)
		d[8], d[9] = depth, ctype
		out := append([]byte(Signature), Chunk("IHDR", d)...)
		for _, c := range cs[1:] {
			out = append(out, c.raw...)
		}
		return out
	}
	called := false
	spy := func(b image.Rectangle) (image.Image, image.Rectangle, error) {
		called = true
		return formatstest.Corner(formatstest.Badge(image.Point{}))(b)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		fn   formats.OverlayFunc
		want error
	}{
		{"huge", withIHDR(20000, 20000, 8, 6), spy, formats.ErrTooLarge},
		{"just over the limit", withIHDR(12000, 10001, 8, 0), spy, formats.ErrTooLarge},
		{"IDAT too short", withIHDR(10000, 10000, 8, 6), spy, formats.ErrMalformed},
		{"bad depth", withIHDR(8, 8, 3, 2), spy, formats.ErrMalformed},
		{"bad colour type", withIHDR(8, 8, 8, 5), spy, formats.ErrMalformed},
		{"APNG", insertChunks(t, good, "IDAT", Chunk("acTL", []byte{0, 0, 0, 1, 0, 0, 0, 0})), spy, formats.ErrUnsupported},
		{"unknown critical chunk", insertChunks(t, good, "IDAT", Chunk("ABCD", nil)), spy, formats.ErrUnsupported},
		{"bad zlib", corruptIDAT(t, good), formatstest.Corner(formatstest.Badge(image.Point{})), formats.ErrMalformed},
		{"overlay error", good, func(image.Rectangle) (image.Image, image.Rectangle, error) {
			return nil, image.Rectangle{}, errors.New("no font")
		}, nil},
	} {
		called = false
		_, _, err := paintFile(t, tc.in, tc.fn)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want an error wrapping %v", tc.name, err, tc.want)
		}
		if called && (tc.want == formats.ErrTooLarge || tc.want == formats.ErrUnsupported) {
			t.Errorf("%s: the overlay was made before the input was refused", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	// A failing writer.
	c := open(t, good)
	if _, err := c.Paint(failWriter{}, formatstest.Corner(formatstest.Badge(image.Point{}))); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing writer: %v", err)
	}
	// A File not made by Open.
	if _, err := (&File{}).Paint(io.Discard, formatstest.Corner(formatstest.Badge(image.Point{}))); err == nil {
		t.Errorf("zero File: no error")
	}
}

func corruptIDAT(t *testing.T, b []byte) []byte {
	out := append([]byte(nil), b...)
	for _, c := range walk(t, out) {
		if c.typ == "IDAT" {
			d := out[c.off+8 : c.off+8+len(c.data)]
			for i := 2; i < len(d); i++ {
				d[i] ^= 0x5a
			}
			binary.BigEndian.PutUint32(out[c.off+8+len(c.data):], crc32.ChecksumIEEE(out[c.off+4:c.off+8+len(c.data)]))
		}
	}
	return out
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestPaintIDATSplit checks that a picture whose data exceeds 1 MiB is written in several IDAT
// chunks of at most 1 MiB.
func TestPaintIDATSplit(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 700, 600))
	rand.New(rand.NewSource(3)).Read(m.Pix) // noise does not compress: about 1.6 MiB of IDAT
	in := encode(t, m)
	out, info, err := paintFile(t, in, formatstest.Corner(formatstest.Badge(image.Point{})))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range walk(t, out) {
		if c.typ == "IDAT" {
			n++
			if len(c.data) > 1<<20 {
				t.Errorf("IDAT of %d bytes", len(c.data))
			}
		}
	}
	if n < 2 {
		t.Errorf("%d IDAT chunks, want at least 2", n)
	}
	checkPixels(t, m, decode(t, out), info, formatstest.Badge(image.Point{}), image.Rect(657, 578, 697, 598), 258)
}

func BenchmarkPaint4000x3000(b *testing.B) {
	in := photoPNG(b, 4000, 3000)
	ov := image.NewNRGBA(image.Rect(0, 0, 1200, 160))
	for i := range ov.Pix {
		ov.Pix[i] = 0xeb
	}
	fn := formatstest.Corner(ov)
	c, err := Open(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Paint(io.Discard, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// photoPNG is an 8-bit RGB PNG with smooth gradients and mild noise, about as compressible as a
// photograph.
func photoPNG(t testing.TB, w, h int) []byte {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	rnd := rand.New(rand.NewSource(1))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			n := uint8(rnd.Intn(8))
			m.SetRGBA(x, y, color.RGBA{uint8(x/16) + n, uint8(y/12) + n, uint8((x+y)/28) + n, 255})
		}
	}
	return encode(t, m)
}

// runTool runs an external program and returns its standard output, trimmed.
func runTool(t testing.TB, path string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", filepath.Base(path), strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}
