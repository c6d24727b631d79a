package warning_test

import (
	"image"
	"testing"

	"github.com/ailabel/ailabel/warning"
)

// BenchmarkRenderDraw renders and composites each style onto a 4000×3000 image (default text
// height, and China's 5 %).
func BenchmarkRenderDraw(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 4000, 3000))
	fill(img, backgrounds[2])
	for _, style := range styles {
		for _, frac := range []float64{0, 0.05} {
			spec := specFor(b, style)
			spec.MinTextHeight = frac
			name := style.String() + "/default"
			if frac != 0 {
				name = style.String() + "/5pct"
			}
			b.Run(name, func(b *testing.B) {
				var at image.Rectangle
				for b.Loop() {
					var err error
					if at, err = warning.Draw(img, spec); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(at.Dx()*at.Dy())/1e6, "Mpx-overlay")
			})
		}
	}
}
