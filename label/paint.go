package label

import (
	"bytes"
	"fmt"
	"image"
	"sync"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/warning"
)

// maxCoverPercent is the most of a picture a caption or icon may cover before the compact badge
// takes its place: the warning must be seen, but not hide the content.
const maxCoverPercent = 35

func area(r image.Rectangle) int64 { return int64(r.Dx()) * int64(r.Dy()) }

// badge makes the overlay of the visible warning spec asks for. A caption or icon too big for
// the picture gives way to the compact badge (used says which was drawn); note says when even
// that is cut at the edge. Both are set when the overlay is made.
type badge struct {
	spec  *warning.Spec
	cache *overlayCache // nil: none
	used  warning.Style
	note  string
}

func newBadge(spec *warning.Spec, cache *overlayCache) *badge {
	return &badge{spec: spec, cache: cache, used: spec.Style}
}

// overlay is the badge's formats.OverlayFunc. The overlay it returns is shared (cached): it is
// read, never modified.
func (b *badge) overlay(bounds image.Rectangle) (image.Image, image.Rectangle, error) {
	var key string
	if b.cache != nil {
		key = fmt.Sprintf("%v %#v", bounds, *b.spec)
		if e, ok := b.cache.get(key); ok {
			b.used, b.note = e.used, e.note
			return e.ov, e.at, nil
		}
	}
	ov, at, err := b.render(bounds)
	if err == nil && b.cache != nil {
		b.cache.put(key, overlayEntry{ov: ov, at: at, used: b.used, note: b.note})
	}
	return ov, at, err
}

// render draws the overlay for a picture of the given bounds.
func (b *badge) render(bounds image.Rectangle) (image.Image, image.Rectangle, error) {
	s := *b.spec
	m, err := warning.Measure(bounds, s)
	if err == nil && s.Style != warning.Badge && (m.Clipped || area(m.At)*100 > area(bounds)*maxCoverPercent) {
		s.Style, s.Placement = warning.Badge, warning.Auto
		m, err = warning.Measure(bounds, s)
	}
	if err == nil && m.Clipped {
		b.note = fmt.Sprintf("the picture (%dx%d) is too small for the whole warning at the policy's text size: it is cut at the edge", bounds.Dx(), bounds.Dy())
	}
	b.used = s.Style
	overlay, at, err := warning.Render(bounds, s)
	if err != nil {
		return nil, image.Rectangle{}, err // an untyped nil image, not a nil *image.NRGBA
	}
	return overlay, at, nil
}

// paint draws the visible warning onto an image container and returns the new image's bytes,
// everything else in the container kept (see badge for used and note).
func paint(c formats.Container, spec *warning.Spec, cache *overlayCache) (out []byte, info formats.PaintInfo, used warning.Style, note string, err error) {
	b := newBadge(spec, cache)
	p, ok := c.(formats.Painter)
	if !ok {
		return nil, formats.PaintInfo{}, b.used, "", fmt.Errorf("%s images cannot be drawn on yet: %w", c.Format().Name, formats.ErrUnsupported)
	}
	var buf bytes.Buffer
	info, err = p.Paint(&buf, b.overlay)
	if err != nil {
		return nil, info, b.used, b.note, err
	}
	return buf.Bytes(), info, b.used, b.note, nil
}

// drawnNote is the Result.Visible entry of a warning drawn as used where the policy asked for
// want.
func drawnNote(used, want warning.Style, info formats.PaintInfo) string {
	v := fmt.Sprintf("%s drawn over %v (%s)", used, info.Changed, info.Method)
	if used != want {
		v += fmt.Sprintf("; the policy's %s would cover too much of this picture", want)
	}
	return v
}

// overlayCache keeps the overlays last drawn, by picture size and warning: AI generators make
// pictures of a few sizes, and the warning drawn on them is the same each time. It holds at most
// overlayCacheBytes of pixels, in overlays of at most overlayCacheMax bytes each, dropping the
// oldest first. The zero value is ready to use; it is safe for concurrent use.
type overlayCache struct {
	mu    sync.Mutex
	items map[string]overlayEntry
	order []string // keys, oldest first
	bytes int
}

type overlayEntry struct {
	ov   image.Image
	at   image.Rectangle
	used warning.Style
	note string
	size int
}

const (
	overlayCacheBytes = 32 << 20
	overlayCacheMax   = 4 << 20
)

func (c *overlayCache) get(key string) (overlayEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	return e, ok
}

func (c *overlayCache) put(key string, e overlayEntry) {
	e.size = 4 * e.ov.Bounds().Dx() * e.ov.Bounds().Dy()
	if e.size > overlayCacheMax {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]overlayEntry{}
	}
	if _, ok := c.items[key]; ok {
		return
	}
	for c.bytes+e.size > overlayCacheBytes && len(c.order) > 0 {
		old := c.order[0]
		c.order = c.order[1:]
		c.bytes -= c.items[old].size
		delete(c.items, old)
	}
	c.items[key] = e
	c.order = append(c.order, key)
	c.bytes += e.size
}
