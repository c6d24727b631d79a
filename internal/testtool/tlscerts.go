package testtool

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TLSCerts is a throwaway TLS CA with a server certificate for 127.0.0.1 and a client
// certificate, for tests of HTTPS and mTLS serving: in memory, and as PEM files (for flags
// such as `serve --tls-cert --tls-key --client-ca`).
type TLSCerts struct {
	Server, Client tls.Certificate
	Pool           *x509.CertPool // holds the CA: a client's RootCAs, a server's ClientCAs
	CAFile         string         // the CA certificate
	ServerCertFile string
	ServerKeyFile  string
}

// NewTLSCerts makes a TLSCerts valid for an hour, with its files in a temporary folder of t.
func NewTLSCerts(t testing.TB) *TLSCerts {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	issue := func(serial int64, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, usage x509.ExtKeyUsage) (*x509.Certificate, *ecdsa.PrivateKey) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), BasicConstraintsValid: true}
		if parent == nil { // the CA, self-signed
			tmpl.IsCA, tmpl.KeyUsage = true, x509.KeyUsageCertSign
			parent, parentKey = tmpl, key
		} else {
			tmpl.KeyUsage, tmpl.ExtKeyUsage = x509.KeyUsageDigitalSignature, []x509.ExtKeyUsage{usage}
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	write := func(name string, block *pem.Block) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, caKey := issue(1, "ailabel test TLS CA", nil, nil, 0)
	server, serverKey := issue(2, "127.0.0.1", ca, caKey, x509.ExtKeyUsageServerAuth)
	client, clientKey := issue(3, "ailabel test client", ca, caKey, x509.ExtKeyUsageClientAuth)
	serverKeyDER, err := x509.MarshalPKCS8PrivateKey(serverKey)
	if err != nil {
		t.Fatal(err)
	}
	c := &TLSCerts{
		Server:         tls.Certificate{Certificate: [][]byte{server.Raw}, PrivateKey: serverKey, Leaf: server},
		Client:         tls.Certificate{Certificate: [][]byte{client.Raw}, PrivateKey: clientKey, Leaf: client},
		Pool:           x509.NewCertPool(),
		CAFile:         write("ca.pem", &pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		ServerCertFile: write("server.pem", &pem.Block{Type: "CERTIFICATE", Bytes: server.Raw}),
		ServerKeyFile:  write("server.key", &pem.Block{Type: "PRIVATE KEY", Bytes: serverKeyDER}),
	}
	c.Pool.AddCert(ca)
	return c
}
