package jpeg

import (
	"bytes"
	"image"
	stdjpeg "image/jpeg"
	"io"
	"testing"

	"github.com/ailabel/ailabel/formats/formatstest"
)

// FuzzPaint: Paint never panics; when it succeeds its output decodes with image/jpeg to a
// picture of the input's size and re-opens.
func FuzzPaint(f *testing.F) {
	for _, in := range paintInputs(f) {
		if len(in.b) < 8192 {
			f.Add(in.b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := Open(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			return
		}
		// Keep each run small: the pixel limit itself is tested in TestPaintHostile.
		cfg, err := stdjpeg.DecodeConfig(bytes.NewReader(in))
		if err == nil && cfg.Width*cfg.Height > 1<<20 {
			return
		}
		var out bytes.Buffer
		info, err := p.Paint(&out, formatstest.Corner(formatstest.Badge(image.Pt(-7, 3))))
		if err != nil {
			return
		}
		m, err := stdjpeg.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("Paint succeeded (%s) but image/jpeg cannot decode the output: %v", info.Method, err)
		}
		if !info.Changed.In(m.Bounds()) {
			t.Fatalf("Changed %v is not inside the picture %v", info.Changed, m.Bounds())
		}
		q, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("the output does not re-open: %v", err)
		}
		if _, err := q.Paint(io.Discard, formatstest.Corner(formatstest.Badge(image.Point{}))); err != nil {
			t.Fatalf("painting the output again failed: %v", err)
		}
	})
}
