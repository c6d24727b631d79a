// Package manifest is ailabel's model of C2PA 2.x: the manifest store (JUMBF), the v2 claim,
// assertions and hashed URIs, hard bindings, and validation with C2PA's own status codes.
//
// It knows C2PA but no container: a format package (formats/…) finds the store in a file and
// lays out the output; this package builds a store of a size fixed in advance (a Draft), fills
// in the hard binding once the output has been hashed, signs the claim through package sign, and
// validates stores that it or anyone else wrote.
package manifest

import (
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// IPTC digital source types (https://cv.iptc.org/newscodes/digitalsourcetype/).
const (
	IPTCPrefix                              = "http://cv.iptc.org/newscodes/digitalsourcetype/"
	SourceTrainedAlgorithmicMedia           = IPTCPrefix + "trainedAlgorithmicMedia"
	SourceCompositeWithTrainedAlgorithmic   = IPTCPrefix + "compositeWithTrainedAlgorithmicMedia"
	SourceAlgorithmicallyEnhanced           = IPTCPrefix + "algorithmicallyEnhanced"
	SourceCompositeSynthetic                = IPTCPrefix + "compositeSynthetic"
	SourceAlgorithmicMedia                  = IPTCPrefix + "algorithmicMedia"
	SourceDigitalCapture                    = IPTCPrefix + "digitalCapture"
	SourceHumanEdits                        = IPTCPrefix + "humanEdits"
	SourceComposite                         = IPTCPrefix + "composite"
	SourceDataDrivenMedia                   = IPTCPrefix + "dataDrivenMedia"
	SourceDigitalCreation                   = IPTCPrefix + "digitalCreation"
	SourceScreenCapture                     = IPTCPrefix + "screenCapture"
	SourceVirtualRecording                  = IPTCPrefix + "virtualRecording"
	SourceCompositeCapture                  = IPTCPrefix + "compositeCapture"
	SourceNegativeFilm                      = IPTCPrefix + "negativeFilm"
	SourcePositiveFilm                      = IPTCPrefix + "positiveFilm"
	SourcePrint                             = IPTCPrefix + "print"
	SourceMinorHumanEdits                   = IPTCPrefix + "minorHumanEdits"
	SourceTrainedAlgorithmicMediaDeprecated = IPTCPrefix + "softwareImage"
)

// SourceTypes lists the IPTC digital source types by their short name.
var SourceTypes = []string{
	"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicallyEnhanced",
	"compositeSynthetic", "algorithmicMedia", "digitalCapture", "humanEdits", "minorHumanEdits",
	"composite", "compositeCapture", "dataDrivenMedia", "digitalCreation", "screenCapture",
	"virtualRecording", "negativeFilm", "positiveFilm", "print",
}

// SourceTypeURI turns a short name or a full URI into the IPTC URI; ok is false for an unknown value.
func SourceTypeURI(s string) (uri string, ok bool) {
	short := strings.TrimPrefix(s, IPTCPrefix)
	for _, t := range SourceTypes {
		if t == short {
			return IPTCPrefix + t, true
		}
	}
	return "", false
}

// IsAI reports whether a digital source type says the content was made or changed by AI.
func IsAI(sourceType string) bool {
	switch sourceType {
	case SourceTrainedAlgorithmicMedia, SourceCompositeWithTrainedAlgorithmic, SourceAlgorithmicallyEnhanced,
		SourceCompositeSynthetic, SourceAlgorithmicMedia:
		return true
	}
	return false
}

// Labels of the assertions and boxes ailabel writes or reads.
const (
	LabelStore       = "c2pa"
	LabelAssertions  = "c2pa.assertions"
	LabelClaimV2     = "c2pa.claim.v2"
	LabelClaimV1     = "c2pa.claim"
	LabelSignature   = "c2pa.signature"
	LabelActionsV2   = "c2pa.actions.v2"
	LabelActionsV1   = "c2pa.actions"
	LabelDataHash    = "c2pa.hash.data"
	LabelBMFFHashV3  = "c2pa.hash.bmff.v3"
	LabelBMFFHashV2  = "c2pa.hash.bmff.v2"
	LabelBoxesHash   = "c2pa.hash.boxes"
	LabelCollection  = "c2pa.hash.collection.data"
	LabelIngredient3 = "c2pa.ingredient.v3"
	LabelIngredient2 = "c2pa.ingredient.v2"
	LabelIngredient1 = "c2pa.ingredient"
	LabelTrainMining = "c2pa.training-mining"
	LabelCAWGTDM     = "cawg.training-mining"

	ActionCreated        = "c2pa.created"
	ActionOpened         = "c2pa.opened"
	ActionEdited         = "c2pa.edited"
	ActionEditedMetadata = "c2pa.edited.metadata"

	// SpecVersion is the C2PA specification version ailabel writes to.
	SpecVersion = "2.4"
)

// HashedURI is a C2PA hashed-uri-map.
type HashedURI struct {
	URL  string `cbor:"url" json:"url"`
	Alg  string `cbor:"alg,omitempty" json:"alg,omitempty"`
	Hash []byte `cbor:"hash" json:"hash"`
}

// SoftwareAgent names a tool in an action (generator-info-map).
type SoftwareAgent struct {
	Name    string `cbor:"name" json:"name"`
	Version string `cbor:"version,omitempty" json:"version,omitempty"`
}

// Action is one entry of an actions assertion.
type Action struct {
	Action            string         `cbor:"action" json:"action"`
	When              string         `cbor:"when,omitempty" json:"when,omitempty"`
	SoftwareAgent     *SoftwareAgent `cbor:"softwareAgent,omitempty" json:"softwareAgent,omitempty"`
	DigitalSourceType string         `cbor:"digitalSourceType,omitempty" json:"digitalSourceType,omitempty"`
	Description       string         `cbor:"description,omitempty" json:"description,omitempty"`
	Parameters        map[string]any `cbor:"parameters,omitempty" json:"parameters,omitempty"`
}

// Actions is the c2pa.actions.v2 assertion.
type Actions struct {
	Actions            []Action `cbor:"actions" json:"actions"`
	AllActionsIncluded *bool    `cbor:"allActionsIncluded,omitempty" json:"allActionsIncluded,omitempty"`
}

// ExclusionRange is one range of a data hash's exclusions.
type ExclusionRange struct {
	Start  uint64 `cbor:"start" json:"start"`
	Length uint64 `cbor:"length" json:"length"`
}

// DataHash is the c2pa.hash.data assertion.
type DataHash struct {
	Exclusions []ExclusionRange `cbor:"exclusions,omitempty" json:"exclusions,omitempty"`
	Name       string           `cbor:"name,omitempty" json:"name,omitempty"`
	Alg        string           `cbor:"alg,omitempty" json:"alg,omitempty"`
	Hash       []byte           `cbor:"hash" json:"hash"`
	Pad        []byte           `cbor:"pad" json:"-"`
	Pad2       []byte           `cbor:"pad2,omitempty" json:"-"`
}

// Ingredient is the c2pa.ingredient.v3 assertion (the parts ailabel writes and reads).
type Ingredient struct {
	Title             string             `cbor:"dc:title,omitempty" json:"title,omitempty"`
	Format            string             `cbor:"dc:format,omitempty" json:"format,omitempty"`
	Relationship      string             `cbor:"relationship" json:"relationship"`
	InstanceID        string             `cbor:"instanceID,omitempty" json:"instanceID,omitempty"`
	ActiveManifest    *HashedURI         `cbor:"activeManifest,omitempty" json:"activeManifest,omitempty"`
	ClaimSignature    *HashedURI         `cbor:"claimSignature,omitempty" json:"claimSignature,omitempty"`
	ValidationResults *ValidationResults `cbor:"validationResults,omitempty" json:"validationResults,omitempty"`
	// v1/v2 fields read from others' manifests.
	C2PAManifest *HashedURI `cbor:"c2pa_manifest,omitempty" json:"c2pa_manifest,omitempty"`
}

// StatusEntry is one validation status as C2PA serialises it.
type StatusEntry struct {
	Code        string `cbor:"code" json:"code"`
	URL         string `cbor:"url,omitempty" json:"url,omitempty"`
	Explanation string `cbor:"explanation,omitempty" json:"explanation,omitempty"`
}

// StatusCodes groups statuses by kind.
type StatusCodes struct {
	Success       []StatusEntry `cbor:"success" json:"success"`
	Informational []StatusEntry `cbor:"informational" json:"informational"`
	Failure       []StatusEntry `cbor:"failure" json:"failure"`
}

// ValidationResults is the validation-results-map of an ingredient (spec §15.2.2).
type ValidationResults struct {
	ActiveManifest *StatusCodes `cbor:"activeManifest,omitempty" json:"activeManifest,omitempty"`
}

// ClaimGeneratorInfo is the claim's generator-info-map.
type ClaimGeneratorInfo struct {
	Name            string `cbor:"name" json:"name"`
	Version         string `cbor:"version,omitempty" json:"version,omitempty"`
	OperatingSystem string `cbor:"operating_system,omitempty" json:"operating_system,omitempty"`
	SpecVersion     string `cbor:"specVersion,omitempty" json:"specVersion,omitempty"`
}

// claimV2 is the claim ailabel writes.
type claimV2 struct {
	InstanceID         string             `cbor:"instanceID"`
	ClaimGeneratorInfo ClaimGeneratorInfo `cbor:"claim_generator_info"`
	Signature          string             `cbor:"signature"`
	Created            []HashedURI        `cbor:"created_assertions"`
	Gathered           []HashedURI        `cbor:"gathered_assertions,omitempty"`
	Title              string             `cbor:"dc:title,omitempty"`
	Alg                string             `cbor:"alg"`
}

// Claim is a parsed claim, v1 or v2.
type Claim struct {
	Version            int             `json:"version"`
	InstanceID         string          `cbor:"instanceID" json:"instanceID"`
	ClaimGenerator     string          `cbor:"claim_generator" json:"claim_generator,omitempty"`
	ClaimGeneratorInfo cbor.RawMessage `cbor:"claim_generator_info" json:"-"`
	Signature          string          `cbor:"signature" json:"signature"`
	Assertions         []HashedURI     `cbor:"assertions" json:"assertions,omitempty"`
	Created            []HashedURI     `cbor:"created_assertions" json:"created_assertions,omitempty"`
	Gathered           []HashedURI     `cbor:"gathered_assertions" json:"gathered_assertions,omitempty"`
	Redacted           []string        `cbor:"redacted_assertions" json:"redacted_assertions,omitempty"`
	Title              string          `cbor:"dc:title" json:"title,omitempty"`
	Format             string          `cbor:"dc:format" json:"format,omitempty"`
	Alg                string          `cbor:"alg" json:"alg,omitempty"`
}

// AllAssertions returns the hashed URIs of every assertion the claim lists.
func (c *Claim) AllAssertions() []HashedURI {
	out := append([]HashedURI(nil), c.Assertions...)
	out = append(out, c.Created...)
	return append(out, c.Gathered...)
}

// Generator returns the first claim generator's name and version.
func (c *Claim) Generator() (name, version string) {
	if c.ClaimGenerator != "" {
		name = c.ClaimGenerator
	}
	if len(c.ClaimGeneratorInfo) == 0 {
		return name, ""
	}
	var one ClaimGeneratorInfo
	if err := decMode.Unmarshal(c.ClaimGeneratorInfo, &one); err == nil && one.Name != "" {
		return one.Name, one.Version
	}
	var many []ClaimGeneratorInfo
	if err := decMode.Unmarshal(c.ClaimGeneratorInfo, &many); err == nil && len(many) > 0 {
		return many[0].Name, many[0].Version
	}
	return name, ""
}

var (
	encMode, _ = cbor.CoreDetEncOptions().EncMode()
	decMode, _ = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		MaxNestedLevels:  32,
		MaxArrayElements: 65536,
		MaxMapPairs:      4096,
	}.DecMode()
)
