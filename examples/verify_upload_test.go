package examples_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
)

// uploadAnswer is the JSON answer of verify-upload.
type uploadAnswer struct {
	Verdict     string   `json:"verdict"`
	Labeled     bool     `json:"labeled"`
	Tampered    bool     `json:"tampered"`
	AIGenerated bool     `json:"ai_generated"`
	Model       string   `json:"model"`
	SignedBy    string   `json:"signed_by"`
	Trusted     bool     `json:"trusted"`
	Development bool     `json:"development"`
	Reasons     []string `json:"reasons"`
	File        string   `json:"file"`
	Format      string   `json:"format"`
	Error       string   `json:"error"`
}

// verify-upload: a labeled, a tampered and an unlabeled upload get the right verdicts, as JSON
// and as a page; an upload over the limit, one in no known format and a form without the file
// get clear errors; with -trust the same signer is trusted.
func TestVerifyUpload(t *testing.T) {
	const model = "upload-test-model"
	devDir, err := sign.DevDir()
	if err != nil {
		t.Fatal(err)
	}
	l, err := label.New(devSigner(t), label.Options{Model: model})
	if err != nil {
		t.Fatal(err)
	}
	root := testtool.ModuleRoot(t)
	labeled := filepath.Join(t.TempDir(), "labeled.jpg")
	if _, err := l.LabelFile(t.Context(), filepath.Join(root, "testdata", "sample.jpg"), labeled, label.Options{}); err != nil {
		t.Fatal(err)
	}
	good := mustRead(t, labeled)
	bad := bytes.Clone(good)
	bad[len(bad)-200] ^= 0x10 // in the JPEG's entropy-coded data
	plain := mustRead(t, filepath.Join(root, "testdata", "sample.png"))

	base := startServer(t, "verify-upload", "-listen", "127.0.0.1:0", "-max-mb", "1")
	post := func(body []byte, form, asJSON bool) (int, string, []byte) {
		t.Helper()
		ct := "application/octet-stream"
		if form {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			mw.WriteField("comment", "a field before the file")
			fw, _ := mw.CreateFormFile("file", "upload.jpg")
			fw.Write(body)
			mw.Close()
			body, ct = b.Bytes(), mw.FormDataContentType()
		}
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/upload", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		if asJSON {
			req.Header.Set("Accept", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), msg
	}
	answer := func(body []byte, form bool) uploadAnswer {
		t.Helper()
		status, _, msg := post(body, form, true)
		var a uploadAnswer
		if err := json.Unmarshal(msg, &a); err != nil || status != http.StatusOK {
			t.Fatalf("upload: %d %v: %s", status, err, msg)
		}
		return a
	}

	if a := answer(good, true); a.Verdict != "valid" || !a.Labeled || a.Tampered || !a.AIGenerated || a.Model != model ||
		a.SignedBy != sign.DevOrganization || !a.Development || a.Trusted || a.File != "upload.jpg" || a.Format != "jpeg" {
		t.Errorf("labeled upload: %+v", a)
	}
	if a := answer(bad, false); a.Verdict != "invalid" || !a.Labeled || !a.Tampered || len(a.Reasons) == 0 || !strings.Contains(a.Reasons[0], "changed after signing") {
		t.Errorf("tampered upload: %+v", a)
	}
	if a := answer(plain, false); a.Verdict != "not_labeled" || a.Labeled || a.Tampered || a.AIGenerated || a.SignedBy != "" {
		t.Errorf("unlabeled upload: %+v", a)
	}

	// The page a browser gets.
	for _, c := range []struct {
		body  []byte
		title string
	}{{good, `<h1 class="valid">Labeled</h1>`}, {bad, `<h1 class="invalid">Tampered</h1>`}, {plain, `<h1 class="not_labeled">Not labeled</h1>`}} {
		status, ct, page := post(c.body, true, false)
		if status != http.StatusOK || !strings.HasPrefix(ct, "text/html") || !bytes.Contains(page, []byte(c.title)) {
			t.Errorf("page: %d %s, want %s in:\n%s", status, ct, c.title, page)
		}
	}

	// Errors.
	for _, c := range []struct {
		name   string
		body   []byte
		form   bool
		status int
		says   string
	}{
		{"over the limit", bytes.Repeat([]byte{0xff}, 1<<20+1), false, http.StatusRequestEntityTooLarge, "over 1 MB"},
		{"over the limit, in a form", bytes.Repeat([]byte{0xff}, 2<<20), true, http.StatusRequestEntityTooLarge, "over 1 MB"},
		{"no known format", []byte("\x00\x01\x02\x03 just some bytes"), false, http.StatusUnsupportedMediaType, "unsupported"},
		{"empty", nil, false, http.StatusBadRequest, "empty"},
		{"truncated JPEG", good[:len(good)/2], false, http.StatusOK, `"verdict": "invalid"`},
	} {
		status, _, msg := post(c.body, c.form, true)
		if status != c.status || !bytes.Contains(msg, []byte(c.says)) {
			t.Errorf("%s: %d %s, want %d saying %q", c.name, status, msg, c.status, c.says)
		}
	}

	// With the development CA on the trust list, its signer is trusted.
	trusted := startServer(t, "verify-upload", "-listen", "127.0.0.1:0", "-trust", filepath.Join(devDir, "ca.pem"))
	base = trusted
	if a := answer(good, false); a.Verdict != "valid" || !a.Trusted {
		t.Errorf("labeled upload with -trust: %+v", a)
	}
}

// The one-run mode checks a labeled, a tampered and an unlabeled upload by itself.
func TestVerifyUploadSelfTest(t *testing.T) {
	code, stdout, stderr := runProgram(t, "verify-upload", "-selftest")
	if code != 0 || linesStarting(stdout, "ok ") != 3 || linesStarting(stdout, "FAIL") != 0 {
		t.Fatalf("verify-upload -selftest: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
