package text

import (
	"bytes"
	"testing"
)

// TestWrapperSample checks the short form of the zero-store wrapper that Layout works with
// against the wrapper itself: the same length, the same first and last joinWindow bytes.
func TestWrapperSample(t *testing.T) {
	for _, n := range []int{0, 1, 2, 15, 16, 40, 85, 86, 87, 88, 100, 255, 256, 1000, 3571, 3572, 3573, 65536} {
		full, err := EncodeWrapperPadded(make([]byte, n), WrapperLen(n))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		s, l := wrapperSample(n, joinWindow)
		if s == nil || l != int64(len(full)) {
			t.Fatalf("n=%d: sample of %d bytes says the wrapper is %d bytes, it is %d", n, len(s), l, len(full))
		}
		w := min(joinWindow, len(full))
		if !bytes.Equal(s[:w], full[:w]) || !bytes.Equal(s[len(s)-w:], full[len(full)-w:]) {
			t.Fatalf("n=%d: the sample's ends differ from the wrapper's", n)
		}
		if len(s) > 4*joinWindow+64 {
			t.Fatalf("n=%d: the sample is %d bytes, not short", n, len(s))
		}
	}
	if s, _ := wrapperSample(maxWrapperStore+1, joinWindow); s != nil {
		t.Fatal("a sample for a store over the limit")
	}
}
