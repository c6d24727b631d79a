package label

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/formats/text"
	"github.com/ailabel/ailabel/manifest"
	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

// DefaultNotice returns the disclaimer of the default policy (kz): the warning sentence in
// Kazakh, Russian and English from the default catalogue, at the start of the content.
func DefaultNotice() *formats.Notice {
	rv, err := resolve(Options{}, manifest.SourceTrainedAlgorithmicMedia)
	if err != nil || rv.notice == nil {
		return nil // the built-in policy and catalogue are tested to make one
	}
	return rv.notice
}

// newDraft lays out a manifest for new content (no parent ingredient) the way Label does: a
// c2pa.actions.v2 assertion with c2pa.created by the model and the digital source type, and a
// c2pa.hash.data binding.
func (l *Labeler) newDraft(o Options) (*manifest.Draft, *formats.Notice, error) {
	o, dst, err := l.merge(o)
	if err != nil {
		return nil, nil, err
	}
	rv, err := resolve(o, dst)
	if err != nil {
		return nil, nil, err
	}
	agent := &manifest.SoftwareAgent{Name: o.Model, Version: o.ModelVersion}
	if agent.Name == "" {
		agent.Name = "unnamed AI model"
	}
	spec := manifest.Spec{
		Title:      o.Title,
		InstanceID: "xmp.iid:" + uuid.NewString(),
		Generator:  manifest.ClaimGeneratorInfo{Name: "ailabel", Version: Version},
		Actions: []manifest.Action{{Action: manifest.ActionCreated, When: l.now().UTC().Format(time.RFC3339),
			SoftwareAgent: agent, DigitalSourceType: dst}},
	}
	if o.NoTraining {
		spec.Assertions = append(spec.Assertions, trainingReservation())
	}
	d, err := manifest.NewDraft(spec, l.signer)
	if err != nil {
		return nil, nil, fmt.Errorf("label: %w", err)
	}
	return d, rv.notice, nil
}

// maxPending bounds the text a TextStream holds back while waiting for the end of a
// normalization segment (a run of combining marks); past it the text is written as it is.
const maxPending = 1 << 10

// TextStream labels text written to it piece by piece (an LLM's tokens, say) and passes it on at
// once: the disclaimer goes out with the first bytes, each piece is NFC-normalized (across piece
// boundaries) and hashed as it passes, and Close appends the C2PA text wrapper (C2PA 2.4 A.8)
// with the signed manifest, whose data hash covers everything written before it.
//
// A piece's last character is held back until the next piece (or Close) when a combining mark
// could still join it; characters that never combine (spaces, punctuation, most CJK) are not.
// Invalid UTF-8 is written as U+FFFD. A TextStream is not safe for concurrent use.
type TextStream struct {
	w       io.Writer
	l       *Labeler
	d       *manifest.Draft
	notice  *formats.Notice
	h       hash.Hash
	n       int64 // bytes written to w and hashed
	text    int64 // bytes of the caller's text written
	last    byte  // last byte written
	pending []byte
	out     []byte
	started bool
	closed  bool
	store   []byte // the signed manifest store, once closed
	err     error
}

// NewTextStream returns a TextStream that writes labeled text to w. The disclaimer is the
// policy's (o.Notice replaces it, o.NoNotice leaves it out), placed at the start, the end or
// both. The manifest is laid out now and signed by Close.
func (l *Labeler) NewTextStream(w io.Writer, o Options) (*TextStream, error) {
	if w == nil {
		return nil, errors.New("label: NewTextStream needs a writer")
	}
	d, notice, err := l.newDraft(o)
	if err != nil {
		return nil, err
	}
	if notice != nil {
		switch notice.Placement {
		case "", "start", "end", "both":
		default:
			return nil, fmt.Errorf("label: notice placement %q is not start, end or both", notice.Placement)
		}
	}
	return &TextStream{w: w, l: l, d: d, notice: notice, h: sha256.New()}, nil
}

func (s *TextStream) placement() (start, end bool) {
	if s.notice == nil || len(s.notice.Texts) == 0 {
		return false, false
	}
	p := s.notice.Placement
	return p == "" || p == "start" || p == "both", p == "end" || p == "both"
}

// emit writes b to w and hashes it.
func (s *TextStream) emit(b []byte) {
	if len(b) == 0 || s.err != nil {
		return
	}
	k, err := s.w.Write(b)
	s.h.Write(b[:k])
	s.n += int64(k)
	if k > 0 {
		s.last = b[k-1]
	}
	if err == nil && k < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = fmt.Errorf("label: writing text: %w", err)
	}
}

func (s *TextStream) start() {
	if s.started {
		return
	}
	s.started = true
	if st, _ := s.placement(); st {
		s.emit(text.StartNotice(s.notice, "\n"))
	}
}

// settled returns how much of the pending text can be normalized and written now: everything up
// to the last normalization boundary, or all of it when its last character cannot combine with
// anything that follows.
func settled(b []byte, atEOF bool) int {
	if atEOF {
		return len(b)
	}
	k := len(b)
	// An incomplete UTF-8 sequence at the end waits for its continuation.
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				k = i
			}
			break
		}
	}
	if k == 0 {
		return 0
	}
	if _, size := utf8.DecodeLastRune(b[:k]); norm.NFC.Properties(b[k-size : k]).BoundaryAfter() {
		return k
	}
	lb := norm.NFC.LastBoundary(b[:k])
	if lb < 0 {
		if len(b) > maxPending {
			return k
		}
		return 0
	}
	return lb
}

// flush normalizes and writes the settled pending text.
func (s *TextStream) flush(atEOF bool) {
	k := settled(s.pending, atEOF)
	if k == 0 {
		return
	}
	src := s.pending[:k]
	if !utf8.Valid(src) {
		src = bytes.ToValidUTF8(src, []byte("\uFFFD"))
	}
	s.out = norm.NFC.Append(s.out[:0], src...)
	s.emit(s.out)
	s.text += int64(len(s.out))
	s.pending = append(s.pending[:0], s.pending[k:]...)
}

// Write labels and writes p. It returns len(p) unless writing to the underlying writer failed.
func (s *TextStream) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errors.New("label: write to a closed TextStream")
	}
	if s.err != nil {
		return 0, s.err
	}
	s.start()
	s.pending = append(s.pending, p...)
	s.flush(false)
	if s.err != nil {
		return 0, s.err
	}
	return len(p), nil
}

// WriteString is Write for a string.
func (s *TextStream) WriteString(p string) (int, error) {
	if s.closed {
		return 0, errors.New("label: write to a closed TextStream")
	}
	if s.err != nil {
		return 0, s.err
	}
	s.start()
	s.pending = append(s.pending, p...)
	s.flush(false)
	if s.err != nil {
		return 0, s.err
	}
	return len(p), nil
}

// Close writes what was held back, the disclaimer if it goes at the end, and the C2PA text
// wrapper with the signed manifest. It does not close the underlying writer.
func (s *TextStream) Close() error {
	if s.closed {
		return s.err
	}
	s.closed = true
	s.start()
	s.flush(true)
	if _, end := s.placement(); end {
		s.emit(text.EndNotice(s.notice, "\n", s.last == '\n', s.n == 0))
	}
	if s.err != nil {
		return s.err
	}
	wl := text.WrapperLen(s.d.Len())
	store, err := s.d.FinishDataHash([]manifest.ExclusionRange{{Start: uint64(s.n), Length: uint64(wl)}}, s.h.Sum(nil))
	if err != nil {
		s.err = fmt.Errorf("label: %w", err)
		return s.err
	}
	wrapper, err := text.EncodeWrapperPadded(store, wl)
	if err != nil {
		s.err = fmt.Errorf("label: %w", err)
		return s.err
	}
	s.store = store
	k, err := s.w.Write(wrapper)
	s.n += int64(k)
	if err == nil && k < len(wrapper) {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.err = fmt.Errorf("label: writing the manifest: %w", err)
	}
	return s.err
}

// Result describes the labeled text once Close has returned nil.
func (s *TextStream) Result() *Result {
	return &Result{Format: text.TextFormat.Name, MIME: text.TextFormat.MIME, Manifest: s.d.Label(),
		InstanceID: s.d.InstanceID(), Size: s.n, Development: s.l.signer.IsDevelopment(), Store: s.store}
}

// LabelTextReader returns a reader of the labeled form of the text read from src (see
// TextStream). Closing it stops the copy; read it to the end to get the manifest.
func (l *Labeler) LabelTextReader(src io.Reader, o Options) (io.ReadCloser, error) {
	pr, pw := io.Pipe()
	ts, err := l.NewTextStream(pw, o)
	if err != nil {
		return nil, err
	}
	go func() {
		_, err := io.Copy(ts, src)
		if err == nil {
			err = ts.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, nil
}

// maxSSELine bounds one line of a Server-Sent Events stream.
const maxSSELine = 4 << 20

// chatLabeler rewrites an OpenAI-style chat completion stream.
type chatLabeler struct {
	l       *Labeler
	o       Options
	w       io.Writer
	choices map[int]*chatChoice
	last    []byte // the last content chunk, whose envelope (id, model, …) the wrapper event reuses
	lastCh  [2]int // the byte range of its "choices" value
	out     []byte
}

type chatChoice struct {
	ts  *TextStream
	buf bytes.Buffer
}

// LabelChatStream labels a chat completion streamed as Server-Sent Events in the OpenAI
// chat-completions shape ("data: {json}" events, ending with "data: [DONE]"). Each event's
// choices[].delta.content is passed through a TextStream (one per choice index) and the event is
// rewritten with the labeled content: the first content delta carries the disclaimer, the text
// is NFC-normalized as it passes. Before "data: [DONE]" (or at the end of the input) it sends
// one more event per choice whose delta content is the rest: held-back text, an end disclaimer
// and the C2PA text wrapper, so that the concatenated message content verifies as labeled text.
// Other events, comments and fields pass through unchanged, and so does a chunk that is not
// valid JSON. w is flushed after each event when it has a Flush method. ctx is checked between
// lines; to stop a read that blocks, close upstream.
func (l *Labeler) LabelChatStream(ctx context.Context, upstream io.Reader, w io.Writer, o Options) error {
	c := &chatLabeler{l: l, o: o, w: w, choices: map[int]*chatChoice{}}
	br := bufio.NewReaderSize(upstream, 64<<10)
	var event [][]byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := readSSELine(br)
		if err != nil && err != io.EOF {
			return fmt.Errorf("label: reading the event stream: %w", err)
		}
		if len(line) > 0 {
			event = append(event, line)
		} else if err == nil && len(event) > 0 { // a blank line ends an event
			if err := c.event(event); err != nil {
				return err
			}
			event = nil
		}
		if err == io.EOF {
			if len(event) > 0 {
				if err := c.event(event); err != nil {
					return err
				}
			}
			return c.finish()
		}
	}
}

// readSSELine reads one line without its terminator (LF or CRLF). At the end of the input it
// returns the last line, maybe empty, with io.EOF.
func readSSELine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxSSELine {
			return nil, fmt.Errorf("%w: an event stream line is over %d bytes", ErrTooLarge, maxSSELine)
		}
		switch err {
		case bufio.ErrBufferFull:
			continue
		case nil, io.EOF:
			line = bytes.TrimSuffix(line, []byte("\n"))
			return bytes.TrimSuffix(line, []byte("\r")), err
		}
		return nil, err
	}
}

// dataOf returns the value of a "data:" line.
func dataOf(line []byte) ([]byte, bool) {
	if !bytes.HasPrefix(line, []byte("data:")) {
		return nil, false
	}
	return bytes.TrimPrefix(line[5:], []byte(" ")), true
}

func (c *chatLabeler) write(lines [][]byte) error {
	var b bytes.Buffer
	for _, ln := range lines {
		b.Write(ln)
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	if _, err := c.w.Write(b.Bytes()); err != nil {
		return fmt.Errorf("label: writing the event stream: %w", err)
	}
	switch f := c.w.(type) {
	case interface{ Flush() error }:
		if err := f.Flush(); err != nil {
			return fmt.Errorf("label: flushing the event stream: %w", err)
		}
	case interface{ Flush() }:
		f.Flush()
	}
	return nil
}

// event handles one event (its lines without the blank line).
func (c *chatLabeler) event(lines [][]byte) error {
	di := -1
	for i, ln := range lines {
		if _, ok := dataOf(ln); ok {
			if di >= 0 {
				return c.write(lines) // multi-line data: not a chat chunk
			}
			di = i
		}
	}
	if di < 0 {
		return c.write(lines)
	}
	data, _ := dataOf(lines[di])
	if string(bytes.TrimSpace(data)) == "[DONE]" {
		if err := c.finish(); err != nil {
			return err
		}
		return c.write(lines)
	}
	out, err := c.rewrite(data)
	if err != nil {
		return err
	}
	if out != nil {
		lines[di] = append([]byte("data: "), out...)
	}
	return c.write(lines)
}

// rewrite labels the content deltas of one chunk; it returns nil to pass the chunk unchanged.
// The chunk's bytes are kept as they are except for the content strings.
func (c *chatLabeler) rewrite(data []byte) ([]byte, error) {
	refs, choices, ok := chatContents(data)
	if !ok || len(refs) == 0 || !json.Valid(data) {
		return nil, nil // not a chat chunk with content: pass it on as it is
	}
	out := c.out[:0]
	cur := 0
	for _, r := range refs {
		cc, err := c.choice(r.index)
		if err != nil {
			return nil, err
		}
		if cc.ts.closed {
			continue // content after [DONE]: not ours to label
		}
		if _, err := cc.ts.WriteString(r.value); err != nil {
			return nil, err
		}
		out = append(out, data[cur:r.start]...)
		out = appendJSONString(out, cc.buf.Bytes())
		cc.buf.Reset()
		cur = r.end
	}
	out = append(out, data[cur:]...)
	c.out = out
	c.last = append(c.last[:0], data...)
	c.lastCh = choices
	return out, nil
}

func (c *chatLabeler) choice(idx int) (*chatChoice, error) {
	if cc, ok := c.choices[idx]; ok {
		return cc, nil
	}
	cc := &chatChoice{}
	o := c.o
	if o.Title == "" {
		o.Title = fmt.Sprintf("chat completion, choice %d", idx)
	}
	ts, err := c.l.NewTextStream(&cc.buf, o)
	if err != nil {
		return nil, err
	}
	cc.ts = ts
	c.choices[idx] = cc
	return cc, nil
}

// finish sends, for each choice, an event whose content is the rest of its labeled text: the
// last content chunk with its choices replaced.
func (c *chatLabeler) finish() error {
	idxs := make([]int, 0, len(c.choices))
	for i := range c.choices {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	for _, i := range idxs {
		cc := c.choices[i]
		if cc.ts.closed {
			continue
		}
		if err := cc.ts.Close(); err != nil {
			return err
		}
		ev := append([]byte("data: "), c.last[:c.lastCh[0]]...)
		ev = fmt.Appendf(ev, `[{"index":%d,"delta":{"content":`, i)
		ev = appendJSONString(ev, cc.buf.Bytes())
		ev = append(ev, `},"finish_reason":null}]`...)
		ev = append(ev, c.last[c.lastCh[1]:]...)
		cc.buf.Reset()
		if err := c.write([][]byte{ev}); err != nil {
			return err
		}
	}
	return nil
}

// appendJSONString appends s (valid UTF-8) as a JSON string. Only what JSON requires is
// escaped (", \, control characters) and U+2028/U+2029 (for JavaScript consumers).
func appendJSONString(dst, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c != 0xe2 {
			i++
			continue
		}
		if c == 0xe2 {
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xa8 || s[i+2] == 0xa9) {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[s[i+2]&0xf])
				i += 3
				start = i
				continue
			}
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// contentRef is a choices[].delta.content string in a chunk: its byte range and decoded value.
type contentRef struct {
	index      int
	start, end int
	value      string
}

// chatContents finds the content strings of a chat completion chunk, and the byte range of its
// "choices" value. ok is false when data is not a JSON object with a choices array.
func chatContents(data []byte) (refs []contentRef, choices [2]int, ok bool) {
	p := &jsonScan{b: data}
	if !p.object(func(key []byte) bool {
		if string(key) != "choices" {
			return p.skip()
		}
		choices[0] = p.pos()
		n := 0
		okc := p.array(func() bool {
			idx, ref, has := n, contentRef{}, false
			n++
			if p.peek() != '{' {
				return p.skip()
			}
			okEl := p.object(func(k []byte) bool {
				switch string(k) {
				case "index":
					v, okn := p.integer()
					if okn {
						idx = v
					}
					return okn
				case "delta":
					if p.peek() != '{' {
						return p.skip()
					}
					return p.object(func(dk []byte) bool {
						if string(dk) != "content" || p.peek() != '"' {
							return p.skip()
						}
						start := p.pos()
						v, oks := p.str()
						ref, has = contentRef{start: start, end: p.pos(), value: v}, oks
						return oks
					})
				}
				return p.skip()
			})
			if okEl && has {
				ref.index = idx
				refs = append(refs, ref)
			}
			return okEl
		})
		choices[1] = p.pos()
		return okc
	}) || choices[1] == 0 {
		return nil, choices, false
	}
	p.ws()
	return refs, choices, p.i == len(p.b)
}

// jsonScan walks JSON text without building values. Nesting is limited to maxJSONDepth.
type jsonScan struct {
	b     []byte
	i     int
	depth int
}

const maxJSONDepth = 64

func (p *jsonScan) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonScan) pos() int { p.ws(); return p.i }

func (p *jsonScan) peek() byte {
	p.ws()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// object calls member for each key, positioned at the value, which member must consume.
func (p *jsonScan) object(member func(key []byte) bool) bool {
	if p.peek() != '{' || p.depth >= maxJSONDepth {
		return false
	}
	p.depth++
	defer func() { p.depth-- }()
	p.i++
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		if p.peek() != '"' {
			return false
		}
		raw, esc, ok := p.strRaw()
		if !ok {
			return false
		}
		key := raw[1 : len(raw)-1]
		if esc {
			var k string
			if json.Unmarshal(raw, &k) != nil {
				return false
			}
			key = []byte(k)
		}
		if p.peek() != ':' {
			return false
		}
		p.i++
		if !member(key) {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// array calls elem for each element, which elem must consume.
func (p *jsonScan) array(elem func() bool) bool {
	if p.peek() != '[' || p.depth >= maxJSONDepth {
		return false
	}
	p.depth++
	defer func() { p.depth-- }()
	p.i++
	if p.peek() == ']' {
		p.i++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return true
		default:
			return false
		}
	}
}

// strRaw consumes a string and returns it with its quotes, and whether it has escapes.
func (p *jsonScan) strRaw() (raw []byte, esc, ok bool) {
	if p.peek() != '"' {
		return nil, false, false
	}
	start := p.i
	p.i++
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return p.b[start:p.i], esc, true
		case c == '\\':
			esc = true
			p.i += 2
		case c < 0x20:
			return nil, false, false
		default:
			p.i++
		}
	}
	return nil, false, false
}

// str consumes a string and returns its value.
func (p *jsonScan) str() (string, bool) {
	raw, esc, ok := p.strRaw()
	if !ok {
		return "", false
	}
	if !esc {
		if !utf8.Valid(raw) {
			return "", false
		}
		return string(raw[1 : len(raw)-1]), true
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

// integer consumes a number and returns it when it is a small integer.
func (p *jsonScan) integer() (int, bool) {
	p.ws()
	start := p.i
	if !p.skip() {
		return 0, false
	}
	v, err := strconv.Atoi(string(p.b[start:p.i]))
	return v, err == nil
}

// skip consumes one value of any kind.
func (p *jsonScan) skip() bool {
	switch c := p.peek(); {
	case c == '{':
		return p.object(func([]byte) bool { return p.skip() })
	case c == '[':
		return p.array(p.skip)
	case c == '"':
		_, _, ok := p.strRaw()
		return ok
	case c == '-' || c >= '0' && c <= '9':
		for p.i < len(p.b) && strings.IndexByte("+-0123456789.eE", p.b[p.i]) >= 0 {
			p.i++
		}
		return true
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
			p.i += len(lit)
			return true
		}
	}
	return false
}
