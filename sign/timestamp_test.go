package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veraison/go-cose"

	"github.com/ailabel/ailabel/sign/tsatest"
)

// tsSigner is a P-256 signer (valid 48 hours) whose signatures tsa time-stamps over HTTP (none
// when tsa is nil), and its CA.
func tsSigner(t *testing.T, tsa *tsatest.TSA) (*Signer, *x509.Certificate) {
	t.Helper()
	cr, err := Generate("ailabel ts test", KeyP256, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	var opts []Option
	if tsa != nil {
		c, err := NewTSAClient(tsa.URL, tsa.Client())
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, WithTimeStamper(c))
	}
	s, err := LoadFiles(filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := ParseCertificatesPEM(cr.CACert)
	return s, ca[0]
}

func codesOf(f []Finding) []string {
	var out []string
	for _, x := range f {
		out = append(out, x.Code)
	}
	return out
}

var testClaim = []byte("\xa2\x63abc\x01\x63def\x02")

func TestTimeStampedSignature(t *testing.T) {
	tsa := tsatest.New(t, tsatest.Options{})
	s, ca := tsSigner(t, tsa)
	trust, signerTrust := NewTrustStore(ca, tsa.CA), NewTrustStore(ca)
	before := time.Now().Add(-time.Second)
	sig, err := s.SignClaimContext(t.Context(), testClaim)
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now().Add(time.Second)
	if len(sig) != s.SignatureSize() {
		t.Fatalf("signature %d bytes, want the reserved %d", len(sig), s.SignatureSize())
	}
	if tsa.Requests() != 1 {
		t.Fatalf("%d TSA requests, want 1", tsa.Requests())
	}
	r, err := VerifyClaimSignature(sig, testClaim, trust, time.Now())
	if err != nil || !r.Validated || !r.Trusted || len(r.Failure) != 0 {
		t.Fatalf("verify: err=%v validated=%v trusted=%v failures=%v", err, r.Validated, r.Trusted, r.Failure)
	}
	ts := r.TimeStamp
	if ts == nil || !ts.Trusted || ts.Version != 2 || ts.TSA.Subject.CommonName != "ailabel Test TSA" || ts.Hash != crypto.SHA256 {
		t.Fatalf("time-stamp %+v", ts)
	}
	if ts.Time.Before(before.Truncate(time.Second)) || ts.Time.After(after) || !r.SignedAt.Equal(ts.Time) {
		t.Fatalf("time-stamp time %v not between %v and %v (SignedAt %v)", ts.Time, before, after, r.SignedAt)
	}
	if got := strings.Join(codesOf(r.Success), " "); !strings.Contains(got, CodeTimeStampValidated) || !strings.Contains(got, CodeTimeStampTrusted) {
		t.Fatalf("success codes %s", got)
	}

	// Three days later the signer's certificate has expired, but the trusted time-stamp says it
	// signed while valid.
	later := time.Now().Add(72 * time.Hour)
	r, _ = VerifyClaimSignature(sig, testClaim, trust, later)
	if len(r.Failure) != 0 || !hasCode(r.Success, CodeInsideValidity) || !r.Trusted {
		t.Fatalf("expired now, valid at the time-stamp: failures %v success %v", r.Failure, codesOf(r.Success))
	}
	// The same signature with the TSA not trusted: reported, but not relied on (as c2pa-rs).
	r, _ = VerifyClaimSignature(sig, testClaim, signerTrust, later)
	if !hasCode(r.Failure, CodeCredentialExpired) || !hasCode(r.Information, CodeTimeStampUntrusted) ||
		!hasCode(r.Success, CodeTimeStampValidated) || r.TimeStamp == nil || r.TimeStamp.Trusted {
		t.Fatalf("untrusted TSA: failures %v info %v success %v", r.Failure, r.Information, codesOf(r.Success))
	}
	// Without any time-stamp, the expired certificate is expired.
	plain, _ := tsSigner(t, nil)
	psig, err := plain.SignClaim(testClaim)
	if err != nil {
		t.Fatal(err)
	}
	r, _ = VerifyClaimSignature(psig, testClaim, trust, later)
	if !hasCode(r.Failure, CodeCredentialExpired) || r.TimeStamp != nil {
		t.Fatalf("no time-stamp: failures %v", r.Failure)
	}
	// The time-stamp covers this signature only: another claim's signature fails too.
	r, _ = VerifyClaimSignature(sig, []byte("\xa1\x63abc\x02"), trust, time.Now())
	if r.Validated || !hasCode(r.Failure, CodeSignatureMismatch) {
		t.Fatalf("changed claim: %v", r.Failure)
	}
}

// withUnprotected re-encodes a COSE_Sign1 with its unprotected header changed by edit.
func withUnprotected(t *testing.T, sig []byte, edit func(h cose.UnprotectedHeader)) []byte {
	t.Helper()
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(sig); err != nil {
		t.Fatal(err)
	}
	edit(msg.Headers.Unprotected)
	msg.Headers.RawUnprotected = nil
	b, err := msg.MarshalCBOR()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tokenOf returns the sigTst2 token of a signature.
func tokenOf(t *testing.T, sig []byte) []byte {
	t.Helper()
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(sig); err != nil {
		t.Fatal(err)
	}
	tok, why := tstToken(msg.Headers.Unprotected[headerSigTst2])
	if why != "" {
		t.Fatal(why)
	}
	return tok
}

func setToken(tok []byte) func(cose.UnprotectedHeader) {
	return func(h cose.UnprotectedHeader) { h[headerSigTst2] = sigTst2Header(tok) }
}

// A time-stamp that fails is informational, as in c2pa-rs: each failure has its code, no
// time-stamp is reported, and the claim signature is still judged (here: valid, at now).
func TestTimeStampFailures(t *testing.T) {
	tsa := tsatest.New(t, tsatest.Options{})
	s, ca := tsSigner(t, tsa)
	trust := NewTrustStore(ca, tsa.CA)
	sig, err := s.SignClaim(testClaim)
	if err != nil {
		t.Fatal(err)
	}
	tok := tokenOf(t, sig)
	if !bytes.Contains(sig, tok) {
		t.Fatal("the token is not stored as it was issued")
	}
	genTime := bytes.Index(tok, []byte{0x18, 0x0f}) // GeneralizedTime, 15 bytes: YYYYMMDDhhmmssZ
	if genTime < 0 {
		t.Fatal("no GeneralizedTime in the token")
	}
	other := sha256.Sum256([]byte("other data"))
	otherTok, err := tsa.Token(other[:], crypto.SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := append([]byte(nil), tok...)
		b[i] ^= 0x01
		return b
	}
	for _, tc := range []struct {
		name string
		edit func(cose.UnprotectedHeader)
		code string
		why  string
	}{
		{"backdated genTime", setToken(flip(genTime + 2 + 11)), CodeTimeStampMismatch, "altered"},
		{"token of other data", setToken(otherTok), CodeTimeStampMismatch, "other data"},
		{"TSA signature byte", setToken(flip(len(tok) - 1)), CodeTimeStampUntrusted, "does not verify"},
		{"truncated", setToken(tok[:len(tok)-10]), CodeTimeStampMalformed, "DER"},
		{"not ASN.1", setToken([]byte("not a token")), CodeTimeStampMalformed, ""},
		{"two tokens", func(h cose.UnprotectedHeader) {
			h[headerSigTst2] = map[string]any{"tstTokens": []any{map[string]any{"val": tok}, map[string]any{"val": tok}}}
		}, CodeTimeStampMalformed, "exactly one"},
		{"no tokens", func(h cose.UnprotectedHeader) { h[headerSigTst2] = map[string]any{"tstTokens": []any{}} }, CodeTimeStampMalformed, "0 tokens"},
		{"not a map", func(h cose.UnprotectedHeader) { h[headerSigTst2] = "2026-01-01" }, CodeTimeStampMalformed, "not a map"},
		{"val not bytes", func(h cose.UnprotectedHeader) {
			h[headerSigTst2] = map[string]any{"tstTokens": []any{map[string]any{"val": "text"}}}
		}, CodeTimeStampMalformed, "no val"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := withUnprotected(t, sig, tc.edit)
			r, err := VerifyClaimSignature(bad, testClaim, trust, time.Now())
			if err != nil || !r.Validated || len(r.Failure) != 0 {
				t.Fatalf("the claim signature should still be valid: %v %v", err, r.Failure)
			}
			if r.TimeStamp != nil || hasCode(r.Success, CodeTimeStampValidated) {
				t.Fatalf("a bad time-stamp was accepted: %+v", r.TimeStamp)
			}
			if !hasCode(r.Information, tc.code) {
				t.Fatalf("informational %v, want %s", r.Information, tc.code)
			}
			if !strings.Contains(r.Information[0].Explanation, tc.why) {
				t.Fatalf("explanation %q lacks %q", r.Information[0].Explanation, tc.why)
			}
			// Three days later the bad time-stamp does not rescue the expired certificate.
			r, _ = VerifyClaimSignature(bad, testClaim, trust, time.Now().Add(72*time.Hour))
			if !hasCode(r.Failure, CodeCredentialExpired) {
				t.Fatalf("expired certificate not reported: %v", r.Failure)
			}
		})
	}
}

// The TSA certificate is judged: the timeStamping usage, its validity at the time stamped, the
// certificates in the token.
func TestTimeStampAuthorityCertificate(t *testing.T) {
	past := time.Now().Add(-30 * 24 * time.Hour)
	for _, tc := range []struct {
		name      string
		opts      tsatest.Options
		validated bool
		code      string
	}{
		{"no timeStamping usage", tsatest.Options{Certificate: func(c *x509.Certificate) {
			c.ExtraExtensions = nil
			c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
		}}, true, CodeTimeStampUntrusted},
		{"expired at the time stamped", tsatest.Options{Certificate: func(c *x509.Certificate) {
			c.NotAfter = time.Now().Add(-time.Hour)
		}}, false, CodeTimeStampOutsideValidity},
		{"token without certificates", tsatest.Options{NoCertificates: true}, false, CodeTimeStampUntrusted},
		{"RSA TSA", tsatest.Options{RSA: true}, true, CodeTimeStampTrusted},
		{"clock a month back", tsatest.Options{Now: func() time.Time { return past }}, true, CodeTimeStampTrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tsa := tsatest.New(t, tc.opts)
			s, ca := tsSigner(t, nil)
			s.tsa = tsa // in process: the HTTP client refuses some of these tokens itself
			sig, err := s.SignClaim(testClaim)
			if !tc.validated {
				if err == nil || !strings.Contains(err.Error(), "not usable") {
					t.Fatalf("signing kept a token that does not verify: %v", err)
				}
				// Store it anyway to see how a verifier judges it.
				sig = withUnprotected(t, mustSign(t, s, nil), setToken(tsa.Tokens()[0]))
			} else if err != nil {
				t.Fatal(err)
			}
			r, _ := VerifyClaimSignature(sig, testClaim, NewTrustStore(ca, tsa.CA), time.Now())
			if (r.TimeStamp != nil) != tc.validated || !hasCode(append(r.Success, r.Information...), tc.code) {
				t.Fatalf("time-stamp %+v, success %v, info %v; want validated=%v and %s", r.TimeStamp, codesOf(r.Success), r.Information, tc.validated, tc.code)
			}
			if tc.opts.Now != nil && !r.TimeStamp.Time.Equal(past.Truncate(time.Second)) {
				t.Fatalf("time %v, want the TSA's clock %v", r.TimeStamp.Time, past)
			}
			if len(r.Failure) != 0 && tc.opts.Now == nil {
				t.Fatalf("failures %v", r.Failure)
			}
			if tc.opts.Now != nil && !hasCode(r.Failure, CodeCredentialExpired) {
				// A month back the signer's certificate did not exist yet.
				t.Fatalf("a trusted time before the certificate: failures %v", r.Failure)
			}
		})
	}
}

// mustSign signs testClaim without a time-stamp.
func mustSign(t *testing.T, s *Signer, ts TimeStamper) []byte {
	t.Helper()
	c := *s
	c.tsa = ts
	sig, err := c.SignClaim(testClaim)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// The deprecated v1 header: sigTst holding a TimeStampResp whose imprint covers the claim.
func TestTimeStampV1(t *testing.T) {
	tsa := tsatest.New(t, tsatest.Options{})
	s, ca := tsSigner(t, nil)
	sig := mustSign(t, s, nil)
	var msg cose.Sign1Message
	if err := msg.UnmarshalCBOR(sig); err != nil {
		t.Fatal(err)
	}
	data, err := countersignData(msg.Headers.RawProtected, testClaim)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256(data)
	tok, err := tsa.Token(d[:], crypto.SHA256, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := asn1.Marshal(timeStampResp{TimeStampToken: asn1.RawValue{FullBytes: tok}})
	if err != nil {
		t.Fatal(err)
	}
	v1 := withUnprotected(t, sig, func(h cose.UnprotectedHeader) {
		h[headerSigTst] = map[string]any{"tstTokens": []any{map[string]any{"val": resp}}}
	})
	r, _ := VerifyClaimSignature(v1, testClaim, NewTrustStore(ca, tsa.CA), time.Now().Add(72*time.Hour))
	if r.TimeStamp == nil || r.TimeStamp.Version != 1 || !r.TimeStamp.Trusted || len(r.Failure) != 0 {
		t.Fatalf("v1 time-stamp %+v, failures %v, info %v", r.TimeStamp, r.Failure, r.Information)
	}
	// A v1 token over the claim is not a v2 token over the signature.
	v2 := withUnprotected(t, sig, setToken(tok))
	r, _ = VerifyClaimSignature(v2, testClaim, NewTrustStore(ca, tsa.CA), time.Now())
	if r.TimeStamp != nil || !hasCode(r.Information, CodeTimeStampMismatch) {
		t.Fatalf("v1 imprint accepted as v2: %v", r.Information)
	}
	// A response that refused the request.
	refused, _ := asn1.Marshal(timeStampResp{Status: pkiStatusInfo{Status: 2, StatusString: []string{"no"}}})
	bad := withUnprotected(t, sig, func(h cose.UnprotectedHeader) {
		h[headerSigTst] = map[string]any{"tstTokens": []any{map[string]any{"val": refused}}}
	})
	r, _ = VerifyClaimSignature(bad, testClaim, nil, time.Now())
	if !hasCode(r.Information, CodeTimeStampMalformed) || !strings.Contains(r.Information[0].Explanation, "rejection") {
		t.Fatalf("refused response: %v", r.Information)
	}
}

// padLengths reaches every size: one pad, or pad and pad2 where a bstr header grows.
func TestPadLengths(t *testing.T) {
	for extra := 0; extra < 70000; extra++ {
		p1, p2, ok := padLengths(extra)
		if !ok {
			t.Fatalf("extra %d unreachable", extra)
		}
		got := bstrHeader(p1) + p1 - 1
		if p2 >= 0 {
			got += 5 + bstrHeader(p2) + p2
		}
		if got != extra {
			t.Fatalf("extra %d: pad %d + pad2 %d gives %d", extra, p1, p2, got)
		}
	}
	// And the encoder agrees, around the header boundaries.
	s, _ := tsSigner(t, nil)
	sig := make([]byte, signatureLen(s.pub))
	base := len(s.marshal(sig, cose.UnprotectedHeader{"pad": []byte{}}))
	for _, extra := range []int{0, 1, 22, 23, 24, 25, 255, 256, 257, 258, 1024, 65535, 65536, 65537} {
		out, err := s.pad(sig, nil, base+extra)
		if err != nil || len(out) != base+extra {
			t.Errorf("pad to +%d: %d bytes, %v", extra, len(out), err)
		}
	}
}

// tsaServer answers time-stamp queries with whatever answer returns.
func tsaServer(t *testing.T, answer func(w http.ResponseWriter, req timeStampReq)) *TSAClient {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req timeStampReq
		b := make([]byte, 4096)
		n, _ := r.Body.Read(b)
		if r.Header.Get("Content-Type") != "application/timestamp-query" || unmarshalDER(b[:n], &req, "request") != nil || !req.CertReq || req.Nonce == nil {
			http.Error(w, "bad query", http.StatusBadRequest)
			return
		}
		answer(w, req)
	}))
	t.Cleanup(srv.Close)
	c, err := NewTSAClient(srv.URL, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func reply(w http.ResponseWriter, resp timeStampResp) {
	b, _ := asn1.Marshal(resp)
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(b)
}

func TestTSAClient(t *testing.T) {
	tsa := tsatest.New(t, tsatest.Options{})
	digest := sha256.Sum256([]byte("signature"))
	c, err := NewTSAClient(tsa.URL, tsa.Client())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.TimeStamp(t.Context(), digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(tok, tsa.Tokens()[0]) {
		t.Fatal("the client did not return the token the TSA issued")
	}
	for _, bad := range []string{"", "ftp://tsa.example", "tsa.example/ts", "http://"} {
		if _, err := NewTSAClient(bad, nil); err == nil {
			t.Errorf("NewTSAClient(%q) accepted", bad)
		}
	}
	if _, err := c.TimeStamp(t.Context(), digest[:10], crypto.SHA256); err == nil {
		t.Error("a short digest was sent")
	}

	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter, req timeStampReq)
		want   string
	}{
		{"rejection", func(w http.ResponseWriter, req timeStampReq) {
			reply(w, timeStampResp{Status: pkiStatusInfo{Status: 2, StatusString: []string{"policy not accepted"}, FailInfo: asn1.BitString{Bytes: []byte{0, 1}, BitLength: 16}}})
		}, `rejection ("policy not accepted"), unacceptedPolicy`},
		{"HTTP error", func(w http.ResponseWriter, req timeStampReq) { http.Error(w, "down", http.StatusServiceUnavailable) }, "HTTP 503"},
		{"wrong content type", func(w http.ResponseWriter, req timeStampReq) { w.Write([]byte("<html>")) }, "Content-Type"},
		{"oversized", func(w http.ResponseWriter, req timeStampReq) {
			w.Header().Set("Content-Type", "application/timestamp-reply")
			w.Write(make([]byte, maxTSAResponse+10))
		}, "more than"},
		{"garbage", func(w http.ResponseWriter, req timeStampReq) {
			w.Header().Set("Content-Type", "application/timestamp-reply")
			w.Write([]byte{0x30, 0x03, 0x02, 0x01})
		}, "not a time-stamp response"},
		{"granted without token", func(w http.ResponseWriter, req timeStampReq) { reply(w, timeStampResp{}) }, "holds no token"},
		{"other nonce", func(w http.ResponseWriter, req timeStampReq) {
			tok, _ := tsa.Token(req.MessageImprint.HashedMessage, crypto.SHA256, big.NewInt(42))
			reply(w, timeStampResp{TimeStampToken: asn1.RawValue{FullBytes: tok}})
		}, "nonce"},
		{"other digest", func(w http.ResponseWriter, req timeStampReq) {
			tok, _ := tsa.Token(make([]byte, 32), crypto.SHA256, req.Nonce)
			reply(w, timeStampResp{TimeStampToken: asn1.RawValue{FullBytes: tok}})
		}, "another digest"},
		{"bad signature", func(w http.ResponseWriter, req timeStampReq) {
			tok, _ := tsa.Token(req.MessageImprint.HashedMessage, crypto.SHA256, req.Nonce)
			tok[len(tok)-1] ^= 1
			reply(w, timeStampResp{TimeStampToken: asn1.RawValue{FullBytes: tok}})
		}, "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tsaServer(t, tc.answer)
			_, err := c.TimeStamp(t.Context(), digest[:], crypto.SHA256)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			// Signing with such a TSA fails and says why; nothing is written.
			s, _ := tsSigner(t, nil)
			s.tsa = c
			if _, err := s.SignClaim(testClaim); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("signing: %v", err)
			}
		})
	}

	// A TSA that does not answer is given up on when the context ends.
	block := make(chan struct{})
	slow := tsaServer(t, func(w http.ResponseWriter, req timeStampReq) { <-block })
	defer close(block)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := slow.TimeStamp(ctx, digest[:], crypto.SHA256); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("slow TSA: %v after %v", err, time.Since(start))
	}
}
