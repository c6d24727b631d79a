package label

import (
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest/bmffhash"
)

func bmffExclusions() []bmffhash.Exclusion { return bmffhash.C2PAExclusions() }

// bmffHash computes the c2pa.hash.bmff.v3 value of the output a layout describes, streaming it
// through the hasher with a zero-filled store in its slot (the C2PA box is excluded anyway).
func bmffHash(lay *formats.Layout, r io.ReaderAt, storeLen int) ([]byte, error) {
	h, err := bmffhash.NewHasher(sha256.New(), bmffExclusions())
	if err != nil {
		return nil, err
	}
	if _, err := lay.WriteTo(h, r, lay.Frame(make([]byte, storeLen))); err != nil {
		return nil, fmt.Errorf("hashing the output: %w", err)
	}
	return h.Sum()
}
