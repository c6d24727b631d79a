// Package examples_test builds every program in examples/ and runs it end to end: it starts the
// services on free ports, talks to them as a client would, and checks what they produce with
// label.Verify, with the ailabel command (`ailabel verify --json`) and, for images and video,
// with the reference C2PA reader c2pa-check (c2pa-rs reads no plain text).
package examples_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
)

// The programs built for the tests, by the name of their folder (ailabel is cmd/ailabel).
var programs = []string{"ailabel", "image-service", "chat-stream", "batch-video", "verify-upload"}

// workDir holds the built programs (bin/) and the development key (dev/) of this test run.
var workDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ailabel-examples-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	workDir = dir
	// The programs and this test sign with one throwaway development key.
	os.Setenv("AILABEL_DEV_DIR", filepath.Join(dir, "dev"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var build struct {
	once sync.Once
	out  []byte
	err  error
}

// program returns the path of a built program, building them all with one `go build` the first
// time it is called.
func program(t *testing.T, name string) string {
	t.Helper()
	goTool := testtool.Require(t, "go")
	root := testtool.ModuleRoot(t)
	build.once.Do(func() {
		args := []string{"build", "-ldflags=-s -w", "-o", filepath.Join(workDir, "bin") + string(filepath.Separator)}
		for _, p := range programs {
			if p == "ailabel" {
				args = append(args, "./cmd/ailabel")
			} else {
				args = append(args, "./examples/"+p)
			}
		}
		cmd := exec.Command(goTool, args...)
		cmd.Dir = root
		build.out, build.err = cmd.CombinedOutput()
	})
	if build.err != nil {
		t.Fatalf("go build: %v\n%s", build.err, build.out)
	}
	return filepath.Join(workDir, "bin", name)
}

// runProgram runs a program to its end (at most a minute) and returns its exit code and output.
func runProgram(t *testing.T, name string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, program(t, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: did not finish in a minute", name, strings.Join(args, " "))
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errb.String()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return 0, out.String(), errb.String()
}

// startServer starts a service program that prints "listening on http://ADDR" first, and
// returns the base URL. At the end of the test the program is interrupted and must exit
// cleanly.
func startServer(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(program(t, name), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &syncWriter{w: &stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan error, 1)
	first := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		first <- line
		io.Copy(io.Discard, br)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s did not say where it listens within 30 s; stderr:\n%s", name, stderr.String())
	}
	go func() { exited <- cmd.Wait() }()
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		cmd.Process.Kill()
		t.Fatalf("%s: first line %q, want \"listening on http://127.0.0.1:PORT\"; stderr:\n%s", name, line, stderr.String())
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s exited with %v after an interrupt; stderr:\n%s", name, err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("%s did not stop within 15 s of an interrupt", name)
		}
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	return base
}

// syncWriter lets the test read a child's stderr while the child writes it.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// cliReport is the part of `ailabel verify --json` the tests read.
type cliReport struct {
	Verdict     string `json:"verdict"`
	AIGenerated bool   `json:"ai_generated"`
	Model       string `json:"model"`
}

// checkLabeled checks that the file at path is labeled as made by model, with label.Verify and
// with `ailabel verify --json`, and returns label.Verify's report.
func checkLabeled(t *testing.T, path, model string) *label.Report {
	t.Helper()
	rep, err := label.VerifyFile(t.Context(), path, label.VerifyOptions{})
	if err != nil {
		t.Fatalf("verify %s: %v", path, err)
	}
	if rep.Verdict != label.Valid || !rep.AIGenerated || rep.Model != model || rep.Signer == nil || !rep.Signer.Development {
		t.Errorf("verify %s: %s, AI-generated %v, model %q, want valid, AI-generated, %q, development key: %s", filepath.Base(path), rep.Verdict, rep.AIGenerated, rep.Model, model, rep.Summary)
	}
	code, out, errs := runProgram(t, "ailabel", "verify", "--json", path)
	var cr cliReport
	if err := json.Unmarshal([]byte(out), &cr); err != nil || code != 0 || cr.Verdict != "valid" || !cr.AIGenerated || cr.Model != model {
		t.Errorf("ailabel verify --json %s: exit %d (%v): %.300s %s", filepath.Base(path), code, err, out, errs)
	}
	return rep
}

// c2paCheck checks that the reference C2PA reader (c2pa-rs through c2pa-check) finds each file
// valid and made by AI. Without node or the shared folder the test skips here (fails when
// CI=true), so call it last.
func c2paCheck(t *testing.T, paths ...string) {
	t.Helper()
	for _, path := range paths {
		v := testtool.C2PACheck(t, path)
		if v.Exit != 0 || !strings.HasSuffix(v.DigitalSourceType, "/trainedAlgorithmicMedia") {
			t.Errorf("c2pa-check %s: exit %d, state %s, source type %q, failures %v, error %q", filepath.Base(path), v.Exit, v.State, v.DigitalSourceType, v.Failures, v.Error)
		}
	}
}

// devSigner returns the development signer the programs use.
func devSigner(t *testing.T) *sign.Signer {
	t.Helper()
	s, err := sign.Dev()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkDisclosure checks an AI-Disclosure header value: ai-originated, by model, dated.
func checkDisclosure(t *testing.T, v, model string) {
	t.Helper()
	d, err := label.ParseDisclosure(v)
	if err != nil || d.Mode != label.ModeAIOriginated || d.Model != model || d.Date.IsZero() {
		t.Errorf("AI-Disclosure %q (%v): want mode=%s, model %q and a date", v, err, label.ModeAIOriginated, model)
	}
}

// linesStarting counts the lines of s that start with prefix.
func linesStarting(s, prefix string) int {
	n := 0
	for _, line := range strings.Split(s, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}
