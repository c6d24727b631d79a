// Package formats is the registry of containers ailabel reads and writes, and the one small
// interface every container package implements.
//
// A container package (formats/jpeg, formats/png, …) registers itself from init, the way image
// formats register with image.RegisterFormat; import it for its side effect, or import
// formats/all for every container. Formats are sniffed from the first bytes, never the file name.
//
// Reading: Open parses the container's structure over an io.ReaderAt and returns a Container that
// knows where the C2PA manifest store, XMP and EXIF are. Writing: a Container that can also be
// written implements Writable; its Layout describes the output as a list of pieces (ranges of the
// input, new bytes, and one slot for the manifest store), so the labeler can hash the output
// before writing it and then stream it out, without holding the media in memory.
package formats

import (
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors shared by the containers. Wrap them with the container name and offset.
var (
	// ErrNoManifest: the container has no C2PA manifest store.
	ErrNoManifest = errors.New("no C2PA manifest store")
	// ErrMalformed: the bytes are not a well-formed container of the sniffed kind.
	ErrMalformed = errors.New("malformed container")
	// ErrUnsupported: no registered container matches the bytes.
	ErrUnsupported = errors.New("unsupported format")
	// ErrTooLarge: a length in the file exceeds a limit ailabel sets.
	ErrTooLarge = errors.New("exceeds limit")
)

// Binding names the hard binding a container uses.
type Binding int

const (
	// DataHash is c2pa.hash.data: one hash over every byte outside the excluded ranges.
	DataHash Binding = iota
	// BMFFHash is c2pa.hash.bmff.v3: a hash over the top-level boxes, each prefixed by its offset.
	BMFFHash
)

// Format describes one container.
type Format struct {
	Name       string   // short name, e.g. "jpeg"
	MIME       string   // media type, e.g. "image/jpeg"
	Extensions []string // usual file name extensions, lower case with the dot, for walking folders
	Binding    Binding  // the hard binding ailabel writes for it
	// Match reports whether head (the first SniffLen bytes, or fewer for a short file) is this format.
	Match func(head []byte) bool
	// Open parses the container. It must check every length it reads against size and limits.
	Open func(r io.ReaderAt, size int64) (Container, error)
	// Fallback formats (text, which has no magic bytes) are tried after every other format.
	Fallback bool
}

// SniffLen is how many leading bytes Match gets.
const SniffLen = 64

// Container is an opened asset.
type Container interface {
	// Format returns the format that opened it.
	Format() *Format
	// ManifestStore returns the embedded C2PA manifest store (a JUMBF "jumb" box with label
	// "c2pa"), or an error wrapping ErrNoManifest.
	ManifestStore() ([]byte, error)
	// XMP returns the XMP packet, or nil.
	XMP() []byte
	// EXIF returns the EXIF data as a TIFF structure ("MM\0*" or "II*\0"), or nil.
	EXIF() []byte
}

// Writable is a Container that ailabel can write back with new metadata and a manifest store.
type Writable interface {
	Container
	// Layout describes the output. The existing manifest store, if any, is removed; XMP and EXIF
	// are replaced by e.XMP and e.EXIF when these are non-nil; a slot for a manifest store of
	// exactly e.StoreLen bytes is placed where the container's rules say.
	Layout(e Edit) (*Layout, error)
}

// Edit is what the labeler asks a container to change.
type Edit struct {
	XMP      []byte  // new XMP packet; nil keeps the input's
	EXIF     []byte  // new EXIF TIFF structure; nil keeps the input's
	StoreLen int     // length of the manifest store to make room for
	Notice   *Notice // a human-readable warning to show, for containers that can; nil for none
	// Captions is a human-readable warning shown as a timed-text track, one track per
	// language in order of first appearance (video containers: MP4, MOV). Containers that
	// cannot carry a timed-text track ignore it; fragmented MP4 refuses it with ErrUnsupported.
	Captions []Caption
	// Media is user-data metadata (title, comment, description) that players and ffprobe show
	// (video containers: MP4, MOV). Containers without such metadata ignore it; nil keeps the
	// input's.
	Media *MediaInfo
}

// Caption is one timed warning text in one language (a BCP 47 tag such as "kk", "ru", "en").
// It is shown from Start for Duration; a Duration of 0 shows it from Start to the end of the
// movie.
type Caption struct {
	Lang, Text      string
	Start, Duration time.Duration
}

// MediaInfo is user-data metadata. Empty fields are left as the input has them.
type MediaInfo struct {
	Title, Comment, Description string
	// Keys are further metadata items under free-form keys, such as China's "AIGC" label. MP4
	// and MOV write them, with the title, comment and description, as QuickTime metadata keys
	// (moov/udta/meta, handler mdta), the way ffmpeg's use_metadata_tags does; the input's
	// udta metadata box is then replaced.
	Keys []MetaKey
}

// MetaKey is one free-form metadata item.
type MetaKey struct{ Key, Value string }

// MetaKeyReader is implemented by containers that carry free-form metadata keys (MP4 and MOV:
// QuickTime metadata keys).
type MetaKeyReader interface {
	MetaKeys() []MetaKey
}

// Notice is a human-readable warning that a container shows in its own way: a disclaimer
// paragraph in text, a visible element in HTML, a caption track in video. Containers that cannot
// show one ignore it.
type Notice struct {
	Texts     []NoticeText // in display order
	Placement string       // "start", "end" or "both"
}

// NoticeText is a warning in one language (a BCP 47 tag such as "kk", "ru", "en").
type NoticeText struct {
	Lang, Text string
}

// OverlayFunc returns, for a picture of the given bounds, an image to composite over it (draw.Over)
// and where: the overlay's pixel at overlay.Bounds().Min lands on at.Min.
type OverlayFunc func(bounds image.Rectangle) (overlay image.Image, at image.Rectangle, err error)

// Painter is implemented by image containers that can composite an overlay onto their picture and
// write the container back with everything else kept (metadata, ICC profile, text chunks,
// EXIF/XMP; any C2PA store is kept as bytes too: the labeler replaces it later).
type Painter interface {
	Paint(w io.Writer, overlay OverlayFunc) (PaintInfo, error)
}

// LumaDelta is a change of luma at full resolution (0–255 scale, fractional), row by row: an
// invisible watermark's signal.
type LumaDelta interface {
	// LumaRow writes the change of row y into dst (len(dst) is the picture's width).
	LumaRow(y int, dst []float32)
}

// LumaFunc makes the luma change for a decoded picture, which it may analyse but not modify.
type LumaFunc func(pic image.Image) (LumaDelta, error)

// LumaMarker is implemented by image containers that can add a luma change to their picture
// (an invisible watermark) and write the container back with everything else kept, as Painter
// does. PaintInfo.Changed is the whole picture.
type LumaMarker interface {
	AddLuma(w io.Writer, mark LumaFunc) (PaintInfo, error)
}

// PictureEdit is what a labeler changes in a picture, made in one decoding and one encoding:
// Overlay is composited first (a visible warning), then Luma's change is added (an invisible
// watermark) to the overlaid picture. Either may be nil; Luma may also return a nil LumaDelta,
// meaning no change. Final, when set, is given the picture as it will be written, decoded (to
// within a decoder's rounding), before it is encoded: for a fingerprint of the pixels being
// signed without decoding the output again. It must not keep or modify it.
type PictureEdit struct {
	Overlay OverlayFunc
	Luma    LumaFunc
	Final   func(pic image.Image) error
}

// EditInfo says what EditPicture did: Overlay and Luma are as Painter and LumaMarker report
// them; an empty Method means the step was not asked for or made no change.
type EditInfo struct {
	Overlay PaintInfo
	Luma    PaintInfo
}

// PictureEditor is implemented by image containers that can make a PictureEdit in one pass,
// writing the container back with everything else kept, as Painter does. An error wrapping
// ErrUnsupported means this picture needs the separate steps (Painter, then LumaMarker).
type PictureEditor interface {
	EditPicture(w io.Writer, e PictureEdit) (EditInfo, error)
}

// MediaDigester is implemented by containers that can digest their media samples (audio and
// video) independently of how the file lays them out, so that a copy whose metadata was
// stripped, or whose samples were remuxed, digests the same.
type MediaDigester interface {
	MediaDigest() ([]byte, error)
}

// PaintInfo tells what Paint changed and how.
type PaintInfo struct {
	Changed image.Rectangle // the pixels that may differ; every pixel outside decodes identical to the input
	Method  string          // e.g. "JPEG: 48 of 1875 MCUs re-coded, the rest copied", "PNG re-encoded losslessly"
}

// NoticeReader is implemented by containers that can report the human-readable warnings they
// carry (text disclaimers, caption tracks).
type NoticeReader interface {
	Notices() []NoticeText
}

// PieceKind says where a piece's bytes come from.
type PieceKind int

const (
	// Copy: Len bytes of the input from Off.
	Copy PieceKind = iota
	// Literal: the bytes in Data.
	Literal
	// Store: the manifest store, framed by the container (Layout.Frame). Exactly one per layout.
	Store
)

// Piece is one run of output bytes.
type Piece struct {
	Kind PieceKind
	Off  int64  // Copy: offset in the input
	Len  int64  // Copy: length; Literal: len(Data); Store: the framed length
	Data []byte // Literal only
}

// Layout is the output of a write, as pieces in order.
type Layout struct {
	Pieces []Piece
	// Frame wraps a manifest store in the container's framing (APP11 segments, a chunk, a box …).
	// The result's length is the Store piece's Len, the same for any store of the planned length.
	// For a data hash the framed bytes are exactly the excluded range.
	Frame func(store []byte) []byte
	// AppendFrame, when not nil, is Frame appending to dst: WriteTo frames the store straight
	// into a writer's free space (a bytes.Buffer's or a bufio.Writer's) instead of a new slice.
	AppendFrame func(dst, store []byte) []byte
}

// Size returns the output's total length.
func (l *Layout) Size() int64 {
	var n int64
	for _, p := range l.Pieces {
		n += p.Len
	}
	return n
}

// StoreOffset returns the output offset of the Store piece and its framed length.
func (l *Layout) StoreOffset() (off, n int64) {
	for _, p := range l.Pieces {
		if p.Kind == Store {
			return off, p.Len
		}
		off += p.Len
	}
	return -1, 0
}

// availableBuffer is a writer that lends its free space: bytes.Buffer, bufio.Writer.
type availableBuffer interface {
	io.Writer
	AvailableBuffer() []byte
}

// WriteTo writes the output: input ranges from r, literals, and the store in its framing.
func (l *Layout) WriteTo(w io.Writer, r io.ReaderAt, store []byte) (int64, error) {
	var total int64
	for _, p := range l.Pieces {
		var n int64
		var err error
		switch p.Kind {
		case Copy:
			n, err = io.Copy(w, io.NewSectionReader(r, p.Off, p.Len))
			if err == nil && n != p.Len {
				err = io.ErrUnexpectedEOF
			}
		case Literal:
			var k int
			k, err = w.Write(p.Data)
			n = int64(k)
		case Store:
			var framed []byte
			if ab, ok := w.(availableBuffer); ok && l.AppendFrame != nil {
				framed = l.AppendFrame(ab.AvailableBuffer(), store)
			} else {
				framed = l.Frame(store)
			}
			if int64(len(framed)) != p.Len {
				return total, fmt.Errorf("framed manifest store is %d bytes, the layout planned %d", len(framed), p.Len)
			}
			var k int
			k, err = w.Write(framed)
			n = int64(k)
		}
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

var (
	mu       sync.Mutex                // serialises Register
	registry atomic.Pointer[[]*Format] // sorted by name; replaced, never changed in place
)

// Register adds a format. It panics on a duplicate name, as a programming error at init.
func Register(f Format) {
	mu.Lock()
	defer mu.Unlock()
	var old []*Format
	if p := registry.Load(); p != nil {
		old = *p
	}
	i, found := find(old, f.Name)
	if found {
		panic("formats: duplicate registration of " + f.Name)
	}
	ff := f
	next := slices.Insert(slices.Clone(old), i, &ff)
	registry.Store(&next)
}

// registered is the registry: sorted by name, shared, not to be changed.
func registered() []*Format {
	if p := registry.Load(); p != nil {
		return *p
	}
	return nil
}

// All returns the registered formats sorted by name.
func All() []*Format { return slices.Clone(registered()) }

// Lookup returns the format with the given name.
func Lookup(name string) (*Format, bool) {
	all := registered()
	if i, found := find(all, name); found {
		return all[i], true
	}
	return nil, false
}

// find is where name is, or would go, in formats sorted by name.
func find(sorted []*Format, name string) (int, bool) {
	return slices.BinarySearchFunc(sorted, name, func(f *Format, name string) int { return strings.Compare(f.Name, name) })
}

// Sniff returns the format whose magic matches head. Fallback formats are tried last.
func Sniff(head []byte) (*Format, error) {
	all := registered()
	for _, fallback := range []bool{false, true} {
		for _, f := range all {
			if f.Fallback == fallback && f.Match(head) {
				return f, nil
			}
		}
	}
	return nil, ErrUnsupported
}

// Open sniffs the format from the first bytes of r and opens it.
func Open(r io.ReaderAt, size int64) (Container, error) {
	head := make([]byte, SniffLen)
	n, err := r.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("reading the first bytes: %w", err)
	}
	f, err := Sniff(head[:n])
	if err != nil {
		return nil, err
	}
	c, err := f.Open(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return c, nil
}
