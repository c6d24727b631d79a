// Package xmp writes and reads the metadata-only AI label in an XMP packet: the IPTC
// DigitalSourceType, xmpMM InstanceID/DocumentID, xmp:CreatorTool, a multilingual
// dc:description, and further simple properties. Tools that do not read C2PA (exiftool, Meta,
// Google) read these.
//
// Build merges into an existing packet by editing its bytes: the properties ailabel sets are cut
// out (in attribute and element form) and a new rdf:Description with ailabel's properties is
// inserted before </rdf:RDF>. Everything else — other namespaces, other tools' data, comments,
// whitespace and padding — is kept byte for byte. encoding/xml is used only to tokenize and to
// locate byte ranges; nothing is re-encoded, so namespace prefixes survive.
//
// Both functions take untrusted bytes: input is bounded (MaxPacket), malformed XML gives an error
// wrapping ErrMalformed, and a panic never escapes.
package xmp

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
)

// Namespaces.
const (
	NSIptc4xmpExt = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/" // IPTC Extension (Iptc4xmpExt:)
	NSXMPMM       = "http://ns.adobe.com/xap/1.0/mm/"             // XMP Media Management (xmpMM:)
	NSXMP         = "http://ns.adobe.com/xap/1.0/"                // XMP Basic (xmp:)
	NSDC          = "http://purl.org/dc/elements/1.1/"            // Dublin Core (dc:)
	NSDCTerms     = "http://purl.org/dc/terms/"                   // DCMI terms (dcterms:)
	NSRDF         = "http://www.w3.org/1999/02/22-rdf-syntax-ns#" // RDF (rdf:)
	NSX           = "adobe:ns:meta/"                              // the x:xmpmeta wrapper (x:)
	nsXML         = "http://www.w3.org/XML/1998/namespace"        // xml:lang
)

// IPTC digital source type URIs for AI-generated media
// (https://cv.iptc.org/newscodes/digitalsourcetype/).
const (
	// TrainedAlgorithmicMedia: created by a model trained on sampled content (generative AI).
	TrainedAlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
	// CompositeWithTrainedAlgorithmicMedia: a composite including generative-AI elements.
	CompositeWithTrainedAlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
	// AlgorithmicMedia: created purely by an algorithm without sampled training data.
	AlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/algorithmicMedia"
)

// Limits.
const (
	// MaxPacket is the largest packet Build and Parse accept.
	MaxPacket = 16 << 20
	// MaxValue is the largest value (bytes of UTF-8) of one property given to Build.
	MaxValue = 1 << 20
	// MaxExtra is the largest number of Fields.Extra properties.
	MaxExtra = 1000
)

// Errors. They are the shared container errors, so errors.Is(err, formats.ErrMalformed) also
// holds for ErrMalformed.
var (
	// ErrMalformed is wrapped by errors about input that is not a usable XMP packet. The caller
	// may then decide to replace the packet instead of merging into it.
	ErrMalformed = formats.ErrMalformed
	// ErrTooLarge is wrapped by errors about input or fields over the limits.
	ErrTooLarge = formats.ErrTooLarge
)

// errInternal marks a recovered panic, which is a bug in this package. The fuzz targets fail on it.
var errInternal = errors.New("xmp: internal error")

// Fields is what ailabel writes. Empty fields are not written, and the input's same-named
// properties are then kept.
type Fields struct {
	// DigitalSourceType is Iptc4xmpExt:DigitalSourceType, a URI such as TrainedAlgorithmicMedia.
	DigitalSourceType string
	// InstanceID is xmpMM:InstanceID, e.g. "xmp.iid:<uuid>".
	InstanceID string
	// DocumentID is xmpMM:DocumentID, written only if the input has none.
	DocumentID string
	// CreatorTool is xmp:CreatorTool: the generating model or software.
	CreatorTool string
	// Description is dc:description as an rdf:Alt language alternative; the first entry is also
	// written as x-default. An empty Lang means x-default.
	Description []LangText
	// Extra are further simple properties (e.g. a TC260 AIGC label, plus:DataMining).
	Extra []Property
}

// LangText is one language alternative: an RFC 5646 language tag and the text.
type LangText struct{ Lang, Text string }

// Property is a simple XMP property: namespace URI, preferred prefix, local name and value.
type Property struct{ NS, Prefix, Name, Value string }

// Info is what Parse reads from a packet.
type Info struct {
	DigitalSourceType string // Iptc4xmpExt:DigitalSourceType
	InstanceID        string // xmpMM:InstanceID
	DocumentID        string // xmpMM:DocumentID
	CreatorTool       string // xmp:CreatorTool
	Provenance        string // dcterms:provenance: the URI of an external C2PA manifest
	// Description holds the dc:description alternatives in document order, x-default included.
	Description []LangText

	props map[propKey]string
}

type propKey struct{ ns, name string }

// Get returns the top-level property (ns, name): a simple value (attribute or element form, or
// an rdf:resource URI), or the first item of an array. It returns "" for a missing property or
// a structure.
func (i *Info) Get(ns, name string) string {
	return i.props[propKey{ns, name}]
}

// DescriptionIn returns the dc:description text for lang (compared case-insensitively), else the
// x-default text, else the first alternative, else "".
func (i *Info) DescriptionIn(lang string) string {
	for _, want := range []string{lang, "x-default"} {
		for _, d := range i.Description {
			if strings.EqualFold(d.Lang, want) {
				return d.Text
			}
		}
	}
	if len(i.Description) > 0 {
		return i.Description[0].Text
	}
	return ""
}

// Parse reads a packet. Errors wrap ErrMalformed or ErrTooLarge.
func Parse(packet []byte) (info *Info, err error) {
	defer func() {
		if r := recover(); r != nil {
			info, err = nil, fmt.Errorf("%w: xmp parse: %v", errInternal, r)
		}
	}()
	doc, err := scan(packet)
	if err != nil {
		return nil, err
	}
	info = &Info{props: map[propKey]string{}}
	for _, d := range doc.descs {
		for _, p := range d.props {
			k := propKey{p.ns, p.name}
			if _, seen := info.props[k]; seen {
				continue
			}
			v := p.value
			if !p.simple && len(p.items) > 0 {
				v = p.items[0].Text
			}
			info.props[k] = v
			if k == (propKey{NSDC, "description"}) {
				switch {
				case p.items != nil:
					info.Description = p.items
				case p.simple:
					info.Description = []LangText{{"x-default", p.value}}
				}
			}
		}
	}
	info.DigitalSourceType = info.Get(NSIptc4xmpExt, "DigitalSourceType")
	info.InstanceID = info.Get(NSXMPMM, "InstanceID")
	info.DocumentID = info.Get(NSXMPMM, "DocumentID")
	info.CreatorTool = info.Get(NSXMP, "CreatorTool")
	info.Provenance = info.Get(NSDCTerms, "provenance")
	return info, nil
}

// Build returns a complete XMP packet with f's non-empty fields. With existing empty it writes a
// fresh packet; otherwise it merges into existing (see the package comment). Errors wrap
// ErrMalformed for an unusable existing packet and ErrTooLarge for sizes over the limits; other
// errors report invalid fields.
func Build(existing []byte, f Fields) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: xmp build: %v", errInternal, r)
		}
	}()
	props, err := f.plan()
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimRight(existing, "\x00 \t\r\n")) == 0 {
		var b bytes.Buffer
		b.WriteString(packetHeader)
		b.WriteString("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\" x:xmptk=\"ailabel\">\n")
		b.WriteString(" <rdf:RDF xmlns:rdf=\"" + NSRDF + "\">\n")
		writeDescription(&b, "  ", "", false, props.list(true))
		b.WriteString(" </rdf:RDF>\n</x:xmpmeta>\n")
		b.WriteString(packetTrailer)
		return b.Bytes(), nil
	}
	doc, err := scan(existing)
	if err != nil {
		return nil, err
	}
	return doc.merge(props)
}

const (
	packetHeader  = "<?xpacket begin=\"\ufeff\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
	packetTrailer = "<?xpacket end=\"w\"?>"
)

// outProp is one property Build writes.
type outProp struct {
	ns, prefix, name string
	value            string     // simple value
	alt              []LangText // lang-alt items (dc:description), x-default first
	docID            bool       // xmpMM:DocumentID: written only when the input has none
}

// plan is the validated list of properties Build writes.
type plan []outProp

// list returns the properties to write; withDocID says whether the DocumentID goes in.
func (p plan) list(withDocID bool) []outProp {
	var out []outProp
	for _, o := range p {
		if !o.docID || withDocID {
			out = append(out, o)
		}
	}
	return out
}

func (f *Fields) plan() (plan, error) {
	var p plan
	add := func(ns, prefix, name, value string) error {
		if value == "" {
			return nil
		}
		if err := checkText(prefix+":"+name, value); err != nil {
			return err
		}
		p = append(p, outProp{ns: ns, prefix: prefix, name: name, value: value})
		return nil
	}
	if err := add(NSIptc4xmpExt, "Iptc4xmpExt", "DigitalSourceType", f.DigitalSourceType); err != nil {
		return nil, err
	}
	if err := add(NSXMPMM, "xmpMM", "InstanceID", f.InstanceID); err != nil {
		return nil, err
	}
	if err := add(NSXMPMM, "xmpMM", "DocumentID", f.DocumentID); err != nil {
		return nil, err
	}
	if f.DocumentID != "" {
		p[len(p)-1].docID = true
	}
	if err := add(NSXMP, "xmp", "CreatorTool", f.CreatorTool); err != nil {
		return nil, err
	}
	if len(f.Description) > 0 {
		var alt []LangText
		seen := map[string]bool{}
		for i, d := range f.Description {
			lang := d.Lang
			if lang == "" {
				lang = "x-default"
			}
			if !validLang(lang) {
				return nil, fmt.Errorf("xmp: Description[%d]: invalid language tag %q", i, d.Lang)
			}
			if err := checkText(fmt.Sprintf("Description[%d]", i), d.Text); err != nil {
				return nil, err
			}
			if i == 0 && !strings.EqualFold(lang, "x-default") {
				alt = append(alt, LangText{"x-default", d.Text})
				seen["x-default"] = true
			}
			if seen[strings.ToLower(lang)] {
				return nil, fmt.Errorf("xmp: Description[%d]: language %q given twice", i, lang)
			}
			seen[strings.ToLower(lang)] = true
			alt = append(alt, LangText{lang, d.Text})
		}
		p = append(p, outProp{ns: NSDC, prefix: "dc", name: "description", alt: alt})
	}
	if len(f.Extra) > MaxExtra {
		return nil, fmt.Errorf("xmp: %d Extra properties, limit %d: %w", len(f.Extra), MaxExtra, ErrTooLarge)
	}
	prefixOf := map[string]string{NSIptc4xmpExt: "Iptc4xmpExt", NSXMPMM: "xmpMM", NSXMP: "xmp", NSDC: "dc", NSRDF: "rdf"}
	nsOf := map[string]string{}
	for ns, pre := range prefixOf {
		nsOf[pre] = ns
	}
	nsOf["x"] = NSX
	for i, e := range f.Extra {
		what := fmt.Sprintf("Extra[%d] (%s %s)", i, e.NS, e.Name)
		switch {
		case e.NS == "" || e.NS == NSRDF || e.NS == nsXML:
			return nil, fmt.Errorf("xmp: %s: namespace must be set and not RDF or XML", what)
		case !validNCName(e.Name):
			return nil, fmt.Errorf("xmp: %s: invalid local name", what)
		case e.Prefix != "" && (!validNCName(e.Prefix) || strings.HasPrefix(strings.ToLower(e.Prefix), "xml")):
			return nil, fmt.Errorf("xmp: %s: invalid prefix %q", what, e.Prefix)
		}
		if err := checkText(what+" namespace", e.NS); err != nil {
			return nil, err
		}
		if e.Value == "" {
			continue
		}
		for _, o := range p {
			if o.ns == e.NS && o.name == e.Name {
				return nil, fmt.Errorf("xmp: %s is set twice", what)
			}
		}
		pre, ok := prefixOf[e.NS]
		if !ok {
			base := e.Prefix
			if base == "" {
				base = "ns"
			}
			pre = base
			for n := 1; nsOf[pre] != ""; n++ { // the preferred prefix is taken by another namespace
				pre = fmt.Sprintf("%s%d", base, n)
			}
			prefixOf[e.NS], nsOf[pre] = pre, e.NS
		}
		if err := add(e.NS, pre, e.Name, e.Value); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// checkText rejects values XML cannot carry, and oversized ones.
func checkText(what, s string) error {
	if len(s) > MaxValue {
		return fmt.Errorf("xmp: %s is %d bytes, limit %d: %w", what, len(s), MaxValue, ErrTooLarge)
	}
	for i, r := range s {
		if r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD") {
			return fmt.Errorf("xmp: %s is not valid UTF-8 (byte %d)", what, i)
		}
		if !isXMLChar(r) {
			return fmt.Errorf("xmp: %s contains U+%04X, which XML 1.0 does not allow", what, r)
		}
	}
	return nil
}

// isXMLChar reports whether r is a Char of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}

// validLang accepts language tags of the RFC 5646 shape: letters, digits and hyphens.
func validLang(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validNCName accepts ASCII XML names without a colon.
func validNCName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

// writeDescription writes one rdf:Description holding props, declaring the namespaces it uses.
func writeDescription(b *bytes.Buffer, indent, about string, declareRDF bool, props []outProp) {
	b.WriteString(indent + "<rdf:Description rdf:about=\"")
	escape(b, about, true)
	b.WriteString("\"")
	if declareRDF {
		b.WriteString("\n" + indent + "    xmlns:rdf=\"" + NSRDF + "\"")
	}
	declared := map[string]bool{}
	for _, p := range props {
		if declared[p.prefix] {
			continue
		}
		declared[p.prefix] = true
		b.WriteString("\n" + indent + "    xmlns:" + p.prefix + "=\"")
		escape(b, p.ns, true)
		b.WriteString("\"")
	}
	b.WriteString(">\n")
	for _, p := range props {
		qn := p.prefix + ":" + p.name
		if p.alt == nil {
			b.WriteString(indent + " <" + qn + ">")
			escape(b, p.value, false)
			b.WriteString("</" + qn + ">\n")
			continue
		}
		b.WriteString(indent + " <" + qn + ">\n" + indent + "  <rdf:Alt>\n")
		for _, a := range p.alt {
			b.WriteString(indent + "   <rdf:li xml:lang=\"")
			escape(b, a.Lang, true)
			b.WriteString("\">")
			escape(b, a.Text, false)
			b.WriteString("</rdf:li>\n")
		}
		b.WriteString(indent + "  </rdf:Alt>\n" + indent + " </" + qn + ">\n")
	}
	b.WriteString(indent + "</rdf:Description>\n")
}

// escape writes s as XML character data (attr: as an attribute value in double quotes).
// Carriage returns, and tabs and newlines in attributes, are written as character references so
// that parsers do not normalise them away.
func escape(b *bytes.Buffer, s string, attr bool) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&':
			b.WriteString("&amp;")
		case c == '<':
			b.WriteString("&lt;")
		case c == '>':
			b.WriteString("&gt;")
		case c == '"' && attr:
			b.WriteString("&quot;")
		case c == '\r':
			b.WriteString("&#xD;")
		case c == '\n' && attr:
			b.WriteString("&#xA;")
		case c == '\t' && attr:
			b.WriteString("&#x9;")
		default:
			b.WriteByte(c)
		}
	}
}
