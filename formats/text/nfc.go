package text

import (
	"bytes"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
	"golang.org/x/text/unicode/norm"
)

// nfcAppend appends the NFC form of b to out.
func nfcAppend(out, b []byte) []byte { return norm.NFC.Append(out, b...) }

// segKind is where a planned output run comes from.
type segKind uint8

const (
	segCopy  segKind = iota // input bytes [off, end)
	segLit                  // data
	segStore                // the framed manifest store
)

type seg struct {
	kind     segKind
	off, end int64
	data     []byte
}

func (s seg) len() int64 {
	switch s.kind {
	case segCopy:
		return s.end - s.off
	case segLit:
		return int64(len(s.data))
	}
	return 0
}

// planner collects the output of a text container as runs of the input, new text and the store
// slot, and turns them into a formats.Layout whose bytes are NFC.
//
// When the input is NFC, each run of it is NFC too; what can break NFC is a join between two runs
// (a removed wrapper bringing a letter next to a combining mark, a literal ending in '>' before a
// U+0338). A join is safe when the text from the last normalization boundary before it to the
// first one after it is NFC (norm's definition of a boundary: f(x) = f(x[:n]) + f(x[n:])), so
// only a few bytes around each join are read. When the input is not NFC, or a join is not safe,
// the text before and after the store slot is read (up to MaxNormalizeLen bytes) and normalized
// into literals.
type planner struct {
	r    io.ReaderAt
	size int64
	nfc  bool // the input is NFC
	segs []seg
	name string // container name for errors
	// sample, when set, returns the framing of an all-zero store of n bytes in short: its
	// length, and a slice whose first and last joinWindow bytes are the framing's (all that the
	// joins are checked on). Without it, the framing is made in full.
	sample func(n int) (sample []byte, frameLen int64)
}

func (p *planner) copy(off, end int64) {
	if end <= off {
		return
	}
	if n := len(p.segs); n > 0 && p.segs[n-1].kind == segCopy && p.segs[n-1].end == off {
		p.segs[n-1].end = end
		return
	}
	p.segs = append(p.segs, seg{kind: segCopy, off: off, end: end})
}

func (p *planner) lit(b []byte) {
	if len(b) == 0 {
		return
	}
	p.segs = append(p.segs, seg{kind: segLit, data: norm.NFC.Bytes(b)})
}

func (p *planner) store() { p.segs = append(p.segs, seg{kind: segStore}) }

// copyExcept copies [off, end) without the removed spans (sorted, disjoint).
func (p *planner) copyExcept(off, end int64, removed []span) {
	cur := off
	for _, s := range removed {
		if s.end <= cur || s.off >= end {
			continue
		}
		p.copy(cur, max(cur, s.off))
		cur = max(cur, s.end)
	}
	p.copy(cur, end)
}

// lastByte returns the last byte planned so far, or -1 when nothing is.
func (p *planner) lastByte() int {
	for i := len(p.segs) - 1; i >= 0; i-- {
		s := p.segs[i]
		switch s.kind {
		case segLit:
			return int(s.data[len(s.data)-1])
		case segCopy:
			var b [1]byte
			if _, err := p.r.ReadAt(b[:], s.end-1); err != nil {
				return -1
			}
			return int(b[0])
		case segStore:
			return -1
		}
	}
	return -1
}

// empty reports whether nothing but the store slot is planned.
func (p *planner) empty() bool {
	for _, s := range p.segs {
		if s.kind != segStore {
			return false
		}
	}
	return true
}

const joinWindow = 128

// tail returns up to joinWindow bytes at the end of s, starting at a rune boundary.
func (p *planner) tail(s seg, frame []byte) ([]byte, error) {
	var b []byte
	switch s.kind {
	case segLit:
		b = s.data
	case segStore:
		b = frame
	case segCopy:
		n := min(int64(joinWindow), s.end-s.off)
		b = make([]byte, n)
		if _, err := p.r.ReadAt(b, s.end-n); err != nil && !(err == io.EOF) {
			return nil, fmt.Errorf("%s: reading offset %d: %w", p.name, s.end-n, err)
		}
	}
	if len(b) > joinWindow {
		b = b[len(b)-joinWindow:]
	}
	for len(b) > 0 && !utf8.RuneStart(b[0]) {
		b = b[1:]
	}
	return b, nil
}

// head returns up to joinWindow bytes at the start of s, ending at a rune boundary.
func (p *planner) head(s seg, frame []byte) ([]byte, error) {
	var b []byte
	switch s.kind {
	case segLit:
		b = s.data
	case segStore:
		b = frame
	case segCopy:
		n := min(int64(joinWindow), s.end-s.off)
		b = make([]byte, n)
		if _, err := p.r.ReadAt(b, s.off); err != nil && !(err == io.EOF) {
			return nil, fmt.Errorf("%s: reading offset %d: %w", p.name, s.off, err)
		}
	}
	if len(b) > joinWindow {
		b = b[:joinWindow]
	}
	return b[:completePrefix(b)], nil
}

// joinSafe reports whether a+b is NFC for NFC texts ending in tail and starting with head.
func joinSafe(tail, head []byte) bool {
	if len(tail) == 0 || len(head) == 0 {
		return true
	}
	fb := norm.NFC.FirstBoundary(head)
	if fb == 0 {
		return true
	}
	lb := norm.NFC.LastBoundary(tail)
	if lb < 0 || fb < 0 {
		return false // no boundary within the window: be safe
	}
	w := append(append(make([]byte, 0, len(tail)-lb+fb), tail[lb:]...), head[:fb]...)
	return norm.NFC.IsNormal(w)
}

// layout turns the plan into a formats.Layout with the store slot framed by frame. The framed
// length of a store of storeLen bytes must not depend on the store's bytes.
func (p *planner) layout(storeLen int, frame func([]byte) []byte) (*formats.Layout, error) {
	stores := 0
	for _, s := range p.segs {
		if s.kind == segStore {
			stores++
		}
	}
	if stores != 1 {
		return nil, fmt.Errorf("%s: internal error: %d store slots planned", p.name, stores)
	}
	var sample []byte
	var frameLen int64
	if p.sample != nil {
		sample, frameLen = p.sample(storeLen)
	} else {
		sample = frame(make([]byte, storeLen))
		frameLen = int64(len(sample))
	}
	if sample == nil {
		return nil, fmt.Errorf("%w: %s: a manifest store of %d bytes cannot be framed", formats.ErrTooLarge, p.name, storeLen)
	}
	segs := p.segs
	safe := p.nfc
	for i := 1; i < len(segs) && safe; i++ {
		t, err := p.tail(segs[i-1], sample)
		if err != nil {
			return nil, err
		}
		h, err := p.head(segs[i], sample)
		if err != nil {
			return nil, err
		}
		safe = joinSafe(t, h)
	}
	if !safe {
		var err error
		if segs, err = p.normalized(sample); err != nil {
			return nil, err
		}
	}
	// No C2PA marker may appear where the input had none: in a literal, or made by joining two
	// runs (an earlier manifest removed from the middle of "-----BEGIN C2PA MA…NIFEST-----").
	for i, s := range segs {
		if s.kind == segLit && containsMarker(s.data) {
			return nil, fmt.Errorf("%w: %s: the disclaimer text holds a C2PA marker", formats.ErrMalformed, p.name)
		}
		if i == 0 || s.kind == segStore || segs[i-1].kind == segStore {
			continue
		}
		t, err := p.tail(segs[i-1], sample)
		if err != nil {
			return nil, err
		}
		h, err := p.head(s, sample)
		if err != nil {
			return nil, err
		}
		if straddles(t, h) {
			return nil, fmt.Errorf("%w: %s: removing the earlier manifest would join the text around it into a C2PA marker", formats.ErrMalformed, p.name)
		}
	}
	l := &formats.Layout{Frame: frame}
	for _, s := range segs {
		switch s.kind {
		case segCopy:
			l.Pieces = append(l.Pieces, formats.Piece{Kind: formats.Copy, Off: s.off, Len: s.end - s.off})
		case segLit:
			l.Pieces = append(l.Pieces, formats.Piece{Kind: formats.Literal, Len: int64(len(s.data)), Data: s.data})
		case segStore:
			l.Pieces = append(l.Pieces, formats.Piece{Kind: formats.Store, Len: frameLen})
		}
	}
	return l, nil
}

// normalized reads the runs before and after the store slot and returns them NFC-normalized as
// literals around the slot.
func (p *planner) normalized(sample []byte) ([]seg, error) {
	var total int64
	for _, s := range p.segs {
		total += s.len()
	}
	if total > MaxNormalizeLen {
		return nil, fmt.Errorf("%w: %s of %d bytes is not NFC-normalized, and ailabel normalizes at most %d bytes", formats.ErrTooLarge, p.name, total, MaxNormalizeLen)
	}
	var out []seg
	var run []byte
	flush := func() {
		if len(run) > 0 {
			out = append(out, seg{kind: segLit, data: norm.NFC.Bytes(run)})
			run = nil
		}
	}
	for _, s := range p.segs {
		switch s.kind {
		case segLit:
			run = append(run, s.data...)
		case segCopy:
			n := len(run)
			run = append(run, make([]byte, s.end-s.off)...)
			if _, err := p.r.ReadAt(run[n:], s.off); err != nil && err != io.EOF {
				return nil, fmt.Errorf("%s: reading offset %d: %w", p.name, s.off, err)
			}
		case segStore:
			flush()
			out = append(out, s)
		}
	}
	flush()
	// The store's framing starts and ends with characters that stand alone (U+FEFF, ASCII, a
	// variation selector); check the joins anyway.
	for i := 1; i < len(out); i++ {
		a, b := out[i-1], out[i]
		ta, hb := sample, sample
		if a.kind == segLit {
			ta = a.data
		}
		if b.kind == segLit {
			hb = b.data
		}
		if len(ta) > joinWindow {
			ta = ta[len(ta)-joinWindow:]
		}
		for len(ta) > 0 && !utf8.RuneStart(ta[0]) {
			ta = ta[1:]
		}
		if len(hb) > joinWindow {
			hb = hb[:completePrefix(hb[:joinWindow])]
		}
		if !joinSafe(ta, hb) {
			return nil, fmt.Errorf("%w: %s: the text next to the manifest would change under NFC normalization", formats.ErrMalformed, p.name)
		}
	}
	return out, nil
}

// markerList returns the byte strings that start C2PA text manifests: U+FEFF followed by the
// selector of 'C' (a wrapper's magic), and the A.9 delimiters.
func markerList() [3]string {
	return [3]string{zwnbsp + wrapperFirstVS, BeginDelimiter, EndDelimiter}
}

func containsMarker(b []byte) bool {
	for _, m := range markerList() {
		if bytes.Contains(b, []byte(m)) {
			return true
		}
	}
	return false
}

// straddles reports whether a marker starts in tail and ends in head.
func straddles(tail, head []byte) bool {
	w := append(append(make([]byte, 0, len(tail)+len(head)), tail...), head...)
	for _, m := range markerList() {
		for i := 0; ; {
			j := bytes.Index(w[i:], []byte(m))
			if j < 0 {
				break
			}
			if at := i + j; at < len(tail) && at+len(m) > len(tail) {
				return true
			}
			i += j + 1
		}
	}
	return false
}

// completePrefix returns the length of b without an incomplete UTF-8 sequence at its end.
func completePrefix(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// span is a byte range [off, end) of the input.
type span struct{ off, end int64 }
