package iscc

import (
	"fmt"
	"io"

	"lukechampine.com/blake3"
)

// Instance is the result of InstanceCode.
type Instance struct {
	// Code is the Instance-Code (MainType 4): the first Bits/8 bytes of the BLAKE3 digest.
	Code Code
	// DataHash is the BLAKE3 multihash of the data: 0x1e 0x20 followed by the 32-byte digest.
	DataHash []byte
	// FileSize is the number of bytes read.
	FileSize int64
}

// InstanceCode computes the ISCC Instance-Code of everything r yields, with the given bit length
// (32..256, a multiple of 32; IEP-0020 uses 256).
func InstanceCode(r io.Reader, bits int) (Instance, error) {
	if bits < 32 || bits > 256 || bits%32 != 0 {
		return Instance{}, fmt.Errorf("iscc: instance code: bit length %d is not 32..256 in steps of 32", bits)
	}
	h := blake3.New(32, nil)
	n, err := io.Copy(h, r)
	if err != nil {
		return Instance{}, fmt.Errorf("iscc: instance code: read: %w", err)
	}
	sum := h.Sum(nil)
	return Instance{
		Code:     Code{MainType: MainTypeInstance, Bits: bits, Body: sum[:bits/8]},
		DataHash: append([]byte{0x1e, 0x20}, sum...),
		FileSize: n,
	}, nil
}
