package label_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/text"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
	"golang.org/x/text/unicode/norm"
)

// txtSigner is a throwaway CA and signer, and a trust store with the CA.
func txtSigner(t testing.TB) (*sign.Signer, *sign.TrustStore) {
	t.Helper()
	cr, err := sign.Generate("ailabel text test", sign.KeyP256, 48*time.Hour)
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
	return s, ts
}

func txtLabeler(t testing.TB) (*label.Labeler, *sign.TrustStore) {
	t.Helper()
	s, ts := txtSigner(t)
	l, err := label.New(s, label.Options{Model: "text-model-7", ModelVersion: "7.1"})
	if err != nil {
		t.Fatal(err)
	}
	return l, ts
}

func txtLabel(t testing.TB, l *label.Labeler, in []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	res, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), &out, label.Options{Title: "t", NoNotice: true})
	if err != nil {
		t.Fatalf("Label: %v", err)
	}
	if res.Size != int64(out.Len()) {
		t.Fatalf("Result.Size %d, wrote %d", res.Size, out.Len())
	}
	return out.Bytes()
}

func txtVerify(t testing.TB, b []byte, ts *sign.TrustStore) *label.Report {
	t.Helper()
	r, err := label.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), label.VerifyOptions{Trust: ts})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return r
}

func hasCode(list []manifest.StatusEntry, code string) bool {
	for _, e := range list {
		if e.Code == code {
			return true
		}
	}
	return false
}

// manifestRange returns the byte range of the embedded manifest (wrapper, block line or script).
func manifestRange(t testing.TB, b []byte) (int, int) {
	t.Helper()
	if w, err := text.DecodeWrapper(b); err == nil {
		return int(w.Start), int(w.End)
	}
	if h, err := text.FindHTMLManifest(b); err == nil {
		return int(h.Start), int(h.End)
	}
	if s, err := text.FindStructured(b); err == nil {
		start := bytes.LastIndexByte(b[:s.Begin], '\n') + 1
		end := int(s.End) + bytes.IndexByte(b[s.End:], '\n') + 1
		return start, end
	}
	t.Fatalf("no manifest in %q", b)
	return 0, 0
}

// editOne replaces one visible character outside the manifest by another of the same UTF-8
// length, so that offsets stay and only the hash can tell.
func editOne(t testing.TB, b []byte) []byte {
	t.Helper()
	ms, me := manifestRange(t, b)
	out := append([]byte(nil), b...)
	// Pick the middle letter of the text outside the manifest.
	var cands []int
	for i := 0; i < len(out); {
		r, n := utf8.DecodeRune(out[i:])
		if (i < ms || i >= me) && (r >= 'a' && r <= 'y' || r >= 'а' && r <= 'я' && r != 'я' || r >= 0x4e00 && r < 0x9fa5) {
			cands = append(cands, i)
		}
		i += n
	}
	if len(cands) == 0 {
		t.Fatalf("nothing to edit in %q", b)
	}
	i := cands[len(cands)/2]
	r, n := utf8.DecodeRune(out[i:])
	utf8.EncodeRune(out[i:i+n], r+1)
	return out
}

var textInputs = []struct {
	name, format, in string
}{
	{"ascii", "text", "The quick brown fox jumps over the lazy dog.\nSecond line.\n"},
	{"kazakh", "text", "Қазақстан — Орталық Азиядағы мемлекет. Әріптер: ӘҒҚҢӨҰҮҺІ әғқңөұүһі.\nЕкінші жол.\n"},
	{"russian", "text", "Съешь же ещё этих мягких французских булок, да выпей чаю."},
	{"cjk", "text", "人工智能生成的内容。这是第二句话。\n日本語のテキストです。\n한국어 문장입니다.\n"},
	{"emoji", "text", "Семья 👨‍👩‍👧‍👦 and hearts ❤️💙, flag 🇰🇿, skin 👍🏽, keycap 1️⃣.\n"},
	{"crlf", "text", "first line\r\nsecond line\r\nthird\r\n"},
	{"mixed line endings", "text", "unix\nwindows\r\nold mac\rend\n"},
	{"non-nfc", "text", "Cafe\u0301, A\u030angstro\u0308m, \u1100\u1161 and \u0415\u0308\u043b\u043a\u0430.\n"},
	{"bom", "text", "\ufeffText that starts with a byte order mark.\n"},
	{"markdown", "markdown", "# Report\n\nSome **bold** text and a [link](https://example.com).\n\n- item one\n- item two\n"},
	{"markdown front matter", "markdown", "---\ntitle: Нәтиже\ntags: [ai]\n---\n\n## Heading\n\nBody text.\n"},
	{"html", "html", "<!DOCTYPE html>\n<html lang=\"kk\">\n<head>\n<meta charset=\"utf-8\">\n<title>Мақала</title>\n</head>\n<body>\n<h1>Тақырып</h1>\n<p>Мәтін: ӘҒҚҢӨҰҮҺІ.</p>\n</body>\n</html>\n"},
}

// Done-when 1: each kind of text labels and verifies valid; one edited character makes it
// invalid (assertion.dataHash.mismatch); without its manifest it is not labeled. The manifest
// store is checked by the same manifest code as for images.
func TestTextLabelVerifyRoundTrip(t *testing.T) {
	l, ts := txtLabeler(t)
	for _, c := range textInputs {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.in)
			out := txtLabel(t, l, in)
			if !utf8.Valid(out) || !norm.NFC.IsNormal(out) {
				t.Fatalf("output is not NFC UTF-8")
			}
			rep := txtVerify(t, out, ts)
			if rep.Format != c.format || rep.Verdict != label.Valid || rep.State != manifest.StateTrusted || !rep.AIGenerated || rep.Model != "text-model-7" {
				t.Fatalf("verify: format %s verdict %s state %s ai %v model %q: %s", rep.Format, rep.Verdict, rep.State, rep.AIGenerated, rep.Model, rep.Summary)
			}
			if !hasCode(rep.Status.Success, manifest.CodeDataHashMatch) {
				t.Fatalf("no %s in %+v", manifest.CodeDataHashMatch, rep.Status.Success)
			}
			// The text around the manifest is the NFC input (HTML: plus meta tags in the head).
			ms, me := manifestRange(t, out)
			rest := string(out[:ms]) + string(out[me:])
			want := norm.NFC.String(c.in)
			switch c.format {
			case "html":
				rest = strings.Replace(rest, `<meta name="ai-generated" content="true">`+"\n"+`<meta name="Iptc4xmpExt:DigitalSourceType" content="`+manifest.SourceTrainedAlgorithmicMedia+`">`+"\n", "", 1)
				rest = strings.Replace(rest, "\n</head>", "</head>", 1)
				if !strings.Contains(string(out), `<meta name="ai-generated" content="true">`) {
					t.Fatal("no ai-generated meta tag")
				}
			}
			if rest != want {
				t.Fatalf("text around the manifest:\n%q\nwant\n%q", rest, want)
			}

			// The store, extracted by the container and validated by package manifest.
			c2, err := formats.Open(bytes.NewReader(out), int64(len(out)))
			if err != nil {
				t.Fatal(err)
			}
			raw, err := c2.ManifestStore()
			if err != nil {
				t.Fatal(err)
			}
			st, err := manifest.ParseStore(raw)
			if err != nil {
				t.Fatal(err)
			}
			res := st.Validate(bytes.NewReader(out), int64(len(out)), manifest.Options{Trust: ts})
			if res.State != manifest.StateTrusted {
				t.Fatalf("manifest.Validate: %s %+v", res.State, res.Active.Failure)
			}

			edited := editOne(t, out)
			rep = txtVerify(t, edited, ts)
			if rep.Verdict != label.Invalid || !hasCode(rep.Status.Failure, manifest.CodeDataHashMismatch) {
				t.Fatalf("edited: %s %+v", rep.Verdict, rep.Status.Failure)
			}
			// An inserted character shifts the wrapper: still a hash mismatch, never "valid".
			ins := append([]byte("x"), out...) // text: before everything
			if c.format != "text" {            // others: before the last byte
				ins = append(append([]byte(nil), out[:len(out)-1]...), 'x', out[len(out)-1])
			}
			if rep = txtVerify(t, ins, ts); rep.Verdict != label.Invalid {
				t.Fatalf("inserted character: %s %s", rep.Verdict, rep.Summary)
			}

			stripped := append(append([]byte(nil), out[:ms]...), out[me:]...)
			rep = txtVerify(t, stripped, ts)
			if rep.Verdict != label.NotLabeled {
				t.Fatalf("manifest removed: %s %s", rep.Verdict, rep.Summary)
			}
		})
	}
}

// A labeled text labeled again keeps one manifest, with the first as its parent ingredient.
func TestTextRelabel(t *testing.T) {
	l, ts := txtLabeler(t)
	for _, c := range textInputs {
		out := txtLabel(t, l, txtLabel(t, l, []byte(c.in)))
		rep := txtVerify(t, out, ts)
		if rep.Verdict != label.Valid || len(rep.Manifests) != 2 {
			t.Fatalf("%s relabeled: %s, %d manifests: %s", c.name, rep.Verdict, len(rep.Manifests), rep.Summary)
		}
		if ing := rep.Manifests[1].Ingredients; len(ing) != 1 || ing[0].Relationship != "parentOf" {
			t.Fatalf("%s: ingredients %+v", c.name, ing)
		}
	}
}

// A text whose wrapper was cut short is reported as damaged (not as unlabeled), and labeling it
// again replaces the damaged wrapper.
func TestTextDamagedWrapper(t *testing.T) {
	l, ts := txtLabeler(t)
	out := txtLabel(t, l, []byte("Some generated text.\n"))
	w, err := text.DecodeWrapper(out)
	if err != nil {
		t.Fatal(err)
	}
	cut := out[:(w.Start+w.End)/2] // half the wrapper: the store is cut short
	for !utf8.Valid(cut) {
		cut = cut[:len(cut)-1]
	}
	rep := txtVerify(t, cut, ts)
	if rep.Verdict != label.Invalid || !strings.Contains(rep.Summary, text.CodeCorruptedWrapper) {
		t.Fatalf("cut wrapper: %s %s", rep.Verdict, rep.Summary)
	}
	again := txtLabel(t, l, cut)
	if rep := txtVerify(t, again, ts); rep.Verdict != label.Valid || len(rep.Manifests) != 1 {
		t.Fatalf("relabeled: %s, %d manifests", rep.Verdict, len(rep.Manifests))
	}
	if w, err := text.DecodeWrapper(again); err != nil || string(again[:w.Start]) != "Some generated text.\n" {
		t.Fatalf("relabeled text %q, %v", again[:40], err)
	}
}

// Two labeled texts pasted together hold two wrappers: that is reported, not validated.
func TestTextTwoWrappers(t *testing.T) {
	l, ts := txtLabeler(t)
	a := txtLabel(t, l, []byte("first text\n"))
	b := txtLabel(t, l, []byte("second text\n"))
	rep := txtVerify(t, append(a, b...), ts)
	if rep.Verdict != label.Invalid || !strings.Contains(rep.Summary, text.CodeMultipleWrappers) {
		t.Fatalf("two wrappers: %s %s", rep.Verdict, rep.Summary)
	}
}

// labelWithNotice does what Label does, asking the container for a disclaimer too (the labeler
// does not pass one yet).
func labelWithNotice(t testing.TB, s *sign.Signer, in []byte, n *formats.Notice) []byte {
	t.Helper()
	c, err := formats.Open(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	spec := manifest.Spec{
		Title:     "t",
		Generator: manifest.ClaimGeneratorInfo{Name: "ailabel", Version: label.Version},
		Actions: []manifest.Action{{Action: manifest.ActionCreated, DigitalSourceType: manifest.SourceTrainedAlgorithmicMedia,
			SoftwareAgent: &manifest.SoftwareAgent{Name: "text-model-7"}}},
	}
	d, err := manifest.NewDraft(spec, s)
	if err != nil {
		t.Fatal(err)
	}
	lay, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: d.Len(), Notice: n})
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, p := range lay.Pieces {
		switch p.Kind {
		case formats.Copy:
			if _, err := io.Copy(h, io.NewSectionReader(bytes.NewReader(in), p.Off, p.Len)); err != nil {
				t.Fatal(err)
			}
		case formats.Literal:
			h.Write(p.Data)
		}
	}
	off, k := lay.StoreOffset()
	store, err := d.FinishDataHash([]manifest.ExclusionRange{{Start: uint64(off), Length: uint64(k)}}, h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := lay.WriteTo(&out, bytes.NewReader(in), store); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// With the default disclaimer (Kazakh, Russian, English) at the start and the end: valid; the
// container reports the disclaimer; without the manifest the disclaimer is still found, so a
// checker can say "disclaimer present, no valid label".
func TestTextNotice(t *testing.T) {
	s, ts := txtSigner(t)
	n := label.DefaultNotice()
	n.Placement = "both"
	for _, c := range textInputs {
		t.Run(c.name, func(t *testing.T) {
			out := labelWithNotice(t, s, []byte(c.in), n)
			rep := txtVerify(t, out, ts)
			if rep.Verdict != label.Valid {
				t.Fatalf("%s: %s", rep.Verdict, rep.Summary)
			}
			notices := func(b []byte) []formats.NoticeText {
				c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
				if err != nil {
					t.Fatal(err)
				}
				return c.(formats.NoticeReader).Notices()
			}
			got := notices(out)
			if len(got) != 6 {
				t.Fatalf("notices %+v", got)
			}
			for i, nt := range got {
				if want := n.Texts[i%3]; nt != want {
					t.Fatalf("notice %d = %+v, want %+v", i, nt, want)
				}
			}
			ms, me := manifestRange(t, out)
			stripped := append(append([]byte(nil), out[:ms]...), out[me:]...)
			if rep := txtVerify(t, stripped, ts); rep.Verdict != label.NotLabeled {
				t.Fatalf("stripped: %s", rep.Verdict)
			}
			if got := notices(stripped); len(got) != 6 {
				t.Fatalf("stripped text: notices %+v", got)
			}
			if rep := txtVerify(t, editOne(t, out), ts); rep.Verdict != label.Invalid {
				t.Fatalf("edited: %s", rep.Verdict)
			}
		})
	}
}

func BenchmarkLabelText1MB(b *testing.B) {
	l, _ := txtLabeler(b)
	for _, c := range []struct{ name, unit string }{
		{"ascii", "The quick brown fox jumps over the lazy dog. "},
		{"kazakh", "Қазақстан Республикасы — Орталық Азиядағы мемлекет. "},
		{"cjk", "人工智能生成的内容，这是一个测试句子。"},
	} {
		in := []byte(strings.Repeat(c.unit, (1<<20)/len(c.unit)+1)[:1<<20])
		in = in[:len(in)-len(in)%4]
		for !utf8.Valid(in) {
			in = in[:len(in)-1]
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var out bytes.Buffer
			for b.Loop() {
				out.Reset()
				if _, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), &out, label.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// By default Label shows the Kazakh, Russian and English disclaimer in text, and Verify reports
// it, also once the manifest is gone.
func TestLabelTextHasDefaultDisclaimer(t *testing.T) {
	l, _ := txtLabeler(t)
	var out bytes.Buffer
	in := []byte("Generated answer.\n")
	if _, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), &out, label.Options{}); err != nil {
		t.Fatal(err)
	}
	r, err := label.Verify(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()), label.VerifyOptions{})
	if err != nil || r.Verdict != label.Valid {
		t.Fatalf("%v %+v", err, r)
	}
	langs := map[string]bool{}
	for _, n := range r.Notices {
		langs[n.Lang] = true
	}
	if !langs["kk"] || !langs["ru"] || !langs["en"] {
		t.Fatalf("notices %+v, want kk, ru and en", r.Notices)
	}
}
