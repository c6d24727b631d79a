package text

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	stdhtml "html"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/xmp"
	"github.com/ailabel/ailabel/manifest"
)

// C2PA 2.4 Appendix A.7 (HTML): the manifest store is associated with a document by a
// <script type="application/c2pa"> element holding it in Base64, or by a
// <link rel="c2pa-manifest" href="…"> element pointing at it, in the <head>. At most one.
const (
	scriptOpen  = `<script type="application/c2pa">`
	scriptClose = `</script>`
	// CodeHTMLMultipleManifests is the status code for more than one manifest association.
	CodeHTMLMultipleManifests = "manifest.html.multipleManifests"
)

// HTMLFormat is the HTML format.
var HTMLFormat = formats.Format{
	Name:       "html",
	MIME:       "text/html",
	Extensions: []string{".html", ".htm"},
	Binding:    formats.DataHash,
	Match:      MatchHTML,
	Open: func(r io.ReaderAt, size int64) (formats.Container, error) {
		return OpenHTML(r, size)
	},
}

// MatchHTML reports whether head is an HTML document: after an optional byte order mark,
// white space and complete comments, "<!doctype html" or "<html" (any case).
func MatchHTML(head []byte) bool {
	if !textHead(head) {
		return false
	}
	h := trimBOM(head)
	for {
		h = bytes.TrimLeft(h, " \t\r\n\f")
		if !bytes.HasPrefix(h, []byte("<!--")) {
			break
		}
		e := bytes.Index(h[4:], []byte("-->"))
		if e < 0 {
			return false
		}
		h = h[4+e+3:]
	}
	after := func(n int) bool { return len(h) == n || isHTMLSpace(h[n]) || h[n] == '>' || h[n] == '/' }
	return hasPrefixFold(h, "<!doctype html") && after(14) || hasPrefixFold(h, "<html") && after(5)
}

// ScriptElement returns the A.7 inline element for a manifest store.
func ScriptElement(store []byte) string {
	return scriptOpen + base64.StdEncoding.EncodeToString(store) + scriptClose
}

// LinkElement returns the A.7 reference element for a remote manifest store at url.
func LinkElement(url string) string {
	return `<link rel="c2pa-manifest" href="` + stdhtml.EscapeString(url) + `" type="application/c2pa">`
}

// headInsertPoint is where ailabel puts elements for the head: before </head>, else before
// <body>, else after <head>, <html> or the doctype, else at the start.
func (d *htmlDoc) headInsertPoint() int64 {
	for _, p := range []int64{d.headClose, d.bodyOpen, d.headOpenEnd, d.htmlOpenEnd, d.doctypeEnd} {
		if p >= 0 {
			return p
		}
	}
	return 0
}

// EmbedHTMLInline inserts the A.7 script element for store, followed by newline, just before the
// document's </head>, and returns the document with the c2pa.hash.data exclusion (the element).
func EmbedHTMLInline(doc, store []byte, newline string) (out []byte, start, length int, err error) {
	d := scanHTML(doc)
	if d.headClose < 0 {
		return nil, 0, 0, errors.New("html.noHead: no </head> to put the C2PA manifest element before")
	}
	el := ScriptElement(store)
	h := int(d.headClose)
	out = append(append(append(append([]byte(nil), doc[:h]...), el...), newline...), doc[h:]...)
	return out, h, len(el), nil
}

// EmbedHTMLReference inserts the A.7 link element for url, followed by newline, just before the
// document's </head>. The referenced store's hard binding has no exclusion.
func EmbedHTMLReference(doc []byte, url, newline string) ([]byte, error) {
	d := scanHTML(doc)
	if d.headClose < 0 {
		return nil, errors.New("html.noHead: no </head> to put the C2PA manifest element before")
	}
	h := int(d.headClose)
	return append(append(append(append([]byte(nil), doc[:h]...), LinkElement(url)...), newline...), doc[h:]...), nil
}

// HTMLManifest is the manifest association of an HTML document.
type HTMLManifest struct {
	Store     []byte // the inline store, from a script element
	Reference string // the URL of a link element
	Start     int64  // byte range of the element
	End       int64
}

// FindHTMLManifest returns the one manifest association of doc: formats.ErrNoManifest when there
// is none, formats.ErrMalformed for more than one (manifest.html.multipleManifests) or a script
// that is not Base64.
func FindHTMLManifest(doc []byte) (*HTMLManifest, error) {
	return htmlManifest(scanHTML(doc))
}

func htmlManifest(d *htmlDoc) (*HTMLManifest, error) {
	switch n := len(d.scripts) + len(d.links); {
	case n == 0:
		return nil, fmt.Errorf("%w: html has no <script type=\"application/c2pa\"> or <link rel=\"c2pa-manifest\">", formats.ErrNoManifest)
	case n > 1:
		return nil, fmt.Errorf("%w: html: %s: %d C2PA manifest elements; one is allowed", formats.ErrMalformed, CodeHTMLMultipleManifests, n)
	case len(d.links) == 1:
		l := d.links[0]
		return &HTMLManifest{Reference: l.value, Start: l.off, End: l.end}, nil
	}
	s := d.scripts[0]
	if int64(len(s.value)) > maxReferenceLen {
		return nil, fmt.Errorf("%w: html: the C2PA script element at offset %d is %d bytes, the limit is %d", formats.ErrTooLarge, s.off, len(s.value), maxReferenceLen)
	}
	store, err := decodeBase64(s.value)
	if err != nil {
		return nil, fmt.Errorf("html: C2PA script element at offset %d: %w", s.off, err)
	}
	return &HTMLManifest{Store: store, Start: s.off, End: s.end}, nil
}

// HTMLFile is an opened HTML document. It implements formats.Writable and formats.NoticeReader.
type HTMLFile struct {
	b        []byte
	d        *htmlDoc
	nfc      bool
	store    []byte
	storeErr error
	method   string
}

// OpenHTML reads an HTML document of size bytes (at most MaxHTMLLen) from r. The document must be
// UTF-8 without NUL bytes.
func OpenHTML(r io.ReaderAt, size int64) (*HTMLFile, error) {
	if size > MaxHTMLLen {
		return nil, fmt.Errorf("%w: html document of %d bytes, the limit is %d", formats.ErrTooLarge, size, MaxHTMLLen)
	}
	b := make([]byte, size)
	if k, err := r.ReadAt(b, 0); int64(k) < size {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("html: reading %d bytes: %w", size, err)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return nil, fmt.Errorf("%w: html: NUL byte at offset %d", formats.ErrMalformed, i)
	}
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: html: invalid UTF-8 at offset %d (ailabel reads UTF-8 HTML only)", formats.ErrMalformed, firstInvalid(b))
	}
	nfc := true
	nfcSpan(b, true, &nfc)
	h := &HTMLFile{b: b, d: scanHTML(b), nfc: nfc}
	if h.d.unterminated >= 0 {
		// Anything inserted after it would land inside the tag and be lost to readers.
		return nil, fmt.Errorf("%w: html: the document ends inside the tag at offset %d", formats.ErrMalformed, h.d.unterminated)
	}
	m, err := htmlManifest(h.d)
	switch {
	case err != nil:
		h.storeErr = err
	case m.Store != nil:
		h.store, h.method = m.Store, "HTML <script type=\"application/c2pa\"> (2.4 A.7)"
	default:
		h.storeErr = fmt.Errorf("%w: html: <link rel=\"c2pa-manifest\"> at offset %d refers to %q", ErrRemoteManifest, m.Start, m.Reference)
		h.method = "HTML <link rel=\"c2pa-manifest\"> (2.4 A.7)"
	}
	return h, nil
}

// Format returns the HTML format.
func (h *HTMLFile) Format() *formats.Format {
	if reg, ok := formats.Lookup(HTMLFormat.Name); ok {
		return reg
	}
	return &HTMLFormat
}

// ManifestStore returns the store of the document's script element, or an error:
// formats.ErrNoManifest, ErrRemoteManifest for a link element, formats.ErrMalformed for several
// elements or bad Base64.
func (h *HTMLFile) ManifestStore() ([]byte, error) { return h.store, h.storeErr }

// Method says how the manifest is associated ("" when it is not).
func (h *HTMLFile) Method() string { return h.method }

// XMP returns nil: ailabel reads no XMP from HTML.
func (h *HTMLFile) XMP() []byte { return nil }

// EXIF returns nil.
func (h *HTMLFile) EXIF() []byte { return nil }

// NFC reports whether the document is in Unicode Normalization Form C.
func (h *HTMLFile) NFC() bool { return h.nfc }

// MetaTags returns ailabel's disclosure <meta> tags found, as "name=content".
func (h *HTMLFile) MetaTags() []string {
	var out []string
	for _, m := range h.d.metas {
		out = append(out, m.value)
	}
	return out
}

// Notices returns the texts of ailabel's disclaimer elements with their lang attributes.
func (h *HTMLFile) Notices() []formats.NoticeText {
	var out []formats.NoticeText
	for _, n := range h.d.notices {
		for _, t := range n.texts {
			out = append(out, formats.NoticeText{Lang: t.lang, Text: t.text})
		}
	}
	return out
}

// CSS of the disclaimer. Inline !important declarations win over every author style sheet
// (element-attached styles come before specificity and layers in the cascade), and all:initial
// drops what the element would inherit or be given by the page.
const (
	noticeBoxCSS = "all:initial!important;display:block!important;box-sizing:border-box!important;" +
		"position:relative!important;z-index:2147483647!important;margin:0!important;" +
		"padding:12px 16px!important;border:2px solid #8a6100!important;border-radius:4px!important;" +
		"background:#fff4ce!important;color:#1f1f1f!important;" +
		"font:16px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans',Arial,sans-serif!important;" +
		"text-align:start!important;visibility:visible!important;opacity:1!important;width:auto!important;" +
		"height:auto!important;min-height:0!important;max-width:none!important;max-height:none!important;" +
		"overflow:visible!important;transform:none!important;filter:none!important;clip-path:none!important;" +
		"float:none!important;pointer-events:auto!important"
	noticePCSS = "all:initial!important;display:block!important;margin:0!important;padding:2px 0!important;" +
		"font:inherit!important;color:inherit!important;text-align:start!important;" +
		"visibility:visible!important;white-space:normal!important"
	noticeMarkCSS = "all:initial!important;font:inherit!important;color:inherit!important"
)

// validLang reports whether s looks like a BCP 47 tag (letters, digits and hyphens).
func validLang(s string) bool {
	if s == "" || len(s) > 35 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isASCIIAlpha(c) && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// HTMLNotice renders the disclaimer element: a <div role="note"> with one <p lang> per text.
func HTMLNotice(n *formats.Notice, newline string) []byte {
	if n == nil {
		return nil
	}
	var b strings.Builder
	for _, t := range n.Texts {
		s := oneLine(t.Text)
		if s == "" {
			continue
		}
		b.WriteString(`<p`)
		if validLang(t.Lang) {
			b.WriteString(` lang="` + t.Lang + `"`)
		}
		b.WriteString(` dir="auto" style="` + noticePCSS + `"><span aria-hidden="true" style="` + noticeMarkCSS + `">` +
			strings.TrimSpace(noticeMark) + ` </span>` + stdhtml.EscapeString(s) + `</p>` + newline)
	}
	if b.Len() == 0 {
		return nil
	}
	return []byte(`<div role="note" ` + noticeAttr + `="ailabel" style="` + noticeBoxCSS + `">` + newline + b.String() + `</div>` + newline)
}

// metaTags renders the disclosure <meta> tags for the digital source type in an XMP packet.
func metaTags(xmpPacket []byte, newline string) []byte {
	var dst string
	if info, err := xmp.Parse(xmpPacket); err == nil {
		dst = info.DigitalSourceType
	}
	var b []byte
	if manifest.IsAI(dst) {
		b = append(b, `<meta name="`+metaAIGenerated+`" content="true">`+newline...)
	}
	if dst != "" {
		b = append(b, `<meta name="`+metaSourceType+`" content="`+stdhtml.EscapeString(dst)+`">`+newline...)
	}
	return b
}

// edit is an insertion at off (end == off) or a removal of [off, end).
type edit struct {
	off, end int64
	order    int
	segs     []seg
}

// withNewline extends s over one line break right after it.
func (h *HTMLFile) withNewline(s span) span {
	rest := h.b[s.end:]
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		s.end += 2
	case bytes.HasPrefix(rest, []byte("\n")):
		s.end++
	}
	return s
}

// Layout describes the labeled document. Earlier C2PA script and link elements are removed. Just
// before </head> (else before <body>, else after <head>, <html> or the doctype) go the
// disclosure <meta> tags, when e.XMP is not nil (they replace ailabel's earlier ones):
// <meta name="ai-generated" content="true"> for an AI digital source type and
// <meta name="Iptc4xmpExt:DigitalSourceType" content="URI">; then the store slot, a
// <script type="application/c2pa"> element that is the data hash's one exclusion; then a line
// break. The disclaimer (e.Notice, replacing ailabel's earlier ones) goes right after <body> and/or
// just before </body>. The output is NFC.
func (h *HTMLFile) Layout(e formats.Edit) (*formats.Layout, error) {
	if e.StoreLen < 0 || e.StoreLen > MaxStoreLen {
		return nil, fmt.Errorf("%w: html: a manifest store of %d bytes (the limit is %d)", formats.ErrTooLarge, e.StoreLen, MaxStoreLen)
	}
	atStart, atEnd, err := placement(e.Notice)
	if err != nil {
		return nil, fmt.Errorf("html: %w", err)
	}
	d := h.d
	nl := "\n"
	if d.crlf {
		nl = "\r\n"
	}
	var edits []edit
	const remove = 9 // at one offset, insert first, then remove
	for _, s := range d.scripts {
		edits = append(edits, edit{off: s.off, end: h.withNewline(s.span).end, order: remove})
	}
	for _, s := range d.links {
		edits = append(edits, edit{off: s.off, end: h.withNewline(s.span).end, order: remove})
	}
	if e.XMP != nil {
		for _, m := range d.metas {
			edits = append(edits, edit{off: m.off, end: h.withNewline(m.span).end, order: remove})
		}
	}
	if e.Notice != nil {
		for _, n := range d.notices {
			edits = append(edits, edit{off: n.off, end: h.withNewline(n.span).end, order: remove})
		}
	}
	H := d.headInsertPoint()
	head := []seg{}
	if e.XMP != nil {
		if m := metaTags(e.XMP, nl); len(m) > 0 {
			head = append(head, seg{kind: segLit, data: m})
		}
	}
	head = append(head, seg{kind: segStore}, seg{kind: segLit, data: []byte(nl)})
	edits = append(edits, edit{off: H, end: H, order: 1, segs: head})
	notice := HTMLNotice(e.Notice, nl)
	if atStart && notice != nil {
		B := d.bodyOpenEnd
		if B < 0 && d.headClose >= 0 {
			_, _, n := parseTag(h.b[d.headClose:], 2, false)
			B = d.headClose + int64(n)
		}
		if B < 0 {
			B = H
		}
		edits = append(edits, edit{off: B, end: B, order: 2, segs: []seg{{kind: segLit, data: notice}}})
	}
	if atEnd && notice != nil {
		E := d.bodyClose
		if E < 0 {
			E = d.htmlClose
		}
		if E < 0 {
			E = int64(len(h.b))
		}
		edits = append(edits, edit{off: E, end: E, order: 3, segs: []seg{{kind: segLit, data: notice}}})
	}
	sort.SliceStable(edits, func(i, j int) bool {
		if edits[i].off != edits[j].off {
			return edits[i].off < edits[j].off
		}
		return edits[i].order < edits[j].order
	})
	p := &planner{r: bytes.NewReader(h.b), size: int64(len(h.b)), nfc: h.nfc, name: "html"}
	cur := int64(0)
	for _, ed := range edits {
		if ed.off < cur {
			return nil, fmt.Errorf("%w: html: elements to replace overlap at offset %d", formats.ErrMalformed, ed.off)
		}
		p.copy(cur, ed.off)
		for _, s := range ed.segs {
			switch s.kind {
			case segLit:
				p.lit(s.data)
			case segStore:
				p.store()
			}
		}
		cur = max(cur, ed.end)
	}
	p.copy(cur, int64(len(h.b)))
	l, err := p.layout(e.StoreLen, func(store []byte) []byte {
		if len(store) != e.StoreLen {
			return nil
		}
		return []byte(ScriptElement(store))
	})
	if err != nil {
		return nil, err
	}
	// The output must hold our element and no other manifest association (removing an old one
	// must not have joined "<scr" and "ipt type=application/c2pa>" into a new one).
	var out bytes.Buffer
	if _, err := l.WriteTo(&out, bytes.NewReader(h.b), make([]byte, e.StoreLen)); err != nil {
		return nil, fmt.Errorf("html: %w", err)
	}
	od := scanHTML(out.Bytes())
	if off, n := l.StoreOffset(); len(od.links) != 0 || len(od.scripts) != 1 || od.scripts[0].off != off || od.scripts[0].end != off+n {
		return nil, fmt.Errorf("%w: html: the labeled document would not hold exactly one C2PA element where it was put (the input's markup is too broken)", formats.ErrMalformed)
	}
	return l, nil
}
