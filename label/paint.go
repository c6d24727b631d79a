package label

import (
	"bytes"
	"fmt"
	"image"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/warning"
)

// maxCoverPercent is the most of a picture a caption or icon may cover before the compact badge
// takes its place: the warning must be seen, but not hide the content.
const maxCoverPercent = 35

func area(r image.Rectangle) int64 { return int64(r.Dx()) * int64(r.Dy()) }

// paint draws the visible warning onto an image container and returns the new image's bytes,
// everything else in the container kept. A caption or icon too big for the picture gives way to
// the compact badge (used says which was drawn); note says when even that is cut at the edge.
func paint(c formats.Container, spec *warning.Spec) (out []byte, info formats.PaintInfo, used warning.Style, note string, err error) {
	used = spec.Style
	p, ok := c.(formats.Painter)
	if !ok {
		return nil, formats.PaintInfo{}, used, "", fmt.Errorf("%s images cannot be drawn on yet: %w", c.Format().Name, formats.ErrUnsupported)
	}
	var buf bytes.Buffer
	info, err = p.Paint(&buf, func(bounds image.Rectangle) (image.Image, image.Rectangle, error) {
		s := *spec
		m, err := warning.Measure(bounds, s)
		if err == nil && s.Style != warning.Badge && (m.Clipped || area(m.At)*100 > area(bounds)*maxCoverPercent) {
			s.Style, s.Placement = warning.Badge, warning.Auto
			m, err = warning.Measure(bounds, s)
		}
		if err == nil && m.Clipped {
			note = fmt.Sprintf("the picture (%dx%d) is too small for the whole warning at the policy's text size: it is cut at the edge", bounds.Dx(), bounds.Dy())
		}
		used = s.Style
		overlay, at, err := warning.Render(bounds, s)
		if err != nil {
			return nil, image.Rectangle{}, err
		}
		return overlay, at, nil
	})
	if err != nil {
		return nil, info, used, note, err
	}
	return buf.Bytes(), info, used, note, nil
}
