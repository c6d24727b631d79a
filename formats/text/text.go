// Package text reads and writes C2PA manifests and human-readable AI disclaimers in text:
// plain text, Markdown and HTML (C2PA 2.4 Appendix A).
//
// Import it for its side effect of registering three formats with package formats:
//
//   - "text" (text/plain): any UTF-8 text without NUL bytes. Text has no magic, so it is a
//     fallback format, tried after every other. Heads that look like markup ailabel cannot
//     label safely (<?xml, <svg, <html, <head, <body, a doctype that is not HTML) or like
//     JSON ({" … or [{ …) are not claimed. The manifest store is an A.8 wrapper (U+FEFF and
//     one Unicode variation selector per byte) appended at the end.
//   - "markdown" (text/markdown): bytes cannot tell Markdown from text, so the markdown format
//     claims only texts that start (after an optional byte order mark) with front matter
//     ("---" or "+++" on the first line), an ATX heading ("# " … "###### "), or the A.9 block
//     ailabel writes ("<!-- -----BEGIN C2PA MANIFEST-----"). Other Markdown is labeled as plain
//     text, which Markdown renders the same. The store is an A.9 block holding a data: URI: an
//     HTML comment on the first line, or a YAML/TOML comment line right after the opening front
//     matter fence, so that front matter stays first.
//   - "html" (text/html): whitespace or a byte order mark, comments, then "<!doctype html" or
//     "<html". The store is an A.7 <script type="application/c2pa"> element in <head>, next to
//     <meta> disclosure tags.
//
// Every format binds with c2pa.hash.data over the UTF-8 bytes of the output, which ailabel
// writes NFC-normalized (the normalization A.8 names), excluding only the framed store: the
// wrapper, the comment line with its line break, or the script element. Reading accepts A.8
// wrappers in text and Markdown, A.9 blocks anywhere in them, and A.7 script or link elements in
// HTML; more than one manifest is an error, as the spec requires. A remote manifest (an A.9 URL,
// an A.7 link) is reported with ErrRemoteManifest: ailabel does not fetch manifests.
//
// The human-readable disclaimer (formats.Notice) is a paragraph of "⚠ " lines in plain text, a
// blockquote in Markdown and a <div role="note"> with lang attributes and inline styles in HTML,
// at the start, the end or both. Files implement formats.NoticeReader to report the disclaimers
// they carry.
package text

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
)

// Limits.
const (
	// MaxStoreLen is the largest manifest store read from or written into a text.
	MaxStoreLen = 64 << 20
	// MaxNormalizeLen is the largest text ailabel NFC-normalizes in memory when labeling text
	// that is not NFC already (NFC text is copied by ranges, whatever its size).
	MaxNormalizeLen = 64 << 20
	// MaxHTMLLen is the largest HTML document Open reads (it reads HTML whole).
	MaxHTMLLen = 64 << 20

	headWindow = 64 << 10 // bytes read at the start for front matter and the disclaimer
	tailWindow = 16 << 10 // bytes read at the end for the disclaimer
)

// ErrRemoteManifest is returned by ManifestStore when the text refers to a manifest store on
// the web (an A.9 URL or an A.7 link element) instead of embedding one.
var ErrRemoteManifest = errors.New("remote C2PA manifest (not fetched)")

// TextFormat is the plain text format.
var TextFormat = formats.Format{
	Name:       "text",
	MIME:       "text/plain",
	Extensions: []string{".txt", ".text"},
	Binding:    formats.DataHash,
	Match:      MatchText,
	Open: func(r io.ReaderAt, size int64) (formats.Container, error) {
		return Open(r, size, false)
	},
	Fallback: true,
}

// MarkdownFormat is the Markdown format.
var MarkdownFormat = formats.Format{
	Name:       "markdown",
	MIME:       "text/markdown",
	Extensions: []string{".md", ".markdown"},
	Binding:    formats.DataHash,
	Match:      MatchMarkdown,
	Open: func(r io.ReaderAt, size int64) (formats.Container, error) {
		return Open(r, size, true)
	},
}

func init() {
	formats.Register(TextFormat)
	formats.Register(MarkdownFormat)
	formats.Register(HTMLFormat)
}

// textHead reports whether head (the first bytes of a file, SniffLen or fewer) can be UTF-8
// text: no NUL byte, valid UTF-8 except for a sequence cut by the end of a full-length head.
func textHead(head []byte) bool {
	if len(head) == 0 || bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	k := len(head)
	if k >= formats.SniffLen {
		k = completePrefix(head)
	}
	return utf8.Valid(head[:k])
}

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte(zwnbsp)) }

func hasPrefixFold(b []byte, p string) bool {
	return len(b) >= len(p) && bytes.EqualFold(b[:len(p)], []byte(p))
}

// MatchText reports whether head is text the plain text format takes (see the package doc).
func MatchText(head []byte) bool {
	if !textHead(head) {
		return false
	}
	h := bytes.TrimLeft(trimBOM(head), " \t\r\n\f")
	if hasPrefixFold(h, "<?xml") || hasPrefixFold(h, "<!doctype") {
		return false
	}
	for _, p := range []string{"<html", "<head", "<body", "<svg"} {
		if hasPrefixFold(h, p) && (len(h) == len(p) || isHTMLSpace(h[len(p)]) || h[len(p)] == '>' || h[len(p)] == '/') {
			return false
		}
	}
	if len(h) > 0 && (h[0] == '{' || h[0] == '[') {
		rest := bytes.TrimLeft(h[1:], " \t\r\n")
		if len(rest) == 0 || h[0] == '{' && (rest[0] == '"' || rest[0] == '}') || h[0] == '[' && bytes.IndexByte([]byte("{[\"]"), rest[0]) >= 0 {
			return false
		}
	}
	return true
}

// MatchMarkdown reports whether head starts like the Markdown ailabel claims (see the package doc).
func MatchMarkdown(head []byte) bool {
	if !textHead(head) {
		return false
	}
	h := trimBOM(head)
	if fenceOf(h) != "" || bytes.HasPrefix(h, []byte("<!-- "+BeginDelimiter)) {
		return true
	}
	n := 0
	for n < len(h) && h[n] == '#' {
		n++
	}
	return n >= 1 && n <= 6 && n < len(h) && (h[n] == ' ' || h[n] == '\t')
}

// fenceOf returns the front matter fence ("---" or "+++") that b's first line is, or "".
func fenceOf(b []byte) string {
	for _, f := range []string{"---", "+++"} {
		if bytes.HasPrefix(b, []byte(f+"\n")) || bytes.HasPrefix(b, []byte(f+"\r\n")) {
			return f
		}
	}
	return ""
}

// frontMatter is the front matter of a Markdown file.
type frontMatter struct {
	openEnd  int64 // end of the opening fence line
	closeEnd int64 // end of the closing fence line
}

// File is an opened plain text or Markdown file. It implements formats.Writable and
// formats.NoticeReader.
type File struct {
	markdown bool
	r        io.ReaderAt
	size     int64
	si       *scanInfo

	store    []byte
	storeErr error
	method   string

	removed   []span // earlier manifests: wrappers and A.9 block lines
	start     int64  // after the byte order mark
	bodyStart int64  // after a leading A.9 block and front matter
	bodyEnd   int64  // before trailing manifests and whitespace
	fm        *frontMatter
	notices   [2]*foundNotice // at the start, at the end
}

// Open reads a plain text (markdown false) or Markdown file of size bytes from r. It fails with
// formats.ErrMalformed when the bytes are not UTF-8 text (invalid UTF-8, NUL bytes). A missing,
// duplicated or damaged manifest is not an Open error: ManifestStore reports it.
func Open(r io.ReaderAt, size int64, markdown bool) (*File, error) {
	f := &File{markdown: markdown, r: r, size: size}
	si, err := scanText(r, size, f.name())
	if err != nil {
		return nil, err
	}
	f.si = si
	f.manifest()
	if err := f.layoutSpans(); err != nil {
		return nil, err
	}
	return f, nil
}

// manifest decides which manifest the text carries.
func (f *File) manifest() {
	si, name := f.si, f.name()
	hasBlock := len(si.begins)+len(si.ends) > 0
	switch {
	case si.wrapErr != nil:
		f.storeErr = si.wrapErr
	case len(si.wrappers) > 1:
		f.storeErr = fmt.Errorf("%w: %s: %s: %d C2PA text wrappers (at offsets %d and %d); one is allowed", formats.ErrMalformed, name, CodeMultipleWrappers, len(si.wrappers), si.wrappers[0].Start, si.wrappers[1].Start)
	case len(si.wrappers) == 1 && hasBlock:
		at := si.ends
		if len(si.begins) > 0 {
			at = si.begins
		}
		f.storeErr = fmt.Errorf("%w: %s: both a C2PA text wrapper (offset %d) and a C2PA MANIFEST block (offset %d); one manifest is allowed", formats.ErrMalformed, name, si.wrappers[0].Start, at[0])
	case len(si.wrappers) == 1:
		f.store, f.method = si.wrappers[0].Store, "C2PA text wrapper (2.4 A.8)"
	case hasBlock:
		s, err := structuredFrom(si.begins, si.ends, f.read)
		switch {
		case err != nil:
			f.storeErr = fmt.Errorf("%s: %w", name, err)
		case s.Store == nil:
			f.storeErr = fmt.Errorf("%w: %s: the C2PA MANIFEST block at offset %d refers to %q", ErrRemoteManifest, name, s.Begin, s.Reference)
			f.method = "C2PA MANIFEST block with a URL (2.4 A.9)"
		default:
			f.store, f.method = s.Store, "C2PA MANIFEST block with a data: URI (2.4 A.9)"
		}
	default:
		f.storeErr = fmt.Errorf("%w: %s has no C2PA text wrapper or C2PA MANIFEST block", formats.ErrNoManifest, name)
	}
}

// read returns the input bytes [off, end).
func (f *File) read(off, end int64) ([]byte, error) {
	b := make([]byte, end-off)
	if k, err := f.r.ReadAt(b, off); k < len(b) {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("%s: reading offset %d: %w", f.name(), off, err)
	}
	return b, nil
}

// window reads up to n bytes from off, not past end.
func (f *File) window(off, end, n int64) ([]byte, error) {
	return f.read(off, min(end, off+n))
}

// blockLine widens the A.9 block [b, e) to its whole line(s) when they hold nothing but the
// block and comment markers, and takes the line break before a block at the end of the file.
func (f *File) blockLine(b, e int64) (span, error) {
	s := span{b, e}
	from := max(f.start, b-256)
	before, err := f.read(from, b)
	if err != nil {
		return s, err
	}
	ls := bytes.LastIndexByte(before, '\n') + 1 // line start within before
	if ls == 0 && from > f.start {
		return s, nil // a long line: keep to the delimiters
	}
	after, err := f.window(e, f.size, 256)
	if err != nil {
		return s, err
	}
	le := bytes.IndexByte(after, '\n')
	var suffix []byte
	switch {
	case le >= 0:
		suffix = after[:le]
	case e+int64(len(after)) == f.size:
		suffix = after
	default:
		return s, nil
	}
	switch string(bytes.TrimSpace(before[ls:])) {
	case "", "<!--", "#", "//", "--", "/*", ";", "%":
	default:
		return s, nil
	}
	switch string(bytes.TrimSpace(suffix)) {
	case "", "-->", "*/":
	default:
		return s, nil
	}
	s.off = from + int64(ls)
	if le >= 0 {
		s.end = e + int64(le) + 1
		return s, nil
	}
	s.end = f.size
	// At the end of the file: take the line break that joined the block to the text.
	if ls > 0 {
		s.off--
		if ls > 1 && before[ls-2] == '\r' {
			s.off--
		}
	}
	return s, nil
}

// layoutSpans finds what a new label replaces: earlier manifests, front matter, disclaimers.
func (f *File) layoutSpans() error {
	si := f.si
	if si.bom {
		f.start = 3
	}
	for _, w := range si.wrappers {
		f.removed = append(f.removed, span{w.Start, w.End})
	}
	f.removed = append(f.removed, si.corrupt...)
	if len(si.begins) > 0 || len(si.ends) > 0 {
		if len(si.begins) == len(si.ends) {
			for i := range si.begins {
				if si.ends[i] < si.begins[i] || i+1 < len(si.begins) && si.begins[i+1] < si.ends[i] {
					break
				}
				s, err := f.blockLine(si.begins[i], si.ends[i]+int64(len(EndDelimiter)))
				if err != nil {
					return err
				}
				f.removed = append(f.removed, s)
			}
		}
	}
	sort.Slice(f.removed, func(i, j int) bool { return f.removed[i].off < f.removed[j].off })
	s := f.start
	for _, r := range f.removed {
		if r.off == s {
			s = r.end
		}
	}
	if f.markdown {
		head, err := f.window(s, f.size, headWindow)
		if err != nil {
			return err
		}
		if fence := fenceOf(head); fence != "" {
			lines := splitLines(head, s)
			for _, ln := range lines[1:] {
				t := string(bytes.TrimRight(ln.text, " \t"))
				if t == fence || fence == "---" && t == "..." {
					f.fm = &frontMatter{openEnd: lines[0].next, closeEnd: ln.next}
					s = ln.next
					break
				}
			}
		}
	}
	f.bodyStart = s
	e := f.size
	for changed := true; changed; {
		changed = false
		tail, err := f.window(max(s, e-64), e, 64)
		if err != nil {
			return err
		}
		t := e - int64(len(tail)-len(bytes.TrimRight(tail, " \t\r\n")))
		for _, r := range f.removed {
			if r.end == t && r.off >= s {
				e, changed = r.off, true
				break
			}
		}
	}
	f.bodyEnd = max(e, s)

	// Disclaimers.
	head, err := f.window(f.bodyStart, f.bodyEnd, headWindow)
	if err != nil {
		return err
	}
	head = head[:completePrefix(head)]
	if f.bodyStart+int64(len(head)) < f.bodyEnd {
		if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
			head = head[:i+1]
		}
	}
	f.notices[0] = findStartNotice(splitLines(head, f.bodyStart), f.bodyStart+int64(len(head)) == f.bodyEnd)
	from := max(f.bodyStart, f.bodyEnd-tailWindow)
	tail, err := f.window(from, f.bodyEnd, tailWindow)
	if err != nil {
		return err
	}
	base := from
	if from > f.bodyStart {
		i := bytes.IndexByte(tail, '\n')
		if i < 0 {
			tail = nil
		} else {
			tail, base = tail[i+1:], from+int64(i+1)
		}
	}
	if end := findEndNotice(splitLines(tail, base), base == f.bodyStart); end != nil {
		if st := f.notices[0]; st == nil || end.off >= st.end {
			f.notices[1] = end
		}
	}
	return nil
}

// Format returns the format that opened the file.
func (f *File) Format() *formats.Format {
	def := &TextFormat
	if f.markdown {
		def = &MarkdownFormat
	}
	if reg, ok := formats.Lookup(def.Name); ok {
		return reg
	}
	return def
}

func (f *File) name() string {
	if f.markdown {
		return "markdown"
	}
	return "text"
}

// ManifestStore returns the embedded manifest store, or an error: formats.ErrNoManifest when
// there is none, ErrRemoteManifest for a URL reference, formats.ErrMalformed for several
// manifests or a damaged one (the error names the spec's status code).
func (f *File) ManifestStore() ([]byte, error) { return f.store, f.storeErr }

// Method says how the manifest is embedded ("" when there is none).
func (f *File) Method() string { return f.method }

// XMP returns nil: text carries no XMP.
func (f *File) XMP() []byte { return nil }

// EXIF returns nil: text carries no EXIF.
func (f *File) EXIF() []byte { return nil }

// NFC reports whether the text is in Unicode Normalization Form C, as ailabel writes it.
func (f *File) NFC() bool { return f.si.nfc }

// Notices returns the disclaimers found at the start and at the end of the text. Their
// languages are guessed from the script (plain text and Markdown have no language tags).
func (f *File) Notices() []formats.NoticeText {
	var out []formats.NoticeText
	for _, n := range f.notices {
		if n != nil {
			out = append(out, n.texts...)
		}
	}
	return out
}

func (f *File) newline() string {
	if f.si.crlf {
		return "\r\n"
	}
	return "\n"
}

// Layout describes the labeled text: earlier manifests removed, the disclaimer (e.Notice) at the
// start and/or end (an identical disclaimer already there is replaced, not repeated), and the
// store slot: for plain text an A.8 wrapper of WrapperLen(e.StoreLen) bytes at the very end; for
// Markdown an A.9 comment line holding a data: URI, first in the file or right after the front
// matter's opening fence. The output is NFC. e.XMP and e.EXIF are ignored.
func (f *File) Layout(e formats.Edit) (*formats.Layout, error) {
	name := f.name()
	if e.StoreLen < 0 || e.StoreLen > MaxStoreLen {
		return nil, fmt.Errorf("%w: %s: a manifest store of %d bytes (the limit is %d)", formats.ErrTooLarge, name, e.StoreLen, MaxStoreLen)
	}
	atStart, atEnd, err := placement(e.Notice)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	si := f.si
	if len(si.begins) != len(si.ends) {
		return nil, fmt.Errorf("%w: %s: %d BEGIN and %d END C2PA MANIFEST delimiters: the old manifest block cannot be removed", formats.ErrMalformed, name, len(si.begins), len(si.ends))
	}
	removed := append([]span(nil), f.removed...)
	if atStart && f.notices[0] != nil && sameTexts(f.notices[0].texts, e.Notice) {
		removed = append(removed, f.notices[0].span)
	}
	if atEnd && f.notices[1] != nil && sameTexts(f.notices[1].texts, e.Notice) {
		removed = append(removed, f.notices[1].span)
	}
	sort.Slice(removed, func(i, j int) bool { return removed[i].off < removed[j].off })

	st := stylePlain
	if f.markdown {
		st = styleMarkdown
	}
	nl := f.newline()
	p := &planner{r: f.r, size: f.size, nfc: si.nfc, name: name}
	var frame func([]byte) []byte
	var appendFrame func(dst, store []byte) []byte // the plain-text wrapper, appended in place
	cur := int64(0)
	if f.start > 0 {
		p.copy(0, f.start)
		cur = f.start
	}
	if f.markdown {
		prefix, suffix := "<!--", "-->"
		if f.fm != nil {
			p.copyExcept(cur, f.fm.openEnd, removed)
			cur = f.fm.openEnd
			prefix, suffix = "#", ""
		}
		p.store()
		frame = func(store []byte) []byte {
			if len(store) != e.StoreLen {
				return nil
			}
			return []byte(ManifestBlock(DataURI(store), prefix, suffix) + nl)
		}
	} else {
		p.sample = func(n int) ([]byte, int64) { return wrapperSample(n, joinWindow) }
		appendFrame = func(dst, store []byte) []byte {
			if len(store) != e.StoreLen {
				return dst
			}
			out, _ := AppendWrapperPadded(dst, store, WrapperLen(e.StoreLen)) // dst on error
			return out
		}
		frame = func(store []byte) []byte { return appendFrame(nil, store) }
	}
	p.copyExcept(cur, f.bodyStart, removed)
	if atStart {
		p.lit(startNotice(e.Notice, st, nl))
	}
	p.copyExcept(f.bodyStart, f.size, removed)
	if atEnd {
		last := p.lastByte()
		p.lit(endNotice(e.Notice, st, nl, last == '\n', last < 0))
	}
	if !f.markdown {
		p.store()
	}
	l, err := p.layout(e.StoreLen, frame)
	if err == nil {
		l.AppendFrame = appendFrame // nil for Markdown
	}
	return l, err
}
