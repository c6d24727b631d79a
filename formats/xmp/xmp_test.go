package xmp

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

const (
	kazakh  = "Жасанды интеллект (ЖИ) арқылы жасалған"
	russian = "Создано с помощью искусственного интеллекта (ИИ)"
	english = "Generated with artificial intelligence (AI)"
	chinese = "由人工智能生成"

	nsTC260    = "http://www.tc260.org.cn/ns/AIGC/1.0/"
	nsPlus     = "http://ns.useplus.org/ldf/xmp/1.0/"
	nsPS       = "http://ns.adobe.com/photoshop/1.0/"
	nsTIFF     = "http://ns.adobe.com/tiff/1.0/"
	tc260Value = `{"Label":"1","ContentProducer":"001191110108MA01KP2T5U00000","ProduceID":"a&b<c>","ReservedCode1":"","ContentPropagator":"","PropagateID":""}`
)

// needTool returns the path of an external tool, skipping the test when it is missing (failing
// instead when CI=true).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (Debian package %s) and CI=true", name, pkg)
		}
		t.Skipf("%s not found; install the Debian package %s to run this test", name, pkg)
	}
	return p
}

func labelFields() Fields {
	return Fields{
		DigitalSourceType: TrainedAlgorithmicMedia,
		InstanceID:        "xmp.iid:6f1c7a52-3b7e-4c3a-9a55-0d2f4f8e1b11",
		DocumentID:        "xmp.did:0a9e5b3c-8d7f-4e21-b6c4-93f1d2e7a850",
		CreatorTool:       "ailabel test model v1.2",
		Description: []LangText{
			{"kk", kazakh},
			{"ru", russian},
			{"en", english},
			{"zh", chinese},
		},
		Extra: []Property{
			{NS: nsTC260, Prefix: "TC260", Name: "AIGC", Value: tc260Value},
			{NS: nsPlus, Prefix: "plus", Name: "DataMining", Value: "http://ns.useplus.org/ldf/vocab/DMI-PROHIBITED-AIMLTRAINING"},
		},
	}
}

// wantDescription is what Parse returns for labelFields().Description: x-default first.
func wantDescription(f Fields) []LangText {
	return append([]LangText{{"x-default", f.Description[0].Text}}, f.Description...)
}

// checkLabel checks that info carries f.
func checkLabel(t *testing.T, info *Info, f Fields, wantDocID string) {
	t.Helper()
	for _, c := range [][3]string{
		{"DigitalSourceType", info.DigitalSourceType, f.DigitalSourceType},
		{"InstanceID", info.InstanceID, f.InstanceID},
		{"DocumentID", info.DocumentID, wantDocID},
		{"CreatorTool", info.CreatorTool, f.CreatorTool},
		{"Get DigitalSourceType", info.Get(NSIptc4xmpExt, "DigitalSourceType"), f.DigitalSourceType},
	} {
		if c[1] != c[2] {
			t.Errorf("%s = %q, want %q", c[0], c[1], c[2])
		}
	}
	if want := wantDescription(f); !reflect.DeepEqual(info.Description, want) {
		t.Errorf("Description = %q, want %q", info.Description, want)
	}
	for _, d := range f.Description {
		if got := info.DescriptionIn(d.Lang); got != d.Text {
			t.Errorf("DescriptionIn(%s) = %q, want %q", d.Lang, got, d.Text)
		}
	}
	for _, e := range f.Extra {
		if got := info.Get(e.NS, e.Name); got != e.Value {
			t.Errorf("Get(%s, %s) = %q, want %q", e.NS, e.Name, got, e.Value)
		}
	}
}

// wellFormed checks b with encoding/xml independently of scan.
func wellFormed(t *testing.T, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("output is not well-formed XML: %v\n%s", err, b)
		}
	}
}

// topLevel returns the values of the top-level property (ns, name) in every description.
func topLevel(t *testing.T, b []byte, ns, name string) []string {
	t.Helper()
	doc, err := scan(b)
	if err != nil {
		t.Fatal(err)
	}
	var vs []string
	for _, d := range doc.descs {
		for _, p := range d.props {
			if p.ns == ns && p.name == name {
				vs = append(vs, p.value)
			}
		}
	}
	return vs
}

func TestFreshRoundTrip(t *testing.T) {
	f := labelFields()
	out, err := Build(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>")) ||
		!bytes.HasSuffix(out, []byte("<?xpacket end=\"w\"?>")) {
		t.Errorf("packet wrapper missing:\n%s", out)
	}
	wellFormed(t, out)
	info, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	checkLabel(t, info, f, f.DocumentID)
	t.Logf("fresh packet, %d bytes:\n%s", len(out), out)

	// Each field alone; an empty field is not written.
	for _, g := range []Fields{
		{DigitalSourceType: TrainedAlgorithmicMedia},
		{CreatorTool: "m"},
		{Description: []LangText{{"", "only default"}}},
		{Description: []LangText{{"x-default", "d"}, {"en", "e"}}},
		{},
	} {
		out, err := Build(nil, g)
		if err != nil {
			t.Fatal(err)
		}
		wellFormed(t, out)
		info, err := Parse(out)
		if err != nil {
			t.Fatal(err)
		}
		if info.DigitalSourceType != g.DigitalSourceType || info.CreatorTool != g.CreatorTool || info.InstanceID != "" || info.DocumentID != "" {
			t.Errorf("%+v → %+v", g, info)
		}
		var want []LangText
		switch len(g.Description) {
		case 1:
			want = []LangText{{"x-default", "only default"}}
		case 2:
			want = g.Description
		}
		if !reflect.DeepEqual(info.Description, want) {
			t.Errorf("Description %q, want %q", info.Description, want)
		}
		if bytes.Contains(out, []byte("xmpMM")) {
			t.Errorf("an empty field was written:\n%s", out)
		}
	}
}

func TestEscaping(t *testing.T) {
	nasty := "a & b < c > d \"q\" 'a' tab\there\nnew line\r\ncrlf ]]> &amp; \U0001F600"
	f := Fields{
		CreatorTool: nasty,
		Description: []LangText{{"en", nasty}},
		Extra:       []Property{{NS: "urn:x?a=1&b=\"2\"", Prefix: "x1", Name: "v", Value: nasty}},
	}
	out, err := Build(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, out)
	info, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.CreatorTool != nasty || info.DescriptionIn("en") != nasty || info.Get(f.Extra[0].NS, "v") != nasty {
		t.Errorf("escaping round trip failed:\n%q\n%q\n%q", info.CreatorTool, info.DescriptionIn("en"), info.Get(f.Extra[0].NS, "v"))
	}
}

// photoshopPacket is a realistic packet as Photoshop writes it: several namespaces, properties
// in attribute form on one description and in element form on another, arrays, a structure
// history, an existing DigitalSourceType in both forms with other values, a DocumentID, and
// padding.
var photoshopPacket = "<?xpacket begin=\"\ufeff\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n" +
	`<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 9.1-c001 79.1462899, 2023/06/25-20:01:55        ">
   <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <rdf:Description rdf:about=""
            xmlns:xmp="http://ns.adobe.com/xap/1.0/"
            xmlns:dc="http://purl.org/dc/elements/1.1/"
            xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
            xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"
            xmlns:stEvt="http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
            xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
            xmlns:exif="http://ns.adobe.com/exif/1.0/"
            xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
            xmp:CreatorTool="Adobe Photoshop 25.0 (Windows)"
            xmp:CreateDate="2024-05-01T12:34:56+06:00"
            xmp:ModifyDate="2024-05-02T09:00:00+06:00"
            xmp:MetadataDate="2024-05-02T09:00:00+06:00"
            photoshop:ColorMode="3"
            photoshop:ICCProfile="sRGB IEC61966-2.1"
            xmpMM:InstanceID="xmp.iid:0b6a1c5e-2f4d-4e8a-9c1b-3d2e1f0a9b8c"
            xmpMM:DocumentID="adobe:docid:photoshop:5f3c2b1a-0e9d-8c7b-6a5f-4e3d2c1b0a9f"
            xmpMM:OriginalDocumentID="xmp.did:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
            tiff:Orientation="1"
            exif:PixelXDimension="1024"
            exif:PixelYDimension="768"
            Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture">
         <dc:format>image/jpeg</dc:format>
         <dc:title>
            <rdf:Alt>
               <rdf:li xml:lang="x-default">Sunset over Almaty</rdf:li>
            </rdf:Alt>
         </dc:title>
         <dc:description>
            <rdf:Alt>
               <rdf:li xml:lang="x-default">Old description &amp; notes</rdf:li>
               <rdf:li xml:lang="ru">Старое описание</rdf:li>
            </rdf:Alt>
         </dc:description>
         <dc:creator>
            <rdf:Seq>
               <rdf:li>Jane Doe</rdf:li>
            </rdf:Seq>
         </dc:creator>
         <xmpMM:History>
            <rdf:Seq>
               <rdf:li rdf:parseType="Resource">
                  <stEvt:action>created</stEvt:action>
                  <stEvt:instanceID>xmp.iid:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d</stEvt:instanceID>
                  <stEvt:when>2024-05-01T12:34:56+06:00</stEvt:when>
                  <stEvt:softwareAgent>Adobe Photoshop 25.0 (Windows)</stEvt:softwareAgent>
               </rdf:li>
               <rdf:li stEvt:action="saved" stEvt:instanceID="xmp.iid:0b6a1c5e-2f4d-4e8a-9c1b-3d2e1f0a9b8c" stEvt:when="2024-05-02T09:00:00+06:00" stEvt:changed="/"/>
            </rdf:Seq>
         </xmpMM:History>
      </rdf:Description>
      <rdf:Description rdf:about=""
            xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
            xmlns:plus="http://ns.useplus.org/ldf/xmp/1.0/">
         <Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/compositeCapture</Iptc4xmpExt:DigitalSourceType>
         <plus:DataMining>http://ns.useplus.org/ldf/vocab/DMI-UNSPECIFIED</plus:DataMining>
         <Iptc4xmpExt:ArtworkOrObject>
            <rdf:Bag>
               <rdf:li rdf:parseType="Resource">
                  <Iptc4xmpExt:AOTitle><rdf:Alt><rdf:li xml:lang="x-default">Mural</rdf:li></rdf:Alt></Iptc4xmpExt:AOTitle>
                  <Iptc4xmpExt:DigitalSourceType>nested, not a top-level property: keep</Iptc4xmpExt:DigitalSourceType>
               </rdf:li>
            </rdf:Bag>
         </Iptc4xmpExt:ArtworkOrObject>
      </rdf:Description>
   </rdf:RDF>
</x:xmpmeta>
` + strings.Repeat(strings.Repeat(" ", 99)+"\n", 20) + `<?xpacket end="w"?>`

func TestMergePhotoshop(t *testing.T) {
	existing := []byte(photoshopPacket)
	orig := bytes.Clone(existing)
	f := labelFields()
	out, err := Build(existing, f)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(existing, orig) {
		t.Fatal("Build modified its input")
	}
	wellFormed(t, out)
	info, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	// Ours replaced theirs; the existing DocumentID wins over ours.
	checkLabel(t, info, f, "adobe:docid:photoshop:5f3c2b1a-0e9d-8c7b-6a5f-4e3d2c1b0a9f")
	for _, c := range [][2]string{{NSIptc4xmpExt, "DigitalSourceType"}, {NSXMPMM, "InstanceID"}, {NSXMP, "CreatorTool"}, {NSXMPMM, "DocumentID"}, {NSDC, "description"}, {nsPlus, "DataMining"}} {
		if n := len(topLevel(t, out, c[0], c[1])); n != 1 {
			t.Errorf("%s%s appears %d times at the top level, want 1", c[0], c[1], n)
		}
	}
	if bytes.Contains(out, []byte("digitalCapture")) || bytes.Contains(out, []byte("compositeCapture")) ||
		bytes.Contains(out, []byte("Old description")) || bytes.Contains(out, []byte("Adobe Photoshop 25.0 (Windows)\"")) {
		t.Errorf("a replaced value survived:\n%s", out)
	}

	// Every other top-level property is still there, byte for byte.
	before, err := scan(existing)
	if err != nil {
		t.Fatal(err)
	}
	replaced := map[propKey]bool{{NSIptc4xmpExt, "DigitalSourceType"}: true, {NSXMPMM, "InstanceID"}: true,
		{NSXMP, "CreatorTool"}: true, {NSDC, "description"}: true, {nsPlus, "DataMining"}: true}
	kept := 0
	for _, d := range before.descs {
		for _, p := range d.props {
			if replaced[propKey{p.ns, p.name}] {
				continue
			}
			kept++
			if raw := existing[p.start:p.end]; !bytes.Contains(out, raw) {
				t.Errorf("property %s%s lost or changed: %q", p.ns, p.name, raw)
			}
		}
	}
	if kept != 15 {
		t.Errorf("checked %d kept properties, want 15", kept)
	}
	for _, c := range [][3]string{
		{nsPS, "ColorMode", "3"},
		{NSDC, "format", "image/jpeg"},
		{NSDC, "title", "Sunset over Almaty"},
		{NSDC, "creator", "Jane Doe"},
		{NSXMPMM, "OriginalDocumentID", "xmp.did:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"},
		{nsTIFF, "Orientation", "1"},
	} {
		if got := info.Get(c[0], c[1]); got != c[2] {
			t.Errorf("Get(%s, %s) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	for _, keep := range []string{"nested, not a top-level property: keep", "xmp:CreateDate=\"2024-05-01T12:34:56+06:00\"",
		"Adobe XMP Core 9.1-c001"} {
		if !bytes.Contains(out, []byte(keep)) {
			t.Errorf("lost %q", keep)
		}
	}
	// The start (header, x:xmpmeta) and the end are untouched, except that the padding shrank
	// by what we added, so the packet kept its size.
	if i := strings.Index(photoshopPacket, "<rdf:Description"); !bytes.HasPrefix(out, existing[:i]) {
		t.Error("the packet's head changed")
	}
	tail := out[bytes.LastIndex(out, []byte("</rdf:Description>")):]
	if !bytes.HasPrefix(tail, []byte("</rdf:Description>\n   </rdf:RDF>\n</x:xmpmeta>\n")) ||
		!bytes.HasSuffix(tail, []byte("\n<?xpacket end=\"w\"?>")) ||
		len(bytes.TrimSpace(tail[len("</rdf:Description>\n   </rdf:RDF>\n</x:xmpmeta>\n"):len(tail)-len("<?xpacket end=\"w\"?>")])) != 0 {
		t.Errorf("the packet's tail changed: %q", tail)
	}
	if len(out) != len(existing) {
		t.Errorf("the packet grew from %d to %d bytes though its padding sufficed", len(existing), len(out))
	}
	// Without enough padding it grows by the difference.
	padding := strings.Repeat(strings.Repeat(" ", 99)+"\n", 20)
	noPad := strings.Replace(photoshopPacket, padding, "", 1)
	out0, err := Build([]byte(noPad), f)
	if err != nil {
		t.Fatal(err)
	}
	growth := len(out0) - len(noPad)
	short := strings.Replace(photoshopPacket, padding, "\n\n\n", 1) // with the "\n" before: 4 bytes, 2 usable
	out3, err := Build([]byte(short), f)
	if err != nil {
		t.Fatal(err)
	}
	if len(out3) != len(short)+growth-2 || !bytes.HasSuffix(out3, []byte("</x:xmpmeta>\n\n<?xpacket end=\"w\"?>")) {
		t.Errorf("short padding: %d bytes (want %d), ends %q", len(out3), len(short)+growth-2, out3[len(out3)-40:])
	}
	t.Logf("growth without padding: %d bytes", growth)
	t.Logf("merged packet: %d → %d bytes:\n%s", len(existing), len(out), out)

	// Relabelling the output replaces our own properties and adds nothing twice.
	g := labelFields()
	g.InstanceID = "xmp.iid:second"
	g.Description = []LangText{{"en", "second"}}
	out2, err := Build(out, g)
	if err != nil {
		t.Fatal(err)
	}
	info2, err := Parse(out2)
	if err != nil {
		t.Fatal(err)
	}
	if info2.InstanceID != "xmp.iid:second" || !reflect.DeepEqual(info2.Description, []LangText{{"x-default", "second"}, {"en", "second"}}) {
		t.Errorf("relabel: %+v", info2)
	}
	for _, n := range []string{"InstanceID", "DocumentID"} {
		if vs := topLevel(t, out2, NSXMPMM, n); len(vs) != 1 {
			t.Errorf("relabel: %s appears %d times", n, len(vs))
		}
	}
	if n := bytes.Count(out2, []byte("<?xpacket")); n != 2 {
		t.Errorf("%d xpacket instructions", n)
	}
}

func TestMergeForms(t *testing.T) {
	const rdfNS = `xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"`
	const ipNS = `xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"`
	f := Fields{DigitalSourceType: TrainedAlgorithmicMedia, InstanceID: "xmp.iid:1", DocumentID: "xmp.did:1",
		Description: []LangText{{"kk", kazakh}}}
	for _, c := range []struct {
		name, in  string
		about     string
		docID     string
		keep      []string
		absentOld string
	}{
		{name: "attribute on self-closing description",
			in:    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF ` + rdfNS + `><rdf:Description rdf:about="" ` + ipNS + ` xmlns:a="urn:a" a:keep="1" Iptc4xmpExt:DigitalSourceType="old"/></rdf:RDF></x:xmpmeta>`,
			docID: "xmp.did:1", keep: []string{`a:keep="1"`}, absentOld: `"old"`},
		{name: "resource form",
			in:    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF ` + rdfNS + `><rdf:Description rdf:about="" ` + ipNS + `><Iptc4xmpExt:DigitalSourceType rdf:resource="http://old"/><Iptc4xmpExt:Other>k</Iptc4xmpExt:Other></rdf:Description></rdf:RDF></x:xmpmeta>`,
			docID: "xmp.did:1", keep: []string{`<Iptc4xmpExt:Other>k</Iptc4xmpExt:Other>`}, absentOld: "http://old"},
		{name: "self-closing rdf:RDF, no wrapper, XML declaration",
			in:    `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF ` + rdfNS + `/></x:xmpmeta>`,
			docID: "xmp.did:1"},
		{name: "no x:xmpmeta, other rdf prefix, about uuid, BOM, trailing NULs",
			in:    "\ufeff" + `<R:RDF xmlns:R="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><R:Description R:about="uuid:faf5bdd5-ba3d-11da-ad31-d33d75182f1b" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/"><xmpMM:DocumentID>uuid:keep-me</xmpMM:DocumentID><xmpMM:InstanceID>uuid:old-instance</xmpMM:InstanceID></R:Description></R:RDF>` + "\x00\x00\x00",
			about: "uuid:faf5bdd5-ba3d-11da-ad31-d33d75182f1b", docID: "uuid:keep-me", absentOld: "old-instance"},
		{name: "rdf prefix bound to something else inside",
			in:    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><RDF xmlns="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:rdf="urn:not-rdf"><Description about=""/></RDF></x:xmpmeta>`,
			docID: "xmp.did:1"},
		{name: "empty DocumentID is replaced",
			in:    `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF ` + rdfNS + `><rdf:Description rdf:about="" xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" xmpMM:DocumentID=""/></rdf:RDF></x:xmpmeta>`,
			docID: "xmp.did:1"},
		{name: "dc prefix bound to another namespace outside",
			in:    `<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:dc="urn:other"><rdf:RDF ` + rdfNS + `><rdf:Description rdf:about="" dc:description="not dc"/></rdf:RDF></x:xmpmeta>`,
			docID: "xmp.did:1", keep: []string{`dc:description="not dc"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Build([]byte(c.in), f)
			if err != nil {
				t.Fatal(err)
			}
			wellFormed(t, out)
			info, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if info.DigitalSourceType != f.DigitalSourceType || info.InstanceID != f.InstanceID || info.DocumentID != c.docID ||
				info.DescriptionIn("kk") != kazakh || info.DescriptionIn("") != kazakh {
				t.Errorf("got %+v\n%s", info, out)
			}
			if n := len(topLevel(t, out, NSIptc4xmpExt, "DigitalSourceType")); n != 1 {
				t.Errorf("%d DigitalSourceType", n)
			}
			doc, _ := scan(out)
			for _, d := range doc.descs {
				if d.about != c.about {
					t.Errorf("rdf:about %q, want %q", d.about, c.about)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(string(out), k) {
					t.Errorf("lost %q", k)
				}
			}
			if c.absentOld != "" && strings.Contains(string(out), c.absentOld) {
				t.Errorf("old value %q survived", c.absentOld)
			}
			if !bytes.Contains(out, []byte("<?xpacket begin=")) || !bytes.HasSuffix(out, []byte(`<?xpacket end="w"?>`)) {
				t.Errorf("no packet wrapper:\n%s", out)
			}
			if strings.HasPrefix(c.in, "<?xml") && !bytes.HasPrefix(out, []byte("<?xml")) {
				t.Error("the XML declaration is no longer first")
			}
			t.Logf("%s", out)
		})
	}
}

func TestProvenanceAndGet(t *testing.T) {
	in := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="https://example.com/m.c2pa"/>
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>plain text, not an Alt</dc:description>
<dc:subject><rdf:Bag/></dc:subject><dc:rights rdf:parseType="Resource"><dc:x>y</dc:x></dc:rights></rdf:Description></rdf:RDF></x:xmpmeta>`
	info, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if info.Provenance != "https://example.com/m.c2pa" || info.DescriptionIn("en") != "plain text, not an Alt" ||
		info.Get(NSDC, "subject") != "" || info.Get(NSDC, "rights") != "" || info.Get(NSDC, "x") != "" || info.Get("urn:none", "a") != "" {
		t.Errorf("%+v", info)
	}
}

func TestFieldErrors(t *testing.T) {
	for _, f := range []Fields{
		{CreatorTool: "bad \xff utf-8"},
		{CreatorTool: "control \x01"},
		{DigitalSourceType: "nul \x00"},
		{Description: []LangText{{"en us", "x"}}},
		{Description: []LangText{{"en", "x"}, {"EN", "y"}}},
		{Extra: []Property{{NS: "", Prefix: "a", Name: "b", Value: "c"}}},
		{Extra: []Property{{NS: "urn:a", Prefix: "a", Name: "b:c", Value: "c"}}},
		{Extra: []Property{{NS: "urn:a", Prefix: "xmlfoo", Name: "b", Value: "c"}}},
		{Extra: []Property{{NS: NSRDF, Prefix: "rdf", Name: "b", Value: "c"}}},
		{DigitalSourceType: "a", Extra: []Property{{NS: NSIptc4xmpExt, Prefix: "I", Name: "DigitalSourceType", Value: "b"}}},
		{Extra: []Property{{NS: "urn:a", Name: "b", Value: "1"}, {NS: "urn:a", Name: "b", Value: "2"}}},
		{CreatorTool: strings.Repeat("x", MaxValue+1)},
	} {
		if _, err := Build(nil, f); err == nil {
			t.Errorf("Build(%+v) succeeded, want an error", f)
		}
	}
	// Prefix clashes are resolved, not errors.
	f := Fields{CreatorTool: "a", Extra: []Property{
		{NS: "urn:one", Prefix: "xmp", Name: "p", Value: "1"},
		{NS: "urn:two", Prefix: "xmp", Name: "p", Value: "2"},
		{NS: NSXMP, Prefix: "other", Name: "Rating", Value: "5"},
		{NS: "urn:three", Name: "p", Value: "3"},
		{NS: "urn:four", Prefix: "ns1", Name: "p", Value: "4"},
	}}
	out, err := Build(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, out)
	info, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range f.Extra {
		if got := info.Get(e.NS, e.Name); got != e.Value {
			t.Errorf("Get(%s, %s) = %q, want %q\n%s", e.NS, e.Name, got, e.Value, out)
		}
	}
}

func TestMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"garbage":          "\x89PNG\r\n\x1a\n garbage",
		"not xmp":          `<html><body>hello</body></html>`,
		"no rdf":           `<x:xmpmeta xmlns:x="adobe:ns:meta/"/>`,
		"two rdf":          `<a><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></a>`,
		"unclosed":         `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">`,
		"mismatched":       `<a><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"></b></a>`,
		"utf-16 declared":  `<?xml version="1.0" encoding="UTF-16"?><a/>`,
		"NUL inside":       "<a>\x00</a>",
		"undefined entity": `<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`,
		"bad utf-8":        "<a>\xff\xfe</a>",
	} {
		_, perr := Parse([]byte(in))
		_, berr := Build([]byte(in), labelFields())
		for _, err := range []error{perr, berr} {
			if !errors.Is(err, ErrMalformed) || !errors.Is(err, formats.ErrMalformed) {
				t.Errorf("%s: %v, want ErrMalformed", name, err)
			}
		}
	}
	big := make([]byte, MaxPacket+1)
	if _, err := Parse(big); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	// Every truncation of a real packet errors or parses; none panics, and what Build accepts it
	// turns into a packet that parses.
	p := []byte(photoshopPacket)
	for n := 0; n <= len(p); n += 13 {
		if _, err := Parse(p[:n]); errors.Is(err, errInternal) {
			t.Fatalf("Parse(p[:%d]): %v", n, err)
		}
		out, err := Build(p[:n], labelFields())
		if errors.Is(err, errInternal) {
			t.Fatalf("Build(p[:%d]): %v", n, err)
		}
		if err == nil {
			if _, err := Parse(out); err != nil {
				t.Fatalf("Build(p[:%d]) produced an unparseable packet: %v", n, err)
			}
		}
	}
}

// TestDeepNesting: deep nesting must not blow the stack or take long.
func TestDeepNesting(t *testing.T) {
	n := 20000
	in := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description><a:b xmlns:a="urn:a">` +
		strings.Repeat("<a:c>", n) + strings.Repeat("</a:c>", n) + `</a:b></rdf:Description></rdf:RDF></x:xmpmeta>`
	_, err := Parse([]byte(in))
	if errors.Is(err, errInternal) {
		t.Fatal(err)
	}
	t.Logf("depth %d: %v", n, err)
}

// runExiftool writes each packet to a .xmp file and returns exiftool's JSON for each and the
// warnings and errors of exiftool -validate (one exiftool start per call: perl is slow to start).
func runExiftool(t *testing.T, exiftool string, packets [][]byte, args ...string) ([]map[string]any, []string) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, p := range packets {
		files = append(files, filepath.Join(dir, fmt.Sprintf("label%d.xmp", i)))
		if err := os.WriteFile(files[i], p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(exiftool, append(append([]string{"-j", "-a", "-G1", "-n"}, args...), files...)...).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	var res []map[string]any
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(files) {
		t.Fatalf("exiftool output %s: %v", out, err)
	}
	for i := range res {
		if res[i]["SourceFile"] != files[i] {
			t.Fatalf("exiftool reports %v in place of %s", res[i]["SourceFile"], files[i])
		}
	}
	warn, err := exec.Command(exiftool, append([]string{"-a", "-s", "-s", "-validate", "-warning", "-error"}, files...)...).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	var warnings []string
	for _, line := range strings.Split(string(warn), "\n") {
		if strings.HasPrefix(line, "Warning") || strings.HasPrefix(line, "Error") {
			warnings = append(warnings, line)
		}
	}
	return res, warnings
}

func TestExiftool(t *testing.T) {
	exiftool := needTool(t, "exiftool", "libimage-exiftool-perl")
	f := labelFields()
	fresh, err := Build(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Build([]byte(photoshopPacket), f)
	if err != nil {
		t.Fatal(err)
	}
	res, warnings := runExiftool(t, exiftool, [][]byte{fresh, merged}, "-XMP:all")
	for _, w := range warnings {
		t.Errorf("exiftool -validate: %s", w)
	}
	for i, m := range res {
		want := map[string]string{
			"XMP-iptcExt:DigitalSourceType": f.DigitalSourceType,
			"XMP-xmpMM:InstanceID":          f.InstanceID,
			"XMP-xmpMM:DocumentID":          f.DocumentID,
			"XMP-xmp:CreatorTool":           f.CreatorTool,
			"XMP-dc:Description":            kazakh, // x-default
			"XMP-dc:Description-kk":         kazakh,
			"XMP-dc:Description-ru":         russian,
			"XMP-dc:Description-en":         english,
			"XMP-dc:Description-zh":         chinese,
			"XMP-plus:DataMining":           f.Extra[1].Value,
			"XMP-TC260:Aigc":                tc260Value, // exiftool names unknown tags this way
		}
		if i == 1 {
			want["XMP-xmpMM:DocumentID"] = "adobe:docid:photoshop:5f3c2b1a-0e9d-8c7b-6a5f-4e3d2c1b0a9f"
			want["XMP-photoshop:ColorMode"] = "3"
			want["XMP-dc:Format"] = "image/jpeg"
			want["XMP-dc:Title"] = "Sunset over Almaty"
			want["XMP-dc:Creator"] = "Jane Doe"
			want["XMP-xmpMM:OriginalDocumentID"] = "xmp.did:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
			want["XMP-xmp:CreateDate"] = "2024:05:01 12:34:56+06:00"
			want["XMP-exif:ExifImageWidth"] = "1024"
			want["XMP-iptcExt:ArtworkTitle"] = "Mural"
			want["XMP-xmpMM:HistoryAction"] = `["created","saved"]`
		}
		for k, w := range want {
			if got := jsonString(m[k]); got != w && got != strconv.Quote(w) {
				t.Errorf("packet %d: exiftool %s = %s, want %q", i, k, got, w)
			}
		}
		if t.Failed() {
			t.Logf("exiftool JSON: %v\npacket:\n%s", m, [][]byte{fresh, merged}[i])
		}
	}
}

// jsonString returns v as JSON, with HTML characters not escaped.
func jsonString(v any) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func fuzzSeeds() [][]byte {
	fresh, _ := Build(nil, labelFields())
	merged, _ := Build([]byte(photoshopPacket), labelFields())
	return [][]byte{
		[]byte(photoshopPacket), fresh, merged, nil,
		[]byte(`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>`),
		[]byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:a="urn:a" a:b="1"><a:c rdf:resource="r"/></rdf:Description></rdf:RDF></x:xmpmeta>`),
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Parse(b); errors.Is(err, errInternal) {
			t.Fatal(err)
		}
	})
}

// FuzzBuild merges fuzzed fields into a fuzzed packet. When Build succeeds: the output parses,
// carries every non-empty field, keeps the input's DocumentID, and every top-level property
// Build does not set keeps its value.
func FuzzBuild(f *testing.F) {
	for i, s := range fuzzSeeds() {
		f.Add(s, TrainedAlgorithmicMedia, "model", []string{"kk", "", "en"}[i%3], kazakh, "xmp.did:x")
	}
	f.Fuzz(func(t *testing.T, existing []byte, dst, tool, lang, desc, docID string) {
		fields := Fields{DigitalSourceType: dst, CreatorTool: tool, DocumentID: docID}
		if desc != "" {
			fields.Description = []LangText{{lang, desc}}
		}
		orig := bytes.Clone(existing)
		out, err := Build(existing, fields)
		if !bytes.Equal(existing, orig) {
			t.Fatal("Build modified its input")
		}
		if err != nil {
			if errors.Is(err, errInternal) {
				t.Fatal(err)
			}
			return
		}
		got, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Build()) failed: %v\n%q", err, out)
		}
		if (dst != "" && got.DigitalSourceType != dst) || (tool != "" && got.CreatorTool != tool) ||
			(desc != "" && got.DescriptionIn(lang) != desc) {
			t.Fatalf("fields not read back: %+v\n%q", got, out)
		}
		before, err := Parse(existing)
		if err != nil {
			if len(bytes.TrimRight(existing, "\x00 \t\r\n")) == 0 {
				return
			}
			t.Fatalf("Build accepted what Parse rejects: %v", err)
		}
		if docID != "" && strings.TrimSpace(before.DocumentID) != "" && got.DocumentID != before.DocumentID {
			t.Fatalf("DocumentID %q replaced by %q", before.DocumentID, got.DocumentID)
		}
		set := map[propKey]bool{{NSIptc4xmpExt, "DigitalSourceType"}: dst != "", {NSXMP, "CreatorTool"}: tool != "",
			{NSDC, "description"}: desc != "", {NSXMPMM, "DocumentID"}: docID != ""}
		for k, v := range before.props {
			if !set[k] && got.props[k] != v {
				t.Fatalf("property %v changed from %q to %q", k, v, got.props[k])
			}
		}
	})
}
