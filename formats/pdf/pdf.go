// Package pdf reads the C2PA manifest store of PDF files. It is read-only: ailabel verifies PDFs
// that others signed but does not write them.
//
// Import it for its side effect of registering the "pdf" format with package formats.
//
// c2pa-rs embeds the manifest store as an embedded file: a file specification dictionary with
// /AFRelationship /C2PA_Manifest (and /Subtype /application#2Fc2pa) whose /EF /F entry refers to
// a stream holding the store. Open finds it without a full PDF parser, in one streaming pass over
// the file: it records where each "num gen obj" header is (the last definition wins, as in an
// incremental update) and which objects mention /C2PA_Manifest, skipping stream data up to
// "endstream". It then parses the last such object, follows /EF /F to the stream, and reads the
// stream's /Length bytes, inflating them when the stream is /FlateDecode (bounded by
// MaxStoreLen). Objects inside compressed object streams (/Type /ObjStm) are not searched.
package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
)

// Limits on what Open reads into memory.
const (
	// MaxStoreLen is the largest manifest store Open reads (after decompression).
	MaxStoreLen = 64 << 20
	// MaxObjects bounds the number of object headers Open records.
	MaxObjects = 1 << 20
	// maxObjLen bounds the bytes parsed for one (non-stream) object.
	maxObjLen = 256 << 10
	// maxCandidates bounds the objects mentioning /C2PA_Manifest that Open tries.
	maxCandidates = 8
	// maxHops bounds chains of indirect references.
	maxHops = 8
)

// Format is the PDF description registered with package formats.
var Format = formats.Format{
	Name:       "pdf",
	MIME:       "application/pdf",
	Extensions: []string{".pdf"},
	Binding:    formats.DataHash,
	Match:      Match,
	Open: func(r io.ReaderAt, size int64) (formats.Container, error) {
		f, err := Open(r, size)
		if err != nil {
			return nil, err
		}
		return f, nil
	},
}

func init() { formats.Register(Format) }

// Match reports whether head starts with "%PDF-".
func Match(head []byte) bool { return bytes.HasPrefix(head, []byte("%PDF-")) }

// File is an opened PDF. It implements formats.Container (read-only).
type File struct {
	store    []byte
	hasStore bool
	storeErr error
}

// Format returns the PDF format.
func (f *File) Format() *formats.Format { return &Format }

// ManifestStore returns the content of the C2PA manifest embedded file.
func (f *File) ManifestStore() ([]byte, error) {
	if f.storeErr != nil {
		return nil, f.storeErr
	}
	if !f.hasStore {
		return nil, fmt.Errorf("pdf: %w", formats.ErrNoManifest)
	}
	return f.store, nil
}

// XMP returns nil: the document's XMP metadata stream is not read.
func (f *File) XMP() []byte { return nil }

// EXIF returns nil.
func (f *File) EXIF() []byte { return nil }

// doc is what the scan found.
type doc struct {
	r     io.ReaderAt
	size  int64
	objs  map[ref]int64 // offset of each object's last "num gen obj" header
	cands []int64       // header offsets of objects mentioning /C2PA_Manifest, in file order
}

// tail keeps the last bytes read.
type tail struct{ b []byte }

const tailLen = 48

func (t *tail) push(p ...byte) {
	if len(p) >= tailLen {
		t.b = append(t.b[:0], p[len(p)-tailLen:]...)
		return
	}
	t.b = append(t.b, p...)
	if len(t.b) > tailLen {
		t.b = append(t.b[:0], t.b[len(t.b)-tailLen:]...)
	}
}

func (t *tail) has(s string) bool { return bytes.HasSuffix(t.b, []byte(s)) }

// objHeader parses "num gen obj" at the end of b, returning the reference and how many bytes
// before the end of b the number starts.
func objHeader(b []byte) (ref, int, bool) {
	i := len(b) - 3
	digits := func() (int64, bool) {
		end := i
		for i > 0 && b[i-1] >= '0' && b[i-1] <= '9' {
			i--
		}
		if i == end || end-i > 10 {
			return 0, false
		}
		var n int64
		for _, c := range b[i:end] {
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
	white := func() bool {
		end := i
		for i > 0 && isWhite(b[i-1]) {
			i--
		}
		return i < end
	}
	if !white() {
		return ref{}, 0, false
	}
	gen, ok := digits()
	if !ok || !white() {
		return ref{}, 0, false
	}
	num, ok := digits()
	if !ok || i == 0 || !(isWhite(b[i-1]) || isDelim(b[i-1])) {
		return ref{}, 0, false
	}
	return ref{num, gen}, len(b) - i, true
}

// scan makes the single pass over the file.
func scan(r io.ReaderAt, size int64) (*doc, error) {
	d := &doc{r: r, size: size, objs: map[ref]int64{}}
	br := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 64<<10)
	t := &tail{b: make([]byte, 0, 2*tailLen)}
	t.push('\n') // the start of the file is a delimiter
	var off int64
	cur := int64(-1)
	inStream := false
	for {
		if inStream {
			b, err := br.ReadSlice('m')
			off += int64(len(b))
			t.push(b...)
			if t.has("endstream") {
				inStream = false
			}
			if err == nil || err == bufio.ErrBufferFull {
				continue
			}
			if errors.Is(err, io.EOF) {
				return d, nil
			}
			return nil, fmt.Errorf("%w: reading PDF at offset %d: %v", formats.ErrMalformed, off, err)
		}
		c, err := br.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return d, nil
			}
			return nil, fmt.Errorf("%w: reading PDF at offset %d: %v", formats.ErrMalformed, off, err)
		}
		off++
		t.push(c)
		switch c {
		case 'j':
			if !t.has("obj") {
				continue
			}
			if id, back, ok := objHeader(t.b); ok {
				if _, seen := d.objs[id]; !seen && len(d.objs) >= MaxObjects {
					return nil, fmt.Errorf("%w: PDF has more than %d objects", formats.ErrTooLarge, MaxObjects)
				}
				cur = off - int64(back)
				d.objs[id] = cur
			}
		case 't':
			if t.has("/C2PA_Manifest") && cur >= 0 && (len(d.cands) == 0 || d.cands[len(d.cands)-1] != cur) {
				d.cands = append(d.cands, cur)
				if len(d.cands) > maxCandidates {
					d.cands = d.cands[1:]
				}
			}
		case 'm':
			if t.has("stream") && len(t.b) > 6 {
				prev := t.b[len(t.b)-7]
				inStream = isWhite(prev) || prev == '>'
			}
		}
	}
}

// object parses the object whose header is at off, returning the parser (positioned after the
// value) and the value.
func (d *doc) object(off int64) (*parser, any, error) {
	n := min(int64(maxObjLen), d.size-off)
	b := make([]byte, n)
	if k, err := d.r.ReadAt(b, off); int64(k) != n {
		return nil, nil, fmt.Errorf("%w: PDF object at offset %d: %v", formats.ErrMalformed, off, err)
	}
	p := &parser{b: b}
	if _, err := p.header(); err != nil {
		return nil, nil, fmt.Errorf("%w: PDF object header at offset %d", formats.ErrMalformed, off)
	}
	v, err := p.value(0)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: PDF object at offset %d: %v", formats.ErrMalformed, off, err)
	}
	return p, v, nil
}

// resolve follows indirect references.
func (d *doc) resolve(v any) (any, error) {
	for range maxHops {
		r, ok := v.(ref)
		if !ok {
			return v, nil
		}
		off, ok := d.objs[r]
		if !ok {
			return nil, fmt.Errorf("%w: PDF object %d %d is referenced but not defined", formats.ErrMalformed, r.num, r.gen)
		}
		_, obj, err := d.object(off)
		if err != nil {
			return nil, err
		}
		v = obj
	}
	return nil, fmt.Errorf("%w: PDF references chained more than %d deep", formats.ErrMalformed, maxHops)
}

// fileSpec finds, depth first, a dictionary with /AFRelationship /C2PA_Manifest in v.
func fileSpec(v any, depth int) dict {
	if depth > maxDepth {
		return nil
	}
	switch x := v.(type) {
	case dict:
		if x["AFRelationship"] == name("C2PA_Manifest") {
			return x
		}
		for _, e := range x {
			if fs := fileSpec(e, depth+1); fs != nil {
				return fs
			}
		}
	case []any:
		for _, e := range x {
			if fs := fileSpec(e, depth+1); fs != nil {
				return fs
			}
		}
	}
	return nil
}

// manifest extracts the store through the file specification object at off.
func (d *doc) manifest(off int64) ([]byte, error) {
	_, v, err := d.object(off)
	if err != nil {
		return nil, err
	}
	fs := fileSpec(v, 0)
	if fs == nil {
		return nil, fmt.Errorf("%w: PDF object at offset %d mentions /C2PA_Manifest outside a file specification", formats.ErrMalformed, off)
	}
	efv, err := d.resolve(fs["EF"])
	if err != nil {
		return nil, err
	}
	ef, ok := efv.(dict)
	if !ok {
		return nil, fmt.Errorf("%w: PDF C2PA file specification at offset %d has no /EF dictionary", formats.ErrMalformed, off)
	}
	sr, ok := ef["F"].(ref)
	if !ok {
		if sr, ok = ef["UF"].(ref); !ok {
			return nil, fmt.Errorf("%w: PDF C2PA file specification at offset %d: /EF has no /F stream reference", formats.ErrMalformed, off)
		}
	}
	soff, ok := d.objs[sr]
	if !ok {
		return nil, fmt.Errorf("%w: PDF C2PA embedded file %d %d is not defined", formats.ErrMalformed, sr.num, sr.gen)
	}
	p, sv, err := d.object(soff)
	if err != nil {
		return nil, err
	}
	sd, ok := sv.(dict)
	if !ok {
		return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d is not a stream", formats.ErrMalformed, soff)
	}
	start, ok := p.streamStart()
	if !ok {
		return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d: no stream keyword after its dictionary", formats.ErrMalformed, soff)
	}
	dataOff := soff + int64(start)
	lv, err := d.resolve(sd["Length"])
	if err != nil {
		return nil, err
	}
	length, ok := lv.(int64)
	if !ok || length < 0 || length > d.size-dataOff {
		return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d: /Length %v does not fit the %d-byte file", formats.ErrMalformed, soff, lv, d.size)
	}
	fv, err := d.resolve(sd["Filter"])
	if err != nil {
		return nil, err
	}
	var filters []any
	switch x := fv.(type) {
	case nil:
	case name:
		filters = []any{x}
	case []any:
		filters = x
	default:
		return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d: bad /Filter", formats.ErrMalformed, soff)
	}
	var src io.Reader = io.NewSectionReader(d.r, dataOff, length)
	for _, f := range filters {
		switch f {
		case name("FlateDecode"), name("Fl"):
			if usesPredictor(sd["DecodeParms"]) {
				return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d: /DecodeParms predictors are not supported", formats.ErrUnsupported, soff)
			}
			zr, err := zlib.NewReader(src)
			if err != nil {
				return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d: %v", formats.ErrMalformed, soff, err)
			}
			src = zr
		default:
			return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d: filter %v is not supported", formats.ErrUnsupported, soff, f)
		}
	}
	if len(filters) == 0 && length > MaxStoreLen {
		return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d is %d bytes, more than %d", formats.ErrTooLarge, soff, length, MaxStoreLen)
	}
	b, err := io.ReadAll(io.LimitReader(src, MaxStoreLen+1))
	if err != nil {
		return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d: %v", formats.ErrMalformed, soff, err)
	}
	if len(b) > MaxStoreLen {
		return nil, fmt.Errorf("%w: PDF C2PA embedded file at offset %d inflates to more than %d bytes", formats.ErrTooLarge, soff, MaxStoreLen)
	}
	return b, nil
}

// usesPredictor reports whether decode parameters (a dictionary, or an array of them) ask for a
// predictor other than 1 (none). Indirect parameters are assumed to.
func usesPredictor(v any) bool {
	switch x := v.(type) {
	case nil, keyword:
		return false
	case dict:
		p, ok := x["Predictor"]
		return ok && p != int64(1)
	case []any:
		for _, e := range x {
			if usesPredictor(e) {
				return true
			}
		}
		return false
	}
	return true
}

// Open scans a PDF of size bytes read from r and extracts its C2PA manifest store, if any. A
// manifest that is referenced but cannot be read is reported by ManifestStore, not by Open.
func Open(r io.ReaderAt, size int64) (*File, error) {
	h := make([]byte, min(size, 5))
	if k, _ := r.ReadAt(h, 0); k != len(h) || !Match(h) {
		return nil, fmt.Errorf("%w: PDF does not start with %%PDF-", formats.ErrMalformed)
	}
	d, err := scan(r, size)
	if err != nil {
		return nil, err
	}
	f := &File{}
	// The last file specification wins: an incremental update appends the newer one.
	for i := len(d.cands) - 1; i >= 0; i-- {
		b, err := d.manifest(d.cands[i])
		if err == nil {
			f.store, f.hasStore, f.storeErr = b, true, nil
			return f, nil
		}
		if errors.Is(err, formats.ErrTooLarge) {
			return nil, err
		}
		if f.storeErr == nil {
			f.storeErr = fmt.Errorf("pdf: the C2PA manifest cannot be read: %w", err)
		}
	}
	return f, nil
}
