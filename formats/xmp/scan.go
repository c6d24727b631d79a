package xmp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// property is one top-level property of a top-level rdf:Description.
type property struct {
	ns, name   string
	attr       bool // attribute form
	start, end int  // the bytes to cut to remove it, preceding whitespace included
	simple     bool // value holds a simple value (text or rdf:resource)
	value      string
	items      []LangText // the items of an rdf:Alt/Bag/Seq value (Lang empty without xml:lang)
}

// description is a top-level rdf:Description.
type description struct {
	about string
	props []property
}

// document is what scan finds in a packet.
type document struct {
	src            []byte // the packet without trailing NULs
	rdfStartEnd    int    // the offset just after the rdf:RDF start tag
	rdfEnd         int    // the offset of </rdf:RDF>, or of the "/>" of <rdf:RDF/>
	rdfSelfClosing bool
	rdfRawName     string // the rdf:RDF element's name as written
	rdfBound       bool   // inside rdf:RDF the prefix "rdf" maps to the RDF namespace
	descs          []description
	hasBegin       bool // <?xpacket begin=…?> present
	hasEnd         bool // <?xpacket end=…?> present
	endPI          int  // the offset of the last <?xpacket end=…?>
	prologEnd      int  // where a missing xpacket header goes: after a BOM and XML declaration
}

// frame kinds: where an element sits in the RDF/XML structure.
type kind uint8

const (
	kOther     kind = iota // outside rdf:RDF
	kRDF                   // rdf:RDF
	kDesc                  // a top-level rdf:Description
	kProp                  // a top-level property element
	kContainer             // rdf:Alt, rdf:Bag or rdf:Seq directly inside a property element
	kLi                    // rdf:li inside such a container
	kInner                 // anything else under rdf:RDF (structures, typed nodes)
)

type frame struct {
	kind      kind
	decls     [][2]string // namespace declarations on this element: prefix, URI
	child     bool        // has a child element
	text      []byte      // character data (kProp, kLi)
	prop      property    // kProp: the property being read
	notValue  bool        // kProp: a structure (rdf:parseType or field attributes)
	resource  *string     // kProp: rdf:resource
	items     []LangText  // kProp: container items
	container bool        // kProp: the value is an rdf:Alt/Bag/Seq
	lang      string      // kLi: xml:lang
}

var bom = []byte("\ufeff")

// scan tokenizes a packet and locates its rdf:RDF, top-level descriptions and properties.
func scan(src []byte) (*document, error) {
	if len(src) > MaxPacket {
		return nil, fmt.Errorf("xmp: packet is %d bytes, limit %d: %w", len(src), MaxPacket, ErrTooLarge)
	}
	// JPEG APP1 and other containers may pad the packet with NULs, which XML does not allow.
	src = bytes.TrimRight(src, "\x00")
	doc := &document{src: src}
	if bytes.HasPrefix(src, bom) {
		doc.prologEnd = len(bom)
	}
	rdfFound := false
	d := xml.NewDecoder(bytes.NewReader(src))
	d.Strict = true
	var stack []frame
	top := func() *frame { return &stack[len(stack)-1] }
	for {
		o0 := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("xmp: XML syntax error at line %d (near offset %d): %s: %w", se.Line, o0, se.Msg, ErrMalformed)
			}
			return nil, fmt.Errorf("xmp: XML error near offset %d: %v: %w", o0, err, ErrMalformed)
		}
		o1 := int(d.InputOffset())
		switch t := tok.(type) {
		case xml.ProcInst:
			switch {
			case t.Target == "xml" && o0 == doc.prologEnd:
				doc.prologEnd = o1
			case t.Target == "xpacket" && len(stack) == 0:
				inst := strings.TrimSpace(string(t.Inst))
				doc.hasBegin = doc.hasBegin || strings.HasPrefix(inst, "begin")
				if strings.HasPrefix(inst, "end") {
					doc.hasEnd, doc.endPI = true, o0
				}
			}
		case xml.CharData:
			if len(stack) > 0 && (top().kind == kProp || top().kind == kLi) {
				top().text = append(top().text, t...)
			}
		case xml.StartElement:
			parent := kOther
			if len(stack) > 0 {
				top().child = true
				parent = top().kind
			}
			f := frame{kind: kInner}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns":
					f.decls = append(f.decls, [2]string{a.Name.Local, a.Value})
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					f.decls = append(f.decls, [2]string{"", a.Value})
				}
			}
			rdfName := ""
			if t.Name.Space == NSRDF {
				rdfName = t.Name.Local
			}
			switch parent {
			case kOther:
				f.kind = kOther
				if rdfName == "RDF" {
					if rdfFound {
						return nil, fmt.Errorf("xmp: a second rdf:RDF element at offset %d: %w", o0, ErrMalformed)
					}
					rdfFound = true
					f.kind = kRDF
					doc.rdfStartEnd = o1
					doc.rdfRawName = rawName(src[o0:o1])
					if bytes.HasSuffix(src[o0:o1], []byte("/>")) {
						doc.rdfSelfClosing = true
						doc.rdfEnd = o1 - 2
					}
				}
			case kRDF:
				if rdfName == "Description" {
					f.kind = kDesc
					desc, err := readDescription(src, o0, o1, t)
					if err != nil {
						return nil, err
					}
					doc.descs = append(doc.descs, desc)
				}
			case kDesc:
				f.kind = kProp
				f.prop = property{ns: t.Name.Space, name: t.Name.Local, start: backSpace(src, o0)}
				for _, a := range t.Attr {
					switch {
					case a.Name.Space == NSRDF && a.Name.Local == "resource":
						v := a.Value
						f.resource = &v
					case a.Name.Space == NSRDF && a.Name.Local == "parseType":
						f.notValue = true
					case a.Name.Space == "xmlns" || a.Name.Space == nsXML || a.Name.Space == NSRDF ||
						(a.Name.Space == "" && a.Name.Local == "xmlns"):
					default:
						f.notValue = true // structure fields in attribute form
					}
				}
			case kProp:
				if rdfName == "Alt" || rdfName == "Bag" || rdfName == "Seq" {
					f.kind = kContainer
					top().container = true
				}
			case kContainer:
				if rdfName == "li" {
					f.kind = kLi
					for _, a := range t.Attr {
						if a.Name.Space == nsXML && a.Name.Local == "lang" {
							f.lang = a.Value
						}
					}
				}
			}
			stack = append(stack, f)
			if f.kind == kRDF {
				doc.rdfBound = lookupPrefix(stack, "rdf") == NSRDF
			}
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, fmt.Errorf("xmp: unbalanced end tag at offset %d: %w", o0, ErrMalformed)
			}
			f := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch f.kind {
			case kRDF:
				if !doc.rdfSelfClosing {
					doc.rdfEnd = o0
				}
			case kLi:
				if !f.child && len(stack) >= 2 && stack[len(stack)-2].kind == kProp {
					p := &stack[len(stack)-2]
					p.items = append(p.items, LangText{f.lang, string(f.text)})
				}
			case kProp:
				p := f.prop
				p.end = o1
				switch {
				case f.resource != nil:
					p.simple, p.value = true, *f.resource
				case !f.child && !f.notValue:
					p.simple, p.value = true, string(f.text)
				default:
					p.items = f.items
					if p.items == nil && f.container {
						p.items = []LangText{} // an empty array
					}
				}
				last := &doc.descs[len(doc.descs)-1]
				last.props = append(last.props, p)
			}
		}
	}
	if len(stack) != 0 {
		return nil, fmt.Errorf("xmp: %d unclosed elements at the end: %w", len(stack), ErrMalformed)
	}
	if !rdfFound {
		return nil, fmt.Errorf("xmp: no rdf:RDF element: %w", ErrMalformed)
	}
	return doc, nil
}

// readDescription reads the attribute-form properties of a top-level rdf:Description whose
// start tag is src[o0:o1].
func readDescription(src []byte, o0, o1 int, t xml.StartElement) (description, error) {
	var desc description
	spans := lexAttrs(src[o0:o1])
	if len(spans) != len(t.Attr) {
		return desc, fmt.Errorf("xmp: rdf:Description at offset %d: found %d attributes, the XML decoder %d: %w", o0, len(spans), len(t.Attr), ErrMalformed)
	}
	for i, a := range t.Attr {
		switch {
		case a.Name.Space == NSRDF && a.Name.Local == "about":
			desc.about = a.Value
		case a.Name.Space == "xmlns", a.Name.Space == "", a.Name.Space == NSRDF, a.Name.Space == nsXML:
			// declarations, unqualified attributes, RDF syntax and xml:lang are not properties
		default:
			desc.props = append(desc.props, property{
				ns: a.Name.Space, name: a.Name.Local, attr: true,
				start: o0 + spans[i][0], end: o0 + spans[i][1],
				simple: true, value: a.Value,
			})
		}
	}
	return desc, nil
}

// lexAttrs returns, for each attribute of a start tag (already accepted by encoding/xml), the
// span from the whitespace before it to the end of its closing quote.
func lexAttrs(tag []byte) [][2]int {
	var spans [][2]int
	i := 1 // after '<'
	for i < len(tag) && !isSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
		i++ // the element name
	}
	for i < len(tag) {
		ws := i
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i >= len(tag) || tag[i] == '>' || tag[i] == '/' {
			break
		}
		for i < len(tag) && tag[i] != '=' {
			i++
		}
		i++ // '='
		for i < len(tag) && isSpace(tag[i]) {
			i++
		}
		if i >= len(tag) {
			break
		}
		q := tag[i]
		j := bytes.IndexByte(tag[i+1:], q)
		if j < 0 {
			break
		}
		i += j + 2
		spans = append(spans, [2]int{ws, i})
	}
	return spans
}

// rawName returns the element name of a start tag as written.
func rawName(tag []byte) string {
	i := 1
	for i < len(tag) && !isSpace(tag[i]) && tag[i] != '>' && tag[i] != '/' {
		i++
	}
	return string(tag[1:i])
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// backSpace moves off back over whitespace.
func backSpace(src []byte, off int) int {
	for off > 0 && isSpace(src[off-1]) {
		off--
	}
	return off
}

// lookupPrefix resolves a namespace prefix in the scope of the innermost frame.
func lookupPrefix(stack []frame, prefix string) string {
	for i := len(stack) - 1; i >= 0; i-- {
		for _, d := range stack[i].decls {
			if d[0] == prefix {
				return d[1]
			}
		}
	}
	return ""
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// merge applies a plan to the scanned packet.
func (doc *document) merge(p plan) ([]byte, error) {
	remove := map[propKey]bool{}
	var docID *outProp
	for i := range p {
		if p[i].docID {
			docID = &p[i]
			continue
		}
		remove[propKey{p[i].ns, p[i].name}] = true
	}
	haveDocID := false
	for _, d := range doc.descs {
		for _, pr := range d.props {
			if pr.ns == NSXMPMM && pr.name == "DocumentID" && !(pr.simple && strings.TrimSpace(pr.value) == "") {
				haveDocID = true
			}
		}
	}
	if docID != nil && !haveDocID {
		remove[propKey{NSXMPMM, "DocumentID"}] = true // empty ones
	}
	var edits []edit
	for _, d := range doc.descs {
		for _, pr := range d.props {
			if remove[propKey{pr.ns, pr.name}] {
				edits = append(edits, edit{pr.start, pr.end, ""})
			}
		}
	}
	if props := p.list(!haveDocID); len(props) > 0 {
		about := ""
		if len(doc.descs) > 0 {
			about = doc.descs[0].about
		}
		var b bytes.Buffer
		writeDescription(&b, "  ", about, !doc.rdfBound, props)
		block := strings.TrimSuffix(b.String(), "\n")
		if doc.rdfSelfClosing {
			edits = append(edits, edit{doc.rdfEnd, doc.rdfEnd + 2, ">\n" + block + "\n </" + doc.rdfRawName + ">"})
		} else {
			at := max(backSpace(doc.src, doc.rdfEnd), doc.rdfStartEnd)
			edits = append(edits, edit{at, at, "\n" + block})
		}
	}
	if !doc.hasBegin {
		edits = append(edits, edit{doc.prologEnd, doc.prologEnd, packetHeader})
	}
	if !doc.hasEnd {
		edits = append(edits, edit{len(doc.src), len(doc.src), "\n" + packetTrailer})
	}
	// XMP packets carry whitespace padding before the trailer so that they can grow in place:
	// use it up first, so that the packet keeps its size when the padding suffices.
	growth := 0
	for _, e := range edits {
		growth += len(e.text) - (e.end - e.start)
	}
	if padStart := backSpace(doc.src, doc.endPI); doc.hasEnd && growth > 0 {
		// Cut from the end of the run, keeping its first and last bytes (line breaks, usually).
		if n := min(growth, doc.endPI-padStart-2); n > 0 {
			edits = append(edits, edit{doc.endPI - 1 - n, doc.endPI - 1, ""})
		}
	}
	slices.SortStableFunc(edits, func(a, b edit) int { return a.start - b.start })
	var out bytes.Buffer
	out.Grow(len(doc.src) + 4096)
	pos := 0
	for _, e := range edits {
		if e.start < pos || e.end < e.start || e.end > len(doc.src) {
			return nil, fmt.Errorf("%w: overlapping edits at %d..%d (position %d)", errInternal, e.start, e.end, pos)
		}
		out.Write(doc.src[pos:e.start])
		out.WriteString(e.text)
		pos = e.end
	}
	out.Write(doc.src[pos:])
	return out.Bytes(), nil
}
