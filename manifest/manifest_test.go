package manifest

import (
	"bytes"
	"crypto/sha256"
	"os"
	"testing"
	"time"

	"github.com/ailabel/ailabel/sign"
)

func codes(es []StatusEntry) map[string]bool {
	m := map[string]bool{}
	for _, e := range es {
		m[e.Code] = true
	}
	return m
}

// The store c2pa-rs wrote into c2pa-rs-signed.jpg validates against that JPEG as c2pa-rs says:
// Valid with an untrusted signer, Trusted with its CA as anchor.
func TestValidateC2PARSReferenceStore(t *testing.T) {
	raw, err := os.ReadFile("testdata/c2pa-rs-manifest.c2pa")
	if err != nil {
		t.Fatal(err)
	}
	asset, err := os.ReadFile("testdata/c2pa-rs-signed.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(asset[32:32+len(raw)], raw) {
		t.Fatal("fixture mismatch")
	}
	st, err := ParseStore(raw)
	if err != nil {
		t.Fatal(err)
	}
	res := st.Validate(bytes.NewReader(asset), int64(len(asset)), Options{})
	if res.State != StateValid {
		t.Fatalf("state %s, failures %v", res.State, res.Active.Failure)
	}
	ok, fail := codes(res.Active.Success), codes(res.Active.Failure)
	for _, c := range []string{sign.CodeSignatureValidated, sign.CodeInsideValidity, CodeDataHashMatch, CodeHashedURIMatch} {
		if !ok[c] {
			t.Errorf("missing success %s", c)
		}
	}
	if len(fail) != 1 || !fail[sign.CodeCredentialUntrusted] {
		t.Errorf("failures %v, want only signingCredential.untrusted", res.Active.Failure)
	}
	mi := res.Manifests[0]
	if mi.DigitalSourceType != SourceTrainedAlgorithmicMedia || mi.Generator != "c2pa-check" {
		t.Errorf("dst %q generator %q", mi.DigitalSourceType, mi.Generator)
	}

	ts, err := sign.LoadTrustFile("testdata/c2pa-check-test-ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	if res := st.Validate(bytes.NewReader(asset), int64(len(asset)), Options{Trust: ts}); res.State != StateTrusted {
		t.Fatalf("with the test CA as anchor: %s %v", res.State, res.Active.Failure)
	}

	// One media byte flipped: data hash mismatch.
	bad := append([]byte(nil), asset...)
	bad[len(bad)-100] ^= 1
	res = st.Validate(bytes.NewReader(bad), int64(len(bad)), Options{})
	if res.State != StateInvalid || !codes(res.Active.Failure)[CodeDataHashMismatch] {
		t.Fatalf("flipped byte: %s %v", res.State, res.Active.Failure)
	}
}

func testSigner(t *testing.T) (*sign.Signer, *sign.TrustStore) {
	t.Helper()
	cr, err := sign.Generate("manifest test", sign.KeyP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := cr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	s, err := sign.LoadFiles(dir+"/signer.key", dir+"/chain.pem")
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := sign.ParseCertificatesPEM(cr.CACert)
	return s, sign.NewTrustStore(ca...)
}

// A draft keeps its length through Finish, and the finished store validates against an asset
// laid out around it; a second label keeps the first manifest as a parentOf ingredient.
func TestDraftRoundTripAndParent(t *testing.T) {
	s, trust := testSigner(t)
	media := bytes.Repeat([]byte("media bytes "), 1000)
	embed := func(spec Spec) ([]byte, *Store) {
		d, err := NewDraft(spec, s)
		if err != nil {
			t.Fatal(err)
		}
		// Asset layout: 100 media bytes, the store, the rest.
		pre, post := media[:100], media[100:]
		h := sha256.New()
		h.Write(pre)
		h.Write(post)
		store, err := d.FinishDataHash([]ExclusionRange{{Start: 100, Length: uint64(d.Len())}}, h.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		if len(store) != d.Len() {
			t.Fatalf("store %d bytes, planned %d", len(store), d.Len())
		}
		asset := append(append(append([]byte{}, pre...), store...), post...)
		st, err := ParseStore(store)
		if err != nil {
			t.Fatal(err)
		}
		return asset, st
	}
	spec := Spec{
		Title: "a.bin", Generator: ClaimGeneratorInfo{Name: "ailabel", Version: "test"},
		Actions: []Action{{Action: ActionCreated, DigitalSourceType: SourceTrainedAlgorithmicMedia, SoftwareAgent: &SoftwareAgent{Name: "model-x"}}},
	}
	asset, st := embed(spec)
	res := st.Validate(bytes.NewReader(asset), int64(len(asset)), Options{Trust: trust})
	if res.State != StateTrusted {
		t.Fatalf("first label: %s %v", res.State, res.Active.Failure)
	}
	spec2 := spec
	spec2.Actions = []Action{{Action: ActionOpened}, {Action: ActionEditedMetadata, DigitalSourceType: SourceTrainedAlgorithmicMedia}}
	spec2.Parent = &Parent{Store: st, Title: "a.bin", Format: "application/octet-stream", Results: &res.Active}
	asset2, st2 := embed(spec2)
	if len(st2.Manifests) != 2 {
		t.Fatalf("%d manifests, want 2", len(st2.Manifests))
	}
	res2 := st2.Validate(bytes.NewReader(asset2), int64(len(asset2)), Options{Trust: trust})
	if res2.State != StateTrusted {
		t.Fatalf("second label: %s %v", res2.State, res2.Active.Failure)
	}
	active := res2.Manifests[1]
	if len(active.Ingredients) != 1 || active.Ingredients[0].Relationship != "parentOf" || !active.Ingredients[0].Validated ||
		active.Ingredients[0].ActiveManifest != st.Active().Label {
		t.Fatalf("ingredient %+v", active.Ingredients)
	}
	if !codes(res2.Active.Success)[CodeIngredientValidated] {
		t.Fatalf("no ingredient.manifest.validated: %v", res2.Active.Success)
	}
}

func TestParseStoreRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("jumb"), bytes.Repeat([]byte{0xff}, 100), {0, 0, 0, 8, 'j', 'u', 'm', 'b'}} {
		if _, err := ParseStore(b); err == nil {
			t.Errorf("% x accepted", b)
		}
	}
}

// c2pa-rs rejects an ingredient v3 whose validation results hold a null list; so do we.
func TestIngredientV3NeedsValidationResultArrays(t *testing.T) {
	ing := Ingredient{Relationship: "parentOf", ActiveManifest: &HashedURI{URL: "self#jumbf=/c2pa/x", Hash: make([]byte, 32)},
		ValidationResults: &ValidationResults{ActiveManifest: &StatusCodes{Success: []StatusEntry{}}}}
	b, err := encMode.Marshal(ing)
	if err != nil {
		t.Fatal(err)
	}
	if why := ingredientV3Problem(b, &ing); why == "" {
		t.Fatal("null informational/failure lists were accepted")
	}
	ing.ValidationResults.ActiveManifest.Informational = []StatusEntry{}
	ing.ValidationResults.ActiveManifest.Failure = []StatusEntry{}
	b, _ = encMode.Marshal(ing)
	if why := ingredientV3Problem(b, &ing); why != "" {
		t.Fatalf("well-formed ingredient rejected: %s", why)
	}
	ing.ValidationResults = nil
	b, _ = encMode.Marshal(ing)
	if why := ingredientV3Problem(b, &ing); why == "" {
		t.Fatal("an activeManifest without validationResults was accepted")
	}
}
