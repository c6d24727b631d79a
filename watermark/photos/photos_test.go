package photos

import (
	"bytes"
	"testing"
)

func TestDeterministic(t *testing.T) {
	a, b := Sized(160, 120, 5, 42), Sized(160, 120, 5, 42)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Fatal("same (i, seed) gave different pictures")
	}
	if c := Sized(160, 120, 5, 43); bytes.Equal(a.Pix, c.Pix) {
		t.Fatal("different seeds gave the same picture")
	}
	if c := Sized(160, 120, 13, 42); bytes.Equal(a.Pix, c.Pix) {
		t.Fatal("different indices gave the same picture")
	}
}

func TestSizesAndKinds(t *testing.T) {
	if got := Sized(123, 77, 0, 1).Bounds().Size(); got.X != 123 || got.Y != 77 {
		t.Fatalf("Sized: %v", got)
	}
	if got := Stress(64, 48, 1).Bounds().Size(); got.X != 64 || got.Y != 48 {
		t.Fatalf("Stress: %v", got)
	}
	if n := len(Generate(3, 1)); n != 3 {
		t.Fatalf("Generate: %d pictures", n)
	}
	// Every scene kind produces a picture with some variation (not flat)
	// and opaque pixels.
	for k := range SceneKinds {
		p := Sized(96, 64, k, 9)
		lo, hi := uint8(255), uint8(0)
		for i := 0; i < len(p.Pix); i += 4 {
			lo, hi = min(lo, p.Pix[i+1]), max(hi, p.Pix[i+1])
			if p.Pix[i+3] != 255 {
				t.Fatalf("kind %d: transparent pixel", k)
			}
		}
		if hi-lo < 10 {
			t.Errorf("kind %d: green range %d … %d, nearly flat", k, lo, hi)
		}
	}
	// Photo sizes stay within 384 … 2048 px.
	for i := range 40 {
		b := Photo(i, 3).Bounds()
		if min(b.Dx(), b.Dy()) < 384 || max(b.Dx(), b.Dy()) > 2048 {
			t.Fatalf("Photo(%d): %v", i, b)
		}
	}
}
