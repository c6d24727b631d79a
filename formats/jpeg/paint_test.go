package jpeg

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"io"
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

// paintInput is a test JPEG with its MCU size (0 for one Paint must fully re-encode).
type paintInput struct {
	b        []byte
	mcu      image.Point
	gray     bool
	segments int // APPn and COM segments Paint must keep
}

func paintInputs(t testing.TB) map[string]paintInput {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	in := map[string]paintInput{
		"ycc420":         {b: read("paint/ycc420.jpg"), mcu: image.Pt(16, 16), segments: 5},
		"ycc444":         {b: read("paint/ycc444.jpg"), mcu: image.Pt(8, 8), segments: 5},
		"ycc422":         {b: read("paint/ycc422.jpg"), mcu: image.Pt(16, 8), segments: 5},
		"gray":           {b: read("paint/gray.jpg"), mcu: image.Pt(8, 8), gray: true, segments: 5},
		"progressive":    {b: read("paint/progressive.jpg"), mcu: image.Pt(16, 16), segments: 5},
		"cmyk":           {b: read("paint/cmyk.jpg"), segments: 3}, // Adobe APP14 and the CMYK ICC profile go
		"c2pa-rs-signed": {b: read("c2pa-rs-signed.jpg"), mcu: image.Pt(8, 8), segments: -1},
	}
	var big, gray bytes.Buffer
	m := image.NewRGBA(image.Rect(0, 0, 403, 301))
	rnd := rand.New(rand.NewSource(1))
	for y := 0; y < 301; y++ {
		for x := 0; x < 403; x++ {
			n := uint8(rnd.Intn(16))
			m.SetRGBA(x, y, color.RGBA{uint8(x/2) + n, uint8(y/2) + n, uint8(x^y) + n, 255})
		}
	}
	if err := stdjpeg.Encode(&big, m, &stdjpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	g := image.NewGray(m.Rect)
	for i := range g.Pix {
		g.Pix[i] = m.Pix[4*i+1]
	}
	if err := stdjpeg.Encode(&gray, g, &stdjpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	in["go-420-403x301"] = paintInput{b: big.Bytes(), mcu: image.Pt(16, 16)}
	in["go-gray-403x301"] = paintInput{b: gray.Bytes(), mcu: image.Pt(8, 8), gray: true}
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

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	m, err := stdjpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("image/jpeg: %v", err)
	}
	return m
}

func rgb(c color.Color) [3]int {
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return [3]int{int(n.R >> 8), int(n.G >> 8), int(n.B >> 8)}
}

// kept returns the APPn and COM segments before the first scan, whole.
func kept(t testing.TB, b []byte) [][]byte {
	segs, _ := modelParse(t, b)
	var out [][]byte
	for _, s := range segs {
		if (s.marker >= 0xE0 && s.marker <= 0xEF) || s.marker == 0xFE {
			out = append(out, s.raw)
		}
	}
	return out
}

func TestPaint(t *testing.T) {
	for name, in := range paintInputs(t) {
		t.Run(name, func(t *testing.T) {
			ov := formatstest.Badge(image.Pt(100, 50)) // bounds away from origin: Paint must map ov.Bounds().Min to at.Min
			m := decode(t, in.b)
			b := m.Bounds()
			_, at, _ := formatstest.Corner(ov)(b)
			out, info, err := paintFile(t, in.b, formatstest.Corner(ov))
			if err != nil {
				t.Fatalf("Paint: %v", err)
			}
			t.Logf("%s", info.Method)
			got := decode(t, out)
			if got.Bounds() != b {
				t.Fatalf("output bounds %v, input %v", got.Bounds(), b)
			}
			clip := at.Intersect(b)
			want := b // full re-encoding
			if in.mcu != (image.Point{}) {
				mw, mh := in.mcu.X, in.mcu.Y
				want = image.Rect(clip.Min.X/mw*mw, clip.Min.Y/mh*mh, (clip.Max.X+mw-1)/mw*mw, (clip.Max.Y+mh-1)/mh*mh).Intersect(b)
				n := ((want.Dx() + mw - 1) / mw) * ((want.Dy() + mh - 1) / mh)
				total := ((b.Dx() + mw - 1) / mw) * ((b.Dy() + mh - 1) / mh)
				if !strings.HasPrefix(info.Method, fmt.Sprintf("JPEG: %d of %d MCUs re-coded, the rest copied", n, total)) {
					t.Errorf("Method %q, want %d of %d MCUs", info.Method, n, total)
				}
			} else if !strings.HasPrefix(info.Method, "JPEG fully re-encoded at quality ") {
				t.Errorf("Method %q, want a full re-encoding", info.Method)
			}
			if info.Changed != want {
				t.Errorf("Changed %v, want %v", info.Changed, want)
			}
			bad, sum, n := 0, 0, 0
			for y := b.Min.Y; y < b.Max.Y && bad < 5; y++ {
				for x := b.Min.X; x < b.Max.X && bad < 5; x++ {
					p := image.Pt(x, y)
					a, o := color.NRGBA64Model.Convert(m.At(x, y)), color.NRGBA64Model.Convert(got.At(x, y))
					switch {
					case !p.In(info.Changed):
						if a != o {
							t.Errorf("pixel %v outside Changed: %v, want %v", p, o, a)
							bad++
						}
					case !p.In(clip):
						sum += maxDiff(rgb(a), rgb(o))
						n++
					}
				}
			}
			// Re-coded but not painted: one more quantisation, plus the ringing of the badge's
			// edges within the blocks it touches.
			if n > 0 && sum/n > 24 {
				t.Errorf("pixels re-coded but not painted moved by %d on average", sum/n)
			}
			// The middle of the badge is red (grey images: red's luma).
			c := rgb(got.At(at.Min.X+20, at.Min.Y+10))
			if in.gray {
				if c[0] < 60 || c[0] > 92 || c[0] != c[1] {
					t.Errorf("badge centre %v, want grey near 76 (red's luma)", c)
				}
			} else if c[0] < 210 || c[1] > 50 || c[2] > 50 {
				t.Errorf("badge centre %v, want red", c)
			}
			// APPn and COM segments kept byte for byte.
			ki, ko := kept(t, in.b), kept(t, out)
			if in.segments >= 0 && len(ko) != in.segments {
				t.Errorf("%d APPn/COM segments in the output, want %d", len(ko), in.segments)
			}
			if in.mcu != (image.Point{}) {
				if len(ki) != len(ko) {
					t.Fatalf("%d APPn/COM segments, input %d", len(ko), len(ki))
				}
				for i := range ki {
					if !bytes.Equal(ki[i], ko[i]) {
						t.Errorf("segment %d (FF%02X) differs", i, ki[i][1])
					}
				}
			}
		})
	}
}

func maxDiff(a, b [3]int) int {
	d := 0
	for i := range a {
		d = max(d, a[i]-b[i], b[i]-a[i])
	}
	return d
}

// TestPaintTransparentOverlay paints a wholly transparent overlay: the MCUs under it are decoded
// and re-coded from the same samples, which must give back the same pixels (give or take a
// rounding step); a region taken from the wrong place, or samples put back at the wrong offset,
// would not.
func TestPaintTransparentOverlay(t *testing.T) {
	for name, in := range paintInputs(t) {
		if in.mcu == (image.Point{}) {
			continue
		}
		ov := image.NewNRGBA(image.Rect(0, 0, 37, 23))
		m := decode(t, in.b)
		out, info, err := paintFile(t, in.b, formatstest.Placed(ov, image.Rect(5, 9, 42, 32)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if info.Changed.Empty() {
			t.Fatalf("%s: nothing re-coded", name)
		}
		got := decode(t, out)
		worst := 0
		for y := 0; y < m.Bounds().Dy(); y++ {
			for x := 0; x < m.Bounds().Dx(); x++ {
				worst = max(worst, maxDiff(rgb(m.At(x, y)), rgb(got.At(x, y))))
			}
		}
		if worst > 2 {
			t.Errorf("%s: pixels re-coded under a transparent overlay moved by up to %d", name, worst)
		}
		t.Logf("%s: %s, worst change %d", name, info.Method, worst)
	}
}

// TestPaintFullKeepsSegments: the full re-encoding keeps APPn and COM segments in order, without
// the Adobe APP14 segment and the CMYK ICC profile, and writes a YCbCr JPEG.
func TestPaintFullKeepsSegments(t *testing.T) {
	in := paintInputs(t)["cmyk"].b
	out, info, err := paintFile(t, in, formatstest.Corner(formatstest.Badge(image.Point{})))
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, s := range kept(t, in) {
		p := s[4:]
		if (s[1] == 0xEE && bytes.HasPrefix(p, []byte("Adobe"))) || (s[1] == 0xE2 && bytes.HasPrefix(p, []byte("ICC_PROFILE\x00"))) {
			continue
		}
		want = append(want, s)
	}
	got := kept(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d segments kept, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("segment %d differs", i)
		}
	}
	if _, ok := decode(t, out).(*image.YCbCr); !ok {
		t.Errorf("output decodes to %T, want YCbCr", decode(t, out))
	}
	if !strings.Contains(info.Method, "quality 90") {
		t.Errorf("Method %q: the CMYK input's quality cannot be estimated, want 90", info.Method)
	}
	if !strings.Contains(info.Method, "unsupported") {
		t.Errorf("Method %q does not say why", info.Method)
	}
}

// TestPaintMetadataRead: the labeler reads the same XMP, EXIF and C2PA store from the output.
func TestPaintMetadataRead(t *testing.T) {
	for name, in := range paintInputs(t) {
		out, _, err := paintFile(t, in.b, formatstest.Corner(formatstest.Badge(image.Point{})))
		if err != nil {
			t.Fatal(err)
		}
		a, b := openBytes(t, in.b), openBytes(t, out)
		sa, errA := a.ManifestStore()
		sb, errB := b.ManifestStore()
		if (errA == nil) != (errB == nil) || !bytes.Equal(sa, sb) {
			t.Errorf("%s: manifest store %d bytes (%v), input %d bytes (%v)", name, len(sb), errB, len(sa), errA)
		}
		if !bytes.Equal(a.XMP(), b.XMP()) || !bytes.Equal(a.EXIF(), b.EXIF()) {
			t.Errorf("%s: XMP or EXIF differ", name)
		}
	}
}

// TestPaintTools reads the outputs with ImageMagick (libjpeg) and exiftool. libjpeg decodes the
// pixel at (0,0), far from the overlay, exactly as in the input, and the badge red.
func TestPaintTools(t *testing.T) {
	identify := testtool.Require(t, "identify")
	dir := t.TempDir()
	for name, in := range paintInputs(t) {
		out, _, err := paintFile(t, in.b, formatstest.Placed(formatstest.Badge(image.Point{}), image.Rect(24, 20, 64, 40)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var px [2]string
		for i, b := range [][]byte{in.b, out} {
			p := filepath.Join(dir, fmt.Sprint(name, i, ".jpg"))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := runTool(identify, "-format", "%w %h %[pixel:p{0,0}] %[pixel:p{44,30}]", p)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			f := strings.Fields(got)
			if len(f) != 4 {
				t.Fatalf("%s: identify says %q", name, got)
			}
			px[i] = f[2]
			if i == 1 {
				if !in.gray && f[3] != "red" && !strings.HasPrefix(f[3], "srgb(2") {
					t.Errorf("%s: identify reads the badge as %q, want red", name, f[3])
				}
				if title := strings.TrimSpace(testtool.Exiftool(t, "-s3", "-XMP-dc:Title", p)); name != "c2pa-rs-signed" && !strings.HasPrefix(name, "go-") && title != "paint test" {
					t.Errorf("%s: exiftool reads the XMP title %q", name, title)
				}
			}
		}
		if in.mcu != (image.Point{}) && px[0] != px[1] {
			t.Errorf("%s: ImageMagick reads pixel (0,0) as %s, the input's is %s", name, px[1], px[0])
		}
	}
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
	in := paintInputs(t)["go-420-403x301"].b
	m := decode(t, in)
	for _, at := range []image.Rectangle{
		image.Rect(-10, -5, 30, 15),
		image.Rect(380, 290, 420, 310),
		image.Rect(-100, 0, -60, 20),
		image.Rect(0, 400, 40, 420),
	} {
		out, info, err := paintFile(t, in, formatstest.Placed(formatstest.Badge(image.Point{}), at))
		if err != nil {
			t.Fatalf("%v: %v", at, err)
		}
		clip := at.Intersect(m.Bounds())
		if clip.Empty() {
			if !bytes.Equal(out, in) || !info.Changed.Empty() {
				t.Errorf("%v: an overlay outside the picture changed the file (%s, %v)", at, info.Method, info.Changed)
			}
			continue
		}
		if !clip.In(info.Changed) || !info.Changed.In(m.Bounds()) {
			t.Errorf("%v: Changed %v does not hold %v inside the picture", at, info.Changed, clip)
		}
		got := decode(t, out)
		for y := 0; y < m.Bounds().Dy(); y++ {
			for x := 0; x < m.Bounds().Dx(); x++ {
				if !image.Pt(x, y).In(info.Changed) && m.At(x, y) != got.At(x, y) {
					t.Fatalf("%v: pixel (%d,%d) outside Changed differs", at, x, y)
				}
			}
		}
	}
}

// TestPaintHostile: bad inputs give clear errors; a picture too large is refused before the
// overlay is made.
func TestPaintHostile(t *testing.T) {
	ins := paintInputs(t)
	withSize := func(b []byte, w, h uint16) []byte {
		out := append([]byte(nil), b...)
		for _, s := range func() []modelSeg { s, _ := modelParse(t, out); return s }() {
			if s.marker == 0xC0 || s.marker == 0xC2 {
				binary.BigEndian.PutUint16(s.raw[5:], h)
				binary.BigEndian.PutUint16(s.raw[7:], w)
			}
		}
		return out
	}
	called := false
	spy := func(b image.Rectangle) (image.Image, image.Rectangle, error) {
		called = true
		return formatstest.Corner(formatstest.Badge(image.Point{}))(b)
	}
	truncated := ins["ycc420"].b[:len(ins["ycc420"].b)-200]
	for _, tc := range []struct {
		name string
		in   []byte
		fn   formats.OverlayFunc
		want error
	}{
		{"huge", withSize(ins["ycc420"].b, 60000, 60000), spy, formats.ErrTooLarge},
		{"huge CMYK", withSize(ins["cmyk"].b, 60000, 60000), spy, formats.ErrTooLarge},
		{"truncated", truncated, spy, formats.ErrMalformed},
		{"overlay error", ins["ycc420"].b, func(image.Rectangle) (image.Image, image.Rectangle, error) {
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
		if called && tc.want != nil {
			t.Errorf("%s: the overlay was made before the input was refused", tc.name)
		}
		t.Logf("%s: %v", tc.name, err)
	}
	for _, name := range []string{"ycc420", "cmyk"} {
		if _, err := openBytes(t, ins[name].b).Paint(failWriter{}, formatstest.Corner(formatstest.Badge(image.Point{}))); err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("%s: failing writer: %v", name, err)
		}
	}
	if _, err := (&File{}).Paint(io.Discard, formatstest.Corner(formatstest.Badge(image.Point{}))); err == nil {
		t.Errorf("zero File: no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestPaintOverlayOnce: the overlay function runs once, also when the full re-encoding takes over.
func TestPaintOverlayOnce(t *testing.T) {
	for name, in := range paintInputs(t) {
		n := 0
		fn := func(b image.Rectangle) (image.Image, image.Rectangle, error) {
			n++
			return formatstest.Corner(formatstest.Badge(image.Point{}))(b)
		}
		if _, _, err := paintFile(t, in.b, fn); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s: the overlay function ran %d times", name, n)
		}
	}
}

func BenchmarkPaint4000x3000(b *testing.B) {
	m := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	rnd := rand.New(rand.NewSource(1))
	for y := 0; y < 3000; y++ {
		for x := 0; x < 4000; x++ {
			n := uint8(rnd.Intn(8))
			m.SetRGBA(x, y, color.RGBA{uint8(x/16) + n, uint8(y/12) + n, uint8((x+y)/28) + n, 255})
		}
	}
	var in bytes.Buffer
	if err := stdjpeg.Encode(&in, m, &stdjpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	ov := image.NewNRGBA(image.Rect(0, 0, 1200, 160))
	for i := range ov.Pix {
		ov.Pix[i] = 0xeb
	}
	c, err := Open(bytes.NewReader(in.Bytes()), int64(in.Len()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := c.Paint(io.Discard, formatstest.Corner(ov)); err != nil {
			b.Fatal(err)
		}
	}
}
