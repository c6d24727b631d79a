package dct

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixtures returns the names of the committed fixture JPEGs.
func fixtures(t testing.TB) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", "*.jpg"))
	if err != nil || len(names) < 10 {
		t.Fatalf("fixtures: %d found, %v", len(names), err)
	}
	return names
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecode(t testing.TB, b []byte) *Image {
	t.Helper()
	m, err := Decode(bytes.NewReader(b), Limits{})
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return m
}

func mustEncode(t testing.TB, m *Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatalf("Encode: %v", err)
	}
	return buf.Bytes()
}

// sameCoefficients reports the first difference between the frames and coefficients of a and b.
func sameCoefficients(a, b *Image) error {
	if a.Width != b.Width || a.Height != b.Height || len(a.Components) != len(b.Components) {
		return fmt.Errorf("frame %dx%d/%d vs %dx%d/%d", a.Width, a.Height, len(a.Components), b.Width, b.Height, len(b.Components))
	}
	for i := range a.Components {
		ca, cb := &a.Components[i], &b.Components[i]
		if ca.ID != cb.ID || ca.H != cb.H || ca.V != cb.V || ca.BlocksWide != cb.BlocksWide || ca.BlocksHigh != cb.BlocksHigh {
			return fmt.Errorf("component %d: id %d %dx%d %dx%d blocks vs id %d %dx%d %dx%d blocks", i,
				ca.ID, ca.H, ca.V, ca.BlocksWide, ca.BlocksHigh, cb.ID, cb.H, cb.V, cb.BlocksWide, cb.BlocksHigh)
		}
		if ca.Quant != cb.Quant {
			return fmt.Errorf("component %d: quantisation tables differ", i)
		}
		for j := range ca.Coeffs {
			if ca.Coeffs[j] != cb.Coeffs[j] {
				return fmt.Errorf("component %d block %d coefficient %d: %d vs %d", i, j/64, j%64, ca.Coeffs[j], cb.Coeffs[j])
			}
		}
	}
	return nil
}

// refCoefficients reads a .coef dump made by testdata/gen (libjpeg's view of the coefficients).
func refCoefficients(t testing.TB, name string) (dims [][2]int, coefs [][]int16) {
	t.Helper()
	b := readFile(t, name)
	if len(b) < 5 || string(b[:4]) != "DCTC" {
		t.Fatalf("%s: not a coefficient dump", name)
	}
	n := int(b[4])
	b = b[5:]
	for i := 0; i < n; i++ {
		if len(b) < 4 {
			t.Fatalf("%s: short", name)
		}
		w, h := int(binary.LittleEndian.Uint16(b)), int(binary.LittleEndian.Uint16(b[2:]))
		b = b[4:]
		c := make([]int16, w*h*64)
		if len(b) < 2*len(c) {
			t.Fatalf("%s: short", name)
		}
		for j := range c {
			c[j] = int16(binary.LittleEndian.Uint16(b[2*j:]))
		}
		b = b[2*len(c):]
		dims = append(dims, [2]int{w, h})
		coefs = append(coefs, c)
	}
	if len(b) != 0 {
		t.Fatalf("%s: %d bytes left over", name, len(b))
	}
	return dims, coefs
}

// stdDecode decodes with image/jpeg.
func stdDecode(b []byte) (image.Image, error) { return stdjpeg.Decode(bytes.NewReader(b)) }

// samePixels compares two decoded images pixel by pixel (exactly), inside r when r is not empty,
// or outside r when outside is true.
func samePixels(a, b image.Image, r image.Rectangle, outside bool) error {
	if a.Bounds() != b.Bounds() {
		return fmt.Errorf("bounds %v vs %v", a.Bounds(), b.Bounds())
	}
	bb := a.Bounds()
	for y := bb.Min.Y; y < bb.Max.Y; y++ {
		for x := bb.Min.X; x < bb.Max.X; x++ {
			p := image.Pt(x, y)
			if !r.Empty() && p.In(r) == outside {
				continue
			}
			ca, cb := a.At(x, y), b.At(x, y)
			r1, g1, b1, a1 := ca.RGBA()
			r2, g2, b2, a2 := cb.RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return fmt.Errorf("pixel (%d,%d): %v vs %v", x, y, ca, cb)
			}
		}
	}
	return nil
}

// testImage is a deterministic picture with gradients, edges and texture.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint32(x*7+y*13) ^ uint32(x*y)
			b := uint8(v)
			if (x/5+y/7)%2 == 0 {
				b = 220
			}
			img.Set(x, y, color.RGBA{uint8(x * 255 / max(w-1, 1)), uint8(y * 255 / max(h-1, 1)), b, 255})
		}
	}
	return img
}

func goJPEG(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, img, &stdjpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// segment is one marker segment of a JPEG, as found by walkSegments.
type segment struct {
	marker     byte
	start, end int // the whole segment, marker included
}

// walkSegments lists the marker segments from SOI up to and including the first SOS.
func walkSegments(t testing.TB, b []byte) []segment {
	t.Helper()
	var out []segment
	p := 2
	for p+4 <= len(b) {
		if b[p] != 0xFF {
			t.Fatalf("no marker at %d", p)
		}
		m := b[p+1]
		l := int(binary.BigEndian.Uint16(b[p+2:]))
		out = append(out, segment{m, p, p + 2 + l})
		if m == mSOS {
			return out
		}
		p += 2 + l
	}
	t.Fatal("no SOS")
	return nil
}

// find returns the first segment with the marker.
func find(t testing.TB, b []byte, marker byte) segment {
	t.Helper()
	for _, s := range walkSegments(t, b) {
		if s.marker == marker {
			return s
		}
	}
	t.Fatalf("no FF%02X segment", marker)
	return segment{}
}

// keptSegments returns the APPn and COM segments before the first SOS, in order.
func keptSegments(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, s := range walkSegments(t, b) {
		if s.marker >= mAPP0 && s.marker <= mAPP15 || s.marker == mCOM {
			out = append(out, b[s.start:s.end])
		}
	}
	return out
}

func baseName(name string) string { return strings.TrimSuffix(filepath.Base(name), ".jpg") }

// roundTrip checks that Decode then Encode keeps every coefficient and, when image/jpeg can
// decode the input, every pixel.
func roundTrip(t *testing.T, in []byte) (*Image, []byte) {
	t.Helper()
	m := mustDecode(t, in)
	out := mustEncode(t, m)
	m2, err := Decode(bytes.NewReader(out), Limits{})
	if err != nil {
		t.Fatalf("Decode of the output: %v", err)
	}
	if err := sameCoefficients(m, m2); err != nil {
		t.Fatalf("coefficients after Encode: %v", err)
	}
	if err := sameKept(keptSegments(t, in), keptSegments(t, out)); err != nil {
		t.Fatalf("metadata segments: %v", err)
	}
	want, err := stdDecode(in)
	if err != nil {
		t.Logf("image/jpeg cannot decode the input (%v): pixels not compared", err)
		return m, out
	}
	got, err := stdDecode(out)
	if err != nil {
		t.Fatalf("image/jpeg cannot decode the output: %v", err)
	}
	if err := samePixels(want, got, image.Rectangle{}, false); err != nil {
		t.Fatalf("image/jpeg decodes the output differently: %v", err)
	}
	return m, out
}

func sameKept(a, b [][]byte) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d APPn/COM segments in, %d out", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return fmt.Errorf("segment %d (FF%02X) differs", i, a[i][1])
		}
	}
	return nil
}
