package label_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/watermark"
	"github.com/ailabel/ailabel/watermark/photos"
	xdraw "golang.org/x/image/draw"
)

// Issue 9: the watermark as the labeler adds it — into JPEG's luma coefficients in the DCT
// domain, into PNG and lossless WebP pixels — survives what the watermark package's own
// robustness test applies to pixel-domain marks: the identifier signed into the manifest is
// found again after JPEG 50, halving, a 10 % crop, brightness ±20 % and halving then JPEG 75,
// on photo-like pictures; and it costs no more than the package's PSNR floor.
func TestWatermarkThroughContainers(t *testing.T) {
	c := newCreds(t, "ailabel watermark", sign.KeyP256)
	l := newLabeler(t, c)
	attacks := map[string]func(image.Image) image.Image{
		"none":    func(m image.Image) image.Image { return m },
		"jpeg50":  func(m image.Image) image.Image { return jpegAgain(t, m, 50) },
		"half":    func(m image.Image) image.Image { return scale(m, 0.5) },
		"crop90":  func(m image.Image) image.Image { return crop(m, 0.9487) },
		"bright+": func(m image.Image) image.Image { return brighten(m, 1.2) },
		"bright-": func(m image.Image) image.Image { return brighten(m, 0.8) },
		"half+q75": func(m image.Image) image.Image {
			return jpegAgain(t, scale(m, 0.5), 75)
		},
	}
	n := 8
	if testing.Short() {
		n = 3
	}
	for _, format := range []string{"jpeg", "png", "webp"} {
		misses := map[string]int{}
		lost := map[int]bool{} // pictures with a miss
		var psnrSum float64
		for i := 0; i < n; i++ {
			pic := photos.Sized(1024, 768, i, 99)
			in := encodePicture(t, format, pic)
			var out bytes.Buffer
			res, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), &out, label.Options{NoNotice: true})
			if err != nil || res.Watermark == "" {
				t.Fatalf("%s %d: %v %+v", format, i, err, res)
			}
			var want watermark.ID
			for _, b := range res.Bindings {
				if b.Alg == watermark.Alg {
					want, _ = watermark.ParseValue(b.Value)
				}
			}
			marked := decode(t, out.Bytes())
			psnrSum += psnr(decode(t, in), marked)
			for name, attack := range attacks {
				det, err := watermark.Detect(attack(marked), nil)
				if err != nil || det.ID != want {
					misses[name]++
					lost[i] = true
					t.Logf("%s picture %d, %s: %v (found %s, want %s)", format, i, name, err, det.ID, want)
				}
			}
		}
		t.Logf("%s: mean PSNR %.1f dB over %d pictures; misses %v", format, psnrSum/float64(n), n, misses)
		if psnrSum/float64(n) < 40 {
			t.Errorf("%s: mean PSNR %.1f dB, want ≥ 40", format, psnrSum/float64(n))
		}
		// Identifiers are random, as in production, so a weak picture loses one now and then:
		// picture 3 (high-key: the decoder clips the mark at 255) loses about 1 identifier in
		// 30 unattacked as JPEG (5 of 80 before this session's speed-ups, 2 of 80 after)
		// and about 1 in 10 after brightness +20 % (docs/watermark.md §9). One picture of a
		// format losing its identifier is that; two are a regression.
		if len(lost) > 1 {
			t.Errorf("%s: the watermark was lost in %d of %d pictures: %v", format, len(lost), n, misses)
		}
	}
}

func jpegAgain(t testing.TB, m image.Image, q int) image.Image {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	out, err := jpeg.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func scale(m image.Image, f float64) image.Image {
	b := m.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, int(float64(b.Dx())*f), int(float64(b.Dy())*f)))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), m, b, draw.Src, nil)
	return dst
}

// crop keeps the centred f × f part of each side (0.9487² ≈ 90 % of the area).
func crop(m image.Image, f float64) image.Image {
	b := m.Bounds()
	w, h := int(float64(b.Dx())*f), int(float64(b.Dy())*f)
	at := image.Pt(b.Min.X+(b.Dx()-w)/2, b.Min.Y+(b.Dy()-h)/2)
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(dst, dst.Bounds(), m, at, draw.Src)
	return dst
}

func brighten(m image.Image, f float64) image.Image {
	b := m.Bounds()
	dst := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), m, b.Min, draw.Src)
	for i := range dst.Pix {
		if i%4 != 3 {
			dst.Pix[i] = uint8(min(float64(dst.Pix[i])*f+0.5, 255))
		}
	}
	return dst
}

// TestDamagedPictureRefused: a JPEG cut off inside its image data is refused as malformed (the
// label would sign a broken file and go out without its visible warning), whichever step decodes
// it first: the one-pass edit (badge and watermark), drawing alone, or marking alone. Asked for
// neither, nothing decodes its pixels and it is labeled.
func TestDamagedPictureRefused(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(testtool.ModuleRoot(t), "testdata", "sample.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	cut := in[:len(in)/2] // inside the entropy-coded data
	l := newLabeler(t, newCreds(t, "ailabel damaged", sign.KeyP256))
	for name, o := range map[string]label.Options{
		"badge and watermark": {},
		"badge only":          {NoWatermark: true},
		"watermark only":      {NoNotice: true},
	} {
		var out bytes.Buffer
		_, err := l.Label(context.Background(), bytes.NewReader(cut), int64(len(cut)), &out, o)
		if !errors.Is(err, label.ErrMalformed) || !strings.Contains(err.Error(), "ends early") {
			t.Errorf("%s: err %v, want label.ErrMalformed saying the image data ends early", name, err)
		}
		if out.Len() != 0 {
			t.Errorf("%s: %d bytes written for a refused picture", name, out.Len())
		}
	}
	if _, err := l.Label(context.Background(), bytes.NewReader(cut), int64(len(cut)), io.Discard, label.Options{NoNotice: true, NoWatermark: true}); err != nil {
		t.Errorf("no pixel step asked for: %v", err)
	}
}
