package label_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/warning"
	"github.com/ailabel/ailabel/warning/warningtest"
)

// background draws a light, a dark or a busy (noise and stripes) picture.
func background(kind string, w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for y := range h {
		for x := range w {
			var c color.NRGBA
			switch kind {
			case "light":
				c = color.NRGBA{uint8(235 + x*20/w), uint8(240 + y*15/h), 250, 255}
			case "dark":
				c = color.NRGBA{uint8(10 + x*20/w), uint8(12 + y*20/h), 30, 255}
			default: // busy: stripes of every brightness with noise
				v := uint8((x/3+y/5)*37) ^ uint8(rng.IntN(64))
				c = color.NRGBA{v, v ^ 0x55, uint8(rng.IntN(256)), 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

// Issue 5, done-when 1 and 2: on light, dark and busy pictures in JPEG, PNG and WebP, from 64x64
// up to 8000x6000 (JPEG), the cn badge's text is at least 5 % of the shortest side, its contrast
// against the plate at least 4.5:1 as it ends up in the file, and every pixel outside the
// warning (for JPEG, outside the re-coded 8x8 blocks) is the input's. The kz caption carries
// every Kazakh letter.
func TestVisibleWarningOnImages(t *testing.T) {
	if testing.Short() {
		t.Skip("large images")
	}
	c := newCreds(t, "ailabel golden", sign.KeyP256)
	l := newLabeler(t, c)
	cn := mustPolicy(t, "cn")
	type size struct{ w, h int }
	sizes := map[string][]size{
		"jpeg": {{64, 64}, {333, 251}, {1920, 1080}, {8000, 6000}},
		"png":  {{64, 64}, {333, 251}, {1920, 1080}},
		"webp": {{64, 64}, {333, 251}, {1920, 1080}},
	}
	for _, format := range []string{"jpeg", "png", "webp"} {
		for _, sz := range sizes[format] {
			for _, bg := range []string{"light", "dark", "busy"} {
				if sz.w*sz.h > 2_000_000 && bg != "busy" {
					continue // the large sizes once, on the hardest background
				}
				t.Run(fmt.Sprintf("%s/%dx%d/%s", format, sz.w, sz.h, bg), func(t *testing.T) {
					pic := background(bg, sz.w, sz.h)
					in := encodePicture(t, format, pic)
					var out bytes.Buffer
					res, err := l.Label(t.Context(), bytes.NewReader(in), int64(len(in)), &out, label.Options{Policy: cn, Provider: providerCode, NoWatermark: true})
					if err != nil {
						t.Fatal(err)
					}
					if res.Drawn.Empty() {
						t.Fatalf("no badge: %+v", res)
					}
					if r, err := verifyBytes(t, out.Bytes(), c.trust); err != nil || r.Verdict != label.Valid {
						t.Fatalf("verify: %v %+v", err, r)
					}
					before, after := decode(t, in), decode(t, out.Bytes())
					if !samePixelsOutside(before, after, res.Drawn) {
						t.Fatalf("pixels outside %v changed", res.Drawn)
					}
					short := min(sz.w, sz.h)
					if h := textRows(after, res.Drawn); float64(h) < 0.05*float64(short) {
						t.Errorf("text %d px high, under 5%% of %d", h, short)
					}
					// The badge as the renderer drew it, against the file's own pixels.
					spec := warning.Spec{Style: warning.Badge, Placement: warning.BottomRight, MinTextHeight: 0.05}
					if spec.Messages, err = warning.Default().Messages("zh"); err != nil {
						t.Fatal(err)
					}
					overlay, at, err := warning.Render(after.Bounds(), spec)
					if err != nil {
						t.Fatal(err)
					}
					if !at.In(res.Drawn) {
						t.Fatalf("the badge %v is not where the label says it drew (%v)", at, res.Drawn)
					}
					if cr, err := warningtest.WorstContrast(after, overlay); err != nil || cr < 4.5 {
						t.Errorf("contrast %.1f:1 (%v), want at least 4.5:1", cr, err)
					}
				})
			}
		}
	}

	// Every Kazakh letter, drawn in the kz caption of a PNG: the catalogue's Kazakh line
	// replaced by a pangram of the special letters.
	letters := "ӘҒҚҢӨҰҮҺІ әғқңөұүһі"
	if missing := warning.Covers(letters); len(missing) > 0 {
		t.Fatalf("the fonts lack %q", missing)
	}
	msgs := warning.Default().With(warning.Message{Lang: "kk", Long: letters})
	pic := background("light", 800, 600)
	in := encodePNG(t, pic)
	var out bytes.Buffer
	res, err := l.Label(t.Context(), bytes.NewReader(in), int64(len(in)), &out, label.Options{Messages: msgs, Languages: []string{"kk"}})
	if err != nil || res.Drawn.Empty() {
		t.Fatalf("%v %+v", err, res)
	}
	if textRows(decode(t, out.Bytes()), res.Drawn) < 9 {
		t.Fatal("the Kazakh caption left no text")
	}
}
