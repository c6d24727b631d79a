package sign

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/sign/tsatest"
)

// Cross-checks with OpenSSL's independent RFC 3161 code: OpenSSL verifies the tokens our test
// TSA makes (so the test TSA is a real one), and our client and verifier accept the tokens
// OpenSSL's TSA makes, ECDSA and RSA.

func openssl(t *testing.T, args ...string) string {
	t.Helper()
	path := testtool.Require(t, "openssl")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenSSLVerifiesTestTSATokens(t *testing.T) {
	for _, rsaKey := range []bool{false, true} {
		t.Run(fmt.Sprintf("rsa=%v", rsaKey), func(t *testing.T) {
			tsa := tsatest.New(t, tsatest.Options{RSA: rsaKey})
			dir := t.TempDir()
			d := sha256.Sum256([]byte("some signature"))
			tok, err := tsa.Token(d[:], crypto.SHA256, nil)
			if err != nil {
				t.Fatal(err)
			}
			ca := writeFile(t, dir, "ca.pem", tsa.CAPEM())
			tokFile := writeFile(t, dir, "token.der", tok)
			out := openssl(t, "ts", "-verify", "-digest", hex.EncodeToString(d[:]), "-token_in", "-in", tokFile, "-CAfile", ca)
			if !strings.Contains(out, "Verification: OK") {
				t.Fatalf("openssl: %s", out)
			}
			// And OpenSSL refuses it for another digest: the check is real.
			other := sha256.Sum256([]byte("other"))
			path := testtool.Require(t, "openssl")
			if err := exec.Command(path, "ts", "-verify", "-digest", hex.EncodeToString(other[:]), "-token_in", "-in", tokFile, "-CAfile", ca).Run(); err == nil {
				t.Fatal("openssl verified the token for another digest")
			}
		})
	}
}

// opensslTSA is an HTTP TSA that has `openssl ts -reply` answer each query, signing with the
// key and certificate of tsa.
func opensslTSA(t *testing.T, tsa *tsatest.TSA) *httptest.Server {
	t.Helper()
	bin := testtool.Require(t, "openssl")
	dir := t.TempDir()
	key := writeFile(t, dir, "tsa.key", tsa.KeyPEM())
	cert := writeFile(t, dir, "tsa.pem", tsa.CertPEM())
	serial := writeFile(t, dir, "serial", []byte("01\n"))
	cfg := writeFile(t, dir, "tsa.cnf", []byte(fmt.Sprintf(`[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
serial = %s
crypto_device = builtin
signer_cert = %s
signer_key = %s
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`, serial, cert, key)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		qf, err := os.CreateTemp(dir, "q-*.tsq")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		qf.Write(q)
		qf.Close()
		out := qf.Name() + ".tsr"
		ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
		defer cancel()
		if msg, err := exec.CommandContext(ctx, bin, "ts", "-reply", "-config", cfg, "-queryfile", qf.Name(), "-out", out).CombinedOutput(); err != nil {
			http.Error(w, string(msg), 500)
			return
		}
		b, err := os.ReadFile(out)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSignWithOpenSSLTSA(t *testing.T) {
	for _, rsaKey := range []bool{false, true} {
		t.Run(fmt.Sprintf("rsa=%v", rsaKey), func(t *testing.T) {
			tsa := tsatest.New(t, tsatest.Options{RSA: rsaKey}) // its key and certificate, OpenSSL's tokens
			srv := opensslTSA(t, tsa)
			c, err := NewTSAClient(srv.URL, srv.Client())
			if err != nil {
				t.Fatal(err)
			}
			s, ca := tsSigner(t, nil)
			s.tsa = c
			sig, err := s.SignClaim(testClaim)
			if err != nil {
				t.Fatal(err)
			}
			if len(tsa.Tokens()) != 0 {
				t.Fatal("the test TSA issued the token, not OpenSSL")
			}
			r, err := VerifyClaimSignature(sig, testClaim, NewTrustStore(ca, tsa.CA), time.Now().Add(72*time.Hour))
			if err != nil || len(r.Failure) != 0 || r.TimeStamp == nil || !r.TimeStamp.Trusted {
				t.Fatalf("OpenSSL's token: err %v failures %v info %v ts %+v", err, r.Failure, r.Information, r.TimeStamp)
			}
			if d := time.Since(r.TimeStamp.Time); d < 0 || d > time.Minute {
				t.Fatalf("OpenSSL's genTime %v", r.TimeStamp.Time)
			}
		})
	}
}
