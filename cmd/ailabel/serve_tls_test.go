package main

import (
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
)

// TestServeTLS: `ailabel serve --tls-cert --tls-key --client-ca` speaks HTTP/2 to a client that
// offers it and HTTP/1.1 to one that does not, labels over both, and refuses a client without
// a certificate.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, dir)
	certs := testtool.NewTLSCerts(t)
	newClient := func(h2 bool, withCert bool) *http.Client {
		tc := &tls.Config{RootCAs: certs.Pool}
		if withCert {
			tc.Certificates = []tls.Certificate{certs.Client}
		}
		tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: h2}
		if !h2 {
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{} // HTTP/1.1 only
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 20 * time.Second}
	}
	const tok = "tls-test-token-0123456789abcdef"
	base, _ := startServeWith(t, newClient(true, true), "https", map[string]string{"AILABEL_TOKENS": tok},
		"serve", "--listen", "127.0.0.1:0", "--model", "tls-model",
		"--key", filepath.Join(keys, "signer.key"), "--cert", filepath.Join(keys, "chain.pem"),
		"--tls-cert", certs.ServerCertFile, "--tls-key", certs.ServerKeyFile, "--client-ca", certs.CAFile)

	labelled := func(c *http.Client) (*http.Response, error) {
		req, _ := http.NewRequest("POST", base+"/v1/label", strings.NewReader("A generated paragraph.\n"))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("AI-Disclosure"), "tls-model") || len(out) <= len("A generated paragraph.\n") {
			t.Fatalf("%s: %d, AI-Disclosure %q, %d bytes: %s", resp.Proto, resp.StatusCode, resp.Header.Get("AI-Disclosure"), len(out), out)
		}
		return resp, nil
	}
	for _, tc := range []struct {
		h2    bool
		proto int
	}{{true, 2}, {false, 1}} {
		resp, err := labelled(newClient(tc.h2, true))
		if err != nil {
			t.Fatalf("client offering h2=%v: %v", tc.h2, err)
		}
		if resp.ProtoMajor != tc.proto {
			t.Errorf("client offering h2=%v was answered over %s, want HTTP/%d", tc.h2, resp.Proto, tc.proto)
		}
	}
	if resp, err := labelled(newClient(true, false)); err == nil {
		t.Errorf("a client without a certificate was answered: %s %d", resp.Proto, resp.StatusCode)
	}
}
