package sign

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// C2PA status codes about the signature and the signing credential (spec §15.2.2).
const (
	CodeSignatureValidated   = "claimSignature.validated"
	CodeSignatureMismatch    = "claimSignature.mismatch"
	CodeSignatureMissing     = "claimSignature.missing"
	CodeInsideValidity       = "claimSignature.insideValidity"
	CodeOutsideValidity      = "claimSignature.outsideValidity"
	CodeCredentialTrusted    = "signingCredential.trusted"
	CodeCredentialUntrusted  = "signingCredential.untrusted"
	CodeCredentialInvalid    = "signingCredential.invalid"
	CodeCredentialExpired    = "signingCredential.expired"
	CodeAlgorithmUnsupported = "algorithm.unsupported"
)

// Finding is one status: a C2PA code and a human explanation.
type Finding struct {
	Code        string
	Explanation string
}

// SignatureReport is what checking a COSE_Sign1 found.
type SignatureReport struct {
	Algorithm Algorithm
	Chain     []*x509.Certificate
	SignedAt  time.Time // from the time-stamp or iat when present; zero otherwise
	Validated bool      // the signature over the claim is good
	Trusted   bool      // the chain leads to a trust anchor
	// TimeStamp is the validated RFC 3161 time-stamp (sigTst2, or the deprecated sigTst), nil
	// when there is none or it fails (its findings then say why). The certificate's validity is
	// judged at its time only when its authority is trusted, as c2pa-rs does: an untrusted TSA
	// could vouch for any time.
	TimeStamp   *TimeStamp
	Success     []Finding
	Failure     []Finding
	Information []Finding
}

// Signer returns the signing certificate, or nil.
func (r *SignatureReport) Signer() *x509.Certificate {
	if len(r.Chain) == 0 {
		return nil
	}
	return r.Chain[0]
}

func (r *SignatureReport) ok(code, why string)   { r.Success = append(r.Success, Finding{code, why}) }
func (r *SignatureReport) fail(code, why string) { r.Failure = append(r.Failure, Finding{code, why}) }

// TrustStore holds the anchors a verifier trusts. The zero value trusts nobody.
type TrustStore struct {
	roots *x509.CertPool
	n     int
}

// NewTrustStore builds a store from certificates.
func NewTrustStore(certs ...*x509.Certificate) *TrustStore {
	t := &TrustStore{roots: x509.NewCertPool()}
	for _, c := range certs {
		t.roots.AddCert(c)
		t.n++
	}
	return t
}

// Len is the number of anchors.
func (t *TrustStore) Len() int {
	if t == nil {
		return 0
	}
	return t.n
}

// LoadTrustFile reads PEM certificates (a bundle of anchors, or a C2PA trust list in PEM form).
func LoadTrustFile(path string) (*TrustStore, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading trust anchors: %w", err)
	}
	certs, err := ParseCertificatesPEM(b)
	if err != nil {
		return nil, fmt.Errorf("trust anchors in %s: %w", path, err)
	}
	return NewTrustStore(certs...), nil
}

// ParseCertificatesPEM reads every CERTIFICATE block.
func ParseCertificatesPEM(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("parsing certificate %d: %w", len(out)+1, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block found")
	}
	return out, nil
}

var coseDec, _ = cbor.DecOptions{
	DupMapKey:        cbor.DupMapKeyEnforcedAPF,
	IndefLength:      cbor.IndefLengthForbidden,
	MaxNestedLevels:  16,
	MaxArrayElements: 1024,
	MaxMapPairs:      256,
}.DecMode()

// VerifyClaimSignature checks a COSE_Sign1 over the claim bytes: its structure, the algorithm, the
// signature, its RFC 3161 time-stamp if any (sigTst2 or sigTst; see CheckTimeStampToken), the
// signing certificate's C2PA profile, its validity at the signing time (the time-stamp's when its
// authority is trusted, else iat, else now), and its chain against the trust store. Every problem is a Finding; err is returned only for a
// signature that cannot be parsed at all (then the report holds claimSignature.mismatch too).
func VerifyClaimSignature(sig, claim []byte, trust *TrustStore, now time.Time) (*SignatureReport, error) {
	r := &SignatureReport{}
	if len(sig) == 0 {
		r.fail(CodeSignatureMissing, "the claim has no signature")
		return r, errors.New("no signature")
	}
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(sig); err != nil {
		// go-cose rejects an untagged COSE_Sign1; C2PA requires the tag too.
		r.fail(CodeSignatureMismatch, "the signature is not a COSE_Sign1: "+err.Error())
		return r, fmt.Errorf("parsing COSE_Sign1: %w", err)
	}
	alg, err := msg.Headers.Protected.Algorithm()
	if err != nil {
		r.fail(CodeAlgorithmUnsupported, "no algorithm in the protected header")
		return r, nil
	}
	a, ok := algorithmFromCOSE(alg)
	if !ok {
		r.fail(CodeAlgorithmUnsupported, fmt.Sprintf("algorithm %v is not allowed by C2PA", alg))
		return r, nil
	}
	r.Algorithm = a
	chain, why := x5chain(msg.Headers)
	if why != "" {
		r.fail(CodeCredentialInvalid, why)
		r.fail(CodeSignatureMismatch, "the signature cannot be checked without a signing certificate")
		return r, nil
	}
	r.Chain = chain
	leaf := chain[0]

	// Time of signing: a time-stamp from a trusted authority, else C2PA's iat header (protected)
	// when present, else now. A validated but untrusted time-stamp is reported, not relied on.
	at := now
	if v, ok := msg.Headers.Protected["iat"]; ok {
		if t, ok := numericDate(v); ok {
			r.SignedAt, at = t, t
		}
	}
	if tc := checkSigTst(&msg, claim, trust); tc != nil {
		r.Success = append(r.Success, tc.Success...)
		r.Information = append(r.Information, tc.Information...)
		if ts := tc.TimeStamp; ts != nil {
			r.TimeStamp, r.SignedAt = ts, ts.Time
			if ts.Trusted {
				at = ts.Time
			}
		}
	}

	// The signature itself.
	if k, isEC := leaf.PublicKey.(*ecdsa.PublicKey); isEC && len(msg.Signature) != 2*((k.Curve.Params().BitSize+7)/8) {
		r.fail(CodeCredentialInvalid, "EC signature should be in P1363 r|s format")
		r.fail(CodeSignatureMismatch, "the ECDSA signature is not raw r‖s")
	} else if keyAlg, err := AlgorithmFor(leaf.PublicKey); err != nil {
		r.fail(CodeCredentialInvalid, err.Error())
		r.fail(CodeSignatureMismatch, "the signature cannot be checked with this key")
	} else if !compatible(keyAlg, a) {
		r.fail(CodeAlgorithmUnsupported, fmt.Sprintf("algorithm %s does not fit the certificate's %s key", a, keyAlg))
	} else {
		v, err := cose.NewVerifier(a.cose(), leaf.PublicKey)
		if err == nil {
			msg.Payload = claim
			err = msg.Verify(nil, v)
		}
		if err != nil {
			r.fail(CodeSignatureMismatch, "the signature does not match the claim")
		} else {
			r.Validated = true
			r.ok(CodeSignatureValidated, "claim signature valid")
		}
	}

	// The certificate profile (spec §14.5.1).
	for _, p := range ProfileProblems(leaf) {
		r.fail(CodeCredentialInvalid, p)
	}
	if at.Before(leaf.NotBefore) || at.After(leaf.NotAfter) {
		r.fail(CodeCredentialExpired, fmt.Sprintf("the signing certificate is valid from %s to %s, not at %s",
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339)))
	} else if r.Validated {
		r.ok(CodeInsideValidity, "claim signature inside the certificate's validity")
	}

	// Trust. A credential that is already invalid is not judged for trust (as c2pa-rs does).
	invalid := false
	for _, f := range r.Failure {
		invalid = invalid || f.Code == CodeCredentialInvalid
	}
	if invalid {
		return r, nil
	}
	if trust.Len() == 0 {
		r.fail(CodeCredentialUntrusted, "signing certificate untrusted: no trust anchors are configured")
	} else {
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{
			Roots: trust.roots, Intermediates: inter, CurrentTime: at,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err != nil {
			r.fail(CodeCredentialUntrusted, "signing certificate untrusted: "+err.Error())
		} else {
			r.Trusted = true
			r.ok(CodeCredentialTrusted, "signing certificate trusted")
		}
	}
	return r, nil
}

func compatible(key, sig Algorithm) bool {
	switch key {
	case PS256:
		return sig == PS256 || sig == PS384 || sig == PS512
	default:
		return key == sig
	}
}

func numericDate(v any) (time.Time, bool) {
	switch n := v.(type) {
	case int64:
		return time.Unix(n, 0), true
	case uint64:
		if n < 1<<62 {
			return time.Unix(int64(n), 0), true
		}
	case float64:
		return time.Unix(int64(n), 0), true
	}
	return time.Time{}, false
}

// x5chain reads label 33 (or the deprecated "x5chain") from exactly one bucket.
func x5chain(h cose.Headers) ([]*x509.Certificate, string) {
	var raw any
	var n int
	for _, bucket := range []map[any]any{h.Protected, h.Unprotected} {
		for _, k := range []any{cose.HeaderLabelX5Chain, int64(33), "x5chain"} {
			if v, ok := bucket[k]; ok {
				raw = v
				n++
				break
			}
		}
	}
	switch {
	case n == 0:
		return nil, "no x5chain (signing certificate) in the COSE headers"
	case n > 1:
		return nil, "x5chain in both the protected and the unprotected header"
	}
	var ders [][]byte
	switch v := raw.(type) {
	case []byte:
		ders = [][]byte{v}
	case []any:
		for _, e := range v {
			b, ok := e.([]byte)
			if !ok {
				return nil, "x5chain holds something other than certificates"
			}
			ders = append(ders, b)
		}
	case [][]byte:
		ders = v
	default:
		return nil, "x5chain has an unexpected type"
	}
	if len(ders) == 0 || len(ders) > 16 {
		return nil, fmt.Sprintf("x5chain has %d certificates", len(ders))
	}
	var out []*x509.Certificate
	for i, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Sprintf("x5chain certificate %d does not parse: %v", i, err)
		}
		out = append(out, c)
	}
	return out, ""
}

// OIDs of extended key usages C2PA accepts for claim signing (c2pa-rs's defaults).
var (
	OIDC2PAClaimSigning  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 62558, 2, 1}
	OIDDocumentSigning   = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 36}
	OIDMicrosoftC2PA     = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 76, 59, 1, 9}
	oidAuthorityKeyIDExt = asn1.ObjectIdentifier{2, 5, 29, 35}
)

// ProfileProblems lists how a signing certificate departs from the C2PA certificate profile
// (spec §14.5.1). An empty list means it conforms.
func ProfileProblems(c *x509.Certificate) []string {
	var p []string
	if c.Version != 3 {
		p = append(p, fmt.Sprintf("certificate is X.509 version %d, not 3", c.Version))
	}
	switch c.SignatureAlgorithm {
	case x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512,
		x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA,
		x509.SHA256WithRSAPSS, x509.SHA384WithRSAPSS, x509.SHA512WithRSAPSS, x509.PureEd25519:
	default:
		p = append(p, fmt.Sprintf("certificate signature algorithm %s is not allowed", c.SignatureAlgorithm))
	}
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		if _, err := AlgorithmFor(k); err != nil {
			p = append(p, err.Error())
		}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			p = append(p, fmt.Sprintf("RSA key of %d bits (at least 2048 needed)", k.N.BitLen()))
		}
	default:
		p = append(p, fmt.Sprintf("unsupported key type %T", k))
	}
	if c.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		p = append(p, "key usage lacks digitalSignature")
	}
	if c.IsCA || c.KeyUsage&x509.KeyUsageCertSign != 0 {
		p = append(p, "a CA certificate must not sign claims")
	}
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		p = append(p, "extended key usage missing")
	}
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageAny {
			p = append(p, "anyExtendedKeyUsage is not allowed")
		}
	}
	okEKU := false
	for _, u := range c.ExtKeyUsage {
		if u == x509.ExtKeyUsageEmailProtection {
			okEKU = true
		}
	}
	for _, u := range c.UnknownExtKeyUsage {
		if u.Equal(OIDC2PAClaimSigning) || u.Equal(OIDDocumentSigning) || u.Equal(OIDMicrosoftC2PA) {
			okEKU = true
		}
	}
	if !okEKU && (len(c.ExtKeyUsage) > 0 || len(c.UnknownExtKeyUsage) > 0) {
		p = append(p, "extended key usage has none of c2pa-kp-claimSigning, emailProtection, documentSigning")
	}
	hasAKI := false
	for _, e := range c.Extensions {
		if e.Id.Equal(oidAuthorityKeyIDExt) {
			hasAKI = true
		}
	}
	if !hasAKI {
		p = append(p, "authority key identifier missing")
	}
	if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil && c.IsCA {
		p = append(p, "self-signed CA certificate")
	}
	if len(c.UnhandledCriticalExtensions) > 0 {
		p = append(p, "unknown critical extension")
	}
	return p
}
