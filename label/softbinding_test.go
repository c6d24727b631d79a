package label_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats/jpeg/dct"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/softbinding/iscc"
	"github.com/ailabel/ailabel/watermark"
	"github.com/ailabel/ailabel/watermark/photos"
	"golang.org/x/image/draw"
)

// Issue 9 (first part): the ISCC Image-Code of the signed pixels goes into the manifest as a
// c2pa.soft-binding; verify finds it and checks it against the pixels; c2pa-rs and the rubric
// accept the manifest; and the code survives what strips metadata (a half-size re-encode).
func TestFingerprintSoftBinding(t *testing.T) {
	c := newCreds(t, "ailabel fingerprint", sign.KeyP256)
	l := newLabeler(t, c)
	pic := background("busy", 640, 480)
	for _, in := range []struct {
		ext  string
		data []byte
	}{{"png", encodePNG(t, pic)}, {"jpg", encodeJPEG(t, pic, 90)}} {
		var out bytes.Buffer
		res, err := l.Label(t.Context(), bytes.NewReader(in.data), int64(len(in.data)), &out, label.Options{Policy: mustPolicy(t, "eu")})
		if err != nil || !strings.HasPrefix(res.Fingerprint, "ISCC:") {
			t.Fatalf("%s: %v %+v", in.ext, err, res)
		}
		// Without CheckSoftBindings they are listed, not compared (the hard binding suffices).
		if r, err := verifyBytes(t, out.Bytes(), c.trust); err != nil || len(r.SoftBindings) != 2 || r.SoftBindings[0].Matches != nil || r.SoftBindings[1].Matches != nil {
			t.Fatalf("%s: verify without CheckSoftBindings: %v %+v", in.ext, err, r.SoftBindings)
		}
		r, err := label.Verify(t.Context(), bytes.NewReader(out.Bytes()), int64(out.Len()), label.VerifyOptions{Trust: c.trust, CheckSoftBindings: true})
		if err != nil || r.Verdict != label.Valid || len(r.SoftBindings) != 2 || res.Watermark == "" {
			t.Fatalf("%s: verify %v %+v", in.ext, err, r)
		}
		// The watermark first (it is added first, and the fingerprint is taken of the watermarked
		// pixels), then the fingerprint; both match the pixels.
		if sb := r.SoftBindings[0]; sb.Alg != watermark.Alg || sb.Value != res.Watermark || sb.Matches == nil || !*sb.Matches {
			t.Fatalf("%s: soft binding %+v, want the watermark %s found in the pixels", in.ext, sb, res.Watermark)
		}
		sb := r.SoftBindings[1]
		if sb.Alg != iscc.Alg || sb.Value != res.Fingerprint || sb.Matches == nil || !*sb.Matches {
			t.Fatalf("%s: soft binding %+v, want %s matching the pixels", in.ext, sb, res.Fingerprint)
		}
		path := writeTemp(t, "fp."+in.ext, out.Bytes())
		if v := testtool.C2PACheck(t, path); v.Exit != 0 || fmt.Sprint(v.SoftBindingAlgs) != fmt.Sprint([]string{watermark.Alg, iscc.Alg}) {
			t.Fatalf("%s: c2pa-rs: exit %d %v, soft bindings %v", in.ext, v.Exit, v.Failures, v.SoftBindingAlgs)
		}
		if code, outp := testtool.RubricCheck(t, path); code != 0 {
			t.Fatalf("%s: conformance rubric: exit %d\n%s", in.ext, code, outp)
		}

		// Stripped: decoded, halved, re-encoded as JPEG without any metadata.
		labeled := decode(t, out.Bytes())
		half := image.NewRGBA(image.Rect(0, 0, 320, 240))
		draw.CatmullRom.Scale(half, half.Bounds(), labeled, labeled.Bounds(), draw.Src, nil)
		stripped := encodeJPEG(t, half, 75)
		if r, _ := verifyBytes(t, stripped, nil); r.Verdict != label.NotLabeled {
			t.Fatalf("the stripped copy still has a label: %s", r.Verdict)
		}
		want, err := iscc.Parse(res.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		got, err := iscc.FromImage(decode(t, stripped), 256)
		if err != nil {
			t.Fatal(err)
		}
		d, err := iscc.Hamming(want, got)
		if err != nil || d > 32 {
			t.Errorf("%s: the stripped copy's fingerprint differs in %d of 256 bits (%v)", in.ext, d, err)
		}
		other, _ := iscc.FromImage(background("light", 640, 480), 256)
		if d, _ := iscc.Hamming(want, other); d <= 32 {
			t.Errorf("%s: an unrelated picture's fingerprint differs in only %d bits", in.ext, d)
		}
		t.Logf("%s: %s; stripped copy %d bits away", in.ext, res.Fingerprint, d)
	}
	// By default (kz) a picture gets the watermark and, with it, the fingerprint; with
	// NoWatermark and no policy asking for a fingerprint, no soft binding at all.
	in := encodePNG(t, pic)
	if r, _ := verifyBytes(t, labelBytes(t, l, in, label.Options{}), nil); len(r.SoftBindings) != 2 {
		t.Fatalf("default soft bindings %+v, want the watermark and the fingerprint", r.SoftBindings)
	}
	if r, _ := verifyBytes(t, labelBytes(t, l, in, label.Options{NoWatermark: true}), nil); len(r.SoftBindings) != 0 {
		t.Fatalf("unasked soft binding %+v", r.SoftBindings)
	}
}

// The fingerprint a one-pass JPEG edit records is made from the pixels of the coefficients it
// writes, not from a second decoding of the file: exactly the fingerprint of the labeled file
// decoded by our own decoder, and within a few bits of the one a verifier computes with
// image/jpeg, whose IDCT rounds differently (measured over 300 labels: 0 bits in 91 %, at most
// 4): no more than the 12 at which a fingerprint alone still recovers a manifest (verify
// accepts 32). Colour and grey JPEGs
// of several sizes and qualities, badged and watermarked (random identifiers).
func TestEditedFingerprintMatchesDecoder(t *testing.T) {
	c := newCreds(t, "Fingerprint", sign.KeyP256)
	l := newLabeler(t, c)
	for i, tc := range []struct {
		w, h, q int
		grey    bool
	}{{256, 256, 75, false}, {640, 480, 90, false}, {480, 640, 60, false}, {1024, 768, 95, false}, {512, 384, 85, true}} {
		var img image.Image = photos.Sized(tc.w, tc.h, i, 3)
		if tc.grey {
			g := image.NewGray(img.Bounds())
			draw.Draw(g, g.Bounds(), img, image.Point{}, draw.Src)
			img = g
		}
		in := encodeJPEG(t, img, tc.q)
		var out bytes.Buffer
		res, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), &out, label.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Watermark == "" || len(res.Visible) == 0 || !strings.Contains(res.Marked, "DCT domain") {
			t.Fatalf("%dx%d: not badged and watermarked in one pass: %+v", tc.w, tc.h, res)
		}
		recorded, err := iscc.Parse(res.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		distance := func(decoded image.Image) int {
			t.Helper()
			code, err := iscc.FromImage(decoded, 256)
			if err != nil {
				t.Fatal(err)
			}
			d, err := iscc.Hamming(recorded, code)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		m, err := dct.Decode(bytes.NewReader(out.Bytes()), dct.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		ours, err := m.Pixels(m.BlockAligned(m.Bounds()))
		if err != nil {
			t.Fatal(err)
		}
		ours = ours.(interface {
			SubImage(image.Rectangle) image.Image
		}).SubImage(m.Bounds())
		if d := distance(ours); d != 0 {
			t.Errorf("%dx%d: the recorded fingerprint is %d bits from the written pixels'", tc.w, tc.h, d)
		}
		decoded, _, err := image.Decode(bytes.NewReader(out.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		d := distance(decoded)
		t.Logf("%dx%d q%d grey=%v: %d of 256 bits from image/jpeg's pixels", tc.w, tc.h, tc.q, tc.grey, d)
		if d > 12 {
			t.Errorf("%dx%d: the recorded fingerprint is %d bits from image/jpeg's pixels'", tc.w, tc.h, d)
		}
	}
}
