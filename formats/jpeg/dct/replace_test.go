package dct

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	stdjpeg "image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

// badge draws a white rectangle over rect: Pixels of the aligned region, draw, Replace, Encode.
func badge(t *testing.T, in []byte, rect image.Rectangle) (m *Image, aligned image.Rectangle, out []byte) {
	t.Helper()
	m = mustDecode(t, in)
	aligned = m.BlockAligned(rect)
	px, err := m.Pixels(aligned)
	if err != nil {
		t.Fatalf("Pixels: %v", err)
	}
	if px.Bounds() != aligned {
		t.Fatalf("Pixels bounds %v, want %v", px.Bounds(), aligned)
	}
	canvas := image.NewRGBA(aligned)
	draw.Draw(canvas, aligned, px, aligned.Min, draw.Src)
	draw.Draw(canvas, rect.Intersect(aligned), image.NewUniform(color.White), image.Point{}, draw.Src)
	if err := m.Replace(aligned, canvas); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	return m, aligned, mustEncode(t, m)
}

// meanLuma returns the mean luma of img over r.
func meanLuma(img image.Image, r image.Rectangle) float64 {
	var sum float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			sum += float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y)
		}
	}
	return sum / float64(r.Dx()*r.Dy())
}

func TestReplace(t *testing.T) {
	inputs := map[string][]byte{
		"go-420-333x251": goJPEG(t, testImage(333, 251), 90),
		"go-gray-200x90": goJPEG(t, grayOf(testImage(200, 90)), 80),
	}
	for _, name := range []string{"im-422", "lj-411-rst2", "lj-prog-444", "im-gray-1x1"} {
		inputs[name] = readFile(t, filepath.Join("testdata", name+".jpg"))
	}
	if tool, err := exec.LookPath("/usr/bin/convert"); err == nil {
		// A larger progressive 4:2:2 picture from ImageMagick, when it is there.
		dir := t.TempDir()
		src, dst := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.jpg")
		writePNG(t, src, testImage(301, 203))
		if b, err := exec.Command(tool, src, "-interlace", "Plane", "-sampling-factor", "4:2:2", dst).CombinedOutput(); err != nil {
			t.Fatalf("convert: %v: %s", err, b)
		}
		inputs["im-prog-422-301x203"] = readFile(t, dst)
	}
	for name, in := range inputs {
		orig, err := stdDecode(in)
		if err != nil {
			t.Fatal(err)
		}
		b := orig.Bounds()
		for _, rect := range []image.Rectangle{
			image.Rect(b.Dx()/5, b.Dy()/4, b.Dx()/5+b.Dx()/3, b.Dy()/4+b.Dy()/5+1), // interior
			image.Rect(b.Dx()-b.Dx()/3, b.Dy()-b.Dy()/3, b.Dx(), b.Dy()),           // bottom-right corner, odd edges
			image.Rect(0, 0, 3, 2), // top-left, smaller than an MCU
		} {
			rect = rect.Intersect(b)
			if rect.Empty() {
				continue
			}
			t.Run(fmt.Sprintf("%s-%v", name, rect), func(t *testing.T) {
				_, aligned, out := badge(t, in, rect)
				got, err := stdDecode(out)
				if err != nil {
					t.Fatalf("image/jpeg: %v", err)
				}
				// Outside the aligned region: identical pixels.
				if err := samePixels(orig, got, aligned, true); err != nil {
					t.Fatalf("outside %v: %v", aligned, err)
				}
				// Inside: the white rectangle is visible.
				l, l0 := meanLuma(got, rect), meanLuma(orig, rect)
				if l < 235 || l-l0 < 20 {
					t.Fatalf("mean luma %.1f over the badge %v (%.1f before), want > 235 and brighter", l, rect, l0)
				}
				// Pixels of the aligned region not under the badge stay close (one generation).
				var worst int
				for y := aligned.Min.Y; y < aligned.Max.Y; y++ {
					for x := aligned.Min.X; x < aligned.Max.X; x++ {
						if image.Pt(x, y).In(rect.Inset(-2)) {
							continue
						}
						a := color.GrayModel.Convert(orig.At(x, y)).(color.Gray).Y
						c := color.GrayModel.Convert(got.At(x, y)).(color.Gray).Y
						worst = max(worst, absInt(int(a)-int(c)))
					}
				}
				if worst > 60 {
					t.Fatalf("re-coded pixels away from the badge differ by up to %d", worst)
				}
			})
		}
	}
}

// TestPixelsMatchDecoder: Pixels gives what image/jpeg decodes, within IDCT rounding.
func TestPixelsMatchDecoder(t *testing.T) {
	for _, in := range [][]byte{goJPEG(t, testImage(333, 251), 90), goJPEG(t, grayOf(testImage(41, 37)), 60),
		readFile(t, "testdata/im-422.jpg"), readFile(t, "testdata/lj-411-rst2.jpg"), readFile(t, "testdata/lj-prog-444.jpg")} {
		m := mustDecode(t, in)
		want, err := stdDecode(in)
		if err != nil {
			t.Fatal(err)
		}
		px, err := m.Pixels(m.Bounds())
		if err != nil {
			t.Fatal(err)
		}
		var worst int
		b := m.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				switch w := want.(type) {
				case *image.YCbCr:
					p := px.(*image.YCbCr)
					worst = max(worst, absInt(int(w.Y[w.YOffset(x, y)])-int(p.Y[p.YOffset(x, y)])),
						absInt(int(w.Cb[w.COffset(x, y)])-int(p.Cb[p.COffset(x, y)])),
						absInt(int(w.Cr[w.COffset(x, y)])-int(p.Cr[p.COffset(x, y)])))
				case *image.Gray:
					worst = max(worst, absInt(int(w.GrayAt(x, y).Y)-int(px.(*image.Gray).GrayAt(x, y).Y)))
				}
			}
		}
		if worst > 2 {
			t.Fatalf("Pixels differs from image/jpeg by up to %d", worst)
		}
	}
}

// TestReplaceSameIsNearlyLossless: putting back a region's own pixels changes its coefficients
// only by rounding.
func TestReplaceSameIsNearlyLossless(t *testing.T) {
	m := mustDecode(t, goJPEG(t, testImage(96, 64), 95))
	before := append([]int16(nil), m.Components[0].Coeffs...)
	r := m.BlockAligned(image.Rect(20, 20, 40, 40))
	px, err := m.Pixels(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Replace(r, px); err != nil {
		t.Fatal(err)
	}
	changed, big := 0, 0
	for i, v := range m.Components[0].Coeffs {
		if d := absInt(int(v) - int(before[i])); d > 0 {
			changed++
			if d > 1 {
				big++
			}
		}
	}
	if big > 0 {
		t.Fatalf("%d luma coefficients changed by more than 1 (%d changed)", big, changed)
	}
}

func TestRegionErrors(t *testing.T) {
	m := mustDecode(t, goJPEG(t, testImage(40, 24), 80)) // 4:2:0: 16x16 MCUs
	if got := m.BlockAligned(image.Rect(17, 3, 20, 5)); got != image.Rect(16, 0, 32, 16) {
		t.Fatalf("BlockAligned = %v", got)
	}
	if got := m.BlockAligned(image.Rect(30, 20, 100, 100)); got != image.Rect(16, 16, 40, 24) {
		t.Fatalf("BlockAligned at the edge = %v", got)
	}
	if got := m.BlockAligned(image.Rect(50, 50, 60, 60)); !got.Empty() {
		t.Fatalf("BlockAligned outside = %v", got)
	}
	for _, r := range []image.Rectangle{image.Rect(1, 0, 16, 16), image.Rect(0, 0, 16, 15), {}, image.Rect(0, 0, 48, 32)} {
		if _, err := m.Pixels(r); err == nil {
			t.Fatalf("Pixels(%v) accepted", r)
		}
		if err := m.Replace(r, image.NewRGBA(image.Rect(0, 0, 64, 64))); err == nil {
			t.Fatalf("Replace(%v) accepted", r)
		}
	}
	if err := m.Replace(image.Rect(0, 0, 16, 16), image.NewRGBA(image.Rect(0, 0, 8, 8))); err == nil {
		t.Fatal("Replace with a source smaller than the region accepted")
	}
	// Layouts image.YCbCr cannot hold, and RGB JPEGs.
	odd := mustDecode(t, readFile(t, "testdata/lj-odd-sampling.jpg"))
	if _, err := odd.Pixels(odd.Bounds()); !errors.Is(err, formats.ErrUnsupported) {
		t.Fatalf("Pixels of 1x2,2x1,1x1 sampling: %v", err)
	}
	rgb := mustDecode(t, goJPEG(t, testImage(16, 16), 80))
	rgb.jfif = false
	rgb.adobe, rgb.adobeTransform = true, 0
	if _, err := rgb.Pixels(rgb.Bounds()); !errors.Is(err, formats.ErrUnsupported) {
		t.Fatalf("Pixels of an RGB JPEG: %v", err)
	}
	if err := rgb.Replace(rgb.Bounds(), image.NewRGBA(rgb.Bounds())); !errors.Is(err, formats.ErrUnsupported) {
		t.Fatalf("Replace of an RGB JPEG: %v", err)
	}
}

func grayOf(img image.Image) *image.Gray {
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, img.Bounds().Min, draw.Src)
	return g
}

func absInt(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func writePNG(t *testing.T, name string, img image.Image) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// The flat-block shortcut of idct gives the same samples as the full transform, and both the
// exact value DC·q/8 + 128, ties rounded away from zero, clamped.
func TestIDCTFlatShortcut(t *testing.T) {
	var q [64]uint16
	for i := range q {
		q[i] = uint16(1 + i%7)
	}
	for dc := -2047; dc <= 2047; dc++ {
		for _, q0 := range []uint16{1, 2, 3, 5, 8, 16} {
			q[0] = q0
			blk := make([]int16, 64)
			blk[0] = int16(dc)
			var fast, full [64]uint8
			idct(blk, &q, &fast)
			idctFull(blk, &q, &full)
			// Exactly: (dc·q + 1024)/8, rounded half away from zero.
			n := dc*int(q0) + 1024
			want := (n + 4) / 8
			if n < 0 {
				want = -((-n + 4) / 8)
			}
			want = min(max(want, 0), 255)
			if fast != full || int(fast[0]) != want {
				t.Fatalf("dc %d q %d: shortcut %v, full %v, want %d", dc, q0, fast[0], full[0], want)
			}
		}
	}
}

// Luma decodes the same luma as Pixels (it splits the work in bands).
func TestLumaMatchesPixels(t *testing.T) {
	for _, name := range []string{"420", "444", "gray"} {
		var buf bytes.Buffer
		var img image.Image
		switch name {
		case "gray":
			g := image.NewGray(image.Rect(0, 0, 131, 97))
			for i := range g.Pix {
				g.Pix[i] = uint8(i * 7)
			}
			img = g
		default:
			n := image.NewNRGBA(image.Rect(0, 0, 131, 97))
			for i := range n.Pix {
				n.Pix[i] = uint8(i * 13)
			}
			img = n
		}
		if err := stdjpeg.Encode(&buf, img, &stdjpeg.Options{Quality: 80}); err != nil {
			t.Fatal(err)
		}
		m, err := Decode(&buf, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		l, err := m.Luma()
		if err != nil {
			t.Fatal(err)
		}
		px, err := m.Pixels(m.BlockAligned(m.Bounds()))
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < m.Height; y++ {
			for x := 0; x < m.Width; x++ {
				var want uint8
				switch p := px.(type) {
				case *image.YCbCr:
					want = p.Y[p.YOffset(x, y)]
				case *image.Gray:
					want = p.GrayAt(x, y).Y
				}
				if got := l.GrayAt(x, y).Y; got != want {
					t.Fatalf("%s: (%d,%d) luma %d, Pixels %d", name, x, y, got, want)
				}
			}
		}
	}
}
