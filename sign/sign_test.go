package sign

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature/kms/fake"
)

func credsSigner(t *testing.T, kt KeyType) (*Signer, *Credentials) {
	t.Helper()
	cr, err := Generate("ailabel test", kt, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := LoadFiles(filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return s, cr
}

func TestSignAndVerifyEveryAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		kt  KeyType
		alg Algorithm
	}{{KeyP256, ES256}, {KeyP384, ES384}, {KeyEd25519, Ed25519}, {KeyRSA3072, PS256}} {
		t.Run(string(tc.kt), func(t *testing.T) {
			s, cr := credsSigner(t, tc.kt)
			if s.Algorithm() != tc.alg {
				t.Fatalf("algorithm %s, want %s", s.Algorithm(), tc.alg)
			}
			if p := ProfileProblems(s.Certificate()); len(p) != 0 {
				t.Fatalf("keygen certificate departs from the C2PA profile: %v", p)
			}
			claim := []byte("\xa1\x63abc\x01")
			sig, err := s.SignClaim(claim)
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != s.SignatureSize() {
				t.Fatalf("signature %d bytes, want the reserved %d", len(sig), s.SignatureSize())
			}
			if !strings.HasPrefix(string(sig), "\xd2\x84") {
				t.Fatalf("not a tagged COSE_Sign1: % x", sig[:4])
			}
			ca, _ := ParseCertificatesPEM(cr.CACert)
			r, err := VerifyClaimSignature(sig, claim, NewTrustStore(ca...), time.Now())
			if err != nil || !r.Validated || !r.Trusted || len(r.Failure) != 0 {
				t.Fatalf("verify: err=%v validated=%v trusted=%v failures=%v", err, r.Validated, r.Trusted, r.Failure)
			}
			// Untrusted without anchors, still validated.
			r, _ = VerifyClaimSignature(sig, claim, nil, time.Now())
			if !r.Validated || r.Trusted || !hasCode(r.Failure, CodeCredentialUntrusted) {
				t.Fatalf("without anchors: validated=%v trusted=%v failures=%v", r.Validated, r.Trusted, r.Failure)
			}
			// Another claim: mismatch.
			r, _ = VerifyClaimSignature(sig, []byte("\xa1\x63abc\x02"), nil, time.Now())
			if r.Validated || !hasCode(r.Failure, CodeSignatureMismatch) {
				t.Fatalf("changed claim still validates: %v", r.Failure)
			}
			// Outside the certificate's validity.
			r, _ = VerifyClaimSignature(sig, claim, nil, time.Now().Add(72*time.Hour))
			if !hasCode(r.Failure, CodeCredentialExpired) {
				t.Fatalf("expired certificate not reported: %v", r.Failure)
			}
		})
	}
}

func hasCode(fs []Finding, code string) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}

func TestSignerRejectsMismatchedCertificate(t *testing.T) {
	a, _ := credsSigner(t, KeyP256)
	b, _ := credsSigner(t, KeyP256)
	if _, err := New(a.signer, b.Chain()); err == nil {
		t.Fatal("a certificate for another key was accepted")
	}
}

func TestProfileRejectsCA(t *testing.T) {
	_, cr := credsSigner(t, KeyP256)
	blk, _ := pem.Decode(cr.CACert)
	ca, _ := x509.ParseCertificate(blk.Bytes)
	if p := ProfileProblems(ca); len(p) == 0 {
		t.Fatal("a CA certificate passed the signing-certificate profile")
	}
}

func TestDevSignerIsCreatedOnceAndMarked(t *testing.T) {
	t.Setenv("AILABEL_DEV_DIR", filepath.Join(t.TempDir(), "dev"))
	a, err := Dev()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dev()
	if err != nil {
		t.Fatal(err)
	}
	if !a.IsDevelopment() || a.Certificate().Subject.Organization[0] != DevOrganization {
		t.Fatal("development signer not marked")
	}
	if !a.Certificate().Equal(b.Certificate()) {
		t.Fatal("a second call made a new development key")
	}
	st, _ := os.Stat(filepath.Join(os.Getenv("AILABEL_DEV_DIR"), "signer.key"))
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("development key mode %v, want 0600", st.Mode().Perm())
	}
}

func TestKeyErrorsDoNotEchoKeyMaterial(t *testing.T) {
	dir := t.TempDir()
	secret := "-----BEGIN PRIVATE KEY-----\nTOPSECRETBYTES\n-----END PRIVATE KEY-----\n"
	os.WriteFile(filepath.Join(dir, "k.pem"), []byte(secret), 0o600)
	os.WriteFile(filepath.Join(dir, "c.pem"), []byte("x"), 0o600)
	_, err := LoadFiles(filepath.Join(dir, "k.pem"), filepath.Join(dir, "c.pem"))
	if err == nil || strings.Contains(err.Error(), "TOPSECRET") {
		t.Fatalf("error %v", err)
	}
}

// A key behind sigstore's KMS interface signs claims through LoadKMS (sigstore's fake KMS holds
// the key here; Vault, AWS, GCP and Azure providers go through the same code).
func TestLoadKMSSignsThroughTheKMSInterface(t *testing.T) {
	cr, err := Generate("kms test", KeyP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(cr.Key, cryptoutils.SkipPassword)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), fake.KmsCtxKey{}, key)
	s, err := LoadKMS(ctx, fake.ReferenceScheme+"test-key", filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	claim := []byte{0xa1, 0x61, 'k', 0x01}
	sig, err := s.SignClaim(claim)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := ParseCertificatesPEM(cr.CACert)
	if r, _ := VerifyClaimSignature(sig, claim, NewTrustStore(ca...), time.Now()); !r.Validated || !r.Trusted {
		t.Fatalf("KMS signature: validated=%v trusted=%v %v", r.Validated, r.Trusted, r.Failure)
	}
	// A KMS key that does not match the certificate is refused.
	if _, err := LoadKMS(context.Background(), fake.ReferenceScheme+"other", filepath.Join(dir, "chain.pem")); err == nil {
		t.Fatal("a KMS key that does not match the certificate was accepted")
	}
	// The Vault provider is linked in: its scheme is recognised (it fails for want of a server,
	// not for an unknown scheme).
	t.Setenv("VAULT_ADDR", "http://127.0.0.1:1")
	t.Setenv("VAULT_TOKEN", "test")
	if _, err := LoadKMS(context.Background(), "hashivault://ailabel", filepath.Join(dir, "chain.pem")); err == nil || strings.Contains(err.Error(), "no provider") || strings.Contains(err.Error(), "sigstore-kms-") {
		t.Fatalf("hashivault:// not handled by a linked provider: %v", err)
	}
}
