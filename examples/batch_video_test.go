package examples_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
)

// batch-video labels the MP4 and the MOV of a folder tree (made with ffmpeg), reports a
// truncated video and a text file named .mov as failed, leaves other files and the inputs alone, and every
// output verifies and carries the kz warning captions.
func TestBatchVideo(t *testing.T) {
	ff := testtool.Require(t, "ffmpeg")
	const model = "test-video-model"
	in, out := filepath.Join(t.TempDir(), "in"), filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(filepath.Join(in, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ name, src string }{{"a.mp4", "testsrc"}, {"sub/b.mov", "testsrc2"}} {
		cmd := exec.CommandContext(t.Context(), ff, "-nostdin", "-v", "error", "-f", "lavfi", "-i", v.src+"=size=64x48:rate=10",
			"-t", "1", "-pix_fmt", "yuv420p", "-c:v", "mpeg4", filepath.Join(in, v.name))
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg %s: %v\n%s", v.name, err, b)
		}
	}
	// A video cut short, and text with a video's name.
	a, err := os.ReadFile(filepath.Join(in, "a.mp4"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in, "broken.mp4"), a[:len(a)/3], 0o644)
	os.WriteFile(filepath.Join(in, "text.mov"), bytes.Repeat([]byte("not a video "), 100), 0o644)
	os.WriteFile(filepath.Join(in, "notes.txt"), []byte("not a video either"), 0o644)
	before := snapshot(t, in)

	code, stdout, stderr := runProgram(t, "batch-video", "-in", in, "-out", out, "-j", "2", "-model", model)
	t.Logf("stdout:\n%sstderr:\n%s", stdout, stderr)
	if code != 1 || !strings.Contains(stdout, "labeled 2 of 4 videos") || !strings.Contains(stdout, "FAILED broken.mp4: ") || !strings.Contains(stdout, "FAILED text.mov: not a video") {
		t.Fatalf("batch-video: exit %d, want 1 with 2 of 4 labeled, broken.mp4 and text.mov failed", code)
	}
	if linesStarting(stderr, "[") != 4 {
		t.Errorf("want one progress line per video on a non-terminal stderr")
	}
	if after := snapshot(t, in); !mapsEqual(before, after) {
		t.Error("the input folder changed")
	}
	outputs := snapshot(t, out)
	var names []string
	for n := range outputs {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"a.mp4", filepath.Join("sub", "b.mov")}) {
		t.Fatalf("outputs %v, want a.mp4 and sub/b.mov only (nothing of the failed ones, no notes.txt)", names)
	}

	want := map[string]bool{}
	for _, n := range label.DefaultNotice().Texts {
		want[n.Text] = true
	}
	var paths []string
	for _, n := range names {
		path := filepath.Join(out, n)
		checkLabeled(t, path, model)
		if _, _, cue := testtool.FirstCue(t, path, "0:s:0"); !want[cue] {
			t.Errorf("%s: first caption %q is not one of the kz warnings", n, cue)
		}
		paths = append(paths, path)
	}

	// A usage error is exit 2.
	if code, _, _ := runProgram(t, "batch-video", "-in", in); code != 2 {
		t.Errorf("batch-video without -out: exit %d, want 2", code)
	}
	if code, _, stderr := runProgram(t, "batch-video", "-in", in, "-out", in); code != 2 || !strings.Contains(stderr, "-out must be another folder") {
		t.Errorf("batch-video -out = -in: exit %d %q, want 2", code, stderr)
	}
	c2paCheck(t, paths...)
}

// snapshot reads every file under dir, by path relative to dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		m[rel] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
