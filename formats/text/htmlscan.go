package text

import (
	"bytes"
	stdhtml "html"
	"strings"
)

// A small HTML tokenizer, after the WHATWG tokenizer's rules for what matters here: comments,
// doctypes, CDATA and bogus comments are skipped, attribute values may be quoted (a '>' inside
// quotes does not end a tag), and the contents of raw text elements (script, style, textarea,
// title, …) are not markup. It records offsets only; it builds no tree.

// htmlElem is an element of interest: the byte range from its start tag to the end of its end
// tag (or of the start tag for void elements), and a value (script text, href, meta content).
type htmlElem struct {
	span
	value string
}

// htmlNotice is a disclaimer element ailabel wrote.
type htmlNotice struct {
	span
	texts []noticeTextLang
}

type noticeTextLang struct{ lang, text string }

// htmlDoc is what the tokenizer found. Offsets are -1 when the tag is absent.
type htmlDoc struct {
	unterminated int64 // offset of a start tag the document ends inside, or -1
	doctypeEnd   int64
	htmlOpenEnd  int64
	headOpenEnd  int64
	headClose    int64 // start of </head>
	bodyOpen     int64 // start of <body …>
	bodyOpenEnd  int64
	bodyClose    int64 // start of </body>
	htmlClose    int64 // start of </html>
	crlf         bool

	scripts []htmlElem   // <script type="application/c2pa">, value = content
	links   []htmlElem   // <link rel="c2pa-manifest">, value = href
	metas   []htmlElem   // ailabel's <meta> disclosure tags, value = name
	notices []htmlNotice // ailabel's disclaimer elements
}

// maxHTMLElems bounds the elements of interest one document may hold.
const maxHTMLElems = 1024

// Names of the <meta> tags ailabel writes.
const (
	metaAIGenerated = "ai-generated"
	metaSourceType  = "Iptc4xmpExt:DigitalSourceType"
	// noticeAttr marks ailabel's disclaimer element.
	noticeAttr = "data-ai-disclosure"
)

func isASCIIAlpha(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isHTMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// htmlAttr is a parsed attribute: lower-case name, unescaped value.
type htmlAttr struct{ name, value string }

// parseTag parses the tag that starts at b[0] == '<'; from is the index of the name. It returns
// the lower-case name, the attributes (when want is true) and the length of the tag. A tag cut
// by the end of the document runs to the end.
func parseTag(b []byte, from int, want bool) (name string, attrs []htmlAttr, n int) {
	k := from
	for k < len(b) && !isHTMLSpace(b[k]) && b[k] != '/' && b[k] != '>' {
		k++
	}
	name = strings.ToLower(string(b[from:k]))
	for k < len(b) {
		c := b[k]
		switch {
		case isHTMLSpace(c) || c == '/':
			k++
			continue
		case c == '>':
			return name, attrs, k + 1
		}
		a := k
		k++ // the first character may be '='
		for k < len(b) && !isHTMLSpace(b[k]) && b[k] != '/' && b[k] != '>' && b[k] != '=' {
			k++
		}
		an := b[a:k]
		for k < len(b) && isHTMLSpace(b[k]) {
			k++
		}
		var val []byte
		if k < len(b) && b[k] == '=' {
			k++
			for k < len(b) && isHTMLSpace(b[k]) {
				k++
			}
			if k < len(b) && (b[k] == '"' || b[k] == '\'') {
				q := b[k]
				e := bytes.IndexByte(b[k+1:], q)
				if e < 0 {
					return name, attrs, len(b)
				}
				val = b[k+1 : k+1+e]
				k += e + 2
			} else {
				v := k
				for k < len(b) && !isHTMLSpace(b[k]) && b[k] != '>' {
					k++
				}
				val = b[v:k]
			}
		}
		if want && len(attrs) < 64 {
			attrs = append(attrs, htmlAttr{strings.ToLower(string(an)), stdhtml.UnescapeString(string(val))})
		}
	}
	return name, attrs, len(b)
}

func attrOf(attrs []htmlAttr, name string) (string, bool) {
	for _, a := range attrs {
		if a.name == name {
			return a.value, true
		}
	}
	return "", false
}

// rawTextElements hold text that is not parsed as markup.
func isRawText(name string) bool {
	switch name {
	case "script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript":
		return true
	}
	return false
}

// closeTag finds the end tag </name> in b (case-insensitive, followed by space, '/' or '>'):
// its start and the end of the whole tag, or -1, len(b) when there is none.
func closeTag(b []byte, name string) (start, end int) {
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("</"))
		if j < 0 {
			return -1, len(b)
		}
		at := i + j
		k := at + 2 + len(name)
		if k <= len(b) && bytes.EqualFold(b[at+2:min(k, len(b))], []byte(name)) && (k == len(b) || isHTMLSpace(b[k]) || b[k] == '/' || b[k] == '>') {
			_, _, n := parseTag(b[at:], 2, false)
			return at, at + n
		}
		i = at + 2
	}
}

// commentLen returns the length of the comment that starts b ("<!--").
func commentLen(b []byte) int {
	rest := b[4:]
	if bytes.HasPrefix(rest, []byte(">")) {
		return 5
	}
	if bytes.HasPrefix(rest, []byte("->")) {
		return 6
	}
	e1, e2 := bytes.Index(rest, []byte("-->")), bytes.Index(rest, []byte("--!>"))
	switch {
	case e1 >= 0 && (e2 < 0 || e1 < e2):
		return 4 + e1 + 3
	case e2 >= 0:
		return 4 + e2 + 4
	}
	return len(b)
}

// tagText returns the text of an HTML fragment: tags dropped, character references decoded,
// white space collapsed.
func tagText(b []byte) string {
	var out []byte
	for i := 0; i < len(b); {
		if b[i] == '<' && i+1 < len(b) && (isASCIIAlpha(b[i+1]) || b[i+1] == '/') {
			from := 1
			if b[i+1] == '/' {
				from = 2
			}
			_, _, n := parseTag(b[i:], from, false)
			i += n
			continue
		}
		out = append(out, b[i])
		i++
	}
	return strings.Join(strings.Fields(stdhtml.UnescapeString(string(out))), " ")
}

// scanHTML tokenizes b.
func scanHTML(b []byte) *htmlDoc {
	d := &htmlDoc{unterminated: -1, doctypeEnd: -1, htmlOpenEnd: -1, headOpenEnd: -1, headClose: -1, bodyOpen: -1, bodyOpenEnd: -1, bodyClose: -1, htmlClose: -1}
	if i := bytes.IndexByte(b, '\n'); i > 0 && b[i-1] == '\r' {
		d.crlf = true
	}
	var notice *htmlNotice
	pStart, pLang := -1, ""
	set := func(p *int64, v int) {
		if *p < 0 {
			*p = int64(v)
		}
	}
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			break
		}
		i += j
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			i += commentLen(rest)
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			if e := bytes.Index(rest, []byte("]]>")); e >= 0 {
				i += e + 3
			} else {
				i = len(b)
			}
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			e := bytes.IndexByte(rest, '>')
			if e < 0 {
				e = len(rest) - 1
			}
			if hasPrefixFold(rest, "<!doctype") {
				set(&d.doctypeEnd, i+e+1)
			}
			i += e + 1
		case len(rest) > 2 && rest[1] == '/' && isASCIIAlpha(rest[2]):
			name, _, n := parseTag(rest, 2, false)
			switch name {
			case "head":
				set(&d.headClose, i)
			case "body":
				set(&d.bodyClose, i)
			case "html":
				set(&d.htmlClose, i)
			case "p":
				if notice != nil && pStart >= 0 && len(notice.texts) < 64 {
					t := strings.TrimSpace(strings.TrimPrefix(tagText(b[pStart:i]), strings.TrimSpace(noticeMark)))
					if t != "" {
						notice.texts = append(notice.texts, noticeTextLang{pLang, t})
					}
					pStart = -1
				}
			case "div":
				if notice != nil {
					notice.end = int64(i + n)
					if len(d.notices) < maxHTMLElems {
						d.notices = append(d.notices, *notice)
					}
					notice, pStart = nil, -1
				}
			}
			i += n
		case len(rest) > 1 && isASCIIAlpha(rest[1]):
			name, attrs, n := parseTag(rest, 1, true)
			start := i
			i += n
			if n <= 0 || b[i-1] != '>' {
				set(&d.unterminated, start)
			}
			switch name {
			case "html":
				set(&d.htmlOpenEnd, i)
			case "head":
				set(&d.headOpenEnd, i)
			case "body":
				set(&d.bodyOpen, start)
				set(&d.bodyOpenEnd, i)
			case "meta":
				if v, _ := attrOf(attrs, "name"); (strings.EqualFold(v, metaAIGenerated) || strings.EqualFold(v, metaSourceType)) && len(d.metas) < maxHTMLElems {
					c, _ := attrOf(attrs, "content")
					d.metas = append(d.metas, htmlElem{span{int64(start), int64(i)}, v + "=" + c})
				}
			case "link":
				rel, _ := attrOf(attrs, "rel")
				for _, tok := range strings.Fields(strings.ToLower(rel)) {
					if tok == "c2pa-manifest" && len(d.links) < maxHTMLElems {
						href, _ := attrOf(attrs, "href")
						d.links = append(d.links, htmlElem{span{int64(start), int64(i)}, strings.TrimSpace(href)})
						break
					}
				}
			case "div":
				if _, ok := attrOf(attrs, noticeAttr); ok && notice == nil {
					notice = &htmlNotice{span: span{off: int64(start)}}
				}
			case "p":
				if notice != nil {
					pStart = i
					pLang, _ = attrOf(attrs, "lang")
				}
			case "plaintext":
				return d
			}
			if isRawText(name) {
				cs, ce := closeTag(b[i:], name)
				if name == "script" {
					if t, _ := attrOf(attrs, "type"); strings.EqualFold(strings.TrimSpace(t), "application/c2pa") && len(d.scripts) < maxHTMLElems {
						content := b[i:]
						if cs >= 0 {
							content = b[i : i+cs]
						}
						d.scripts = append(d.scripts, htmlElem{span{int64(start), int64(i + ce)}, string(content)})
					}
				}
				i += ce
			}
		default:
			i++
		}
	}
	return d
}
