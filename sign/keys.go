package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms"
)

// SignerFromKey wraps an in-memory private key (ECDSA, Ed25519 or RSA) in the right sigstore
// signer: RSA keys sign RSASSA-PSS with a salt as long as the hash, as C2PA requires.
func SignerFromKey(key crypto.PrivateKey) (signature.Signer, error) {
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		alg, err := AlgorithmFor(&k.PublicKey)
		if err != nil {
			return nil, err
		}
		return signature.LoadECDSASignerVerifier(k, alg.hash())
	case ed25519.PrivateKey:
		return signature.LoadED25519SignerVerifier(k)
	case *rsa.PrivateKey:
		return signature.LoadRSAPSSSignerVerifier(k, crypto.SHA256, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	}
	return nil, fmt.Errorf("unsupported private key type %T", key)
}

// LoadFiles makes a Signer from a PEM private key (PKCS#8, PKCS#1 or SEC 1; not encrypted) and a
// PEM certificate chain, leaf first.
func LoadFiles(keyFile, certFile string, opts ...Option) (*Signer, error) {
	kb, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("reading the signing key: %w", err)
	}
	key, err := cryptoutils.UnmarshalPEMToPrivateKey(kb, cryptoutils.SkipPassword)
	if err != nil {
		// Never echo key material: name the file only.
		return nil, fmt.Errorf("the signing key in %s does not parse as a PEM private key", keyFile)
	}
	s, err := SignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("signing key in %s: %w", keyFile, err)
	}
	chain, err := loadChain(certFile)
	if err != nil {
		return nil, err
	}
	return New(s, chain, opts...)
}

func loadChain(certFile string) ([]*x509.Certificate, error) {
	cb, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate chain: %w", err)
	}
	chain, err := ParseCertificatesPEM(cb)
	if err != nil {
		return nil, fmt.Errorf("certificate chain in %s: %w", certFile, err)
	}
	return chain, nil
}

// LoadKMS makes a Signer whose key lives in a KMS, named by a sigstore key reference such as
// awskms://…, gcpkms://…, azurekms://…, hashivault://… (the provider must be linked in; see
// the kms package of sigstore) and the PEM certificate chain issued for that key.
func LoadKMS(ctx context.Context, keyRef, certFile string, opts ...Option) (*Signer, error) {
	chain, err := loadChain(certFile)
	if err != nil {
		return nil, err
	}
	alg, err := AlgorithmFor(chain[0].PublicKey)
	if err != nil {
		return nil, err
	}
	h := alg.hash()
	if h == 0 {
		h = crypto.SHA512 // Ed25519 ignores it
	}
	sv, err := kms.Get(ctx, keyRef, h)
	if err != nil {
		return nil, fmt.Errorf("opening KMS key %s: %w", redactRef(keyRef), err)
	}
	return New(sv, chain, opts...)
}

// redactRef keeps the scheme and the host of a key reference, enough to say which key failed
// without printing tokens that someone may have put in a URI.
func redactRef(ref string) string {
	if i := strings.Index(ref, "?"); i >= 0 {
		ref = ref[:i] + "?…"
	}
	return ref
}

// KeyType names the key kind keygen makes.
type KeyType string

// Key types for Generate.
const (
	KeyP256    KeyType = "p256"
	KeyP384    KeyType = "p384"
	KeyEd25519 KeyType = "ed25519"
	KeyRSA3072 KeyType = "rsa3072"
)

func newKey(t KeyType) (crypto.Signer, error) {
	switch t {
	case KeyP256, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case KeyEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case KeyRSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	}
	return nil, fmt.Errorf("unknown key type %q (p256, p384, ed25519, rsa3072)", t)
}

// Credentials is a test CA and a signing certificate issued by it, in PEM.
type Credentials struct {
	CAKey, CACert []byte // the CA; keep CAKey offline
	Key, Cert     []byte // the signing key and certificate
	Chain         []byte // Cert followed by CACert: what --cert takes
}

// Generate makes a throwaway CA and a signing certificate that meets the C2PA certificate
// profile: X.509 v3, key usage digitalSignature (critical), extended key usage
// c2pa-kp-claimSigning + emailProtection + documentSigning, authority and subject key
// identifiers, not a CA. They are for development and tests: a real deployment gets its
// certificate from a CA on the C2PA trust list.
func Generate(org string, t KeyType, validFor time.Duration) (*Credentials, error) {
	if org == "" {
		org = "ailabel development"
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	notBefore := now.Add(-time.Hour) // tolerate clocks a little behind ours
	caSKI, err := cryptoutils.SKID(caKey.Public())
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " Test Root CA"},
		NotBefore:             notBefore,
		NotAfter:              now.Add(validFor + 24*time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          caSKI,
		AuthorityKeyId:        caSKI,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("creating the CA certificate: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)

	key, err := newKey(t)
	if err != nil {
		return nil, err
	}
	ski, err := cryptoutils.SKID(key.Public())
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{org}, CommonName: org + " Test Signer"},
		NotBefore:             notBefore,
		NotAfter:              now.Add(validFor),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{OIDC2PAClaimSigning, OIDDocumentSigning},
		BasicConstraintsValid: true,
		SubjectKeyId:          ski,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, fmt.Errorf("creating the signing certificate: %w", err)
	}
	caKeyPEM, err := cryptoutils.MarshalPrivateKeyToPEM(caKey)
	if err != nil {
		return nil, err
	}
	keyPEM, err := cryptoutils.MarshalPrivateKeyToPEM(key)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})
	return &Credentials{
		CAKey: caKeyPEM, CACert: caPEM, Key: keyPEM, Cert: leafPEM,
		Chain: append(append([]byte{}, leafPEM...), caPEM...),
	}, nil
}

func serial() *big.Int {
	n, err := cryptoutils.GenerateSerialNumber()
	if err != nil {
		// crypto/rand failing is not recoverable; a fixed serial would still make a valid test cert.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// WriteDir writes the credentials as ca.key, ca.pem, signer.key, signer.pem and chain.pem; keys
// are written with mode 0600. Existing files are not overwritten.
func (c *Credentials) WriteDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{"ca.key", c.CAKey, 0o600}, {"ca.pem", c.CACert, 0o644}, {"signer.key", c.Key, 0o600},
		{"signer.pem", c.Cert, 0o644}, {"chain.pem", c.Chain, 0o644},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s already exists; not overwriting it", p)
		}
	}
	for _, f := range files {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// DevOrganization is the organization name of the development certificates; reports flag any
// signature whose signer carries it.
const DevOrganization = "ailabel development (NOT FOR PRODUCTION)"

// DevDir is the folder of the development credentials: <user config dir>/ailabel/dev, or
// $AILABEL_DEV_DIR when set.
func DevDir() (string, error) {
	if d := os.Getenv("AILABEL_DEV_DIR"); d != "" {
		return d, nil
	}
	base, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("finding the user config folder for the development key: %w", err)
	}
	return filepath.Join(base, "ailabel", "dev"), nil
}

// Dev returns the development signer, creating its throwaway CA and key in DevDir the first
// time. Everything it signs is reported as a development signature. opts are applied after
// Development (e.g. WithTimeStamper).
func Dev(opts ...Option) (*Signer, error) {
	dir, err := DevDir()
	if err != nil {
		return nil, err
	}
	key, chain := filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem")
	if _, err := os.Stat(chain); errors.Is(err, os.ErrNotExist) {
		cr, err := Generate(DevOrganization, KeyP256, 10*365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp(filepath.Dir(dir), ".dev-*")
		if err != nil {
			if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
				return nil, fmt.Errorf("creating %s: %w", filepath.Dir(dir), err)
			}
			if tmp, err = os.MkdirTemp(filepath.Dir(dir), ".dev-*"); err != nil {
				return nil, err
			}
		}
		if err := cr.WriteDir(tmp); err != nil {
			os.RemoveAll(tmp)
			return nil, err
		}
		// Another process may have won the race: keep whichever folder landed first.
		if err := os.Rename(tmp, dir); err != nil {
			os.RemoveAll(tmp)
		}
	}
	return LoadFiles(key, chain, append([]Option{Development()}, opts...)...)
}
