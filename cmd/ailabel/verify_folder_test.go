package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats/xmp"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
)

// want is a file's expected verdict ("valid", "invalid", "not_labeled", "error") and, for some,
// a failure code or a word its plain line must carry.
type want struct {
	verdict string
	code    string // a failure code that must be reported ("" for none)
	words   string // must appear in the plain-words line
}

// testLabeler makes a throwaway CA and signer.
func testLabeler(t testing.TB) (*label.Labeler, string) {
	t.Helper()
	cr, err := sign.Generate("Folder Test Org", sign.KeyP256, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := sign.LoadFiles(filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	l, err := label.New(s, label.Options{Model: "folder-model"})
	if err != nil {
		t.Fatal(err)
	}
	return l, filepath.Join(dir, "ca.pem")
}

func labelOf(t testing.TB, l *label.Labeler, in []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	if _, err := l.Label(context.Background(), bytes.NewReader(in), int64(len(in)), &out, label.Options{}); err != nil {
		t.Fatalf("label: %v", err)
	}
	return out.Bytes()
}

// genImage draws a small image that differs with i.
func genImage(i, w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x*7 + i), uint8(y*5 + i*3), uint8((x ^ y) + i), 255})
		}
	}
	return img
}

func encJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encPNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withXMP inserts an XMP APP1 segment after a JPEG's SOI marker.
func withXMP(t testing.TB, jpg, packet []byte) []byte {
	const ns = "http://ns.adobe.com/xap/1.0/\x00"
	seg := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(2+len(ns)+len(packet)))
	seg = append(append(seg, ns...), packet...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// Issue 7, done-when 1: a generated folder of a few hundred mixed files gives the right verdict
// for every file, the right summary and the right exit code.
func TestVerifyMixedFolder(t *testing.T) {
	l, _ := testLabeler(t)
	root := t.TempDir()
	dir := filepath.Join(root, "uploads")
	expect := map[string]want{}
	put := func(rel string, b []byte, w *want) {
		t.Helper()
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if w != nil {
			expect[p] = *w
		}
	}
	samples := map[string][]byte{}
	for _, n := range []string{"sample.jpg", "sample.png", "sample.webp"} {
		samples[n] = mustRead(t, sample(t, n))
	}

	// Ours, valid: samples and generated images, in nested folders.
	var labeledJPEG [][]byte
	for i := 0; i < 90; i++ {
		var in []byte
		var ext string
		switch i % 5 {
		case 0:
			in, ext = samples["sample.jpg"], ".jpg"
		case 1:
			in, ext = samples["sample.png"], ".png"
		case 2:
			in, ext = samples["sample.webp"], ".webp"
		case 3:
			in, ext = encJPEG(t, genImage(i, 64+i, 48)), ".jpg"
		default:
			in, ext = encPNG(t, genImage(i, 40, 30+i)), ".png"
		}
		out := labelOf(t, l, in)
		if ext == ".jpg" {
			labeledJPEG = append(labeledJPEG, out)
		}
		put(fmt.Sprintf("ours/valid/d%d/v%03d%s", i%4, i, ext), out, &want{verdict: "valid", words: "folder-model"})
	}
	// Ours, tampered: a byte of the image data flipped.
	for i := 0; i < 40; i++ {
		b := append([]byte{}, labeledJPEG[i%len(labeledJPEG)]...)
		b[len(b)-100] ^= 0x5a
		put(fmt.Sprintf("ours/tampered/t%03d.jpg", i), b, &want{verdict: "invalid", code: manifest.CodeDataHashMismatch, words: "pixels changed after signing"})
	}
	// Signed by c2pa-rs: every reference file, with c2pa-rs's verdict.
	ref := filepath.Join(testtool.SharedDir(t), "testdata", "c2pa-reference")
	tsv, err := os.Open(filepath.Join(ref, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer tsv.Close()
	sc := bufio.NewScanner(tsv)
	sc.Scan()
	nRef := 0
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 || cols[1] == "application/c2pa" { // a bare manifest store: not media
			continue
		}
		w := want{verdict: map[string]string{"0": "valid", "1": "invalid", "3": "not_labeled"}[cols[2]]}
		if w.verdict == "invalid" && len(cols) > 3 {
			w.code = strings.Split(cols[3], ",")[0]
		}
		put(filepath.Join("c2pa-rs", cols[0]), mustRead(t, filepath.Join(ref, cols[0])), &w)
		nRef++
	}
	if nRef < 60 {
		t.Fatalf("only %d reference files", nRef)
	}
	// IPTC only: an XMP DigitalSourceType and no manifest.
	packet, err := xmp.Build(nil, xmp.Fields{DigitalSourceType: manifest.SourceTrainedAlgorithmicMedia})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		put(fmt.Sprintf("iptc/i%03d.jpg", i), withXMP(t, encJPEG(t, genImage(i, 32, 32)), packet), &want{verdict: "not_labeled", words: "only an IPTC tag"})
	}
	// Unlabeled images and text.
	for i := 0; i < 40; i++ {
		if i%4 == 3 {
			put(fmt.Sprintf("plain/u%03d.txt", i), []byte(fmt.Sprintf("A note number %d, written by a person.\n", i)), &want{verdict: "not_labeled"})
			continue
		}
		put(fmt.Sprintf("plain/u%03d.jpg", i), encJPEG(t, genImage(100+i, 24, 24)), &want{verdict: "not_labeled", words: "no C2PA manifest"})
	}
	// Corrupt: truncated JPEGs and PNGs (ours, so they carried a label).
	for i := 0; i < 20; i++ {
		src, ext := labeledJPEG[i%len(labeledJPEG)], ".jpg"
		if i%2 == 1 {
			src, ext = encPNG(t, genImage(i, 30, 30)), ".png"
		}
		w := want{verdict: "error", words: "damaged"}
		if ext == ".jpg" {
			// a labeled JPEG cut inside its image data: the manifest is intact, the content is not
			w = want{verdict: "invalid", code: manifest.CodeDataHashMismatch}
		}
		cut := len(src) * 2 / 3
		if ext == ".jpg" {
			cut = len(src) - 50
		}
		put(fmt.Sprintf("corrupt/c%03d%s", i, ext), src[:cut], &w)
	}
	// Not media or text: skipped silently.
	for i := 0; i < 15; i++ {
		put(fmt.Sprintf("other/blob%02d.bin", i), []byte{0, 1, 2, 3, byte(i), 0xff, 0xfe, 0}, nil)
		put(fmt.Sprintf("other/data%02d.json", i), []byte(`{"not":"content"}`), nil)
	}
	put("other/empty.dat", nil, nil)
	// A symbolic link loop and a link to a file outside the tree: never followed.
	outside := filepath.Join(root, "outside.jpg")
	if err := os.WriteFile(outside, samples["sample.jpg"], 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(dir, "ours", "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "plain", "outside.jpg")); err != nil {
		t.Fatal(err)
	}
	if len(expect) < 250 {
		t.Fatalf("only %d files", len(expect))
	}

	code, stdout, stderr := cli(t, nil, "verify", "--json", "-j", "3", dir)
	if code != exitInvalid {
		t.Errorf("exit %d, want %d (some files are invalid); stderr %s", code, exitInvalid, stderr)
	}
	got := map[string]bool{}
	counts := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var rec struct {
			File    string `json:"file"`
			Verdict string `json:"verdict"`
			Error   string `json:"error"`
			Results struct {
				Failure []struct{ Code string } `json:"failure"`
			} `json:"validation_results"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not JSON: %q: %v", line, err)
		}
		if got[rec.File] {
			t.Errorf("%s reported twice", rec.File)
		}
		got[rec.File] = true
		w, ok := expect[rec.File]
		if !ok {
			t.Errorf("%s reported (%s) but should have been skipped", rec.File, rec.Verdict)
			continue
		}
		counts[rec.Verdict]++
		if rec.Verdict != w.verdict {
			t.Errorf("%s: verdict %s (%s %v), want %s", rec.File, rec.Verdict, rec.Error, rec.Results.Failure, w.verdict)
		}
		if w.code != "" {
			found := false
			for _, f := range rec.Results.Failure {
				found = found || f.Code == w.code
			}
			if !found {
				t.Errorf("%s: failures %v, want %s", rec.File, rec.Results.Failure, w.code)
			}
		}
	}
	wantCounts := map[string]int{}
	for p, w := range expect {
		wantCounts[w.verdict]++
		if !got[p] {
			t.Errorf("%s: no verdict", p)
		}
	}
	if fmt.Sprint(counts) != fmt.Sprint(wantCounts) {
		t.Errorf("verdict counts %v, want %v", counts, wantCounts)
	}
	// The summary goes to stderr with --json, and names the skipped links.
	sumLine := fmt.Sprintf("%d files: %d labeled and valid", len(expect), wantCounts["valid"])
	if !strings.Contains(stderr, sumLine) || !strings.Contains(stderr, "2 symbolic links (not followed)") ||
		!strings.Contains(stderr, "31 files not media or text") {
		t.Errorf("--json summary on stderr: %s", stderr)
	}

	// Plain words: one line per file with its reason, then the summary on stdout.
	code, stdout, _ = cli(t, nil, "verify", dir)
	if code != exitInvalid {
		t.Errorf("plain: exit %d", code)
	}
	lines := strings.Split(stdout, "\n")
	perFile := 0
	for _, ln := range lines {
		i := strings.Index(ln, ": ")
		if i < 0 {
			continue
		}
		w, ok := expect[ln[:i]]
		if !ok {
			continue
		}
		perFile++
		word := map[string]string{"valid": "VALID ", "invalid": "INVALID ", "not_labeled": "NOT LABELED ", "error": "UNREADABLE "}[w.verdict]
		if !strings.HasPrefix(ln[i+2:], word) || !strings.Contains(ln, w.words) {
			t.Errorf("line %q: want %q and %q", ln, word, w.words)
		}
		if strings.Contains(ln, "\x1b[") {
			t.Errorf("colour when stdout is not a terminal: %q", ln)
		}
	}
	if perFile != len(expect) {
		t.Errorf("%d per-file lines, want %d", perFile, len(expect))
	}
	nInvalid := wantCounts["invalid"]
	// c2pa-rs's reference files: 4 with a bad signature and 1 with a DER signature (bad signature),
	// 4 with an altered assertion; the rest changed content.
	want := fmt.Sprintf("%d files: %d labeled and valid (%d by a signer not on your trust list), %d labeled but invalid (%d content changed after signing, 5 bad signature, 4 manifest altered or damaged), ",
		len(expect), wantCounts["valid"], wantCounts["valid"], nInvalid, nInvalid-9)
	if !strings.Contains(stdout, want) {
		t.Errorf("summary: want %q in\n%s", want, stdout[max(0, len(stdout)-600):])
	}
	tail := fmt.Sprintf("%d not labeled (25 with only an IPTC tag), %d unreadable (%d damaged)\n",
		wantCounts["not_labeled"], wantCounts["error"], wantCounts["error"])
	if !strings.Contains(stdout, tail) || !strings.Contains(stdout, "pixels changed after signing") {
		t.Errorf("summary: want %q in\n%s", tail, stdout[max(0, len(stdout)-600):])
	}

	// Only the valid and unlabeled folders: exit 3; only the valid ones: exit 0.
	if code, _, errs := cli(t, nil, "verify", filepath.Join(dir, "ours", "valid"), filepath.Join(dir, "plain")); code != exitNotLabeled {
		t.Errorf("valid+plain: exit %d, want 3 (%s)", code, errs)
	}
	if code, out, _ := cli(t, nil, "verify", filepath.Join(dir, "ours", "valid")); code != exitOK || !strings.Contains(out, "90 files: 90 labeled and valid") {
		t.Errorf("valid only: exit %d\n%s", code, out)
	}

	// The HTML report: every file once, with the right badge; thumbnails for the images Go decodes.
	t.Run("report", func(t *testing.T) { checkHTMLReport(t, dir, expect, wantCounts) })

	// CSV: a header, one row per file.
	code, stdout, _ = cli(t, nil, "verify", "--csv", filepath.Join(dir, "ours"))
	rows, err := csv.NewReader(strings.NewReader(stdout)).ReadAll()
	if err != nil || code != exitInvalid {
		t.Fatalf("csv: %d %v", code, err)
	}
	if strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") || len(rows) != 1+90+40 {
		t.Fatalf("csv: header %v, %d rows", rows[0], len(rows))
	}
	for _, r := range rows[1:] {
		w := expect[r[0]]
		if r[1] != w.verdict || (w.verdict == "valid" && (r[2] != "true" || r[4] != "folder-model" || r[6] != "false" || !strings.Contains(r[5], "Folder Test Org"))) ||
			(w.code != "" && !strings.Contains(r[7], w.code)) {
			t.Errorf("csv row %v, want %+v", r, w)
		}
	}
}

var reportRow = regexp.MustCompile(`<tr class="([a-z_]+)" data-verdict="[a-z_]+"><td>(<img alt="" src="(data:image/(?:jpeg|svg(?:\+|&#43;)xml);base64,[A-Za-z0-9+/=&#;]+)">)?</td><td class="path">([^<]*)</td><td><span class="badge">([A-Z ]+)</span>`)

func checkHTMLReport(t *testing.T, dir string, expect map[string]want, wantCounts map[string]int) {
	report := filepath.Join(t.TempDir(), "report.html")
	code, _, errs := cli(t, nil, "verify", "--json", "--report", report, dir)
	if code != exitInvalid {
		t.Fatalf("--report: exit %d %s", code, errs)
	}
	page := string(mustRead(t, report))
	if strings.Contains(page, "http://") && !strings.Contains(page, "cv.iptc.org") || strings.Contains(page, "src=\"http") || strings.Contains(page, "href=") {
		t.Error("the report refers to something outside itself")
	}
	rows := reportRow.FindAllStringSubmatch(page, -1)
	if len(rows) != len(expect) {
		t.Fatalf("%d rows in the report, want %d", len(rows), len(expect))
	}
	class := map[string]string{"valid": "valid", "invalid": "invalid", "not_labeled": "not_labeled", "error": "unreadable"}
	badge := map[string]string{"valid": "VALID", "invalid": "INVALID", "not_labeled": "NOT LABELED", "error": "UNREADABLE"}
	seen := map[string]bool{}
	thumbs := 0
	_, ffmpegErr := exec.LookPath("ffmpeg")
	for _, r := range rows {
		uri := html.UnescapeString(r[3])
		r = append(r[:3:3], r[4:]...) // now as before: class, img, path, badge
		p := html.UnescapeString(r[3])
		w, ok := expect[p]
		if !ok || seen[p] {
			t.Errorf("row for %q: expected %v, seen before %v", p, ok, seen[p])
			continue
		}
		seen[p] = true
		if r[1] != class[w.verdict] || r[4] != badge[w.verdict] {
			t.Errorf("%s: row %s/%s, want %s", p, r[1], r[4], w.verdict)
		}
		if r[2] != "" {
			thumbs++
		} else if w.verdict == "valid" && !strings.Contains(p, "c2pa-rs") {
			t.Errorf("%s: no thumbnail", p)
		}
		// Videos (c2pa-rs's MP4, MOV and AVI): a frame when ffmpeg is on PATH, else the placeholder.
		if ext := filepath.Ext(p); ext == ".mp4" || ext == ".mov" || ext == ".avi" {
			switch {
			case ffmpegErr == nil && !strings.HasPrefix(uri, "data:image/jpeg;"):
				t.Errorf("%s: no video frame thumbnail (%.40s)", p, uri)
			case ffmpegErr == nil:
				if img := dataImage(t, uri); !notBlank(img) {
					t.Errorf("%s: the video frame thumbnail is blank", p)
				}
			case uri != videoPlaceholder():
				t.Errorf("%s: no video placeholder without ffmpeg (%.40s)", p, uri)
			}
		}
	}
	if thumbs < wantCounts["valid"] {
		t.Errorf("%d thumbnails", thumbs)
	}
	if !strings.Contains(page, fmt.Sprintf(`"valid":%d`, wantCounts["valid"])) {
		t.Error("filter counts missing")
	}

	// Rendered by headless Chromium: the filter buttons (made by the page's script) are there,
	// every row is, and a screenshot is taken.
	chromium := testtool.Require(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	shot := filepath.Join(t.TempDir(), "report.png")
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir()}
	dom, err := exec.CommandContext(ctx, chromium, append(base, "--dump-dom", "file://"+report)...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom: %v", err)
	}
	if n := strings.Count(string(dom), `<span class="badge">`); n != len(expect) {
		t.Errorf("rendered page has %d badges, want %d", n, len(expect))
	}
	for _, b := range []string{fmt.Sprintf("Valid (%d)", wantCounts["valid"]), fmt.Sprintf("Invalid (%d)", wantCounts["invalid"]), fmt.Sprintf("Not labeled (%d)", wantCounts["not_labeled"])} {
		if !strings.Contains(string(dom), b) {
			t.Errorf("rendered page lacks the filter button %q", b)
		}
	}
	if out, err := exec.CommandContext(ctx, chromium, append(base, "--screenshot="+shot, "--window-size=1280,2000", "file://"+report)...).CombinedOutput(); err != nil {
		t.Fatalf("chromium --screenshot: %v %s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 10000 {
		t.Fatalf("screenshot: %v", err)
	}
	if d := os.Getenv("AILABEL_REPORT_SCREENSHOT"); d != "" {
		os.WriteFile(d, mustRead(t, shot), 0o644)
	}
}
