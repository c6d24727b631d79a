package png

import (
	"bytes"
	"encoding/binary"
	"image"
	stdpng "image/png"
	"io"
	"testing"

	"github.com/ailabel/ailabel/formats/formatstest"
)

// FuzzPaint: Paint never panics; when it succeeds its output is a PNG that image/png decodes to a
// picture of the input's size, and that re-opens.
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
		if len(in) >= 24 && uint64(binary.BigEndian.Uint32(in[16:]))*uint64(binary.BigEndian.Uint32(in[20:])) > 1<<20 {
			return
		}
		var out bytes.Buffer
		info, err := p.Paint(&out, formatstest.Corner(formatstest.Badge(image.Pt(-7, 3))))
		if err != nil {
			return
		}
		m, err := stdpng.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatalf("Paint succeeded (%s) but its output does not decode: %v", info.Method, err)
		}
		if !info.Changed.In(m.Bounds()) {
			t.Fatalf("Changed %v is not inside the picture %v", info.Changed, m.Bounds())
		}
		if _, err := Open(bytes.NewReader(out.Bytes()), int64(out.Len())); err != nil {
			t.Fatalf("the output does not re-open: %v", err)
		}
		if _, err := p.Paint(io.Discard, formatstest.Corner(formatstest.Badge(image.Point{}))); err != nil {
			t.Fatalf("a second Paint failed: %v", err)
		}
	})
}
