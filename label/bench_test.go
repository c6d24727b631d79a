package label_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
)

var (
	benchOnce          sync.Once
	bench12MP, bench16 []byte
)

// benchInputs makes a 4000x3000 photo-like JPEG (about 3 MB at quality 85) and a 2400x1800
// RGBA PNG of about 16 MB, once.
func benchInputs(b *testing.B) ([]byte, []byte) {
	benchOnce.Do(func() {
		img := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
		seed := uint32(1)
		for y := 0; y < 3000; y++ {
			for x := 0; x < 4000; x++ {
				seed = seed*1664525 + 1013904223
				n := uint8(seed>>29) * 3
				img.Set(x, y, color.RGBA{uint8(x/16) + n, uint8(y/12) + n, uint8((x+y)/28) + n, 255})
			}
		}
		bench12MP = encodeJPEG(b, img, 85)
		png := image.NewNRGBA(image.Rect(0, 0, 2400, 1800))
		for i := range png.Pix {
			seed = seed*1664525 + 1013904223
			png.Pix[i] = uint8(seed >> 24)
		}
		bench16 = encodePNG(b, png)
	})
	return bench12MP, bench16
}

func benchLabeler(b *testing.B) *label.Labeler {
	c := newCreds(b, "bench", sign.KeyP256)
	return newLabeler(b, c)
}

// BenchmarkLabel12MPJPEG and the others report wall time per file and bytes allocated per
// operation (the input itself is in memory already and not counted).
// The Label benchmarks write the machine-readable label only; the Badge ones draw the visible
// warning too (cn: a corner badge; kz: a caption band in three languages).
func BenchmarkLabel12MPJPEG(b *testing.B) { benchLabel(b, 0, label.Options{NoNotice: true}) }
func BenchmarkLabel16MBPNG(b *testing.B)  { benchLabel(b, 1, label.Options{NoNotice: true}) }
func BenchmarkBadge12MPJPEG(b *testing.B) {
	benchLabel(b, 0, label.Options{Policy: mustPolicy(b, "cn"), Provider: providerCode})
}
func BenchmarkCaption12MPJPEG(b *testing.B) { benchLabel(b, 0, label.Options{}) }
func BenchmarkBadge16MBPNG(b *testing.B) {
	benchLabel(b, 1, label.Options{Policy: mustPolicy(b, "cn"), Provider: providerCode})
}
func BenchmarkVerify12MPJPEG(b *testing.B) { benchVerify(b, 0) }
func BenchmarkVerify16MBPNG(b *testing.B)  { benchVerify(b, 1) }

// BenchmarkLabel1KText labels 1 KB of text: the sidecar's most frequent request.
func BenchmarkLabel1KText(b *testing.B) {
	l := benchLabeler(b)
	in := []byte(strings.Repeat("The model wrote this sentence. ", 33))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), io.Discard, label.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func pick(b *testing.B, i int) []byte {
	j, p := benchInputs(b)
	if i == 0 {
		return j
	}
	return p
}

func benchLabel(b *testing.B, i int, o label.Options) {
	in := pick(b, i)
	l := benchLabeler(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), io.Discard, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in))/1e6, "MB-file")
}

func benchVerify(b *testing.B, i int) {
	in := pick(b, i)
	out := labelBytes(b, benchLabeler(b), in, label.Options{})
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := label.Verify(context.Background(), bytes.NewReader(out), int64(len(out)), label.VerifyOptions{})
		if err != nil || r.Verdict != label.Valid {
			b.Fatalf("%v %v", err, r)
		}
	}
	b.ReportMetric(float64(len(out))/1e6, "MB-file")
}
