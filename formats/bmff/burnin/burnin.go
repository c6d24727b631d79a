// Package burnin burns a visible warning into the opening seconds of a video, for players that
// ignore subtitle tracks. It drives ffmpeg: only the opening group(s) of pictures that cover the
// asked duration are decoded and re-encoded with the text drawn on them; every later video
// packet and the whole audio are copied as they are.
//
// The output is a new file; label it afterwards (burning in changes the pixels, so it must come
// before the C2PA manifest is made).
package burnin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoFFmpeg is returned when ffmpeg or ffprobe is not installed.
var ErrNoFFmpeg = errors.New("burning a warning into video needs ffmpeg and ffprobe installed (apt-get install ffmpeg); the caption track needs neither")

// ErrUnsupported is returned for videos this splicer cannot handle without re-encoding all of it.
var ErrUnsupported = errors.New("burn-in: unsupported video")

// DefaultDuration is the least time the warning stays on screen: the 2 s of the cn rule.
const DefaultDuration = 2 * time.Second

// Options say what to draw and for how long.
type Options struct {
	// Text is the warning, one line per language.
	Text string
	// Duration is the least time the text is shown (DefaultDuration when 0); it is shown up to
	// the first keyframe at or after it.
	Duration time.Duration
	// FontFile is a TrueType font with the scripts of Text; empty lets fontconfig choose.
	FontFile string
}

// Burn writes out: in with o.Text drawn over its opening group(s) of pictures. Only H.264
// video is spliced (its later packets are copied); the first video stream and all audio are
// kept. It needs ffmpeg and ffprobe on PATH, and returns an error wrapping ErrNoFFmpeg when they
// are missing.
func Burn(ctx context.Context, in, out string, o Options) error {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return fmt.Errorf("burn-in: %w: %v", ErrNoFFmpeg, err)
	}
	ffprobe, err := exec.LookPath("ffprobe")
	if err != nil {
		return fmt.Errorf("burn-in: %w: %v", ErrNoFFmpeg, err)
	}
	if strings.TrimSpace(o.Text) == "" {
		return errors.New("burn-in: no text to draw")
	}
	if o.Duration <= 0 {
		o.Duration = DefaultDuration
	}
	run := func(name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("%s %s: %v: %s", filepath.Base(name), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return stdout.String(), nil
	}

	codec, err := run(ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=codec_name,height,pix_fmt", "-of", "csv=p=0", in)
	if err != nil {
		return fmt.Errorf("burn-in: probing %s: %w", in, err)
	}
	f := strings.Split(strings.TrimSpace(codec), ",")
	if f[0] != "h264" || len(f) < 3 {
		return fmt.Errorf("burn-in: %s: video stream %q: only H.264 is spliced: %w", in, f[0], ErrUnsupported)
	}
	h, err := strconv.Atoi(f[1])
	if err != nil || h <= 0 {
		return fmt.Errorf("burn-in: %s: video height %q: %w", in, f[1], ErrUnsupported)
	}
	window := o.Duration + 60*time.Second
	keys, err := run(ffprobe, "-v", "error", "-select_streams", "v:0", "-skip_frame", "nokey",
		"-read_intervals", fmt.Sprintf("%%+%d", int(window.Seconds())),
		"-show_entries", "frame=pts_time", "-of", "csv=p=0", in)
	if err != nil {
		return fmt.Errorf("burn-in: finding keyframes in %s: %w", in, err)
	}
	cut := -1.0 // the first keyframe at or after o.Duration; -1: re-encode everything
	for _, l := range strings.Fields(keys) {
		t, err := strconv.ParseFloat(strings.TrimSuffix(l, ","), 64)
		if err == nil && t >= o.Duration.Seconds() {
			cut = t
			break
		}
	}

	tmp, err := os.MkdirTemp("", "ailabel-burnin-")
	if err != nil {
		return fmt.Errorf("burn-in: %w", err)
	}
	defer os.RemoveAll(tmp)
	textFile := filepath.Join(tmp, "text.txt")
	if err := os.WriteFile(textFile, []byte(o.Text), 0o600); err != nil {
		return fmt.Errorf("burn-in: %w", err)
	}
	draw := fmt.Sprintf("drawtext=textfile=%s:fontcolor=white:fontsize=%d:line_spacing=%d:box=1:boxcolor=black@0.6:boxborderw=%d:x=(w-text_w)/2:y=h-text_h-h/12",
		textFile, max(10, h/20), max(2, h/80), max(2, h/60))
	if o.FontFile != "" {
		if strings.ContainsAny(o.FontFile, `'\:,;[]=`) {
			return fmt.Errorf("burn-in: font file name %q has characters ffmpeg filter options would misread", o.FontFile)
		}
		draw += ":fontfile=" + o.FontFile
	}
	// the same pixel format, so the re-encoded head and the copied tail decode alike
	enc := []string{"-c:v", "libx264", "-preset", "medium", "-crf", "16", "-pix_fmt", f[2]}

	if cut < 0 {
		// one group of pictures covers the whole head: re-encode the video, copy the audio
		args := []string{"-nostdin", "-y", "-v", "error", "-i", in, "-map", "0:v:0", "-map", "0:a?",
			"-vf", draw + ":enable='lt(t," + secs(o.Duration.Seconds()) + ")'"}
		args = append(append(args, enc...), "-c:a", "copy", "-map_metadata", "0", out)
		if _, err := run(ffmpeg, args...); err != nil {
			return fmt.Errorf("burn-in: %w", err)
		}
		return nil
	}
	head, tail := filepath.Join(tmp, "head.ts"), filepath.Join(tmp, "tail.ts")
	// The head is re-encoded with its parameter sets in band, as is the copied tail after
	// h264_mp4toannexb, so the spliced stream decodes across the cut.
	args := []string{"-nostdin", "-y", "-v", "error", "-i", in, "-map", "0:v:0", "-t", secs(cut), "-vf", draw}
	args = append(append(args, enc...), "-x264-params", "repeat-headers=1", "-an", "-f", "mpegts", head)
	if _, err := run(ffmpeg, args...); err != nil {
		return fmt.Errorf("burn-in: encoding the opening %ss: %w", secs(cut), err)
	}
	if _, err := run(ffmpeg, "-nostdin", "-y", "-v", "error", "-ss", secs(cut), "-i", in, "-map", "0:v:0",
		"-c", "copy", "-bsf:v", "h264_mp4toannexb", "-an", "-f", "mpegts", tail); err != nil {
		return fmt.Errorf("burn-in: copying the video after %ss: %w", secs(cut), err)
	}
	list := filepath.Join(tmp, "list.txt")
	if err := os.WriteFile(list, []byte("file "+quote(head)+"\nfile "+quote(tail)+"\n"), 0o600); err != nil {
		return fmt.Errorf("burn-in: %w", err)
	}
	if _, err := run(ffmpeg, "-nostdin", "-y", "-v", "error", "-f", "concat", "-safe", "0", "-i", list, "-i", in,
		"-map", "0:v", "-map", "1:a?", "-c", "copy", "-map_metadata", "1", out); err != nil {
		return fmt.Errorf("burn-in: joining: %w", err)
	}
	return nil
}

func secs(s float64) string { return strconv.FormatFloat(s, 'f', 6, 64) }

// quote quotes a path for ffmpeg's concat list.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
