package sidecar_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sidecar"
)

// countingListener counts the Write calls on the connections it accepts.
type countingListener struct {
	net.Listener
	writes atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, n: &l.writes}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.n.Add(1)
	return c.Conn.Write(p)
}

// serveOn runs a sidecar with the test signer on ln until the test ends.
func serveOn(t *testing.T, ln net.Listener) *sidecar.Server {
	t.Helper()
	c := testCreds(t)
	s, err := sidecar.New(sidecar.Config{Tokens: []string{token}, Signer: c.signer, Trust: c.trust,
		Defaults: label.Options{Model: "test-model"}, TempDir: t.TempDir(),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return s
}

// A labeled body held in memory leaves with its status line and header in one write.
func TestResponseInOneWrite(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &countingListener{Listener: inner}
	serveOn(t, ln)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	defer client.CloseIdleConnections()
	c := testCreds(t)
	for _, in := range []struct {
		name      string
		body      []byte
		oneWrite  bool
		wantBytes int // at least
	}{
		{"1 KB text", []byte(strings.Repeat("The model wrote this. ", 46)), true, 8 << 10},
		{"small JPEG", sample(t, "sample.jpg"), true, 1},
		{"another text", []byte("Short text.\n"), true, 1},
		{"400 KB JPEG", bigJPEG(t, 400<<10), false, 400 << 10}, // past maxCoalesced: as net/http writes it
	} {
		before := ln.writes.Load()
		req, _ := http.NewRequest("POST", "http://"+inner.Addr().String()+"/v1/label", bytes.NewReader(in.body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out := readAll(t, resp)
		if resp.StatusCode != 200 || len(out) < in.wantBytes || int64(len(out)) != resp.ContentLength {
			t.Fatalf("%s: %d, %d bytes (Content-Length %d)", in.name, resp.StatusCode, len(out), resp.ContentLength)
		}
		if rep := verifyBytes(t, out, c.trust); rep.Verdict != label.Valid {
			t.Fatalf("%s: verdict %s: %s", in.name, rep.Verdict, rep.Summary)
		}
		writes := ln.writes.Load() - before
		if in.oneWrite && writes != 1 {
			t.Errorf("%s: the response took %d writes, want 1", in.name, writes)
		}
		if !in.oneWrite && writes < 2 {
			t.Errorf("%s: %d writes; a response past maxCoalesced is not collected", in.name, writes)
		}
	}
}

// Over TLS with client certificates (as `serve --tls-cert --client-ca` runs it), connections
// reach net/http as they are: HTTP/2 is negotiated, labels are answered, and a client without a
// certificate is refused.
func TestServeMTLS(t *testing.T) {
	certs := testtool.NewTLSCerts(t)
	srvCert, cliCert, pool := certs.Server, certs.Client, certs.Pool
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := tls.NewListener(inner, &tls.Config{Certificates: []tls.Certificate{srvCert}, MinVersion: tls.VersionTLS12,
		ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert, NextProtos: []string{"h2", "http/1.1"}})
	serveOn(t, ln)
	url := "https://" + inner.Addr().String() + "/v1/label"
	for _, h2 := range []bool{true, false} {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cliCert}}, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
		}
		client := &http.Client{Transport: tr}
		req, _ := http.NewRequest("POST", url, strings.NewReader("A text over TLS.\n"))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out := readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("h2=%v: %d %s", h2, resp.StatusCode, out)
		}
		if want := map[bool]int{true: 2, false: 1}[h2]; resp.ProtoMajor != want {
			t.Errorf("h2=%v: HTTP/%d, want HTTP/%d (the server must see the *tls.Conn to negotiate HTTP/2)", h2, resp.ProtoMajor, want)
		}
		if rep := verifyBytes(t, out, testCreds(t).trust); rep.Verdict != label.Valid {
			t.Errorf("h2=%v: verdict %s", h2, rep.Verdict)
		}
		client.CloseIdleConnections()
	}
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, err := anon.Get("https://" + inner.Addr().String() + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatalf("a client without a certificate got %d", resp.StatusCode)
	}
}
