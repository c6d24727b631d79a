package bmff

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/abema/go-mp4"
	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest/bmffhash"
	"github.com/ailabel/ailabel/manifest/jumbf"
)

// needTool returns the path of an external tool, skipping the test when it is missing, or
// failing it when CI=true.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required when CI=true: %v", name, err)
		}
		t.Skipf("%s is not installed; skipping (CI=true makes this a failure)", name)
	}
	return p
}

// fakeStore returns a well-formed JUMBF manifest store of exactly n bytes (n >= 46).
func fakeStore(t testing.TB, n int, fill byte) []byte {
	t.Helper()
	empty := jumbf.Superbox(jumbf.TypeManifestStore, "c2pa", nil, jumbf.AppendBox(nil, "bidb"))
	pad := n - len(empty)
	if pad < 0 {
		t.Fatalf("store of %d bytes is too small", n)
	}
	s := jumbf.Superbox(jumbf.TypeManifestStore, "c2pa", nil, jumbf.AppendBox(nil, "bidb", bytes.Repeat([]byte{fill}, pad)))
	if len(s) != n {
		t.Fatalf("fake store is %d bytes, want %d", len(s), n)
	}
	return s
}

func xmpPacket(tag string) []byte {
	return []byte(`<?xpacket begin="` + "\ufeff" + `" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:source="` + tag + `"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`)
}

type labeled struct {
	out    []byte
	layout *formats.Layout
	hash   []byte
}

// label does what the labeler does: Layout, hash the planned output with a placeholder store,
// write the real output, and checks that the written bytes hash the same and re-open with the
// same store and XMP.
func label(t testing.TB, in []byte, storeLen int, xmp []byte) labeled {
	t.Helper()
	return labelEdit(t, in, formats.Edit{XMP: xmp, StoreLen: storeLen})
}

// labelEdit is label with any edit.
func labelEdit(t testing.TB, in []byte, e formats.Edit) labeled {
	t.Helper()
	storeLen, xmp := e.StoreLen, e.XMP
	c, err := formats.Open(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	w, ok := c.(formats.Writable)
	if !ok {
		t.Fatalf("%s is not writable", c.Format().Name)
	}
	l, err := w.Layout(e)
	if err != nil {
		t.Fatalf("layout: %v", err)
	}
	// pass 1: hash the output with a zero placeholder store, streaming the pieces
	h, err := bmffhash.NewHasher(sha256.New(), bmffhash.C2PAExclusions())
	if err != nil {
		t.Fatal(err)
	}
	if n, err := l.WriteTo(h, bytes.NewReader(in), make([]byte, storeLen)); err != nil || n != l.Size() {
		t.Fatalf("streaming the layout into the hasher: %d bytes, %v", n, err)
	}
	planned, err := h.Sum()
	if err != nil {
		t.Fatalf("hashing the layout: %v", err)
	}
	// pass 2: write the output with the real store
	store := fakeStore(t, storeLen, 0xA5)
	var out bytes.Buffer
	if n, err := l.WriteTo(&out, bytes.NewReader(in), store); err != nil || n != l.Size() {
		t.Fatalf("write: %d bytes, %v", n, err)
	}
	if off, n := l.StoreOffset(); off < 0 || n != int64(StoreFrameOverhead+storeLen) || !bytes.Equal(out.Bytes()[off:off+n], FrameStore(store)) {
		t.Fatalf("store piece at %d (%d bytes) does not hold the framed store", off, n)
	}
	written := hashOf(t, out.Bytes())
	if !bytes.Equal(planned, written) {
		t.Fatal("hash of the written file differs from the hash of the planned layout")
	}
	// re-open
	c2, err := formats.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatalf("re-open: %v", err)
	}
	if c2.Format().Name != c.Format().Name {
		t.Fatalf("re-opened as %s, was %s", c2.Format().Name, c.Format().Name)
	}
	got, err := c2.ManifestStore()
	if err != nil || !bytes.Equal(got, store) {
		t.Fatalf("re-opened store: %v", err)
	}
	if _, err := jumbf.Parse(got, jumbf.DefaultLimits); err != nil {
		t.Fatal(err)
	}
	wantXMP := xmp
	if wantXMP == nil {
		wantXMP = c.XMP()
	}
	if !bytes.Equal(c2.XMP(), wantXMP) {
		t.Fatalf("re-opened XMP %q, want %q", c2.XMP(), wantXMP)
	}
	// exactly one C2PA box, right after ftyp (after the XMP box when there is one in front)
	f2 := c2.(*file)
	n := 0
	for i, b := range f2.boxes {
		if b.kind == kindC2PA {
			n++
			want := 1
			if f2.boxes[1].kind == kindXMP {
				want = 2
			}
			if i != want {
				t.Fatalf("C2PA box is top-level box %d, want %d", i, want)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d C2PA boxes in the output", n)
	}
	return labeled{out: out.Bytes(), layout: l, hash: written}
}

func hashOf(t testing.TB, b []byte) []byte {
	t.Helper()
	h, err := bmffhash.NewHasher(sha256.New(), bmffhash.C2PAExclusions())
	if err != nil {
		t.Fatal(err)
	}
	h.Write(b)
	s, err := h.Sum()
	if err != nil {
		t.Fatalf("hashing: %v", err)
	}
	return s
}

// offsets lists, with go-mp4 as an independent parser, the absolute file offsets a file holds:
// chunk offsets, explicit tfhd base data offsets and tfra moof offsets, in file order.
func offsets(t testing.TB, data []byte) (chunks, bases, moofs []uint64) {
	t.Helper()
	p := func(s ...string) mp4.BoxPath {
		var bp mp4.BoxPath
		for _, x := range s {
			bp = append(bp, mp4.StrToBoxType(x))
		}
		return bp
	}
	bs, err := mp4.ExtractBoxesWithPayload(bytes.NewReader(data), nil, []mp4.BoxPath{
		p("moov", "trak", "mdia", "minf", "stbl", "stco"),
		p("moov", "trak", "mdia", "minf", "stbl", "co64"),
		p("moof", "traf", "tfhd"),
		p("mfra", "tfra"),
	})
	if err != nil {
		t.Fatalf("go-mp4: %v", err)
	}
	for _, b := range bs {
		switch x := b.Payload.(type) {
		case *mp4.Stco:
			for _, o := range x.ChunkOffset {
				chunks = append(chunks, uint64(o))
			}
		case *mp4.Co64:
			chunks = append(chunks, x.ChunkOffset...)
		case *mp4.Tfhd:
			if x.GetFlags()&1 != 0 {
				bases = append(bases, x.BaseDataOffset)
			}
		case *mp4.Tfra:
			for _, e := range x.Entries {
				if x.GetVersion() == 0 {
					moofs = append(moofs, uint64(e.MoofOffsetV0))
				} else {
					moofs = append(moofs, e.MoofOffsetV1)
				}
			}
		}
	}
	return
}

// sameTargets checks that every absolute offset of out points at the same bytes as the
// corresponding offset of in.
func sameTargets(t testing.TB, in, out []byte) {
	t.Helper()
	c1, b1, m1 := offsets(t, in)
	c2, b2, m2 := offsets(t, out)
	if len(c1) != len(c2) || len(b1) != len(b2) || len(m1) != len(m2) {
		t.Fatalf("offset tables differ in length: %d/%d chunks, %d/%d bases, %d/%d moofs", len(c1), len(c2), len(b1), len(b2), len(m1), len(m2))
	}
	at := func(b []byte, o uint64) []byte {
		if o > uint64(len(b)) {
			t.Fatalf("offset %d past the end (%d)", o, len(b))
		}
		return b[o:min(uint64(len(b)), o+32)]
	}
	for _, set := range [][2][]uint64{{c1, c2}, {b1, b2}, {m1, m2}} {
		for i := range set[0] {
			if !bytes.Equal(at(in, set[0][i]), at(out, set[1][i])) {
				t.Fatalf("offset %d -> %d does not point at the same bytes", set[0][i], set[1][i])
			}
		}
	}
	for _, o := range m2 {
		if string(out[o+4:o+8]) != "moof" {
			t.Fatalf("tfra offset %d is not a moof", o)
		}
	}
}

func ffmpegOut(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("ffmpeg", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
	return string(out) + stderr.String()
}

// probe runs ffmpeg once on a file: it decodes every stream (any message on stderr fails the
// test, like "ffmpeg -v error -i F -f null -" printing something) and returns the
// "-map 0 -c copy -f framemd5" listing of its packets.
func probe(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	needTool(t, "ffmpeg")
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ffmpeg", "-nostdin", "-v", "error", "-i", path,
		"-map", "0", "-c", "copy", "-f", "framemd5", "pipe:1",
		"-map", "0", "-f", "null", "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg on %s: %v\n%s", name, err, stderr.String())
	}
	if strings.Count(string(out), "\n") < 10 {
		t.Fatalf("ffmpeg found almost no packets in %s:\n%s", name, out)
	}
	return string(out)
}

// decodesSame checks that ffmpeg decodes out without a word and demuxes the same packets from
// both files.
func decodesSame(t testing.TB, dir string, in, out []byte) {
	t.Helper()
	if a, b := probe(t, dir, "in.mp4", in), probe(t, dir, "out.mp4", out); a != b {
		t.Fatalf("framemd5 differs:\n%s\n---\n%s", a, b)
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSniff(t *testing.T) {
	ftyp := func(major string, compat ...string) []byte {
		p := append([]byte(major), 0, 0, 0, 0)
		for _, c := range compat {
			p = append(p, c...)
		}
		b := binary.BigEndian.AppendUint32(nil, uint32(8+len(p)))
		return append(append(b, "ftyp"...), p...)
	}
	cases := []struct {
		head []byte
		want string
	}{
		{ftyp("isom", "isom", "iso2", "avc1", "mp41"), "mp4"},
		{ftyp("mp42", "mp42", "isom"), "mp4"},
		{ftyp("XAVC", "XAVC", "mp42"), "mp4"},
		{ftyp("qt  ", "qt  "), "mov"},
		{ftyp("M4A ", "M4A ", "mp42", "isom"), "m4a"},
		{ftyp("heic", "mif1", "heic"), "heic"},
		{ftyp("mif1", "mif1", "heic"), "heic"},
		{ftyp("avif", "avif", "mif1", "miaf"), "avif"},
		{ftyp("mif1", "avif", "mif1"), "avif"},
		{ftyp("crx ", "crx ", "isom"), ""},
		{[]byte("\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl "), ""},
		{[]byte("\x00\x00\x00\x08ftyp"), ""},
		{[]byte("RIFF\x00\x00\x00\x00WEBPVP8 "), ""},
	}
	for _, c := range cases {
		head := c.head
		if len(head) > formats.SniffLen {
			head = head[:formats.SniffLen]
		}
		got := ""
		if f, err := formats.Sniff(head); err == nil {
			got = f.Name
		}
		if got != c.want {
			t.Errorf("%q: sniffed %q, want %q", c.head, got, c.want)
		}
	}
	for _, name := range []string{"mp4", "mov", "m4a", "heic", "avif"} {
		f, ok := formats.Lookup(name)
		if !ok || f.Binding != formats.BMFFHash {
			t.Errorf("%s not registered with the BMFF binding", name)
		}
	}
}

func TestReferenceFiles(t *testing.T) {
	for _, ext := range []string{"mp4", "mov", "m4a", "heic", "avif"} {
		t.Run(ext, func(t *testing.T) {
			t.Parallel()
			signed := readTestdata(t, "c2pa-rs-signed."+ext)
			c, err := formats.Open(bytes.NewReader(signed), int64(len(signed)))
			if err != nil {
				t.Fatal(err)
			}
			if c.Format().Name != ext {
				t.Fatalf("sniffed %s", c.Format().Name)
			}
			store, err := c.ManifestStore()
			if err != nil {
				t.Fatal(err)
			}
			s, err := jumbf.Parse(store, jumbf.DefaultLimits)
			if err != nil || s.Label() != "c2pa" || len(s.Raw) != len(store) {
				t.Fatalf("store: %v", err)
			}
			if c.EXIF() != nil || c.XMP() != nil {
				t.Fatal("unexpected EXIF/XMP")
			}
			// Re-embedding c2pa-rs's own store reproduces its file byte for byte: same framing,
			// same place, same offsets. (So c2pa-rs's Valid verdict carries over.)
			if got := reembed(t, signed, store); !bytes.Equal(got, signed) {
				t.Fatal("re-embedding the same store changed the file")
			}
			unsigned := readTestdata(t, "unsigned."+ext)
			u, err := formats.Open(bytes.NewReader(unsigned), int64(len(unsigned)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := u.ManifestStore(); !errors.Is(err, formats.ErrNoManifest) {
				t.Fatalf("unsigned: %v", err)
			}
			// Relabel c2pa-rs's file: its store is replaced by ours, offsets follow.
			out := label(t, signed, 5000, xmpPacket("relabel")).out
			sameTargets(t, signed, out)
			// Labelling the unsigned file moves every offset by the inserted bytes.
			out2 := label(t, unsigned, 3000, nil).out
			sameTargets(t, unsigned, out2)
			switch ext {
			case "heic", "avif":
				sameItems(t, signed, out)
				sameImage(t, t.TempDir(), signed, out)
			default:
				decodesSame(t, t.TempDir(), signed, out)
				decodesSame(t, t.TempDir(), unsigned, out2)
			}
		})
	}
}

// reembed lays out data with a store of the same length and writes it with store.
func reembed(t testing.TB, data, store []byte) []byte {
	t.Helper()
	c, err := formats.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: len(store)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Pieces {
		if p.Kind == formats.Literal {
			t.Fatalf("a %d-byte literal was planned although nothing moves", p.Len)
		}
	}
	var out bytes.Buffer
	if _, err := l.WriteTo(&out, bytes.NewReader(data), store); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// items lists the byte ranges of construction-method-0 items of a top-level meta/iloc, parsed
// here from scratch (go-mp4 has no iloc).
func items(t testing.TB, data []byte) [][2]uint64 {
	t.Helper()
	f, err := open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]uint64
	for _, b := range f.boxes {
		if string(b.typ[:]) != "meta" {
			continue
		}
		meta := data[b.off+int64(b.hlen)+4 : b.end()]
		for len(meta) >= 8 {
			n := binary.BigEndian.Uint32(meta)
			if string(meta[4:8]) == "iloc" {
				p := meta[8:n]
				v := p[0]
				rd := func(k int) uint64 {
					var x uint64
					for i := 0; i < k; i++ {
						x = x<<8 | uint64(p[i])
					}
					p = p[k:]
					return x
				}
				rd(4)
				s := rd(2)
				os, ls, bs, is := int(s>>12&15), int(s>>8&15), int(s>>4&15), int(s&15)
				if v == 0 {
					is = 0
				}
				idw := 2
				if v == 2 {
					idw = 4
				}
				cnt := rd(idw)
				for i := uint64(0); i < cnt; i++ {
					rd(idw)
					method := uint64(0)
					if v > 0 {
						method = rd(2) & 15
					}
					rd(2)
					base := rd(bs)
					ne := rd(2)
					for j := uint64(0); j < ne; j++ {
						rd(is)
						o, l := rd(os), rd(ls)
						if method == 0 {
							out = append(out, [2]uint64{base + o, l})
						}
					}
				}
			}
			meta = meta[n:]
		}
	}
	if len(out) == 0 {
		t.Fatal("no iloc items")
	}
	return out
}

func sameItems(t testing.TB, in, out []byte) {
	t.Helper()
	a, b := items(t, in), items(t, out)
	if len(a) != len(b) {
		t.Fatalf("%d items, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i][1] != b[i][1] || !bytes.Equal(in[a[i][0]:a[i][0]+a[i][1]], out[b[i][0]:b[i][0]+b[i][1]]) {
			t.Fatalf("item extent %d moved from %v to %v without its bytes", i, a[i], b[i])
		}
		if a[i][0] == b[i][0] {
			t.Fatalf("item extent %d did not move", i)
		}
	}
}

// sameImage decodes both HEIF files with libheif's heif-convert and compares the pixels.
func sameImage(t testing.TB, dir string, in, out []byte) {
	t.Helper()
	needTool(t, "heif-convert")
	dec := func(name string, b []byte) image.Image {
		src := filepath.Join(dir, name+".heic")
		dst := filepath.Join(dir, name+".png")
		if err := os.WriteFile(src, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if msg, err := exec.Command("heif-convert", src, dst).CombinedOutput(); err != nil {
			t.Fatalf("heif-convert: %v: %s", err, msg)
		}
		fh, err := os.Open(dst)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		img, err := png.Decode(fh)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	a, b := dec("in", in), dec("out", out)
	if a.Bounds() != b.Bounds() {
		t.Fatal("decoded sizes differ")
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if a.At(x, y) != b.At(x, y) {
				t.Fatalf("pixel %d,%d differs", x, y)
			}
		}
	}
}

// TestFFmpegVariants labels the layouts ffmpeg writes, then relabels the output with a store of
// another size.
func TestFFmpegVariants(t *testing.T) {
	needTool(t, "ffmpeg")
	variants := []struct {
		name, ext string
		args      []string
	}{
		{"moov-at-end", "mp4", nil},
		{"faststart", "mp4", []string{"-movflags", "+faststart"}},
		{"mov", "mov", nil},
		{"mov-faststart", "mov", []string{"-movflags", "+faststart"}},
		{"frag-default-base-moof", "mp4", []string{"-movflags", "frag_keyframe+empty_moov+default_base_moof"}},
		{"frag-explicit-base", "mp4", []string{"-movflags", "frag_keyframe+empty_moov"}},
		// (ffmpeg 5.1 writes broken base offsets for global_sidx without default_base_moof)
		{"frag-global-sidx", "mp4", []string{"-movflags", "frag_keyframe+empty_moov+default_base_moof+global_sidx", "-frag_duration", "500000"}},
		{"frag-separate-moof", "mp4", []string{"-movflags", "frag_keyframe+empty_moov+separate_moof", "-frag_duration", "500000"}},
		{"frag-dash-sidx-per-fragment", "mp4", []string{"-movflags", "dash+frag_keyframe", "-frag_duration", "500000"}},
		{"audio-m4a", "m4a", []string{"-vn"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src := filepath.Join(dir, v.name+"."+v.ext)
			args := []string{"-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=440", "-t", "2", "-c:v", "libx264", "-c:a", "aac"}
			args = append(args, v.args...)
			ffmpegOut(t, append(args, src)...)
			in, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			ref := probe(t, dir, "in."+v.ext, in) // ffmpeg's own file must decode cleanly
			c1, b1, m1 := offsets(t, in)
			t.Logf("%d bytes, %d chunk offsets, %d explicit base offsets, %d tfra entries", len(in), len(c1), len(b1), len(m1))
			if strings.HasPrefix(v.name, "frag-explicit") && (len(b1) == 0 || len(m1) == 0) {
				t.Fatal("expected explicit tfhd base offsets and an mfra")
			}
			one := label(t, in, 4000, xmpPacket("one"))
			sameTargets(t, in, one.out)
			if got := probe(t, dir, "one."+v.ext, one.out); got != ref {
				t.Fatalf("framemd5 differs:\n%s\n---\n%s", ref, got)
			}
			// relabel: the existing C2PA box and XMP box are replaced by ones of other sizes
			two := label(t, one.out, 2500, xmpPacket("second, longer packet"))
			sameTargets(t, in, two.out)
			if got := probe(t, dir, "two."+v.ext, two.out); got != ref {
				t.Fatalf("framemd5 differs:\n%s\n---\n%s", ref, got)
			}
			// relabel keeping the XMP and the store size: nothing moves, nothing is rewritten,
			// and the same store gives back the same file
			if got := reembed(t, two.out, fakeStore(t, 2500, 0xA5)); !bytes.Equal(got, two.out) {
				t.Fatal("re-embedding the same store changed the file")
			}
		})
	}
}

// sparse is a virtual file: given byte ranges, zeros elsewhere.
type sparse struct {
	size  int64
	parts map[int64][]byte
}

func (s *sparse) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	if int64(n) > s.size-off {
		n = int(s.size - off)
	}
	clear(p[:n])
	for at, b := range s.parts {
		lo, hi := max(at, off), min(at+int64(len(b)), off+int64(n))
		if lo < hi {
			copy(p[lo-off:hi-off], b[lo-at:hi-at])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func mkbox(typ string, payload ...[]byte) []byte {
	n := 8
	for _, p := range payload {
		n += len(p)
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, typ...)
	for _, p := range payload {
		b = append(b, p...)
	}
	return b
}

func fullbox(typ string, v byte, flags uint32, payload ...[]byte) []byte {
	h := []byte{v, byte(flags >> 16), byte(flags >> 8), byte(flags)}
	return mkbox(typ, append([][]byte{h}, payload...)...)
}

func u32s(v ...uint32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint32(b, x)
	}
	return b
}

func stbl(table []byte) []byte {
	return mkbox("trak", mkbox("mdia", mkbox("minf", mkbox("stbl", table))))
}

// TestWidening: offsets that pass 4 GiB once the boxes move turn stco into co64, and with moov
// before mdat the growth of moov moves the media once more.
func TestWidening(t *testing.T) {
	const gib4 = 1 << 32
	ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00isom"))
	const storeLen = 1000
	frame := uint32(StoreFrameOverhead + storeLen)
	mdatSize := int64(gib4 - 512)
	// Four tracks. low: far below 4 GiB. hi: past 4 GiB once moved. mid: 10 bytes short of
	// 4 GiB once moved, so only the growth of the widened tables (12 bytes, when moov comes
	// first) pushes it over; the deciding pass widens it in both layouts because it counts the
	// most that all widenings could add (24 bytes). safe: 30 bytes short, beyond that margin.
	mid := uint32(gib4 - int64(frame) - 10)
	safe := uint32(gib4 - int64(frame) - 30)
	build := func(base, hi uint32) []byte {
		return mkbox("moov",
			stbl(fullbox("stco", 0, 0, u32s(2, base, base+10))),
			stbl(fullbox("stco", 0, 0, u32s(2, hi-16, hi))),
			stbl(fullbox("stco", 0, 0, u32s(1, mid))),
			stbl(fullbox("stco", 0, 0, u32s(1, safe))),
		)
	}
	for _, faststart := range []bool{false, true} {
		t.Run(fmt.Sprint("faststart=", faststart), func(t *testing.T) {
			moovLen := int64(len(build(0, 0)))
			mdatOff := int64(len(ftyp))
			if faststart {
				mdatOff += moovLen
			}
			base := uint32(mdatOff + 16)
			hi := uint32(mdatOff + mdatSize - 100)
			moov := build(base, hi)
			mdatHdr := append(u32s(1), "mdat"...)
			mdatHdr = binary.BigEndian.AppendUint64(mdatHdr, uint64(mdatSize))
			s := &sparse{parts: map[int64][]byte{0: ftyp, mdatOff: mdatHdr}}
			if faststart {
				s.parts[int64(len(ftyp))] = moov
				s.size = mdatOff + mdatSize
			} else {
				s.parts[mdatOff+mdatSize] = moov
				s.size = mdatOff + mdatSize + moovLen
			}
			c, err := formats.Open(s, s.size)
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: storeLen})
			if err != nil {
				t.Fatal(err)
			}
			var lit []byte
			for _, p := range l.Pieces {
				if p.Kind == formats.Literal {
					lit = p.Data
				}
			}
			if lit == nil {
				t.Fatal("moov not rewritten")
			}
			growth := uint64(len(lit)) - uint64(moovLen)
			if growth != 12 {
				t.Fatalf("moov grew by %d bytes, want 12 (hi and mid widened)", growth)
			}
			delta := uint64(frame)
			if faststart {
				delta += growth
			}
			if l.Size() != s.size+int64(frame)+int64(growth) {
				t.Fatalf("output is %d bytes, want %d", l.Size(), s.size+int64(frame)+int64(growth))
			}
			var tables []string
			var got [][]uint64
			_, err = mp4.ReadBoxStructure(bytes.NewReader(lit), func(h *mp4.ReadHandle) (any, error) {
				switch h.BoxInfo.Type.String() {
				case "moov", "trak", "mdia", "minf", "stbl":
					return h.Expand()
				case "stco", "co64":
					b, _, err := h.ReadPayload()
					if err != nil {
						return nil, err
					}
					tables = append(tables, h.BoxInfo.Type.String())
					if st, ok := b.(*mp4.Stco); ok {
						var v []uint64
						for _, o := range st.ChunkOffset {
							v = append(v, uint64(o))
						}
						got = append(got, v)
					} else {
						got = append(got, b.(*mp4.Co64).ChunkOffset)
					}
				}
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := "[stco co64 co64 stco]"; fmt.Sprint(tables) != want {
				t.Fatalf("tables %v, want %s", tables, want)
			}
			d := delta
			want := [][]uint64{{uint64(base) + d, uint64(base) + 10 + d}, {uint64(hi) - 16 + d, uint64(hi) + d}, {uint64(mid) + d}, {uint64(safe) + d}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("offsets %v, want %v", got, want)
			}
			if faststart && uint64(mid)+d <= 1<<32-1 {
				t.Fatal("test setup: mid should need 64 bits with moov first")
			}
		})
	}
}

// TestTfraWidening: a version-0 tfra whose moof offsets pass 4 GiB becomes version 1.
func TestTfraWidening(t *testing.T) {
	ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00isom"))
	const storeLen = 100
	moofOff := int64(1<<32 - 50)
	mdatSize := moofOff - int64(len(ftyp))
	moof := mkbox("moof", fullbox("mfhd", 0, 0, u32s(1)))
	entry := append(u32s(0, uint32(moofOff)), 1, 1, 1)
	tfra := fullbox("tfra", 0, 0, u32s(1, 0, 1), entry)
	mfra := mkbox("mfra", tfra, fullbox("mfro", 0, 0, u32s(0)))
	mdatHdr := append(u32s(1), "mdat"...)
	mdatHdr = binary.BigEndian.AppendUint64(mdatHdr, uint64(mdatSize))
	size := moofOff + int64(len(moof)) + int64(len(mfra))
	s := &sparse{size: size, parts: map[int64][]byte{0: ftyp, int64(len(ftyp)): mdatHdr, moofOff: moof, moofOff + int64(len(moof)): mfra}}
	c, err := formats.Open(s, size)
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: storeLen})
	if err != nil {
		t.Fatal(err)
	}
	lit := l.Pieces[len(l.Pieces)-1].Data
	if lit == nil || string(lit[12:16]) != "tfra" || lit[16] != 1 {
		t.Fatalf("tfra not widened: %x", lit)
	}
	got := binary.BigEndian.Uint64(lit[40:]) // mfra header, tfra header, 16 bytes of fields, time
	if want := uint64(moofOff + StoreFrameOverhead + storeLen); got != want {
		t.Fatalf("moof offset %d, want %d", got, want)
	}
	if binary.BigEndian.Uint32(lit) != uint32(len(lit)) {
		t.Fatal("mfra size not updated")
	}
}

func TestHostile(t *testing.T) {
	good := readTestdata(t, "unsigned.mp4")
	// every prefix: no panic; a clean error or a file that can be written and re-opened
	for n := 0; n <= len(good); n += max(1, n/50) {
		b := good[:n]
		c, err := formats.Open(bytes.NewReader(b), int64(n))
		if err != nil {
			if !errors.Is(err, formats.ErrMalformed) && !errors.Is(err, formats.ErrUnsupported) {
				t.Fatalf("prefix %d: %v", n, err)
			}
			continue
		}
		if l, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: 100}); err == nil {
			if _, err := l.WriteTo(io.Discard, bytes.NewReader(b), fakeStore(t, 100, 1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00"))
	bad := map[string][]byte{
		"past EOF":         append(append([]byte(nil), ftyp...), 0, 0, 1, 0, 'm', 'd', 'a', 't', 1, 2, 3),
		"size 5":           append(append([]byte(nil), ftyp...), 0, 0, 0, 5, 'f', 'r', 'e', 'e', 1, 2, 3, 4),
		"largesize 9":      append(append([]byte(nil), ftyp...), 0, 0, 0, 1, 'f', 'r', 'e', 'e', 0, 0, 0, 0, 0, 0, 0, 9),
		"largesize 2^64-1": append(append([]byte(nil), ftyp...), 0, 0, 0, 1, 'f', 'r', 'e', 'e', 255, 255, 255, 255, 255, 255, 255, 255),
		"no ftyp":          mkbox("moov"),
	}
	for name, b := range bad {
		if _, err := open(bytes.NewReader(b), int64(len(b))); !errors.Is(err, formats.ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// bad stco inside moov: Layout fails cleanly
	for name, moov := range map[string][]byte{
		"stco count": mkbox("moov", stbl(fullbox("stco", 0, 0, u32s(1000, 1)))),
		"child size": mkbox("moov", mkbox("trak", []byte{0, 0, 0, 99, 'm', 'd', 'i', 'a'})),
		"cmov":       mkbox("moov", mkbox("cmov", []byte("zlib"))),
		"iloc size":  mkbox("moov", fullbox("meta", 0, 0, fullbox("iloc", 1, 0, []byte{0x33, 0}, []byte{0, 1}))),
	} {
		b := append(append(append([]byte(nil), ftyp...), mkbox("mdat", []byte("x"))...), moov...)
		c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: 100}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// deeply nested junk inside moov, off the paths that hold offsets: copied, never walked
	junk := mkbox("free", []byte("x"))
	for i := 0; i < 5000; i++ {
		junk = mkbox("trak", junk)
	}
	b := append(append(append([]byte(nil), ftyp...), mkbox("mdat", []byte("x"))...), mkbox("moov", mkbox("udta", junk), junk)...)
	if _, err := formats.Open(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	// a manifest box inside the fragment sequence is not removed silently
	frag := bytes.Join([][]byte{ftyp, mkbox("moov"), mkbox("moof"), FrameStore(fakeStore(t, 60, 0)), mkbox("mdat", []byte("x"))}, nil)
	c, err := formats.Open(bytes.NewReader(frag), int64(len(frag)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: 100}); !errors.Is(err, formats.ErrUnsupported) {
		t.Errorf("C2PA box between moof and mdat: %v", err)
	}
}

func TestManifestStoreErrors(t *testing.T) {
	ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00"))
	c2pa := func(purpose string, rest []byte) []byte {
		return mkbox("uuid", C2PAUUID[:], []byte{0, 0, 0, 0}, []byte(purpose), rest)
	}
	store := fakeStore(t, 60, 7)
	cases := map[string]struct {
		file []byte
		err  error
	}{
		"update":        {bytes.Join([][]byte{ftyp, c2pa("original\x00", make([]byte, 8))}, nil), formats.ErrUnsupported},
		"two manifests": {bytes.Join([][]byte{ftyp, FrameStore(store), FrameStore(store)}, nil), formats.ErrMalformed},
		"no NUL":        {bytes.Join([][]byte{ftyp, c2pa("manifest", nil)}, nil), formats.ErrMalformed},
		"not jumb":      {bytes.Join([][]byte{ftyp, c2pa("manifest\x00", append(make([]byte, 8), mkbox("free", make([]byte, 10))...))}, nil), formats.ErrMalformed},
		"jumb too long": {bytes.Join([][]byte{ftyp, c2pa("manifest\x00", append(make([]byte, 8), store[:40]...))}, nil), formats.ErrMalformed},
		"merkle only":   {bytes.Join([][]byte{ftyp, c2pa("merkle\x00", []byte{0xa0})}, nil), formats.ErrNoManifest},
	}
	for name, c := range cases {
		f, err := open(bytes.NewReader(c.file), int64(len(c.file)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := f.ManifestStore(); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", name, err, c.err)
		}
	}
	// trailing zero padding after the JUMBF box is not part of the store
	padded := bytes.Join([][]byte{ftyp, c2pa("manifest\x00", append(append(make([]byte, 8), store...), make([]byte, 32)...)), mkbox("mdat")}, nil)
	f, err := open(bytes.NewReader(padded), int64(len(padded)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.ManifestStore(); err != nil || !bytes.Equal(got, store) {
		t.Fatalf("padded store: %v", err)
	}
}

// TestDropAnywhere: C2PA and XMP boxes are removed wherever they sit outside the fragments (an
// update manifest at the end, XMP between mdat and moov), and the offsets follow.
func TestDropAnywhere(t *testing.T) {
	ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00isom"))
	oldXMP := uuidBox(XMPUUID, []byte("<old/>"))
	old := FrameStore(fakeStore(t, 200, 9))
	mdat1 := mkbox("mdat", []byte("first chunk of media, long enough for sameTargets' 32 bytes"))
	mdat2 := mkbox("mdat", []byte("second chunk of media, also longer than the 32 compared bytes"))
	// layout: ftyp free mdat1 xmp mdat2 moov c2pa
	off1 := len(ftyp) + 8 + 8
	off2 := len(ftyp) + 8 + len(mdat1) + len(oldXMP) + 8
	moov := mkbox("moov", stbl(fullbox("stco", 0, 0, u32s(2, uint32(off1), uint32(off2)))))
	in := bytes.Join([][]byte{ftyp, mkbox("free"), mdat1, oldXMP, mdat2, moov, old}, nil)
	for _, xmp := range [][]byte{nil, []byte("<new/>")} {
		out := label(t, in, 100, xmp).out
		sameTargets(t, in, out)
		c, _, _ := offsets(t, out)
		want0 := uint64(len(ftyp) + StoreFrameOverhead + 100 + 8 + 8)
		if xmp != nil {
			want0 += uint64(24 + len(xmp))
		}
		if c[0] != want0 {
			t.Fatalf("first chunk at %d, want %d", c[0], want0)
		}
	}
}

// TestManyBoxes: 200,000 empty top-level boxes open and lay out in well under a second, for
// free boxes (kept as one run and copied as one range) and for empty mdat boxes (kept one by
// one, as are the boxes Layout must tell apart).
func TestManyBoxes(t *testing.T) {
	for _, typ := range []string{"free", "mdat"} {
		t.Run(typ, func(t *testing.T) {
			ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00"))
			b := append([]byte(nil), ftyp...)
			for i := 0; i < 200000; i++ {
				b = append(b, 0, 0, 0, 8)
				b = append(b, typ...)
			}
			b = append(b, mkbox("moov", stbl(fullbox("stco", 0, 0, u32s(1, uint32(len(b)-8)))))...)
			path := filepath.Join(t.TempDir(), "many.mp4")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			fh, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			start := time.Now()
			c, err := formats.Open(fh, int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			l, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: 100})
			if err != nil {
				t.Fatal(err)
			}
			el := time.Since(start)
			t.Logf("open+layout of %d bytes: %v, %d entries, %d pieces", len(b), el, len(c.(*file).boxes), len(l.Pieces))
			if el > 500*time.Millisecond {
				t.Fatalf("open+layout took %v", el)
			}
			if len(l.Pieces) != 4 { // ftyp, store, the empty boxes, moov
				t.Fatalf("%d pieces", len(l.Pieces))
			}
			var out bytes.Buffer
			if _, err := l.WriteTo(&out, fh, fakeStore(t, 100, 0)); err != nil {
				t.Fatal(err)
			}
			sameTargets(t, b, out.Bytes())
		})
	}
}

// FuzzOpen: any input either fails cleanly or opens; a writable one lays out, writes, and the
// output re-opens with the new store and hashes.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"tiny.mp4", "tinyfrag.mp4", "c2pa-rs-signed.avif"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00"))
	iloc := fullbox("iloc", 1, 0, []byte{0x44, 0x40}, []byte{0, 1}, []byte{0, 1, 0, 0, 0, 0}, u32s(0), []byte{0, 1}, u32s(60, 1))
	moov := mkbox("moov", stbl(fullbox("stco", 0, 0, u32s(1, 60))), fullbox("meta", 0, 0, iloc))
	f.Add(bytes.Join([][]byte{ftyp, moov, mkbox("mdat", []byte("media"))}, nil))
	f.Add(bytes.Join([][]byte{ftyp, mkbox("moov"), mkbox("moof", mkbox("traf", fullbox("tfhd", 0, 1, u32s(1), u32s(0, 60)))), mkbox("mdat", []byte("x")), mkbox("mfra", fullbox("tfra", 0, 0, u32s(1, 0, 1, 0, 48), []byte{1, 1, 1}))}, nil))
	f.Fuzz(fuzzOpenBody)
}

func fuzzOpenBody(t *testing.T, data []byte) {
	{
		c, err := formats.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		c.ManifestStore()
		c.XMP()
		w, ok := c.(formats.Writable)
		if !ok {
			return
		}
		l, err := w.Layout(formats.Edit{StoreLen: 64, XMP: []byte("<x/>")})
		if err != nil {
			return
		}
		store := fakeStore(t, 64, 3)
		var out bytes.Buffer
		if _, err := l.WriteTo(&out, bytes.NewReader(data), store); err != nil {
			t.Fatal(err)
		}
		c2, err := formats.Open(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("output does not re-open: %v", err)
		}
		if got, err := c2.ManifestStore(); err != nil || !bytes.Equal(got, store) {
			t.Fatalf("output store: %v", err)
		}
		if !bytes.Equal(c2.XMP(), []byte("<x/>")) {
			t.Fatal("output XMP")
		}
		h, _ := bmffhash.NewHasher(sha256.New(), bmffhash.C2PAExclusions())
		h.Write(out.Bytes())
		if _, err := h.Sum(); err != nil {
			t.Fatalf("output does not hash: %v", err)
		}
	}
}

// Text with "ftyp" at offset 4 is not sniffed as BMFF (found by the sidecar's fuzzer).
func TestTextIsNotBMFF(t *testing.T) {
	for _, head := range []string{"0000ftyp", "0000ftypisom and some more text here", "\x00\x00\x00\x13ftypisom\x00\x00\x00\x00abc"} {
		if classify([]byte(head)) != "" {
			t.Errorf("%q sniffed as BMFF", head)
		}
	}
	if classify([]byte("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom")) != "mp4" {
		t.Error("a real ftyp is no longer sniffed")
	}
}
