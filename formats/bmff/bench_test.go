package bmff

import (
	"crypto/sha256"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest/bmffhash"
)

var (
	benchOnce sync.Once
	benchPath string
	benchDir  string
)

// benchFile synthesises, once per process, a ~100 MB MP4: ftyp, an mdat of 100 MiB and a moov
// at the end whose stco has 10,000 entries into the mdat.
func benchFile(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bmffbench")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = dir
		const mdatLen = 100 << 20
		ftyp := mkbox("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))
		offs := make([]uint32, 0, 10001)
		offs = append(offs, 10000)
		for i := 0; i < 10000; i++ {
			offs = append(offs, uint32(len(ftyp)+8+i*(mdatLen/10000)))
		}
		moov := mkbox("moov", fullbox("mvhd", 0, 0, make([]byte, 96)), stbl(fullbox("stco", 0, 0, u32s(offs...))))
		path := filepath.Join(dir, "bench.mp4")
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Write(ftyp)
		f.Write(binary.BigEndian.AppendUint32(nil, mdatLen+8))
		f.Write([]byte("mdat"))
		chunk := make([]byte, 1<<20)
		for i := range chunk {
			chunk[i] = byte(i * 7)
		}
		for i := 0; i < mdatLen>>20; i++ {
			f.Write(chunk)
		}
		f.Write(moov)
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		benchPath = path
	})
	if benchPath == "" {
		b.Fatal("no bench file")
	}
	return benchPath
}

// BenchmarkLayout100MB: open, lay out and stream the labelled output through the bmff hasher
// (the labeler's hashing pass), discarding the bytes.
func BenchmarkLayout100MB(b *testing.B) {
	path := benchFile(b)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	store := make([]byte, 20000)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		fh, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		c, err := formats.Open(fh, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		l, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: len(store), XMP: xmpPacket("bench")})
		if err != nil {
			b.Fatal(err)
		}
		h, _ := bmffhash.NewHasher(sha256.New(), bmffhash.C2PAExclusions())
		if _, err := l.WriteTo(io.MultiWriter(h, io.Discard), fh, store); err != nil {
			b.Fatal(err)
		}
		if _, err := h.Sum(); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
}

// BenchmarkSHA256File100MB is the floor: reading the same file once through plain SHA-256.
func BenchmarkSHA256File100MB(b *testing.B) {
	path := benchFile(b)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		fh, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, fh); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
}

// BenchmarkLayoutOnly100MB: Open and Layout alone (no media bytes are read).
func BenchmarkLayoutOnly100MB(b *testing.B) {
	path := benchFile(b)
	st, _ := os.Stat(path)
	b.ReportAllocs()
	for b.Loop() {
		fh, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		c, err := formats.Open(fh, st.Size())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: 20000}); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}
