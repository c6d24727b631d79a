package webp

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/formatstest"
	xwebp "golang.org/x/image/webp"
)

func TestAddLuma(t *testing.T) {
	for _, name := range []string{"lossless.webp", "lossy.webp"} {
		in, err := os.ReadFile(filepath.Join("testdata", "paint", name))
		if err != nil {
			t.Fatal(err)
		}
		f, err := Open(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			t.Fatal(err)
		}
		before, err := xwebp.Decode(bytes.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		wave := formatstest.Wave{A: 2.5, P: 24}
		var out bytes.Buffer
		info, err := formats.LumaMarker(f).AddLuma(&out, func(pic image.Image) (formats.LumaDelta, error) {
			if pic.Bounds() != before.Bounds() {
				t.Errorf("the mark function saw %v, want %v", pic.Bounds(), before.Bounds())
			}
			return wave, nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Logf("%s: %s", name, info.Method)
		after, err := xwebp.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("%s: the output does not decode: %v", name, err)
		}
		// Lossless output: exact up to rounding each of R, G, B (and clipping at 0 and 255).
		formatstest.CheckLumaAdded(t, asNRGBA(before), after, wave, 0.8, 2.6)
	}
}

// asNRGBA converts a decoded WebP (YCbCr for lossy) to the RGB the labeler marks.
func asNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	m := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			m.Set(x, y, img.At(x, y))
		}
	}
	return m
}
