package manifest

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"

	"github.com/ailabel/ailabel/manifest/jumbf"
	"github.com/ailabel/ailabel/sign"
	"github.com/google/uuid"
)

// BindingKind is the hard binding a draft carries.
type BindingKind int

const (
	// BindDataHash writes c2pa.hash.data.
	BindDataHash BindingKind = iota
	// BindBMFF writes c2pa.hash.bmff.v3.
	BindBMFF
)

// Assertion is an extra assertion: a label and a value encoded as deterministic CBOR.
type Assertion struct {
	Label string
	Value any
}

// Parent is an earlier manifest store found in the input. Its manifests are kept in the new
// store and its active manifest becomes the new manifest's parentOf ingredient.
type Parent struct {
	Store   *Store       // parsed store of the input
	Title   string       // the input's title (file name), optional
	Format  string       // the input's media type
	Results *StatusCodes // what validating the parent found; recorded in the ingredient
}

// Spec is what a new manifest says.
type Spec struct {
	Title      string             // dc:title, usually the file name
	InstanceID string             // the asset's xmpMM:InstanceID; a new xmp.iid:<uuid> when empty
	Generator  ClaimGeneratorInfo // claim_generator_info; SpecVersion is filled in when empty
	// Actions of the c2pa.actions.v2 assertion. With a Parent the first must be c2pa.opened: its
	// ingredient reference is filled in.
	Actions    []Action
	Assertions []Assertion // further assertions (training-mining, …)
	Parent     *Parent
	Binding    BindingKind
	// DataHashExclusions is how many ranges the data hash will exclude (default 1).
	DataHashExclusions int
	// BMFFExclusions are the exclusions of a c2pa.hash.bmff.v3 binding.
	BMFFExclusions any
}

// Draft is a manifest store laid out before the asset is hashed: its length is final, so the
// container can place it; Finish fills in the hard binding and the signature without changing
// the length.
type Draft struct {
	spec      Spec
	signer    *sign.Signer
	label     string
	instance  string
	parentRaw [][]byte // manifests of the parent store, as stored
	boxes     []assertionBox
	binding   int // index of the hard binding in boxes
	length    int
	bindLen   int // encoded length of the hard-binding assertion box
}

type assertionBox struct {
	label string
	box   []byte
}

func salt() []byte {
	s := make([]byte, 16)
	if _, err := rand.Read(s); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return s
}

func encodeAssertion(label string, salt []byte, v any) ([]byte, error) {
	payload, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding assertion %s: %w", label, err)
	}
	return jumbf.Superbox(jumbf.TypeCBOR, label, salt, jumbf.AppendBox(nil, "cbor", payload)), nil
}

func hashedURI(url string, box []byte) HashedURI {
	h := sha256.Sum256(box[8:]) // the superbox without its LBox/TBox
	return HashedURI{URL: url, Hash: h[:]}
}

func assertionURL(label string) string { return "self#jumbf=" + LabelAssertions + "/" + label }

// NewDraft lays out a manifest store for spec, signed by s.
func NewDraft(spec Spec, s *sign.Signer) (*Draft, error) {
	if s == nil {
		return nil, errors.New("manifest: no signer")
	}
	if len(spec.Actions) == 0 {
		return nil, errors.New("manifest: no actions: the first action must be c2pa.created or c2pa.opened")
	}
	if spec.Generator.Name == "" {
		return nil, errors.New("manifest: claim_generator_info needs a name")
	}
	if spec.Generator.SpecVersion == "" {
		spec.Generator.SpecVersion = SpecVersion
	}
	d := &Draft{spec: spec, signer: s, label: "urn:c2pa:" + uuid.NewString(), instance: spec.InstanceID}
	if d.instance == "" {
		d.instance = "xmp.iid:" + uuid.NewString()
	}
	actions := append([]Action(nil), spec.Actions...)

	if p := spec.Parent; p != nil {
		if actions[0].Action != ActionOpened {
			return nil, errors.New("manifest: with a parent ingredient the first action must be c2pa.opened")
		}
		active := p.Store.Active()
		if active == nil {
			return nil, errors.New("manifest: the parent store has no manifest")
		}
		for _, m := range p.Store.Manifests {
			d.parentRaw = append(d.parentRaw, m.Box.Raw)
		}
		ing := Ingredient{
			Title:          p.Title,
			Format:         p.Format,
			Relationship:   "parentOf",
			InstanceID:     active.Claim.InstanceID,
			ActiveManifest: &HashedURI{URL: "self#jumbf=/" + LabelStore + "/" + active.Label, Hash: sum(active.Box.HashedBytes())},
		}
		if sig := active.Box.Child(LabelSignature); sig != nil {
			ing.ClaimSignature = &HashedURI{URL: "self#jumbf=/" + LabelStore + "/" + active.Label + "/" + LabelSignature, Hash: sum(sig.HashedBytes())}
		}
		// validationResults is required with activeManifest; each list is required too (an
		// absent list encoded as null makes c2pa-rs reject the ingredient).
		results := StatusCodes{}
		if p.Results != nil {
			results = *p.Results
		}
		results.Success = nonNil(results.Success)
		results.Informational = nonNil(results.Informational)
		results.Failure = nonNil(results.Failure)
		ing.ValidationResults = &ValidationResults{ActiveManifest: &results}
		box, err := encodeAssertion(LabelIngredient3, salt(), ing)
		if err != nil {
			return nil, err
		}
		ref := hashedURI(assertionURL(LabelIngredient3), box)
		first := actions[0]
		params := map[string]any{}
		for k, v := range first.Parameters {
			params[k] = v
		}
		params["ingredients"] = []HashedURI{ref}
		first.Parameters = params
		actions[0] = first
		d.boxes = append(d.boxes, assertionBox{LabelIngredient3, box})
	}

	all := true
	box, err := encodeAssertion(LabelActionsV2, salt(), Actions{Actions: actions, AllActionsIncluded: &all})
	if err != nil {
		return nil, err
	}
	// Actions first: the rubric of the C2PA conformance program looks for the inception action
	// in the first actions assertion of created_assertions.
	d.boxes = append([]assertionBox{{LabelActionsV2, box}}, d.boxes...)
	for _, a := range spec.Assertions {
		b, err := encodeAssertion(a.Label, salt(), a.Value)
		if err != nil {
			return nil, err
		}
		d.boxes = append(d.boxes, assertionBox{a.Label, b})
	}
	bind, err := d.placeholderBinding()
	if err != nil {
		return nil, err
	}
	d.binding = len(d.boxes)
	d.bindLen = len(bind.box)
	d.boxes = append(d.boxes, bind)

	// The store's length, with a claim and a signature of their final lengths: only the hard
	// binding's values and the signature's bytes change before it is written.
	claim, err := d.claim()
	if err != nil {
		return nil, fmt.Errorf("encoding the claim: %w", err)
	}
	d.length = d.store(claim, make([]byte, s.SignatureSize())).Len()
	return d, nil
}

func nonNil(s []StatusEntry) []StatusEntry {
	if s == nil {
		return []StatusEntry{}
	}
	return s
}

func sum(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}

// zeroHash stands in for the hash until the asset has been hashed.
var zeroHash = make([]byte, sha256.Size)

func (d *Draft) placeholderBinding() (assertionBox, error) {
	switch d.spec.Binding {
	case BindDataHash:
		n := d.spec.DataHashExclusions
		if n <= 0 {
			n = 1
		}
		ex := make([]ExclusionRange, n)
		for i := range ex {
			ex[i] = ExclusionRange{Start: math.MaxUint64, Length: math.MaxUint64}
		}
		b, err := encodeAssertion(LabelDataHash, salt(), DataHash{Exclusions: ex, Name: "jumbf manifest", Alg: "sha256", Hash: zeroHash, Pad: []byte{}})
		return assertionBox{LabelDataHash, b}, err
	case BindBMFF:
		b, err := encodeAssertion(LabelBMFFHashV3, salt(), bmffHash{Exclusions: d.spec.BMFFExclusions, Name: "jumbf manifest", Alg: "sha256", Hash: zeroHash})
		return assertionBox{LabelBMFFHashV3, b}, err
	}
	return assertionBox{}, fmt.Errorf("manifest: unknown binding %d", d.spec.Binding)
}

type bmffHash struct {
	Exclusions any    `cbor:"exclusions"`
	Name       string `cbor:"name,omitempty"`
	Alg        string `cbor:"alg"`
	Hash       []byte `cbor:"hash"`
}

// Label is the new manifest's label (urn:c2pa:…).
func (d *Draft) Label() string { return d.label }

// InstanceID is the claim's instanceID.
func (d *Draft) InstanceID() string { return d.instance }

// Len is the exact length of the store Finish will return.
func (d *Draft) Len() int { return d.length }

// claim builds the claim CBOR from the current assertion boxes.
func (d *Draft) claim() ([]byte, error) {
	c := claimV2{
		InstanceID:         d.instance,
		ClaimGeneratorInfo: d.spec.Generator,
		Signature:          "self#jumbf=/" + LabelStore + "/" + d.label + "/" + LabelSignature,
		Title:              d.spec.Title,
		Alg:                "sha256",
	}
	for _, b := range d.boxes {
		c.Created = append(c.Created, hashedURI(assertionURL(b.label), b.box))
	}
	return encMode.Marshal(c)
}

// store is the manifest store with the given claim and signature: the parent's manifests,
// then the new one.
func (d *Draft) store(claim, signature []byte) jumbf.Node {
	boxes := make([]jumbf.Node, len(d.boxes))
	for i, b := range d.boxes {
		boxes[i] = jumbf.Encoded(b.box)
	}
	m := jumbf.SuperboxNode(jumbf.TypeManifest, d.label, nil,
		jumbf.SuperboxNode(jumbf.TypeAssertions, LabelAssertions, nil, boxes...),
		jumbf.SuperboxNode(jumbf.TypeClaim, LabelClaimV2, nil, jumbf.ContentBox("cbor", claim)),
		jumbf.SuperboxNode(jumbf.TypeSignature, LabelSignature, nil, jumbf.ContentBox("cbor", signature)),
	)
	store := make([]jumbf.Node, 0, len(d.parentRaw)+1)
	for _, p := range d.parentRaw {
		store = append(store, jumbf.Encoded(p))
	}
	return jumbf.SuperboxNode(jumbf.TypeManifestStore, LabelStore, nil, append(store, m)...)
}

// FinishDataHash fills in the c2pa.hash.data binding (exclusions and the hash of everything
// else), signs the claim and returns the store, exactly Len bytes long.
func (d *Draft) FinishDataHash(exclusions []ExclusionRange, hash []byte) ([]byte, error) {
	if d.spec.Binding != BindDataHash {
		return nil, errors.New("manifest: this draft does not use a data hash")
	}
	want := d.spec.DataHashExclusions
	if want <= 0 {
		want = 1
	}
	if len(exclusions) != want || len(hash) != sha256.Size {
		return nil, fmt.Errorf("manifest: data hash needs %d exclusions and a SHA-256 hash", want)
	}
	salt := saltOf(d.boxes[d.binding].box)
	dh := DataHash{Exclusions: exclusions, Name: "jumbf manifest", Alg: "sha256", Hash: hash, Pad: []byte{}}
	b, err := encodeAssertion(LabelDataHash, salt, dh)
	if err != nil {
		return nil, err
	}
	if diff := d.bindLen - len(b); diff > 0 {
		dh.Pad = make([]byte, diff)
		if b, err = encodeAssertion(LabelDataHash, salt, dh); err != nil {
			return nil, err
		}
	}
	if len(b) != d.bindLen {
		return nil, fmt.Errorf("manifest: data hash assertion is %d bytes, planned %d", len(b), d.bindLen)
	}
	d.boxes[d.binding] = assertionBox{LabelDataHash, b}
	return d.sign()
}

// FinishBMFF fills in the c2pa.hash.bmff.v3 hash, signs, and returns the store.
func (d *Draft) FinishBMFF(hash []byte) ([]byte, error) {
	if d.spec.Binding != BindBMFF {
		return nil, errors.New("manifest: this draft does not use a BMFF hash")
	}
	if len(hash) != sha256.Size {
		return nil, errors.New("manifest: BMFF hash must be SHA-256")
	}
	old := d.boxes[d.binding]
	b, err := encodeAssertion(LabelBMFFHashV3, saltOf(old.box), bmffHash{Exclusions: d.spec.BMFFExclusions, Name: "jumbf manifest", Alg: "sha256", Hash: hash})
	if err != nil {
		return nil, err
	}
	if len(b) != d.bindLen {
		return nil, fmt.Errorf("manifest: BMFF hash assertion is %d bytes, planned %d", len(b), d.bindLen)
	}
	d.boxes[d.binding] = assertionBox{LabelBMFFHashV3, b}
	return d.sign()
}

// saltOf returns the c2sh salt of an encoded assertion superbox.
func saltOf(box []byte) []byte {
	b, err := jumbf.Parse(box, jumbf.DefaultLimits)
	if err != nil || b.Desc == nil || len(b.Desc.Private) < 8 {
		return nil
	}
	return append([]byte(nil), b.Desc.Private[8:]...)
}

func (d *Draft) sign() ([]byte, error) {
	claim, err := d.claim()
	if err != nil {
		return nil, err
	}
	sig, err := d.signer.SignClaim(claim)
	if err != nil {
		return nil, err
	}
	store := d.store(claim, sig).Encode()
	if len(store) != d.length {
		return nil, fmt.Errorf("manifest: store is %d bytes, planned %d", len(store), d.length)
	}
	return store, nil
}
