// Package tsatest runs a throwaway RFC 3161 time-stamp authority for tests: its own CA and TSA
// certificate (ECDSA P-256, extended key usage timeStamping, critical), made when the test
// starts, behind an httptest server that answers application/timestamp-query requests. Its
// clock can be set, so tests can make time-stamps in the past.
//
// It encodes its tokens itself, on encoding/asn1 (CMS SignedData over a TSTInfo, with the
// content-type, message-digest and ESS signing-certificate-v2 signed attributes), independently
// of the parser in package sign.
package tsatest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"
)

// Options configure New.
type Options struct {
	// Now is the TSA's clock (nil: time.Now). The certificates are valid from two days before
	// its time at New to a year after.
	Now func() time.Time
	// CommonName is the TSA certificate's subject CN (default "ailabel Test TSA").
	CommonName string
	// Certificate edits the TSA certificate's template before the CA signs it: to drop the
	// timeStamping usage (ExtraExtensions = nil) or to shift its validity.
	Certificate func(*x509.Certificate)
	// NoCertificates leaves the TSA certificate out of tokens, as a TSA does without certReq.
	NoCertificates bool
	// RSA gives the TSA an RSA-2048 key (PKCS #1 v1.5 signatures) instead of ECDSA P-256.
	RSA bool
}

// TSA is a running test time-stamp authority.
type TSA struct {
	CA   *x509.Certificate // the TSA's root, to put among the trust anchors
	Cert *x509.Certificate // the certificate that signs tokens
	URL  string            // where it answers time-stamp queries

	opts Options
	key  crypto.Signer
	srv  *httptest.Server

	mu       sync.Mutex
	tokens   [][]byte
	requests int
}

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMsgDigest     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningCert2  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	oidSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidECDSASHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidEKU           = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidTimeStamping  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	// Policy is the TSA policy its tokens name (an OID under the documentation arc).
	Policy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 1}
)

// New starts a TSA; it stops when the test ends.
func New(t testing.TB, o Options) *TSA {
	t.Helper()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.CommonName == "" {
		o.CommonName = "ailabel Test TSA"
	}
	a := &TSA{opts: o}
	if err := a.makeCerts(); err != nil {
		t.Fatalf("tsatest: %v", err)
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	a.URL = a.srv.URL
	return a
}

func (a *TSA) makeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := a.opts.Now().UTC()
	caSKI := keyID(&caKey.PublicKey)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"ailabel tests"}, CommonName: "ailabel Test TSA Root"},
		NotBefore:             now.Add(-72 * time.Hour),
		NotAfter:              now.Add(2 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          caSKI,
		AuthorityKeyId:        caSKI,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("creating the CA: %w", err)
	}
	if a.CA, err = x509.ParseCertificate(caDER); err != nil {
		return err
	}
	if a.opts.RSA {
		a.key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		a.key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return err
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"ailabel tests"}, CommonName: a.opts.CommonName},
		NotBefore:             now.Add(-48 * time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(a.key.Public()),
		// RFC 3161 §2.3: timeStamping must be the only extended key usage, and critical.
		ExtraExtensions: []pkix.Extension{{Id: oidEKU, Critical: true, Value: eku}},
	}
	if a.opts.Certificate != nil {
		a.opts.Certificate(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.CA, a.key.Public(), caKey)
	if err != nil {
		return fmt.Errorf("creating the TSA certificate: %w", err)
	}
	a.Cert, err = x509.ParseCertificate(der)
	return err
}

func keyID(pub crypto.PublicKey) []byte {
	b, _ := x509.MarshalPKIXPublicKey(pub)
	h := sha256.Sum256(b)
	return h[:20]
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1))
}

// KeyPEM is the TSA's private key in PKCS #8 PEM, for tests that have another program sign
// tokens with the same certificate.
func (a *TSA) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(a.key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// CertPEM is the TSA's certificate in PEM.
func (a *TSA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.Cert.Raw})
}

// CAPEM is the TSA's root certificate in PEM.
func (a *TSA) CAPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.CA.Raw})
}

// Close stops the server before the test ends (to test a TSA that has gone away).
func (a *TSA) Close() { a.srv.Close() }

// Client is an HTTP client for URL.
func (a *TSA) Client() *http.Client { return a.srv.Client() }

// Tokens returns every token issued so far, oldest first.
func (a *TSA) Tokens() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([][]byte(nil), a.tokens...)
}

// Requests is the number of HTTP requests served.
func (a *TSA) Requests() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests
}

// TimeStamp issues a token in process, without HTTP (it implements sign.TimeStamper).
func (a *TSA) TimeStamp(_ context.Context, digest []byte, h crypto.Hash) ([]byte, error) {
	return a.Token(digest, h, nil)
}

// ASN.1 of what the TSA writes (RFC 3161, RFC 5652, RFC 5035).

type algorithmIdentifier struct {
	Algorithm asn1.ObjectIdentifier
}

type messageImprint struct {
	HashAlgorithm algorithmIdentifier
	HashedMessage []byte
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        time.Time `asn1:"generalized"`
	Nonce          *big.Int  `asn1:"optional"`
}

type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional,default:false"`
	Extensions     asn1.RawValue         `asn1:"optional,tag:0"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

type timeStampResp struct {
	Status pkiStatusInfo
	Token  asn1.RawValue `asn1:"optional"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type signerInfo struct {
	Version            int
	SID                issuerAndSerial
	DigestAlgorithm    algorithmIdentifier
	SignedAttrs        asn1.RawValue
	SignatureAlgorithm algorithmIdentifier
	Signature          []byte
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []algorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue // [0] EXPLICIT, built by hand
}

func hashOID(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	switch h {
	case crypto.SHA256:
		return oidSHA256, true
	case crypto.SHA384:
		return oidSHA384, true
	case crypto.SHA512:
		return oidSHA512, true
	}
	return nil, false
}

func set(items ...[]byte) asn1.RawValue {
	sort.Slice(items, func(i, j int) bool { return bytes.Compare(items[i], items[j]) < 0 })
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSet, IsCompound: true, Bytes: bytes.Join(items, nil)}
}

// Token issues a DER TimeStampToken for digest (nonce may be nil).
func (a *TSA) Token(digest []byte, h crypto.Hash, nonce *big.Int) ([]byte, error) {
	return a.issue(digest, h, nonce, !a.opts.NoCertificates)
}

func (a *TSA) issue(digest []byte, h crypto.Hash, nonce *big.Int, withCert bool) ([]byte, error) {
	oid, ok := hashOID(h)
	if !ok || len(digest) != h.Size() {
		return nil, errors.New("tsatest: unsupported hash or wrong digest length")
	}
	info, err := asn1.Marshal(tstInfo{
		Version:        1,
		Policy:         Policy,
		MessageImprint: messageImprint{algorithmIdentifier{oid}, digest},
		SerialNumber:   serial(),
		GenTime:        a.opts.Now().UTC().Truncate(time.Second),
		Nonce:          nonce,
	})
	if err != nil {
		return nil, err
	}
	infoDigest := sha256.Sum256(info)
	certHash := sha256.Sum256(a.Cert.Raw)
	ctDER, _ := asn1.Marshal(oidTSTInfo)
	mdDER, _ := asn1.Marshal(infoDigest[:])
	// SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2 }, ESSCertIDv2 with the
	// default hash (SHA-256): SEQUENCE { certHash OCTET STRING }.
	scDER, _ := asn1.Marshal(struct{ Certs []struct{ Hash []byte } }{[]struct{ Hash []byte }{{certHash[:]}}})
	var attrs [][]byte
	for _, at := range []attribute{
		{oidContentType, set(ctDER)},
		{oidMsgDigest, set(mdDER)},
		{oidSigningCert2, set(scDER)},
	} {
		b, err := asn1.Marshal(at)
		if err != nil {
			return nil, err
		}
		attrs = append(attrs, b)
	}
	attrSet := set(attrs...)
	toSign, err := asn1.Marshal(attrSet)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(toSign)
	sig, err := a.key.Sign(rand.Reader, sum[:], crypto.SHA256) // ECDSA: ASN.1; RSA: PKCS #1 v1.5
	if err != nil {
		return nil, err
	}
	sigAlg := oidECDSASHA256
	if a.opts.RSA {
		sigAlg = oidSHA256WithRSA
	}
	si := signerInfo{
		Version:            1,
		SID:                issuerAndSerial{asn1.RawValue{FullBytes: a.Cert.RawIssuer}, a.Cert.SerialNumber},
		DigestAlgorithm:    algorithmIdentifier{oidSHA256},
		SignedAttrs:        asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: attrSet.Bytes},
		SignatureAlgorithm: algorithmIdentifier{sigAlg},
		Signature:          sig,
	}
	sd := signedData{
		Version:          3,
		DigestAlgorithms: []algorithmIdentifier{{oidSHA256}},
		EncapContentInfo: encapContentInfo{oidTSTInfo, info},
		SignerInfos:      []signerInfo{si},
	}
	if withCert {
		sd.Certificates = asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: a.Cert.Raw}
	}
	sdDER, err := asn1.Marshal(sd)
	if err != nil {
		return nil, err
	}
	tok, err := asn1.Marshal(contentInfo{oidSignedData, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sdDER}})
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.tokens = append(a.tokens, tok)
	a.mu.Unlock()
	return tok, nil
}

// serve answers one time-stamp query (RFC 3161 §3.4).
func (a *TSA) serve(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests++
	a.mu.Unlock()
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "POST an application/timestamp-query", http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	resp := timeStampResp{Status: pkiStatusInfo{Status: 0}}
	var req timeStampReq
	rest, err := asn1.Unmarshal(body, &req)
	var h crypto.Hash
	switch {
	case err != nil || len(rest) != 0 || req.Version != 1:
		resp.Status = pkiStatusInfo{Status: 2, StatusString: []string{"bad request"}, FailInfo: failBit(2)}
	case req.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA256):
		h = crypto.SHA256
	case req.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA384):
		h = crypto.SHA384
	case req.MessageImprint.HashAlgorithm.Algorithm.Equal(oidSHA512):
		h = crypto.SHA512
	default:
		resp.Status = pkiStatusInfo{Status: 2, StatusString: []string{"unsupported hash algorithm"}, FailInfo: failBit(0)}
	}
	if resp.Status.Status == 0 {
		tok, err := a.issue(req.MessageImprint.HashedMessage, h, req.Nonce, req.CertReq && !a.opts.NoCertificates)
		if err != nil {
			resp.Status = pkiStatusInfo{Status: 2, StatusString: []string{err.Error()}, FailInfo: failBit(5)}
		} else {
			resp.Token = asn1.RawValue{FullBytes: tok}
		}
	}
	out, err := asn1.Marshal(resp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(out)
}

// failBit is a PKIFailureInfo with bit n set.
func failBit(n int) asn1.BitString {
	b := make([]byte, n/8+1)
	b[n/8] = 0x80 >> (n % 8)
	return asn1.BitString{Bytes: b, BitLength: n + 1}
}
