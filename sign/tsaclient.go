package sign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"time"
)

// DefaultTSATimeout bounds one time-stamp request when the caller's HTTP client has no timeout.
const DefaultTSATimeout = 30 * time.Second

// maxTSAResponse bounds what a TSA's answer may be: a response is a status and one token.
const maxTSAResponse = MaxTimeStampTokenSize + 4096

// TSAClient asks an RFC 3161 time-stamp authority over HTTP (RFC 3161 §3.4): it POSTs an
// application/timestamp-query with a random nonce and certReq set, and checks that the answer
// granted a token for that digest and nonce whose signature verifies. It is safe for concurrent
// use.
type TSAClient struct {
	url    string
	client *http.Client
}

// NewTSAClient returns a client of the TSA at tsaURL (http or https). A nil httpClient means a
// client with DefaultTSATimeout.
func NewTSAClient(tsaURL string, httpClient *http.Client) (*TSAClient, error) {
	u, err := url.Parse(tsaURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sign: time-stamp authority URL %q: must be an http or https URL", tsaURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTSATimeout}
	}
	return &TSAClient{url: u.String(), client: httpClient}, nil
}

// URL returns the TSA's address.
func (c *TSAClient) URL() string { return c.url }

// TimeStamp asks the TSA to stamp digest (made with hash: SHA-256, SHA-384 or SHA-512) and
// returns the DER TimeStampToken it issued.
func (c *TSAClient) TimeStamp(ctx context.Context, digest []byte, hash crypto.Hash) ([]byte, error) {
	req, nonce, err := timeStampRequest(digest, hash)
	if err != nil {
		return nil, fmt.Errorf("sign: time-stamp request: %w", err)
	}
	if _, ok := ctx.Deadline(); !ok && c.client.Timeout == 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTSATimeout)
		defer cancel()
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("sign: time-stamp request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/timestamp-query")
	hr.Header.Set("Accept", "application/timestamp-reply")
	resp, err := c.client.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("sign: time-stamp authority %s: %w", c.host(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTSAResponse+1))
	if err != nil {
		return nil, fmt.Errorf("sign: reading the answer of time-stamp authority %s: %w", c.host(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sign: time-stamp authority %s answered HTTP %s", c.host(), resp.Status)
	}
	if len(body) > maxTSAResponse {
		return nil, fmt.Errorf("sign: time-stamp authority %s sent more than %d bytes", c.host(), maxTSAResponse)
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "application/timestamp-reply" {
		return nil, fmt.Errorf("sign: time-stamp authority %s answered Content-Type %q, not application/timestamp-reply", c.host(), resp.Header.Get("Content-Type"))
	}
	tok, err := checkTimeStampResponse(body, digest, hash, nonce)
	if err != nil {
		return nil, fmt.Errorf("sign: time-stamp authority %s: %w", c.host(), err)
	}
	return tok, nil
}

func (c *TSAClient) host() string {
	u, err := url.Parse(c.url)
	if err != nil {
		return "?"
	}
	return u.Redacted()
}

// timeStampRequest encodes a TimeStampReq for digest, with a random 128-bit nonce and certReq.
func timeStampRequest(digest []byte, hash crypto.Hash) ([]byte, *big.Int, error) {
	oid, ok := hashOID(hash)
	if !ok {
		return nil, nil, fmt.Errorf("hash %v is not SHA-256, SHA-384 or SHA-512", hash)
	}
	if len(digest) != hash.Size() {
		return nil, nil, fmt.Errorf("digest of %d bytes, want %d for %v", len(digest), hash.Size(), hash)
	}
	nonce, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, err
	}
	nonce.SetBit(nonce, 127, 1) // a fixed length
	b, err := asn1.Marshal(timeStampReq{
		Version:        1,
		MessageImprint: messageImprint{HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oid}, HashedMessage: digest},
		Nonce:          nonce,
		CertReq:        true,
	})
	return b, nonce, err
}

// checkTimeStampResponse reads a TimeStampResp and returns its token after checking that it was
// granted for this digest and nonce and that its signature verifies.
func checkTimeStampResponse(body, digest []byte, hash crypto.Hash, nonce *big.Int) ([]byte, error) {
	if len(body) == 0 {
		return nil, errors.New("empty answer")
	}
	var resp timeStampResp
	if err := unmarshalDER(body, &resp, "TimeStampResp"); err != nil {
		return nil, fmt.Errorf("the answer is not a time-stamp response: %w", err)
	}
	if err := resp.Status.err(); err != nil {
		return nil, err
	}
	tok := resp.TimeStampToken.FullBytes
	if len(tok) == 0 {
		return nil, errors.New("the response grants a time-stamp but holds no token")
	}
	t, err := parseToken(tok)
	if err != nil {
		return nil, err
	}
	if _, err := t.verifySignature(); err != nil {
		return nil, err
	}
	mi := t.info.MessageImprint
	if h, ok := hashFromOID(mi.HashAlgorithm.Algorithm); !ok || h != hash || !bytes.Equal(mi.HashedMessage, digest) {
		return nil, errors.New("the token stamps another digest than the one requested")
	}
	if nonce != nil && (t.info.Nonce == nil || t.info.Nonce.Cmp(nonce) != 0) {
		return nil, errors.New("the token's nonce is not the request's (a replayed or misrouted answer)")
	}
	return append([]byte(nil), t.raw...), nil
}
