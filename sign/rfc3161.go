package sign

// A minimal reader of RFC 3161 time-stamp tokens (a CMS SignedData, RFC 5652, whose content is a
// TSTInfo) and of time-stamp responses, on encoding/asn1. It reads DER only, which is what TSAs
// send and C2PA stores; BER (indefinite lengths, constructed strings) is refused with an error.
// Every slice it keeps is bounded by the input, and the number of certificates and signer infos
// it accepts is limited.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Limits on what a time-stamp token may hold.
const (
	// MaxTimeStampTokenSize is the largest token read (a TSA's token with its certificate chain is
	// a few kilobytes).
	MaxTimeStampTokenSize = 64 << 10
	maxTokenCerts         = 16
	maxSignerInfos        = 4
	maxSignedAttrs        = 32
)

var (
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidTSTInfo           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}
	oidAttrContentType   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidAttrMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSASSAPSS     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA2 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA3 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA5 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	oidEd25519       = asn1.ObjectIdentifier{1, 3, 101, 112}
)

// hashOID and hashFromOID map the digest algorithms a TSA may use.
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

func hashFromOID(o asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case o.Equal(oidSHA256):
		return crypto.SHA256, true
	case o.Equal(oidSHA384):
		return crypto.SHA384, true
	case o.Equal(oidSHA512):
		return crypto.SHA512, true
	}
	return 0, false
}

// ASN.1 structures (RFC 5652 §5, RFC 3161 §2.4).

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,optional,tag:0"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        asn1.RawValue `asn1:"optional,tag:0"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type issuerAndSerial struct {
	Issuer asn1.RawValue
	Serial *big.Int
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values asn1.RawValue `asn1:"set"`
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        time.Time        `asn1:"generalized"`
	Accuracy       accuracy         `asn1:"optional"`
	Ordering       bool             `asn1:"optional,default:false"`
	Nonce          *big.Int         `asn1:"optional"`
	TSA            asn1.RawValue    `asn1:"optional,tag:0"`
	Extensions     []pkix.Extension `asn1:"optional,tag:1"`
}

type timeStampReq struct {
	Version        int
	MessageImprint messageImprint
	ReqPolicy      asn1.ObjectIdentifier `asn1:"optional"`
	Nonce          *big.Int              `asn1:"optional"`
	CertReq        bool                  `asn1:"optional,default:false"`
	Extensions     []pkix.Extension      `asn1:"optional,tag:0"`
}

type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

type timeStampResp struct {
	Status         pkiStatusInfo
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

// tsToken is a parsed, not yet verified, time-stamp token.
type tsToken struct {
	raw      []byte // the ContentInfo
	certs    []*x509.Certificate
	signers  []signerInfo
	eContent []byte // the DER TSTInfo
	info     tstInfo
}

// tokenError is a problem with a token, with the C2PA status code c2pa-rs gives it.
type tokenError struct {
	code string
	msg  string
}

func (e *tokenError) Error() string { return e.msg }

func malformed(format string, a ...any) error {
	return &tokenError{CodeTimeStampMalformed, fmt.Sprintf(format, a...)}
}

// unmarshalDER decodes exactly one DER value into v: trailing bytes are an error.
func unmarshalDER(b []byte, v any, what string) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%s: %d bytes after the end", what, len(rest))
	}
	return nil
}

// unwrapToken returns the TimeStampToken (a CMS ContentInfo) held in b, which is either that
// ContentInfo (what sigTst2 stores) or a whole TimeStampResp (what v1 sigTst stores and what a
// TSA answers). A response whose status is not granted is an error naming the status.
func unwrapToken(b []byte) ([]byte, error) {
	if len(b) > MaxTimeStampTokenSize {
		return nil, malformed("time-stamp token of %d bytes is larger than the %d-byte limit", len(b), MaxTimeStampTokenSize)
	}
	var outer asn1.RawValue
	if err := unmarshalDER(b, &outer, "time-stamp token"); err != nil {
		return nil, malformed("the time-stamp is not DER: %v", err)
	}
	if outer.Class != asn1.ClassUniversal || outer.Tag != asn1.TagSequence || !outer.IsCompound {
		return nil, malformed("the time-stamp is not an ASN.1 SEQUENCE")
	}
	var first asn1.RawValue
	if _, err := asn1.Unmarshal(outer.Bytes, &first); err != nil {
		return nil, malformed("the time-stamp is empty or damaged: %v", err)
	}
	if first.Class == asn1.ClassUniversal && first.Tag == asn1.TagOID {
		return b, nil // a ContentInfo
	}
	var resp timeStampResp
	if err := unmarshalDER(b, &resp, "TimeStampResp"); err != nil {
		return nil, malformed("the time-stamp is neither a token nor a response: %v", err)
	}
	if err := resp.Status.err(); err != nil {
		return nil, &tokenError{CodeTimeStampMalformed, err.Error()}
	}
	if len(resp.TimeStampToken.FullBytes) == 0 {
		return nil, malformed("the time-stamp response holds no token")
	}
	return resp.TimeStampToken.FullBytes, nil
}

// err describes a status that is neither granted (0) nor grantedWithMods (1).
func (s pkiStatusInfo) err() error {
	if s.Status == 0 || s.Status == 1 {
		return nil
	}
	names := map[int]string{2: "rejection", 3: "waiting", 4: "revocationWarning", 5: "revocationNotification"}
	name, ok := names[s.Status]
	if !ok {
		name = fmt.Sprintf("status %d", s.Status)
	}
	msg := "the time-stamp authority refused the request: " + name
	if len(s.StatusString) > 0 {
		txt := s.StatusString[0]
		if len(txt) > 200 {
			txt = txt[:200] + "…"
		}
		msg += fmt.Sprintf(" (%q)", txt)
	}
	failNames := []string{0: "badAlg", 2: "badRequest", 5: "badDataFormat", 14: "timeNotAvailable", 15: "unacceptedPolicy", 16: "unacceptedExtension", 17: "addInfoNotAvailable", 25: "systemFailure"}
	for i, n := range failNames {
		if n != "" && s.FailInfo.At(i) == 1 {
			msg += ", " + n
		}
	}
	return errors.New(msg)
}

// parseToken reads a TimeStampToken (or a TimeStampResp holding one): the SignedData, its
// certificates and its TSTInfo. It checks the structure only, not the signature.
func parseToken(b []byte) (*tsToken, error) {
	raw, err := unwrapToken(b)
	if err != nil {
		return nil, err
	}
	var ci contentInfo
	if err := unmarshalDER(raw, &ci, "ContentInfo"); err != nil {
		return nil, malformed("the time-stamp token is not a CMS ContentInfo: %v", err)
	}
	if !ci.ContentType.Equal(oidSignedData) {
		return nil, malformed("the time-stamp token's content is %v, not SignedData", ci.ContentType)
	}
	var sd signedData
	if err := unmarshalDER(ci.Content.Bytes, &sd, "SignedData"); err != nil {
		return nil, malformed("the time-stamp token's SignedData does not parse: %v", err)
	}
	if !sd.EncapContentInfo.EContentType.Equal(oidTSTInfo) {
		return nil, malformed("the time-stamp token signs %v, not a TSTInfo", sd.EncapContentInfo.EContentType)
	}
	if len(sd.EncapContentInfo.EContent) == 0 {
		return nil, malformed("the time-stamp token has no TSTInfo")
	}
	if len(sd.SignerInfos) == 0 || len(sd.SignerInfos) > maxSignerInfos {
		return nil, malformed("the time-stamp token has %d signer infos", len(sd.SignerInfos))
	}
	t := &tsToken{raw: raw, signers: sd.SignerInfos, eContent: sd.EncapContentInfo.EContent}
	if err := unmarshalDER(t.eContent, &t.info, "TSTInfo"); err != nil {
		return nil, malformed("the time-stamp's TSTInfo does not parse: %v", err)
	}
	if t.info.Version != 1 {
		return nil, malformed("TSTInfo version %d, want 1", t.info.Version)
	}
	rest := sd.Certificates.Bytes
	for len(rest) > 0 {
		var rv asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &rv); err != nil {
			return nil, malformed("the time-stamp token's certificates do not parse: %v", err)
		}
		if rv.Class != asn1.ClassUniversal || rv.Tag != asn1.TagSequence {
			continue // an attribute certificate or another CertificateChoices: not used
		}
		if len(t.certs) == maxTokenCerts {
			return nil, malformed("the time-stamp token holds more than %d certificates", maxTokenCerts)
		}
		c, err := x509.ParseCertificate(rv.FullBytes)
		if err != nil {
			return nil, malformed("a certificate in the time-stamp token does not parse: %v", err)
		}
		t.certs = append(t.certs, c)
	}
	return t, nil
}

// signerCert finds the certificate a signer info names.
func (t *tsToken) signerCert(si *signerInfo) *x509.Certificate {
	sid := si.SID
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence:
		var ias issuerAndSerial
		if unmarshalDER(sid.FullBytes, &ias, "IssuerAndSerialNumber") != nil || ias.Serial == nil {
			return nil
		}
		for _, c := range t.certs {
			if bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.Serial) == 0 {
				return c
			}
		}
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0 && !sid.IsCompound:
		for _, c := range t.certs {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c
			}
		}
	}
	return nil
}

// verifySignature checks the CMS signature of the token: some signer info, signed by a
// certificate in the token, whose signed attributes carry the TSTInfo's digest. It returns that
// certificate. The error is a *tokenError with c2pa-rs's status code.
func (t *tsToken) verifySignature() (*x509.Certificate, error) {
	if len(t.certs) == 0 {
		return nil, &tokenError{CodeTimeStampUntrusted, "the time-stamp token holds no certificate (it was requested without certReq)"}
	}
	var last error = &tokenError{CodeTimeStampUntrusted, "no signer of the time-stamp token is among its certificates"}
	for i := range t.signers {
		si := &t.signers[i]
		cert := t.signerCert(si)
		if cert == nil {
			continue
		}
		if err := t.verifySigner(si, cert); err != nil {
			last = err
			continue
		}
		return cert, nil
	}
	return nil, last
}

func (t *tsToken) verifySigner(si *signerInfo, cert *x509.Certificate) error {
	h, ok := hashFromOID(si.DigestAlgorithm.Algorithm)
	if !ok {
		if si.DigestAlgorithm.Algorithm.Equal(oidSHA1) {
			return malformed("the time-stamp token is signed over SHA-1, which is not accepted")
		}
		return malformed("the time-stamp token's digest algorithm %v is not supported", si.DigestAlgorithm.Algorithm)
	}
	signed := t.eContent
	if len(si.SignedAttrs.FullBytes) > 0 {
		// The signature covers the attributes DER-encoded as a SET OF (tag 0x31), not with the
		// [0] IMPLICIT tag they carry in the SignerInfo.
		signed = append([]byte{0x31}, si.SignedAttrs.FullBytes[1:]...)
		var attrs []attribute
		if rest, err := asn1.UnmarshalWithParams(signed, &attrs, "set"); err != nil || len(rest) != 0 {
			return malformed("the time-stamp's signed attributes do not parse: %v", err)
		}
		if len(attrs) > maxSignedAttrs {
			return malformed("the time-stamp has %d signed attributes", len(attrs))
		}
		var digest []byte
		var sawDigest, sawType bool
		for _, a := range attrs {
			switch {
			case a.Type.Equal(oidAttrMessageDigest):
				if sawDigest {
					return malformed("the time-stamp has two message-digest attributes")
				}
				sawDigest = true
				if err := unmarshalDER(a.Values.Bytes, &digest, "message digest"); err != nil {
					return malformed("the time-stamp's message-digest attribute must hold one OCTET STRING: %v", err)
				}
			case a.Type.Equal(oidAttrContentType):
				sawType = true
				var ct asn1.ObjectIdentifier
				if err := unmarshalDER(a.Values.Bytes, &ct, "content type"); err != nil || !ct.Equal(oidTSTInfo) {
					return malformed("the time-stamp's content-type attribute is not id-ct-TSTInfo")
				}
			}
		}
		if !sawDigest || !sawType {
			return malformed("the time-stamp's signed attributes lack the message digest or the content type")
		}
		d := h.New()
		d.Write(t.eContent)
		if !bytes.Equal(d.Sum(nil), digest) {
			return &tokenError{CodeTimeStampMismatch, "the time-stamp's TSTInfo does not match the digest its authority signed: the time-stamp was altered"}
		}
	}
	if err := checkCMSSignature(cert, si.SignatureAlgorithm.Algorithm, h, signed, si.Signature); err != nil {
		return &tokenError{CodeTimeStampUntrusted, "the time-stamp authority's signature does not verify with its certificate: " + err.Error()}
	}
	return nil
}

// checkCMSSignature verifies sig over signed with the certificate's key. The signature
// algorithm names the key kind (and sometimes the hash, which must then be the digest's).
func checkCMSSignature(cert *x509.Certificate, alg asn1.ObjectIdentifier, h crypto.Hash, signed, sig []byte) error {
	if k, ok := cert.PublicKey.(ed25519.PublicKey); ok {
		if !alg.Equal(oidEd25519) {
			return fmt.Errorf("algorithm %v does not fit an Ed25519 key", alg)
		}
		if !ed25519.Verify(k, signed, sig) {
			return errors.New("Ed25519 signature invalid")
		}
		return nil
	}
	named := map[string]crypto.Hash{
		oidSHA256WithRSA.String(): crypto.SHA256, oidSHA384WithRSA.String(): crypto.SHA384, oidSHA512WithRSA.String(): crypto.SHA512,
		oidECDSAWithSHA2.String(): crypto.SHA256, oidECDSAWithSHA3.String(): crypto.SHA384, oidECDSAWithSHA5.String(): crypto.SHA512,
	}
	if nh, ok := named[alg.String()]; ok && nh != h {
		return fmt.Errorf("signature algorithm %v does not use the digest algorithm %v", alg, h)
	}
	d := h.New()
	d.Write(signed)
	digest := d.Sum(nil)
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		switch {
		case alg.Equal(oidRSAEncryption), alg.Equal(oidSHA256WithRSA), alg.Equal(oidSHA384WithRSA), alg.Equal(oidSHA512WithRSA):
			return rsa.VerifyPKCS1v15(k, h, digest, sig)
		case alg.Equal(oidRSASSAPSS):
			return rsa.VerifyPSS(k, h, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto, Hash: h})
		}
	case *ecdsa.PublicKey:
		switch {
		case alg.Equal(oidECPublicKey), alg.Equal(oidECDSAWithSHA2), alg.Equal(oidECDSAWithSHA3), alg.Equal(oidECDSAWithSHA5):
			if !ecdsa.VerifyASN1(k, digest, sig) {
				return errors.New("ECDSA signature invalid")
			}
			return nil
		}
	default:
		return fmt.Errorf("unsupported key type %T", k)
	}
	return fmt.Errorf("algorithm %v does not fit a %T key", alg, cert.PublicKey)
}
