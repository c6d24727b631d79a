package manifest

import (
	"bytes"
	"os"
	"testing"
	"time"
)

// FuzzParseAndValidate feeds arbitrary stores (JUMBF + claim CBOR + COSE) through parsing and
// validation against a small asset: no panic, and nothing hostile validates.
func FuzzParseAndValidate(f *testing.F) {
	ref, err := os.ReadFile("testdata/c2pa-rs-manifest.c2pa")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ref)
	f.Add(ref[:len(ref)/2])
	mut := append([]byte(nil), ref...)
	mut[len(mut)/3] ^= 0xff
	f.Add(mut)
	asset, err := os.ReadFile("testdata/c2pa-rs-signed.jpg")
	if err != nil {
		f.Fatal(err)
	}
	refStore, err := ParseStore(ref)
	if err != nil {
		f.Fatal(err)
	}
	refClaim := refStore.Active().ClaimRaw
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ParseStore(b)
		if err != nil {
			return
		}
		res := st.Validate(bytes.NewReader(asset), int64(len(asset)), Options{Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
		// Only the reference claim carries a signature from the reference key, so nothing else
		// can be judged Valid.
		if res.State != StateInvalid && !bytes.Equal(st.Active().ClaimRaw, refClaim) {
			t.Fatalf("a store with another claim validated: %s", res.State)
		}
	})
}
