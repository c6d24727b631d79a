package pdf

import (
	"bytes"
	"errors"
	"strconv"
)

// name is a PDF name, without the slash, #xx escapes decoded.
type name string

// ref is an indirect reference "num gen R".
type ref struct{ num, gen int64 }

// dict is a PDF dictionary.
type dict map[name]any

// keyword is a bare word such as obj, stream, true or null.
type keyword string

// Values are int64, float64, name, []byte (strings), []any, dict, ref or keyword.

// Parser limits.
const (
	maxDepth = 32
	maxItems = 1 << 16
)

var errSyntax = errors.New("PDF syntax error")

// parser reads PDF objects from a byte slice.
type parser struct {
	b     []byte
	pos   int
	items int
}

func isWhite(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// skip passes white space and comments.
func (p *parser) skip() {
	for p.pos < len(p.b) {
		c := p.b[p.pos]
		switch {
		case isWhite(c):
			p.pos++
		case c == '%':
			for p.pos < len(p.b) && p.b[p.pos] != '\n' && p.b[p.pos] != '\r' {
				p.pos++
			}
		default:
			return
		}
	}
}

// regular reads a run of regular characters.
func (p *parser) regular() []byte {
	start := p.pos
	for p.pos < len(p.b) && !isWhite(p.b[p.pos]) && !isDelim(p.b[p.pos]) {
		p.pos++
	}
	return p.b[start:p.pos]
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// value parses one object at the current position.
func (p *parser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, errors.New("PDF objects nested too deeply")
	}
	if p.items++; p.items > maxItems {
		return nil, errors.New("PDF object has too many items")
	}
	p.skip()
	if p.pos >= len(p.b) {
		return nil, errSyntax
	}
	switch c := p.b[p.pos]; {
	case c == '/':
		p.pos++
		raw := p.regular()
		var n []byte
		for i := 0; i < len(raw); i++ {
			if raw[i] == '#' && i+2 < len(raw) {
				h, ok1 := unhex(raw[i+1])
				l, ok2 := unhex(raw[i+2])
				if ok1 && ok2 {
					n = append(n, h<<4|l)
					i += 2
					continue
				}
			}
			n = append(n, raw[i])
		}
		return name(n), nil
	case c == '<' && p.pos+1 < len(p.b) && p.b[p.pos+1] == '<':
		p.pos += 2
		d := dict{}
		for {
			p.skip()
			if p.pos+1 < len(p.b) && p.b[p.pos] == '>' && p.b[p.pos+1] == '>' {
				p.pos += 2
				return d, nil
			}
			k, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			kn, ok := k.(name)
			if !ok {
				return nil, errSyntax
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			d[kn] = v
		}
	case c == '<':
		p.pos++
		var s []byte
		var hi byte
		half := false
		for p.pos < len(p.b) && p.b[p.pos] != '>' {
			if v, ok := unhex(p.b[p.pos]); ok {
				if half {
					s = append(s, hi<<4|v)
				} else {
					hi = v
				}
				half = !half
			}
			p.pos++
		}
		if p.pos >= len(p.b) {
			return nil, errSyntax
		}
		p.pos++
		if half {
			s = append(s, hi<<4)
		}
		return s, nil
	case c == '(':
		p.pos++
		var s []byte
		for nest := 0; ; p.pos++ {
			if p.pos >= len(p.b) {
				return nil, errSyntax
			}
			c := p.b[p.pos]
			switch {
			case c == '\\' && p.pos+1 < len(p.b):
				p.pos++
				s = append(s, p.b[p.pos])
			case c == '(':
				nest++
				s = append(s, c)
			case c == ')' && nest == 0:
				p.pos++
				return s, nil
			case c == ')':
				nest--
				s = append(s, c)
			default:
				s = append(s, c)
			}
		}
	case c == '[':
		p.pos++
		var a []any
		for {
			p.skip()
			if p.pos < len(p.b) && p.b[p.pos] == ']' {
				p.pos++
				return a, nil
			}
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		tok := p.regular()
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil {
			f, err := strconv.ParseFloat(string(tok), 64)
			if err != nil {
				return nil, errSyntax
			}
			return f, nil
		}
		// "num gen R" is a reference.
		save := p.pos
		p.skip()
		if gen := p.regular(); len(gen) > 0 {
			if g, err := strconv.ParseInt(string(gen), 10, 64); err == nil && n >= 0 && g >= 0 {
				p.skip()
				if r := p.regular(); string(r) == "R" {
					return ref{n, g}, nil
				}
			}
		}
		p.pos = save
		return n, nil
	case isDelim(c):
		return nil, errSyntax
	default:
		return keyword(p.regular()), nil
	}
}

// header parses "num gen obj" at the current position.
func (p *parser) header() (ref, error) {
	var r ref
	for i, want := range []string{"", "", "obj"} {
		p.skip()
		tok := p.regular()
		if want != "" {
			if string(tok) != want {
				return r, errSyntax
			}
			continue
		}
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if err != nil || n < 0 {
			return r, errSyntax
		}
		if i == 0 {
			r.num = n
		} else {
			r.gen = n
		}
	}
	return r, nil
}

// streamStart expects the "stream" keyword and its end of line at the current position, and
// returns the offset of the stream's first data byte.
func (p *parser) streamStart() (int, bool) {
	p.skip()
	if !bytes.HasPrefix(p.b[p.pos:], []byte("stream")) {
		return 0, false
	}
	p.pos += len("stream")
	switch {
	case bytes.HasPrefix(p.b[p.pos:], []byte("\r\n")):
		p.pos += 2
	case bytes.HasPrefix(p.b[p.pos:], []byte("\n")), bytes.HasPrefix(p.b[p.pos:], []byte("\r")):
		p.pos++
	default:
		return 0, false
	}
	return p.pos, true
}
