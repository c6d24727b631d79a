package sign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// testCert issues certificates for chain tests: a root, or an intermediate under parent.
func testCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, ca bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ski, err := cryptoutils.SKID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{Organization: []string{"ailabel chain test"}, CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
	}
	if ca {
		tmpl.IsCA = true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
		tmpl.UnknownExtKeyUsage = []asn1.ObjectIdentifier{OIDC2PAClaimSigning}
	}
	if parent == nil { // self-signed
		parent, parentKey = tmpl, key
		tmpl.AuthorityKeyId = ski
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// TestEmbeddedChainLeavesOutTheRoot: x5chain carries the signer and its intermediates, not a
// self-signed root at the end of the configured chain; the signature still chains to the root
// when the verifier has it as a trust anchor, and a chain without a root is embedded whole.
func TestEmbeddedChainLeavesOutTheRoot(t *testing.T) {
	root, rootKey := testCert(t, "Root", nil, nil, true)
	inter, interKey := testCert(t, "Intermediate", root, rootKey, true)
	leaf, leafKey := testCert(t, "Signer", inter, interKey, false)
	directLeaf, directKey := testCert(t, "Direct signer", root, rootKey, false)
	anchors := NewTrustStore(root)

	for _, tc := range []struct {
		name   string
		key    *ecdsa.PrivateKey
		chain  []*x509.Certificate
		embeds []*x509.Certificate
	}{
		{"leaf, intermediate, root", leafKey, []*x509.Certificate{leaf, inter, root}, []*x509.Certificate{leaf, inter}},
		{"leaf, intermediate", leafKey, []*x509.Certificate{leaf, inter}, []*x509.Certificate{leaf, inter}},
		{"leaf, root", directKey, []*x509.Certificate{directLeaf, root}, []*x509.Certificate{directLeaf}},
		{"leaf alone", directKey, []*x509.Certificate{directLeaf}, []*x509.Certificate{directLeaf}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sv, err := signature.LoadECDSASignerVerifier(tc.key, crypto.SHA256)
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(sv, tc.chain)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Chain(); len(got) != len(tc.chain) {
				t.Fatalf("Chain() has %d certificates, want the %d configured", len(got), len(tc.chain))
			}
			claim := []byte("\xa1\x63abc\x01")
			sig, err := s.SignClaim(claim)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != s.SignatureSize() {
				t.Fatalf("signature %d bytes, want %d", len(sig), s.SignatureSize())
			}
			r, err := VerifyClaimSignature(sig, claim, anchors, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Chain) != len(tc.embeds) {
				t.Fatalf("x5chain has %d certificates, want %d", len(r.Chain), len(tc.embeds))
			}
			for i, c := range tc.embeds {
				if !r.Chain[i].Equal(c) {
					t.Fatalf("x5chain[%d] is %q, want %q", i, r.Chain[i].Subject.CommonName, c.Subject.CommonName)
				}
			}
			if !r.Validated || !r.Trusted || len(r.Failure) != 0 {
				t.Fatalf("validated=%v trusted=%v failures=%v", r.Validated, r.Trusted, r.Failure)
			}
		})
	}

	// A self-signed signing certificate is the chain: it is never left out.
	self, _ := testCert(t, "Self-signed signer", nil, nil, false)
	if got := embeddedChain([]*x509.Certificate{self}); len(got) != 1 {
		t.Fatalf("a lone self-signed certificate was dropped")
	}
}
