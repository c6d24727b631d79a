package jpeg

import (
	"bytes"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"math/rand/v2"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/formatstest"
)

// testPicture is a mid-grey textured picture (no clipping when a few levels are added).
func testPicture(w, h int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(80 + (x*3+y*2)%90 + rng.IntN(12))
			img.SetNRGBA(x, y, color.NRGBA{v, uint8(int(v) * 9 / 10), uint8(int(v) * 8 / 10), 255})
		}
	}
	return img
}

func TestAddLuma(t *testing.T) {
	for _, q := range []int{95, 75, 50} {
		var in bytes.Buffer
		if err := stdjpeg.Encode(&in, testPicture(333, 251), &stdjpeg.Options{Quality: q}); err != nil {
			t.Fatal(err)
		}
		f, err := Open(bytes.NewReader(in.Bytes()), int64(in.Len()))
		if err != nil {
			t.Fatal(err)
		}
		wave := formatstest.Wave{A: 3, P: 48}
		var seen image.Image
		var out bytes.Buffer
		info, err := formats.LumaMarker(f).AddLuma(&out, func(pic image.Image) (formats.LumaDelta, error) {
			seen = pic
			return wave, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("q%d: %s", q, info.Method)
		before, err := stdjpeg.Decode(bytes.NewReader(in.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		after, err := stdjpeg.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("the output does not decode: %v", err)
		}
		if seen == nil || seen.Bounds() != before.Bounds() {
			t.Fatalf("the mark function saw %v, want the %v picture", seen, before.Bounds())
		}
		// The change lands in luma (quantisation takes a share at low quality) …
		formatstest.CheckLumaAdded(t, before, after, wave, map[int]float64{95: 0.95, 75: 0.85, 50: 0.7}[q], 4)
		// … and chroma is untouched.
		b, a := before.(*image.YCbCr), after.(*image.YCbCr)
		if !bytes.Equal(b.Cb, a.Cb) || !bytes.Equal(b.Cr, a.Cr) {
			t.Errorf("q%d: chroma changed", q)
		}
	}
}

func TestAddLumaGrey(t *testing.T) {
	// A grey JPEG is marked too: luma is its one component.
	var in bytes.Buffer
	g := image.NewGray(image.Rect(0, 0, 64, 64))
	for i := range g.Pix {
		g.Pix[i] = uint8(100 + i%40)
	}
	if err := stdjpeg.Encode(&in, g, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(in.Bytes()), int64(in.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := formats.LumaMarker(f).AddLuma(&out, func(image.Image) (formats.LumaDelta, error) { return formatstest.Wave{A: 4, P: 32}, nil }); err != nil {
		t.Fatalf("grey JPEG: %v", err)
	}
	after, err := stdjpeg.Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	formatstest.CheckLumaAdded(t, g, after, formatstest.Wave{A: 4, P: 32}, 0.9, 6)
}
