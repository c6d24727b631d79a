package warning

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
	"golang.org/x/text/unicode/norm"
)

// Style is the look of the visible warning.
type Style int

// The styles.
const (
	// Badge is a small plate in a corner with the Short texts joined by " · " ("ЖИ · ИИ").
	Badge Style = iota
	// Caption is a band along the bottom or top edge with the Long (or Modified) texts, one
	// line per language; lines wider than the image wrap.
	Caption
	// EUIcon follows the EU Code of Practice's common icon: a rounded square with the localised
	// acronym(s) large and a caption line per language (Long or Modified) below.
	EUIcon
)

// String returns the style's name as ParseStyle reads it.
func (s Style) String() string {
	switch s {
	case Badge:
		return "badge"
	case Caption:
		return "caption"
	case EUIcon:
		return "eu-icon"
	}
	return fmt.Sprintf("Style(%d)", int(s))
}

// ParseStyle reads a style name: "badge", "caption" or "eu-icon" (also "euicon"), in any case.
func ParseStyle(name string) (Style, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "euicon" {
		n = "eu-icon"
	}
	for s := Badge; s <= EUIcon; s++ {
		if s.String() == n {
			return s, nil
		}
	}
	return 0, fmt.Errorf("warning: unknown style %q (want badge, caption or eu-icon)", name)
}

// Placement is where the warning goes on the image.
type Placement int

// The placements. Corners suit Badge and EUIcon; Top and Bottom put a Caption in a band across
// the image and centre a Badge or EUIcon on that edge. A Caption placed in a corner is a plate
// just wide enough for its text, on that corner's edge.
const (
	// Auto is TopLeft for Badge and EUIcon, Bottom for Caption.
	Auto Placement = iota
	TopLeft
	TopRight
	BottomLeft
	BottomRight
	Top
	Bottom
)

// String returns the placement's name as ParsePlacement reads it.
func (p Placement) String() string {
	switch p {
	case Auto:
		return "auto"
	case TopLeft:
		return "top-left"
	case TopRight:
		return "top-right"
	case BottomLeft:
		return "bottom-left"
	case BottomRight:
		return "bottom-right"
	case Top:
		return "top"
	case Bottom:
		return "bottom"
	}
	return fmt.Sprintf("Placement(%d)", int(p))
}

// ParsePlacement reads a placement name: "auto", "top-left", "top-right", "bottom-left",
// "bottom-right", "top" or "bottom", in any case ("_" may stand for "-").
func ParsePlacement(name string) (Placement, error) {
	n := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(name)), "_", "-")
	for p := Auto; p <= Bottom; p++ {
		if p.String() == n {
			return p, nil
		}
	}
	return 0, fmt.Errorf("warning: unknown placement %q (want auto, top-left, top-right, bottom-left, bottom-right, top or bottom)", name)
}

// Spec describes one visible warning.
type Spec struct {
	Style     Style
	Placement Placement
	// Messages are the languages to show, in display order (see Catalogue.Messages). Badge
	// shows their Short texts (each distinct text once), Caption their Long texts (Modified
	// if Modified is set), EUIcon both.
	Messages []Message
	// MinTextHeight is the smallest text height as a fraction of the image's shortest side:
	// 0.05 for China's GB 45438. Every letter reaches it: when the texts contain lower-case
	// letters, their x-height does (capitals are then about 1.35 times as tall); otherwise the
	// cap height of Latin, Greek and Cyrillic capitals and the height of a full ideograph for
	// CJK. So every line of text has ink at least this high. 0 means DefaultMinTextHeight.
	// Text is never smaller than MinTextPixels, whatever the fraction.
	MinTextHeight float64
	// Modified selects the Modified texts (AI-modified or composite content) instead of Long.
	Modified bool
}

// Sizes and limits of the rendering.
const (
	// DefaultMinTextHeight is the text height used when Spec.MinTextHeight is 0.
	DefaultMinTextHeight = 0.035
	// MinTextPixels is the floor on the text height, in pixels, for legibility.
	MinTextPixels = 9
	// MaxMessagesPerSpec is the most messages one Spec may hold.
	MaxMessagesPerSpec = 32
	// maxOverlayPixels bounds the overlay Render allocates (4 bytes a pixel).
	maxOverlayPixels = 1 << 27
	// maxEm bounds the font size in pixels; beyond it sfnt's 26.6 arithmetic could overflow.
	maxEm = 4096
)

// The colours: white text on a near-black grey plate at 92 % opacity. Composited on any
// background the plate's relative luminance stays below 0.02, so its contrast with the text
// stays above 14:1 (WCAG asks for 4.5:1).
const (
	plateLevel = 0x14 // grey level of the plate, sRGB
	textLevel  = 0xff // grey level of the text, sRGB
	plateAlpha = 235  // opacity of the plate, of 255
)

// ErrNoMessages is returned by Render and Draw for a Spec without messages.
var ErrNoMessages = errors.New("warning: the spec has no messages")

// Render lays out the warning for an image with the given bounds. It returns the overlay, whose
// Bounds() equal at, the rectangle of the image it covers: an NRGBA image with the plate and
// text, transparent (all zero) outside the plate's rounded corners. at lies inside bounds;
// compositing the overlay onto the image with draw.Over (as Draw does) changes nothing outside
// at. On a small image the plate may cover much of it, and when the texts do not fit at the
// required height the plate is clipped to the image (cutting off text) rather than made
// smaller: Measure reports that case.
func Render(bounds image.Rectangle, s Spec) (overlay *image.NRGBA, at image.Rectangle, err error) {
	l, err := layOut(bounds, s)
	if err != nil {
		return nil, image.Rectangle{}, err
	}
	return l.paint(), l.at, nil
}

// Metrics describes a laid-out warning.
type Metrics struct {
	// Plate is the whole plate in image coordinates. It reaches past the image when the text
	// does not fit at the required height (see Clipped).
	Plate image.Rectangle
	// At is the part of the plate inside the image: the rectangle Render and Draw cover.
	At image.Rectangle
	// TextHeight is the required text height in pixels (MinTextHeight × the shortest side,
	// at least MinTextPixels), and FontSize the font size in pixels chosen to reach it.
	TextHeight, FontSize float64
	// Lines is the number of lines of text after wrapping.
	Lines int
	// Clipped reports that the plate does not fit inside the image, so part of the text is
	// cut off: the image is too small for the texts at the required height. Use fewer or
	// shorter messages, the Badge style or a smaller MinTextHeight.
	Clipped bool
}

// Measure lays out the warning as Render would, without drawing it, and reports its size and
// whether it fits the image.
func Measure(bounds image.Rectangle, s Spec) (Metrics, error) {
	l, err := layOut(bounds, s)
	if err != nil {
		return Metrics{}, err
	}
	return l.metrics, nil
}

// Draw renders the warning for dst's bounds and composites it onto dst with draw.Over. It
// returns the rectangle it changed; pixels outside it are not touched.
func Draw(dst draw.Image, s Spec) (image.Rectangle, error) {
	if dst == nil {
		return image.Rectangle{}, errors.New("warning: Draw needs an image")
	}
	ov, at, err := Render(dst.Bounds(), s)
	if err != nil {
		return image.Rectangle{}, err
	}
	draw.Draw(dst, at, ov, at.Min, draw.Over)
	return at, nil
}

// glyphOutline is one glyph placed on the image: its pen origin (y on the baseline) in image
// coordinates and its outline relative to that origin, in pixels, y down.
type glyphOutline struct {
	x, y   float64
	segs   sfnt.Segments
	bounds fixed.Rectangle26_6
}

// layout is a laid-out warning, ready to paint.
type layout struct {
	plate   image.Rectangle // the whole plate; may reach past the image on tiny images
	at      image.Rectangle // plate ∩ image bounds
	radius  float64
	glyphs  []glyphOutline
	metrics Metrics
}

// shapedLine is one line of text set at one size: glyphs at pen x offsets from the line start.
type shapedLine struct {
	glyphs          []glyphOutline // x relative to the line start, y = 0 on the baseline
	width           float64
	inkTop, inkBott float64 // ink extent relative to the baseline (y down), px
}

// shaper sets text in the font chain at one size. It does no complex shaping: one glyph per
// rune, left to right, with 'kern' table kerning where the font has one.
type shaper struct {
	chain fontChain
	buf   sfnt.Buffer
	em    float64
	ppem  fixed.Int26_6
}

func newShaper(chain fontChain, em float64) *shaper {
	return &shaper{chain: chain, em: em, ppem: fixed.Int26_6(math.Round(em * 64))}
}

// set lays out text on one line; with outlines it also loads the glyph outlines and ink bounds.
func (s *shaper) set(text string, outlines bool) (shapedLine, error) {
	var l shapedLine
	x := 0.0
	var prevFace *face
	var prevIdx sfnt.GlyphIndex
	first := true
	for _, r := range text {
		if ignorable(r) {
			continue
		}
		if unicode.IsSpace(r) {
			r = ' '
		}
		f, idx := s.chain.pick(&s.buf, r)
		if f == nil {
			return l, fmt.Errorf("warning: no embedded font has a glyph for %U %q in %q", r, r, text)
		}
		if f == prevFace {
			if k, err := f.f.Kern(&s.buf, prevIdx, idx, s.ppem, font.HintingNone); err == nil {
				x += float64(k) / 64
			}
		}
		if outlines && r != ' ' {
			segs, err := f.f.LoadGlyph(&s.buf, idx, s.ppem, nil)
			if err != nil {
				return l, fmt.Errorf("warning: loading the glyph for %q: %w", r, err)
			}
			if len(segs) > 0 {
				g := glyphOutline{x: x, segs: append(sfnt.Segments(nil), segs...), bounds: segs.Bounds()}
				top, bot := float64(g.bounds.Min.Y)/64, float64(g.bounds.Max.Y)/64
				if first {
					l.inkTop, l.inkBott, first = top, bot, false
				} else {
					l.inkTop, l.inkBott = math.Min(l.inkTop, top), math.Max(l.inkBott, bot)
				}
				l.glyphs = append(l.glyphs, g)
			}
		}
		adv, err := f.f.GlyphAdvance(&s.buf, idx, s.ppem, font.HintingNone)
		if err != nil {
			return l, fmt.Errorf("warning: advance of the glyph for %q: %w", r, err)
		}
		x += float64(adv) / 64
		prevFace, prevIdx = f, idx
	}
	l.width = x
	return l, nil
}

func (s *shaper) width(text string) (float64, error) {
	l, err := s.set(text, false)
	return l.width, err
}

// token is a unit of line breaking: a word, or one CJK character.
type token struct {
	text       string
	spaceAfter bool // a space separates it from the next token
}

// breakAlone reports whether a line may break before and after r without a space: CJK
// ideographs, kana, hangul syllables and CJK punctuation.
func breakAlone(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303f) || (r >= 0xff00 && r <= 0xffef)
}

func tokenize(text string) []token {
	var toks []token
	var cur strings.Builder
	flush := func(space bool) {
		if cur.Len() > 0 {
			toks = append(toks, token{text: cur.String()})
			cur.Reset()
		}
		if space && len(toks) > 0 {
			toks[len(toks)-1].spaceAfter = true
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsSpace(r):
			flush(true)
		case breakAlone(r):
			flush(false)
			cur.WriteRune(r)
			flush(false)
		default:
			cur.WriteRune(r)
		}
	}
	flush(false)
	return toks
}

// wrap breaks text into lines no wider than maxW: at spaces and around CJK characters, and,
// for a word wider than maxW by itself, between characters (at least one per line).
func (s *shaper) wrap(text string, maxW float64) ([]string, error) {
	toks := tokenize(text)
	var lines []string
	cur := ""
	curSpace := false // cur ends with a token followed by a space
	for _, t := range toks {
		cand := t.text
		if cur != "" {
			if curSpace {
				cand = cur + " " + t.text
			} else {
				cand = cur + t.text
			}
		}
		w, err := s.width(cand)
		if err != nil {
			return nil, err
		}
		if w <= maxW {
			cur, curSpace = cand, t.spaceAfter
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
		}
		cur, curSpace = t.text, t.spaceAfter
		if w, err = s.width(cur); err != nil {
			return nil, err
		} else if w > maxW {
			parts, err := s.splitRunes(cur, maxW)
			if err != nil {
				return nil, err
			}
			lines = append(lines, parts[:len(parts)-1]...)
			cur = parts[len(parts)-1]
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines, nil
}

// splitRunes cuts a word into pieces no wider than maxW, each at least one character.
func (s *shaper) splitRunes(word string, maxW float64) ([]string, error) {
	var parts []string
	cur := ""
	for _, r := range word {
		cand := cur + string(r)
		w, err := s.width(cand)
		if err != nil {
			return nil, err
		}
		if w > maxW && cur != "" {
			parts = append(parts, cur)
			cand = string(r)
		}
		cur = cand
	}
	return append(parts, cur), nil
}

// wrapItems packs items onto lines joined by sep, breaking between items when a line would be
// wider than maxW and inside an item only when it is too wide by itself.
func (s *shaper) wrapItems(items []string, sep string, maxW float64) ([]string, error) {
	var lines []string
	cur := ""
	for _, it := range items {
		if cur != "" {
			cand := cur + sep + it
			w, err := s.width(cand)
			if err != nil {
				return nil, err
			}
			if w <= maxW {
				cur = cand
				continue
			}
			lines = append(lines, cur)
		}
		parts, err := s.wrap(it, maxW)
		if err != nil {
			return nil, err
		}
		if len(parts) == 0 {
			cur = ""
			continue
		}
		lines = append(lines, parts[:len(parts)-1]...)
		cur = parts[len(parts)-1]
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines, nil
}

// block is lines of one size stacked vertically.
type block struct {
	lines     []shapedLine
	baselines []float64 // from the block's top
	width     float64
	height    float64
}

// stack shapes lines and stacks them: the pitch is 1.3 em, widened where ink would come closer
// than gap pixels. capPx is the cap height: each line's box reaches at least that high, so
// lines of small letters line up with the others.
func (s *shaper) stack(texts []string, capPx, gap float64) (block, error) {
	var b block
	var prevBottom, prevBase float64
	for i, t := range texts {
		l, err := s.set(t, true)
		if err != nil {
			return b, err
		}
		top, bottom := math.Min(l.inkTop, -capPx), math.Max(l.inkBott, 0)
		var base float64
		if i == 0 {
			base = math.Ceil(-top)
		} else {
			base = prevBase + math.Max(math.Round(1.3*s.em), math.Ceil(prevBottom-top+gap))
		}
		b.lines = append(b.lines, l)
		b.baselines = append(b.baselines, base)
		b.width = math.Max(b.width, l.width)
		prevBase, prevBottom = base, bottom
		b.height = base + math.Ceil(bottom)
	}
	return b, nil
}

// texts returns the Short and Long (or Modified) texts of the spec's messages that its style
// shows, NFC-normalised. Badge and EUIcon show each distinct Short text once.
func (s Spec) texts() (shorts, longs []string, err error) {
	if len(s.Messages) == 0 {
		return nil, nil, ErrNoMessages
	}
	if len(s.Messages) > MaxMessagesPerSpec {
		return nil, nil, fmt.Errorf("warning: the spec has %d messages, more than the limit of %d", len(s.Messages), MaxMessagesPerSpec)
	}
	seen := map[string]bool{}
	for i, m := range s.Messages {
		name := m.Lang
		if name == "" {
			name = fmt.Sprintf("#%d", i+1)
		}
		if s.Style == Badge || s.Style == EUIcon {
			if m.Short == "" {
				return nil, nil, fmt.Errorf("warning: message %s has no Short text for the %s style", name, s.Style)
			}
			if err := checkText(m.Short); err != nil {
				return nil, nil, fmt.Errorf("warning: message %s, Short: %w", name, err)
			}
			t := norm.NFC.String(strings.TrimSpace(m.Short))
			if !seen[t] {
				seen[t] = true
				shorts = append(shorts, t)
			}
		}
		if s.Style == Caption || s.Style == EUIcon {
			t, field := m.Long, "Long"
			if s.Modified {
				t, field = m.Modified, "Modified"
			}
			if t == "" {
				return nil, nil, fmt.Errorf("warning: message %s has no %s text for the %s style", name, field, s.Style)
			}
			if err := checkText(t); err != nil {
				return nil, nil, fmt.Errorf("warning: message %s, %s: %w", name, field, err)
			}
			longs = append(longs, norm.NFC.String(strings.TrimSpace(t)))
		}
	}
	return shorts, longs, nil
}

// refHeight checks that the chain can draw every text and returns the smallest reference
// height per em among their letters and digits: the x-height for lower-case letters, so that
// every line of text, even one of small letters only, has ink at least the text height high;
// the cap or ideograph height for the rest.
func (c fontChain) refHeight(texts []string) (float64, error) {
	ref := math.Inf(1)
	var buf sfnt.Buffer
	for _, t := range texts {
		if miss := c.missing(t); len(miss) > 0 {
			return 0, fmt.Errorf("warning: no embedded font has a glyph for %q (%U) in %q", miss[0], miss[0], t)
		}
		visible := false
		for _, r := range t {
			if unicode.IsSpace(r) || ignorable(r) {
				continue
			}
			visible = true
			if f, _ := c.pick(&buf, r); f != nil && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
				ref = math.Min(ref, f.height(r))
			}
		}
		if !visible {
			return 0, fmt.Errorf("warning: the text %q has no visible characters", t)
		}
	}
	if math.IsInf(ref, 1) { // punctuation and symbols only
		ref = c[0].ref
	}
	return ref, nil
}

// buildBlocks sets the style's texts in lines no wider than maxW: the Short texts joined by
// " · " (at bigEm for EUIcon, em for Badge) and the Long texts one per line, wrapped (em).
func buildBlocks(style Style, chain fontChain, em, bigEm, capPx, gap, maxW float64, shorts, longs []string) ([]block, error) {
	var blocks []block
	if style == Badge || style == EUIcon {
		sh, cp, g := newShaper(chain, em), capPx, gap
		if style == EUIcon {
			sh, cp, g = newShaper(chain, bigEm), capPx*bigEm/em, gap*bigEm/em
		}
		lines, err := sh.wrapItems(shorts, " · ", maxW)
		if err != nil {
			return nil, err
		}
		b, err := sh.stack(lines, cp, g)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, b)
	}
	if style == Caption || style == EUIcon {
		sh := newShaper(chain, em)
		var lines []string
		for _, t := range longs {
			ls, err := sh.wrap(t, maxW)
			if err != nil {
				return nil, err
			}
			lines = append(lines, ls...)
		}
		b, err := sh.stack(lines, capPx, gap)
		if err != nil {
			return nil, err
		}
		blocks = append(blocks, b)
	}
	return blocks, nil
}

// placePlate puts a plate of w×h pixels at the placement, margin pixels from the edges. A
// plate too big for the image is centred if it fits without the margins, and otherwise pinned
// to the image's top-left so that the start of the text shows.
func placePlate(bounds image.Rectangle, placement Placement, w, h, margin float64) image.Rectangle {
	bw, bh := float64(bounds.Dx()), float64(bounds.Dy())
	var x, y float64
	switch placement {
	case TopLeft, BottomLeft:
		x = float64(bounds.Min.X) + margin
	case TopRight, BottomRight:
		x = float64(bounds.Max.X) - margin - w
	default:
		x = float64(bounds.Min.X) + math.Floor((bw-w)/2)
	}
	switch placement {
	case TopLeft, TopRight, Top:
		y = float64(bounds.Min.Y) + margin
	default:
		y = float64(bounds.Max.Y) - margin - h
	}
	if w > bw-2*margin {
		x = float64(bounds.Min.X) + math.Max(0, math.Floor((bw-w)/2))
	}
	if h > bh-2*margin {
		y = float64(bounds.Min.Y) + math.Max(0, math.Floor((bh-h)/2))
	}
	return image.Rect(int(x), int(y), int(x+w), int(y+h))
}

// layOut sizes and places the plate and the text for an image with the given bounds.
func layOut(bounds image.Rectangle, s Spec) (*layout, error) {
	if bounds.Empty() {
		return nil, fmt.Errorf("warning: empty image bounds %v", bounds)
	}
	if s.Style < Badge || s.Style > EUIcon {
		return nil, fmt.Errorf("warning: unknown style %d", int(s.Style))
	}
	if s.Placement < Auto || s.Placement > Bottom {
		return nil, fmt.Errorf("warning: unknown placement %d", int(s.Placement))
	}
	frac := s.MinTextHeight
	if math.IsNaN(frac) || frac < 0 || frac > 1 {
		return nil, fmt.Errorf("warning: MinTextHeight %v is not a fraction between 0 and 1", frac)
	}
	if frac == 0 {
		frac = DefaultMinTextHeight
	}
	shorts, longs, err := s.texts()
	if err != nil {
		return nil, err
	}
	chain, err := loadFonts()
	if err != nil {
		return nil, err
	}

	bw, bh := bounds.Dx(), bounds.Dy()
	shortSide := float64(min(bw, bh))
	textH := math.Max(frac*shortSide, MinTextPixels) // required text height, px

	// The font size makes the reference height of the shortest letters reach textH plus one
	// pixel, so that anti-aliased edge rows cannot eat into the requirement.
	ref, err := chain.refHeight(append(append([]string(nil), shorts...), longs...))
	if err != nil {
		return nil, err
	}
	capPx := textH + 1
	em := capPx / ref
	bigEm := em
	if s.Style == EUIcon {
		bigEm = 2 * em
	}
	if bigEm > maxEm {
		return nil, fmt.Errorf("warning: text height of %.0f px is too large to render (font size %.0f px, limit %d)", textH, bigEm, maxEm)
	}

	margin := math.Max(2, math.Round(0.02*shortSide))
	padX, padY := math.Ceil(0.6*textH), math.Ceil(0.5*textH)
	gap := math.Ceil(0.3 * textH)
	maxW := math.Max(float64(bw)-2*margin-2*padX, 1)

	placement := s.Placement
	if placement == Auto {
		placement = TopLeft
		if s.Style == Caption {
			placement = Bottom
		}
	}
	band := s.Style == Caption && (placement == Top || placement == Bottom)
	align := 0 // -1 left, 0 centre, +1 right
	if s.Style == Caption && !band {
		if placement == TopLeft || placement == BottomLeft {
			align = -1
		} else {
			align = 1
		}
	}

	blocks, err := buildBlocks(s.Style, chain, em, bigEm, capPx, gap, maxW, shorts, longs)
	if err != nil {
		return nil, err
	}

	contentW, contentH := 0.0, 0.0
	blockGap := math.Ceil(0.7 * textH)
	if s.Style == EUIcon {
		padY = math.Ceil(0.9 * textH)
	}
	for i, b := range blocks {
		contentW = math.Max(contentW, b.width)
		if i > 0 {
			contentH += blockGap
		}
		contentH += b.height
	}
	w := math.Ceil(contentW + 2*padX)
	h := math.Ceil(contentH + 2*padY)
	avail := float64(bw) - 2*margin
	if band {
		w = math.Max(w, avail)
	}
	if s.Style == EUIcon && w < h {
		w = math.Max(w, math.Min(h, avail))
	}
	radius := math.Min(0.45*textH, math.Min(w, h)/2)
	if s.Style == EUIcon {
		radius = math.Min(math.Max(radius, 0.18*math.Min(w, h)), math.Min(w, h)/2)
	}

	plate := placePlate(bounds, placement, w, h, margin)
	at := plate.Intersect(bounds)
	if int64(at.Dx())*int64(at.Dy()) > maxOverlayPixels {
		return nil, fmt.Errorf("warning: the overlay would be %dx%d pixels, more than the limit of %d", at.Dx(), at.Dy(), maxOverlayPixels)
	}

	l := &layout{plate: plate, at: at, radius: radius}
	l.metrics = Metrics{Plate: plate, At: at, TextHeight: textH, FontSize: em, Clipped: !plate.In(bounds)}
	top := float64(plate.Min.Y) + padY
	for i, b := range blocks {
		l.metrics.Lines += len(b.lines)
		if i > 0 {
			top += blockGap
		}
		for j, line := range b.lines {
			var lx float64
			switch align {
			case -1:
				lx = float64(plate.Min.X) + padX
			case 1:
				lx = float64(plate.Max.X) - padX - line.width
			default:
				lx = float64(plate.Min.X) + (float64(plate.Dx())-line.width)/2
			}
			base := top + b.baselines[j]
			for _, g := range line.glyphs {
				g.x += lx
				g.y = base
				l.glyphs = append(l.glyphs, g)
			}
		}
		top += b.height
	}
	return l, nil
}

// paint draws the laid-out plate and text into a new overlay covering l.at.
func (l *layout) paint() *image.NRGBA {
	at := l.at
	ov := image.NewNRGBA(at)
	mask := image.NewAlpha(at) // text coverage

	var z vector.Rasterizer
	var scratch image.Alpha
	for _, g := range l.glyphs {
		box := image.Rect(
			int(math.Floor(g.x+float64(g.bounds.Min.X)/64)), int(math.Floor(g.y+float64(g.bounds.Min.Y)/64)),
			int(math.Ceil(g.x+float64(g.bounds.Max.X)/64)), int(math.Ceil(g.y+float64(g.bounds.Max.Y)/64)))
		vis := box.Intersect(at)
		if vis.Empty() {
			continue
		}
		z.Reset(box.Dx(), box.Dy())
		z.DrawOp = draw.Src // Reset sets Over; Src overwrites the reused scratch buffer
		ox, oy := g.x-float64(box.Min.X), g.y-float64(box.Min.Y)
		pt := func(p fixed.Point26_6) (float32, float32) {
			return float32(ox + float64(p.X)/64), float32(oy + float64(p.Y)/64)
		}
		open := false
		for _, seg := range g.segs {
			switch seg.Op {
			case sfnt.SegmentOpMoveTo:
				if open {
					z.ClosePath()
				}
				z.MoveTo(pt(seg.Args[0]))
				open = true
			case sfnt.SegmentOpLineTo:
				z.LineTo(pt(seg.Args[0]))
			case sfnt.SegmentOpQuadTo:
				ax, ay := pt(seg.Args[0])
				bx, by := pt(seg.Args[1])
				z.QuadTo(ax, ay, bx, by)
			case sfnt.SegmentOpCubeTo:
				ax, ay := pt(seg.Args[0])
				bx, by := pt(seg.Args[1])
				cx, cy := pt(seg.Args[2])
				z.CubeTo(ax, ay, bx, by, cx, cy)
			}
		}
		if open {
			z.ClosePath()
		}
		n := box.Dx() * box.Dy()
		if cap(scratch.Pix) < n {
			scratch.Pix = make([]uint8, n)
		}
		scratch.Pix, scratch.Stride, scratch.Rect = scratch.Pix[:n], box.Dx(), image.Rect(0, 0, box.Dx(), box.Dy())
		z.Draw(&scratch, scratch.Rect, image.Opaque, image.Point{})
		// Union the glyph's coverage into the mask (source-over of coverage).
		for yy := vis.Min.Y; yy < vis.Max.Y; yy++ {
			src := scratch.Pix[(yy-box.Min.Y)*scratch.Stride+(vis.Min.X-box.Min.X):]
			dst := mask.Pix[mask.PixOffset(vis.Min.X, yy):]
			for i := range vis.Dx() {
				if t := uint32(src[i]); t != 0 {
					m := uint32(dst[i])
					dst[i] = uint8(t + (m*(255-t)+127)/255)
				}
			}
		}
	}

	// Compose plate and text. Away from the rounded corners the result depends only on the
	// text coverage, so it comes from a table; plain plate rows are copied from a template.
	var lut [256][4]uint8
	for t := range 256 {
		c := compose(float64(t)/255, 1)
		lut[t] = [4]uint8{c.R, c.G, c.B, c.A}
	}
	plain := make([]uint8, 4*at.Dx())
	for i := 0; i < len(plain); i += 4 {
		copy(plain[i:i+4], lut[0][:])
	}
	p := l.plate
	r := l.radius
	for y := at.Min.Y; y < at.Max.Y; y++ {
		cy := float64(y) + 0.5
		dy := math.Max(math.Max(float64(p.Min.Y)+r-cy, cy-(float64(p.Max.Y)-r)), 0)
		row := ov.Pix[ov.PixOffset(at.Min.X, y) : ov.PixOffset(at.Max.X-1, y)+4]
		mrow := mask.Pix[mask.PixOffset(at.Min.X, y) : mask.PixOffset(at.Max.X-1, y)+1]
		if dy == 0 {
			copy(row, plain)
			for i, t := range mrow {
				if t != 0 {
					copy(row[4*i:4*i+4], lut[t][:])
				}
			}
			continue
		}
		for i, t := range mrow {
			cx := float64(at.Min.X+i) + 0.5
			dx := math.Max(math.Max(float64(p.Min.X)+r-cx, cx-(float64(p.Max.X)-r)), 0)
			var c color.NRGBA
			if dx == 0 {
				c = color.NRGBA{lut[t][0], lut[t][1], lut[t][2], lut[t][3]}
			} else {
				cov := math.Min(math.Max(r-math.Hypot(dx, dy)+0.5, 0), 1)
				c = compose(float64(t)/255, cov)
			}
			row[4*i], row[4*i+1], row[4*i+2], row[4*i+3] = c.R, c.G, c.B, c.A
		}
	}
	return ov
}

// compose returns text of coverage t over the plate of coverage cov, as non-premultiplied
// colour; fully transparent pixels are all zero.
func compose(t, cov float64) color.NRGBA {
	pa := cov * plateAlpha / 255
	a := t + (1-t)*pa
	if a <= 0 {
		return color.NRGBA{}
	}
	v := uint8(math.Min(math.Round((t*textLevel+(1-t)*pa*plateLevel)/a), 255))
	return color.NRGBA{R: v, G: v, B: v, A: uint8(math.Round(a * 255))}
}
