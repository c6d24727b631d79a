package iscc

import (
	"errors"
	"fmt"
)

// MaxSeqBytes bounds the ISCC-SEQ DecodeSeq accepts (well above the 4 096 base64 characters the
// resolution servers accept for a value).
const MaxSeqBytes = 4096

// EncodeSeq encodes the IEP-0020 soft-binding value: an ISCC-SEQ, the binary units concatenated
// in the given order. IEP-0020 asks for 256-bit units, so every code must have Bits == 256 and a
// supported MainType (not 5 or 6).
func EncodeSeq(codes ...Code) ([]byte, error) {
	if len(codes) == 0 {
		return nil, errors.New("iscc: encode seq: no codes")
	}
	out := make([]byte, 0, len(codes)*34)
	for i, c := range codes {
		if err := c.validate(); err != nil {
			return nil, fmt.Errorf("iscc: encode seq: unit %d: %w", i, err)
		}
		if c.Bits != 256 {
			return nil, fmt.Errorf("iscc: encode seq: unit %d has %d bits, IEP-0020 units have 256", i, c.Bits)
		}
		out = append(out, c.Bytes()...)
	}
	if len(out) > MaxSeqBytes {
		return nil, fmt.Errorf("iscc: encode seq: %d bytes, at most %d allowed", len(out), MaxSeqBytes)
	}
	return out, nil
}

// DecodeSeq decodes an ISCC-SEQ into its units. It accepts units of any supported length (32..256
// bits) and rejects empty input, a nonzero header padding nibble, a Length over 7, a truncated
// body, trailing bytes, MainType 5 or 6 and input over MaxSeqBytes.
func DecodeSeq(b []byte) ([]Code, error) {
	if len(b) == 0 {
		return nil, errors.New("iscc: decode seq: empty")
	}
	if len(b) > MaxSeqBytes {
		return nil, fmt.Errorf("iscc: decode seq: %d bytes, at most %d allowed", len(b), MaxSeqBytes)
	}
	var codes []Code
	for off := 0; off < len(b); {
		c, n, err := decodeUnit(b[off:])
		if err != nil {
			if len(codes) > 0 && off+2 > len(b) {
				return nil, fmt.Errorf("iscc: decode seq: %d trailing bytes at offset %d: %w", len(b)-off, off, err)
			}
			return nil, fmt.Errorf("iscc: decode seq: unit %d at offset %d: %w", len(codes), off, err)
		}
		codes = append(codes, c)
		off += n
	}
	return codes, nil
}
