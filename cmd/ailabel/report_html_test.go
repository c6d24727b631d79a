package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
)

// dataImage decodes a data:image/jpeg;base64 URI.
func dataImage(t *testing.T, uri string) image.Image {
	t.Helper()
	const prefix = "data:image/jpeg;base64,"
	if !strings.HasPrefix(uri, prefix) {
		t.Fatalf("not a JPEG data URI: %.60s", uri)
	}
	b, err := base64.StdEncoding.DecodeString(uri[len(prefix):])
	if err != nil {
		t.Fatalf("thumbnail base64: %v", err)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("thumbnail does not decode: %v", err)
	}
	return img
}

// notBlank reports whether an image shows something: many distinct colours and a spread of
// brightness (a blank, black or single-colour frame has neither).
func notBlank(img image.Image) bool {
	b := img.Bounds()
	colours := map[color.RGBA]bool{}
	var sum, sumSq float64
	n := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[color.RGBA{uint8(r >> 12), uint8(g >> 12), uint8(bl >> 12), 0}] = true
			l := float64(r+g+bl) / 3 / 257
			sum += l
			sumSq += l * l
			n++
		}
	}
	if n == 0 {
		return false
	}
	mean := sum / float64(n)
	return len(colours) >= 16 && sumSq/float64(n)-mean*mean > 400 // a luminance spread over 20 levels
}

// meanDiff is the mean absolute difference of two same-sized images' grey levels.
func meanDiff(a, b image.Image) float64 {
	if a.Bounds() != b.Bounds() {
		return 255
	}
	var d float64
	n := 0
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			ga := color.GrayModel.Convert(a.At(x, y)).(color.Gray).Y
			gb := color.GrayModel.Convert(b.At(x, y)).(color.Gray).Y
			d += float64(max(ga, gb) - min(ga, gb))
			n++
		}
	}
	return d / float64(n)
}

// ffmpegVideo makes a video of FFmpeg's test pattern.
func ffmpegVideo(t *testing.T, ffmpeg, path, source, seconds string, extra ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	args := append([]string{"-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source + "=size=320x240:rate=25:duration=" + seconds}, extra...)
	args = append(args, path)
	if out, err := exec.CommandContext(ctx, ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// The HTML report shows a frame of each video: ffmpeg's frame near one second (the first frame
// of a video shorter than that), scaled and embedded as a data: JPEG; a damaged video, or no
// ffmpeg, gives the inline SVG placeholder.
func TestReportVideoThumbnails(t *testing.T) {
	ffmpeg := testtool.Require(t, "ffmpeg")
	l, _ := testLabeler(t)
	dir := filepath.Join(t.TempDir(), "videos")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	long := filepath.Join(dir, "long.mp4")
	ffmpegVideo(t, ffmpeg, long, "testsrc", "2", "-pix_fmt", "yuv420p")
	short := filepath.Join(dir, "short.mp4")
	ffmpegVideo(t, ffmpeg, short, "testsrc", "0.2", "-pix_fmt", "yuv420p")
	mov := filepath.Join(dir, "clip.mov")
	ffmpegVideo(t, ffmpeg, mov, "testsrc2", "1.5", "-pix_fmt", "yuv420p")
	avi := filepath.Join(dir, "clip.avi")
	ffmpegVideo(t, ffmpeg, avi, "smptebars", "1.5")
	// Ours, labeled: the label must not get in the way of the frame.
	labeled := filepath.Join(dir, "labeled.mp4")
	if err := os.WriteFile(labeled, labelOf(t, l, mustRead(t, long)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Damaged: the first 2 KB of the long video, which has no frame data.
	damaged := filepath.Join(dir, "damaged.mp4")
	if err := os.WriteFile(damaged, mustRead(t, long)[:2048], 0o644); err != nil {
		t.Fatal(err)
	}

	report := filepath.Join(t.TempDir(), "report.html")
	start := time.Now()
	code, _, errs := cli(t, nil, "verify", "--json", "--report", report, dir)
	elapsed := time.Since(start)
	if code == exitUsage {
		t.Fatalf("verify --report: exit %d %s", code, errs)
	}
	page := string(mustRead(t, report))
	thumbs := map[string]string{}
	for _, m := range reportRow.FindAllStringSubmatch(page, -1) {
		thumbs[filepath.Base(html.UnescapeString(m[4]))] = html.UnescapeString(m[3])
	}
	t.Logf("verify --report of %d videos: %v", len(thumbs), elapsed.Round(time.Millisecond))
	frames := map[string]image.Image{}
	for _, name := range []string{"long.mp4", "short.mp4", "clip.mov", "clip.avi", "labeled.mp4"} {
		uri, ok := thumbs[name]
		if !ok {
			t.Fatalf("%s is not in the report", name)
		}
		img := dataImage(t, uri)
		if b := img.Bounds(); b.Dx() != thumbSide && b.Dy() != thumbSide || b.Dx() > thumbSide || b.Dy() > thumbSide {
			t.Errorf("%s: thumbnail %v, want it to fit %d×%d", name, b, thumbSide, thumbSide)
		}
		if !notBlank(img) {
			t.Errorf("%s: the thumbnail is blank", name)
		}
		frames[name] = img
	}
	// 320×240 scaled to 160×120.
	if b := frames["long.mp4"].Bounds(); b.Dx() != 160 || b.Dy() != 120 {
		t.Errorf("long.mp4 thumbnail %v, want 160×120", b)
	}
	// The long video's frame is taken near one second, not at the start: it differs from the
	// short video's first frame of the same pattern, which the labeled copy's equals.
	t.Logf("frame differences: long/short %.2f, long/labeled %.2f", meanDiff(frames["long.mp4"], frames["short.mp4"]), meanDiff(frames["long.mp4"], frames["labeled.mp4"]))
	if d := meanDiff(frames["long.mp4"], frames["short.mp4"]); d < 3 {
		t.Errorf("long.mp4's frame equals the first frame (mean difference %.2f)", d)
	}
	if d := meanDiff(frames["long.mp4"], frames["labeled.mp4"]); d > 1 {
		t.Errorf("the labeled copy's frame differs from the original's (mean difference %.2f)", d)
	}
	if thumbs["damaged.mp4"] != videoPlaceholder() && thumbs["damaged.mp4"] != "" {
		t.Errorf("damaged.mp4: %.60s, want the placeholder", thumbs["damaged.mp4"])
	}
	if strings.Contains(page, "src=\"http") || strings.Contains(page, "href=") {
		t.Error("the report refers to something outside itself")
	}

	// Without ffmpeg on PATH: the placeholder, an SVG that needs nothing from outside.
	t.Setenv("PATH", t.TempDir())
	f, err := os.Open(long)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	uri := thumbnail(f, st.Size(), "mp4")
	const svgPrefix = "data:image/svg+xml;base64,"
	svg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, svgPrefix))
	if !strings.HasPrefix(uri, svgPrefix) || err != nil || !bytes.HasPrefix(svg, []byte("<svg ")) || bytes.Contains(svg, []byte("href")) {
		t.Fatalf("placeholder without ffmpeg: %.80s (%v)", uri, err)
	}
	report2 := filepath.Join(t.TempDir(), "report.html")
	if code, _, errs := cli(t, nil, "verify", "--report", report2, long); code == exitUsage {
		t.Fatalf("verify --report without ffmpeg: %s", errs)
	}
	m := reportRow.FindStringSubmatch(string(mustRead(t, report2)))
	if m == nil || html.UnescapeString(m[3]) != videoPlaceholder() {
		t.Fatalf("report without ffmpeg: row %q", m)
	}
}
