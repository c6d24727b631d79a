package sign

import (
	"testing"
	"time"
)

// FuzzVerifyClaimSignature feeds arbitrary COSE_Sign1 bytes to the verifier: no panic, and
// nothing but a real signature over the claim validates.
func FuzzVerifyClaimSignature(f *testing.F) {
	cr, err := Generate("fuzz", KeyP256, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := cr.WriteDir(dir); err != nil {
		f.Fatal(err)
	}
	s, err := LoadFiles(dir+"/signer.key", dir+"/chain.pem")
	if err != nil {
		f.Fatal(err)
	}
	claim := []byte{0xa1, 0x61, 'a', 0x01}
	good, err := s.SignClaim(claim)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:100])
	f.Add([]byte{0xd2, 0x84, 0x40, 0xa0, 0xf6, 0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, _ := VerifyClaimSignature(b, claim, nil, time.Now())
		if r == nil {
			t.Fatal("nil report")
		}
		if r.Validated && len(b) < len(good)-1100 {
			t.Fatalf("a %d-byte signature validated", len(b))
		}
	})
}
