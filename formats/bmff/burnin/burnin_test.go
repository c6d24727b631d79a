package burnin

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required when CI=true: %v", name, err)
		}
		t.Skipf("%s is not installed; skipping (CI=true makes this a failure)", name)
	}
}

func ffmpeg(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("ffmpeg", append([]string{"-nostdin", "-v", "error"}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
	return string(out) + stderr.String()
}

// frames returns the MD5 of every decoded video frame, in order.
func frames(t testing.TB, path string) []string {
	t.Helper()
	var hs []string
	for _, l := range strings.Split(ffmpeg(t, "-i", path, "-map", "0:v", "-f", "framemd5", "-"), "\n") {
		if f := strings.Split(l, ","); len(f) == 6 && !strings.HasPrefix(l, "#") {
			hs = append(hs, strings.TrimSpace(f[5]))
		}
	}
	return hs
}

func TestBurn(t *testing.T) {
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	for _, v := range []struct {
		name  string
		gop   string
		fixed int // frames that must decode as in the input (from the end)
	}{
		{name: "spliced", gop: "25", fixed: 100}, // 1 s GOPs: frames from 2 s on are copied
		{name: "one-gop", gop: "500", fixed: 0},  // a single GOP: everything is re-encoded
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in, out := filepath.Join(dir, "in.mp4"), filepath.Join(dir, "out.mp4")
			ffmpeg(t, "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine", "-t", "6",
				"-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", v.gop, "-c:a", "aac", in)
			err := Burn(context.Background(), in, out, Options{Text: "Жасанды интеллект арқылы жасалған контент\nAI-generated content", Duration: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if msg := ffmpeg(t, "-i", out, "-f", "null", "-"); msg != "" {
				t.Fatalf("decoding the output: %s", msg)
			}
			a, b := frames(t, in), frames(t, out)
			if len(a) != 150 || len(b) != len(a) {
				t.Fatalf("%d frames in, %d out", len(a), len(b))
			}
			same := 0
			for i := range a {
				if a[i] == b[i] {
					same++
				} else if i >= len(a)-v.fixed {
					t.Fatalf("frame %d, after the re-encoded head, decodes differently", i)
				}
			}
			// the warning is drawn on the first 2 s (50 frames): none of them is unchanged
			for i := 0; i < 50; i++ {
				if a[i] == b[i] {
					t.Fatalf("frame %d has no warning drawn on it", i)
				}
			}
			if same < v.fixed {
				t.Fatalf("only %d frames unchanged, want %d", same, v.fixed)
			}
			audio := func(p string) string {
				return ffmpeg(t, "-i", p, "-map", "0:a", "-c", "copy", "-f", "framemd5", "-")
			}
			if audio(in) != audio(out) {
				t.Fatal("audio packets changed")
			}
		})
	}
}

func TestNoFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Burn(context.Background(), "in.mp4", "out.mp4", Options{Text: "x"})
	if !errors.Is(err, ErrNoFFmpeg) || !strings.Contains(err.Error(), "ffmpeg") {
		t.Fatalf("without ffmpeg: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.mp4")
	os.WriteFile(junk, []byte("not a video"), 0o644)
	if err := Burn(context.Background(), junk, filepath.Join(dir, "o.mp4"), Options{Text: "x"}); err == nil {
		t.Fatal("burned into junk")
	}
	if err := Burn(context.Background(), junk, filepath.Join(dir, "o.mp4"), Options{}); err == nil {
		t.Fatal("burned no text")
	}
}
