package watermark

import (
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

// big12MP returns a 4000×3000 photo-like picture as *image.YCbCr (4:2:0,
// what a JPEG decoder returns) and as *image.NRGBA, built once.
var big12MP = sync.OnceValues(func() (*image.YCbCr, *image.NRGBA) {
	return tiled12MP(photos.Sized(1000, 750, 0, 99))
})

// foliage12MP is the same for a foliage scene: heavily textured, so the
// embedder takes the informed-embedding path (the slowest).
var foliage12MP = sync.OnceValues(func() (*image.YCbCr, *image.NRGBA) {
	n := photos.Sized(4000, 3000, 3, 99)
	return toYCbCr420(n), n
})

func tiled12MP(src *image.NRGBA) (*image.YCbCr, *image.NRGBA) {
	n := image.NewNRGBA(image.Rect(0, 0, 4000, 3000))
	// Tile the 1000×750 scene 4×4 with mirroring so that the picture has
	// texture at every scale without generating 12 MP of noise each run.
	for ty := range 4 {
		for tx := range 4 {
			draw.Draw(n, image.Rect(tx*1000, ty*750, tx*1000+1000, ty*750+750), src, image.Point{}, draw.Src)
		}
	}
	return toYCbCr420(n), n
}

// toYCbCr420 converts to 4:2:0 YCbCr (chroma from the top-left pixel of
// each 2×2 block).
func toYCbCr420(n *image.NRGBA) *image.YCbCr {
	y := image.NewYCbCr(n.Bounds(), image.YCbCrSubsampleRatio420)
	r := n.Bounds()
	for py := r.Min.Y; py < r.Max.Y; py++ {
		for px := r.Min.X; px < r.Max.X; px++ {
			c := n.NRGBAAt(px, py)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			y.Y[y.YOffset(px, py)] = yy
			co := y.COffset(px, py)
			y.Cb[co], y.Cr[co] = cb, cr
		}
	}
	return y
}

func BenchmarkEmbed12MP(b *testing.B) {
	y, _ := big12MP()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Embed(y, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbed12MPNRGBA(b *testing.B) {
	_, n := big12MP()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Embed(n, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewMark12MP(b *testing.B) {
	y, _ := big12MP()
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewMark(y, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetect12MP(b *testing.B) {
	y, _ := big12MP()
	m, err := Embed(y, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Detect(m, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetect12MPNRGBA(b *testing.B) {
	_, n := big12MP()
	m, err := Embed(n, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := Detect(m, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDetectSmall(b *testing.B) {
	m := photos.Sized(320, 240, 1, 5)
	b.ResetTimer()
	for b.Loop() {
		_, _ = Detect(m, nil)
	}
}

func BenchmarkEmbed12MPFoliage(b *testing.B) {
	y, n := foliage12MP()
	m, err := Embed(n, ID{1}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("foliage 12 MP: PSNR %.1f dB", psnrNRGBA(n, m.(*image.NRGBA)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Embed(y, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbed12MPFoliageNRGBA(b *testing.B) {
	_, n := foliage12MP()
	b.ResetTimer()
	for b.Loop() {
		if _, err := Embed(n, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewMarkSmall is the fixed cost of a mark (analysis on the 96-cell grid, one closed-
// loop simulation): what dominates labeling a small picture, e.g. a 512×512 thumbnail.
func BenchmarkNewMarkSmall(b *testing.B) {
	y := toYCbCr420(photos.Sized(512, 512, 1, 5))
	b.ResetTimer()
	for b.Loop() {
		if _, err := NewMark(y, ID{1, 2, 3, 4, 5, 6, 7, 8}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWhiten: the whitening of the half-cell grid of a 256 × 256 picture (192 × 192
// samples), run once per simulated detection when a mark is made.
func BenchmarkWhiten(b *testing.B) {
	const n = 192
	rng := rand.New(rand.NewPCG(5, 6))
	src := make([]float32, n*n)
	for i := range src {
		src[i] = float32(128 + 40*rng.NormFloat64())
	}
	res := make([]float32, len(src))
	for b.Loop() {
		whitenInto(res, src, n, n)
	}
}
