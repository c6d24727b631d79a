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

// EditPicture makes, in one pass, byte for byte the JPEG that Paint then AddLuma make in two
// (the coefficients survive the encoding in between unchanged), gives the luma function the
// painted picture, and shows Final the pixels image/jpeg decodes from the output, to a level.
func TestEditPictureIsPaintThenAddLuma(t *testing.T) {
	for _, grey := range []bool{false, true} {
		var pic image.Image = testPicture(333, 251)
		if grey {
			g := image.NewGray(pic.Bounds())
			for y := 0; y < 251; y++ {
				for x := 0; x < 333; x++ {
					g.Set(x, y, pic.At(x, y))
				}
			}
			pic = g
		}
		var in bytes.Buffer
		if err := stdjpeg.Encode(&in, pic, &stdjpeg.Options{Quality: 80}); err != nil {
			t.Fatal(err)
		}
		ov := image.NewNRGBA(image.Rect(0, 0, 90, 40))
		for i := range ov.Pix {
			ov.Pix[i] = []uint8{250, 30, 20, 200}[i%4]
		}
		overlay := func(b image.Rectangle) (image.Image, image.Rectangle, error) {
			return ov, image.Rect(17, 190, 107, 230), nil
		}
		wave := formatstest.Wave{A: 3, P: 40}
		var lumaSeen [2]image.Image
		mark := func(k int) formats.LumaFunc {
			return func(p image.Image) (formats.LumaDelta, error) { lumaSeen[k] = p; return wave, nil }
		}

		var painted, twoPass bytes.Buffer
		if _, err := openBytes(t, in.Bytes()).Paint(&painted, overlay); err != nil {
			t.Fatal(err)
		}
		if _, err := openBytes(t, painted.Bytes()).AddLuma(&twoPass, mark(0)); err != nil {
			t.Fatal(err)
		}
		var onePass bytes.Buffer
		var final image.Image
		info, err := openBytes(t, in.Bytes()).EditPicture(&onePass, formats.PictureEdit{
			Overlay: overlay, Luma: mark(1),
			Final: func(p image.Image) error { final = p; return nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(onePass.Bytes(), twoPass.Bytes()) {
			t.Fatalf("grey=%v: one pass (%d bytes) differs from Paint then AddLuma (%d bytes)", grey, onePass.Len(), twoPass.Len())
		}
		if info.Overlay.Changed.Empty() || info.Luma.Changed != pic.Bounds() {
			t.Fatalf("grey=%v: info %+v", grey, info)
		}
		for y := 0; y < 251; y++ {
			for x := 0; x < 333; x++ {
				if lumaSeen[0].At(x, y) != lumaSeen[1].At(x, y) {
					t.Fatalf("grey=%v: the luma function saw another picture at (%d,%d)", grey, x, y)
				}
			}
		}
		dec, err := stdjpeg.Decode(bytes.NewReader(onePass.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if final == nil || final.Bounds() != dec.Bounds() {
			t.Fatalf("grey=%v: Final saw %v", grey, final)
		}
		off := 0
		for y := 0; y < 251; y++ {
			for x := 0; x < 333; x++ {
				a, b := color.GrayModel.Convert(final.At(x, y)).(color.Gray), color.GrayModel.Convert(dec.At(x, y)).(color.Gray)
				if d := int(a.Y) - int(b.Y); d > 2 || d < -2 {
					t.Fatalf("grey=%v: Final's pixel (%d,%d) is %d, image/jpeg decodes %d", grey, x, y, a.Y, b.Y)
				} else if d != 0 {
					off++
				}
			}
		}
		t.Logf("grey=%v: %d of %d pixels of Final differ from image/jpeg's decoding by a level or two", grey, off, 333*251)
	}
}
