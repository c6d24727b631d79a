package warning_test

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ailabel/ailabel/warning"
	"github.com/ailabel/ailabel/warning/warningtest"
)

var update = flag.Bool("update", false, "rewrite the golden overlays in testdata/golden")

// samples are the warnings written as example PNGs and checked against golden overlays.
func samples(t testing.TB) []struct {
	name string
	size image.Point
	spec warning.Spec
} {
	return []struct {
		name string
		size image.Point
		spec warning.Spec
	}{
		{"badge-kk-ru", image.Pt(900, 600), warning.Spec{Style: warning.Badge, Messages: messages(t, "kk", "ru")}},
		{"caption-kk-ru-en", image.Pt(900, 600), warning.Spec{Style: warning.Caption, Messages: messages(t, "kk", "ru", "en")}},
		{"badge-zh-gb45438", image.Pt(900, 600), warning.Spec{Style: warning.Badge, Placement: warning.BottomRight, MinTextHeight: 0.05, Messages: messages(t, "zh")}},
		{"euicon-de-modified", image.Pt(900, 600), warning.Spec{Style: warning.EUIcon, Placement: warning.TopRight, Modified: true, Messages: messages(t, "de")}},
		{"euicon-kk-ru", image.Pt(600, 600), warning.Spec{Style: warning.EUIcon, Messages: messages(t, "kk", "ru")}},
	}
}

// scene is a photo-like background for the samples: a sky gradient, a light and a dark disc
// and a striped area, so the plate is seen over light, dark and busy parts.
func scene(size image.Point) *image.RGBA {
	img := image.NewRGBA(image.Rectangle{Max: size})
	w, h := float64(size.X), float64(size.Y)
	u := math.Min(w, h)
	for y := range size.Y {
		for x := range size.X {
			fx, fy := float64(x)/w, float64(y)/h
			c := color.RGBA{uint8(90 + 120*fy), uint8(150 + 80*fy), uint8(235 - 60*fx), 255}
			if math.Hypot(float64(x)-0.2*w, float64(y)-0.25*h) < 0.2*u {
				c = color.RGBA{250, 245, 225, 255}
			}
			if math.Hypot(float64(x)-0.85*w, float64(y)-0.8*h) < 0.3*u {
				c = color.RGBA{30, 40, 35, 255}
			}
			if fy > 0.7 && fx < 0.6 && (x/6+y/6)%2 == 0 {
				c = color.RGBA{200, 60, 40, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// TestSamplesAndGolden writes sample PNGs (to a temporary folder, and to $AILABEL_WRITE_SAMPLES
// when set) and compares each overlay with its golden copy in testdata/golden, allowing the
// small differences a different rasteriser build (SIMD or not) may make. Run with -update to
// rewrite the golden files after an intended change, and look at them before committing.
func TestSamplesAndGolden(t *testing.T) {
	dirs := []string{t.TempDir()}
	if d := os.Getenv("AILABEL_WRITE_SAMPLES"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	for _, s := range samples(t) {
		t.Run(s.name, func(t *testing.T) {
			img := scene(s.size)
			ov, at, err := warning.Render(img.Rect, s.spec)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := warning.Draw(img, s.spec); err != nil {
				t.Fatal(err)
			}
			if cr, err := warningtest.WorstContrast(img, ov); err != nil || cr < 4.5 {
				t.Errorf("contrast %.2f, %v", cr, err)
			}
			for _, d := range dirs {
				p := filepath.Join(d, s.name+".png")
				writePNG(t, p, img)
				back := readPNG(t, p)
				if !back.Bounds().Eq(img.Rect) {
					t.Fatalf("%s reads back as %v", p, back.Bounds())
				}
				for _, pt := range []image.Point{at.Min, at.Max.Sub(image.Pt(1, 1)), {at.Min.X + at.Dx()/2, at.Min.Y + at.Dy()/2}} {
					if color.RGBAModel.Convert(back.At(pt.X, pt.Y)) != img.At(pt.X, pt.Y) {
						t.Errorf("%s: pixel %v differs after the PNG round trip", p, pt)
					}
				}
			}

			// The golden file is the overlay in place on a transparent canvas of the image's
			// size, so both its pixels and its position are compared.
			canvas := image.NewNRGBA(img.Rect)
			draw.Draw(canvas, at, ov, at.Min, draw.Src)
			golden := filepath.Join("testdata", "golden", s.name+".png")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				writePNG(t, golden, canvas)
				return
			}
			compareOverlay(t, canvas, at, readPNG(t, golden))
		})
	}
}

// compareOverlay checks a canvas with the overlay at `at` against the golden canvas: every
// channel within 48 levels, at most 0.5 % of the overlay's pixel count more than 8 levels off,
// and a mean difference under 0.5 per overlay pixel.
func compareOverlay(t *testing.T, canvas *image.NRGBA, at image.Rectangle, want image.Image) {
	t.Helper()
	if want.Bounds() != canvas.Rect {
		t.Fatalf("golden is %v, image %v", want.Bounds(), canvas.Rect)
	}
	var sum, big int
	worst := 0
	r := canvas.Rect
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			a := canvas.NRGBAAt(x, y)
			b := color.NRGBAModel.Convert(want.At(x, y)).(color.NRGBA)
			d := max(absDiff(a.R, b.R), absDiff(a.G, b.G), absDiff(a.B, b.B), absDiff(a.A, b.A))
			sum += d
			worst = max(worst, d)
			if d > 8 {
				big++
			}
		}
	}
	n := at.Dx() * at.Dy()
	if mean := float64(sum) / float64(n); worst > 48 || float64(big) > 0.005*float64(n) || mean > 0.5 {
		t.Errorf("overlay differs from golden: worst %d, %d of %d pixels > 8, mean %.3f (rerun with -update if intended)", worst, big, n, mean)
	}
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}
