package label_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
)

// exampleSigner makes a throwaway CA and signing certificate. In production use sign.LoadFiles
// with a certificate from a CA on the C2PA trust list, or sign.LoadKMS.
func exampleSigner() (*sign.Signer, string) {
	cr, err := sign.Generate("Example AI Co", sign.KeyP256, 24*time.Hour)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "ailabel-example")
	if err != nil {
		panic(err)
	}
	if err := cr.WriteDir(filepath.Join(dir, "keys")); err != nil {
		panic(err)
	}
	s, err := sign.LoadFiles(filepath.Join(dir, "keys", "signer.key"), filepath.Join(dir, "keys", "chain.pem"))
	if err != nil {
		panic(err)
	}
	return s, dir
}

// Label an image held in memory, then verify it.
func ExampleLabeler_Label() {
	signer, dir := exampleSigner()
	defer os.RemoveAll(dir)
	l, err := label.New(signer, label.Options{Model: "image-gen-3"})
	if err != nil {
		panic(err)
	}

	// An image a model made (here: a gradient).
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 4), 128, 255})
		}
	}
	var in bytes.Buffer
	png.Encode(&in, img)

	var out bytes.Buffer
	res, err := l.Label(context.Background(), bytes.NewReader(in.Bytes()), int64(in.Len()), &out, label.Options{})
	if err != nil {
		panic(err)
	}
	fmt.Println("labeled:", res.Format)

	rep, err := label.Verify(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()), label.VerifyOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println("verdict:", rep.Verdict, "| AI-generated:", rep.AIGenerated, "| model:", rep.Model)
	fmt.Println("signed by:", rep.Signer.Organization, "| trusted:", rep.Signer.Trusted)
	// Output:
	// labeled: png
	// verdict: valid | AI-generated: true | model: image-gen-3
	// signed by: Example AI Co | trusted: false
}

// Label a stream of LLM tokens as they are produced: the disclaimer goes out with the first
// bytes, the signed manifest is appended when the stream is closed.
func ExampleLabeler_NewTextStream() {
	signer, dir := exampleSigner()
	defer os.RemoveAll(dir)
	l, _ := label.New(signer, label.Options{Model: "chat-model-1"})

	var out bytes.Buffer
	stream, err := l.NewTextStream(&out, label.Options{})
	if err != nil {
		panic(err)
	}
	for _, token := range []string{"Astana ", "is the ", "capital ", "of Kazakhstan."} {
		if _, err := stream.Write([]byte(token)); err != nil {
			panic(err)
		}
	}
	if err := stream.Close(); err != nil {
		panic(err)
	}
	rep, _ := label.Verify(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()), label.VerifyOptions{})
	fmt.Println(rep.Format, rep.Verdict, rep.Model)
	for _, n := range rep.Notices {
		fmt.Println(n.Lang+":", n.Text)
	}
	// Output:
	// text valid chat-model-1
	// kk: Жасанды интеллект жасаған мазмұн
	// ru: Создано с помощью искусственного интеллекта
	// en: AI-generated content
}
