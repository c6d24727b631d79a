package text

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
	"golang.org/x/text/unicode/norm"
)

func fuzzSeeds(f *testing.F) {
	w := EncodeWrapper([]byte("store"))
	for _, s := range []string{
		"hello world",
		"Қазақ мәтіні ӘҒҚҢӨҰҮҺІ\r\nCafe\u0301 人工智能 👍🏽",
		"hello" + string(w),
		"a" + string(w) + "b" + string(w),
		"⚠ warning\n\nbody\n\n⚠ warning\n",
		"# Title\n<!-- " + BeginDelimiter + " " + DataURI([]byte("x")) + " " + EndDelimiter + " -->\n> ⚠ note\n\ntext\n",
		"---\n# " + BeginDelimiter + " https://e.com/m " + EndDelimiter + "\n---\nbody",
		"\ufeff" + BeginDelimiter + EndDelimiter,
		"<!DOCTYPE html>\n<html><head><title>x</title>" + ScriptElement([]byte("s")) + "</head><body><p>a</p></body></html>",
		"<!doctype html><head>" + LinkElement("https://e.com/x") + "<meta name=ai-generated content=true></head><body>" +
			"<div role=note data-ai-disclosure=ailabel><p lang=kk>⚠ x</p></div></body>",
		"<html><script>\"</script><!-- <script type='application/c2pa'>AA==</script> --><textarea></body></textarea>",
	} {
		f.Add([]byte(s))
	}
	out, _, _, _ := write(f, []byte("Some text\n"), formats.Edit{StoreLen: 20, Notice: withPlacement(testNotice, "both")})
	f.Add(out)
	out, _, _, _ = write(f, []byte("<!doctype html><html><head></head><body>x</body></html>"), formats.Edit{StoreLen: 20, Notice: withPlacement(testNotice, "both")})
	f.Add(out)
}

// FuzzOpen: opening, laying out and writing any bytes as text, Markdown or HTML never panics; an
// output re-opens with the store written into it, is NFC, and carries the disclaimer.
func FuzzOpen(f *testing.F) {
	fuzzSeeds(f)
	xmpPacket := []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>`)
	f.Fuzz(func(t *testing.T, in []byte) {
		for kind := 0; kind < 3; kind++ {
			var c writable
			var err error
			switch kind {
			case 0, 1:
				var tf *File
				tf, err = Open(bytes.NewReader(in), int64(len(in)), kind == 1)
				if err == nil {
					c = tf
				}
			case 2:
				var hf *HTMLFile
				hf, err = OpenHTML(bytes.NewReader(in), int64(len(in)))
				if err == nil {
					c = hf
				}
			}
			if err != nil {
				if utf8.Valid(in) && bytes.IndexByte(in, 0) < 0 && !errors.Is(err, formats.ErrTooLarge) {
					t.Fatalf("kind %d: Open of UTF-8 text failed: %v", kind, err)
				}
				continue
			}
			c.ManifestStore()
			c.Notices()
			for _, e := range []formats.Edit{
				{StoreLen: 0},
				{StoreLen: 5, Notice: withPlacement(testNotice, "both"), XMP: xmpPacket},
			} {
				l, err := c.Layout(e)
				if err != nil {
					continue // documented refusals: damaged old manifests
				}
				store := bytes.Repeat([]byte{0xA5}, e.StoreLen)
				var out bytes.Buffer
				if _, err := l.WriteTo(&out, bytes.NewReader(in), store); err != nil {
					t.Fatalf("kind %d: WriteTo: %v", kind, err)
				}
				b := out.Bytes()
				if !norm.NFC.IsNormal(b) {
					t.Fatalf("kind %d: output is not NFC: %q", kind, b)
				}
				var d writable
				if kind == 2 {
					d, err = OpenHTML(bytes.NewReader(b), int64(len(b)))
				} else {
					d, err = Open(bytes.NewReader(b), int64(len(b)), kind == 1)
				}
				if err != nil {
					t.Fatalf("kind %d: re-Open: %v", kind, err)
				}
				if got, err := d.ManifestStore(); err != nil || !bytes.Equal(got, store) {
					t.Fatalf("kind %d: re-opened store %x, %v\n%q", kind, got, err, b)
				}
				if e.Notice != nil && len(d.Notices()) < len(testNotice.Texts) {
					t.Fatalf("kind %d: %d notice texts in %q", kind, len(d.Notices()), b)
				}
			}
		}
	})
}

// FuzzDecodeWrapper: finding wrappers in any bytes never panics; a wrapper found decodes the
// same from a copy with the wrapper re-encoded, and every reported range is inside the input.
func FuzzDecodeWrapper(f *testing.F) {
	fuzzSeeds(f)
	f.Add(EncodeWrapper(nil))
	f.Add(append([]byte("\ufeff"), appendVS(nil, []byte(WrapperMagic+"\x01\x00\x00\x00\x02ab\x00\x10"))...))
	f.Fuzz(func(t *testing.T, in []byte) {
		ws, err := FindWrappers(in)
		if err != nil {
			return
		}
		for _, w := range ws {
			if w.Start < 0 || w.End > int64(len(in)) || w.Start >= w.End {
				t.Fatalf("wrapper range [%d,%d) of %d bytes", w.Start, w.End, len(in))
			}
			re := EncodeWrapper(w.Store)
			got, err := DecodeWrapper(re)
			if err != nil || !bytes.Equal(got.Store, w.Store) {
				t.Fatalf("re-encoded wrapper: %v", err)
			}
		}
		// The streaming scanner finds the same wrappers.
		if utf8.Valid(in) && bytes.IndexByte(in, 0) < 0 {
			si, err := scanTextChunks(bytes.NewReader(in), int64(len(in)), "text", 7)
			if err != nil {
				t.Fatal(err)
			}
			if len(si.wrappers) != len(ws) {
				t.Fatalf("scanner found %d wrappers, FindWrappers %d", len(si.wrappers), len(ws))
			}
			if len(ws) > 0 && !bytes.Equal(si.wrappers[0].Store, ws[0].Store) {
				t.Fatal("scanner and FindWrappers disagree on the store")
			}
		}
	})
}
