package label_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/sign/tsatest"
)

// stampedCreds is a signer whose signatures a test TSA time-stamps, with the PEM files c2pa-check
// needs: the signer's CA alone, and a bundle of the signer's and the TSA's CAs.
type stampedCreds struct {
	signer         *sign.Signer
	ca             *x509.Certificate
	caPEM, bothPEM string
}

func (c *stampedCreds) trust(tsa *tsatest.TSA) *sign.TrustStore {
	if tsa == nil {
		return sign.NewTrustStore(c.ca)
	}
	return sign.NewTrustStore(c.ca, tsa.CA)
}

// windowCreds makes a CA and a C2PA signing certificate valid from notBefore to notAfter, signing
// through tsa over HTTP (no time-stamps when tsa is nil).
func windowCreds(t *testing.T, notBefore, notAfter time.Time, tsa *tsatest.TSA) *stampedCreds {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ski := func(k *ecdsa.PrivateKey) []byte {
		b, _ := x509.MarshalPKIXPublicKey(k.Public())
		h := sha256.Sum256(b)
		return h[:20]
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{Organization: []string{"TS Test Org"}, CommonName: "TS Test Root"},
		NotBefore: notBefore.Add(-time.Hour), NotAfter: time.Now().Add(30 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		SubjectKeyId: ski(caKey), AuthorityKeyId: ski(caKey),
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{Organization: []string{"TS Test Org"}, CommonName: "TS Test Signer"},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{sign.OIDC2PAClaimSigning},
		BasicConstraintsValid: true, SubjectKeyId: ski(key),
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	pemOf := func(typ string, b []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}) }
	write := func(name string, b ...[]byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Join(b, nil), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyFile := write("signer.key", pemOf("PRIVATE KEY", keyDER))
	chainFile := write("chain.pem", pemOf("CERTIFICATE", leafDER), pemOf("CERTIFICATE", caDER))
	c := &stampedCreds{ca: ca, caPEM: write("ca.pem", pemOf("CERTIFICATE", caDER))}
	var opts []sign.Option
	if tsa != nil {
		c.bothPEM = write("both.pem", pemOf("CERTIFICATE", caDER), tsa.CAPEM())
		client, err := sign.NewTSAClient(tsa.URL, tsa.Client())
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, sign.WithTimeStamper(client))
	}
	if c.signer, err = sign.LoadFiles(keyFile, chainFile, opts...); err != nil {
		t.Fatal(err)
	}
	return c
}

func labelWith(t *testing.T, s *sign.Signer, in []byte) []byte {
	t.Helper()
	l, err := label.New(s, label.Options{Model: "ts-model"})
	if err != nil {
		t.Fatal(err)
	}
	return labelBytes(t, l, in, label.Options{})
}

func verifyAt(t *testing.T, b []byte, trust *sign.TrustStore, now time.Time) *label.Report {
	t.Helper()
	r, err := label.Verify(t.Context(), bytes.NewReader(b), int64(len(b)), label.VerifyOptions{Trust: trust, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func codes(e []manifest.StatusEntry) []string {
	var out []string
	for _, x := range e {
		out = append(out, x.Code)
	}
	return out
}

// A JPEG labeled with time-stamping: the time-stamp is validated, shown in the report and the
// summary, judged trusted or not by the anchors, keeps an expired certificate valid, and a
// tampered token is reported with c2pa-rs's code. c2pa-rs agrees on each file.
func TestTimeStampedLabel(t *testing.T) {
	tsa := tsatest.New(t, tsatest.Options{})
	now := time.Now()
	c := windowCreds(t, now.Add(-time.Hour), now.Add(48*time.Hour), tsa)
	in := encodeJPEG(t, photo(320, 240, false), 85)
	before := time.Now().Truncate(time.Second)
	out := labelWith(t, c.signer, in)
	if tsa.Requests() != 1 {
		t.Fatalf("%d requests to the TSA, want 1", tsa.Requests())
	}
	t.Logf("signature box %d bytes with a %d-byte token; output %d bytes from %d", c.signer.SignatureSize(), len(tsa.Tokens()[0]), len(out), len(in))

	// Both anchors: trusted, time-stamped, and the summary says by whom and when.
	r := verifyAt(t, out, c.trust(tsa), time.Time{})
	ts := r.TimeStamp
	if r.Verdict != label.Valid || r.State != manifest.StateTrusted || ts == nil || !ts.Trusted ||
		ts.TSACommonName != "ailabel Test TSA" || ts.Time.Before(before) || ts.Time.After(time.Now()) {
		t.Fatalf("verify: %s %s %+v failures %v", r.Verdict, r.State, ts, r.Failures())
	}
	if got := codes(r.Status.Success); !slices.Contains(got, sign.CodeTimeStampValidated) || !slices.Contains(got, sign.CodeTimeStampTrusted) {
		t.Fatalf("success codes %v", got)
	}
	want := "time-stamped by ailabel Test TSA at " + ts.Time.Format(time.RFC3339)
	if !strings.Contains(r.Summary, want) || strings.Contains(r.Summary, "no time-stamp") || r.SignedAt == nil || !r.SignedAt.Equal(ts.Time) {
		t.Fatalf("summary %q, want %q", r.Summary, want)
	}
	if m := r.Manifests[len(r.Manifests)-1]; m.TimeStamp == nil || *m.TimeStamp != *ts {
		t.Fatalf("manifest summary time-stamp %+v", m.TimeStamp)
	}

	// The TSA not among the anchors: still validated and shown, said to be untrusted.
	r = verifyAt(t, out, c.trust(nil), time.Time{})
	if r.Verdict != label.Valid || r.TimeStamp == nil || r.TimeStamp.Trusted ||
		!slices.Contains(codes(r.Status.Informational), sign.CodeTimeStampUntrusted) ||
		!strings.Contains(r.Summary, "(time-stamp authority not on your trust list)") {
		t.Fatalf("untrusted TSA: %s %+v info %v summary %q", r.Verdict, r.TimeStamp, codes(r.Status.Informational), r.Summary)
	}

	// Three days on, the signer's certificate has expired: the trusted time-stamp keeps the
	// label valid; without a time-stamp the same certificate is expired.
	later := now.Add(72 * time.Hour)
	if r = verifyAt(t, out, c.trust(tsa), later); r.Verdict != label.Valid || len(r.Failures()) != 0 {
		t.Fatalf("expired now, valid at the time-stamp: %s %v", r.Verdict, r.Failures())
	}
	plain := windowCreds(t, now.Add(-time.Hour), now.Add(48*time.Hour), nil)
	unstamped := labelWith(t, plain.signer, in)
	if r = verifyAt(t, unstamped, plain.trust(nil), later); r.Verdict != label.Invalid || !slices.Contains(r.Failures(), sign.CodeCredentialExpired) {
		t.Fatalf("no time-stamp, expired: %s %v", r.Verdict, r.Failures())
	}
	if r = verifyAt(t, unstamped, plain.trust(nil), time.Time{}); r.TimeStamp != nil || !strings.Contains(r.Summary, "(time claimed by the signer, no time-stamp)") {
		t.Fatalf("unstamped summary %q", r.Summary)
	}

	// A tampered token: a digit of the TSTInfo's genTime changed. The claim signature and the
	// pixels are untouched, so the label stays valid now, with timeStamp.mismatch; three days
	// on nothing vouches for the certificate any more.
	tok := tsa.Tokens()[0]
	at := bytes.Index(out, tok)
	gen := bytes.Index(tok, []byte(ts.Time.UTC().Format("20060102150405Z")))
	if at < 0 || gen < 0 {
		t.Fatalf("token at %d, genTime at %d", at, gen)
	}
	tampered := append([]byte(nil), out...)
	tampered[at+gen+3] ^= 0x01 // the year's last digit
	r = verifyAt(t, tampered, c.trust(tsa), time.Time{})
	if r.Verdict != label.Valid || r.TimeStamp != nil || !slices.Contains(codes(r.Status.Informational), sign.CodeTimeStampMismatch) {
		t.Fatalf("tampered token: %s %+v info %v", r.Verdict, r.TimeStamp, r.Status.Informational)
	}
	if r = verifyAt(t, tampered, c.trust(tsa), later); r.Verdict != label.Invalid || !slices.Contains(r.Failures(), sign.CodeCredentialExpired) {
		t.Fatalf("tampered token, three days on: %s %v", r.Verdict, r.Failures())
	}

	// c2pa-rs: valid with our untrusted TSA, the time-stamp validated; trusted with both anchors.
	path := writeTemp(t, "stamped.jpg", out)
	v := testtool.C2PACheck(t, path)
	if v.Exit != 0 || !slices.Contains(v.Successes, sign.CodeTimeStampValidated) || !slices.Contains(v.Informational, sign.CodeTimeStampUntrusted) {
		t.Fatalf("c2pa-rs: exit %d %s failures %v success %v info %v", v.Exit, v.State, v.Failures, v.Successes, v.Informational)
	}
	t.Logf("c2pa-rs without anchors: %s, success %v, informational %v", v.State, v.Successes, v.Informational)
	v = testtool.C2PACheck(t, path, c.bothPEM)
	t.Logf("c2pa-rs with both anchors: %s, success %v, informational %v", v.State, v.Successes, v.Informational)
	if v.Exit != 0 || v.State != "Trusted" || !slices.Contains(v.Successes, sign.CodeTimeStampTrusted) {
		t.Fatalf("c2pa-rs --trust: exit %d %s failures %v success %v info %v", v.Exit, v.State, v.Failures, v.Successes, v.Informational)
	}
	v = testtool.C2PACheck(t, writeTemp(t, "tampered.jpg", tampered), c.bothPEM)
	if v.Exit != 0 || slices.Contains(v.Successes, sign.CodeTimeStampValidated) || !slices.Contains(v.Informational, sign.CodeTimeStampMismatch) {
		t.Fatalf("c2pa-rs on the tampered token: exit %d failures %v success %v info %v", v.Exit, v.Failures, v.Successes, v.Informational)
	}
	if code, outp := testtool.RubricCheck(t, path); code != 0 {
		t.Fatalf("conformance rubric (spec 2.4): exit %d\n%s", code, outp)
	}
	if code, outp := testtool.RubricCheck(t, path, "--rubric", "asset-integrity", "--trust", c.bothPEM); code != 0 {
		t.Fatalf("integrity rubric: exit %d\n%s", code, outp)
	}
}

// A certificate that expired a minute after the TSA's time: valid today thanks to the trusted
// time-stamp, expired when the TSA is not trusted (its word is then not taken), and c2pa-rs
// says the same in both cases.
func TestTimeStampRescuesExpiredCertificate(t *testing.T) {
	tsaTime := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	tsa := tsatest.New(t, tsatest.Options{Now: func() time.Time { return tsaTime }})
	c := windowCreds(t, tsaTime.Add(-time.Hour), tsaTime.Add(time.Minute), tsa)
	out := labelWith(t, c.signer, encodeJPEG(t, photo(200, 120, false), 80))
	path := writeTemp(t, "expired-stamped.jpg", out)

	r := verifyAt(t, out, c.trust(tsa), time.Time{})
	if r.Verdict != label.Valid || r.State != manifest.StateTrusted || r.TimeStamp == nil || !r.TimeStamp.Time.Equal(tsaTime) {
		t.Fatalf("trusted TSA: %s %s %v %+v", r.Verdict, r.State, r.Failures(), r.TimeStamp)
	}
	if !slices.Contains(codes(r.Status.Success), sign.CodeInsideValidity) {
		t.Fatalf("success %v", codes(r.Status.Success))
	}
	r = verifyAt(t, out, c.trust(nil), time.Time{})
	if r.Verdict != label.Invalid || !slices.Contains(r.Failures(), sign.CodeCredentialExpired) ||
		!strings.Contains(r.Summary, "not on your trust list, so the certificate was judged now") {
		t.Fatalf("untrusted TSA: %s %v %q", r.Verdict, r.Failures(), r.Summary)
	}
	if v := testtool.C2PACheck(t, path, c.bothPEM); v.Exit != 0 || v.State != "Trusted" {
		t.Fatalf("c2pa-rs with both anchors: exit %d %s failures %v info %v", v.Exit, v.State, v.Failures, v.Informational)
	}
	if v := testtool.C2PACheck(t, path, c.caPEM); v.Exit != 1 || !slices.Contains(v.Failures, sign.CodeCredentialExpired) {
		t.Fatalf("c2pa-rs without the TSA's anchor: exit %d %s failures %v info %v", v.Exit, v.State, v.Failures, v.Informational)
	}
}
