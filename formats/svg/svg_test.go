package svg

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
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
	formatstest.CheckReferencePair(t, &Format, sample(t, "unsigned.svg"), sample(t, "c2pa-rs-signed.svg"))
}

func TestMatch(t *testing.T) {
	long := "<!-- " + strings.Repeat("x", 80) + " -->\n<svg>"
	for _, c := range []struct {
		head string
		want bool
	}{
		{"<svg xmlns='http://www.w3.org/2000/svg'>", true},
		{"\xEF\xBB\xBF  \n<?xml version=\"1.0\"?>\n<!-- made by hand -->\n<svg>", true},
		{"<?xml version=\"1.0\"?><!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">", true},
		{long[:formats.SniffLen], false},                              // a long comment without an XML declaration: text or HTML
		{("<?xml version=\"1.0\"?>" + long)[:formats.SniffLen], true}, // XML whose prolog runs past the head: Open decides
		{"<?xml version=\"1.0\"?><!DOCTYPE svg>", true},
		{"<?xml version=\"1.0\"?><!DOCTYPE html>", false},
		{"<?xml version=\"1.0\"?><html>", false},
		{"<!DOCTYPE html><html>", false},
		{"<svgfoo>", false},
		{"svg", false},
		{"<?php echo 1; ?><svg>", false},
	} {
		h := []byte(c.head)
		if len(h) > formats.SniffLen {
			h = h[:formats.SniffLen]
		}
		if Match(h) != c.want {
			t.Errorf("Match(%q) = %v", c.head, !c.want)
		}
	}
}

func TestScan(t *testing.T) {
	store := []byte("jumb store bytes \x00\xff")
	b64 := base64.StdEncoding.EncodeToString(store)
	xmp := `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>`
	in := "<?xml version=\"1.0\"?>\n<!DOCTYPE svg [ <!ENTITY e \"<c2pa:manifest>\"> ]>\n<!-- <c2pa:manifest>Zm9v</c2pa:manifest> -->\n" +
		`<svg xmlns="http://www.w3.org/2000/svg" data-x="a > <c2pa:manifest>" xmlns:c2pa="http://c2pa.org/manifest">` +
		`<![CDATA[ <c2pa:manifest>YmFy</c2pa:manifest> ]]><c2pa:manifest/>` +
		"<metadata>" + xmp + "<c2pa:manifest>\n" + b64[:8] + "\n  " + b64[8:] + "</c2pa:manifest></metadata><rect/></svg>"
	f, err := openBytes([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.ManifestStore()
	if err != nil || !bytes.Equal(got, store) {
		t.Fatalf("store %q, %v", got, err)
	}
	if string(f.XMP()) != xmp {
		t.Fatalf("XMP %q", f.XMP())
	}
	// A manifest element without the c2pa prefix counts inside <metadata> only.
	if f, err := openBytes([]byte("<svg><manifest>Zm9v</manifest><metadata><m:manifest>YmFy</m:manifest></metadata></svg>")); err != nil {
		t.Fatal(err)
	} else if got, _ := f.ManifestStore(); string(got) != "bar" {
		t.Fatalf("store %q", got)
	}
	// Bad base64 is an error from ManifestStore, not ErrNoManifest.
	if f, err := openBytes([]byte("<svg><metadata><c2pa:manifest>!!!</c2pa:manifest></metadata></svg>")); err != nil {
		t.Fatal(err)
	} else if _, err := f.ManifestStore(); err == nil || errors.Is(err, formats.ErrNoManifest) {
		t.Fatalf("bad base64: %v", err)
	}
}

func TestHostile(t *testing.T) {
	for name, c := range map[string]struct {
		in   string
		want error
	}{
		"not svg":       {"<?xml version='1.0'?><html></html>", formats.ErrUnsupported},
		"no root":       {"<?xml version='1.0'?>", formats.ErrUnsupported},
		"open comment":  {"<svg><!-- ", formats.ErrMalformed},
		"open tag":      {"<svg><rect x='>", formats.ErrMalformed},
		"open manifest": {"<svg><c2pa:manifest>Zm9v", formats.ErrMalformed},
		"open doctype":  {"<!DOCTYPE svg [ <!ENTITY a 'b'> ", formats.ErrMalformed},
		"long name":     {"<svg><" + strings.Repeat("a", maxName+1) + ">", formats.ErrMalformed},
		"open PI":       {"<?xml ", formats.ErrMalformed},
		"open CDATA":    {"<svg><![CDATA[", formats.ErrMalformed},
	} {
		f, err := openBytes([]byte(c.in))
		if err == nil {
			_, err = f.ManifestStore() // a damaged manifest element is the store's error
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestStoreTooLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~90 MB")
	}
	in := append([]byte("<svg><c2pa:manifest>"), bytes.Repeat([]byte("A"), (MaxStoreLen+2)/3*4+1)...)
	if _, err := openBytes(in); !errors.Is(err, formats.ErrTooLarge) {
		t.Fatalf("huge manifest element: %v", err)
	}
}

func FuzzOpen(f *testing.F) {
	for _, name := range []string{"unsigned.svg", "c2pa-rs-signed.svg"} {
		f.Add(sample(f, name))
	}
	f.Add([]byte("<!DOCTYPE svg [<!ENTITY a '>'>]><svg><![CDATA[x]]><metadata><x:xmpmeta/><x:xmpmeta></x:xmpmeta><c2pa:manifest>Zm9v</c2pa:manifest></metadata></svg>"))
	f.Fuzz(func(t *testing.T, in []byte) {
		g, err := openBytes(in)
		if err != nil {
			return
		}
		if s, err := g.ManifestStore(); err == nil && len(s) > len(in) {
			t.Fatalf("store of %d bytes from %d input bytes", len(s), len(in))
		}
		if len(g.XMP()) > len(in) {
			t.Fatal("XMP longer than the input")
		}
	})
}
