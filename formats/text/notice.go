package text

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/ailabel/ailabel/formats"
	"golang.org/x/text/unicode/norm"
)

// The human-readable disclaimer in plain text and Markdown.
//
// Plain text: one line per language, each starting with "⚠ " (U+26A0 and a space), as a
// paragraph of its own: at the start it is followed by a blank line, at the end it follows one.
//
//	⚠ Жасанды интеллект арқылы жасалған контент
//	⚠ Контент создан с помощью искусственного интеллекта
//	⚠ AI-generated content
//
// Markdown: a blockquote with one paragraph per language, the text escaped for Markdown:
//
//	> ⚠ Жасанды интеллект арқылы жасалған контент
//	>
//	> ⚠ Контент создан с помощью искусственного интеллекта
//
// Neither form has room for a language tag, so Notices reports the language guessed from the
// script (see guessLang); HTML carries real lang attributes.
const noticeMark = "⚠ "

// noticeStyle is how a disclaimer is written.
type noticeStyle uint8

const (
	stylePlain noticeStyle = iota
	styleMarkdown
)

// placement returns whether the notice goes at the start and at the end.
func placement(n *formats.Notice) (start, end bool, err error) {
	if n == nil || len(n.Texts) == 0 {
		return false, false, nil
	}
	switch n.Placement {
	case "", "start":
		return true, false, nil
	case "end":
		return false, true, nil
	case "both":
		return true, true, nil
	}
	return false, false, fmt.Errorf("notice placement %q is not start, end or both", n.Placement)
}

// oneLine makes a notice text one NFC line. Notice texts come from a policy's catalogue or a
// caller's options, a handful of strings written for every label: the results are remembered
// (see oneLineCache).
func oneLine(s string) string {
	if v, ok := oneLineCache.m.Load(s); ok {
		return v.(string)
	}
	out := makeOneLine(s)
	if len(s) <= maxCachedNotice && oneLineCache.n.Add(1) <= maxCachedNotices {
		oneLineCache.m.Store(s, out)
	}
	return out
}

// oneLineCache remembers oneLine's results: at most maxCachedNotices texts (stored once each;
// past that, texts are worked out every time), of at most maxCachedNotice bytes. It holds no
// configuration, only values of a pure function.
var oneLineCache struct {
	m sync.Map // string → string
	n atomic.Int64
}

const (
	maxCachedNotices = 256
	maxCachedNotice  = 1024
)

func makeOneLine(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r):
			return ' '
		case r == '\ufeff':
			return -1 // a wrapper starts with it
		}
		return r
	}, s)), " ")
	return norm.NFC.String(s)
}

// escapeMarkdown backslash-escapes the ASCII punctuation that Markdown could read as markup.
func escapeMarkdown(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>&|~!#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unescapeMarkdown removes backslash escapes of ASCII punctuation.
func unescapeMarkdown(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(asciiPunct, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

const asciiPunct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// noticeLines renders the texts as lines without line terminators.
func noticeLines(n *formats.Notice, st noticeStyle) []string {
	var lines []string
	for i, t := range n.Texts {
		s := oneLine(t.Text)
		if s == "" {
			continue
		}
		if st == styleMarkdown {
			if i > 0 && len(lines) > 0 {
				lines = append(lines, ">")
			}
			lines = append(lines, "> "+noticeMark+escapeMarkdown(s))
		} else {
			lines = append(lines, noticeMark+s)
		}
	}
	return lines
}

// StartNotice renders the disclaimer for the start of a plain text: its lines, then a blank line.
// It returns nil when n has no text.
func StartNotice(n *formats.Notice, newline string) []byte {
	return startNotice(n, stylePlain, newline)
}

// EndNotice renders the disclaimer for the end of a plain text: a blank line, then its lines.
// afterNewline says whether the text before it ends with a line break; atStart whether there
// is no text before it.
func EndNotice(n *formats.Notice, newline string, afterNewline, atStart bool) []byte {
	return endNotice(n, stylePlain, newline, afterNewline, atStart)
}

func startNotice(n *formats.Notice, st noticeStyle, nl string) []byte {
	if n == nil {
		return nil
	}
	lines := noticeLines(n, st)
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, nl) + nl + nl)
}

func endNotice(n *formats.Notice, st noticeStyle, nl string, afterNewline, atStart bool) []byte {
	if n == nil {
		return nil
	}
	lines := noticeLines(n, st)
	if len(lines) == 0 {
		return nil
	}
	var b []byte
	if !atStart {
		if !afterNewline {
			b = append(b, nl...)
		}
		b = append(b, nl...)
	}
	return append(append(b, strings.Join(lines, nl)...), nl...)
}

// foundNotice is a disclaimer found in a text.
type foundNotice struct {
	span
	texts []formats.NoticeText
}

// line is one line of a window of text: [off, end) without its terminator, next = start of the
// following line.
type line struct {
	off, end, next int64
	text           []byte
}

// splitLines splits b (which starts at offset base) into lines. A last line without terminator
// is included when it is not empty.
func splitLines(b []byte, base int64) []line {
	var out []line
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		var ln line
		if j < 0 {
			ln = line{off: base + int64(i), end: base + int64(len(b)), next: base + int64(len(b)), text: b[i:]}
			i = len(b)
		} else {
			t := b[i : i+j]
			ln = line{off: base + int64(i), next: base + int64(i+j+1)}
			if len(t) > 0 && t[len(t)-1] == '\r' {
				t = t[:len(t)-1]
			}
			ln.end = ln.off + int64(len(t))
			ln.text = t
			i += j + 1
		}
		out = append(out, ln)
	}
	return out
}

func blank(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// noticeText returns the text of a disclaimer line in either style, or ok false.
func noticeText(b []byte) (string, bool) {
	if bytes.HasPrefix(b, []byte(noticeMark)) {
		return strings.TrimSpace(string(b[len(noticeMark):])), true
	}
	if bytes.HasPrefix(b, []byte("> "+noticeMark)) {
		return strings.TrimSpace(unescapeMarkdown(string(b[2+len(noticeMark):]))), true
	}
	return "", false
}

// isQuoteSeparator reports whether b is an empty blockquote line (">").
func isQuoteSeparator(b []byte) bool {
	return len(bytes.TrimSpace(b)) == 1 && bytes.TrimSpace(b)[0] == '>'
}

// findStartNotice looks for a disclaimer paragraph at the start of lines: disclaimer lines (and,
// between them, empty blockquote lines), then a blank line or the end of the window (atEnd says
// whether the window reaches the end of the body). The span covers the blank line too.
func findStartNotice(lines []line, atEnd bool) *foundNotice {
	var f foundNotice
	for _, ln := range lines {
		if t, ok := noticeText(ln.text); ok {
			f.texts = append(f.texts, formats.NoticeText{Lang: guessLang(t), Text: t})
			continue
		}
		if len(f.texts) > 0 && isQuoteSeparator(ln.text) {
			continue
		}
		if len(f.texts) == 0 || !blank(ln.text) {
			return nil
		}
		f.span = span{lines[0].off, ln.next}
		return &f
	}
	if len(f.texts) == 0 || !atEnd {
		return nil
	}
	f.span = span{lines[0].off, lines[len(lines)-1].next}
	return &f
}

// findEndNotice looks for a disclaimer paragraph at the end of lines, preceded by a blank line or
// by the start of the body (atStart says whether the window begins there). The span starts at
// the blank line's terminator before it, so removing it leaves the text ending in one newline.
func findEndNotice(lines []line, atStart bool) *foundNotice {
	i := len(lines) - 1
	for i >= 0 && blank(lines[i].text) && !isQuoteSeparator(lines[i].text) {
		i-- // trailing empty lines
	}
	last := i
	var texts []formats.NoticeText
	for ; i >= 0; i-- {
		if t, ok := noticeText(lines[i].text); ok {
			texts = append(texts, formats.NoticeText{Lang: guessLang(t), Text: t})
			continue
		}
		if len(texts) > 0 && isQuoteSeparator(lines[i].text) {
			continue
		}
		break
	}
	if len(texts) == 0 || last < 0 {
		return nil
	}
	for a, b := 0, len(texts)-1; a < b; a, b = a+1, b-1 {
		texts[a], texts[b] = texts[b], texts[a]
	}
	f := &foundNotice{texts: texts}
	end := lines[len(lines)-1].next
	switch {
	case i < 0 && atStart:
		f.span = span{lines[0].off, end}
	case i >= 0 && blank(lines[i].text):
		f.span = span{lines[i].off, end}
	default:
		return nil
	}
	return f
}

// sameTexts reports whether a found disclaimer says what n would render.
func sameTexts(found []formats.NoticeText, n *formats.Notice) bool {
	var want []string
	for _, t := range n.Texts {
		if s := oneLine(t.Text); s != "" {
			want = append(want, s)
		}
	}
	if len(found) != len(want) {
		return false
	}
	for i := range want {
		if found[i].Text != want[i] {
			return false
		}
	}
	return true
}

// guessLang names the language of a disclaimer by its script: "kk" for Cyrillic with letters
// only Kazakh uses (ә ғ қ ң ө ұ ү һ і), "ru" for other Cyrillic, "zh" for Han, "ja" for kana,
// "ko" for Hangul, "en" for Latin, "" otherwise.
func guessLang(s string) string {
	var cyr, lat, han, kana, hangul bool
	for _, r := range s {
		switch {
		case strings.ContainsRune("ӘәҒғҚқҢңӨөҰұҮүҺһІі", r):
			return "kk"
		case unicode.Is(unicode.Cyrillic, r):
			cyr = true
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana = true
		case unicode.Is(unicode.Hangul, r):
			hangul = true
		case unicode.Is(unicode.Han, r):
			han = true
		case unicode.Is(unicode.Latin, r):
			lat = true
		}
	}
	switch {
	case cyr:
		return "ru"
	case kana:
		return "ja"
	case hangul:
		return "ko"
	case han:
		return "zh"
	case lat:
		return "en"
	}
	return ""
}
