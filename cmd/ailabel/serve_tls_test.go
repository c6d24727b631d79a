package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

// tlsPair is a certificate and its key, as PEM files and as a tls.Certificate.
type tlsPair struct {
	cert     *x509.Certificate
	key      *ecdsa.PrivateKey
	certFile string
	keyFile  string
}

// issueTLS makes a certificate for cn, signed by parent (self-signed when parent is nil), and
// writes it and its key to dir.
func issueTLS(t *testing.T, dir, cn string, parent *tlsPair, isCA bool, usage x509.ExtKeyUsage) *tlsPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{usage}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	signer, signerKey := tmpl, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, key.Public(), signerKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	keyPEM, err := cryptoutils.MarshalPrivateKeyToPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	p := &tlsPair{cert: c, key: key, certFile: filepath.Join(dir, cn+".pem"), keyFile: filepath.Join(dir, cn+".key")}
	os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(p.keyFile, keyPEM, 0o600)
	return p
}

func (p *tlsPair) tlsCertificate() tls.Certificate {
	return tls.Certificate{Certificate: [][]byte{p.cert.Raw}, PrivateKey: p.key, Leaf: p.cert}
}

// TestServeTLS: `ailabel serve --tls-cert --tls-key --client-ca` speaks HTTP/2 to a client that
// offers it and HTTP/1.1 to one that does not, labels over both, and refuses a client without
// a certificate.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, dir)
	ca := issueTLS(t, dir, "tls-ca", nil, true, 0)
	server := issueTLS(t, dir, "server", ca, false, x509.ExtKeyUsageServerAuth)
	client := issueTLS(t, dir, "client", ca, false, x509.ExtKeyUsageClientAuth)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	newClient := func(h2 bool, withCert bool) *http.Client {
		tc := &tls.Config{RootCAs: roots}
		if withCert {
			tc.Certificates = []tls.Certificate{client.tlsCertificate()}
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
		"--tls-cert", server.certFile, "--tls-key", server.keyFile, "--client-ca", ca.certFile)

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
