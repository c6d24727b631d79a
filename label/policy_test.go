package label_test

import (
	"bytes"
	"errors"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats/xmp"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/sign"
)

const providerCode = "001191110102MAD55U9H0F10002"

func mustPolicy(t testing.TB, name string) *policy.Policy {
	t.Helper()
	p, err := policy.ByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// textRows returns the height of the tallest run of rows inside r that hold near-white pixels:
// the visible warning's text is white on a dark plate, so inside the plate only text is white.
func textRows(img image.Image, r image.Rectangle) int {
	best, run := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		found := false
		for x := r.Min.X; x < r.Max.X && !found; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			found = cr > 0xD000 && cg > 0xD000 && cb > 0xD000
		}
		if found {
			run++
			best = max(best, run)
		} else {
			run = 0
		}
	}
	return best
}

// Issue 5, done-when 3 and 4: under cn every image carries the AIGC JSON that exiftool reads
// in XMP (and EXIF where the format has it), a badge whose text is at least 5 % of the
// shortest side, and stays valid for c2pa-rs and the conformance rubric.
func TestPolicyCNImages(t *testing.T) {
	c := newCreds(t, "ailabel cn", sign.KeyP256)
	l := newLabeler(t, c)
	for _, in := range imageInputs(t) {
		if in.name != "jpeg-imagemagick" && in.name != "png-imagemagick" && in.name != "webp-lossless" && in.name != "png-rgba" {
			continue
		}
		t.Run(in.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			res, err := l.Label(t.Context(), bytes.NewReader(in.data), int64(len(in.data)), &buf,
				label.Options{Policy: mustPolicy(t, "cn"), Provider: providerCode, NoWatermark: true}) // the badge alone (the watermark: TestLabelImagesInterop)
			if err != nil {
				t.Fatal(err)
			}
			out := buf.Bytes()
			path := writeTemp(t, "cn."+in.ext, out)
			r, err := verifyBytes(t, out, c.trust)
			if err != nil || r.Verdict != label.Valid || r.AIGC == nil || r.AIGC.Label != "1" || r.AIGC.ContentProducer != providerCode ||
				!slices.Contains(r.LabelKinds, "aigc") {
				t.Fatalf("verify: %v %+v aigc %+v", err, r, r.AIGC)
			}
			if !strings.HasPrefix(r.AIGC.ProduceID, strings.TrimPrefix(res.InstanceID, "xmp.iid:")) {
				t.Errorf("ProduceID %q is not the instance ID %s", r.AIGC.ProduceID, res.InstanceID)
			}
			got := testtool.Exiftool(t, "-s3", "-XMP-TC260:AIGC", path)
			if !strings.Contains(got, `"Label":"1"`) || !strings.Contains(got, providerCode) {
				t.Errorf("exiftool XMP-TC260:AIGC = %q", got)
			}
			if in.ext == "jpg" {
				if uc := testtool.Exiftool(t, "-s3", "-UserComment", path); !strings.Contains(uc, `{"AIGC":{"Label":"1"`) {
					t.Errorf("exiftool EXIF UserComment = %q", uc)
				}
			}
			if v := testtool.C2PACheck(t, path); v.Exit != 0 {
				t.Fatalf("c2pa-rs: exit %d %v", v.Exit, v.Failures)
			}
			if code, outp := testtool.RubricCheck(t, path); code != 0 {
				t.Fatalf("conformance rubric: exit %d\n%s", code, outp)
			}
			img := decode(t, out)
			if res.Drawn.Empty() {
				t.Fatalf("no badge drawn: %+v", res)
			}
			short := min(img.Bounds().Dx(), img.Bounds().Dy())
			if h := textRows(img, res.Drawn); float64(h) < 0.05*float64(short) {
				t.Errorf("badge text %d px high, under 5%% of the shortest side %d", h, short)
			}
			if !samePixelsOutside(decode(t, in.data), img, res.Drawn) {
				t.Error("pixels outside the badge changed")
			}
		})
	}
}

// Issue 5, done-when 3: under cn the video carries the AIGC label in moov/udta/meta (ffprobe
// shows it) and a Chinese caption of at least 2 s from the start; under kz the captions are
// Kazakh, Russian and English, and text disclaimers come in that order.
func TestPolicyVideoAndText(t *testing.T) {
	c := newCreds(t, "ailabel policies", sign.KeyP256)
	l := newLabeler(t, c)
	in := writeTemp(t, "in.mp4", makeVideo(t, "in.mp4"))

	out := filepath.Join(t.TempDir(), "cn.mp4")
	if _, err := l.LabelFile(t.Context(), in, out, label.Options{Policy: mustPolicy(t, "cn"), Provider: providerCode}); err != nil {
		t.Fatal(err)
	}
	p := ffprobe(t, out)
	if aigc := p.Format.Tags["AIGC"]; !strings.Contains(aigc, `"ContentProducer":"`+providerCode+`"`) {
		t.Errorf("ffprobe AIGC tag = %q (tags %v)", aigc, p.Format.Tags)
	}
	var langs []string
	for _, st := range p.Streams {
		if st.CodecType == "subtitle" {
			langs = append(langs, st.Tags["language"])
		}
	}
	if !slices.Equal(langs, []string{"zho"}) {
		t.Errorf("cn caption tracks %v, want zho", langs)
	}
	start, end, text := testtool.FirstCue(t, out, "0:s:0")
	if start != 0 || end-start < 2*time.Second || !strings.Contains(text, "人工智能") || !strings.Contains(text, "生成") {
		t.Errorf("cn caption %q from %v s to %v s: want 人工智能…生成 for at least 2 s from the start", text, start, end)
	}
	r, err := label.VerifyFile(t.Context(), out, label.VerifyOptions{Trust: c.trust})
	if err != nil || r.Verdict != label.Valid || r.AIGC == nil || r.AIGC.ContentProducer != providerCode {
		t.Fatalf("verify: %v %+v", err, r)
	}
	if v := testtool.C2PACheck(t, out); v.Exit != 0 {
		t.Fatalf("c2pa-rs: exit %d %v", v.Exit, v.Failures)
	}

	kz := filepath.Join(t.TempDir(), "kz.mp4")
	if _, err := l.LabelFile(t.Context(), in, kz, label.Options{}); err != nil {
		t.Fatal(err)
	}
	langs = nil
	for _, st := range ffprobe(t, kz).Streams {
		if st.CodecType == "subtitle" {
			langs = append(langs, st.Tags["language"])
		}
	}
	if !slices.Equal(langs, []string{"kaz", "rus", "eng"}) {
		t.Errorf("kz caption tracks %v", langs)
	}

	txt := labelBytes(t, l, []byte("Hello.\n"), label.Options{})
	rep, err := verifyBytes(t, txt, nil)
	if err != nil || len(rep.Notices) != 3 || rep.Notices[0].Lang != "kk" || rep.Notices[1].Lang != "ru" ||
		!strings.Contains(rep.Notices[0].Text, "Жасанды интеллект") {
		t.Fatalf("kz text notices: %v %+v", err, rep.Notices)
	}
	txt = labelBytes(t, l, []byte("你好。\n"), label.Options{Policy: mustPolicy(t, "cn")})
	if rep, _ := verifyBytes(t, txt, nil); len(rep.Notices) != 1 || rep.Notices[0].Text != "本内容由人工智能生成" {
		t.Fatalf("cn text notices %+v", rep.Notices)
	}
	txt = labelBytes(t, l, []byte("Hi.\n"), label.Options{Languages: []string{"en", "kk"}})
	if rep, _ := verifyBytes(t, txt, nil); len(rep.Notices) != 2 || rep.Notices[0].Lang != "en" || rep.Notices[1].Lang != "kk" {
		t.Fatalf("languages en,kk: notices %+v", rep.Notices)
	}
	if _, err := l.Label(t.Context(), bytes.NewReader([]byte("x")), 1, &bytes.Buffer{}, label.Options{Languages: []string{"tlh"}}); err == nil {
		t.Error("a language the catalogue lacks was accepted")
	}
}

// Issue 5: --no-training writes a signed cawg.training-mining reservation and plus:DataMining,
// and verify reports reservations, ours and other people's.
func TestNoTraining(t *testing.T) {
	c := newCreds(t, "ailabel no training", sign.KeyP256)
	l := newLabeler(t, c)
	root := testtool.ModuleRoot(t)
	in, err := os.ReadFile(filepath.Join(root, "testdata", "sample.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	out := labelBytes(t, l, in, label.Options{NoTraining: true, NoNotice: true})
	path := writeTemp(t, "nt.jpg", out)
	r, err := verifyBytes(t, out, c.trust)
	if err != nil || r.Verdict != label.Valid {
		t.Fatalf("%v %+v", err, r)
	}
	var signed, xmpRes bool
	for _, res := range r.Reservations {
		signed = signed || (res.Signed && res.Reserved && res.Uses["cawg.ai_training"] == "notAllowed")
		xmpRes = xmpRes || (!res.Signed && res.Reserved && res.Where == "XMP plus:DataMining")
	}
	if !signed || !xmpRes || !strings.Contains(r.Summary, "reserved against") {
		t.Fatalf("reservations %+v summary %q", r.Reservations, r.Summary)
	}
	if got := testtool.Exiftool(t, "-s3", "-XMP-plus:DataMining", path); !strings.Contains(got, "Prohibited") && !strings.Contains(got, "PROHIBITED") {
		t.Errorf("exiftool plus:DataMining = %q", got)
	}
	if v := testtool.C2PACheck(t, path); v.Exit != 0 {
		t.Fatalf("c2pa-rs: exit %d %v", v.Exit, v.Failures)
	}
	if code, outp := testtool.RubricCheck(t, path); code != 0 {
		t.Fatalf("conformance rubric: exit %d\n%s", code, outp)
	}
	// Someone else's reservation, in XMP only, on an unlabeled image: an APP1 XMP segment.
	packet, err := xmp.Build(nil, xmp.Fields{Extra: []xmp.Property{{NS: label.NSPLUS, Prefix: "plus", Name: "DataMining",
		Value: "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED"}}})
	if err != nil {
		t.Fatal(err)
	}
	seg := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), packet...)
	b := append([]byte{0xFF, 0xD8, 0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
	b = append(b, in[2:]...)
	if got := testtool.Exiftool(t, "-s3", "-XMP-plus:DataMining", writeTemp(t, "theirs.jpg", b)); !strings.Contains(got, "PROHIBITED") {
		t.Fatalf("exiftool does not read the reservation: %q", got)
	}
	r, _ = verifyBytes(t, b, nil)
	if r.Verdict != label.NotLabeled || len(r.Reservations) != 1 || !r.Reservations[0].Reserved {
		t.Fatalf("a foreign plus:DataMining reservation: %+v", r)
	}
	// Without the option, no reservation.
	if r, _ := verifyBytes(t, labelBytes(t, l, in, label.Options{NoNotice: true}), nil); len(r.Reservations) != 0 {
		t.Fatalf("unasked reservation %+v", r.Reservations)
	}
}

// Report.Err makes a verdict testable with errors.Is.
func TestReportErr(t *testing.T) {
	l := newLabeler(t, newCreds(t, "ailabel err", sign.KeyP256))
	out := labelBytes(t, l, []byte("Hello.\n"), label.Options{})
	r, _ := verifyBytes(t, out, nil)
	if err := r.Err(); err != nil {
		t.Fatalf("valid: %v", err)
	}
	r, _ = verifyBytes(t, []byte("Hello.\n"), nil)
	if err := r.Err(); !errors.Is(err, label.ErrNotLabeled) || errors.Is(err, label.ErrInvalid) {
		t.Fatalf("not labeled: %v", err)
	}
	out[bytes.Index(out, []byte("Hello"))] ^= 0x20 // "hello"
	r, err := verifyBytes(t, out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); !errors.Is(err, label.ErrInvalid) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("tampered: %v (%s)", err, r.Summary)
	}
}

// A caption that would cover more than a third of a small picture gives way to the badge; on a
// larger picture the caption is drawn.
func TestCaptionGivesWayToBadge(t *testing.T) {
	l := newLabeler(t, newCreds(t, "ailabel small", sign.KeyP256))
	for _, tc := range []struct {
		w, h int
		want string
	}{{256, 256, "badge drawn"}, {1600, 1000, "caption drawn"}} {
		in := encodePNG(t, background("light", tc.w, tc.h))
		var out bytes.Buffer
		res, err := l.Label(t.Context(), bytes.NewReader(in), int64(len(in)), &out, label.Options{})
		if err != nil || len(res.Visible) != 1 || !strings.HasPrefix(res.Visible[0], tc.want) {
			t.Fatalf("%dx%d: %v %v", tc.w, tc.h, err, res.Visible)
		}
		cover := float64(res.Drawn.Dx()*res.Drawn.Dy()) / float64(tc.w*tc.h)
		if cover > 0.35 {
			t.Errorf("%dx%d: the warning covers %.0f%% of the picture", tc.w, tc.h, cover*100)
		}
	}
}
