package bmff

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

func digestOf(t testing.TB, b []byte) ([]byte, error) {
	t.Helper()
	c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	md, ok := c.(formats.MediaDigester)
	if !ok {
		t.Fatalf("%T is not a MediaDigester", c)
	}
	return md.MediaDigest()
}

// The media digest survives what strips or remuxes a video: exiftool -all=, ffmpeg -c copy into
// MOV and into a fast-start MP4 (another interleaving and box order); it differs for another
// video; a fragmented movie is refused as unsupported.
func TestMediaDigest(t *testing.T) {
	needTool(t, "ffmpeg")
	needTool(t, "exiftool")
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "sample.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := digestOf(t, src)
	if err != nil || len(want) != 33 || want[0] != MediaDigestVersion {
		t.Fatalf("digest %x, %v", want, err)
	}
	in := filepath.Join(dir, "in.mp4")
	os.WriteFile(in, src, 0o644)
	run := func(name string, args ...string) []byte {
		if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		b, err := os.ReadFile(args[len(args)-1])
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	stripped := filepath.Join(dir, "stripped.mp4")
	os.WriteFile(stripped, src, 0o644)
	exec.Command("exiftool", "-q", "-all=", "-overwrite_original", stripped).Run()
	variants := map[string][]byte{
		"exiftool -all=": mustRead(t, stripped),
		"remux to MOV":   run("ffmpeg", "-nostdin", "-v", "error", "-i", in, "-map", "0", "-c", "copy", "-map_metadata", "-1", filepath.Join(dir, "remux.mov")),
		"faststart MP4":  run("ffmpeg", "-nostdin", "-v", "error", "-i", in, "-map", "0", "-c", "copy", "-movflags", "+faststart", filepath.Join(dir, "fast.mp4")),
	}
	for name, b := range variants {
		if bytes.Equal(b, src) {
			t.Fatalf("%s: the file did not change", name)
		}
		got, err := digestOf(t, b)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: digest %x, %v; want %x", name, got, err, want)
		}
	}
	// Another video (re-encoded): another digest.
	other := run("ffmpeg", "-nostdin", "-v", "error", "-i", in, "-c:v", "libx264", "-crf", "30", "-c:a", "copy", filepath.Join(dir, "other.mp4"))
	if got, err := digestOf(t, other); err != nil || bytes.Equal(got, want) {
		t.Errorf("re-encoded: digest %x, %v; want another", got, err)
	}
	// Fragmented: unsupported.
	frag, err := os.ReadFile(filepath.Join("testdata", "tinyfrag.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := digestOf(t, frag); !errors.Is(err, formats.ErrUnsupported) {
		t.Errorf("fragmented: %v, want ErrUnsupported", err)
	}
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzMediaDigest: hostile sample tables give an error, never a panic or a hang.
func FuzzMediaDigest(f *testing.F) {
	for _, name := range []string{"tiny.mp4", "unsigned.mov", "unsigned.m4a"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		if md, ok := c.(formats.MediaDigester); ok {
			md.MediaDigest()
		}
	})
}
