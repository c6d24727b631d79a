package manifest

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"fmt"
	"hash"
	"io"
	"sort"
	"time"

	"github.com/ailabel/ailabel/sign"
)

// Validation states, as c2pa-rs names them.
const (
	StateInvalid = "Invalid"
	StateValid   = "Valid"
	StateTrusted = "Trusted"
)

// Status codes about assertions, bindings and ingredients (spec §15.2.2).
const (
	CodeHashedURIMatch       = "assertion.hashedURI.match"
	CodeHashedURIMismatch    = "assertion.hashedURI.mismatch"
	CodeAssertionMissing     = "assertion.missing"
	CodeAssertionUndeclared  = "assertion.undeclared"
	CodeMultipleHardBindings = "assertion.multipleHardBindings"
	CodeHardBindingsMissing  = "claim.hardBindings.missing"
	CodeDataHashMatch        = "assertion.dataHash.match"
	CodeDataHashMismatch     = "assertion.dataHash.mismatch"
	CodeDataHashMalformed    = "assertion.dataHash.malformed"
	CodeBMFFHashMatch        = "assertion.bmffHash.match"
	CodeBMFFHashMismatch     = "assertion.bmffHash.mismatch"
	CodeBMFFHashMalformed    = "assertion.bmffHash.malformed"
	CodeAdditionalExclusions = "assertion.dataHash.additionalExclusionsPresent"
	CodeCBORInvalid          = "assertion.cbor.invalid"
	CodeActionMalformed      = "assertion.action.malformed"
	CodeIngredientValidated  = "ingredient.manifest.validated"
	CodeIngredientMismatch   = "ingredient.manifest.mismatch"
	CodeIngredientMissing    = "ingredient.manifest.missing"
	CodeIngredientMalformed  = "assertion.ingredient.malformed"
	CodeAlgorithmUnsupported = "algorithm.unsupported"
	CodeGeneralError         = "general.error"
)

// Options control validation.
type Options struct {
	Trust *sign.TrustStore // anchors; nil trusts nobody
	Now   time.Time        // when the certificate validity is judged without a time-stamp; zero means time.Now
}

// Result is what validating a store against its asset found.
type Result struct {
	State          string          // Invalid, Valid or Trusted
	ActiveManifest string          // label of the active manifest
	Active         StatusCodes     // statuses of the active manifest (incl. its hard binding)
	Manifests      []*ManifestInfo // every manifest in the store, active last
}

// ManifestInfo describes one manifest in plain terms.
type ManifestInfo struct {
	Label             string
	Title             string
	Format            string
	InstanceID        string
	ClaimVersion      int
	Generator         string
	GeneratorVersion  string
	SignedBy          *x509.Certificate
	Chain             []*x509.Certificate
	Algorithm         string
	SignedAt          time.Time
	TimeStamp         *sign.TimeStamp // the validated RFC 3161 time-stamp of the signature, if any
	Trusted           bool
	Actions           []Action
	DigitalSourceType string // of the inception action, or of the first action that carries one
	Assertions        []string
	Ingredients       []IngredientInfo
	Status            StatusCodes
	BindingChecked    bool // the hard binding was checked against the asset (active manifest)
}

// IngredientInfo is one ingredient and what validating its manifest found.
type IngredientInfo struct {
	Title          string
	Format         string
	Relationship   string
	ActiveManifest string // label of the ingredient's manifest in this store
	Validated      bool
	Status         StatusCodes
}

type collector struct{ s StatusCodes }

func (c *collector) ok(code, url, why string) {
	c.s.Success = append(c.s.Success, StatusEntry{code, url, why})
}
func (c *collector) info(code, url, why string) {
	c.s.Informational = append(c.s.Informational, StatusEntry{code, url, why})
}
func (c *collector) fail(code, url, why string) {
	c.s.Failure = append(c.s.Failure, StatusEntry{code, url, why})
}

// Validate checks the store's active manifest against the asset (signature, certificate, every
// assertion hash, the hard binding) and the manifests of its ingredients (signature and
// assertions; their hard bindings refer to earlier versions of the asset and are not checked).
// asset may be nil to skip the hard binding (then the result cannot be Valid).
func (s *Store) Validate(asset io.ReaderAt, size int64, opt Options) *Result {
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	active := s.Active()
	res := &Result{ActiveManifest: active.Label}
	infos := map[string]*ManifestInfo{}
	for _, m := range s.Manifests {
		info := s.validateManifest(m, opt)
		infos[m.Label] = info
		res.Manifests = append(res.Manifests, info)
	}
	ai := infos[active.Label]
	if asset != nil {
		s.checkHardBinding(active, ai, asset, size)
	} else {
		c := collector{ai.Status}
		c.fail(CodeGeneralError, active.uri(""), "the asset is not available, so the hard binding was not checked")
		ai.Status = c.s
	}
	// Ingredient manifests: link their results.
	for _, info := range res.Manifests {
		for i := range info.Ingredients {
			ing := &info.Ingredients[i]
			if sub, ok := infos[ing.ActiveManifest]; ok && ing.Status.Failure == nil {
				ing.Status = sub.Status
				ing.Validated = onlyTolerated(sub.Status.Failure)
			}
		}
	}
	res.Active = ai.Status
	res.State = stateOf(ai)
	return res
}

func onlyTolerated(f []StatusEntry) bool {
	for _, e := range f {
		if e.Code != sign.CodeCredentialUntrusted {
			return false
		}
	}
	return true
}

func stateOf(ai *ManifestInfo) string {
	has := func(code string) bool {
		for _, e := range ai.Status.Success {
			if e.Code == code {
				return true
			}
		}
		return false
	}
	if !has(sign.CodeSignatureValidated) || !has(sign.CodeInsideValidity) || !onlyTolerated(ai.Status.Failure) || !ai.BindingChecked {
		return StateInvalid
	}
	if ai.Trusted {
		return StateTrusted
	}
	return StateValid
}

func (s *Store) validateManifest(m *Manifest, opt Options) *ManifestInfo {
	info := &ManifestInfo{Label: m.Label}
	c := collector{}
	c.s.Failure = append(c.s.Failure, m.Problems...)
	for _, a := range m.Assertions {
		info.Assertions = append(info.Assertions, a.Label)
	}
	if m.Claim == nil {
		if len(m.Problems) == 0 {
			c.fail("claim.malformed", m.uri(""), "the claim cannot be read")
		}
		info.Status = c.s
		return info
	}
	cl := m.Claim
	info.ClaimVersion, info.Title, info.Format, info.InstanceID = cl.Version, cl.Title, cl.Format, cl.InstanceID
	info.Generator, info.GeneratorVersion = cl.Generator()

	// Signature and credential.
	if m.Signature != nil {
		sr, _ := sign.VerifyClaimSignature(m.Signature, m.ClaimRaw, opt.Trust, opt.Now)
		sigURL := m.uri(LabelSignature)
		for _, f := range sr.Success {
			c.ok(f.Code, sigURL, f.Explanation)
		}
		for _, f := range sr.Failure {
			c.fail(f.Code, sigURL, f.Explanation)
		}
		for _, f := range sr.Information {
			c.info(f.Code, sigURL, f.Explanation)
		}
		info.SignedBy, info.Chain, info.SignedAt, info.Trusted = sr.Signer(), sr.Chain, sr.SignedAt, sr.Trusted
		info.TimeStamp = sr.TimeStamp
		info.Algorithm = string(sr.Algorithm)
	}

	// Assertions named by the claim.
	referenced := map[*AssertionBox]bool{}
	hardBindings := 0
	for _, ref := range cl.AllAssertions() {
		box, owner, err := s.resolve(m, ref.URL)
		if err != nil || box == nil || owner != m {
			c.fail(CodeAssertionMissing, ref.URL, "the claim names an assertion that is not in the manifest")
			continue
		}
		var ab *AssertionBox
		for _, a := range m.Assertions {
			if a.Box == box {
				ab = a
			}
		}
		alg := ref.Alg
		if alg == "" {
			alg = cl.Alg
		}
		h, err := newHash(alg)
		if err != nil {
			c.fail(CodeAlgorithmUnsupported, ref.URL, err.Error())
			continue
		}
		h.Write(box.HashedBytes())
		if !bytes.Equal(h.Sum(nil), ref.Hash) {
			c.fail(CodeHashedURIMismatch, ref.URL, "hash of the assertion does not match the claim")
		} else {
			c.ok(CodeHashedURIMatch, ref.URL, "hashed uri matched")
		}
		if ab != nil {
			referenced[ab] = true
			if isHardBinding(ab.Label) {
				hardBindings++
			}
		}
	}
	for _, a := range m.Assertions {
		if !referenced[a] {
			c.fail(CodeAssertionUndeclared, m.uri(LabelAssertions+"/"+a.Label), "the assertion is in the manifest but not in its claim")
		}
	}
	switch {
	case hardBindings == 0 && !m.Update:
		c.fail(CodeHardBindingsMissing, m.uri(""), "the claim has no hard binding")
	case hardBindings > 1:
		c.fail(CodeMultipleHardBindings, m.uri(""), "the claim has more than one hard binding")
	}

	// Actions.
	for _, a := range m.Assertions {
		if a.Label != LabelActionsV2 && a.Label != LabelActionsV1 {
			continue
		}
		var acts Actions
		if err := decMode.Unmarshal(a.Content, &acts); err != nil {
			c.fail(CodeCBORInvalid, m.uri(LabelAssertions+"/"+a.Label), "the actions assertion is not valid CBOR")
			continue
		}
		if info.Actions == nil && len(acts.Actions) > 0 {
			first := acts.Actions[0].Action
			if first != ActionCreated && first != ActionOpened && !m.Update {
				c.fail(CodeActionMalformed, m.uri(LabelAssertions+"/"+a.Label), "the first action must be c2pa.created or c2pa.opened")
			}
		}
		info.Actions = append(info.Actions, acts.Actions...)
	}
	for _, a := range info.Actions {
		if a.DigitalSourceType != "" {
			info.DigitalSourceType = a.DigitalSourceType
			break
		}
	}

	// Ingredients.
	for _, a := range m.Assertions {
		if a.Label != LabelIngredient3 && a.Label != LabelIngredient2 && a.Label != LabelIngredient1 &&
			!hasPrefix(a.Label, LabelIngredient1+"__") && !hasPrefix(a.Label, LabelIngredient3+"__") {
			continue
		}
		var ing Ingredient
		if err := decMode.Unmarshal(a.Content, &ing); err != nil {
			c.fail(CodeCBORInvalid, m.uri(LabelAssertions+"/"+a.Label), "the ingredient assertion is not valid CBOR")
			continue
		}
		ii := IngredientInfo{Title: ing.Title, Format: ing.Format, Relationship: ing.Relationship}
		if a.Label == LabelIngredient3 || hasPrefix(a.Label, LabelIngredient3+"__") {
			if why := ingredientV3Problem(a.Content, &ing); why != "" {
				c.fail(CodeIngredientMalformed, m.uri(LabelAssertions+"/"+a.Label), why)
			}
		}
		ref := ing.ActiveManifest
		if ref == nil {
			ref = ing.C2PAManifest
		}
		if ref != nil {
			box, owner, err := s.resolve(m, ref.URL)
			if err != nil || owner == nil || box != owner.Box {
				ii.Status.Failure = append(ii.Status.Failure, StatusEntry{CodeIngredientMissing, ref.URL, "the ingredient's manifest is not in the store"})
				c.fail(CodeIngredientMissing, ref.URL, "the ingredient's manifest is not in the store")
			} else {
				ii.ActiveManifest = owner.Label
				alg := ref.Alg
				if alg == "" {
					alg = cl.Alg
				}
				if h, err := newHash(alg); err == nil {
					h.Write(box.HashedBytes())
					if !bytes.Equal(h.Sum(nil), ref.Hash) {
						ii.Status.Failure = append(ii.Status.Failure, StatusEntry{CodeIngredientMismatch, ref.URL, "the ingredient's manifest does not match its hash"})
						c.fail(CodeIngredientMismatch, ref.URL, "the ingredient's manifest does not match its hash")
					} else {
						c.ok(CodeIngredientValidated, ref.URL, "ingredient manifest hash matched")
					}
				}
			}
		}
		info.Ingredients = append(info.Ingredients, ii)
	}
	info.Status = c.s
	return info
}

// ingredientV3Problem checks the rules of spec §18.16 that c2pa-rs enforces: relationship is
// required, and an ingredient with an activeManifest must carry validationResults whose status
// lists are arrays.
func ingredientV3Problem(content []byte, ing *Ingredient) string {
	if ing.Relationship == "" {
		return "ingredient v3 has no relationship"
	}
	if ing.ActiveManifest == nil {
		return ""
	}
	var raw struct {
		VR map[string]map[string]any `cbor:"validationResults"`
	}
	if err := decMode.Unmarshal(content, &raw); err != nil || raw.VR == nil || raw.VR["activeManifest"] == nil {
		return "ingredient v3 with an activeManifest must have validation results"
	}
	for _, k := range []string{"success", "informational", "failure"} {
		if _, ok := raw.VR["activeManifest"][k].([]any); !ok {
			return "ingredient v3 validation results must list " + k + " as an array"
		}
	}
	return ""
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

func isHardBinding(label string) bool {
	switch label {
	case LabelDataHash, LabelBMFFHashV3, LabelBMFFHashV2, LabelBoxesHash, LabelCollection:
		return true
	}
	return false
}

func newHash(alg string) (hash.Hash, error) {
	switch alg {
	case "sha256", "":
		return sha256.New(), nil
	case "sha384":
		return sha512.New384(), nil
	case "sha512":
		return sha512.New(), nil
	}
	return nil, fmt.Errorf("hash algorithm %q is not allowed", alg)
}

func (s *Store) checkHardBinding(m *Manifest, info *ManifestInfo, asset io.ReaderAt, size int64) {
	c := collector{info.Status}
	defer func() { info.Status = c.s }()
	for _, a := range m.Assertions {
		url := m.uri(LabelAssertions + "/" + a.Label)
		switch a.Label {
		case LabelDataHash:
			var dh DataHash
			if err := decMode.Unmarshal(a.Content, &dh); err != nil {
				c.fail(CodeCBORInvalid, url, "the data hash assertion is not valid CBOR")
				return
			}
			ok, why := checkDataHash(&dh, asset, size)
			if ok {
				c.ok(CodeDataHashMatch, url, "data hash valid")
			} else {
				c.fail(CodeDataHashMismatch, url, why)
			}
			if len(dh.Exclusions) > 1 {
				c.info(CodeAdditionalExclusions, url, "the data hash excludes more than one range")
			}
			info.BindingChecked = true
			return
		case LabelBMFFHashV3, LabelBMFFHashV2:
			_, why, code := checkBMFFHash(a.Content, asset, size)
			switch code {
			case "match":
				c.ok(CodeBMFFHashMatch, url, "BMFF hash valid")
			case "mismatch":
				c.fail(CodeBMFFHashMismatch, url, why)
			default:
				c.fail(code, url, why)
			}
			info.BindingChecked = true
			return
		case LabelBoxesHash, LabelCollection:
			c.fail(CodeGeneralError, url, a.Label+" bindings are not checked by this version of ailabel")
			return
		}
	}
}

// checkDataHash hashes the asset minus the exclusions, streaming.
func checkDataHash(dh *DataHash, asset io.ReaderAt, size int64) (bool, string) {
	h, err := newHash(dh.Alg)
	if err != nil {
		return false, err.Error()
	}
	ex := append([]ExclusionRange(nil), dh.Exclusions...)
	sort.Slice(ex, func(i, j int) bool { return ex[i].Start < ex[j].Start })
	var pos int64
	for _, e := range ex {
		if e.Start > uint64(size) || e.Length > uint64(size)-e.Start {
			return false, fmt.Sprintf("exclusion %d+%d lies outside the %d-byte asset", e.Start, e.Length, size)
		}
		if int64(e.Start) < pos {
			return false, "exclusions overlap"
		}
		if _, err := io.Copy(h, io.NewSectionReader(asset, pos, int64(e.Start)-pos)); err != nil {
			return false, "reading the asset: " + err.Error()
		}
		pos = int64(e.Start + e.Length)
	}
	if _, err := io.Copy(h, io.NewSectionReader(asset, pos, size-pos)); err != nil {
		return false, "reading the asset: " + err.Error()
	}
	if !bytes.Equal(h.Sum(nil), dh.Hash) {
		return false, "the asset's bytes do not match the data hash: the content changed after signing"
	}
	return true, ""
}
