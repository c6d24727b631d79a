package iscc

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// opaqueWrapper hides a picture's concrete type, so flattenRGB takes its generic path.
type opaqueWrapper struct{ image.Image }

// The fast paths of flattenRGB give exactly what the generic path (color.NRGBAModel) gives.
func TestFlattenFastPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := image.Rect(3, 5, 70, 41) // not at the origin
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	for i := range ycc.Y {
		ycc.Y[i] = uint8(rng.IntN(256))
	}
	for i := range ycc.Cb {
		ycc.Cb[i], ycc.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
	}
	gray := image.NewGray(r)
	nrgba := image.NewNRGBA(r)
	for i := range gray.Pix {
		gray.Pix[i] = uint8(rng.IntN(256))
	}
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(rng.IntN(256))
	}
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		nrgba.SetNRGBA(r.Min.X, y, color.NRGBA{10, 20, 30, 255}) // some opaque pixels too
	}
	for name, img := range map[string]image.Image{"ycbcr": ycc, "gray": gray, "nrgba": nrgba} {
		if got, want := flattenRGB(img), flattenRGB(opaqueWrapper{img}); !bytes.Equal(got, want) {
			t.Errorf("%s: the fast path differs from the generic one", name)
		}
	}
}
