package label_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
	"github.com/fxamacker/cbor/v2"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/veraison/go-cose"
)

type input struct {
	name, ext string
	data      []byte
}

// imageInputs are the image kinds issue 2 names: JPEG baseline and progressive, PNG with and
// without alpha, WebP lossy, lossless and extended with alpha.
func imageInputs(t *testing.T) []input {
	root := testtool.ModuleRoot(t)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(root, "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	opaque, alpha := photo(320, 240, false), photo(200, 150, true)
	baseline := encodeJPEG(t, opaque, 85)
	return []input{
		{"jpeg-imagemagick", "jpg", read("sample.jpg")},
		{"jpeg-baseline-no-app0", "jpg", baseline},
		{"jpeg-progressive", "jpg", progressiveJPEG(t, baseline)},
		{"png-imagemagick", "png", read("sample.png")},
		{"png-rgba", "png", encodePNG(t, alpha)},
		{"webp-lossy", "webp", read("sample.webp")},
		{"webp-lossless", "webp", cwebp(t, encodePNG(t, opaque), "-lossless")},
		{"webp-lossy-alpha", "webp", cwebp(t, encodePNG(t, alpha), "-q", "80", "-alpha_q", "100")},
	}
}

// Issue 2, done-when 1 and 2: every output is valid for c2pa-rs and for us, passes the C2PA
// conformance rubrics, carries the IPTC digital source type for exiftool, and decodes to the
// input's pixels.
func TestLabelImagesInterop(t *testing.T) {
	c := newCreds(t, "ailabel interop", sign.KeyP256)
	l := newLabeler(t, c)
	for _, in := range imageInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			res, err := l.Label(t.Context(), bytes.NewReader(in.data), int64(len(in.data)), &buf, label.Options{Title: in.name + "." + in.ext})
			if err != nil {
				t.Fatal(err)
			}
			out := buf.Bytes()
			path := writeTemp(t, "labeled."+in.ext, out)

			r, err := verifyBytes(t, out, nil)
			if err != nil || r.Verdict != label.Valid || !r.AIGenerated || r.Model != "test-diffusion-2" ||
				r.DigitalSourceType != manifest.SourceTrainedAlgorithmicMedia || r.Signer == nil || r.Signer.Trusted {
				t.Fatalf("ailabel verify: %v %+v", err, r)
			}
			if r, _ := verifyBytes(t, out, c.trust); r.State != manifest.StateTrusted {
				t.Fatalf("ailabel verify --trust: %s %v", r.State, r.Failures())
			}

			v := testtool.C2PACheck(t, path)
			if v.Exit != 0 || !reflect.DeepEqual(failureSet(v.Failures), []string{sign.CodeCredentialUntrusted}) ||
				v.DigitalSourceType != manifest.SourceTrainedAlgorithmicMedia {
				t.Fatalf("c2pa-rs: exit %d state %s failures %v dst %q error %q", v.Exit, v.State, v.Failures, v.DigitalSourceType, v.Error)
			}
			if v := testtool.C2PACheck(t, path, c.caPEM); v.Exit != 0 || v.State != "Trusted" {
				t.Fatalf("c2pa-rs --trust: exit %d state %s failures %v", v.Exit, v.State, v.Failures)
			}
			if code, outp := testtool.RubricCheck(t, path); code != 0 {
				t.Fatalf("conformance rubric (spec 2.4): exit %d\n%s", code, outp)
			}
			if code, outp := testtool.RubricCheck(t, path, "--rubric", "asset-integrity", "--trust", c.caPEM); code != 0 {
				t.Fatalf("integrity rubric: exit %d\n%s", code, outp)
			}

			got := strings.TrimSpace(testtool.Exiftool(t, "-s3", "-XMP-iptcExt:DigitalSourceType", path))
			if got != manifest.SourceTrainedAlgorithmicMedia {
				t.Fatalf("exiftool DigitalSourceType = %q", got)
			}
			if fmt.Sprint(v.SoftBindingAlgs) != fmt.Sprint(wantAlgs(res)) {
				t.Fatalf("c2pa-rs reads soft bindings %v, want %v", v.SoftBindingAlgs, wantAlgs(res))
			}
			// The default policy (kz) draws a caption band, and pictures of 256 px and more get
			// the invisible watermark. Without the watermark every pixel outside the band is the
			// input's; with it, the picture stays within 40 dB of that.
			before, after := decode(t, in.data), decode(t, out)
			if res.Drawn.Empty() || len(res.Visible) != 1 {
				t.Fatalf("no visible warning drawn: %+v", res)
			}
			bounds := before.Bounds()
			if big := min(bounds.Dx(), bounds.Dy()) >= 256; big != (res.Watermark != "") {
				t.Fatalf("%v picture: watermark %q (%v)", bounds.Size(), res.Watermark, res.Warnings)
			}
			var bres *label.Result
			var bbuf bytes.Buffer
			if bres, err = l.Label(t.Context(), bytes.NewReader(in.data), int64(len(in.data)), &bbuf, label.Options{NoWatermark: true}); err != nil {
				t.Fatal(err)
			}
			badged := decode(t, bbuf.Bytes())
			if bres.Watermark != "" || bres.Drawn != res.Drawn || !samePixelsOutside(before, badged, res.Drawn) {
				t.Fatalf("pixels outside the warning %v changed (%s)", res.Drawn, res.Visible)
			}
			if samePixels(before, badged) {
				t.Fatal("the warning left no mark on the pixels")
			}
			if res.Watermark != "" {
				if p := psnr(badged, after); p < 40 {
					t.Fatalf("the watermark costs %.1f dB PSNR, want ≥ 40", p)
				} else {
					t.Logf("watermark %s: PSNR %.1f dB (%s)", res.Watermark, p, res.Marked)
				}
			}

			// Without a visible warning and a watermark every pixel is the input's.
			plain := labelBytes(t, l, in.data, label.Options{NoNotice: true, NoWatermark: true})
			if !samePixels(before, decode(t, plain)) {
				t.Fatal("the labeled image does not decode to the input's pixels")
			}
			if v := testtool.C2PACheck(t, writeTemp(t, "plain."+in.ext, plain)); v.Exit != 0 {
				t.Fatalf("c2pa-rs on the output without a visible warning: exit %d %v", v.Exit, v.Failures)
			}
		})
	}
}

// An input that already carries C2PA keeps its history: the new manifest names the old one as
// its parentOf ingredient, and both c2pa-rs and ailabel accept the chain.
func TestRelabelKeepsHistory(t *testing.T) {
	shared := testtool.SharedDir(t)
	c := newCreds(t, "ailabel relabel", sign.KeyP256)
	l := newLabeler(t, c)
	for _, name := range []string{"c2pa-rs-signed.jpg", "c2pa-rs-signed.png", "c2pa-rs-signed.webp"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in, err := os.ReadFile(filepath.Join(shared, "testdata", "c2pa-reference", name))
			if err != nil {
				t.Fatal(err)
			}
			out := labelBytes(t, l, in, label.Options{})
			out2 := labelBytes(t, l, out, label.Options{}) // and once more: a chain of three
			for i, b := range [][]byte{out, out2} {
				r, err := verifyBytes(t, b, nil)
				if err != nil || r.Verdict != label.Valid || len(r.Manifests) != i+2 {
					t.Fatalf("generation %d: %v %+v", i+1, err, r)
				}
				active := r.Manifests[len(r.Manifests)-1]
				if len(active.Ingredients) != 1 || active.Ingredients[0].Relationship != "parentOf" || !active.Ingredients[0].Validated {
					t.Fatalf("generation %d: ingredients %+v", i+1, active.Ingredients)
				}
				path := writeTemp(t, "relabeled-"+name, b)
				if v := testtool.C2PACheck(t, path); v.Exit != 0 {
					t.Fatalf("c2pa-rs on generation %d: exit %d failures %v error %q", i+1, v.Exit, v.Failures, v.Error)
				}
				if code, outp := testtool.RubricCheck(t, path); code != 0 {
					t.Fatalf("conformance rubric on generation %d: exit %d\n%s", i+1, code, outp)
				}
			}
		})
	}
}

// Issue 2, done-when 3: a tamper matrix judged the same by ailabel and c2pa-rs.
func TestTamperMatrixAgreesWithC2PARS(t *testing.T) {
	a := newCreds(t, "ailabel tamper A", sign.KeyP256)
	b := newCreds(t, "ailabel tamper B", sign.KeyP256)
	la := newLabeler(t, a)
	inputs := imageInputs(t)
	pick := map[string]input{}
	for _, in := range inputs {
		if _, ok := pick[in.ext]; !ok {
			pick[in.ext] = in
		}
	}
	other := photo(64, 48, false) // the image a manifest is copied from
	for ext, in := range pick {
		t.Run(ext, func(t *testing.T) {
			t.Parallel()
			out := labelBytes(t, la, in.data, label.Options{})
			r, _ := verifyBytes(t, out, nil)
			start, length := dataHashRange(t, out)

			cases := map[string][]byte{}
			// One byte of image data flipped (well after the manifest, inside the media).
			flipped := append([]byte(nil), out...)
			media := mediaOffset(t, ext, out)
			flipped[media] ^= 0x55
			cases["media-byte-flipped"] = flipped
			// One byte of the actions assertion changed.
			cases["assertion-byte-changed"] = bytes.Replace(out, []byte("trainedAlgorithmicMedia"), []byte("trainedAlgorithmicMediA"), 1)
			// Signature made by another key, with the first signer's certificate.
			cases["signature-from-another-key"] = resign(t, out, r, b)
			// Manifest copied from another labeled image.
			var otherIn []byte
			switch ext {
			case "jpg":
				otherIn = encodeJPEG(t, other, 80)
			case "png":
				otherIn = encodePNG(t, other)
			case "webp":
				otherIn = cwebp(t, encodePNG(t, other), "-q", "70")
			}
			cases["manifest-copied-from-another-image"] = transplant(t, otherIn, storeOf(t, out))
			// Manifest stripped.
			cases["manifest-stripped"] = strip(t, ext, out, start, length)
			// Truncated file (cut inside the media data).
			cases["truncated"] = out[:media]

			want := map[string]int{"media-byte-flipped": 1, "assertion-byte-changed": 1, "signature-from-another-key": 1,
				"manifest-copied-from-another-image": 1, "manifest-stripped": 3, "truncated": 1}
			for name, data := range cases {
				path := writeTemp(t, name+"."+ext, data)
				ours, err := verifyBytes(t, data, nil)
				ourExit := exitOf(ours, err)
				ref := testtool.C2PACheck(t, path)
				if ourExit != ref.Exit || ourExit != want[name] {
					t.Errorf("%s: ailabel exit %d (%v), c2pa-rs exit %d (%v %s), want %d", name, ourExit, err, ref.Exit, ref.Failures, ref.Error, want[name])
					continue
				}
				if ours != nil && ours.Verdict == label.Invalid && ref.State != "" {
					if o, c := failureSet(ours.Failures()), failureSet(ref.Failures); !reflect.DeepEqual(o, c) {
						t.Errorf("%s: ailabel failures %v, c2pa-rs %v", name, o, c)
					}
				}
				if ours != nil && len(ours.Reasons) == 0 && ours.Verdict == label.Invalid {
					t.Errorf("%s: invalid without a reason in words", name)
				}
			}
		})
	}
}

// dataHashRange returns the exclusion of the active manifest's data hash.
func dataHashRange(t *testing.T, out []byte) (int, int) {
	r, err := verifyBytes(t, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := r.Store.Active().Assertion(manifest.LabelDataHash)
	if a == nil {
		t.Fatal("no data hash")
	}
	var dh manifest.DataHash
	if err := cborUnmarshal(a.Content, &dh); err != nil {
		t.Fatal(err)
	}
	return int(dh.Exclusions[0].Start), int(dh.Exclusions[0].Length)
}

// mediaOffset picks a byte in the middle of the compressed image data: the JPEG scan, the PNG
// IDAT, the WebP VP8/VP8L chunk.
func mediaOffset(t *testing.T, ext string, out []byte) int {
	var start, end int
	switch ext {
	case "jpg":
		start, end = bytes.LastIndex(out, []byte{0xff, 0xda}), len(out)-2
	case "png":
		start = bytes.Index(out, []byte("IDAT")) + 4
		end = start + int(binary.BigEndian.Uint32(out[start-8:]))
	case "webp":
		i := bytes.Index(out, []byte("VP8 "))
		if i < 0 {
			i = bytes.Index(out, []byte("VP8L"))
		}
		start = i + 8
		end = start + int(binary.LittleEndian.Uint32(out[start-4:]))
	}
	if start < 8 || end <= start+16 || end > len(out) {
		t.Fatalf("no image data found in the %s output", ext)
	}
	return start + (end-start)/2
}

func storeOf(t *testing.T, out []byte) []byte {
	r, err := verifyBytes(t, out, nil)
	if err != nil || r.Store == nil {
		t.Fatalf("no store: %v", err)
	}
	return r.Store.Raw
}

// transplant embeds an existing store into another image with the container's own layout.
func transplant(t *testing.T, img, store []byte) []byte {
	c, err := formats.Open(bytes.NewReader(img), int64(len(img)))
	if err != nil {
		t.Fatal(err)
	}
	lay, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: len(store)})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := lay.WriteTo(&b, bytes.NewReader(img), store); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// strip removes the manifest's framing (the data hash's exclusion); for WebP the RIFF size and
// the chunk's pad byte are fixed up too.
func strip(t *testing.T, ext string, out []byte, start, length int) []byte {
	end := start + length
	if ext == "webp" && length%2 == 1 && end < len(out) {
		end++ // the pad byte after an odd-sized chunk
	}
	s := append(append([]byte(nil), out[:start]...), out[end:]...)
	if ext == "webp" {
		binary.LittleEndian.PutUint32(s[4:], uint32(len(s)-8))
	}
	return s
}

// resign replaces the COSE signature with one made by b's key while keeping the label's
// certificate chain, padded to the same length so it can be patched in place.
func resign(t *testing.T, out []byte, r *label.Report, b *creds) []byte {
	active := r.Store.Active()
	old := active.Signature
	keyPEM, err := os.ReadFile(filepath.Join(b.dir, "signer.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(keyPEM, cryptoutils.SkipPassword)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := cose.NewSigner(cose.AlgorithmES256, key.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	// a's x5chain exactly as the label embeds it (the signer leaves a self-signed root out).
	var orig cose.Sign1Message
	if err := orig.UnmarshalCBOR(old); err != nil {
		t.Fatal(err)
	}
	chain, ok := orig.Headers.Protected[cose.HeaderLabelX5Chain]
	if !ok {
		t.Fatal("the label's signature has no x5chain")
	}
	build := func(pad int) []byte {
		msg := cose.NewSign1Message()
		msg.Headers.Protected.SetAlgorithm(cose.AlgorithmES256)
		msg.Headers.Protected[cose.HeaderLabelX5Chain] = chain
		msg.Headers.Unprotected["pad"] = make([]byte, pad)
		msg.Payload = active.ClaimRaw
		if err := msg.Sign(rand.Reader, nil, cs); err != nil {
			t.Fatal(err)
		}
		msg.Payload = nil
		enc, err := msg.MarshalCBOR()
		if err != nil {
			t.Fatal(err)
		}
		return enc
	}
	// The same header and a signature of the same length: only the pad can differ. A pad of p
	// bytes adds p plus its CBOR header's growth (1, 2, 3 or 5 bytes) to an empty pad's length.
	need := len(old) - len(build(0))
	var sig []byte
	for p := need; p >= 0 && p >= need-4 && len(sig) != len(old); p-- {
		sig = build(p)
	}
	if len(sig) != len(old) {
		t.Fatalf("re-signed COSE is %d bytes, want %d", len(sig), len(old))
	}
	i := bytes.Index(out, old)
	if i < 0 {
		t.Fatal("signature not found contiguously in the file")
	}
	res := append([]byte(nil), out...)
	copy(res[i:], sig)
	return res
}

func cborUnmarshal(b []byte, v any) error { return cbor.Unmarshal(b, v) }

// Every signing algorithm ailabel offers is accepted by c2pa-rs.
func TestSignatureAlgorithmsInterop(t *testing.T) {
	in, err := os.ReadFile(filepath.Join(testtool.ModuleRoot(t), "testdata", "sample.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	for _, kt := range []sign.KeyType{sign.KeyP384, sign.KeyEd25519, sign.KeyRSA3072} {
		t.Run(string(kt), func(t *testing.T) {
			t.Parallel()
			c := newCreds(t, "ailabel "+string(kt), kt)
			out := labelBytes(t, newLabeler(t, c), in, label.Options{})
			if r, err := verifyBytes(t, out, c.trust); err != nil || r.State != manifest.StateTrusted {
				t.Fatalf("ailabel: %v %+v", err, r)
			}
			path := writeTemp(t, "alg.jpg", out)
			if v := testtool.C2PACheck(t, path, c.caPEM); v.Exit != 0 || v.State != "Trusted" {
				t.Fatalf("c2pa-rs with %s: exit %d state %s failures %v error %q", c.signer.Algorithm(), v.Exit, v.State, v.Failures, v.Error)
			}
		})
	}
}

// LabelFile writes a file in one pass (placeholder, then the store patched in place); its output
// verifies like the streamed one, for a data hash and for a BMFF hash.
func TestLabelFileOnePass(t *testing.T) {
	c := newCreds(t, "ailabel one pass", sign.KeyP256)
	l := newLabeler(t, c)
	root := testtool.ModuleRoot(t)
	for _, name := range []string{"sample.jpg", "sample.png", "sample.webp"} {
		in := filepath.Join(root, "testdata", name)
		out := filepath.Join(t.TempDir(), name)
		if _, err := l.LabelFile(t.Context(), in, out, label.Options{}); err != nil {
			t.Fatal(err)
		}
		if r, err := label.VerifyFile(t.Context(), out, label.VerifyOptions{Trust: c.trust}); err != nil || r.State != manifest.StateTrusted {
			t.Fatalf("%s: %v %+v", name, err, r)
		}
	}
	mp4 := writeTemp(t, "in.mp4", makeVideo(t, "x.mp4"))
	out := filepath.Join(t.TempDir(), "out.mp4")
	if _, err := l.LabelFile(t.Context(), mp4, out, label.Options{}); err != nil {
		t.Fatal(err)
	}
	if r, err := label.VerifyFile(t.Context(), out, label.VerifyOptions{Trust: c.trust}); err != nil || r.State != manifest.StateTrusted {
		t.Fatalf("mp4: %v %+v", err, r)
	}
	if v := testtool.C2PACheck(t, out); v.Exit != 0 {
		t.Fatalf("c2pa-rs on the one-pass MP4: exit %d %v", v.Exit, v.Failures)
	}
}

// Outputs of 4 MiB and more are hashed in a goroutine of its own while they are written; a large
// noisy MP4 (BMFF hash: the store slot is hashed too) and a large PNG (data hash), with and
// without the fsync, come out valid for both verifiers.
func TestLabelFileLargePipelined(t *testing.T) {
	c := newCreds(t, "ailabel pipelined", sign.KeyP256)
	l := newLabeler(t, c)
	mp4 := writeTemp(t, "big.mp4", makeVideo(t, "big.mp4", "-vf", "scale=640:480,noise=alls=80:allf=t", "-qp", "0"))
	img := image.NewNRGBA(image.Rect(0, 0, 1400, 1400))
	if _, err := rand.Read(img.Pix); err != nil {
		t.Fatal(err)
	}
	var pb bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&pb, img); err != nil {
		t.Fatal(err)
	}
	pngPath := writeTemp(t, "big.png", pb.Bytes())
	for _, in := range []string{mp4, pngPath} {
		if st, err := os.Stat(in); err != nil || st.Size() < 4<<20 {
			t.Fatalf("%s: want an input of at least 4 MiB: %v", in, err)
		}
		for _, noSync := range []bool{false, true} {
			out := filepath.Join(t.TempDir(), "out"+filepath.Ext(in))
			if _, err := l.LabelFile(t.Context(), in, out, label.Options{NoSync: noSync}); err != nil {
				t.Fatal(err)
			}
			if r, err := label.VerifyFile(t.Context(), out, label.VerifyOptions{Trust: c.trust}); err != nil || r.State != manifest.StateTrusted {
				t.Fatalf("%s (no sync %v): %v %+v", in, noSync, err, r)
			}
			if v := testtool.C2PACheck(t, out); v.Exit != 0 {
				t.Fatalf("c2pa-rs on %s (no sync %v): exit %d %v", out, noSync, v.Exit, v.Failures)
			}
		}
	}
}

// Label into a caller's *os.File opened for appending (stdout redirected with >>): the two-pass
// path is used, since such a file cannot be patched in place.
func TestLabelIntoAppendModeFile(t *testing.T) {
	l := newLabeler(t, newCreds(t, "append", sign.KeyP256))
	in, err := os.ReadFile(filepath.Join(testtool.ModuleRoot(t), "testdata", "sample.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "out.jpg")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Label(t.Context(), bytes.NewReader(in), int64(len(in)), f, label.Options{}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if r, err := label.VerifyFile(t.Context(), path, label.VerifyOptions{}); err != nil || r.Verdict != label.Valid {
		t.Fatalf("%v %+v", err, r)
	}
}

// wantAlgs lists the soft-binding algorithms a labeled picture's manifest carries.
func wantAlgs(res *label.Result) []string {
	var out []string
	for _, b := range res.Bindings {
		out = append(out, b.Alg)
	}
	return out
}
