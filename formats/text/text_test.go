package text

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"golang.org/x/text/unicode/norm"
)

var testNotice = &formats.Notice{Texts: []formats.NoticeText{
	{Lang: "kk", Text: "Жасанды интеллект арқылы жасалған контент"},
	{Lang: "ru", Text: "Контент создан с помощью искусственного интеллекта"},
	{Lang: "en", Text: "AI-generated content <b>&</b>"},
}}

func withPlacement(n *formats.Notice, p string) *formats.Notice {
	c := *n
	c.Placement = p
	return &c
}

type writable interface {
	formats.Writable
	formats.NoticeReader
}

func openAny(t testing.TB, b []byte) writable {
	t.Helper()
	c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("formats.Open: %v", err)
	}
	w, ok := c.(writable)
	if !ok {
		t.Fatalf("%T is not writable with notices", c)
	}
	return w
}

// write lays out in with e and a store of e.StoreLen pseudo-random bytes, and returns the output,
// the store and the framed store's range.
func write(t testing.TB, in []byte, e formats.Edit) (out, store []byte, off, n int64) {
	t.Helper()
	c := openAny(t, in)
	l, err := c.Layout(e)
	if err != nil {
		t.Fatalf("Layout: %v", err)
	}
	store = make([]byte, e.StoreLen)
	for i := range store {
		store[i] = byte(i*7 + 3)
	}
	var b bytes.Buffer
	if _, err := l.WriteTo(&b, bytes.NewReader(in), store); err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	off, n = l.StoreOffset()
	if b.Len() != int(l.Size()) {
		t.Fatalf("wrote %d bytes, layout says %d", b.Len(), l.Size())
	}
	return b.Bytes(), store, off, n
}

func TestMatch(t *testing.T) {
	long := strings.Repeat("中", 30) // 90 bytes: a full head cuts a rune
	for _, c := range []struct {
		head           string
		text, md, html bool
	}{
		{"hello", true, false, false},
		{"Қазақ тілі", true, false, false},
		{long[:formats.SniffLen], true, false, false},
		{long[:formats.SniffLen-1], true, false, false},
		{long[:formats.SniffLen-2], false, false, false}, // a short file that ends inside a rune
		{"\xef\xbb\xbfplain", true, false, false},
		{"# Title\n", true, true, false},
		{"### Title\n", true, true, false},
		{"####### not a heading", true, false, false},
		{"#hashtag", true, false, false},
		{"---\ntitle: x\n---\n", true, true, false},
		{"+++\ntitle = 'x'\n+++\n", true, true, false},
		{"<!-- -----BEGIN C2PA MANIFEST----- data:", true, true, false},
		{"<!DOCTYPE html>\n<html>", false, false, true},
		{"\xef\xbb\xbf  <!doctype HTML><html>", false, false, true},
		{"<!-- saved --><html lang=en>", true, false, true},
		{"<HTML>", false, false, true},
		{"<head><title>", false, false, false},
		{"<p align=center>readme", true, false, false},
		{"<htmlx>", true, false, false},
		{"<?xml version=\"1.0\"?>", false, false, false},
		{"<svg xmlns=", false, false, false},
		{"{\"a\": 1}", false, false, false},
		{"[{\"a\": 1}]", false, false, false},
		{"[1] a footnote", true, false, false},
		{"", false, false, false},
		{"a\x00b", false, false, false},
		{"\xff\xfeh\x00", false, false, false},
		{"caf\xc3", false, false, false},
		{"\x89PNG\r\n\x1a\n", false, false, false},
	} {
		h := []byte(c.head)
		if got := MatchText(h); got != c.text {
			t.Errorf("MatchText(%q) = %v", c.head, got)
		}
		if got := MatchMarkdown(h); got != c.md {
			t.Errorf("MatchMarkdown(%q) = %v", c.head, got)
		}
		if got := MatchHTML(h); got != c.html {
			t.Errorf("MatchHTML(%q) = %v", c.head, got)
		}
	}
}

// Each format lays out an output whose store slot frames exactly StoreLen bytes, re-opens with
// that store, is NFC, keeps the text outside the slot, and carries the disclaimer where asked.
func TestLayoutRoundTrip(t *testing.T) {
	cases := []struct {
		name, format, in string
	}{
		{"ascii", "text", "Hello, world. This is generated text.\n"},
		{"no final newline", "text", "Hello"},
		{"kazakh", "text", "Қазақстан Республикасы: ӘҒҚҢӨҰҮҺІ әғқңөұүһі.\n"},
		{"cjk", "text", "人工智能生成的内容。日本語のテキスト。한국어 텍스트.\n"},
		{"emoji", "text", "Family: 👨‍👩‍👧‍👦, heart ❤️, flag 🇰🇿\n"},
		{"crlf", "text", "line one\r\nline two\r\n"},
		{"mixed", "text", "one\r\ntwo\nthree\rfour\n"},
		{"bom", "text", "\ufeffwith a byte order mark\n"},
		{"non-nfc", "text", "Cafe\u0301 and A\u030a and \u1100\u1161\n"},
		{"markdown", "markdown", "# Title\n\nSome *text*.\n"},
		{"front matter", "markdown", "---\ntitle: Test\n---\n\n# Title\n\nBody.\n"},
		{"toml front matter", "markdown", "+++\ntitle = 'Test'\n+++\nBody.\n"},
		{"html", "html", "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<title>T</title>\n</head>\n<body>\n<p>Content é.</p>\n</body>\n</html>\n"},
		{"html no head", "html", "<!doctype html><title>x</title><p>hi"},
		{"html crlf", "html", "<!DOCTYPE html>\r\n<html>\r\n<head></head>\r\n<body>\r\n<p>x</p>\r\n</body>\r\n</html>\r\n"},
	}
	for _, c := range cases {
		for _, place := range []string{"", "start", "end", "both"} {
			t.Run(c.name+"/"+place, func(t *testing.T) {
				in := []byte(c.in)
				var n *formats.Notice
				if place != "" {
					n = withPlacement(testNotice, place)
				}
				f := openAny(t, in)
				if f.Format().Name != c.format {
					t.Fatalf("sniffed %s, want %s", f.Format().Name, c.format)
				}
				if _, err := f.ManifestStore(); !errors.Is(err, formats.ErrNoManifest) {
					t.Fatalf("input ManifestStore error %v", err)
				}
				for _, storeLen := range []int{0, 1, 2, 3, 1000} {
					e := formats.Edit{StoreLen: storeLen, Notice: n}
					out, store, off, k := write(t, in, e)
					if !norm.NFC.IsNormal(out) {
						t.Fatalf("output is not NFC: %q", out)
					}
					g := openAny(t, out)
					if g.Format().Name != c.format {
						t.Fatalf("output sniffed as %s", g.Format().Name)
					}
					got, err := g.ManifestStore()
					if err != nil || !bytes.Equal(got, store) {
						t.Fatalf("re-opened store %d bytes, %v; want %d", len(got), err, len(store))
					}
					rest := string(append(append([]byte(nil), out[:off]...), out[off+k:]...))
					want := norm.NFC.String(c.in)
					if c.format == "html" { // the line break after the script element is not in the slot
						want = want[:off] + rest[off:off+1] + want[off:]
						if rest[off] == '\r' {
							want = want[:off+1] + "\n" + want[off+1:]
						}
					}
					if got := withoutNotice(rest, c.format, n, strings.HasSuffix(want, "\n")); got != want {
						t.Fatalf("text outside the store and disclaimers:\n%q\nwant\n%q", got, want)
					}
					notices := g.Notices()
					if n == nil {
						if len(notices) != 0 {
							t.Fatalf("notices %v without a notice", notices)
						}
						continue
					}
					wantN := len(testNotice.Texts)
					if place == "both" {
						wantN *= 2
					}
					if len(notices) != wantN {
						t.Fatalf("found %d notice texts, want %d: %+v\n%s", len(notices), wantN, notices, rest)
					}
					for i, nt := range notices {
						w := testNotice.Texts[i%len(testNotice.Texts)]
						if nt.Text != w.Text || nt.Lang != w.Lang {
							t.Fatalf("notice %d = %+v, want %+v", i, nt, w)
						}
					}
				}
			})
		}
	}
}

var htmlNoticeRE = regexp.MustCompile(`<div role="note" data-ai-disclosure="ailabel"[\s\S]*?</div>\r?\n`)

// withoutNotice removes the disclaimer n from s: the start paragraph at its first occurrence and
// the end paragraph at the end (text, Markdown), or every disclaimer element (HTML).
func withoutNotice(s, format string, n *formats.Notice, textEndsNL bool) string {
	if n == nil {
		return s
	}
	if format == "html" {
		return htmlNoticeRE.ReplaceAllString(s, "")
	}
	st := stylePlain
	if format == "markdown" {
		st = styleMarkdown
	}
	nl := "\n"
	if i := strings.Index(s, "\n"); i > 0 && s[i-1] == '\r' {
		nl = "\r\n" // Layout follows the first line break
	}
	start, end, _ := placement(n)
	if start {
		s = strings.Replace(s, string(startNotice(n, st, nl)), "", 1)
	}
	if end {
		s = strings.TrimSuffix(s, string(endNotice(n, st, nl, textEndsNL, false)))
	}
	return s
}

// Labeling a labeled file replaces its manifest and does not repeat an identical disclaimer.
func TestRelayout(t *testing.T) {
	for _, in := range []string{
		"Hello\n",
		"# T\n\nbody\n",
		"---\na: b\n---\nbody\n",
		"<!doctype html><html><head></head><body><p>x</p></body></html>",
	} {
		n := withPlacement(testNotice, "both")
		out1, _, _, _ := write(t, []byte(in), formats.Edit{StoreLen: 50, Notice: n})
		out2, store, _, _ := write(t, out1, formats.Edit{StoreLen: 70, Notice: n})
		if got := len(openAny(t, out2).Notices()); got != 2*len(n.Texts) {
			t.Errorf("%q: relabeled output has %d notice texts\n%s", in, got, out2)
		}
		g := openAny(t, out2)
		if got, err := g.ManifestStore(); err != nil || !bytes.Equal(got, store) {
			t.Errorf("%q: relabeled store %d bytes, %v", in, len(got), err)
		}
		// Relabeling again gives the same text around the store.
		out3, _, _, _ := write(t, out2, formats.Edit{StoreLen: 70, Notice: n})
		if !bytes.Equal(out2, out3) {
			t.Errorf("%q: relabeling is not stable:\n%q\n%q", in, out2, out3)
		}
	}
}

// Two wrappers, a corrupted wrapper, two blocks, a remote block: ManifestStore says so.
func TestManifestErrors(t *testing.T) {
	w := EncodeWrapper([]byte("store"))
	bad := append([]byte(nil), w...)
	bad = bad[:len(bad)-4] // cut the last store byte's selector
	block := ManifestBlock(DataURI([]byte("store")), "<!--", "-->")
	for _, c := range []struct {
		name, in string
		want     error
		code     string
	}{
		{"two wrappers", "a" + string(w) + "b" + string(w), formats.ErrMalformed, CodeMultipleWrappers},
		{"corrupted", "a" + string(bad), formats.ErrMalformed, CodeCorruptedWrapper},
		{"bad version", "a" + zwnbsp + string(appendVS(nil, []byte(WrapperMagic+"\x02\x00\x00\x00\x00"))), formats.ErrMalformed, CodeCorruptedWrapper},
		{"truncated header", "a" + zwnbsp + string(appendVS(nil, []byte(WrapperMagic+"\x01\x00"))), formats.ErrMalformed, CodeCorruptedWrapper},
		{"length past the end", "a" + zwnbsp + string(appendVS(nil, []byte(WrapperMagic+"\x01\x00\x00\x01\x00abc"))), formats.ErrMalformed, CodeCorruptedWrapper},
		{"wrapper and block", "# x\n" + block + "\n" + string(w), formats.ErrMalformed, ""},
		{"two blocks", "# x\n" + block + "\n" + block + "\n", formats.ErrMalformed, CodeStructuredMultipleReferences},
		{"empty block", "# x\n<!-- " + BeginDelimiter + "  " + EndDelimiter + " -->\n", formats.ErrMalformed, CodeStructuredEmptyReference},
		{"remote block", "# x\n# " + BeginDelimiter + " https://example.com/m.c2pa " + EndDelimiter + "\n", ErrRemoteManifest, ""},
		{"bom only", "\ufeffjust text", formats.ErrNoManifest, ""},
		{"stray feff", "a\ufeffb\ufeff", formats.ErrNoManifest, ""},
		{"two html scripts", "<!doctype html><head>" + ScriptElement([]byte("a")) + ScriptElement([]byte("b")) + "</head>", formats.ErrMalformed, CodeHTMLMultipleManifests},
		{"html link", "<!doctype html><head>" + LinkElement("https://e.com/x") + "</head>", ErrRemoteManifest, ""},
		{"html bad base64", "<!doctype html><head><script type=\"application/c2pa\">!!!</script></head>", formats.ErrMalformed, ""},
		{"html comment", "<!doctype html><head><!-- " + ScriptElement([]byte("a")) + " --></head>", formats.ErrNoManifest, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := openAny(t, []byte(c.in)).ManifestStore()
			if !errors.Is(err, c.want) || !strings.Contains(fmtErr(err), c.code) {
				t.Fatalf("ManifestStore error %v, want %v %s", err, c.want, c.code)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Open rejects what is not UTF-8 text, with the offset.
func TestOpenRejectsBinary(t *testing.T) {
	for _, c := range []struct{ in, off string }{
		{"text then \x00 a NUL", "offset 10"},
		{"text then \xff bad", "offset 10"},
		{"ends inside \xe2\x82", "offset 12"},
	} {
		_, err := Open(bytes.NewReader([]byte(c.in)), int64(len(c.in)), false)
		if !errors.Is(err, formats.ErrMalformed) || !strings.Contains(err.Error(), c.off) {
			t.Errorf("Open(%q) = %v, want ErrMalformed at %s", c.in, err, c.off)
		}
	}
}

// Markers, runes and normalization segments that straddle the scanner's chunk boundary are
// handled like any other.
func TestScanChunkBoundaries(t *testing.T) {
	store := bytes.Repeat([]byte{0x42, 0x07}, 50)
	w := EncodeWrapper(store)
	for shift := -5; shift <= 5; shift++ {
		pad := strings.Repeat("a", scanChunk+shift)
		in := []byte(pad + string(w) + "tail")
		f, err := Open(bytes.NewReader(in), int64(len(in)), false)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.ManifestStore(); err != nil || !bytes.Equal(got, store) {
			t.Fatalf("shift %d: store %x, %v", shift, got, err)
		}
		block := "# " + BeginDelimiter + " " + DataURI(store) + " " + EndDelimiter + "\n"
		in = []byte("# x\n" + pad[4:] + block)
		f, err = Open(bytes.NewReader(in), int64(len(in)), true)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.ManifestStore(); err != nil || !bytes.Equal(got, store) {
			t.Fatalf("shift %d: block store %x, %v", shift, got, err)
		}
		// e + U+0301 across the boundary is not NFC; é (U+00E9) cut across it is valid and NFC.
		for _, tail := range []string{"e\u0301 x", "\u00e9 x", "\u4e2d x", "👍 x"} {
			in = []byte(pad + tail)
			f, err = Open(bytes.NewReader(in), int64(len(in)), false)
			if err != nil {
				t.Fatalf("shift %d %q: %v", shift, tail, err)
			}
			if f.NFC() != norm.NFC.IsNormal(in) {
				t.Fatalf("shift %d %q: NFC() = %v", shift, tail, f.NFC())
			}
		}
	}
}

// A text that is not NFC is normalized; one that is NFC is copied by ranges (no literal holds the
// text), whatever its size.
func TestLayoutCopiesNFC(t *testing.T) {
	in := []byte(strings.Repeat("Қазақ мәтіні, йод, ёлка, café. ", 10000))
	f := openAny(t, in)
	l, err := f.Layout(formats.Edit{StoreLen: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Pieces {
		if p.Kind == formats.Literal && p.Len > 100 {
			t.Fatalf("NFC text became a %d-byte literal", p.Len)
		}
	}
	nfd := []byte(norm.NFD.String(string(in)))
	f = openAny(t, nfd)
	out, _, off, _ := write(t, nfd, formats.Edit{StoreLen: 10})
	if string(out[:off]) != string(in) || f.(*File).NFC() {
		t.Fatalf("NFD text was not normalized")
	}
}

// An A.8 wrapper ends the output; its length depends only on the store length.
func TestWrapperFixedLength(t *testing.T) {
	for _, n := range []int{0, 1, 7, 100} {
		for _, fill := range []byte{0x00, 0x0f, 0x10, 0xff} {
			s := bytes.Repeat([]byte{fill}, n)
			w, err := EncodeWrapperPadded(s, WrapperLen(n))
			if err != nil || len(w) != WrapperLen(n) {
				t.Fatalf("n=%d fill=%x: %d bytes, %v", n, fill, len(w), err)
			}
			got, err := DecodeWrapper(append([]byte("x"), w...))
			if err != nil || !bytes.Equal(got.Store, s) || got.End != int64(len(w)+1) {
				t.Fatalf("n=%d fill=%x: decode %+v %v", n, fill, got, err)
			}
		}
	}
}

// The HTML output puts meta tags and the script in the head, the disclaimer in the body.
func TestHTMLPlacement(t *testing.T) {
	in := "<!DOCTYPE html>\n<html>\n<head>\n<meta name=\"ai-generated\" content=\"false\">\n<title>T</title>\n</head>\n<body class=\"x\">\n<p>Hi</p>\n</body>\n</html>\n"
	xmpPacket := []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">` +
		`<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" ` +
		`Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>`)
	out, _, off, n := write(t, []byte(in), formats.Edit{StoreLen: 30, XMP: xmpPacket, Notice: withPlacement(testNotice, "both")})
	s := string(out)
	head := s[:strings.Index(s, "</head>")]
	for _, want := range []string{
		`<meta name="ai-generated" content="true">`,
		`<meta name="Iptc4xmpExt:DigitalSourceType" content="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia">`,
		`<script type="application/c2pa">`,
	} {
		if !strings.Contains(head, want) {
			t.Errorf("head lacks %s:\n%s", want, head)
		}
	}
	if strings.Contains(s, `content="false"`) {
		t.Errorf("the old ai-generated meta tag is still there")
	}
	if !strings.HasPrefix(s[off:off+n], "<script") || !strings.HasSuffix(s[off:off+n], "</script>") {
		t.Errorf("store slot %q is not the script element", s[off:off+n])
	}
	body := s[strings.Index(s, "<body"):]
	if !strings.HasPrefix(body, `<body class="x"><div role="note" data-ai-disclosure="ailabel"`) {
		t.Errorf("the disclaimer does not follow <body>: %.80s", body)
	}
	if !strings.Contains(body, "</div>\n</body>") {
		t.Errorf("the end disclaimer does not precede </body>")
	}
	if !strings.Contains(s, `lang="kk"`) || !strings.Contains(s, "AI-generated content &lt;b&gt;&amp;&lt;/b&gt;") {
		t.Errorf("lang attribute or escaping missing")
	}
	h := openAny(t, out).(*HTMLFile)
	if got := h.MetaTags(); len(got) != 2 {
		t.Errorf("meta tags %v", got)
	}
}

// nfcPieces are characters that stress NFC: combining marks of several classes, Hangul jamo
// and syllables, precomposed letters, singletons and exclusions (NFC_QC = No), characters that
// compose backward (NFC_QC = Maybe), Cyrillic, CJK, emoji, ASCII.
var nfcPieces = []string{
	"a", "e", "A", " ", "\n", ".", "\u0301", "\u0308", "\u0323", "\u0327", "\u0338", "\u0306", "\u05b0", "\u0f71",
	"é", "\u00c5", "\u212b", "\u2126", "\u0958", "\u0344", "\u1100", "\u1161", "\u11a8", "\uac00", "\uac01",
	"\u0b47", "\u0b3e", "\u0cc6", "\u0cd5", "\u0915", "\u093c", "\u0930", "й", "и", "Ә", "і", "\u0456\u0308",
	"中", "\uf900", "👍", "\U0001f3fd", "\U0001d15e", "\U0001d165", "\U000110a5", "\U000110ba", "\ufeff", "<", ">", "=",
}

// The chunked NFC check agrees with norm.IsNormal on random texts, for every chunk size.
func TestNFCScanAgreesWithNorm(t *testing.T) {
	seed := uint32(1)
	next := func(n int) int {
		seed = seed*1664525 + 1013904223
		return int(seed>>8) % n
	}
	for iter := 0; iter < 3000; iter++ {
		var b strings.Builder
		for k := next(12) + 1; k > 0; k-- {
			b.WriteString(nfcPieces[next(len(nfcPieces))])
		}
		s := b.String()
		want := norm.NFC.IsNormalString(s)
		for _, chunk := range []int{1, 2, 3, 5, 8, 64} {
			si, err := scanTextChunks(strings.NewReader(s), int64(len(s)), "text", chunk)
			if err != nil {
				t.Fatal(err)
			}
			if si.nfc != want {
				t.Fatalf("%+q with %d-byte chunks: nfc %v, norm says %v", s, chunk, si.nfc, want)
			}
		}
		// And so does the one-shot check HTML uses.
		nfc := true
		nfcSpan([]byte(s), true, &nfc)
		if nfc != want {
			t.Fatalf("%+q: nfcSpan %v, norm says %v", s, nfc, want)
		}
	}
}

// Markers cut across chunks of every size are found once.
func TestScanTinyChunks(t *testing.T) {
	store := []byte("st\x00re")
	block := "# " + BeginDelimiter + " " + DataURI(store) + " " + EndDelimiter + "\n"
	for _, in := range []string{"x" + string(EncodeWrapper(store)) + "y", "a\r\nb\n" + block + "c"} {
		for chunk := 1; chunk <= 40; chunk++ {
			si, err := scanTextChunks(strings.NewReader(in), int64(len(in)), "text", chunk)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(in, BeginDelimiter) {
				if len(si.begins) != 1 || len(si.ends) != 1 || !si.crlf {
					t.Fatalf("chunk %d: begins %v ends %v crlf %v", chunk, si.begins, si.ends, si.crlf)
				}
			} else if len(si.wrappers) != 1 || !bytes.Equal(si.wrappers[0].Store, store) || si.wrappers[0].Start != 1 {
				t.Fatalf("chunk %d: wrappers %+v", chunk, si.wrappers)
			}
		}
	}
}

// Manifests written by other tools (an A.9 block at the end, an A.8 wrapper, an HTML link) are
// read, and replaced cleanly by a new label.
func TestReplaceForeignManifests(t *testing.T) {
	store := []byte("foreign store")
	md := "# Title\n\nBody text.\n"
	endBlock, _, _, err := EmbedStructured([]byte(md), DataURI(store), "<!--", "-->", PlaceEnd, "\n")
	if err != nil {
		t.Fatal(err)
	}
	startHash, _, _, _ := EmbedStructured([]byte("# T\nx\n"), "https://e.com/m.c2pa", "<!--", "-->", PlaceStart, "\n")
	page := "<!doctype html><html><head><title>x</title></head><body><p>y</p></body></html>"
	linked, err := EmbedHTMLReference([]byte(page), "https://e.com/m.c2pa", "\n")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		in        []byte
		want      string // the text around the new store
		wantStore []byte
	}{
		{"a.9 end", endBlock, md, store},
		{"a.9 start url", startHash, "# T\nx\n", nil},
		{"a.8", EmbedUnstructured([]byte("plain Cafe\u0301"), store), "plain Café", store},
		{"a.7 link", linked, "<!doctype html><html><head><title>x</title>\n</head><body><p>y</p></body></html>", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := openAny(t, c.in)
			got, err := f.ManifestStore()
			if c.wantStore != nil && (err != nil || !bytes.Equal(got, c.wantStore)) {
				t.Fatalf("foreign store %q, %v", got, err)
			}
			if c.wantStore == nil && !errors.Is(err, ErrRemoteManifest) {
				t.Fatalf("remote reference: %v", err)
			}
			out, _, off, n := write(t, c.in, formats.Edit{StoreLen: 9})
			if rest := string(out[:off]) + string(out[off+n:]); rest != c.want {
				t.Fatalf("relabeled text %q, want %q", rest, c.want)
			}
		})
	}
}

// HTML that ends inside a tag is refused with a clear error rather than labeled into a file
// whose manifest no reader can find (found by the sidecar's fuzzer).
func TestHTMLEndingInsideATagIsRefused(t *testing.T) {
	for _, doc := range []string{"<html", "<!doctype html><html><head", "<html><body><p class=\"x"} {
		if _, err := OpenHTML(strings.NewReader(doc), int64(len(doc))); !errors.Is(err, formats.ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", doc, err)
		}
	}
}

// AppendWrapperPadded appends what EncodeWrapperPadded returns; on error it leaves dst alone.
func TestAppendWrapperPadded(t *testing.T) {
	for _, n := range []int{0, 1, 13, 100, 2000} {
		store := make([]byte, n)
		for i := range store {
			store[i] = byte(i * 37)
		}
		want, err := EncodeWrapperPadded(store, WrapperLen(n))
		if err != nil {
			t.Fatal(err)
		}
		for _, dst := range [][]byte{nil, []byte("prefix"), make([]byte, 3, 5000)} {
			prefix := append([]byte(nil), dst...)
			got, err := AppendWrapperPadded(dst, store, WrapperLen(n))
			if err != nil || !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
				t.Fatalf("n=%d, %d-byte dst: got %d bytes (%v), want the prefix and %d", n, len(prefix), len(got), err, len(want))
			}
		}
		short := len(EncodeWrapper(store)) - 1
		if got, err := AppendWrapperPadded([]byte("keep"), store, short); err == nil || string(got) != "keep" {
			t.Fatalf("n=%d, a target shorter than the wrapper: %q, %v; want an error and dst unchanged", n, got, err)
		}
	}
}

// A plain text frames its store straight into a bytes.Buffer; the bytes are those Frame gives.
func TestWriteToFramesInPlace(t *testing.T) {
	in := []byte(strings.Repeat("Generated words. ", 40))
	for _, e := range []formats.Edit{{StoreLen: 900}, {StoreLen: 900, Notice: testNotice}} {
		l, err := openAny(t, in).Layout(e)
		if err != nil {
			t.Fatal(err)
		}
		if l.AppendFrame == nil {
			t.Fatal("a plain text's layout has no AppendFrame")
		}
		store := make([]byte, e.StoreLen)
		for i := range store {
			store[i] = byte(i*11 + 5)
		}
		var viaBuffer, viaWriter bytes.Buffer
		if _, err := l.WriteTo(&viaBuffer, bytes.NewReader(in), store); err != nil {
			t.Fatal(err)
		}
		if _, err := l.WriteTo(struct{ io.Writer }{&viaWriter}, bytes.NewReader(in), store); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(viaBuffer.Bytes(), viaWriter.Bytes()) || int64(viaBuffer.Len()) != l.Size() {
			t.Fatalf("framed in place: %d bytes; through Frame: %d; the layout says %d", viaBuffer.Len(), viaWriter.Len(), l.Size())
		}
		if _, err := l.WriteTo(&bytes.Buffer{}, bytes.NewReader(in), store[1:]); err == nil {
			t.Fatal("a store one byte short was written")
		}
	}
}
