package text

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/ailabel/ailabel/formats"
	"golang.org/x/text/unicode/norm"
)

// scanChunk is how much text the scanner reads at a time.
const scanChunk = 64 << 10

// maxCarry bounds the text kept between chunks for the NFC check; a longer run without a
// normalization boundary (dozens of combining marks) is not NFC anyway.
const maxCarry = 4 << 10

// maxMarkers bounds how many wrappers and A.9 delimiters one text may hold before Open gives up.
const maxMarkers = 64

// scanInfo is what one pass over a text found.
type scanInfo struct {
	nfc      bool      // the whole text is NFC
	bom      bool      // it starts with a U+FEFF byte order mark (not a wrapper)
	crlf     bool      // its first line break is CRLF
	wrappers []Wrapper // A.8 wrappers; Store is kept for the first only
	wrapErr  error     // the first corrupted wrapper
	corrupt  []span    // corrupted wrappers: U+FEFF and the selectors that follow it
	br       *bufio.Reader
	begins   []int64 // offsets of A.9 BEGIN delimiters
	ends     []int64 // offsets of A.9 END delimiters
}

// scanText reads the text once, in chunks, and checks that it is UTF-8 without NUL bytes. It
// records whether it is NFC, and where its A.8 wrappers and A.9 delimiters are. Memory stays
// O(chunk) plus the first wrapper's store.
func scanText(r io.ReaderAt, size int64, name string) (*scanInfo, error) {
	return scanTextChunks(r, size, name, scanChunk)
}

// scanTextChunks is scanText reading chunk bytes at a time.
func scanTextChunks(r io.ReaderAt, size int64, name string, chunk int) (*scanInfo, error) {
	si := &scanInfo{nfc: true}
	buf := make([]byte, max(min(int64(chunk), size), 1)) // no bigger than the text
	var work, carry []byte                               // carry: text not yet NFC-checked; it starts at carryOff
	carryOff := int64(0)
	var prevTail, joinBuf []byte // the last bytes of the previous chunk, for markers across chunks
	sawNewline := false
	const patMax = len(BeginDelimiter) // the longest marker
	markers := [...]string{zwnbsp, BeginDelimiter, EndDelimiter}
	for pos := int64(0); pos < size; {
		n := min(int64(chunk), size-pos)
		data := buf[:n]
		if k, err := r.ReadAt(data, pos); int64(k) < n {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("%s: reading offset %d: %w", name, pos, err)
		}
		atEOF := pos+n == size
		if i := bytes.IndexByte(data, 0); i >= 0 {
			return nil, fmt.Errorf("%w: %s: NUL byte at offset %d: this is not text", formats.ErrMalformed, name, pos+int64(i))
		}
		if pos == 0 && bytes.HasPrefix(data, []byte(zwnbsp)) {
			si.bom = true // unless a wrapper starts here; see below
		}
		if !sawNewline {
			if i := bytes.IndexByte(data, '\n'); i >= 0 {
				sawNewline = true
				si.crlf = i > 0 && data[i-1] == '\r' || i == 0 && len(prevTail) > 0 && prevTail[len(prevTail)-1] == '\r'
			}
		}

		// Markers: search the chunk, and the join of the previous chunk's tail with this one's head
		// for markers that straddle the two.
		join := append(append(joinBuf[:0], prevTail...), data[:min(len(data), patMax-1)]...)
		joinBase := pos - int64(len(prevTail))
		for _, pat := range markers {
			for i := 0; ; { // straddling the boundary: start before pos, end after it
				j := bytes.Index(join[i:], []byte(pat))
				if j < 0 {
					break
				}
				at := joinBase + int64(i+j)
				i += j + 1
				if at < pos && at+int64(len(pat)) > pos {
					if err := si.marker(r, size, name, pat, at); err != nil {
						return nil, err
					}
				}
			}
		}
		for _, pat := range markers {
			for i := 0; ; {
				j := bytes.Index(data[i:], []byte(pat))
				if j < 0 {
					break
				}
				if err := si.marker(r, size, name, pat, pos+int64(i+j)); err != nil {
					return nil, err
				}
				i += j + 1
			}
		}
		if len(data) >= patMax-1 {
			prevTail = append(prevTail[:0], data[len(data)-(patMax-1):]...)
		} else {
			prevTail = append(prevTail, data...)
			if len(prevTail) > patMax-1 {
				prevTail = prevTail[len(prevTail)-(patMax-1):]
			}
		}

		// UTF-8 and NFC over carry+data.
		work = append(append(work[:0], carry...), data...)
		k := len(work)
		if !atEOF {
			k = completePrefix(work)
		}
		if !utf8.Valid(work[:k]) {
			return nil, fmt.Errorf("%w: %s: invalid UTF-8 at offset %d: this is not UTF-8 text", formats.ErrMalformed, name, carryOff+int64(firstInvalid(work[:k])))
		}
		if atEOF && k < len(work) {
			return nil, fmt.Errorf("%w: %s: the text ends inside a UTF-8 sequence at offset %d", formats.ErrMalformed, name, carryOff+int64(k))
		}
		done := k
		if si.nfc {
			done = nfcSpan(work[:k], atEOF, &si.nfc)
		}
		carry = append(carry[:0], work[done:]...)
		carryOff += int64(done)
		if len(carry) > maxCarry {
			si.nfc = false
			c := completePrefix(carry)
			carryOff += int64(c)
			carry = append(carry[:0], carry[c:]...)
		}
		pos += n
	}
	if len(si.wrappers) > 0 && si.wrappers[0].Start == 0 {
		si.bom = false
	}
	return si, nil
}

// nfcSpan checks b for NFC and returns how much of it is settled; the rest must be checked
// again with more text. It sets *nfc to false on text that is not NFC. b starts at a
// normalization boundary.
//
// Runs of "inert" characters (see inert) are NFC whatever surrounds them, so they are skipped
// with a table lookup; the segments between them (combining marks, Hangul jamo, characters
// that decompose) are checked exactly by package norm, from the inert character before them
// (their segment's start) to the next inert character (a boundary).
func nfcSpan(b []byte, atEOF bool, nfc *bool) int {
	tab := inertTable()
	i := 0
	seg := 0 // start of the current segment: the last inert character
	for i < len(b) {
		if b[i] < 0x80 {
			j := i + 1
			for j+8 <= len(b) && binary.LittleEndian.Uint64(b[j:])&0x8080808080808080 == 0 {
				j += 8
			}
			for j < len(b) && b[j] < 0x80 {
				j++
			}
			seg, i = j-1, j
			continue
		}
		if n := inertAt(b[i:], tab); n > 0 {
			seg = i
			i += n
			continue
		}
		// Not inert: check from seg to the next inert character.
		j := i + 1
		for j < len(b) && !utf8.RuneStart(b[j]) {
			j++
		}
		for j < len(b) && b[j] >= 0x80 && inertAt(b[j:], tab) == 0 {
			j++
			for j < len(b) && !utf8.RuneStart(b[j]) {
				j++
			}
		}
		if j == len(b) && !atEOF {
			return seg
		}
		if !norm.NFC.IsNormal(b[seg:j]) {
			*nfc = false
			return len(b)
		}
		i, seg = j, j
	}
	if !atEOF {
		return seg // the last character may still get a combining mark
	}
	return len(b)
}

// vsRunEnd returns the end of the run of variation selectors that starts at off.
func vsRunEnd(r io.ReaderAt, size, off int64) (int64, error) {
	br := bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 4096)
	for {
		p, err := br.Peek(4)
		_, n := vsByte(p)
		if n == 0 {
			if err != nil && err != io.EOF {
				return 0, err
			}
			return off, nil
		}
		br.Discard(n)
		off += int64(n)
	}
}

// inertAt returns the length of the character at the start of b (valid UTF-8, not ASCII) when
// it is inert, else 0.
func inertAt(b []byte, tab *[1 << 10]uint64) int {
	c := b[0]
	switch {
	case c < 0xe0 && len(b) >= 2:
		if r := rune(c&0x1f)<<6 | rune(b[1]&0x3f); tab[r>>6]&(1<<(r&63)) != 0 {
			return 2
		}
	case c < 0xf0 && len(b) >= 3:
		if r := rune(c&0x0f)<<12 | rune(b[1]&0x3f)<<6 | rune(b[2]&0x3f); tab[r>>6]&(1<<(r&63)) != 0 {
			return 3
		}
	case len(b) >= 4:
		if p := norm.NFC.Properties(b[:4]); p.CCC() == 0 && p.BoundaryBefore() && len(p.Decomposition()) == 0 {
			return 4
		}
	}
	return 0
}

// inertTable returns a bit set of the runes below U+10000 that are starters (canonical
// combining class 0), NFC on their own (NFC_QC = Yes) and never combine with a character
// before them: a text is NFC if and only if each stretch between two of them is.
var inertTable = sync.OnceValue(func() *[1 << 10]uint64 {
	var t [1 << 10]uint64
	var buf [4]byte
	for r := rune(0); r < 0x10000; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue
		}
		s := buf[:utf8.EncodeRune(buf[:], r)]
		p := norm.NFC.Properties(s)
		if p.CCC() == 0 && p.BoundaryBefore() && norm.NFC.IsNormal(s) {
			t[r>>6] |= 1 << (r & 63)
		}
	}
	return &t
})

// firstInvalid returns the offset of the first invalid UTF-8 sequence in b.
func firstInvalid(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// marker records a marker found at offset at.
func (si *scanInfo) marker(r io.ReaderAt, size int64, name, pat string, at int64) error {
	switch pat {
	case BeginDelimiter:
		if len(si.begins) >= maxMarkers {
			return fmt.Errorf("%w: %s has more than %d C2PA MANIFEST delimiters", formats.ErrTooLarge, name, maxMarkers)
		}
		si.begins = append(si.begins, at)
	case EndDelimiter:
		if len(si.ends) >= maxMarkers {
			return fmt.Errorf("%w: %s has more than %d C2PA MANIFEST delimiters", formats.ErrTooLarge, name, maxMarkers)
		}
		si.ends = append(si.ends, at)
	case zwnbsp:
		if n := len(si.wrappers); n > 0 && at < si.wrappers[n-1].End {
			return nil
		}
		// A wrapper's first selector encodes 'C' (U+E0133); anything else is a byte order mark
		// or a stray U+FEFF.
		var c [4]byte
		if k, _ := r.ReadAt(c[:], at+3); k < 4 || string(c[:]) != wrapperFirstVS {
			return nil
		}
		rest := size - at - 3
		if si.br == nil {
			si.br = bufio.NewReaderSize(nil, 4096)
		}
		br := si.br
		br.Reset(io.NewSectionReader(r, at+3, rest))
		w, err := readWrapper(br, at, rest, MaxStoreLen)
		switch {
		case errors.Is(err, errNotWrapper):
			return nil
		case errors.Is(err, formats.ErrMalformed):
			if si.wrapErr == nil {
				si.wrapErr = fmt.Errorf("%s: %w", name, err)
			}
			if len(si.corrupt) >= maxMarkers {
				return fmt.Errorf("%w: %s has more than %d damaged C2PA text wrappers", formats.ErrTooLarge, name, maxMarkers)
			}
			end, err := vsRunEnd(r, size, at+3)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			si.corrupt = append(si.corrupt, span{at, end})
			return nil
		case err != nil:
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(si.wrappers) >= maxMarkers {
			return fmt.Errorf("%w: %s has more than %d C2PA text wrappers", formats.ErrTooLarge, name, maxMarkers)
		}
		if len(si.wrappers) > 0 {
			w.Store = nil // only the first store is kept; more than one is an error anyway
		}
		si.wrappers = append(si.wrappers, *w)
	}
	return nil
}
