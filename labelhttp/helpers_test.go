package labelhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/labelhttp"
	"github.com/ailabel/ailabel/sign"
)

// creds is a test CA and signer.
type creds struct {
	signer *sign.Signer
	trust  *sign.TrustStore
}

var (
	credsOnce sync.Once
	shared    *creds
	credsErr  error
)

// testCreds returns one test CA and signer for the whole test binary.
func testCreds(t testing.TB) *creds {
	t.Helper()
	credsOnce.Do(func() {
		cr, err := sign.Generate("Labelhttp Test", sign.KeyP256, 48*time.Hour)
		if err != nil {
			credsErr = err
			return
		}
		dir, err := os.MkdirTemp("", "labelhttp-creds-*")
		if err != nil {
			credsErr = err
			return
		}
		defer os.RemoveAll(dir)
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
		shared = &creds{signer: s, trust: ts}
	})
	if credsErr != nil {
		t.Fatal(credsErr)
	}
	return shared
}

// labeler returns a labeler with the test signer and default model "default-model".
func labeler(t testing.TB) *label.Labeler {
	t.Helper()
	l, err := label.New(testCreds(t).signer, label.Options{Model: "default-model"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func sample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mp4Sample is an unlabeled MP4, nil when the BMFF test data is not in the tree.
func mp4Sample(t testing.TB) []byte {
	b, err := os.ReadFile(filepath.Join("..", "formats", "bmff", "testdata", "unsigned.mp4"))
	if err != nil {
		return nil
	}
	return b
}

func verifyBytes(t testing.TB, b []byte) *label.Report {
	t.Helper()
	r, err := label.Verify(context.Background(), bytes.NewReader(b), int64(len(b)), label.VerifyOptions{Trust: testCreds(t).trust})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return r
}

func readAll(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// get sends a request to srv and returns the response.
func get(t testing.TB, srv *httptest.Server, method, path string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// wantError checks a JSON error response and returns its param.
func wantError(t testing.TB, resp *http.Response, status int, code string) string {
	t.Helper()
	b := readAll(t, resp)
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, status, b)
	}
	var e struct {
		Error struct{ Code, Message, Param string }
	}
	if err := json.Unmarshal(b, &e); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("error body is not JSON (%v, %q): %s", err, resp.Header.Get("Content-Type"), b)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error %+v, want code %q and a message", e.Error, code)
	}
	if resp.Header.Get(labelhttp.DisclosureHeader) != "" {
		t.Errorf("an error response carries %s", labelhttp.DisclosureHeader)
	}
	return e.Error.Param
}

// modes are the two ways a handler's responses get labeled.
var modes = []string{"middleware", "proxy"}

// serveModes runs f once with the handler behind Middleware, and once behind a
// httputil.ReverseProxy whose ModifyResponse is labelhttp's: the same responses must come out
// labeled the same way.
func serveModes(t *testing.T, h http.Handler, opts []labelhttp.Option, f func(t *testing.T, srv *httptest.Server, mode string)) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) { f(t, newServer(t, mode, h, opts), mode) })
	}
}

// newServer serves h behind Middleware ("middleware") or behind a reverse proxy to it whose
// ModifyResponse is labelhttp's ("proxy").
// The labeler's default model is named to the AI-Disclosure header too.
func newServer(t *testing.T, mode string, h http.Handler, opts []labelhttp.Option) *httptest.Server {
	l := labeler(t)
	opts = append([]labelhttp.Option{labelhttp.WithDisclosure(label.Disclosure{Model: "default-model"})}, opts...)
	if mode == "middleware" {
		srv := httptest.NewServer(labelhttp.Middleware(l, opts...)(h))
		t.Cleanup(srv.Close)
		return srv
	}
	up := httptest.NewServer(h)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Header.Del("Accept-Encoding")
			pr.Out.Header.Del("Range")
		},
		ModifyResponse: labelhttp.ModifyResponse(l, opts...),
		ErrorHandler:   labelhttp.WriteError,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Without full duplex, net/http's server discards (and closes) the rest of the request
		// body when the proxy writes its header, racing with the transport that still sends it
		// upstream; the transport then drops the upstream connection mid-response.
		http.NewResponseController(w).EnableFullDuplex()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
