package jumbf

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestNodeEncodesAsSuperbox: a tree of Nodes encodes to the bytes of the nested Superbox and
// AppendBox calls, and Len is its length.
func TestNodeEncodesAsSuperbox(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	blob := func() []byte {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// build returns the same random tree as a Node and as bytes, depth levels deep.
	var build func(depth int) (Node, []byte)
	build = func(depth int) (Node, []byte) {
		switch k := rng.IntN(3); {
		case depth == 0 || k == 0:
			b := blob()
			return ContentBox("cbor", b), AppendBox(nil, "cbor", b)
		case k == 1:
			b := AppendBox(nil, "json", blob())
			return Encoded(b), b
		default:
			var nodes []Node
			var encs [][]byte
			for range rng.IntN(4) {
				n, e := build(depth - 1)
				nodes, encs = append(nodes, n), append(encs, e)
			}
			var salt []byte
			if rng.IntN(2) == 0 {
				salt = blob()
			}
			typ := [16]byte{byte(depth), 1, 2, 3}
			label := fmt.Sprintf("c2pa.box%d", rng.IntN(100))
			return SuperboxNode(typ, label, salt, nodes...), Superbox(typ, label, salt, encs...)
		}
	}
	for range 300 {
		n, want := build(4)
		got := n.Encode()
		if !bytes.Equal(got, want) {
			t.Fatalf("Node encodes to %d bytes that differ from the nested boxes' %d", len(got), len(want))
		}
		if n.Len() != len(want) {
			t.Fatalf("Len %d, encoded %d", n.Len(), len(want))
		}
	}
}
