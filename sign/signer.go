// Package sign makes and checks the COSE_Sign1 signatures of C2PA claims.
//
// A Signer pairs any sigstore signature.Signer (a key in a PEM file, in memory, or in a KMS)
// with the X.509 certificate chain that names it. It knows nothing of C2PA assertions: it signs
// the claim bytes it is given and returns a tagged COSE_Sign1 padded to a size fixed in advance,
// so a manifest store can be laid out before the signature exists.
package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
	"github.com/veraison/go-cose"
)

// Algorithm is a COSE signature algorithm that C2PA allows.
type Algorithm string

// The algorithms C2PA allows (spec §13.2). PKCS#1 v1.5 RSA is not among them.
const (
	ES256   Algorithm = "ES256"
	ES384   Algorithm = "ES384"
	ES512   Algorithm = "ES512"
	PS256   Algorithm = "PS256"
	PS384   Algorithm = "PS384"
	PS512   Algorithm = "PS512"
	Ed25519 Algorithm = "Ed25519"
)

func (a Algorithm) cose() cose.Algorithm {
	switch a {
	case ES256:
		return cose.AlgorithmES256
	case ES384:
		return cose.AlgorithmES384
	case ES512:
		return cose.AlgorithmES512
	case PS256:
		return cose.AlgorithmPS256
	case PS384:
		return cose.AlgorithmPS384
	case PS512:
		return cose.AlgorithmPS512
	case Ed25519:
		return cose.AlgorithmEdDSA
	}
	return 0
}

func (a Algorithm) hash() crypto.Hash {
	switch a {
	case ES256, PS256:
		return crypto.SHA256
	case ES384, PS384:
		return crypto.SHA384
	case ES512, PS512:
		return crypto.SHA512
	}
	return 0 // Ed25519 signs the message itself
}

func algorithmFromCOSE(a cose.Algorithm) (Algorithm, bool) {
	for _, x := range []Algorithm{ES256, ES384, ES512, PS256, PS384, PS512, Ed25519} {
		if x.cose() == a {
			return x, true
		}
	}
	return "", false
}

// AlgorithmFor returns the algorithm that fits a public key: the ECDSA curve decides ES256/384/512,
// RSA gets PS256, Ed25519 gets Ed25519.
func AlgorithmFor(pub crypto.PublicKey) (Algorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return ES256, nil
		case elliptic.P384():
			return ES384, nil
		case elliptic.P521():
			return ES512, nil
		}
		return "", fmt.Errorf("ECDSA curve %s is not allowed by C2PA (P-256, P-384 or P-521)", k.Curve.Params().Name)
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("RSA key of %d bits is too short: C2PA needs at least 2048", k.N.BitLen())
		}
		return PS256, nil
	case ed25519.PublicKey:
		return Ed25519, nil
	}
	return "", fmt.Errorf("unsupported public key type %T", pub)
}

// signatureLen is the length of a raw COSE signature for the key.
func signatureLen(pub crypto.PublicKey) int {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return 2 * ((k.Curve.Params().BitSize + 7) / 8)
	case *rsa.PublicKey:
		return (k.N.BitLen() + 7) / 8
	case ed25519.PublicKey:
		return ed25519.SignatureSize
	}
	return 0
}

// Signer signs C2PA claims. It is safe for concurrent use when its signature.Signer is.
type Signer struct {
	signer      signature.Signer
	pub         crypto.PublicKey
	alg         Algorithm
	chain       []*x509.Certificate
	chainDER    [][]byte
	development bool
	tsa         TimeStamper

	// Computed once by New, as they are the same for every signature: the protected header
	// (with the chain) and its encoding, and the length of a COSE_Sign1 whose unprotected
	// header is an empty "pad".
	prot    cose.ProtectedHeader
	rawProt []byte
	base    int
}

// Option configures New.
type Option func(*Signer)

// Development marks the signer as a development signer: every report of a file it signs says so.
func Development() Option { return func(s *Signer) { s.development = true } }

// WithTimeStamper makes the signer time-stamp every signature: after signing a claim it asks ts
// for an RFC 3161 token over the signature and stores it in the COSE unprotected header as C2PA's
// sigTst2. The reserved signature size grows by TimeStampReserve bytes.
func WithTimeStamper(ts TimeStamper) Option { return func(s *Signer) { s.tsa = ts } }

// WithAlgorithm overrides the algorithm chosen from the key (for RSA: PS384 or PS512).
func WithAlgorithm(a Algorithm) Option { return func(s *Signer) { s.alg = a } }

// New makes a Signer from a sigstore signer and its certificate chain (leaf first, the root may
// be left out; a self-signed root at the end is not embedded in the signatures' x5chain). The
// leaf's public key must be the signer's. For RSA keys the signer must sign RSASSA-PSS with a
// salt as long as the hash (LoadRSAPSSSignerVerifier with rsa.PSSSaltLengthEqualsHash);
// PKCS#1 v1.5 signers are refused.
func New(s signature.Signer, chain []*x509.Certificate, opts ...Option) (*Signer, error) {
	if s == nil {
		return nil, errors.New("sign: no signer")
	}
	if len(chain) == 0 {
		return nil, errors.New("sign: no certificate chain: C2PA needs at least the signing certificate")
	}
	if _, ok := s.(*signature.RSAPKCS1v15Signer); ok {
		return nil, errors.New("sign: RSA PKCS#1 v1.5 signatures are not allowed by C2PA; load the key as RSASSA-PSS")
	}
	if _, ok := s.(*signature.RSAPKCS1v15SignerVerifier); ok {
		return nil, errors.New("sign: RSA PKCS#1 v1.5 signatures are not allowed by C2PA; load the key as RSASSA-PSS")
	}
	pub, err := s.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("sign: reading the signer's public key: %w", err)
	}
	if !samePublicKey(pub, chain[0].PublicKey) {
		return nil, errors.New("sign: the signing certificate does not match the key")
	}
	alg, err := AlgorithmFor(pub)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sg := &Signer{signer: s, pub: pub, alg: alg, chain: chain}
	for _, o := range opts {
		o(sg)
	}
	if sg.alg.cose() == 0 {
		return nil, fmt.Errorf("sign: unknown algorithm %q", sg.alg)
	}
	for _, c := range embeddedChain(chain) {
		sg.chainDER = append(sg.chainDER, c.Raw)
	}
	sg.prot = sg.protected()
	h := cose.Headers{Protected: sg.prot}
	if sg.rawProt, err = h.MarshalProtected(); err != nil {
		return nil, fmt.Errorf("sign: encoding the protected header: %w", err)
	}
	sg.base = len(sg.marshal(make([]byte, signatureLen(sg.pub)), nil))
	if sg.base == 0 {
		return nil, errors.New("sign: cannot encode a signature")
	}
	return sg, nil
}

// embeddedChain is the part of chain that goes into x5chain: all of it but a self-signed root
// at its end. A validator trusts a root only from its own trust list, never from the file, so
// an embedded root proves nothing (RFC 9360 lets x5chain leave out what the relying party
// already has); it is 400-1,500 bytes of every manifest, and three times that in a plain-text
// label. The signing certificate itself always stays, even when self-signed.
func embeddedChain(chain []*x509.Certificate) []*x509.Certificate {
	if n := len(chain); n > 1 {
		if root := chain[n-1]; bytes.Equal(root.RawIssuer, root.RawSubject) && root.CheckSignatureFrom(root) == nil {
			return chain[:n-1]
		}
	}
	return chain
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// Algorithm returns the signature algorithm.
func (s *Signer) Algorithm() Algorithm { return s.alg }

// Certificate returns the signing certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.chain[0] }

// Chain returns the certificate chain as configured, leaf first (x5chain carries it without a
// self-signed root at its end).
func (s *Signer) Chain() []*x509.Certificate { return append([]*x509.Certificate(nil), s.chain...) }

// IsDevelopment reports whether this is a development signer.
func (s *Signer) IsDevelopment() bool { return s.development }

// coseSigner adapts a sigstore signer to go-cose. ECDSA signatures come back from sigstore as
// ASN.1 DER and are converted to the raw r‖s that COSE requires.
type coseSigner struct{ s *Signer }

func (c coseSigner) Algorithm() cose.Algorithm { return c.s.alg.cose() }

func (c coseSigner) Sign(_ io.Reader, toBeSigned []byte) ([]byte, error) {
	var opts []signature.SignOption
	if h := c.s.alg.hash(); h != 0 {
		opts = append(opts, options.WithCryptoSignerOpts(h))
	}
	sig, err := c.s.signer.SignMessage(bytes.NewReader(toBeSigned), opts...)
	if err != nil {
		return nil, err
	}
	if k, ok := c.s.pub.(*ecdsa.PublicKey); ok {
		return derToRaw(sig, (k.Curve.Params().BitSize+7)/8)
	}
	return sig, nil
}

func derToRaw(der []byte, n int) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &rs)
	if err != nil || len(rest) != 0 || rs.R == nil || rs.S == nil {
		if len(der) == 2*n { // already raw
			return der, nil
		}
		return nil, errors.New("ECDSA signature is neither DER nor raw r‖s")
	}
	if rs.R.Sign() <= 0 || rs.S.Sign() <= 0 || rs.R.BitLen() > 8*n || rs.S.BitLen() > 8*n {
		return nil, errors.New("ECDSA signature values out of range")
	}
	out := make([]byte, 2*n)
	rs.R.FillBytes(out[:n])
	rs.S.FillBytes(out[n:])
	return out, nil
}

// TimeStampReserve is the room SignatureSize keeps for a time-stamp token when the signer has a
// TimeStamper, as c2pa-rs does. A TSA whose tokens (with their certificates) are larger makes
// signing fail with an error that says so.
const TimeStampReserve = 10000

// SignatureSize is the length of every COSE_Sign1 this signer returns: the protected header,
// the chain, the signature and an empty "pad", plus, with a TimeStamper, room for a time-stamp
// token. Without one the length is known before signing (the signature's length is fixed by
// the key), so nothing more is reserved: c2pa-rs keeps 1,024 bytes more for OCSP responses it
// may add later, which ailabel never does, and in a text label every reserved byte costs three
// bytes of invisible characters.
func (s *Signer) SignatureSize() int {
	n := s.base
	if s.tsa != nil {
		n += TimeStampReserve
	}
	return n
}

// HasTimeStamper reports whether the signer time-stamps its signatures.
func (s *Signer) HasTimeStamper() bool { return s.tsa != nil }

// protected returns the protected header bucket: the algorithm and the x5chain (label 33), as
// C2PA requires writers to put it.
func (s *Signer) protected() cose.ProtectedHeader {
	var chain any
	if len(s.chainDER) == 1 {
		chain = s.chainDER[0]
	} else {
		chain = s.chainDER
	}
	return cose.ProtectedHeader{
		cose.HeaderLabelAlgorithm: s.alg.cose(),
		cose.HeaderLabelX5Chain:   chain,
	}
}

// marshal encodes the COSE_Sign1 with the signature and the unprotected header (nil: an empty
// "pad").
func (s *Signer) marshal(sig []byte, unprotected cose.UnprotectedHeader) []byte {
	if unprotected == nil {
		unprotected = cose.UnprotectedHeader{"pad": []byte{}}
	}
	msg := cose.Sign1Message{
		Headers:   cose.Headers{Protected: s.prot, RawProtected: s.rawProt, Unprotected: unprotected},
		Signature: sig,
	}
	b, err := msg.MarshalCBOR()
	if err != nil {
		return nil
	}
	return b
}

// SignClaim signs the claim's CBOR bytes and returns a tagged COSE_Sign1 with a detached payload,
// padded with zero bytes in the unprotected "pad" header to exactly SignatureSize bytes. With a
// TimeStamper it is SignClaimContext with a background context (the TimeStamper's own time
// limit applies).
func (s *Signer) SignClaim(claim []byte) ([]byte, error) {
	return s.SignClaimContext(context.Background(), claim)
}

// SignClaimContext is SignClaim; ctx bounds the request to the time-stamp authority.
func (s *Signer) SignClaimContext(ctx context.Context, claim []byte) ([]byte, error) {
	msg := cose.NewSign1Message()
	msg.Headers.Protected, msg.Headers.RawProtected = s.prot, s.rawProt
	msg.Payload = claim
	if err := msg.Sign(rand.Reader, nil, coseSigner{s}); err != nil {
		return nil, fmt.Errorf("sign: signing the claim: %w", err)
	}
	if want := signatureLen(s.pub); len(msg.Signature) != want {
		return nil, fmt.Errorf("sign: the signer returned %d signature bytes, want %d", len(msg.Signature), want)
	}
	unprotected := cose.UnprotectedHeader{}
	if s.tsa != nil {
		token, err := s.timeStamp(ctx, msg)
		if err != nil {
			return nil, err
		}
		unprotected[headerSigTst2] = sigTst2Header(token)
	}
	return s.pad(msg.Signature, unprotected, s.SignatureSize())
}

// timeStamp gets a token over the signature (v2: the countersignature structure of the
// signature as a bstr) and checks it before it is embedded.
func (s *Signer) timeStamp(ctx context.Context, msg *cose.Sign1Message) ([]byte, error) {
	protected, err := msg.Headers.MarshalProtected()
	if err != nil {
		return nil, fmt.Errorf("sign: encoding the protected header: %w", err)
	}
	payload, err := v2Payload(msg.Signature)
	if err != nil {
		return nil, fmt.Errorf("sign: encoding the signature: %w", err)
	}
	data, err := countersignData(protected, payload)
	if err != nil {
		return nil, fmt.Errorf("sign: encoding the countersignature structure: %w", err)
	}
	digest := sha256.Sum256(data)
	token, err := s.tsa.TimeStamp(ctx, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign: time-stamping the signature: %w", err)
	}
	// Keep only a token that verifies over this signature (any TimeStamper may be plugged in).
	c := CheckTimeStampToken(token, data, nil)
	if c.TimeStamp == nil {
		why := "the token does not verify"
		if len(c.Information) > 0 {
			why = c.Information[0].Explanation
		}
		return nil, fmt.Errorf("sign: the time-stamp authority's token is not usable: %s", why)
	}
	raw, err := unwrapToken(token)
	if err != nil {
		return nil, fmt.Errorf("sign: the time-stamp token: %w", err)
	}
	return raw, nil
}

// pad encodes the COSE_Sign1 with zero padding that brings it to exactly target bytes: a "pad"
// bstr, and a "pad2" bstr for the few lengths one pad cannot reach (a bstr header grows from 1
// to 2 to 3 bytes at lengths 24 and 256).
func (s *Signer) pad(sig []byte, unprotected cose.UnprotectedHeader, target int) ([]byte, error) {
	h := cose.UnprotectedHeader{}
	for k, v := range unprotected {
		h[k] = v
	}
	h["pad"] = []byte{}
	base := s.base // with no other header, a signature of signatureLen bytes
	if len(unprotected) > 0 || len(sig) != signatureLen(s.pub) {
		base = len(s.marshal(sig, h))
	}
	if base == 0 {
		return nil, errors.New("sign: cannot encode the signature")
	}
	extra := target - base
	if extra < 0 {
		if s.tsa != nil {
			return nil, fmt.Errorf("sign: the signature with its time-stamp is %d bytes, over the %d reserved (the TSA's token is too large; TimeStampReserve is %d)", base, target, TimeStampReserve)
		}
		return nil, fmt.Errorf("sign: the signature is %d bytes, over the %d reserved", base, target)
	}
	p1, p2, ok := padLengths(extra)
	if !ok {
		return nil, fmt.Errorf("sign: cannot pad the signature from %d to %d bytes", base, target)
	}
	h["pad"] = make([]byte, p1)
	if p2 >= 0 {
		h["pad2"] = make([]byte, p2)
	}
	out := s.marshal(sig, h)
	if len(out) != target {
		return nil, fmt.Errorf("sign: padded signature is %d bytes, want %d", len(out), target)
	}
	return out, nil
}

// bstrHeader is the length of a CBOR byte-string header for n bytes.
func bstrHeader(n int) int {
	switch {
	case n < 24:
		return 1
	case n < 1<<8:
		return 2
	case n < 1<<16:
		return 3
	case n < 1<<32:
		return 5
	}
	return 9
}

// padLengths splits extra bytes (over an empty "pad") into a "pad" of p1 zero bytes and, when
// needed, a "pad2" of p2 bytes (p2 < 0: no pad2). A pad of p bytes adds bstrHeader(p)+p-1 bytes;
// a pad2 adds its 5-byte key and bstrHeader(p2)+p2.
func padLengths(extra int) (p1, p2 int, ok bool) {
	single := func(e int) (int, bool) {
		for _, hl := range []int{1, 2, 3, 5} {
			p := e + 1 - hl
			if p >= 0 && bstrHeader(p) == hl {
				return p, true
			}
		}
		return 0, false
	}
	if p, ok := single(extra); ok {
		return p, -1, true
	}
	for q := 0; q < 24; q++ {
		if p, ok := single(extra - 5 - bstrHeader(q) - q); ok {
			return p, q, true
		}
	}
	return 0, 0, false
}
