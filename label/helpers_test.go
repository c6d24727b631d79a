package label_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"

	_ "github.com/ailabel/ailabel/formats/all"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
	_ "golang.org/x/image/webp"
)

// creds is a test CA and signer written to a folder.
type creds struct {
	dir    string
	signer *sign.Signer
	trust  *sign.TrustStore
	caPEM  string // path of the CA certificate, for --trust
}

func newCreds(t testing.TB, org string, kt sign.KeyType) *creds {
	t.Helper()
	cr, err := sign.Generate(org, kt, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := sign.LoadFiles(filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ts, err := sign.LoadTrustFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return &creds{dir: dir, signer: s, trust: ts, caPEM: filepath.Join(dir, "ca.pem")}
}

func newLabeler(t testing.TB, c *creds) *label.Labeler {
	t.Helper()
	l, err := label.New(c.signer, label.Options{Model: "test-diffusion-2", ModelVersion: "2.1"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func labelBytes(t testing.TB, l *label.Labeler, in []byte, o label.Options) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), &out, o); err != nil {
		t.Fatalf("label: %v", err)
	}
	return out.Bytes()
}

func verifyBytes(t testing.TB, b []byte, trust *sign.TrustStore) (*label.Report, error) {
	t.Helper()
	return label.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), label.VerifyOptions{Trust: trust})
}

// exitOf maps a report to the CLI's (and c2pa-check's) exit code.
func exitOf(r *label.Report, err error) int {
	switch {
	case err != nil:
		if errors.Is(err, label.ErrUnsupported) {
			return 2
		}
		return 1
	case r.Verdict == label.Valid:
		return 0
	case r.Verdict == label.Invalid:
		return 1
	}
	return 3
}

func failureSet(codes []string) []string {
	m := map[string]bool{}
	for _, c := range codes {
		m[c] = true
	}
	out := make([]string, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

func writeTemp(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// photo draws a photo-like test image: gradients, shapes and fine texture.
func photo(w, h int, alpha bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	seed := uint32(12345)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			seed = seed*1664525 + 1013904223
			n := uint8(seed >> 28)
			r := uint8((x*255)/w) ^ n
			g := uint8((y*255)/h) + n
			b := uint8(((x+y)*128)/(w+h)) + uint8((x/16+y/16)%2*60)
			a := uint8(255)
			if alpha {
				a = uint8(128 + (x*127)/w)
			}
			img.SetNRGBA(x, y, color.NRGBA{r, g, b, a})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encodePicture encodes img as a JPEG at quality 90, a PNG, or a lossless WebP.
func encodePicture(t testing.TB, format string, img image.Image) []byte {
	t.Helper()
	switch format {
	case "jpeg":
		return encodeJPEG(t, img, 90)
	case "png":
		return encodePNG(t, img)
	case "webp":
		return cwebp(t, encodePNG(t, img), "-lossless")
	}
	t.Fatalf("encodePicture: no format %q", format)
	return nil
}

// run runs a command and returns its output, failing the test on error.
func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// cwebp converts a PNG to WebP with the given cwebp flags.
func cwebp(t testing.TB, pngBytes []byte, flags ...string) []byte {
	t.Helper()
	tool := testtool.Require(t, "cwebp")
	in := writeTemp(t, "in.png", pngBytes)
	out := filepath.Join(filepath.Dir(in), "out.webp")
	run(t, tool, append(append([]string{"-quiet"}, flags...), in, "-o", out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// progressiveJPEG re-encodes a JPEG as progressive with ImageMagick.
func progressiveJPEG(t testing.TB, jpg []byte) []byte {
	t.Helper()
	tool := testtool.Require(t, "convert")
	if _, err := os.Stat("/usr/bin/convert"); err == nil {
		tool = "/usr/bin/convert"
	}
	in := writeTemp(t, "in.jpg", jpg)
	out := filepath.Join(filepath.Dir(in), "prog.jpg")
	run(t, tool, in, "-interlace", "JPEG", out)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte{0xff, 0xc2}) {
		t.Fatalf("%s did not make a progressive JPEG", tool)
	}
	return b
}

func decode(t testing.TB, b []byte) image.Image {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(xwebpCompatible(b)))
	if err != nil {
		t.Fatalf("decoding: %v", err)
	}
	return img
}

// samePixels compares two images pixel by pixel in 16-bit RGBA.
// xwebpCompatible returns a WebP with a VP8L picture with its VP8X alpha flag cleared:
// golang.org/x/image/webp refuses the flag on VP8L pictures (golang/go#60437), though the WebP
// container specification asks for it when the picture has transparency. Other bytes are
// returned as they are.
func xwebpCompatible(b []byte) []byte {
	if len(b) < 30 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WEBPVP8X" || b[20]&0x10 == 0 {
		return b
	}
	for off := 12; off+8 <= len(b); {
		id, n := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		switch id {
		case "VP8L":
			c := append([]byte(nil), b...)
			c[20] &^= 0x10
			return c
		case "VP8 ", "ALPH", "ANIM":
			return b
		}
		off += 8 + n + n&1
	}
	return b
}

// nrgba8 is the pixel at x, y in 8-bit non-premultiplied RGBA: Y'CbCr converted directly (as a
// decoder writing NRGBA does), not through premultiplied 16-bit colour.
func nrgba8(img image.Image, x, y int) color.Color {
	switch m := img.(type) {
	case *image.NYCbCrA:
		c := m.NYCbCrAAt(x, y)
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return color.NRGBA{r, g, b, c.A}
	case *image.YCbCr:
		c := m.YCbCrAt(x, y)
		r, g, b := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
		return color.NRGBA{r, g, b, 255}
	}
	return color.NRGBAModel.Convert(img.At(x, y))
}

// samePixelsOutside reports whether a and b have the same bounds and the same pixels outside r.
// Images of different kinds (a lossy WebP decoded to YCbCr, its lossless rewrite to NRGBA) are
// compared in 8-bit NRGBA, the precision both were decoded to.
func samePixelsOutside(a, b image.Image, r image.Rectangle) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	eightBit := reflect.TypeOf(a) != reflect.TypeOf(b)
	bb := a.Bounds()
	for y := bb.Min.Y; y < bb.Max.Y; y++ {
		for x := bb.Min.X; x < bb.Max.X; x++ {
			if (image.Point{x, y}).In(r) {
				continue
			}
			ca, cb := a.At(x, y), b.At(x, y)
			if eightBit {
				ca, cb = nrgba8(a, x, y), nrgba8(b, x, y)
			}
			r1, g1, b1, a1 := ca.RGBA()
			r2, g2, b2, a2 := cb.RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				return false
			}
		}
	}
	return true
}

// psnr is the peak signal-to-noise ratio of b against a over R, G and B, in dB (+Inf when equal).
func psnr(a, b image.Image) float64 {
	var se float64
	var n int
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			for _, d := range []float64{float64(r1) - float64(r2), float64(g1) - float64(g2), float64(b1) - float64(b2)} {
				se += (d / 257) * (d / 257)
				n++
			}
		}
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(n)))
}
