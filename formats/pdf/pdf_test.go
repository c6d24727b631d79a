package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/formatstest"
)

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openBytes(b []byte) (*File, error) { return Open(bytes.NewReader(b), int64(len(b))) }

func TestReferenceFiles(t *testing.T) {
	formatstest.CheckReferencePair(t, &Format, sample(t, "unsigned.pdf"), sample(t, "c2pa-rs-signed.pdf"))
}

// pdfOf joins objects into a PDF body (no xref: Open does not need one).
func pdfOf(objs ...string) []byte {
	b := []byte("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")
	for _, o := range objs {
		b = append(b, o...)
		b = append(b, '\n')
	}
	return append(b, "trailer\n<</Root 1 0 R>>\n%%EOF\n"...)
}

func streamObj(id, dict string, data []byte) string {
	return id + " obj\n<<" + dict + ">>\nstream\r\n" + string(data) + "\nendstream\nendobj"
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

const specObj = "7 0 obj\n<< /Type /Filespec /AFRelationship /C2PA_Manifest /Subtype /application#2Fc2pa /F (c.c2pa) /EF << /F 6 0 R >> >>\nendobj"

func TestEmbeddedFiles(t *testing.T) {
	store := []byte("jumb: the store (with) \\ bytes endobj 1 0 obj")
	catalog := "1 0 obj\n<< /Type /Catalog /AF [7 0 R] >>\nendobj"
	// A binary stream that contains fake object headers and the marker.
	noise := streamObj("3 0", "/Length 40", []byte("\x00\xff 6 0 obj <</Length 1>>stream\n/C2PA_Manifest"))
	for name, c := range map[string]struct {
		in   []byte
		want []byte
	}{
		"plain": {pdfOf(catalog, noise, streamObj("6 0", "/Type /EmbeddedFile /Length "+itoa(len(store)), store), specObj), store},
		"flate, indirect length": {pdfOf(catalog, streamObj("6 0", "/Length 8 0 R /Filter /FlateDecode", deflate(store)),
			"8 0 obj "+itoa(len(deflate(store)))+" endobj", specObj), store},
		"filter array, EF by reference": {pdfOf(catalog, streamObj("6 0", "/Length "+itoa(len(deflate(store)))+" /Filter [/FlateDecode] /DecodeParms [null]", deflate(store)),
			"9 0 obj << /F 6 0 R >> endobj", "7 0 obj <</AFRelationship/C2PA_Manifest/EF 9 0 R>> endobj"), store},
		"inline file specification": {pdfOf("1 0 obj << /Type /Catalog /AF [ << /AFRelationship /C2PA_Manifest /EF << /F 6 0 R >> >> ] >> endobj",
			streamObj("6 0", "/Length 3", []byte("abc"))), []byte("abc")},
		// An incremental update redefines the stream: the last definition wins.
		"incremental update": {append(pdfOf(catalog, streamObj("6 0", "/Length 3", []byte("old")), specObj),
			[]byte(streamObj("6 0", "/Length 3", []byte("new"))+"\nxref\n0 0\ntrailer <</Prev 9>>\n%%EOF\n")...), []byte("new")},
		"no manifest": {pdfOf(catalog, noise), nil},
	} {
		f, err := openBytes(c.in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := f.ManifestStore()
		if c.want == nil {
			if !errors.Is(err, formats.ErrNoManifest) {
				t.Fatalf("%s: %q %v", name, got, err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.want) {
			t.Fatalf("%s: store %q %v, want %q", name, got, err, c.want)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHostile(t *testing.T) {
	bomb := deflate(make([]byte, MaxStoreLen+1))
	for name, c := range map[string]struct {
		in   []byte
		want error
	}{
		"length past EOF": {pdfOf(streamObj("6 0", "/Length 99999", []byte("abc")), specObj), formats.ErrMalformed},
		"negative length": {pdfOf(streamObj("6 0", "/Length -1", []byte("abc")), specObj), formats.ErrMalformed},
		"undefined":       {pdfOf(specObj), formats.ErrMalformed},
		"reference loop":  {pdfOf(streamObj("6 0", "/Length 8 0 R", []byte("abc")), "8 0 obj 8 0 R endobj", specObj), formats.ErrMalformed},
		"no stream":       {pdfOf("6 0 obj << /Length 3 >> endobj", specObj), formats.ErrMalformed},
		"bad zlib":        {pdfOf(streamObj("6 0", "/Length 3 /Filter /FlateDecode", []byte("abc")), specObj), formats.ErrMalformed},
		"predictor":       {pdfOf(streamObj("6 0", "/Length 3 /Filter /FlateDecode /DecodeParms << /Predictor 12 >>", []byte("abc")), specObj), formats.ErrUnsupported},
		"other filter":    {pdfOf(streamObj("6 0", "/Length 3 /Filter /LZWDecode", []byte("abc")), specObj), formats.ErrUnsupported},
		"no EF":           {pdfOf("7 0 obj << /AFRelationship /C2PA_Manifest >> endobj"), formats.ErrMalformed},
		"deep nesting":    {pdfOf("7 0 obj " + strings.Repeat("[", 100) + "/C2PA_Manifest" + strings.Repeat("]", 100) + " endobj"), formats.ErrMalformed},
		"unclosed dict":   {pdfOf("7 0 obj << /AFRelationship /C2PA_Manifest /EF << /F (x"), formats.ErrMalformed},
		"zip bomb":        {pdfOf(streamObj("6 0", "/Length "+itoa(len(bomb))+" /Filter /FlateDecode", bomb), specObj), formats.ErrTooLarge},
	} {
		f, err := openBytes(c.in)
		if err == nil {
			_, err = f.ManifestStore()
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := openBytes([]byte("%PD")); !errors.Is(err, formats.ErrMalformed) {
		t.Errorf("short: %v", err)
	}
}

func TestObjHeader(t *testing.T) {
	for in, want := range map[string]bool{"\n12 0 obj": true, "x12 0 obj": false, "\n1 0  obj": true, "\n0 obj": false, "\n12345678901 0 obj": false, ">1\r0\nobj": true} {
		if _, _, ok := objHeader([]byte(in)); ok != want {
			t.Errorf("objHeader(%q) = %v", in, ok)
		}
	}
}

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"unsigned.pdf", "c2pa-rs-signed.pdf"} {
		f.Add(sample(f, name))
	}
	f.Add(pdfOf(streamObj("6 0", "/Length 8 0 R /Filter /FlateDecode", deflate([]byte("store"))), "8 0 obj 13 endobj", specObj))
	f.Add(pdfOf("1 0 obj << /AF [ << /AFRelationship /C2PA_Manifest /EF 9 0 R >> ] /S <4142> /T (a\\)b(c)) /N 1.5 >> endobj"))
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := openBytes(in)
		if err != nil {
			return
		}
		g.ManifestStore()
	})
}
