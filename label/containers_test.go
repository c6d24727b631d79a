package label_test

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
)

// Issue 7, done-when 0: the read-only containers (GIF, TIFF, JPEG XL, SVG, PDF, AVI, WAV, MP3,
// FLAC) find the store c2pa-rs embedded, and ailabel's verdict is expected.tsv's, without needing
// the c2pa-rs harness (TestVerifyAgreesWithC2PARSOnReferenceFiles compares with c2pa-rs itself).
func TestReadOnlyContainersOnReferenceFiles(t *testing.T) {
	dir := filepath.Join(testtool.SharedDir(t), "testdata", "c2pa-reference")
	want := map[string]struct {
		exit  int
		codes []string
	}{}
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 || len(cols[2]) != 1 {
			continue
		}
		w := want[cols[0]]
		w.exit = int(cols[2][0] - '0')
		if len(cols) > 3 && cols[3] != "" {
			w.codes = strings.Split(cols[3], ",")
		}
		want[cols[0]] = w
	}
	formatOf := map[string]string{"gif": "gif", "tif": "tiff", "jxl": "jxl", "svg": "svg", "pdf": "pdf",
		"avi": "avi", "wav": "wav", "mp3": "mp3", "flac": "flac"}
	for ext, format := range formatOf {
		for _, base := range []string{"unsigned", "c2pa-rs-signed", "c2pa-rs-signed-tampered"} {
			file := base + "." + ext
			t.Run(file, func(t *testing.T) {
				w, ok := want[file]
				if !ok {
					t.Fatalf("%s is not in expected.tsv", file)
				}
				b, err := os.ReadFile(filepath.Join(dir, file))
				if err != nil {
					t.Fatal(err)
				}
				c, err := formats.Open(bytes.NewReader(b), int64(len(b)))
				if err != nil {
					t.Fatalf("formats.Open: %v", err)
				}
				if c.Format().Name != format {
					t.Fatalf("opened as %s, want %s", c.Format().Name, format)
				}
				store, err := c.ManifestStore()
				if base == "unsigned" {
					if !errors.Is(err, formats.ErrNoManifest) {
						t.Fatalf("ManifestStore: %v, want ErrNoManifest", err)
					}
				} else {
					if err != nil {
						t.Fatalf("ManifestStore: %v", err)
					}
					if _, err := manifest.ParseStore(store); err != nil {
						t.Fatalf("ParseStore: %v", err)
					}
				}
				rep, err := label.Verify(t.Context(), bytes.NewReader(b), int64(len(b)), label.VerifyOptions{})
				if got := exitOf(rep, err); got != w.exit {
					t.Fatalf("exit %d (%v), expected.tsv %d", got, err, w.exit)
				}
				if rep.Verdict == label.NotLabeled {
					return
				}
				seen := map[string]bool{}
				for _, s := range append(rep.Status.Success, rep.Status.Failure...) {
					seen[s.Code] = true
				}
				for _, code := range w.codes {
					if !seen[code] {
						t.Errorf("expected.tsv wants %s; ailabel reported %v / %v", code, rep.Status.Success, rep.Status.Failure)
					}
				}
				// The only failures are the ones expected.tsv lists, plus the untrusted test CA
				// (which c2pa-rs also reports on the tampered files).
				for _, s := range rep.Status.Failure {
					if !contains(w.codes, s.Code) && s.Code != "signingCredential.untrusted" {
						t.Errorf("unexpected failure %s: %s", s.Code, s.Explanation)
					}
				}
			})
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
