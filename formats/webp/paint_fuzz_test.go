package webp

import (
	"bytes"
	"image"
	"io"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats/formatstest"
)

// FuzzPaint: Paint never panics; when it succeeds its output re-opens and decodes to a picture
// of the input's size.
func FuzzPaint(f *testing.F) {
	for _, b := range paintInputs(f) {
		if len(b) < 4096 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Open(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			return
		}
		// Keep each run small: the pixel limit itself is tested in TestPaintHostile.
		if w, h, err := p.size(); err != nil || w*h > 1<<20 {
			return
		}
		var out bytes.Buffer
		info, err := p.Paint(&out, formatstest.Corner(formatstest.Badge(image.Pt(-7, 3))))
		if err != nil {
			return
		}
		q, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("the output does not re-open: %v", err)
		}
		w, h, err := q.size()
		if err != nil || !info.Changed.In(image.Rect(0, 0, w, h)) {
			t.Fatalf("output size %dx%d (%v), Changed %v", w, h, err, info.Changed)
		}
		if _, err := q.Paint(io.Discard, formatstest.Corner(formatstest.Badge(image.Point{}))); err != nil && !strings.Contains(err.Error(), "lossless encoder failed") {
			t.Fatalf("painting the output again failed: %v", err)
		}
	})
}
