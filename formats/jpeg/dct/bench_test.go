package dct

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"io"
	"math/rand/v2"
	"testing"
)

// photoJPEG makes a photo-like w x h 4:2:0 JPEG with image/jpeg at quality 90: smooth gradients
// and shapes with sensor-like noise, which codes to about as many bits as a camera picture.
func photoJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := 40 + 150*x/w + 40*y/h
			if dx, dy := x-w/3, y-h/2; dx*dx+dy*dy < (h/4)*(h/4) {
				v -= 30 // a darker disc
			}
			v += int(rng.NormFloat64() * 6)
			img.Y[y*img.YStride+x] = uint8(min(max(v, 0), 255))
		}
	}
	for y := 0; y < (h+1)/2; y++ {
		for x := 0; x < (w+1)/2; x++ {
			i := y*img.CStride + x
			img.Cb[i] = uint8(min(max(100+60*x/w+int(rng.NormFloat64()*2), 0), 255))
			img.Cr[i] = uint8(min(max(150-50*y/h+int(rng.NormFloat64()*2), 0), 255))
		}
	}
	return goJPEG(tb, img, 90)
}

// badgePipeline is what ailabel does to a JPEG: decode the coefficients, decode the MCUs under
// the badge, draw it, put those MCUs back and write the file.
func badgePipeline(in []byte, rect image.Rectangle, w io.Writer) error {
	m, err := Decode(bytes.NewReader(in), Limits{})
	if err != nil {
		return err
	}
	r := m.BlockAligned(rect)
	px, err := m.Pixels(r)
	if err != nil {
		return err
	}
	canvas := image.NewRGBA(r)
	draw.Draw(canvas, r, px, r.Min, draw.Src)
	draw.Draw(canvas, rect, image.NewUniform(color.White), image.Point{}, draw.Src)
	if err := m.Replace(r, canvas); err != nil {
		return err
	}
	return m.Encode(w)
}

// badgeRect is a 600x200 badge near the bottom-right corner of a 4000x3000 picture, not aligned
// to MCUs.
var badgeRect = image.Rect(3350, 2750, 3950, 2950)

// BenchmarkBadge12MP: Decode + Pixels + Replace of a 600x200 region + Encode of a 12-megapixel
// JPEG.
func BenchmarkBadge12MP(b *testing.B) {
	in := photoJPEG(b, 4000, 3000)
	for b.Loop() {
		if err := badgePipeline(in, badgeRect, io.Discard); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in)), "input-bytes")
}

// BenchmarkDecode12MP and BenchmarkEncode12MP split the pipeline's cost.
func BenchmarkDecode12MP(b *testing.B) {
	in := photoJPEG(b, 4000, 3000)
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(in), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncode12MP(b *testing.B) {
	m := mustDecode(b, photoJPEG(b, 4000, 3000))
	for b.Loop() {
		if err := m.Encode(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBadgePipeline runs the benchmark's pipeline on a smaller picture and checks its result, so
// the benchmark measures working code.
func TestBadgePipeline(t *testing.T) {
	in := photoJPEG(t, 800, 600)
	rect := image.Rect(150, 350, 750, 550)
	var out bytes.Buffer
	if err := badgePipeline(in, rect, &out); err != nil {
		t.Fatal(err)
	}
	orig, err := stdDecode(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := stdDecode(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m := mustDecode(t, in)
	if err := samePixels(orig, got, m.BlockAligned(rect), true); err != nil {
		t.Fatal(err)
	}
	if l := meanLuma(got, rect); l < 240 {
		t.Fatalf("badge mean luma %.1f", l)
	}
	// Optimised tables: the output is not much larger than image/jpeg's own (standard tables).
	if out.Len() > len(in)*105/100 {
		t.Fatalf("output %d bytes, input %d", out.Len(), len(in))
	}
}

// worstProgressive builds a progressive grey JPEG of w x h whose DC scan codes every block in one
// bit and whose other scans are AC refinement scans made of end-of-band runs only: the most
// block visits per input byte.
func worstProgressive(w, h, scans int) []byte {
	b := []byte{0xFF, mSOI}
	q := []byte{0xFF, mDQT, 0, 67, 0}
	for i := 0; i < 64; i++ {
		q = append(q, 1)
	}
	b = append(b, q...)
	b = append(b, 0xFF, mSOF2, 0, 11, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 1, 1, 0x11, 0)
	// DC table: one 1-bit code for category 0. AC table: one 1-bit code for EOB14 (0xE0).
	dht := []byte{0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00,
		0x10, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xE0}
	b = append(b, 0xFF, mDHT, 0, byte(len(dht)+2))
	b = append(b, dht...)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	b = append(b, 0xFF, mSOS, 0, 8, 1, 1, 0x00, 0, 0, 0x00) // DC first, Al 0
	b = append(b, make([]byte, (blocks+7)/8)...)            // all zero bits: category 0
	for i := 1; i < scans; i++ {
		b = append(b, 0xFF, mSOS, 0, 8, 1, 1, 0x00, 1, 63, 0x10) // AC refine 1..63, Ah 1 Al 0
		// Each EOB14 symbol with 14 zero bits covers 16384 blocks: 15 zero bits.
		n := (blocks + 16383) / 16384
		b = append(b, make([]byte, (n*15+7)/8)...)
	}
	return append(b, 0xFF, mEOI)
}

// BenchmarkWorstCaseProgressive decodes the hostile file with the most block visits per input
// byte that the limits allow: a 67-megapixel progressive grey frame coded in about 150 KB, with
// MaxScans scans.
func BenchmarkWorstCaseProgressive(b *testing.B) {
	in := worstProgressive(8192, 8192, MaxScans)
	for b.Loop() {
		if _, err := Decode(bytes.NewReader(in), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(in)), "input-bytes")
}
