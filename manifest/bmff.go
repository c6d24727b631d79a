package manifest

import (
	"bytes"
	"io"

	"github.com/ailabel/ailabel/manifest/bmffhash"
)

// bmffHashAssertion is c2pa.hash.bmff.v2/v3 as read from a manifest.
type bmffHashAssertion struct {
	Exclusions []bmffhash.Exclusion `cbor:"exclusions"`
	Alg        string               `cbor:"alg"`
	Hash       []byte               `cbor:"hash"`
	Merkle     []any                `cbor:"merkle"`
	Name       string               `cbor:"name"`
}

// checkBMFFHash checks a c2pa.hash.bmff.v2/v3 binding by streaming the asset through the
// box hasher. It returns code "match", "mismatch" or another status code with the reason.
func checkBMFFHash(content []byte, asset io.ReaderAt, size int64) (bool, string, string) {
	var a bmffHashAssertion
	if err := decMode.Unmarshal(content, &a); err != nil {
		return false, "the BMFF hash assertion is not valid CBOR: " + err.Error(), CodeCBORInvalid
	}
	if len(a.Hash) == 0 {
		if len(a.Merkle) > 0 {
			return false, "Merkle-tree BMFF hashes (fragmented files) are not checked by this version of ailabel", CodeGeneralError
		}
		return false, "the BMFF hash assertion has no hash", CodeBMFFHashMalformed
	}
	h, err := newHash(a.Alg)
	if err != nil {
		return false, err.Error(), CodeAlgorithmUnsupported
	}
	hs, err := bmffhash.NewHasher(h, a.Exclusions)
	if err != nil {
		return false, "the BMFF hash's exclusions cannot be applied: " + err.Error(), CodeBMFFHashMalformed
	}
	if _, err := io.Copy(hs, io.NewSectionReader(asset, 0, size)); err != nil {
		return false, "reading the asset: " + err.Error(), CodeBMFFHashMismatch
	}
	sum, err := hs.Sum()
	if err != nil {
		return false, "the file's box structure is broken: " + err.Error(), CodeBMFFHashMismatch
	}
	if !bytes.Equal(sum, a.Hash) {
		return false, "the file's boxes do not match the BMFF hash: the content changed after signing", "mismatch"
	}
	return true, "", "match"
}
