package watermark

import (
	"slices"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/watermark/photos"
)

// TestScratchReuse: marks and detections do not depend on what the pooled working grids held
// before: the same picture gives the same mark and the same detection after other pictures, of
// other sizes and contents (foliage, which takes the informed path), were marked and analysed,
// also when other goroutines use the pools at the same time.
func TestScratchReuse(t *testing.T) {
	id := ID{1, 2, 3, 4, 5, 6, 7, 8}
	pic := photos.Sized(320, 256, 1, 5)
	first, err := NewMark(pic, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	marked, err := Embed(pic, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	d0, err := Detect(marked, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for k := range 3 {
				other := photos.Sized(256+96*k+32*g, 300+64*k, 2+k+g, int64(11+k))
				if _, err := NewMark(other, ID{byte(k), byte(g)}, nil); err != nil {
					t.Error(err)
				}
				if m, err := Embed(other, ID{9, byte(k)}, nil); err == nil {
					Detect(m, nil)
				}
				Detect(other, nil)
			}
		})
	}
	wg.Wait()
	again, err := NewMark(pic, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first.s, again.s) {
		t.Fatal("the same picture gave another mark after the pools were used")
	}
	d1, err := Detect(marked, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d0 != d1 {
		t.Fatalf("the same picture gave another detection after the pools were used: %+v, then %+v", d0, d1)
	}
}
