package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// C2PA status codes about time-stamps (spec §15.2.2). As in c2pa-rs, a time-stamp that fails is
// informational: the signature is then judged as if it had none.
const (
	CodeTimeStampValidated       = "timeStamp.validated"       // success: the token is good and covers this signature
	CodeTimeStampTrusted         = "timeStamp.trusted"         // success: the TSA chains to a trust anchor
	CodeTimeStampUntrusted       = "timeStamp.untrusted"       // informational: TSA not trusted, or its signature fails
	CodeTimeStampMismatch        = "timeStamp.mismatch"        // informational: the token does not match this signature, or was altered
	CodeTimeStampMalformed       = "timeStamp.malformed"       // informational: the token cannot be read
	CodeTimeStampOutsideValidity = "timeStamp.outsideValidity" // informational: the TSA certificate was not valid at the time stamped
)

// Header labels of C2PA time-stamps in the COSE unprotected bucket (spec §10.3.2.5).
const (
	headerSigTst2 = "sigTst2" // v2: TimeStampTokens over the signature
	headerSigTst  = "sigTst"  // v1 (deprecated): TimeStampResps over the claim
)

// TimeStamper gets RFC 3161 time-stamp tokens: given the digest of some data and its hash
// algorithm, it returns the DER TimeStampToken (a CMS ContentInfo) a time-stamp authority
// issued for it. TSAClient is the HTTP implementation.
type TimeStamper interface {
	TimeStamp(ctx context.Context, digest []byte, hash crypto.Hash) (tokenDER []byte, err error)
}

// TimeStamp is what a validated RFC 3161 time-stamp says.
type TimeStamp struct {
	Time         time.Time             // genTime: when the TSA saw the signature
	TSA          *x509.Certificate     // the certificate that signed the token
	Certificates []*x509.Certificate   // every certificate the token carries
	Hash         crypto.Hash           // hash algorithm of the message imprint
	Serial       *big.Int              // the token's serial number
	Policy       asn1.ObjectIdentifier // the TSA's policy
	Version      int                   // 2 for sigTst2, 1 for the deprecated sigTst
	Trusted      bool                  // the TSA certificate chains to a trust anchor, with the timeStamping usage
}

// TimeStampCheck is what checking one time-stamp token found.
type TimeStampCheck struct {
	// TimeStamp is set when the token is validated (it matches the data and its signature is
	// good), trusted or not.
	TimeStamp   *TimeStamp
	Success     []Finding
	Information []Finding
}

func (c *TimeStampCheck) info(code, why string) {
	c.Information = append(c.Information, Finding{code, why})
}

// CheckTimeStampToken verifies an RFC 3161 token (a TimeStampToken, or a TimeStampResp holding
// one) over data: its CMS signature by the TSA certificate it carries, the TSA certificate's
// validity at the time stamped, the message imprint against the hash of data, and the TSA chain
// against trust with the timeStamping usage, at the time stamped.
func CheckTimeStampToken(token, data []byte, trust *TrustStore) TimeStampCheck {
	var c TimeStampCheck
	t, err := parseToken(token)
	if err != nil {
		c.info(tokenCode(err), err.Error())
		return c
	}
	cert, err := t.verifySignature()
	if err != nil {
		c.info(tokenCode(err), err.Error())
		return c
	}
	gen := t.info.GenTime
	if gen.Before(cert.NotBefore) || gen.After(cert.NotAfter) {
		c.info(CodeTimeStampOutsideValidity, fmt.Sprintf("the time-stamp authority's certificate is valid from %s to %s, not at the time stamped, %s",
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339), gen.UTC().Format(time.RFC3339)))
		return c
	}
	h, ok := hashFromOID(t.info.MessageImprint.HashAlgorithm.Algorithm)
	if !ok {
		c.info(CodeTimeStampUntrusted, fmt.Sprintf("the time-stamp's imprint uses hash algorithm %v, which is not supported", t.info.MessageImprint.HashAlgorithm.Algorithm))
		return c
	}
	d := h.New()
	d.Write(data)
	if !bytes.Equal(d.Sum(nil), t.info.MessageImprint.HashedMessage) {
		c.info(CodeTimeStampMismatch, "the time-stamp was issued for other data, not this signature: "+tsaName(cert))
		return c
	}
	ts := &TimeStamp{Time: gen, TSA: cert, Certificates: t.certs, Hash: h, Serial: t.info.SerialNumber, Policy: t.info.Policy}
	c.TimeStamp = ts
	c.Success = append(c.Success, Finding{CodeTimeStampValidated, "time-stamp message digest matched: " + tsaName(cert)})
	if why := trustTSA(cert, t.certs, gen, trust); why != "" {
		c.info(CodeTimeStampUntrusted, "time-stamp authority untrusted: "+tsaName(cert)+": "+why)
		return c
	}
	ts.Trusted = true
	c.Success = append(c.Success, Finding{CodeTimeStampTrusted, "time-stamp authority trusted: " + tsaName(cert)})
	return c
}

func tokenCode(err error) string {
	var te *tokenError
	if errors.As(err, &te) {
		return te.code
	}
	return CodeTimeStampMalformed
}

func tsaName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	return c.Subject.String()
}

// trustTSA judges a TSA certificate: the id-kp-timeStamping usage (RFC 3161 §2.3), then a chain
// to an anchor at the time stamped. It returns why it is not trusted, or "".
func trustTSA(cert *x509.Certificate, pool []*x509.Certificate, at time.Time, trust *TrustStore) string {
	stamping := false
	for _, u := range cert.ExtKeyUsage {
		stamping = stamping || u == x509.ExtKeyUsageTimeStamping
	}
	if !stamping {
		return "its certificate lacks the timeStamping extended key usage"
	}
	if cert.IsCA {
		return "its certificate is a CA certificate"
	}
	if trust.Len() == 0 {
		return "no trust anchors are configured"
	}
	inter := x509.NewCertPool()
	for _, c := range pool {
		if c != cert {
			inter.AddCert(c)
		}
	}
	_, err := cert.Verify(x509.VerifyOptions{
		Roots: trust.roots, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return err.Error()
	}
	return ""
}

// countersignData is what a C2PA time-stamp's message imprint hashes (spec §10.3.2.5, the
// COSE countersignature structure with no sign_protected): the CBOR array
// ["CounterSignature", protected, h”, payload], where protected is the body's protected header
// as it was encoded (a bstr) and payload the data stamped. For v2 that payload is the claim
// signature CBOR-encoded as a bstr (header included); for v1 it is the claim.
func countersignData(protected cbor.RawMessage, payload []byte) ([]byte, error) {
	return cbor.Marshal([]any{"CounterSignature", protected, []byte{}, payload})
}

// v2Payload is the payload a sigTst2 token covers: the signature as a CBOR bstr.
func v2Payload(signature []byte) ([]byte, error) {
	return cbor.Marshal(signature)
}

// checkSigTst reads the C2PA time-stamp header of a decoded COSE_Sign1 and checks its token.
// It returns nil when the signature has no time-stamp.
func checkSigTst(msg *cose.Sign1Message, claim []byte, trust *TrustStore) *TimeStampCheck {
	version := 2
	v, ok := msg.Headers.Unprotected[headerSigTst2]
	if !ok {
		if v, ok = msg.Headers.Unprotected[headerSigTst]; !ok {
			return nil
		}
		version = 1
	}
	c := &TimeStampCheck{}
	token, why := tstToken(v)
	if why != "" {
		c.info(CodeTimeStampMalformed, why)
		return c
	}
	payload := claim
	if version == 2 {
		var err error
		if payload, err = v2Payload(msg.Signature); err != nil {
			c.info(CodeTimeStampMalformed, "cannot encode the signature: "+err.Error())
			return c
		}
	}
	protected := cbor.RawMessage(msg.Headers.RawProtected)
	if len(protected) == 0 {
		var err error
		if protected, err = msg.Headers.MarshalProtected(); err != nil {
			c.info(CodeTimeStampMalformed, "cannot encode the protected header: "+err.Error())
			return c
		}
	}
	data, err := countersignData(protected, payload)
	if err != nil {
		c.info(CodeTimeStampMalformed, "cannot build the countersignature structure: "+err.Error())
		return c
	}
	*c = CheckTimeStampToken(token, data, trust)
	if c.TimeStamp != nil {
		c.TimeStamp.Version = version
	}
	return c
}

// tstToken reads a tstContainer, {"tstTokens": [{"val": bstr}]}, which must hold exactly one
// token. It returns the token or why it cannot.
func tstToken(v any) ([]byte, string) {
	m, ok := v.(map[any]any)
	if !ok {
		return nil, "the time-stamp header is not a map"
	}
	list, ok := m["tstTokens"].([]any)
	if !ok {
		return nil, "the time-stamp header has no tstTokens array"
	}
	if len(list) != 1 {
		return nil, fmt.Sprintf("the time-stamp header holds %d tokens; exactly one is allowed", len(list))
	}
	tok, ok := list[0].(map[any]any)
	if !ok {
		return nil, "a tstToken is not a map"
	}
	val, ok := tok["val"].([]byte)
	if !ok || len(val) == 0 {
		return nil, "a tstToken has no val byte string"
	}
	return val, ""
}

// sigTst2Header is the unprotected header value that carries one token.
func sigTst2Header(token []byte) map[string]any {
	return map[string]any{"tstTokens": []any{map[string]any{"val": token}}}
}
