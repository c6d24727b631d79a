package webp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
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
	xwebp "golang.org/x/image/webp"
)

var _ formats.Painter = (*File)(nil)

// exact converts a colour x/image/webp decodes to non-premultiplied 16-bit, lossy colours through
// color.YCbCrToRGB.
func exact(c color.Color) color.NRGBA64 {
	w := func(r, g, b, a uint8) color.NRGBA64 {
		return color.NRGBA64{uint16(r) * 257, uint16(g) * 257, uint16(b) * 257, uint16(a) * 257}
	}
	switch c := c.(type) {
	case color.NRGBA:
		return w(c.R, c.G, c.B, c.A)
	case color.YCbCr:
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return w(r, g, b, 255)
	case color.NYCbCrA:
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return w(r, g, b, c.A)
	}
	panic(fmt.Sprintf("unexpected colour %T", c))
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

// checkPixels compares the decoded input and output: identical outside info.Changed and under
// transparent overlay pixels, the overlay's colour under opaque ones, "over" within one 8-bit
// step elsewhere.
func checkPixels(t *testing.T, in, out image.Image, info formats.PaintInfo, ov image.Image, at image.Rectangle) {
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
					if math.Abs(got[i]-w[i]) > 258 {
						t.Errorf("pixel %v: %v over %v gave %v, want %.0f", p, s, a, o, w)
						bad++
						break
					}
				}
			}
		}
	}
}

// paintInputs are the cwebp/webpmux-made files of testdata/paint and the c2pa-rs reference.
func paintInputs(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "paint", "*.webp"))
	if err != nil || len(files) != 8 {
		t.Fatalf("testdata/paint: %d files (%v), want 8", len(files), err)
	}
	in := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		in[strings.TrimSuffix(filepath.Base(f), ".webp")] = b
	}
	in["c2pa-rs-signed"] = refFile(t, "c2pa-rs-signed.webp")
	return in
}

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

// decodeX decodes with x/image/webp. That decoder refuses a VP8L picture under a VP8X chunk with
// the alpha flag, which the container specification asks for; it is shown the file with the
// flag cleared (the flag itself is checked by checkChunks).
func decodeX(t testing.TB, b []byte) image.Image {
	t.Helper()
	c := append([]byte(nil), b...)
	if len(c) > 30 && string(c[12:16]) == "VP8X" && bytes.Contains(c, []byte("VP8L")) {
		c[20] &^= 0x10
	}
	m, err := xwebp.Decode(bytes.NewReader(c))
	if err != nil {
		t.Fatalf("x/image/webp: %v", err)
	}
	return m
}

func TestPaint(t *testing.T) {
	for name, in := range paintInputs(t) {
		t.Run(name, func(t *testing.T) {
			ov := formatstest.Badge(image.Pt(100, 50))
			fn := formatstest.Corner(ov)
			m := decodeX(t, in)
			_, at, _ := fn(m.Bounds())
			out, info, err := paintFile(t, in, fn)
			if err != nil {
				t.Fatalf("Paint: %v", err)
			}
			t.Logf("%s", info.Method)
			got := decodeX(t, out)
			if _, ok := got.(*image.NRGBA); !ok {
				t.Errorf("output decodes to %T, want lossless NRGBA", got)
			}
			checkPixels(t, m, got, info, ov, at)
			checkChunks(t, in, out, got)
			lossy := bytes.Contains(in, []byte("VP8 "))
			if lossy != strings.Contains(info.Method, "lossy (VP8) input re-encoded losslessly (VP8L): pixels outside the badge equal the decoded lossy input exactly") {
				t.Errorf("Method %q for lossy=%v", info.Method, lossy)
			}
		})
	}
}

// checkChunks: the output is a well-formed RIFF whose chunks are the input's, in order and byte
// for byte, with the image chunks replaced by one VP8L chunk and the VP8X flags right.
func checkChunks(t *testing.T, in, out []byte, pic image.Image) {
	t.Helper()
	ci, co := walk(t, in), walk(t, out)
	var want, got []string
	for _, c := range ci {
		switch c.id {
		case "ALPH", "VP8 ", "VP8L":
			if len(want) == 0 || want[len(want)-1] != "VP8L" {
				want = append(want, "VP8L")
			}
		case "VP8X":
			want = append(want, "VP8X")
		default:
			want = append(want, string(c.raw))
		}
	}
	for _, c := range co {
		switch c.id {
		case "VP8L", "VP8X":
			got = append(got, c.id)
		default:
			got = append(got, string(c.raw))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("output chunks %s, input %s", ids(co), ids(ci))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("chunk %d: %q, want %q byte for byte", i, co[i].id, want[i][:min(4, len(want[i]))])
		}
	}
	if co[0].id != "VP8X" {
		return
	}
	flags := co[0].data[0]
	opaque := pic.(interface{ Opaque() bool }).Opaque()
	has := func(id string) bool { return bytes.Contains([]byte(ids(co)), []byte(id)) }
	for _, f := range []struct {
		bit  byte
		want bool
		name string
	}{{0x10, !opaque, "alpha"}, {0x20, has("ICCP"), "ICC"}, {0x08, has("EXIF"), "EXIF"}, {0x04, has("XMP "), "XMP"}, {0x02, false, "animation"}} {
		if (flags&f.bit != 0) != f.want {
			t.Errorf("VP8X %s flag is %v, want %v (flags %#x)", f.name, flags&f.bit != 0, f.want, flags)
		}
	}
	if !bytes.Equal(co[0].data[4:10], ci[0].data[4:10]) {
		t.Errorf("VP8X canvas % x, input % x", co[0].data[4:10], ci[0].data[4:10])
	}
}

// TestPaintMetadataRead: the labeler reads the same XMP, EXIF and C2PA store from the output.
func TestPaintMetadataRead(t *testing.T) {
	for _, name := range []string{"lossy-alpha-meta", "lossless-meta", "c2pa-rs-signed"} {
		in := paintInputs(t)[name]
		out, _, err := paintFile(t, in, formatstest.Corner(formatstest.Badge(image.Point{})))
		if err != nil {
			t.Fatal(err)
		}
		a, b := open(t, in), open(t, out)
		sa, errA := a.ManifestStore()
		sb, errB := b.ManifestStore()
		if (errA == nil) != (errB == nil) || !bytes.Equal(sa, sb) {
			t.Errorf("%s: manifest store %d bytes (%v), input %d bytes (%v)", name, len(sb), errB, len(sa), errA)
		}
		if !bytes.Equal(a.XMP(), b.XMP()) || !bytes.Equal(a.EXIF(), b.EXIF()) {
			t.Errorf("%s: XMP or EXIF differ", name)
		}
		if name != "c2pa-rs-signed" && (len(b.XMP()) == 0 || len(b.EXIF()) == 0) {
			t.Errorf("%s: no XMP or EXIF in the output", name)
		}
	}
}

// TestPaintTools decodes every output with libwebp's dwebp, which must give exactly the pixels
// x/image/webp gives, and reads it with ImageMagick's identify, webpinfo and exiftool.
func TestPaintTools(t *testing.T) {
	dwebp := testtool.Require(t, "dwebp")
	identify := testtool.Require(t, "identify")
	dir := t.TempDir()
	for name, in := range paintInputs(t) {
		out, _, err := paintFile(t, in, formatstest.Placed(formatstest.Badge(image.Point{}), image.Rect(10, 12, 50, 32)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p := filepath.Join(dir, name+".webp")
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		pam := filepath.Join(dir, name+".pam")
		if _, err := runTool(dwebp, "-quiet", "-pam", p, "-o", pam); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		lib, err := readPAM(pam)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		x := decodeX(t, out).(*image.NRGBA)
		if lib.Rect != x.Rect || !bytes.Equal(lib.Pix, x.Pix) {
			t.Errorf("%s: dwebp and x/image/webp decode the output differently", name)
		}
		if c := lib.NRGBAAt(20, 22); c != (color.NRGBA{255, 0, 0, 255}) {
			t.Errorf("%s: dwebp reads the badge as %v", name, c)
		}
		got, err := runTool(identify, "-format", "%w %h %[pixel:p{20,22}]", p)
		size := fmt.Sprintf("%d %d ", x.Rect.Dx(), x.Rect.Dy())
		if red := strings.TrimPrefix(got, size); err != nil || red == got || (red != "red" && red != "srgb(255,0,0)" && red != "srgba(255,0,0,1)") {
			t.Errorf("%s: identify says %q (%v), want %q and red", name, got, err, size)
		}
		webpinfo(t, out, true)
		if strings.HasSuffix(name, "-meta") {
			if title := strings.TrimSpace(testtool.Exiftool(t, "-s3", "-XMP-dc:Title", p)); title != "paint test" {
				t.Errorf("%s: exiftool reads the XMP title %q, want %q", name, title, "paint test")
			}
		}
	}
}

// readPAM reads dwebp's -pam output (RGB_ALPHA, 8 bits).
func readPAM(path string) (*image.NRGBA, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(bytes.NewReader(b))
	var w, h, depth, maxval int
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("PAM header: %v", err)
		}
		line = strings.TrimSpace(line)
		if line == "ENDHDR" {
			break
		}
		var k string
		var v int
		if n, _ := fmt.Sscan(line, &k, &v); n == 2 {
			switch k {
			case "WIDTH":
				w = v
			case "HEIGHT":
				h = v
			case "DEPTH":
				depth = v
			case "MAXVAL":
				maxval = v
			}
		}
	}
	if depth != 4 || maxval != 255 || w <= 0 || h <= 0 {
		return nil, fmt.Errorf("PAM %dx%d depth %d maxval %d, want RGBA 8-bit", w, h, depth, maxval)
	}
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	if _, err := io.ReadFull(r, m.Pix); err != nil {
		return nil, fmt.Errorf("PAM pixels: %v", err)
	}
	return m, nil
}

func runTool(path string, args ...string) (string, error) {
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

// TestPaintClipped puts the overlay partly and wholly outside the picture.
func TestPaintClipped(t *testing.T) {
	in := paintInputs(t)["lossless-alpha"]
	m := decodeX(t, in)
	ov := formatstest.Badge(image.Point{})
	for _, at := range []image.Rectangle{
		image.Rect(-10, -5, 30, 15),
		image.Rect(50, 40, 90, 60),
		image.Rect(-100, 0, -60, 20),
		image.Rect(0, 100, 40, 120),
	} {
		out, info, err := paintFile(t, in, formatstest.Placed(ov, at))
		if err != nil {
			t.Fatalf("%v: Paint: %v", at, err)
		}
		checkPixels(t, m, decodeX(t, out), info, ov, at)
		if at.Intersect(m.Bounds()).Empty() && !bytes.Equal(out, in) {
			t.Errorf("%v: an overlay outside the picture changed the file (%s)", at, info.Method)
		}
	}
}

// TestPaintHostile: refusals come before decoding, with the right error kinds.
func TestPaintHostile(t *testing.T) {
	lossy := paintInputs(t)["lossy"]
	vp8 := walk(t, lossy)[0].raw
	vp8x := func(w, h int, flags byte) []byte {
		d := make([]byte, 10)
		d[0] = flags
		put24(d[4:], w-1)
		put24(d[7:], h-1)
		return Chunk("VP8X", d)
	}
	bigFrame := append([]byte(nil), vp8...)
	binary.LittleEndian.PutUint16(bigFrame[8+6:], 16000)
	binary.LittleEndian.PutUint16(bigFrame[8+8:], 16000)
	called := false
	spy := func(b image.Rectangle) (image.Image, image.Rectangle, error) {
		called = true
		return formatstest.Corner(formatstest.Badge(image.Point{}))(b)
	}
	corrupt := append([]byte(nil), lossy...)
	for i := 40; i < len(corrupt); i++ {
		corrupt[i] ^= 0xa5
	}
	for _, tc := range []struct {
		name string
		in   []byte
		fn   formats.OverlayFunc
		want error
	}{
		{"huge canvas", build(vp8x(16000, 16000, 0), vp8), spy, formats.ErrTooLarge},
		{"huge frame", build(bigFrame), spy, formats.ErrTooLarge},
		{"canvas and frame disagree", build(vp8x(60, 45, 0), vp8), spy, formats.ErrMalformed},
		{"animated", build(vp8x(67, 45, 0x02), Chunk("ANIM", make([]byte, 6)), Chunk("ANMF", make([]byte, 16))), spy, formats.ErrUnsupported},
		{"animation flag", build(vp8x(67, 45, 0x02), vp8), spy, formats.ErrUnsupported},
		{"corrupt VP8 data", corrupt, formatstest.Corner(formatstest.Badge(image.Point{})), formats.ErrMalformed},
		{"overlay error", lossy, func(image.Rectangle) (image.Image, image.Rectangle, error) {
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
		if called && tc.want != nil && tc.want != formats.ErrMalformed {
			t.Errorf("%s: the overlay was made before the input was refused", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	if _, err := open(t, lossy).Paint(failWriter{}, formatstest.Corner(formatstest.Badge(image.Point{}))); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing writer: %v", err)
	}
	if _, err := (&File{}).Paint(io.Discard, formatstest.Corner(formatstest.Badge(image.Point{}))); err == nil {
		t.Errorf("zero File: no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestEncodeLosslessNoise: the encoder (nativewebp v1.2.0) panics on pure noise; Paint must turn
// that into an error, or, if the encoder copes, write a file that decodes to the painted pixels.
func TestEncodeLosslessNoise(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 300, 151))
	rand.New(rand.NewSource(1)).Read(m.Pix)
	b, err := encodeLossless(m)
	if err != nil {
		t.Logf("noise: %v", err)
		return
	}
	got, err := xwebp.Decode(bytes.NewReader(build(Chunk("VP8L", b))))
	if err != nil || !bytes.Equal(got.(*image.NRGBA).Pix, m.Pix) {
		t.Errorf("noise: encoded without error but decodes wrongly (%v)", err)
	}
}

func BenchmarkPaint4000x3000(b *testing.B) {
	// A lossy 4000x3000 WebP would need cwebp; the lossless input exercises the same decode,
	// composite, encode and verification, and is made here with the encoder under test.
	m := image.NewNRGBA(image.Rect(0, 0, 4000, 3000))
	rnd := rand.New(rand.NewSource(1))
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			n := uint8(rnd.Intn(8))
			m.SetNRGBA(x, y, color.NRGBA{uint8(x/16) + n, uint8(y/12) + n, uint8((x+y)/28) + n, 255})
		}
	}
	vp8l, err := encodeLossless(m)
	if err != nil {
		b.Fatal(err)
	}
	in := build(Chunk("VP8L", vp8l))
	ov := image.NewNRGBA(image.Rect(0, 0, 1200, 160))
	for i := range ov.Pix {
		ov.Pix[i] = 0xeb
	}
	fn := formatstest.Corner(ov)
	c, err := Open(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Paint(io.Discard, fn); err != nil {
			b.Fatal(err)
		}
	}
}
