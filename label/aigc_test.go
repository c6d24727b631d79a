package label_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats/exif"
	"github.com/ailabel/ailabel/formats/png"
	"github.com/ailabel/ailabel/formats/xmp"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
)

const aigcJSON = `{"Label":"1","ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"img-42","ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}`

// China's implicit AIGC label is found in XMP (TC260:AIGC) and in EXIF UserComment, and reported
// as a kind of label, with no C2PA manifest (issue 7).
func TestVerifyFindsAIGCLabel(t *testing.T) {
	root := testtool.ModuleRoot(t)

	// PNG with an XMP iTXt chunk holding TC260:AIGC, right after IHDR.
	pngIn, err := os.ReadFile(filepath.Join(root, "testdata", "sample.png"))
	if err != nil {
		t.Fatal(err)
	}
	packet, err := xmp.Build(nil, xmp.Fields{Extra: []xmp.Property{{NS: label.NSTC260, Prefix: "TC260", Name: "AIGC", Value: aigcJSON}}})
	if err != nil {
		t.Fatal(err)
	}
	itxt := png.Chunk("iTXt", append([]byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"), packet...))
	withXMP := append(append(append([]byte(nil), pngIn[:33]...), itxt...), pngIn[33:]...)

	// JPEG with EXIF UserComment {"AIGC":{…}}, as TC260's image guide shows.
	jpgIn, err := os.ReadFile(filepath.Join(root, "testdata", "sample.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	tiff, err := exif.Build(nil, exif.Fields{UserComment: `{"AIGC":` + aigcJSON + `}`})
	if err != nil {
		t.Fatal(err)
	}
	app1 := append([]byte{0xff, 0xe1, 0, 0}, append([]byte("Exif\x00\x00"), tiff...)...)
	binary.BigEndian.PutUint16(app1[2:], uint16(len(app1)-2))
	withEXIF := append(append(append([]byte(nil), jpgIn[:2]...), app1...), jpgIn[2:]...)

	for name, b := range map[string][]byte{"png-xmp": withXMP, "jpeg-exif": withEXIF} {
		r, err := verifyBytes(t, b, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Verdict != label.NotLabeled || r.AIGC == nil || r.AIGC.Label != "1" || r.AIGC.ContentProducer != "001191110102MAD55U9H0F10002" ||
			!r.AIGenerated || !slices.Contains(r.LabelKinds, "aigc") || !strings.Contains(r.Summary, "AIGC") {
			t.Fatalf("%s: %+v aigc=%+v", name, r, r.AIGC)
		}
	}
	// A plain image has none, and a labeled one says c2pa and iptc.
	if r, _ := verifyBytes(t, pngIn, nil); r.AIGC != nil || len(r.LabelKinds) != 0 {
		t.Fatalf("plain PNG: %+v", r)
	}
	out := labelBytes(t, newLabeler(t, newCreds(t, "kinds", "")), pngIn, label.Options{})
	if r, _ := verifyBytes(t, out, nil); !slices.Equal(r.LabelKinds, []string{"c2pa", "iptc"}) {
		t.Fatalf("labeled PNG kinds %v", r.LabelKinds)
	}
}
