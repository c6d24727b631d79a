package watermark

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
)

// TestLayoutVectors pins the key stream, the layout and an encoded
// codeword (the values printed in docs/watermark.md) so that a change to
// the specification cannot go unnoticed.
func TestLayoutVectors(t *testing.T) {
	l := theLayout()
	// Key stream block 0 = SHA-256("org.ailabel.wm.v1/layout" ‖ 00000000).
	h := sha256.Sum256(append([]byte(layoutSeed), 0, 0, 0, 0))
	s := &stream{seed: layoutSeed}
	for i := range 32 {
		if b := s.byte(); b != h[i] {
			t.Fatalf("stream byte %d = %02x, want %02x", i, b, h[i])
		}
	}
	var pilots []int
	for c := range tileArea {
		if l.bit[c] < 0 && len(pilots) < 8 {
			pilots = append(pilots, c)
		}
	}
	chips := ""
	for c := range 16 {
		if l.chip[c] > 0 {
			chips += "+"
		} else {
			chips += "-"
		}
	}
	mask := ""
	for k := range 16 {
		mask += fmt.Sprint(l.mask[k])
	}
	cw := l.bch.encode(0x0123456789abcdef)
	var par uint64
	for i := bchK; i < bchN; i++ {
		par = par<<1 | uint64(cw[i])
	}
	got := fmt.Sprintf("block0 %s | first pilot cells %v | bit 0 cells %v | chips 0-15 %s | mask 0-15 %s | g %016x | parity(0123456789abcdef) %016x",
		hex.EncodeToString(h[:8]), pilots, l.cells[0], chips, mask, l.bch.gen|1<<63, par)
	t.Log(got)
	const want = "block0 52c0fdb5574b8e9a | first pilot cells [5 7 8 18 19 25 28 30] | bit 0 cells [870 29 73 712 388 769] | chips 0-15 ---+--++-+--++-+ | mask 0-15 1010011010110101 | g a1ab815bc7ec8025 | parity(0123456789abcdef) 42d26b5cc6d55eda"
	if got != want {
		t.Errorf("layout vectors changed:\n got %s\nwant %s", got, want)
	}
}
