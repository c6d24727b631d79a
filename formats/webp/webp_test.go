package webp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	stdpng "image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest/jumbf"
	xwebp "golang.org/x/image/webp"
)

// refFile reads a c2pa-rs reference sample: from ../shared/testdata/c2pa-reference (found by
// walking up to the folder holding go.mod) when it is there, else from the copy in testdata/.
func refFile(t testing.TB, name string) []byte {
	t.Helper()
	if dir := sharedDir(); dir != "" {
		if b, err := os.ReadFile(filepath.Join(dir, "testdata", "c2pa-reference", name)); err == nil {
			return b
		}
	}
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatalf("reference sample %s: %v", name, err)
	}
	return b
}

func sharedDir() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			s := filepath.Join(dir, "..", "shared")
			if _, err := os.Stat(s); err == nil {
				return s
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// tool returns the path of an external program, or "" when it is missing; with CI=true a missing
// program fails the test instead.
func tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (Debian package webp) and CI=true", name)
		}
		return ""
	}
	return p
}

func open(t testing.TB, b []byte) *File {
	t.Helper()
	f, err := Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return f
}

// fakeStore builds a manifest store of exactly n bytes (n ≥ 46).
func fakeStore(t testing.TB, n int) []byte {
	t.Helper()
	const overhead = 8 + 8 + 16 + 1 + 5 + 8
	if n < overhead {
		t.Fatalf("fake store of %d bytes is too small", n)
	}
	fill := make([]byte, n-overhead)
	for i := range fill {
		fill[i] = byte(i*5 + n)
	}
	s := jumbf.Superbox(jumbf.TypeManifestStore, "c2pa", nil, jumbf.AppendBox(nil, "cbor", fill))
	if len(s) != n {
		t.Fatalf("fake store is %d bytes, want %d", len(s), n)
	}
	return s
}

func write(t testing.TB, in []byte, f *File, e formats.Edit, store []byte) ([]byte, *formats.Layout) {
	t.Helper()
	l, err := f.Layout(e)
	if err != nil {
		t.Fatalf("Layout: %v", err)
	}
	checkPieces(t, l, int64(len(in)))
	var out bytes.Buffer
	n, err := l.WriteTo(&out, bytes.NewReader(in), store)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != l.Size() || int64(out.Len()) != l.Size() {
		t.Fatalf("WriteTo wrote %d bytes (buffer %d), Size says %d", n, out.Len(), l.Size())
	}
	return out.Bytes(), l
}

func checkPieces(t testing.TB, l *formats.Layout, inSize int64) {
	t.Helper()
	stores := 0
	for i, p := range l.Pieces {
		switch p.Kind {
		case formats.Store:
			stores++
		case formats.Literal:
			if p.Len != int64(len(p.Data)) || p.Len == 0 {
				t.Fatalf("piece %d: literal Len %d, %d bytes of data", i, p.Len, len(p.Data))
			}
		case formats.Copy:
			if p.Off < 0 || p.Len <= 0 || p.Off+p.Len > inSize {
				t.Fatalf("piece %d: copy [%d,+%d) outside the %d-byte input", i, p.Off, p.Len, inSize)
			}
			if i > 0 && l.Pieces[i-1].Kind == formats.Copy && l.Pieces[i-1].Off+l.Pieces[i-1].Len == p.Off {
				t.Fatalf("pieces %d and %d are adjacent copies that were not merged", i-1, i)
			}
		}
	}
	if stores != 1 {
		t.Fatalf("layout has %d Store pieces, want 1", stores)
	}
	if p := l.Pieces[0]; p.Kind != formats.Literal || p.Len != 12 {
		t.Fatalf("first piece is not the 12-byte RIFF header literal: %+v", p)
	}
}

type rchunk struct {
	id   string
	off  int
	data []byte
	raw  []byte // header, data and pad
}

// walk is an independent strict reader: RIFF size equal to the file, chunks filling it exactly,
// zero pad bytes.
func walk(t testing.TB, b []byte) []rchunk {
	t.Helper()
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		t.Fatalf("no RIFF WEBP header")
	}
	if int(binary.LittleEndian.Uint32(b[4:])) != len(b)-8 {
		t.Fatalf("RIFF size %d, file %d", binary.LittleEndian.Uint32(b[4:]), len(b))
	}
	var cs []rchunk
	for off := 12; off < len(b); {
		if len(b)-off < 8 {
			t.Fatalf("truncated chunk header at %d", off)
		}
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		p := n + n&1
		if p > len(b)-off-8 {
			t.Fatalf("chunk at %d too long", off)
		}
		if n&1 == 1 && b[off+8+n] != 0 {
			t.Fatalf("chunk at %d: pad byte %d", off, b[off+8+n])
		}
		cs = append(cs, rchunk{id: string(b[off : off+4]), off: off, data: b[off+8 : off+8+n], raw: b[off : off+8+p]})
		off += 8 + p
	}
	return cs
}

func ids(cs []rchunk) string {
	var s []string
	for _, c := range cs {
		s = append(s, c.id)
	}
	return strings.Join(s, ",")
}

func tiffBlob(tag string) []byte {
	return append([]byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0}, tag...)
}

// build assembles a WebP from raw chunks (as returned by Chunk).
func build(chunks ...[]byte) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBP")
	for _, c := range chunks {
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func chunkOf(t testing.TB, b []byte, id string) []byte {
	for _, c := range walk(t, b) {
		if c.id == id {
			return c.raw
		}
	}
	t.Fatalf("no %q chunk", id)
	return nil
}

// input is a test WebP and what the test knows about it.
type input struct {
	name          string
	b             []byte
	width, height int
}

var genOnce struct {
	sync.Once
	inputs []input
	err    error
}

// generated makes lossy, lossless and lossy+alpha WebPs with cwebp (and metadata with webpmux).
func generated(t *testing.T) []input {
	cwebp, webpmux := tool(t, "cwebp"), tool(t, "webpmux")
	if cwebp == "" || webpmux == "" {
		t.Skip("cwebp/webpmux not found (Debian package webp): skipping the cwebp-made inputs")
	}
	genOnce.Do(func() {
		dir, err := os.MkdirTemp("", "webp-test")
		if err != nil {
			genOnce.err = err
			return
		}
		defer os.RemoveAll(dir)
		const w, h = 61, 37
		opaque := image.NewNRGBA(image.Rect(0, 0, w, h))
		alpha := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				opaque.SetNRGBA(x, y, color.NRGBA{uint8(x * 4), uint8(y * 6), uint8(x ^ y), 255})
				alpha.SetNRGBA(x, y, color.NRGBA{uint8(x * 4), uint8(y * 6), uint8(x ^ y), uint8(x * y)})
			}
		}
		run := func(args ...string) error {
			out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
			if err != nil {
				return fmt.Errorf("%v: %v\n%s", args, err, out)
			}
			return nil
		}
		for name, m := range map[string]image.Image{"opaque.png": opaque, "alpha.png": alpha} {
			var b bytes.Buffer
			stdpng.Encode(&b, m)
			if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
				genOnce.err = err
				return
			}
		}
		os.WriteFile(filepath.Join(dir, "x.exif"), tiffBlob("mux"), 0o644)
		os.WriteFile(filepath.Join(dir, "x.xmp"), []byte("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"), 0o644)
		p := func(s string) string { return filepath.Join(dir, s) }
		steps := [][]string{
			{cwebp, "-quiet", "-q", "75", p("opaque.png"), "-o", p("lossy.webp")},
			{cwebp, "-quiet", "-lossless", p("opaque.png"), "-o", p("lossless.webp")},
			{cwebp, "-quiet", "-lossless", p("alpha.png"), "-o", p("lossless-alpha.webp")},
			{cwebp, "-quiet", "-q", "75", p("alpha.png"), "-o", p("lossy-alpha.webp")},
			{webpmux, "-set", "exif", p("x.exif"), p("lossy-alpha.webp"), "-o", p("tmp.webp")},
			{webpmux, "-set", "xmp", p("x.xmp"), p("tmp.webp"), "-o", p("lossy-alpha-meta.webp")},
		}
		for _, s := range steps {
			if err := run(s...); err != nil {
				genOnce.err = err
				return
			}
		}
		for _, name := range []string{"lossy", "lossless", "lossless-alpha", "lossy-alpha", "lossy-alpha-meta"} {
			b, err := os.ReadFile(p(name + ".webp"))
			if err != nil {
				genOnce.err = err
				return
			}
			genOnce.inputs = append(genOnce.inputs, input{name, b, w, h})
		}
	})
	if genOnce.err != nil {
		t.Fatal(genOnce.err)
	}
	in := genOnce.inputs
	// A jumbled extended file: an unknown odd-sized chunk and EXIF (with an "Exif\0\0" prefix) before
	// the image, an old C2PA chunk in the middle.
	la := in[3].b
	jumbled := build(chunkOf(t, la, "VP8X"), Chunk("ZZZZ", []byte("odd")), Chunk("EXIF", append([]byte("Exif\x00\x00"), tiffBlob("j")...)),
		chunkOf(t, la, "ALPH"), Chunk("C2PA", fakeStore(t, 51)), chunkOf(t, la, "VP8 "), Chunk("XMP ", []byte("<j/>")), Chunk("YYYY", nil))
	// The flags of the jumbled file must say EXIF and XMP, as webpmux would.
	jumbled[20] |= flagEXIF | flagXMP
	return append(in, input{"jumbled", jumbled, in[3].width, in[3].height})
}

// handmade inputs need no external tool.
func handmade(t testing.TB) []input {
	un := refFile(t, "unsigned.webp")
	vp8 := chunkOf(t, un, "VP8 ")
	ext, _ := write(t, un, open(t, un), formats.Edit{XMP: []byte("<old/>"), EXIF: tiffBlob("old"), StoreLen: 47}, fakeStore(t, 47))
	return []input{
		{"unsigned.webp", un, 256, 256},
		{"simple-c2pa-unknown", build(vp8, Chunk("C2PA", fakeStore(t, 49)), Chunk("ZZZZ", []byte("a"))), 256, 256},
		{"extended-by-us", ext, 256, 256},
	}
}

func TestMatchAndRegistration(t *testing.T) {
	b := refFile(t, "unsigned.webp")
	f, err := formats.Sniff(b[:formats.SniffLen])
	if err != nil || f.Name != "webp" || f.MIME != "image/webp" || f.Binding != formats.DataHash {
		t.Fatalf("Sniff = %+v, %v", f, err)
	}
	c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(formats.Writable); !ok || c.Format().Name != "webp" {
		t.Fatalf("formats.Open gave %T", c)
	}
	if Match(b[:11]) || Match([]byte("RIFF\x00\x00\x00\x00WAVEfmt ")) {
		t.Fatal("Match accepted a short or foreign head")
	}
}

func TestReferenceFiles(t *testing.T) {
	names := []string{"c2pa-rs-signed.webp"}
	if sharedDir() != "" {
		names = append(names, "c2pa-rs-signed-tampered.webp", "c2pa-rs-signed-badsig.webp", "c2pa-rs-signed-badassertion.webp")
	}
	for _, name := range names {
		s, err := open(t, refFile(t, name)).ManifestStore()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		box, err := jumbf.Parse(s, jumbf.DefaultLimits)
		if err != nil {
			t.Fatalf("%s: jumbf.Parse: %v", name, err)
		}
		if box.Label() != "c2pa" || len(box.Raw) != len(s) {
			t.Fatalf("%s: store label %q, %d of %d bytes", name, box.Label(), len(box.Raw), len(s))
		}
	}
	_, err := open(t, refFile(t, "unsigned.webp")).ManifestStore()
	if !errors.Is(err, formats.ErrNoManifest) {
		t.Fatalf("unsigned.webp: ManifestStore error %v, want ErrNoManifest", err)
	}
}

// Embedding c2pa-rs's own store in the unsigned file gives c2pa-rs's signed file byte for byte
// (simple layout, C2PA appended, pad byte after the odd-sized store, RIFF size updated).
func TestSameBytesAsC2paRs(t *testing.T) {
	signed := refFile(t, "c2pa-rs-signed.webp")
	store, err := open(t, signed).ManifestStore()
	if err != nil {
		t.Fatal(err)
	}
	if len(store)%2 != 1 {
		t.Fatalf("the reference store is even (%d): the pad case is not exercised", len(store))
	}
	for _, name := range []string{"unsigned.webp", "c2pa-rs-signed.webp"} {
		in := refFile(t, name)
		out, l := write(t, in, open(t, in), formats.Edit{StoreLen: len(store)}, store)
		if !bytes.Equal(out, signed) {
			t.Fatalf("%s: output differs from c2pa-rs-signed.webp", name)
		}
		if off, n := l.StoreOffset(); off != 1504 || n != int64(len(store))+8 {
			t.Fatalf("%s: store at %d (+%d), want 1504 (+%d)", name, off, n, len(store)+8)
		}
	}
}

var edits = []struct {
	name      string
	xmp, exif []byte
}{
	{"keep", nil, nil},
	{"xmp", []byte("<x:xmpmeta xmlns:x='adobe:ns:meta/'>new</x:xmpmeta>"), nil},
	{"exif", nil, tiffBlob("new!")},
	{"both", []byte("<x:xmpmeta xmlns:x='adobe:ns:meta/'>new2</x:xmpmeta>!"), tiffBlob("new2")},
}

var storeLens = []int{47, 3268, 3269, 200000, 200001}

func roundTrips(t *testing.T, ins []input) {
	i := 0
	for _, in := range ins {
		for _, ed := range edits {
			n := storeLens[i%len(storeLens)]
			i++
			t.Run(fmt.Sprintf("%s/%s/%d", in.name, ed.name, n), func(t *testing.T) {
				checkRoundTrip(t, in, formats.Edit{XMP: ed.xmp, EXIF: ed.exif, StoreLen: n})
			})
		}
	}
}

func TestRoundTripHandmade(t *testing.T) { roundTrips(t, handmade(t)) }

func TestRoundTripCwebp(t *testing.T) { roundTrips(t, generated(t)) }

func rank(id string) kind { return kindOf(id) }

func checkRoundTrip(t *testing.T, in input, e formats.Edit) {
	f := open(t, in.b)
	store := fakeStore(t, e.StoreLen)
	out, l := write(t, in.b, f, e, store)
	cs := walk(t, out)
	incs := walk(t, in.b)

	// The C2PA chunk is last, and the framed range is exactly its header and data.
	last := cs[len(cs)-1]
	off, n := l.StoreOffset()
	if last.id != "C2PA" || off != int64(last.off) || n != int64(e.StoreLen)+8 || !bytes.Equal(last.data, store) {
		t.Fatalf("last chunk %q at %d, StoreOffset %d+%d, store len %d", last.id, last.off, off, n, e.StoreLen)
	}
	wantEnd := off + n + int64(e.StoreLen&1)
	if int64(len(out)) != wantEnd {
		t.Fatalf("output is %d bytes, want the store (and its pad) to end it at %d", len(out), wantEnd)
	}
	if c := strings.Count(ids(cs), "C2PA"); c != 1 {
		t.Fatalf("%d C2PA chunks", c)
	}

	// Layout: simple or extended.
	extended := e.XMP != nil || e.EXIF != nil || incs[0].id == "VP8X"
	var image, unknown, inImage, inUnknown []string
	for _, c := range cs {
		switch rank(c.id) {
		case kImage:
			image = append(image, string(c.raw))
		case kUnknown:
			unknown = append(unknown, string(c.raw))
		}
	}
	for _, c := range incs {
		switch rank(c.id) {
		case kImage:
			inImage = append(inImage, string(c.raw))
		case kUnknown:
			inUnknown = append(inUnknown, string(c.raw))
		}
	}
	if strings.Join(image, "|") != strings.Join(inImage, "|") || strings.Join(unknown, "|") != strings.Join(inUnknown, "|") {
		t.Fatalf("image or unknown chunks changed: %s -> %s", ids(incs), ids(cs))
	}
	if !extended {
		var want []string
		for _, c := range incs {
			if c.id != "C2PA" {
				want = append(want, c.id)
			}
		}
		if got := ids(cs); got != strings.Join(append(want, "C2PA"), ",") {
			t.Fatalf("simple layout changed the chunks: %s -> %s", ids(incs), got)
		}
	} else {
		if cs[0].id != "VP8X" || len(cs[0].data) != 10 {
			t.Fatalf("extended output starts with %q", cs[0].id)
		}
		for i := 1; i < len(cs); i++ {
			if rank(cs[i].id) < rank(cs[i-1].id) {
				t.Fatalf("chunks out of order: %s", ids(cs))
			}
		}
		flags := cs[0].data[0]
		has := func(id string) bool { return strings.Contains(ids(cs), id) }
		for _, fl := range []struct {
			bit byte
			id  string
		}{{flagEXIF, "EXIF"}, {flagXMP, "XMP "}, {flagICC, "ICCP"}} {
			if (flags&fl.bit != 0) != has(fl.id) {
				t.Fatalf("VP8X flags %08b disagree with the %q chunk (chunks %s)", flags, fl.id, ids(cs))
			}
		}
		if has("ALPH") && flags&flagAlpha == 0 {
			t.Fatalf("VP8X flags %08b: no alpha flag with ALPH", flags)
		}
		if f.losslessAlpha && flags&flagAlpha == 0 {
			t.Fatalf("VP8X flags %08b: no alpha flag with a VP8L alpha_is_used bit", flags)
		}
		d := cs[0].data
		w := int(d[4]) | int(d[5])<<8 | int(d[6])<<16
		h := int(d[7]) | int(d[8])<<8 | int(d[9])<<16
		if w+1 != in.width || h+1 != in.height {
			t.Fatalf("VP8X canvas %dx%d, want %dx%d", w+1, h+1, in.width, in.height)
		}
		if c := strings.Count(ids(cs), "EXIF"); c > 1 || (e.EXIF != nil && c != 1) {
			t.Fatalf("%d EXIF chunks", c)
		}
		if c := strings.Count(ids(cs), "XMP "); c > 1 || (e.XMP != nil && c != 1) {
			t.Fatalf("%d XMP chunks", c)
		}
	}

	// Re-open.
	g := open(t, out)
	got, err := g.ManifestStore()
	if err != nil || !bytes.Equal(got, store) {
		t.Fatalf("re-opened store differs (%v)", err)
	}
	wantXMP, wantEXIF := f.XMP(), f.EXIF()
	if e.XMP != nil {
		wantXMP = e.XMP
	}
	if e.EXIF != nil {
		wantEXIF = e.EXIF
	}
	if !bytes.Equal(g.XMP(), wantXMP) || !bytes.Equal(g.EXIF(), wantEXIF) {
		t.Fatalf("re-opened XMP %q EXIF %q, want %q %q", g.XMP(), g.EXIF(), wantXMP, wantEXIF)
	}

	samePixels(t, in.b, out, extended && f.losslessAlpha)
	if webpinfo(t, in.b, false) {
		webpinfo(t, out, true)
	}
}

// samePixels decodes both files with golang.org/x/image/webp and, when it is installed, with
// dwebp, and wants identical pixels. x/image/webp refuses VP8L inside a VP8X that has the alpha
// flag (which the WebP spec and libwebp require for VP8L with alpha), so only dwebp checks those.
func samePixels(t *testing.T, a, b []byte, skipX bool) {
	t.Helper()
	if !skipX {
		ma, err := xwebp.Decode(bytes.NewReader(a))
		if err != nil {
			t.Fatalf("x/image/webp: decoding input: %v", err)
		}
		mb, err := xwebp.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("x/image/webp: decoding output: %v", err)
		}
		if ma.Bounds() != mb.Bounds() {
			t.Fatalf("decoded bounds %v, want %v", mb.Bounds(), ma.Bounds())
		}
		r := ma.Bounds()
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if ma.At(x, y) != mb.At(x, y) {
					t.Fatalf("pixel (%d,%d): %v, want %v", x, y, mb.At(x, y), ma.At(x, y))
				}
			}
		}
	}
	dwebp := tool(t, "dwebp")
	if dwebp == "" {
		if skipX {
			t.Log("dwebp not found (Debian package webp): pixels not compared")
		}
		return
	}
	dir := t.TempDir()
	var pams [2][]byte
	for i, b := range [][]byte{a, b} {
		in, out := filepath.Join(dir, fmt.Sprint(i, ".webp")), filepath.Join(dir, fmt.Sprint(i, ".pam"))
		if err := os.WriteFile(in, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command(dwebp, "-quiet", "-pam", in, "-o", out).CombinedOutput(); err != nil {
			t.Fatalf("dwebp: %v\n%s", err, msg)
		}
		var err error
		if pams[i], err = os.ReadFile(out); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(pams[0], pams[1]) {
		t.Fatal("dwebp decodes different pixels")
	}
}

// webpinfo reports whether webpinfo finds no error in b; with must it fails the test instead.
// Without webpinfo it reports false.
func webpinfo(t *testing.T, b []byte, must bool) bool {
	t.Helper()
	p := tool(t, "webpinfo")
	if p == "" {
		return false
	}
	f := filepath.Join(t.TempDir(), "out.webp")
	if err := os.WriteFile(f, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(p, f).CombinedOutput()
	ok := err == nil && strings.Contains(string(out), "No error detected.")
	if !ok && must {
		t.Fatalf("webpinfo: %v\n%s", err, out)
	}
	return ok
}

func TestVP8XCreatedForLosslessAlpha(t *testing.T) {
	// A 5x3 VP8L header with alpha_is_used: the data after the header does not matter to Layout.
	v := uint32(4) | uint32(2)<<14 | 1<<28
	hdr := binary.LittleEndian.AppendUint32([]byte{0x2f}, v)
	in := build(Chunk("VP8L", append(hdr, 0, 0, 0)))
	out, _ := write(t, in, open(t, in), formats.Edit{XMP: []byte("<x/>"), StoreLen: 46}, fakeStore(t, 46))
	cs := walk(t, out)
	if ids(cs) != "VP8X,VP8L,XMP ,C2PA" {
		t.Fatalf("chunks %s", ids(cs))
	}
	want := []byte{flagAlpha | flagXMP, 0, 0, 0, 4, 0, 0, 2, 0, 0}
	if !bytes.Equal(cs[0].data, want) {
		t.Fatalf("VP8X % x, want % x", cs[0].data, want)
	}
}

func TestRemoveMetadata(t *testing.T) {
	in := handmade(t)[2] // extended, with XMP and EXIF
	f := open(t, in.b)
	if f.XMP() == nil || f.EXIF() == nil {
		t.Fatal("input has no metadata")
	}
	out, _ := write(t, in.b, f, formats.Edit{XMP: []byte{}, EXIF: []byte{}, StoreLen: 46}, fakeStore(t, 46))
	cs := walk(t, out)
	if ids(cs) != "VP8X,VP8 ,C2PA" || cs[0].data[0]&(flagEXIF|flagXMP) != 0 {
		t.Fatalf("chunks %s, flags %08b", ids(cs), cs[0].data[0])
	}
}

func TestTruncations(t *testing.T) {
	for _, in := range append([]input{{name: "signed", b: refFile(t, "c2pa-rs-signed.webp")}}, handmade(t)...) {
		b := in.b
		for n := 0; n < len(b); n++ {
			_, err := Open(bytes.NewReader(b[:n]), int64(n))
			if !errors.Is(err, formats.ErrMalformed) {
				t.Fatalf("%s truncated to %d bytes: error %v, want ErrMalformed", in.name, n, err)
			}
		}
	}
}

// sparse is a ReaderAt of size bytes: head, then zeros. It lets a test claim a huge chunk without
// allocating it.
type sparse struct {
	head []byte
	size int64
}

func (s sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > s.size-off {
		n = int(s.size - off)
	}
	clear(p[:n])
	if off < int64(len(s.head)) {
		copy(p, s.head[off:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestHostile(t *testing.T) {
	un := refFile(t, "unsigned.webp")
	vp8 := chunkOf(t, un, "VP8 ")
	mod := func(b []byte, f func([]byte)) []byte {
		c := append([]byte(nil), b...)
		f(c)
		return c
	}
	cases := []struct {
		name string
		in   []byte
		msg  string
	}{
		{"RIFF size larger than the file", mod(un, func(b []byte) { binary.LittleEndian.PutUint32(b[4:], uint32(len(b))) }), "needs a file of"},
		{"RIFF size 0xffffffff", mod(un, func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 0xffffffff) }), "needs a file of"},
		{"RIFF size tiny", mod(un, func(b []byte) { binary.LittleEndian.PutUint32(b[4:], 2) }), "smaller than the WEBP"},
		{"chunk past the end", mod(un, func(b []byte) { binary.LittleEndian.PutUint32(b[16:], uint32(len(b))) }), "runs past the end of the RIFF"},
		{"huge chunk", mod(un, func(b []byte) { binary.LittleEndian.PutUint32(b[16:], 0xffffffff) }), "runs past the end of the RIFF"},
		{"not WEBP", mod(un, func(b []byte) { copy(b[8:], "WAVE") }), "RIFF....WEBP"},
		{"VP8X not first", build(vp8, Chunk("VP8X", make([]byte, 10))), "not the first chunk"},
		{"VP8X short", build(Chunk("VP8X", make([]byte, 9)), vp8), "needs 10"},
		{"no image", build(Chunk("ZZZZ", []byte("x"))), "no image chunk"},
		{"half a chunk header", append(build(vp8), 'Z', 'Z'), ""},
	}
	// The last case: RIFF size counts the two stray bytes.
	binary.LittleEndian.PutUint32(cases[len(cases)-1].in[4:], uint32(len(cases[len(cases)-1].in)-8))
	cases[len(cases)-1].msg = "only 2 bytes left in the RIFF"
	for _, c := range cases {
		_, err := Open(bytes.NewReader(c.in), int64(len(c.in)))
		if !errors.Is(err, formats.ErrMalformed) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want ErrMalformed mentioning %q", c.name, err, c.msg)
		}
	}

	// Limits: a claimed 64 MiB+ C2PA chunk is refused before it is read.
	n := int64(MaxStoreLen + 2)
	head := build(vp8, []byte("C2PA\x00\x00\x00\x00"))
	binary.LittleEndian.PutUint32(head[len(head)-4:], uint32(n))
	size := int64(len(head)) + n
	binary.LittleEndian.PutUint32(head[4:], uint32(size-8))
	if _, err := Open(sparse{head, size}, size); !errors.Is(err, formats.ErrTooLarge) {
		t.Errorf("huge C2PA chunk: %v, want ErrTooLarge", err)
	}

	// Creating a VP8X needs a readable frame header.
	bad := mod(un, func(b []byte) { b[23] = 0 }) // breaks the 9D 01 2A start code
	if _, err := open(t, bad).Layout(formats.Edit{XMP: []byte("x"), StoreLen: 10}); !errors.Is(err, formats.ErrMalformed) {
		t.Errorf("VP8X from a broken frame header: %v", err)
	}
	if _, err := open(t, un).Layout(formats.Edit{StoreLen: -1}); !errors.Is(err, formats.ErrTooLarge) {
		t.Errorf("negative StoreLen: %v", err)
	}
}

// A RIFF size smaller than the file is tolerated; the trailing bytes are dropped.
func TestTrailingBytes(t *testing.T) {
	un := refFile(t, "unsigned.webp")
	in := append(append([]byte(nil), un...), "C2PA\x04\x00\x00\x00junk"...)
	f := open(t, in)
	if _, err := f.ManifestStore(); !errors.Is(err, formats.ErrNoManifest) {
		t.Fatalf("a chunk after the RIFF was read: %v", err)
	}
	store := fakeStore(t, 60)
	out, _ := write(t, in, f, formats.Edit{StoreLen: 60}, store)
	want := append(build(chunkOf(t, un, "VP8 ")), Chunk("C2PA", store)...)
	binary.LittleEndian.PutUint32(want[4:], uint32(len(want)-8))
	if !bytes.Equal(out, want) {
		t.Fatal("output is not the RIFF with the C2PA chunk appended")
	}
}

func TestManyChunks(t *testing.T) {
	un := refFile(t, "unsigned.webp")
	vp8 := chunkOf(t, un, "VP8 ")
	alternate := append(Chunk("ZZZZ", nil), Chunk("ICCP", nil)...)
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"1M unknown chunks", build(vp8, bytes.Repeat(Chunk("ZZZZ", nil), 1_000_000)), nil},
		{"MaxRuns runs", build(vp8, bytes.Repeat(alternate, MaxRuns/2)[8:]), nil}, // VP8 + MaxRuns-1 runs
		{"1M alternating chunks", build(vp8, bytes.Repeat(alternate, 500_000)), formats.ErrTooLarge},
	}
	for _, c := range cases {
		start := time.Now()
		f, err := Open(bytes.NewReader(c.in), int64(len(c.in)))
		el := time.Since(start)
		t.Logf("%s: Open of %d bytes: %v, %v", c.name, len(c.in), el, err)
		if !errors.Is(err, c.want) || (c.want == nil && err != nil) {
			t.Fatalf("%s: error %v, want %v", c.name, err, c.want)
		}
		if el > slowdown*time.Second {
			t.Fatalf("%s: Open took %v", c.name, el)
		}
		if err == nil {
			if len(f.runs) > MaxRuns {
				t.Fatalf("%d runs", len(f.runs))
			}
			if _, err := f.Layout(formats.Edit{StoreLen: 100, XMP: []byte("x")}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestMetadataRead(t *testing.T) {
	vp8 := chunkOf(t, refFile(t, "unsigned.webp"), "VP8 ")
	vp8x := Chunk("VP8X", []byte{flagEXIF | flagXMP, 0, 0, 0, 255, 0, 0, 255, 0, 0})
	for _, prefix := range []string{"", "Exif\x00\x00"} {
		in := build(vp8x, vp8, Chunk("EXIF", append([]byte(prefix), tiffBlob("r")...)), Chunk("XMP ", []byte("<r/>")))
		f := open(t, in)
		if !bytes.Equal(f.EXIF(), tiffBlob("r")) || string(f.XMP()) != "<r/>" {
			t.Fatalf("prefix %q: EXIF %q XMP %q", prefix, f.EXIF(), f.XMP())
		}
	}
	f := open(t, build(vp8))
	if f.EXIF() != nil || f.XMP() != nil {
		t.Fatal("metadata in a file without any")
	}
}
