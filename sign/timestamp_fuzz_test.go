package sign

import (
	"crypto"
	"crypto/sha256"
	"encoding/asn1"
	"testing"

	"github.com/ailabel/ailabel/sign/tsatest"
)

// FuzzCheckTimeStampToken feeds arbitrary bytes to the RFC 3161 token reader: no panic, and only
// a token over data is validated.
func FuzzCheckTimeStampToken(f *testing.F) {
	tsa := tsatest.New(f, tsatest.Options{})
	data := []byte("the countersignature structure")
	d := sha256.Sum256(data)
	tok, err := tsa.Token(d[:], crypto.SHA256, nil)
	if err != nil {
		f.Fatal(err)
	}
	resp, _ := asn1.Marshal(timeStampResp{TimeStampToken: asn1.RawValue{FullBytes: tok}})
	f.Add(tok)
	f.Add(resp)
	f.Add(tok[:len(tok)/2])
	f.Add([]byte{0x30, 0x80, 0x06, 0x00})
	f.Add([]byte{0x30, 0x84, 0x01})
	f.Add([]byte{0x1f, 0x80})
	trust := NewTrustStore(tsa.CA)
	f.Fuzz(func(t *testing.T, b []byte) {
		c := CheckTimeStampToken(b, data, trust)
		if c.TimeStamp == nil && len(c.Information) == 0 {
			t.Fatal("a token neither validated nor explained")
		}
		if c.TimeStamp != nil && (c.TimeStamp.TSA == nil || c.TimeStamp.Time.IsZero()) {
			t.Fatalf("validated time-stamp without TSA or time: %+v", c.TimeStamp)
		}
	})
}

// FuzzTSAResponse feeds arbitrary bytes to the reader of a TSA's answer.
func FuzzTSAResponse(f *testing.F) {
	tsa := tsatest.New(f, tsatest.Options{})
	d := sha256.Sum256([]byte("x"))
	tok, err := tsa.Token(d[:], crypto.SHA256, nil)
	if err != nil {
		f.Fatal(err)
	}
	resp, _ := asn1.Marshal(timeStampResp{TimeStampToken: asn1.RawValue{FullBytes: tok}})
	refused, _ := asn1.Marshal(timeStampResp{Status: pkiStatusInfo{Status: 2, StatusString: []string{"no"}}})
	f.Add(resp)
	f.Add(refused)
	f.Add(resp[:20])
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := checkTimeStampResponse(b, d[:], crypto.SHA256, nil)
		if err == nil && CheckTimeStampToken(got, []byte("x"), nil).TimeStamp == nil {
			t.Fatal("an accepted answer's token does not verify")
		}
	})
}
