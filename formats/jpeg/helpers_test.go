package jpeg

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	stdjpeg "image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest/jumbf"
)

// missing skips the test, or fails it when CI=true (CI installs every tool and fixture).
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// sharedDir returns the project's shared folder (../shared beside the module root).
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
	shared := filepath.Join(dir, "..", "shared")
	if _, err := os.Stat(filepath.Join(shared, "testdata", "c2pa-reference")); err != nil {
		missing(t, "the shared reference data is not at %s: %v", shared, err)
	}
	return shared
}

func reference(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "testdata", "c2pa-reference", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// imageMagick returns the path of a real ImageMagick convert (not a stand-in), or skips.
func imageMagick(t testing.TB) string {
	t.Helper()
	var cands []string
	if _, err := os.Stat("/usr/bin/convert"); err == nil {
		cands = append(cands, "/usr/bin/convert")
	}
	if p, err := exec.LookPath("convert"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		out, err := exec.Command(p, "-version").CombinedOutput()
		if err == nil && strings.Contains(string(out), "ImageMagick") {
			return p
		}
	}
	missing(t, "ImageMagick convert is not installed (apt-get install imagemagick)")
	return ""
}

// testImage is a deterministic image with gradients and texture, so the JPEG has real content.
func testImage(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint32(x*7+y*13) ^ uint32(x*y)
			img.Set(x, y, color.RGBA{uint8(x * 255 / max(w, 1)), uint8(y * 255 / max(h, 1)), uint8(v), 255})
		}
	}
	return img
}

func encodeJPEG(t testing.TB, w, h, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := stdjpeg.Encode(&buf, testImage(w, h), &stdjpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// progressiveJPEG converts a generated image to a progressive JPEG with ImageMagick.
func progressiveJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	convert := imageMagick(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.jpg")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, testImage(w, h)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command(convert, in, "-interlace", "JPEG", "-quality", "85", out).CombinedOutput(); err != nil {
		t.Fatalf("convert: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// segment builds a marker segment with a payload.
func segment(marker byte, payload ...[]byte) []byte {
	n := 2
	for _, p := range payload {
		n += len(p)
	}
	out := []byte{0xFF, marker}
	out = binary.BigEndian.AppendUint16(out, uint16(n))
	for _, p := range payload {
		out = append(out, p...)
	}
	return out
}

// insertAfterSOI puts segments right after SOI.
func insertAfterSOI(base []byte, segs ...[]byte) []byte {
	out := append([]byte(nil), base[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, base[2:]...)
}

var (
	jfif     = segment(0xE0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"))
	jfxx     = segment(0xE0, []byte("JFXX\x00\x13\x00\x00"))
	oldEXIF  = append([]byte("MM\x00\x2a\x00\x00\x00\x08\x00\x00"), bytes.Repeat([]byte{0xAB}, 40)...)
	newEXIF  = append([]byte("II\x2a\x00\x08\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xCD}, 300)...)
	oldXMP   = []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>`)
	newXMP   = []byte(`<?xpacket begin="` + "\uFEFF" + `" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`)
	extXMP   = segment(0xE1, []byte("http://ns.adobe.com/xmp/extension/\x00"), bytes.Repeat([]byte("E"), 120))
	exifSeg  = func(b []byte) []byte { return segment(0xE1, []byte(exifPrefix), b) }
	xmpSeg   = func(b []byte) []byte { return segment(0xE1, []byte(xmpPrefix), b) }
	comment  = segment(0xFE, []byte("a comment"))
	otherBox = jumbf.Superbox([16]byte{'j', 'u', 'n', 'k', 0, 0x11, 0, 0x10, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71}, "other", nil,
		jumbf.AppendBox(nil, "json", []byte(`{"a":1}`)))
)

// fakeStore is a well-formed JUMBF manifest store superbox of exactly n bytes (n >= 46), filled
// with a deterministic pattern.
func fakeStore(t testing.TB, n int) []byte {
	t.Helper()
	empty := jumbf.Superbox(jumbf.TypeManifestStore, "c2pa", nil)
	pad := n - len(empty) - 8
	if pad < 0 {
		t.Fatalf("fakeStore: %d bytes is too small", n)
	}
	fill := make([]byte, pad)
	for i := range fill {
		fill[i] = byte(i*31 + i>>8)
	}
	st := jumbf.Superbox(jumbf.TypeManifestStore, "c2pa", nil, jumbf.AppendBox(nil, "free", fill))
	if len(st) != n {
		t.Fatalf("fakeStore: made %d bytes, want %d", len(st), n)
	}
	return st
}

// frameJP frames box as APP11 segments with the given En, splitting it into chunks of the given
// size (the test's own writer, independent of Layout).
func frameJP(box []byte, en uint16, chunk int) [][]byte {
	var segs [][]byte
	hdr := box[:8]
	for z, pos := uint32(1), 0; pos < len(box); z++ {
		k := min(chunk, len(box)-pos)
		jp := []byte{'J', 'P'}
		jp = binary.BigEndian.AppendUint16(jp, en)
		jp = binary.BigEndian.AppendUint32(jp, z)
		if z == 1 {
			segs = append(segs, segment(0xEB, jp, box[pos:pos+k]))
		} else {
			segs = append(segs, segment(0xEB, jp, hdr, box[pos:pos+k]))
		}
		pos += k
	}
	return segs
}

func openBytes(t testing.TB, b []byte) *File {
	t.Helper()
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return f
}

// write runs Layout and WriteTo and checks the layout's own accounting.
func write(t testing.TB, f *File, in []byte, e formats.Edit, st []byte) ([]byte, *formats.Layout) {
	t.Helper()
	l, err := f.Layout(e)
	if err != nil {
		t.Fatalf("Layout: %v", err)
	}
	var buf bytes.Buffer
	n, err := l.WriteTo(&buf, bytes.NewReader(in), st)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != l.Size() || int64(buf.Len()) != n {
		t.Fatalf("wrote %d bytes (buffer %d), layout size %d", n, buf.Len(), l.Size())
	}
	return buf.Bytes(), l
}

// modelSeg is a marker segment found by the test's own simple parser.
type modelSeg struct {
	marker byte
	raw    []byte // marker, length and payload
}

func (s modelSeg) payload() []byte { return s.raw[4:] }

// modelParse splits a JPEG without fill bytes into SOI, segments up to SOS, and the rest.
func modelParse(t testing.TB, b []byte) (segs []modelSeg, tail []byte) {
	t.Helper()
	pos := 2
	for {
		if pos+4 > len(b) || b[pos] != 0xFF {
			t.Fatalf("model parser: no segment at offset %d", pos)
		}
		m := b[pos+1]
		if m == 0xDA {
			return segs, b[pos:]
		}
		n := int(binary.BigEndian.Uint16(b[pos+2:]))
		segs = append(segs, modelSeg{marker: m, raw: b[pos : pos+2+n]})
		pos += 2 + n
	}
}

// isJP reports a JPEG XT APP11 segment and its En and Z.
func (s modelSeg) jp() (en uint16, z uint32, ok bool) {
	p := s.payload()
	if s.marker != 0xEB || len(p) < 8 || p[0] != 'J' || p[1] != 'P' {
		return 0, 0, false
	}
	return binary.BigEndian.Uint16(p[2:]), binary.BigEndian.Uint32(p[4:]), true
}

// c2paInstances returns the En of every APP11 box whose first segment has "c2pa" at payload bytes
// 24..28, the way c2pa-rs spots a manifest store.
func c2paInstances(segs []modelSeg) map[uint16]bool {
	out := map[uint16]bool{}
	for _, s := range segs {
		if en, z, ok := s.jp(); ok && z == 1 && len(s.payload()) >= 28 && string(s.payload()[24:28]) == "c2pa" {
			out[en] = true
		}
	}
	return out
}

// expectedWithoutStore is what Layout's output must be once the framed store run is cut out,
// computed by the model parser: old stores dropped, XMP/EXIF replaced in place or inserted after
// the leading APP0 segments.
func expectedWithoutStore(t testing.TB, in []byte, e formats.Edit) (out []byte, insertAt int) {
	t.Helper()
	segs, tail := modelParse(t, in)
	stores := c2paInstances(segs)
	isXMP := func(s modelSeg) bool { return s.marker == 0xE1 && bytes.HasPrefix(s.payload(), []byte(xmpPrefix)) }
	isEXIF := func(s modelSeg) bool { return s.marker == 0xE1 && bytes.HasPrefix(s.payload(), []byte(exifPrefix)) }
	hasXMP, hasEXIF := false, false
	for _, s := range segs {
		hasXMP = hasXMP || isXMP(s)
		hasEXIF = hasEXIF || isEXIF(s)
	}
	out = append(out, in[:2]...)
	i := 0
	for ; i < len(segs) && segs[i].marker == 0xE0; i++ {
		out = append(out, segs[i].raw...)
	}
	insertAt = len(out)
	if len(e.EXIF) > 0 && !hasEXIF {
		out = append(out, exifSeg(e.EXIF)...)
	}
	if len(e.XMP) > 0 && !hasXMP {
		out = append(out, xmpSeg(e.XMP)...)
	}
	doneXMP, doneEXIF := false, false
	for ; i < len(segs); i++ {
		s := segs[i]
		if en, _, ok := s.jp(); ok && stores[en] {
			continue
		}
		switch {
		case isXMP(s) && e.XMP != nil:
			if !doneXMP && len(e.XMP) > 0 {
				out = append(out, xmpSeg(e.XMP)...)
			}
			doneXMP = true
		case isEXIF(s) && e.EXIF != nil:
			if !doneEXIF && len(e.EXIF) > 0 {
				out = append(out, exifSeg(e.EXIF)...)
			}
			doneEXIF = true
		default:
			out = append(out, s.raw...)
		}
	}
	return append(out, tail...), insertAt
}

// samePixels decodes both JPEGs and compares every pixel.
func samePixels(t testing.TB, a, b []byte) {
	t.Helper()
	ia, fa, err := image.Decode(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("decoding the input: %v", err)
	}
	ib, fb, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decoding the output: %v", err)
	}
	if fa != "jpeg" || fb != "jpeg" {
		t.Fatalf("decoded as %q and %q", fa, fb)
	}
	if ia.Bounds() != ib.Bounds() {
		t.Fatalf("bounds %v, want %v", ib.Bounds(), ia.Bounds())
	}
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if ia.At(x, y) != ib.At(x, y) {
				t.Fatalf("pixel (%d,%d) is %v, want %v", x, y, ib.At(x, y), ia.At(x, y))
			}
		}
	}
}
