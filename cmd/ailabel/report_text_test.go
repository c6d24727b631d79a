package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
)

func TestFamily(t *testing.T) {
	for _, c := range []struct {
		codes []string
		want  string
	}{
		{[]string{"assertion.dataHash.mismatch", "signingCredential.untrusted"}, famContent},
		{[]string{"assertion.bmffHash.mismatch"}, famContent},
		{[]string{"signingCredential.invalid", "claimSignature.mismatch"}, famSignature},
		{[]string{"signingCredential.untrusted", "assertion.hashedURI.mismatch"}, famManifest},
		{[]string{"signingCredential.expired"}, famCertificate},
		{[]string{"signingCredential.untrusted"}, famCertificate},
		{[]string{"general.error"}, famOther},
	} {
		if got := family(c.codes); got != c.want {
			t.Errorf("family(%v) = %q, want %q", c.codes, got, c.want)
		}
	}
}

func TestReasonWording(t *testing.T) {
	r := &label.Report{Format: "mp4", Verdict: label.Invalid, Signer: &label.SignerInfo{Subject: "CN=Someone,O=Acme"}}
	r.Status.Failure = []manifest.StatusEntry{{Code: manifest.CodeBMFFHashMismatch}, {Code: "signingCredential.untrusted"}}
	if got := lineText(&verifyResult{report: r}); got != "video changed after signing (assertion.bmffHash.mismatch)" {
		t.Errorf("tampered video: %q", got)
	}
	r.Status.Failure = []manifest.StatusEntry{{Code: "signingCredential.untrusted"}}
	if got := lineText(&verifyResult{report: r}); got != "signed by an untrusted certificate: CN=Someone,O=Acme (signingCredential.untrusted)" {
		t.Errorf("untrusted only: %q", got)
	}
	// An expired certificate with a time-stamp whose authority is not trusted: the line says why
	// the time-stamp did not help.
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r.TimeStamp = &label.TimeStampInfo{Time: at, TSACommonName: "Some TSA"}
	r.Status.Failure = []manifest.StatusEntry{{Code: "signingCredential.expired"}}
	want := "the signing certificate had expired or was not yet valid at signing time: CN=Someone,O=Acme; it was time-stamped at 2026-03-01T12:00:00Z by Some TSA (time-stamp authority not on your trust list), so the certificate was judged now (signingCredential.expired)"
	if got := lineText(&verifyResult{report: r}); got != want {
		t.Errorf("expired, untrusted time-stamp:\n got %q\nwant %q", got, want)
	}
	r.TimeStamp = nil
	var w bytes.Buffer
	tw := &textWriter{w: &w, color: true}
	tw.write(&verifyResult{verifyItem: verifyItem{path: "evil\x1b[2J.jpg"}, err: errors.New("x: " + formats.ErrMalformed.Error())})
	tw.write(&verifyResult{verifyItem: verifyItem{path: "ok.jpg"}, err: formats.ErrMalformed})
	out := w.String()
	if strings.Contains(out, "\x1b[2J") || !strings.Contains(out, "evil?[2J.jpg") || !strings.Contains(out, ansiPurple+"UNREADABLE"+ansiReset+" damaged file") {
		t.Errorf("text output: %q", out)
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"=cmd()": "'=cmd()", "+1": "'+1", "@x": "'@x", "a=b": "a=b", "": ""} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
	// No file at all: still a header.
	var b bytes.Buffer
	c := newCSVWriter(&b)
	if err := c.flush(); err != nil || b.String() != strings.Join(csvHeader, ",")+"\n" {
		t.Errorf("empty csv: %q %v", b.String(), err)
	}
}

func TestColorAndTerminal(t *testing.T) {
	e := &env{getenv: func(string) string { return "" }}
	if colorOK(e, &bytes.Buffer{}) || isTerminal(&bytes.Buffer{}) {
		t.Error("a buffer is not a terminal")
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !isTerminal(tty) {
			t.Error("/dev/tty is a terminal")
		}
		noColor := &env{getenv: func(k string) string {
			if k == "NO_COLOR" {
				return "1"
			}
			return ""
		}}
		if colorOK(noColor, tty) || !colorOK(e, tty) {
			t.Error("NO_COLOR not honoured")
		}
	}
}

func TestProgress(t *testing.T) {
	var w bytes.Buffer
	now := time.Unix(1000, 0)
	p := newProgress(&w, func() time.Time { return now })
	var found atomic.Int64
	found.Store(40)
	p.found = &found
	p.begin = now
	now = now.Add(2 * time.Second)
	p.add(10)
	if got := p.line(); got != "[#######-----------------------] 10/40 files, 5 files/s" {
		t.Errorf("line: %q", got)
	}
	p.draw()
	p.above(func() { w.WriteString("a line\n") })
	if got := w.String(); got != "\r\x1b[K"+p.line()+"\r\x1b[Ka line\n"+p.line() {
		t.Errorf("above: %q", got)
	}
	w.Reset()
	p.clear()
	p.clear()
	if w.String() != "\r\x1b[K" {
		t.Errorf("clear: %q", w.String())
	}
	var nilp *progress
	nilp.add(1)
	nilp.clear()
	nilp.stop()
	ran := false
	nilp.above(func() { ran = true })
	if !ran {
		t.Error("a nil progress must still print")
	}
	// The ticker draws at most every 100 ms and stop erases the bar.
	w.Reset()
	p2 := newProgress(&w, time.Now)
	p2.start(&found)
	time.Sleep(250 * time.Millisecond)
	p2.stop()
	p2.stop()
	if n := strings.Count(w.String(), "files/s"); n < 1 || n > 3 || !strings.HasSuffix(w.String(), "\r\x1b[K") {
		t.Errorf("%d draws in 250 ms: %q", n, w.String())
	}
}

// A folder named through a symbolic link is walked; links inside it are not.
func TestVerifySymlinkedRoot(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	os.MkdirAll(real, 0o755)
	os.WriteFile(filepath.Join(real, "a.jpg"), mustRead(t, sample(t, "sample.jpg")), 0o644)
	os.Symlink(real, filepath.Join(real, "self"))
	link := filepath.Join(root, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, nil, "verify", link)
	if code != exitNotLabeled || !strings.Contains(out, filepath.Join(link, "a.jpg")+": NOT LABELED") ||
		!strings.Contains(out, "1 symbolic link (not followed)") {
		t.Errorf("%d %q %q", code, out, errs)
	}
	if code, _, errs := cli(t, nil, "verify", "--json", "--csv", link); code != exitUsage || !strings.Contains(errs, "cannot be combined") {
		t.Errorf("--json --csv: %d %s", code, errs)
	}
	// An empty folder: nothing checked, exit 2.
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	if code, out, _ := cli(t, nil, "verify", empty); code != exitUsage || !strings.Contains(out, "0 files") {
		t.Errorf("empty folder: %d %q", code, out)
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n--; f.n < 0 {
		return 0, errors.New("broken pipe")
	}
	return len(p), nil
}

// When stdout goes away mid-run, verify stops (no hang, no leak) and exits 2.
func TestVerifyStdoutGone(t *testing.T) {
	dir := t.TempDir()
	b := mustRead(t, sample(t, "sample.jpg"))
	for i := 0; i < 50; i++ {
		os.WriteFile(filepath.Join(dir, strings.Repeat("x", i%7+1)+string(rune('a'+i%26))+time.Duration(i).String()+".jpg"), b, 0o644)
	}
	var errb bytes.Buffer
	e := &env{stdout: &failingWriter{n: 3}, stderr: &errb, getenv: func(string) string { return "" }}
	done := make(chan int)
	go func() { done <- run(t.Context(), e, []string{"verify", "-j", "2", dir}) }()
	select {
	case code := <-done:
		if code != exitUsage || !strings.Contains(errb.String(), "broken pipe") {
			t.Errorf("exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("verify hung after its stdout failed")
	}
}
