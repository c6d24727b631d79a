package label_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/sign"
)

// throwawaySigner makes a throwaway CA and signing certificate for org in a temporary folder
// (keys/ca.pem is the CA) and loads the signer from its files, as production does with
// sign.LoadFiles and a certificate from a CA on the C2PA trust list. Remove dir when done.
func throwawaySigner(org string) (s *sign.Signer, dir string) {
	cr, err := sign.Generate(org, sign.KeyP256, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	if dir, err = os.MkdirTemp("", "ailabel-example"); err != nil {
		panic(err)
	}
	keys := filepath.Join(dir, "keys")
	if err := cr.WriteDir(keys); err != nil {
		panic(err)
	}
	if s, err = sign.LoadFiles(filepath.Join(keys, "signer.key"), filepath.Join(keys, "chain.pem")); err != nil {
		panic(err)
	}
	return s, dir
}

// gradient is a picture a model might have made.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 160, 255})
		}
	}
	return img
}

// Label a JPEG held in memory, as an image service does before it answers: bytes in, labeled
// bytes out (with the policy's visible warning drawn in), and the AI-Disclosure header to send
// with them.
func ExampleLabeler_Label_inMemory() {
	signer, dir := throwawaySigner("Example Image Co")
	defer os.RemoveAll(dir)
	l, err := label.New(signer, label.Options{Model: "image-gen-3"})
	if err != nil {
		panic(err)
	}

	img := gradient(320, 200)
	var src bytes.Buffer
	if err := jpeg.Encode(&src, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}

	var out bytes.Buffer
	res, err := l.Label(context.Background(), bytes.NewReader(src.Bytes()), int64(src.Len()), &out, label.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Format, res.MIME, res.Size == int64(out.Len()))
	fmt.Println("warning drawn inside the picture:", !res.Drawn.Empty() && res.Drawn.In(img.Bounds()))
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(out.Bytes()))
	fmt.Println("still a JPEG:", err == nil, cfg.Width, "x", cfg.Height)
	fmt.Println(label.DisclosureHeader+":", label.Disclosure{Mode: label.ModeAIOriginated, Model: "image-gen-3"})
	// Output:
	// jpeg image/jpeg true
	// warning drawn inside the picture: true
	// still a JPEG: true 320 x 200
	// AI-Disclosure: mode=ai-originated; model="image-gen-3"
}

// Label a file on disk. The output is written atomically (a temporary file renamed into
// place); the input is left as it is, and replacing it takes Options.InPlace.
func ExampleLabeler_LabelFile() {
	signer, dir := throwawaySigner("Example Image Co")
	defer os.RemoveAll(dir)
	l, err := label.New(signer, label.Options{Model: "image-gen-3"})
	if err != nil {
		panic(err)
	}
	in, out := filepath.Join(dir, "render.png"), filepath.Join(dir, "render.labeled.png")
	var b bytes.Buffer
	png.Encode(&b, gradient(200, 120))
	if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
		panic(err)
	}

	ctx := context.Background()
	res, err := l.LabelFile(ctx, in, out, label.Options{Title: "render.png"})
	if err != nil {
		panic(err)
	}
	fmt.Println("wrote", filepath.Base(out), "as", res.Format)

	rep, err := label.VerifyFile(ctx, out, label.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Verdict, rep.Model, rep.Manifests[0].Title)
	after, _ := os.ReadFile(in)
	fmt.Println("input unchanged:", bytes.Equal(after, b.Bytes()))

	_, err = l.LabelFile(ctx, in, in, label.Options{})
	fmt.Println("overwriting the input without InPlace refused:", err != nil)
	// Output:
	// wrote render.labeled.png as png
	// valid image-gen-3 render.png
	// input unchanged: true
	// overwriting the input without InPlace refused: true
}

// Label a video from a reader to a writer. Label needs an io.ReaderAt (an *os.File, a
// bytes.Reader, an object-store range reader) because it reads the input twice, and writes the
// output in one pass to any io.Writer: a file, an HTTP response, an upload. Under the default
// policy (kz) the video also gets caption tracks with the warning.
func ExampleLabeler_Label_video() {
	signer, dir := throwawaySigner("Example Video Co")
	defer os.RemoveAll(dir)
	l, err := label.New(signer, label.Options{Model: "video-gen-2"})
	if err != nil {
		panic(err)
	}

	in, err := os.Open(filepath.Join("..", "testdata", "sample.mp4"))
	if err != nil {
		panic(err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		panic(err)
	}
	out, err := os.Create(filepath.Join(dir, "clip.labeled.mp4"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	res, err := l.Label(ctx, in, fi.Size(), out, label.Options{Title: "clip.mp4"})
	if err != nil {
		panic(err)
	}
	if err := out.Close(); err != nil {
		panic(err)
	}
	fmt.Println(res.Format, res.MIME)

	rep, err := label.VerifyFile(ctx, out.Name(), label.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Verdict, "| AI-generated:", rep.AIGenerated, "| model:", rep.Model)
	// Output:
	// mp4 video/mp4
	// valid | AI-generated: true | model: video-gen-2
}

// Read a verify report: the verdict, who signed, whether AI made it, and an error to test with
// errors.Is when the label is missing or broken. Verify reads anyone's C2PA manifests, not only
// ailabel's; a signer is trusted only when its CA is in VerifyOptions.Trust.
func ExampleVerify() {
	signer, dir := throwawaySigner("Example Newsroom")
	defer os.RemoveAll(dir)
	l, err := label.New(signer, label.Options{Model: "image-gen-3"})
	if err != nil {
		panic(err)
	}
	var plain, labeled bytes.Buffer
	png.Encode(&plain, gradient(160, 100))
	ctx := context.Background()
	if _, err := l.Label(ctx, bytes.NewReader(plain.Bytes()), int64(plain.Len()), &labeled, label.Options{}); err != nil {
		panic(err)
	}
	trust, err := sign.LoadTrustFile(filepath.Join(dir, "keys", "ca.pem"))
	if err != nil {
		panic(err)
	}
	verify := func(b []byte) *label.Report {
		rep, err := label.Verify(ctx, bytes.NewReader(b), int64(len(b)), label.VerifyOptions{Trust: trust})
		if err != nil {
			panic(err) // only for content in no format ailabel reads
		}
		return rep
	}

	rep := verify(labeled.Bytes())
	fmt.Println(rep.Verdict, rep.State, "| AI-generated:", rep.AIGenerated, "| model:", rep.Model)
	fmt.Println("signed by:", rep.Signer.Organization, "| trusted:", rep.Signer.Trusted)
	fmt.Println("labels found:", rep.LabelKinds, "| error:", rep.Err())

	// One byte of the picture changed after signing.
	tampered := bytes.Clone(labeled.Bytes())
	tampered[bytes.Index(tampered, []byte("IDAT"))+40] ^= 1
	rep = verify(tampered)
	fmt.Println(rep.Verdict, "|", rep.Reasons[0], "|", errors.Is(rep.Err(), label.ErrInvalid))

	rep = verify(plain.Bytes())
	fmt.Println(rep.Verdict, "|", errors.Is(rep.Err(), label.ErrNotLabeled))

	_, err = label.Verify(ctx, bytes.NewReader([]byte{0, 1, 2, 3}), 4, label.VerifyOptions{})
	fmt.Println("unknown format:", errors.Is(err, label.ErrUnsupported))
	// Output:
	// valid Trusted | AI-generated: true | model: image-gen-3
	// signed by: Example Newsroom | trusted: true
	// labels found: [c2pa iptc] | error: <nil>
	// invalid | the content changed after signing (assertion.dataHash.mismatch) | true
	// not_labeled | true
	// unknown format: true
}

// Choose a policy and the warning's languages. Each built-in policy says what it draws and in
// which languages by default; Options.Languages overrides them per call (or per labeler, in
// New's defaults).
func ExampleOptions_policy() {
	for _, p := range policy.Builtin() {
		fmt.Printf("%s: languages %v, image warning %s\n", p.Name, p.Languages, p.Image.Style)
	}

	signer, dir := throwawaySigner("Example AI Co")
	defer os.RemoveAll(dir)
	l, err := label.New(signer, label.Options{Model: "chat-model-1"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()

	// Text under the EU policy, warned in German and French.
	eu, err := policy.ByName("eu")
	if err != nil {
		panic(err)
	}
	src := "Berlin ist die Hauptstadt Deutschlands."
	var out bytes.Buffer
	if _, err := l.Label(ctx, strings.NewReader(src), int64(len(src)), &out, label.Options{Policy: eu, Languages: []string{"de", "fr"}}); err != nil {
		panic(err)
	}
	rep, err := label.Verify(ctx, bytes.NewReader(out.Bytes()), int64(out.Len()), label.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	for _, n := range rep.Notices {
		fmt.Println("warning:", n.Text)
	}

	// An image under China's rules: a badge, and the AIGC metadata label naming the provider.
	cn, err := policy.ByName("cn")
	if err != nil {
		panic(err)
	}
	var img, labeled bytes.Buffer
	png.Encode(&img, gradient(240, 160))
	res, err := l.Label(ctx, bytes.NewReader(img.Bytes()), int64(img.Len()), &labeled, label.Options{Policy: cn, Provider: "Example AI Co"})
	if err != nil {
		panic(err)
	}
	rep, err = label.Verify(ctx, bytes.NewReader(labeled.Bytes()), int64(labeled.Len()), label.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("image warning:", strings.Fields(res.Visible[0])[0], "| AIGC label:", rep.AIGC.Label, rep.AIGC.ContentProducer)
	// Output:
	// kz: languages [kk ru en], image warning caption
	// eu: languages [en], image warning eu-icon
	// cn: languages [zh], image warning badge
	// warning: KI-generierter Inhalt
	// warning: Contenu généré par intelligence artificielle
	// image warning: badge | AIGC label: 1 Example AI Co
}

// Sign with a key that never leaves a KMS. The signer is named by a URI; with HashiCorp Vault's
// transit engine (VAULT_ADDR and VAULT_TOKEN in the environment) it is
//
//	signer, err := sign.LoadKMS(ctx, "hashivault://ailabel-signing", "chain.pem")
//
// where chain.pem is the certificate chain a CA issued for the Vault key's public key. So that
// it runs offline, this example puts the key in sigstore's in-process fake KMS instead and
// reaches it through the same call, with a fakekms:// URI.
func Example_kmsSigner() {
	// Stand-ins for what a real deployment has: a key in the KMS and its certificate chain.
	cr, err := sign.Generate("Example KMS Co", sign.KeyP256, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "ailabel-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := cr.WriteDir(dir); err != nil {
		panic(err)
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(cr.Key, cryptoutils.SkipPassword)
	if err != nil {
		panic(err)
	}
	ctx := context.WithValue(context.Background(), fake.KmsCtxKey{}, key)

	signer, err := sign.LoadKMS(ctx, "fakekms://ailabel-signing", filepath.Join(dir, "chain.pem"))
	if err != nil {
		panic(err)
	}
	l, err := label.New(signer, label.Options{Model: "chat-model-1"})
	if err != nil {
		panic(err)
	}
	src := "Signed in the KMS."
	var out bytes.Buffer
	if _, err := l.Label(ctx, strings.NewReader(src), int64(len(src)), &out, label.Options{NoNotice: true}); err != nil {
		panic(err)
	}
	trust, err := sign.LoadTrustFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		panic(err)
	}
	rep, err := label.Verify(ctx, bytes.NewReader(out.Bytes()), int64(out.Len()), label.VerifyOptions{Trust: trust})
	if err != nil {
		panic(err)
	}
	fmt.Println(rep.Verdict, rep.State, "| signed by:", rep.Signer.Organization)
	// Output:
	// valid Trusted | signed by: Example KMS Co
}

// Relay an OpenAI-style chat completion stream and label it as it passes: the first content
// delta carries the warning, an extra delta before "data: [DONE]" carries the manifest, and the
// message a client assembles from the deltas verifies.
func ExampleLabeler_LabelChatStream() {
	signer, dir := throwawaySigner("Example AI Co")
	defer os.RemoveAll(dir)
	l, err := label.New(signer, label.Options{Model: "chat-model-1"})
	if err != nil {
		panic(err)
	}

	// What the model server streams (usually an HTTP response body).
	var upstream strings.Builder
	for _, tok := range []string{"Astana ", "is the ", "capital ", "of Kazakhstan."} {
		fmt.Fprintf(&upstream, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", tok)
	}
	upstream.WriteString("data: [DONE]\n\n")

	// In a handler, w is the http.ResponseWriter: each event is flushed as it is written.
	var w bytes.Buffer
	ctx := context.Background()
	if err := l.LabelChatStream(ctx, strings.NewReader(upstream.String()), &w, label.Options{}); err != nil {
		panic(err)
	}

	// What the client does: join the deltas.
	var message strings.Builder
	events := 0
	for _, line := range strings.Split(w.String(), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		events++
		var chunk struct {
			Choices []struct {
				Delta struct{ Content string } `json:"delta"`
			} `json:"choices"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			panic(err)
		}
		message.WriteString(chunk.Choices[0].Delta.Content)
	}
	text := message.String()
	rep, err := label.Verify(ctx, strings.NewReader(text), int64(len(text)), label.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(events, "events relayed for 4 tokens")
	fmt.Println(strings.SplitN(text, "\n", 2)[0])
	fmt.Println(rep.Verdict, rep.Model)
	// Output:
	// 5 events relayed for 4 tokens
	// ⚠ Жасанды интеллект жасаған мазмұн
	// valid chat-model-1
}
