package warning_test

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/warning"
	"github.com/ailabel/ailabel/warning/warningtest"
)

// background is a deterministic test background: pixel(x, y) is its colour at (x, y).
type background struct {
	name  string
	pixel func(x, y int) [4]uint8
}

var backgrounds = []background{
	{"white", func(x, y int) [4]uint8 { return [4]uint8{255, 255, 255, 255} }},
	{"black", func(x, y int) [4]uint8 { return [4]uint8{0, 0, 0, 255} }},
	{"noise", func(x, y int) [4]uint8 {
		h := uint32(x)*0x9e3779b1 ^ uint32(y)*0x85ebca77
		h ^= h >> 15
		h *= 0x2c1b3c6d
		h ^= h >> 12
		return [4]uint8{uint8(h), uint8(h >> 8), uint8(h >> 16), 255}
	}},
	{"stripes", func(x, y int) [4]uint8 {
		if (x+y)/3%2 == 0 {
			return [4]uint8{255, 255, 255, 255}
		}
		return [4]uint8{0, 0, 0, 255}
	}},
}

// fill paints bg over all of img.
func fill(img *image.RGBA, bg background) {
	r := img.Rect
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):]
		for i := range r.Dx() {
			p := bg.pixel(r.Min.X+i, y)
			copy(row[4*i:4*i+4], p[:])
		}
	}
}

// changedOutside returns the first pixel of img outside at that differs from want, if any.
func changedOutside(img, want *image.RGBA, at image.Rectangle) (image.Point, bool) {
	r := img.Rect
	for y := r.Min.Y; y < r.Max.Y; y++ {
		segs := [][2]int{{r.Min.X, r.Max.X}}
		if y >= at.Min.Y && y < at.Max.Y {
			segs = [][2]int{{r.Min.X, at.Min.X}, {at.Max.X, r.Max.X}}
		}
		for _, sg := range segs {
			if sg[0] >= sg[1] {
				continue
			}
			i, j := img.PixOffset(sg[0], y), img.PixOffset(sg[1], y)
			if !bytes.Equal(img.Pix[i:j], want.Pix[i:j]) {
				for x := sg[0]; x < sg[1]; x++ {
					if img.RGBAAt(x, y) != want.RGBAAt(x, y) {
						return image.Pt(x, y), true
					}
				}
			}
		}
	}
	return image.Point{}, false
}

func messages(t testing.TB, langs ...string) []warning.Message {
	t.Helper()
	ms, err := warning.Default().Messages(langs...)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// specFor returns the test spec of a style: the Kazakhstan default (kk + ru) for Badge, kk + ru
// + en for Caption, Chinese for EUIcon.
func specFor(t testing.TB, style warning.Style) warning.Spec {
	switch style {
	case warning.Badge:
		return warning.Spec{Style: style, Messages: messages(t, "kk", "ru")}
	case warning.Caption:
		return warning.Spec{Style: style, Messages: messages(t, "kk", "ru", "en")}
	default:
		return warning.Spec{Style: style, Messages: messages(t, "zh", "en")}
	}
}

var styles = []warning.Style{warning.Badge, warning.Caption, warning.EUIcon}

// mergeGap is the row gap InkSpans bridges for a required text height: below the renderer's
// line gap (0.3 × text height) and above the gap under a capital's accent.
func mergeGap(textH float64) int {
	return max(1, int(0.2*math.Max(textH, warning.MinTextPixels)))
}

// checkInk checks that every line of text in ov is at least need pixels high. Lines cut by the
// image's edge (the plate clipped on a tiny image) are not counted, but at least one line must
// be whole.
func checkInk(t *testing.T, ov *image.NRGBA, bounds image.Rectangle, need float64) []warningtest.Span {
	t.Helper()
	spans, err := warningtest.InkSpans(ov, mergeGap(need))
	if err != nil {
		t.Fatalf("InkSpans: %v", err)
	}
	whole := 0
	for _, s := range spans {
		cut := (s.Min == ov.Rect.Min.Y && ov.Rect.Min.Y == bounds.Min.Y) || (s.Max == ov.Rect.Max.Y && ov.Rect.Max.Y == bounds.Max.Y)
		if cut {
			continue
		}
		whole++
		if float64(s.Height()) < need {
			t.Errorf("text line at rows %d-%d is %d px high, need %.1f", s.Min, s.Max, s.Height(), need)
		}
	}
	if whole == 0 {
		t.Errorf("no whole line of text in the overlay (spans %v)", spans)
	}
	return spans
}

// TestRenderMatrix is the main property test: for each size, style and background, the
// overlay stays inside at, Draw changes nothing outside at, the text is at least 5 % of the
// shortest side high, and the text contrast on the composited image is at least 4.5:1.
func TestRenderMatrix(t *testing.T) {
	sizes := []image.Point{{64, 64}, {200, 100}, {1000, 1000}, {4000, 3000}, {8000, 6000}}
	placements := []warning.Placement{warning.Auto, warning.TopLeft, warning.TopRight, warning.BottomLeft, warning.BottomRight, warning.Top, warning.Bottom}
	n := 0
	for _, size := range sizes {
		if testing.Short() && size.X > 4000 {
			t.Logf("-short: skipping %dx%d", size.X, size.Y)
			continue
		}
		bounds := image.Rectangle{Max: size}
		type rendered struct {
			name string
			spec warning.Spec
			ov   *image.NRGBA
			at   image.Rectangle
		}
		var rs []rendered
		for _, style := range styles {
			spec := specFor(t, style)
			spec.MinTextHeight = 0.05
			spec.Placement = placements[n%len(placements)]
			n++
			name := fmt.Sprintf("%dx%d/%s/%s", size.X, size.Y, style, spec.Placement)
			ov, at, err := warning.Render(bounds, spec)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			rs = append(rs, rendered{name, spec, ov, at})
			t.Run(name, func(t *testing.T) {
				if ov.Rect != at || at.Empty() || !at.In(bounds) {
					t.Fatalf("overlay %v, at %v, image %v", ov.Rect, at, bounds)
				}
				need := 0.05 * float64(min(size.X, size.Y))
				checkInk(t, ov, bounds, need)
				// The text stays inside the plate: no text pixel in the outer columns of an
				// unclipped plate (wrapping keeps lines inside the image).
				if size.X >= 200 {
					plate, text, _ := warningtest.Colours(ov)
					for y := at.Min.Y; y < at.Max.Y; y++ {
						for _, x := range []int{at.Min.X, at.Min.X + 1, at.Max.X - 2, at.Max.X - 1} {
							if warningtest.IsText(ov.NRGBAAt(x, y), plate, text) {
								t.Fatalf("text pixel at the plate's edge (%d,%d)", x, y)
							}
						}
					}
				}
			})
		}
		// Draw each onto each background. pristine keeps the background to compare with and
		// to restore the drawn rectangle from.
		img, pristine := image.NewRGBA(bounds), image.NewRGBA(bounds)
		for _, bg := range backgrounds {
			fill(pristine, bg)
			copy(img.Pix, pristine.Pix)
			for _, r := range rs {
				t.Run(r.name+"/"+bg.name, func(t *testing.T) {
					got, err := warning.Draw(img, r.spec)
					if err != nil {
						t.Fatal(err)
					}
					if got != r.at {
						t.Errorf("Draw changed %v, Render said %v", got, r.at)
					}
					if p, bad := changedOutside(img, pristine, r.at); bad {
						t.Errorf("pixel %v outside %v changed", p, r.at)
					}
					cr, err := warningtest.WorstContrast(img, r.ov)
					if err != nil {
						t.Fatal(err)
					}
					if cr < 4.5 {
						t.Errorf("worst text contrast %.2f:1, want >= 4.5:1", cr)
					}
					if !bytes.Equal(img.Pix, pristine.Pix) { // restore
						for y := r.at.Min.Y; y < r.at.Max.Y; y++ {
							i, j := img.PixOffset(r.at.Min.X, y), img.PixOffset(r.at.Max.X, y)
							copy(img.Pix[i:j], pristine.Pix[i:j])
						}
					}
				})
			}
		}
	}
}

func TestDefaultTextHeight(t *testing.T) {
	for _, size := range []image.Point{{64, 64}, {200, 100}, {1000, 1000}, {1920, 1080}} {
		for _, style := range styles {
			bounds := image.Rectangle{Max: size}
			ov, _, err := warning.Render(bounds, specFor(t, style))
			if err != nil {
				t.Fatal(err)
			}
			need := math.Max(warning.DefaultMinTextHeight*float64(min(size.X, size.Y)), warning.MinTextPixels)
			t.Run(fmt.Sprintf("%dx%d/%s", size.X, size.Y, style), func(t *testing.T) {
				spans := checkInk(t, ov, bounds, need)
				// Not absurdly larger than asked: the tallest line (capitals, descenders and
				// accents, with text sized by the x-height) stays within 2.5 × the required
				// height plus rounding.
				for _, s := range spans {
					if style != warning.EUIcon && float64(s.Height()) > 2.5*need+3 {
						t.Errorf("line %v is %d px high for a required %.1f", s, s.Height(), need)
					}
				}
			})
		}
	}
}

func TestPlacement(t *testing.T) {
	bounds := image.Rect(0, 0, 1000, 800)
	margin := 16 // 2 % of the shortest side
	badge := specFor(t, warning.Badge)
	for _, tc := range []struct {
		p    warning.Placement
		want func(at image.Rectangle) bool
	}{
		{warning.Auto, func(at image.Rectangle) bool { return at.Min == image.Pt(margin, margin) }},
		{warning.TopLeft, func(at image.Rectangle) bool { return at.Min == image.Pt(margin, margin) }},
		{warning.TopRight, func(at image.Rectangle) bool { return at.Max.X == 1000-margin && at.Min.Y == margin }},
		{warning.BottomLeft, func(at image.Rectangle) bool { return at.Min.X == margin && at.Max.Y == 800-margin }},
		{warning.BottomRight, func(at image.Rectangle) bool { return at.Max == image.Pt(1000-margin, 800-margin) }},
		{warning.Top, func(at image.Rectangle) bool { return abs(at.Min.X+at.Max.X-1000) <= 1 && at.Min.Y == margin }},
		{warning.Bottom, func(at image.Rectangle) bool { return abs(at.Min.X+at.Max.X-1000) <= 1 && at.Max.Y == 800-margin }},
	} {
		badge.Placement = tc.p
		_, at, err := warning.Render(bounds, badge)
		if err != nil {
			t.Fatal(err)
		}
		if !tc.want(at) {
			t.Errorf("badge at %s: %v", tc.p, at)
		}
		if at.Dx() > 400 || at.Dy() > 100 {
			t.Errorf("badge at %s is large: %v", tc.p, at)
		}
	}
	caption := specFor(t, warning.Caption)
	for _, p := range []warning.Placement{warning.Auto, warning.Top, warning.Bottom} {
		caption.Placement = p
		_, at, err := warning.Render(bounds, caption)
		if err != nil {
			t.Fatal(err)
		}
		if at.Min.X != margin || at.Max.X != 1000-margin {
			t.Errorf("caption band at %s does not span the width: %v", p, at)
		}
		if top := at.Min.Y == margin; top != (p == warning.Top) {
			t.Errorf("caption band at %s: %v", p, at)
		}
	}
	caption.Placement = warning.BottomRight
	_, at, err := warning.Render(bounds, caption)
	if err != nil {
		t.Fatal(err)
	}
	if at.Max != image.Pt(1000-margin, 800-margin) || at.Dx() >= 1000-2*margin {
		t.Errorf("caption at bottom-right: %v", at)
	}
	// The EU icon is at least as wide as high (a rounded square when the text allows).
	icon := warning.Spec{Style: warning.EUIcon, Messages: messages(t, "de")}
	_, at, err = warning.Render(bounds, icon)
	if err != nil {
		t.Fatal(err)
	}
	if at.Dx() < at.Dy() {
		t.Errorf("EU icon %v is narrower than high", at)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// A badge is small: its cost and footprint do not grow with the image beyond the text size.
func TestBadgeIsSmall(t *testing.T) {
	_, at, err := warning.Render(image.Rect(0, 0, 4000, 3000), specFor(t, warning.Badge))
	if err != nil {
		t.Fatal(err)
	}
	if frac := float64(at.Dx()*at.Dy()) / (4000 * 3000); frac > 0.02 {
		t.Errorf("badge covers %.1f %% of the image (%v)", 100*frac, at)
	}
}

func TestOverlayTransparentOutsidePlate(t *testing.T) {
	ov, at, err := warning.Render(image.Rect(0, 0, 800, 600), specFor(t, warning.Badge))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []image.Point{at.Min, {at.Max.X - 1, at.Min.Y}, {at.Min.X, at.Max.Y - 1}, at.Max.Sub(image.Pt(1, 1))} {
		if c := ov.NRGBAAt(p.X, p.Y); c != (color.NRGBA{}) {
			t.Errorf("rounded corner pixel %v = %v, want transparent zero", p, c)
		}
	}
	// Every transparent pixel is all zero; the plate's middle is the (nearly) opaque plate.
	for i := 0; i < len(ov.Pix); i += 4 {
		if ov.Pix[i+3] == 0 && (ov.Pix[i] != 0 || ov.Pix[i+1] != 0 || ov.Pix[i+2] != 0) {
			t.Fatalf("transparent pixel with colour %v", ov.Pix[i:i+4])
		}
	}
	plate, text, err := warningtest.Colours(ov)
	if err != nil {
		t.Fatal(err)
	}
	if plate.A < 230 || warningtest.Luminance(plate) > 0.02 || text.A != 255 || warningtest.Luminance(text) < 0.95 {
		t.Errorf("plate %v, text %v: want a dark plate of alpha >= 0.9 and white text", plate, text)
	}
	// Anti-aliased: the text has intermediate shades.
	shades := map[uint8]bool{}
	for i := 0; i < len(ov.Pix); i += 4 {
		if ov.Pix[i+3] >= plate.A {
			shades[ov.Pix[i]] = true
		}
	}
	if len(shades) < 20 {
		t.Errorf("only %d grey levels: text is not anti-aliased", len(shades))
	}
}

// Draw works on an image whose bounds do not start at the origin and touches nothing outside
// the rectangle it returns, even in the parent image.
func TestDrawSubImage(t *testing.T) {
	parent := image.NewRGBA(image.Rect(0, 0, 900, 700))
	pristine := image.NewRGBA(parent.Rect)
	fill(pristine, backgrounds[2])
	sub := parent.SubImage(image.Rect(150, 100, 750, 500)).(*image.RGBA)
	for _, style := range styles {
		for _, p := range []warning.Placement{warning.TopLeft, warning.BottomRight, warning.Bottom} {
			copy(parent.Pix, pristine.Pix)
			spec := specFor(t, style)
			spec.Placement = p
			at, err := warning.Draw(sub, spec)
			if err != nil {
				t.Fatal(err)
			}
			if !at.In(sub.Rect) {
				t.Errorf("%s/%s: at %v outside the sub-image %v", style, p, at, sub.Rect)
			}
			if pt, bad := changedOutside(parent, pristine, at); bad {
				t.Errorf("%s/%s: pixel %v outside %v changed", style, p, pt, at)
			}
		}
	}
}

func TestDrawOnNRGBA(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
	spec := specFor(t, warning.Badge)
	at, err := warning.Draw(img, spec)
	if err != nil {
		t.Fatal(err)
	}
	ov, _, _ := warning.Render(img.Rect, spec)
	if cr, err := warningtest.WorstContrast(img, ov); err != nil || cr < 4.5 {
		t.Errorf("contrast on NRGBA: %.2f, %v", cr, err)
	}
	if img.NRGBAAt(at.Min.X-1, at.Min.Y) != (color.NRGBA{255, 255, 255, 255}) {
		t.Error("pixel left of at changed")
	}
}

// Long captions on narrow images wrap instead of running off the image.
func TestCaptionWraps(t *testing.T) {
	bounds := image.Rect(0, 0, 300, 1000)
	spec := specFor(t, warning.Caption)
	ov, at, err := warning.Render(bounds, spec)
	if err != nil {
		t.Fatal(err)
	}
	spans := checkInk(t, ov, bounds, warning.DefaultMinTextHeight*300)
	if len(spans) < 5 {
		t.Errorf("3 messages on a 300 px wide image gave %d lines, want wrapping", len(spans))
	}
	if at.Min.X < 0 || at.Max.X > 300 {
		t.Errorf("at %v", at)
	}
	// Chinese wraps between characters.
	zh := warning.Spec{Style: warning.Caption, Messages: []warning.Message{{Lang: "zh", Long: strings.Repeat("本内容由人工智能生成", 6)}}}
	ov, _, err = warning.Render(bounds, zh)
	if err != nil {
		t.Fatal(err)
	}
	if spans := checkInk(t, ov, bounds, warning.DefaultMinTextHeight*300); len(spans) < 3 {
		t.Errorf("long Chinese caption gave %d lines", len(spans))
	}
}

// Tiny and extreme shapes render without error, inside the image.
func TestTinyAndOddSizes(t *testing.T) {
	for _, size := range []image.Point{{1, 1}, {8, 8}, {16, 300}, {300, 16}, {64, 64}, {20000, 40}} {
		for _, style := range styles {
			for _, p := range []warning.Placement{warning.TopLeft, warning.BottomRight, warning.Top, warning.Bottom} {
				spec := specFor(t, style)
				spec.Placement = p
				spec.MinTextHeight = 0.05
				bounds := image.Rectangle{Min: image.Pt(-7, 3), Max: image.Pt(-7, 3).Add(size)}
				ov, at, err := warning.Render(bounds, spec)
				if err != nil {
					t.Errorf("%v %s %s: %v", size, style, p, err)
					continue
				}
				if !at.In(bounds) || ov.Rect != at || at.Empty() {
					t.Errorf("%v %s %s: at %v, overlay %v", size, style, p, at, ov.Rect)
				}
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	ok := specFor(t, warning.Badge)
	b := image.Rect(0, 0, 400, 300)
	with := func(f func(*warning.Spec)) warning.Spec {
		s := ok
		s.Messages = append([]warning.Message(nil), ok.Messages...)
		f(&s)
		return s
	}
	for name, tc := range map[string]struct {
		bounds image.Rectangle
		spec   warning.Spec
		want   string
	}{
		"empty bounds":  {image.Rectangle{}, ok, "empty image bounds"},
		"no messages":   {b, with(func(s *warning.Spec) { s.Messages = nil }), "no messages"},
		"style":         {b, with(func(s *warning.Spec) { s.Style = 7 }), "unknown style"},
		"placement":     {b, with(func(s *warning.Spec) { s.Placement = -1 }), "unknown placement"},
		"NaN height":    {b, with(func(s *warning.Spec) { s.MinTextHeight = math.NaN() }), "MinTextHeight"},
		"negative":      {b, with(func(s *warning.Spec) { s.MinTextHeight = -0.1 }), "MinTextHeight"},
		"above 1":       {b, with(func(s *warning.Spec) { s.MinTextHeight = 1.5 }), "MinTextHeight"},
		"no short":      {b, with(func(s *warning.Spec) { s.Messages[1].Short = "" }), "ru has no Short"},
		"no modified":   {b, warning.Spec{Style: warning.Caption, Modified: true, Messages: []warning.Message{{Lang: "xx", Long: "L"}}}, "xx has no Modified"},
		"no long":       {b, warning.Spec{Style: warning.EUIcon, Messages: []warning.Message{{Short: "AI"}}}, "#1 has no Long"},
		"tofu":          {b, with(func(s *warning.Spec) { s.Messages[0].Short = "ИИ ع" }), "U+0639"},
		"control":       {b, with(func(s *warning.Spec) { s.Messages[0].Short = "A\x00I" }), "control character"},
		"blank":         {b, with(func(s *warning.Spec) { s.Messages[0].Short = "  " }), "white space"},
		"invisible":     {b, with(func(s *warning.Spec) { s.Messages[0].Short = "\u200d" }), "no visible characters"},
		"too long text": {b, with(func(s *warning.Spec) { s.Messages[0].Short = strings.Repeat("A", warning.MaxTextRunes+1) }), "runes"},
		"too many":      {b, with(func(s *warning.Spec) { s.Messages = make([]warning.Message, 33) }), "limit"},
		"huge text":     {image.Rect(0, 0, 100000, 100000), with(func(s *warning.Spec) { s.MinTextHeight = 0.5 }), "too large"},
		"huge overlay":  {image.Rect(0, 0, 60000, 60000), with(func(s *warning.Spec) { s.Style = warning.Caption; s.MinTextHeight = 0.05 }), "limit"},
	} {
		_, _, err := warning.Render(tc.bounds, tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		} else if !strings.HasPrefix(err.Error(), "warning: ") {
			t.Errorf("%s: error %q lacks the package prefix", name, err)
		}
	}
	if _, _, err := warning.Render(b, warning.Spec{}); !errors.Is(err, warning.ErrNoMessages) {
		t.Errorf("empty spec: %v", err)
	}
	if _, err := warning.Draw(nil, ok); err == nil {
		t.Error("Draw(nil) succeeded")
	}
}

// Modified selects the Modified texts.
func TestModified(t *testing.T) {
	b := image.Rect(0, 0, 800, 600)
	ms := []warning.Message{{Lang: "en", Long: "AI-generated content", Modified: "AI-modified content, longer text here"}}
	ovL, _, err := warning.Render(b, warning.Spec{Style: warning.Caption, Placement: warning.BottomLeft, Messages: ms})
	if err != nil {
		t.Fatal(err)
	}
	ovM, _, err := warning.Render(b, warning.Spec{Style: warning.Caption, Placement: warning.BottomLeft, Messages: ms, Modified: true})
	if err != nil {
		t.Fatal(err)
	}
	if ovM.Rect.Dx() <= ovL.Rect.Dx() {
		t.Errorf("Modified caption %v not wider than Long caption %v", ovM.Rect, ovL.Rect)
	}
}

// Badge shows each distinct Short text once: fr, es, it and pt all say "IA".
func TestBadgeDeduplicates(t *testing.T) {
	b := image.Rect(0, 0, 1000, 800)
	_, one, err := warning.Render(b, warning.Spec{Messages: messages(t, "fr")})
	if err != nil {
		t.Fatal(err)
	}
	_, four, err := warning.Render(b, warning.Spec{Messages: messages(t, "fr", "es", "it", "pt")})
	if err != nil {
		t.Fatal(err)
	}
	if one != four {
		t.Errorf("IA ×4 badge %v differs from the IA badge %v", four, one)
	}
	_, two, err := warning.Render(b, warning.Spec{Messages: messages(t, "fr", "de")})
	if err != nil {
		t.Fatal(err)
	}
	if two.Dx() <= one.Dx() {
		t.Errorf("IA · KI badge %v not wider than IA %v", two, one)
	}
}

// Render is safe for concurrent use and deterministic.
func TestRenderConcurrent(t *testing.T) {
	b := image.Rect(0, 0, 1200, 900)
	var want []*image.NRGBA
	for _, style := range styles {
		ov, _, err := warning.Render(b, specFor(t, style))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, ov)
	}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				k := (g + i) % len(styles)
				ov, _, err := warning.Render(b, specFor(t, styles[k]))
				if err != nil {
					t.Error(err)
					return
				}
				if ov.Rect != want[k].Rect || !bytes.Equal(ov.Pix, want[k].Pix) {
					t.Errorf("goroutine %d: %s rendered differently", g, styles[k])
				}
			}
		}()
	}
	wg.Wait()
}

func TestParseStyleAndPlacement(t *testing.T) {
	for _, s := range styles {
		got, err := warning.ParseStyle(strings.ToUpper(s.String()))
		if err != nil || got != s {
			t.Errorf("ParseStyle(%q) = %v, %v", s, got, err)
		}
	}
	if s, err := warning.ParseStyle("euicon"); err != nil || s != warning.EUIcon {
		t.Errorf("ParseStyle(euicon) = %v, %v", s, err)
	}
	if _, err := warning.ParseStyle("banner"); err == nil {
		t.Error("ParseStyle(banner) succeeded")
	}
	for p := warning.Auto; p <= warning.Bottom; p++ {
		got, err := warning.ParsePlacement(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePlacement(%q) = %v, %v", p, got, err)
		}
	}
	if p, err := warning.ParsePlacement("Bottom_Right"); err != nil || p != warning.BottomRight {
		t.Errorf("ParsePlacement(Bottom_Right) = %v, %v", p, err)
	}
	if _, err := warning.ParsePlacement("middle"); err == nil {
		t.Error("ParsePlacement(middle) succeeded")
	}
	if s := warning.Style(9).String(); s != "Style(9)" {
		t.Errorf("Style(9).String() = %q", s)
	}
	if s := warning.Placement(9).String(); s != "Placement(9)" {
		t.Errorf("Placement(9).String() = %q", s)
	}
}

// Every built-in message renders in every style with visible ink of the required height.
func TestBuiltinMessagesRender(t *testing.T) {
	c := warning.Default()
	bounds := image.Rect(0, 0, 1200, 800)
	need := 0.05 * 800
	for _, l := range c.Languages() {
		m, _ := c.Lookup(l)
		for _, spec := range []warning.Spec{
			{Style: warning.Badge, Messages: []warning.Message{m}},
			{Style: warning.Caption, Messages: []warning.Message{m}},
			{Style: warning.Caption, Messages: []warning.Message{m}, Modified: true},
			{Style: warning.Caption, Messages: []warning.Message{{Lang: l, Long: m.Disclosure}}},
			{Style: warning.EUIcon, Messages: []warning.Message{m}},
		} {
			spec.MinTextHeight = 0.05
			t.Run(fmt.Sprintf("%s/%s/modified=%v", l, spec.Style, spec.Modified), func(t *testing.T) {
				ov, _, err := warning.Render(bounds, spec)
				if err != nil {
					t.Fatal(err)
				}
				checkInk(t, ov, bounds, need)
			})
		}
	}
}

func TestMeasure(t *testing.T) {
	// A badge fits; three long captions at 5 % do not fit a 1000 px square and are reported.
	m, err := warning.Measure(image.Rect(0, 0, 1000, 1000), warning.Spec{Messages: messages(t, "kk", "ru"), MinTextHeight: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if m.Clipped || m.Lines != 1 || m.TextHeight != 50 || m.FontSize < 50 || m.Plate != m.At {
		t.Errorf("badge metrics %+v", m)
	}
	_, at, _ := warning.Render(image.Rect(0, 0, 1000, 1000), warning.Spec{Messages: messages(t, "kk", "ru"), MinTextHeight: 0.05})
	if at != m.At {
		t.Errorf("Measure at %v, Render at %v", m.At, at)
	}
	big := warning.Spec{Style: warning.Caption, Messages: messages(t, "kk", "ru", "en"), MinTextHeight: 0.05}
	m, err = warning.Measure(image.Rect(0, 0, 1000, 1000), big)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Clipped || m.Plate.In(image.Rect(0, 0, 1000, 1000)) || m.Lines < 6 {
		t.Errorf("oversized caption metrics %+v", m)
	}
	// The same caption fits a 4000×3000 image.
	m, err = warning.Measure(image.Rect(0, 0, 4000, 3000), big)
	if err != nil || m.Clipped {
		t.Errorf("caption on 4000x3000: %+v, %v", m, err)
	}
	if _, err := warning.Measure(image.Rect(0, 0, 10, 10), warning.Spec{}); err == nil {
		t.Error("Measure of an empty spec succeeded")
	}
}
