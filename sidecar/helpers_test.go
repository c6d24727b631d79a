package sidecar_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sidecar"
	"github.com/ailabel/ailabel/sign"
)

const token = "test-token-0123456789abcdef"

// creds is a test CA and signer written to a folder.
type creds struct {
	signer *sign.Signer
	trust  *sign.TrustStore
	caPEM  string
}

var (
	credsOnce sync.Once
	shared    *creds
	credsErr  error
)

// testCreds returns one test CA and signer for the whole test binary (key generation is the
// slow part).
func testCreds(t testing.TB) *creds {
	t.Helper()
	credsOnce.Do(func() {
		cr, err := sign.Generate("Sidecar Test", sign.KeyP256, 48*time.Hour)
		if err != nil {
			credsErr = err
			return
		}
		dir, err := os.MkdirTemp("", "sidecar-creds-*")
		if err != nil {
			credsErr = err
			return
		}
		if err = cr.WriteDir(dir); err != nil {
			credsErr = err
			return
		}
		s, err := sign.LoadFiles(filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem"))
		if err != nil {
			credsErr = err
			return
		}
		ts, err := sign.LoadTrustFile(filepath.Join(dir, "ca.pem"))
		if err != nil {
			credsErr = err
			return
		}
		shared = &creds{signer: s, trust: ts, caPEM: filepath.Join(dir, "ca.pem")}
	})
	if credsErr != nil {
		t.Fatal(credsErr)
	}
	return shared
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a sidecar serving on a real loopback listener.
type testServer struct {
	*sidecar.Server
	url  string
	logs *syncBuffer
	done chan error
}

// start runs a sidecar with the test signer and token; edit changes the configuration first.
func start(t *testing.T, edit func(*sidecar.Config)) *testServer {
	t.Helper()
	c := testCreds(t)
	logs := &syncBuffer{}
	cfg := sidecar.Config{
		Tokens:   []string{"another-token-that-is-long", token},
		Signer:   c.signer,
		Defaults: label.Options{Model: "test-diffusion-2"},
		Trust:    c.trust,
		TempDir:  t.TempDir(),
		Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := sidecar.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: s, url: "http://" + ln.Addr().String(), logs: logs, done: make(chan error, 1)}
	go func() { ts.done <- s.Serve(ln) }()
	t.Cleanup(func() {
		// The client's transport may have dialled a connection it never sent a request on (it
		// used another that came free): the server counts such a new connection as active for
		// 5 s. Closing the client's idle connections ends it.
		http.DefaultClient.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			buf := make([]byte, 1<<20)
			t.Errorf("shutdown: %v\n%s", err, buf[:runtime.Stack(buf, true)])
		}
		if err := <-ts.done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ts
}

// do sends a request with the test token (tok "" sends none).
func (ts *testServer) do(t testing.TB, method, path, tok string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// readAll reads and closes a response body.
func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantError checks a JSON error response.
func wantError(t testing.TB, resp *http.Response, status int, code string) string {
	t.Helper()
	b := readAll(t, resp)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, b)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %q and a message", e.Error, code)
	}
	return e.Error.Message
}

// healthy checks that the server still answers and labels.
func (ts *testServer) healthy(t testing.TB) {
	t.Helper()
	resp := ts.do(t, "GET", "/healthz", "", nil)
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("healthz: %d %s", resp.StatusCode, b)
	}
	in := sample(t, "sample.png")
	resp = ts.do(t, "POST", "/v1/label", token, bytes.NewReader(in))
	if b := readAll(t, resp); resp.StatusCode != 200 {
		t.Fatalf("label after the error: %d %s", resp.StatusCode, b)
	}
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mp4Sample is an unlabeled MP4 from the BMFF container's test data, nil (with the reason
// logged) when that folder is not there.
// mp4Sample is the repository's small MP4 fixture.
func mp4Sample(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "formats", "bmff", "testdata", "unsigned.mp4"))
	if err != nil {
		t.Fatalf("the MP4 fixture: %v", err)
	}
	return b
}

func verifyBytes(t testing.TB, b []byte, trust *sign.TrustStore) *label.Report {
	t.Helper()
	r, err := label.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), label.VerifyOptions{Trust: trust})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

// logLines returns the access log lines (msg "request").
// waitMetrics polls GET /metrics until it has every one of lines (whole lines, e.g.
// "ailabel_worker_queue_requests 1"), for up to 5 s.
func (ts *testServer) waitMetrics(t testing.TB, lines ...string) {
	t.Helper()
	var m string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		m = "\n" + string(readAll(t, ts.do(t, "GET", "/metrics", "", nil)))
		missing := false
		for _, l := range lines {
			missing = missing || !strings.Contains(m, "\n"+l+"\n")
		}
		if !missing {
			return
		}
	}
	t.Fatalf("/metrics never had all of %q; last:\n%s", lines, m)
}

func (ts *testServer) logLines(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(ts.logs.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// waitLogLines waits (up to 5 s) until there are at least n access log lines, and returns them:
// a request is logged just after its response has been sent.
func (ts *testServer) waitLogLines(t testing.TB, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := ts.logLines(t)
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// held is a request whose body is sent in part on a raw connection, so that the server is
// busy with it until finish sends the rest.
type held struct {
	conn net.Conn
	rest []byte
}

// hold sends path's headers and the first n bytes of body, and waits until the server counts
// the request in flight.
func (ts *testServer) hold(t *testing.T, path string, body []byte, n int) *held {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", path, token, len(body))
	conn.Write(body[:n])
	for i := 0; ; i++ {
		m := string(readAll(t, ts.do(t, "GET", "/metrics", "", nil)))
		if strings.Contains(m, "\nailabel_inflight_requests 1\n") {
			break
		}
		if i == 500 {
			t.Fatal("the held request never got in flight")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &held{conn: conn, rest: body[n:]}
}

// finish sends the rest of the body and reads the response.
func (h *held) finish(t *testing.T) *http.Response {
	t.Helper()
	if _, err := h.conn.Write(h.rest); err != nil {
		t.Fatal(err)
	}
	h.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(h.conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// bigJPEG is sample.jpg grown to about size bytes with COM segments.
func bigJPEG(t testing.TB, size int) []byte {
	jpg := sample(t, "sample.jpg")
	out := append([]byte(nil), jpg[:2]...)
	seg := make([]byte, 65533)
	for i := range seg {
		seg[i] = 'x'
	}
	for len(out) < size {
		out = append(out, 0xff, 0xfe, 0xff, 0xff)
		out = append(out, seg...)
	}
	return append(out, jpg[2:]...)
}
