package jumbf

import (
	"os"
	"testing"
)

func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("../testdata/c2pa-rs-manifest.c2pa"); err == nil {
		f.Add(b)
	}
	f.Add(Superbox(TypeManifestStore, "c2pa", nil, Superbox(TypeManifest, "urn:c2pa:x", []byte("0123456789abcdef"), AppendBox(nil, "cbor", []byte{0xa0}))))
	f.Add([]byte{0, 0, 0, 1, 'j', 'u', 'm', 'b', 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0, 0, 'j', 'u', 'm', 'b'})
	f.Fuzz(func(t *testing.T, b []byte) {
		box, err := Parse(b, DefaultLimits)
		if err != nil {
			return
		}
		if len(box.Raw) > len(b) || box.Header > len(box.Raw) {
			t.Fatalf("box claims %d bytes of %d", len(box.Raw), len(b))
		}
		var walk func(*Box)
		walk = func(x *Box) {
			_ = x.HashedBytes()
			for _, c := range x.Children {
				walk(c)
			}
		}
		walk(box)
	})
}

func TestParseLimits(t *testing.T) {
	// Deep nesting stops at the limit instead of recursing without bound.
	inner := Superbox(TypeCBOR, "x", nil)
	for i := 0; i < 40; i++ {
		inner = Superbox(TypeCBOR, "x", nil, inner)
	}
	if _, err := Parse(inner, DefaultLimits); err == nil {
		t.Fatal("41 nested superboxes accepted with MaxDepth 16")
	}
	// A box that claims more bytes than there are.
	if _, err := Parse([]byte{0, 0, 0x10, 0, 'j', 'u', 'm', 'b', 0}, DefaultLimits); err == nil {
		t.Fatal("overlong box accepted")
	}
	// A superbox without a description box.
	if _, err := Parse(AppendBox(nil, "jumb", AppendBox(nil, "cbor", []byte{1})), DefaultLimits); err == nil {
		t.Fatal("superbox without jumd accepted")
	}
}
