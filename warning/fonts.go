package warning

import (
	_ "embed" // the fonts
	"fmt"
	"sync"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The embedded fonts, unmodified; licences in fonts/.
var (
	// Noto Sans Bold 2.004 (SIL OFL 1.1): Latin, Greek, Cyrillic including every Kazakh letter.
	//go:embed fonts/NotoSans-Bold.ttf
	notoSansBold []byte
	// Droid Sans Fallback Full (Apache-2.0): CJK ideographs, kana, hangul.
	//go:embed fonts/DroidSansFallbackFull.ttf
	droidSansFallback []byte
)

// face is one parsed font of the fallback chain.
type face struct {
	name string
	f    *sfnt.Font
	// ref is the font's reference text height per em: the ink height of a capital "H" for the
	// alphabetic font, of the full-box ideograph 国 for the CJK font. xRef is the x-height, the
	// height of lower-case letters (0 for a font without them). Text is sized so that the
	// height of its shortest class of letters reaches the required text height.
	ref, xRef float64
}

// height returns the reference height per em of r drawn in f: the x-height for lower-case
// letters, the font's reference height for anything else.
func (f *face) height(r rune) float64 {
	if f.xRef > 0 && unicode.IsLower(r) {
		return f.xRef
	}
	return f.ref
}

// fontChain lists the fonts in fallback order: each rune is drawn with the first font that has
// a glyph for it.
type fontChain []*face

// loadFonts parses the embedded fonts once. The parsed fonts are read-only (sfnt.Font methods
// are safe for concurrent use with one sfnt.Buffer per goroutine), so sharing them is safe.
var loadFonts = sync.OnceValues(func() (fontChain, error) {
	specs := []struct {
		name      string
		data      []byte
		ref, xRef rune // 0: none
	}{
		{"Noto Sans Bold", notoSansBold, 'H', 'x'},
		{"Droid Sans Fallback", droidSansFallback, '国', 0},
	}
	var chain fontChain
	var buf sfnt.Buffer
	for _, s := range specs {
		f, err := opentype.Parse(s.data)
		if err != nil {
			return nil, fmt.Errorf("warning: parsing embedded font %s: %w", s.name, err)
		}
		ref, err := inkHeight(f, &buf, s.ref)
		if err != nil {
			return nil, fmt.Errorf("warning: embedded font %s: %w", s.name, err)
		}
		var xRef float64
		if s.xRef != 0 {
			if xRef, err = inkHeight(f, &buf, s.xRef); err != nil {
				return nil, fmt.Errorf("warning: embedded font %s: %w", s.name, err)
			}
		}
		chain = append(chain, &face{name: s.name, f: f, ref: ref, xRef: xRef})
	}
	return chain, nil
})

// inkHeight returns the height of r's glyph in f, per em.
func inkHeight(f *sfnt.Font, buf *sfnt.Buffer, r rune) (float64, error) {
	idx, err := f.GlyphIndex(buf, r)
	if err != nil || idx == 0 {
		return 0, fmt.Errorf("no glyph for %q", r)
	}
	upem := fixed.Int26_6(f.UnitsPerEm()) << 6
	b, _, err := f.GlyphBounds(buf, idx, upem, font.HintingNone)
	if err != nil {
		return 0, fmt.Errorf("bounds of %q: %w", r, err)
	}
	h := float64(b.Max.Y-b.Min.Y) / float64(upem)
	if h <= 0.3 || h > 1.5 {
		return 0, fmt.Errorf("implausible height %.3f em of %q", h, r)
	}
	return h, nil
}

// ignorable reports whether r is drawn as nothing: format characters (zero-width joiners, soft
// hyphen, bidi marks) and variation selectors.
func ignorable(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Variation_Selector, r)
}

// pick returns the first font of the chain with a glyph for r, or nil.
func (c fontChain) pick(buf *sfnt.Buffer, r rune) (*face, sfnt.GlyphIndex) {
	for _, f := range c {
		if idx, err := f.f.GlyphIndex(buf, r); err == nil && idx != 0 {
			return f, idx
		}
	}
	return nil, 0
}

// Covers returns the runes of s, each once and in order of appearance, that none of the
// embedded fonts can draw (they would show as "tofu"). White space and invisible format
// characters are not reported. An empty result means Render can draw s.
func Covers(s string) (missing []rune) {
	chain, err := loadFonts()
	if err != nil {
		// The embedded fonts are part of the binary and tested; report everything as missing
		// rather than pretend coverage.
		for _, r := range s {
			missing = appendOnce(missing, r)
		}
		return missing
	}
	return chain.missing(s)
}

func (c fontChain) missing(s string) (missing []rune) {
	var buf sfnt.Buffer
	for _, r := range s {
		if unicode.IsSpace(r) || ignorable(r) {
			continue
		}
		if f, _ := c.pick(&buf, r); f == nil {
			missing = appendOnce(missing, r)
		}
	}
	return missing
}

func appendOnce(rs []rune, r rune) []rune {
	for _, x := range rs {
		if x == r {
			return rs
		}
	}
	return append(rs, r)
}
