// Package testtool holds test helpers shared by the whole repository: finding the module root and
// the shared reference folder, and running the external tools that tests compare ailabel with
// (c2pa-rs through c2pa-check and our own interop/c2pa-wasm harness, the C2PA conformance
// rubrics, exiftool).
//
// Skipping rule: a test whose external tool or reference data is missing skips with a message
// that says what is missing and how to install it, unless the environment has CI=true; then it
// fails, so that a CI run never passes a skipped interop test off as green. .ci/run installs every
// tool these helpers use.
package testtool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// toolTimeout bounds one run of an external tool.
const toolTimeout = 3 * time.Minute

// installHint names the Debian package (or other source) of the tools tests use.
var installHint = map[string]string{
	"exiftool": "Debian package libimage-exiftool-perl",
	"convert":  "Debian package imagemagick",
	"identify": "Debian package imagemagick",
	"cwebp":    "Debian package webp",
	"dwebp":    "Debian package webp",
	"webpmux":  "Debian package webp",
	"ffmpeg":   "Debian package ffmpeg",
	"ffprobe":  "Debian package ffmpeg",
	"chromium": "Debian package chromium",
	"node":     "Node.js >= 20",
	"npm":      "npm, which comes with Node.js",
}

// lookups caches Require's answers (tool name → path or error) for the process.
var lookups sync.Map

type lookup struct {
	path string
	err  error
}

// InCI reports whether the environment has CI=true, where missing tools fail tests instead of
// skipping them.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test with the formatted message, or fails it when CI=true.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatal(msg + " (CI=true: not skipping)")
	}
	t.Skip(msg)
}

// ModuleRoot returns the folder holding go.mod, walking up from the working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("testtool: working directory: %v", err)
	}
	for {
		if fi, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && fi.Mode().IsRegular() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("testtool: no go.mod in the working directory or above it")
		}
		dir = parent
	}
}

// SharedDir returns the project's shared folder (reference tools and test data), which lies
// beside the repository: <module root>/../shared. Without it the test skips (fails when CI=true).
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(ModuleRoot(t)), "shared")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		SkipOrFail(t, "shared folder %s not found: it holds the reference tools and test data and must lie beside the repository", dir)
	}
	return dir
}

// Require returns the path of an external tool found on PATH. Without it the test skips with a
// message naming the tool and how to install it (fails when CI=true). For convert it also checks
// that the command is ImageMagick's.
func Require(t testing.TB, tool string) string {
	t.Helper()
	v, ok := lookups.Load(tool)
	if !ok {
		v, _ = lookups.LoadOrStore(tool, findTool(tool))
	}
	l := v.(lookup)
	if l.err != nil {
		hint := ""
		if h, ok := installHint[tool]; ok {
			hint = " (" + h + ")"
		}
		SkipOrFail(t, "%s not installed%s: %v; run .ci/run to install test prerequisites", tool, hint, l.err)
	}
	return l.path
}

func findTool(tool string) lookup {
	path, err := exec.LookPath(tool)
	if err != nil {
		return lookup{err: err}
	}
	if tool == "convert" || tool == "identify" {
		// A machine may have a stand-in convert that only converts PNG for display.
		out, err := exec.Command(path, "-version").CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("ImageMagick")) {
			return lookup{err: fmt.Errorf("%s is not ImageMagick's (%s -version: %q)", path, tool, firstLine(out))}
		}
	}
	return lookup{path: path}
}

// Exiftool runs exiftool with args and returns its standard output. A non-zero exit fails the
// test.
func Exiftool(t testing.TB, args ...string) string {
	t.Helper()
	path := Require(t, "exiftool")
	stdout, stderr, code, err := run(t, nil, path, args...)
	if err != nil {
		t.Fatalf("exiftool %s: %v", strings.Join(args, " "), err)
	}
	if code != 0 {
		t.Fatalf("exiftool %s: exit %d: %s", strings.Join(args, " "), code, strings.TrimSpace(stderr))
	}
	return stdout
}

// RubricCheck runs the C2PA conformance rubric checker (<shared>/tools/rubric-check/rubric-check
// ARGS... FILE) and returns its exit code and standard output. Exit codes: 0 no check failed,
// 1 a check failed, 2 usage or tool error, 3 no manifest. RUBRIC_DIR is set to
// <shared>/testdata/c2pa-rubrics when that folder exists and the environment has none.
func RubricCheck(t testing.TB, file string, args ...string) (exit int, output string) {
	t.Helper()
	Node(t)
	shared := SharedDir(t)
	tool := filepath.Join(shared, "tools", "rubric-check", "rubric-check")
	if _, err := os.Stat(tool); err != nil {
		SkipOrFail(t, "rubric-check not found in the shared folder: %v", err)
	}
	env := os.Environ()
	if os.Getenv("RUBRIC_DIR") == "" {
		if dir := filepath.Join(shared, "testdata", "c2pa-rubrics"); isDir(dir) {
			env = append(env, "RUBRIC_DIR="+dir)
		}
	}
	stdout, stderr, code, err := run(t, env, tool, append(append([]string{}, args...), file)...)
	if err != nil {
		t.Fatalf("rubric-check %s: %v", file, err)
	}
	if code == 2 {
		t.Logf("rubric-check %s: exit 2: %s", file, strings.TrimSpace(stderr))
	}
	return code, stdout
}

// run runs a command with a time limit and returns its output and exit code; err is set only when
// the command could not run or did not exit normally.
func run(t testing.TB, env []string, name string, args ...string) (stdout, stderr string, code int, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0, nil
	case ctx.Err() != nil:
		return out.String(), errb.String(), -1, fmt.Errorf("timed out after %v: %w", toolTimeout, ctx.Err())
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		return out.String(), errb.String(), exitErr.ExitCode(), nil
	default:
		return out.String(), errb.String(), -1, fmt.Errorf("%w (stderr: %s)", err, strings.TrimSpace(errb.String()))
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

var srtCue = regexp.MustCompile(`(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\r?\n(.+)`)

// FirstCue returns the first subtitle cue of stream (an ffmpeg -map spec such as "0:s:0") of
// the file at path, as ffmpeg converts it to SRT.
func FirstCue(t testing.TB, path, stream string) (start, end time.Duration, text string) {
	t.Helper()
	ff := Require(t, "ffmpeg")
	out, err := exec.Command(ff, "-nostdin", "-v", "error", "-i", path, "-map", stream, "-f", "srt", "-").CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %s: %v\n%s", path, err, out)
	}
	m := srtCue.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("no SRT cue in %s %s:\n%s", path, stream, out)
	}
	at := func(h, mi, s, ms string) time.Duration {
		d, _ := time.ParseDuration(h + "h" + mi + "m" + s + "s" + ms + "ms")
		return d
	}
	return at(m[1], m[2], m[3], m[4]), at(m[5], m[6], m[7], m[8]), strings.TrimSpace(m[9])
}
