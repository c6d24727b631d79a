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

// The NRGBA path of flattenRGB gives exactly what the generic path (color.NRGBAModel) gives,
// translucent pixels included.
func TestFlattenNRGBAPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	r := image.Rect(3, 5, 70, 41) // not at the origin
	nrgba := image.NewNRGBA(r)
	for i := range nrgba.Pix {
		nrgba.Pix[i] = uint8(rng.IntN(256))
	}
	for y := r.Min.Y; y < r.Max.Y; y += 3 {
		nrgba.SetNRGBA(r.Min.X, y, color.NRGBA{10, 20, 30, 255}) // some opaque pixels too
	}
	if got, want := flattenRGB(nrgba), flattenRGB(opaqueWrapper{nrgba}); !bytes.Equal(got, want) {
		t.Error("the NRGBA path differs from the generic one")
	}
}

// Normalize's grey and YCbCr paths (no RGB copy) give exactly what the generic path gives:
// random pictures, pictures with a border to trim, a flat picture, a sub-image not at the
// origin, every chroma subsampling.
func TestNormalizeGrayPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio444,
		image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for n := range 60 {
		r := image.Rect(2, 3, 2+40+rng.IntN(300), 3+40+rng.IntN(300))
		g := image.NewGray(r)
		for i := range g.Pix {
			g.Pix[i] = uint8(rng.IntN(256))
		}
		if n%2 == 1 { // the same picture as YCbCr, with random chroma
			ycc := image.NewYCbCr(r, ratios[n/2%len(ratios)])
			copy(ycc.Y, g.Pix)
			for i := range ycc.Cb {
				ycc.Cb[i], ycc.Cr[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
			}
			var img image.Image = ycc
			if n%4 == 3 {
				img = ycc.SubImage(image.Rect(r.Min.X+5, r.Min.Y+9, r.Max.X-3, r.Max.Y-1))
			}
			got, err := Normalize(img)
			if err != nil {
				t.Fatal(err)
			}
			if want, _ := Normalize(opaqueWrapper{img}); !bytes.Equal(got, want) {
				t.Fatalf("picture %d (YCbCr %v): the fast path differs from the generic one", n, img.Bounds())
			}
			// A border of one colour to trim.
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Min.X+9; x++ {
					ycc.Y[ycc.YOffset(x, y)], ycc.Cb[ycc.COffset(x, y)], ycc.Cr[ycc.COffset(x, y)] = 90, 100, 140
				}
			}
			got, _ = Normalize(ycc)
			if want, _ := Normalize(opaqueWrapper{ycc}); !bytes.Equal(got, want) {
				t.Fatalf("picture %d (YCbCr %v, border): the fast path differs from the generic one", n, ycc.Bounds())
			}
			continue
		}
		switch n % 4 {
		case 1: // a border of one grey
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					if x < r.Min.X+7 || y > r.Max.Y-5 {
						g.SetGray(x, y, color.Gray{77})
					}
				}
			}
		case 2: // flat
			for i := range g.Pix {
				g.Pix[i] = 200
			}
		case 3: // a window of a larger picture
			g = g.SubImage(image.Rect(r.Min.X+5, r.Min.Y+9, r.Max.X-3, r.Max.Y-1)).(*image.Gray)
		}
		got, err := Normalize(g)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := Normalize(opaqueWrapper{g})
		if !bytes.Equal(got, want) {
			t.Fatalf("picture %d (%v): the grey path differs from the generic one", n, g.Bounds())
		}
	}
}

// TestYCbCrToRGBSplit: chromaTerms then rgbOf give color.YCbCrToRGB's bytes for every input.
func TestYCbCrToRGBSplit(t *testing.T) {
	for cb := range 256 {
		for cr := range 256 {
			rc, gc, bc := chromaTerms(uint8(cb), uint8(cr))
			for y := range 256 {
				r, g, b := rgbOf(uint8(y), rc, gc, bc)
				wr, wg, wb := color.YCbCrToRGB(uint8(y), uint8(cb), uint8(cr))
				if r != wr || g != wg || b != wb {
					t.Fatalf("Y'CbCr %d %d %d: %d %d %d, want %d %d %d", y, cb, cr, r, g, b, wr, wg, wb)
				}
			}
		}
	}
}
