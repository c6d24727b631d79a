package repository

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/watermark/photos"
)

// Issue 9, Done-when 4: 10,000 unmarked pictures never yield a recovered manifest (nor a
// "possible forgery") from a repository that holds labeled pictures of the same kinds of scene.
// Recovery looks each one up by its watermark and its fingerprint, as Verify does.
func TestNoFalseRecovery(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 1_000
	}
	signer, _ := testSigner(t, "False Recovery")
	l, err := label.New(signer, label.Options{Model: "false-recovery"})
	if err != nil {
		t.Fatal(err)
	}
	repo := NewMemory()
	ctx := context.Background()
	for i := 0; i < 24; i++ {
		var in bytes.Buffer
		png.Encode(&in, photos.Sized(512, 384, i, 1))
		var out bytes.Buffer
		res, err := l.Label(ctx, bytes.NewReader(in.Bytes()), int64(in.Len()), &out, label.Options{NoNotice: true})
		if err != nil || res.Watermark == "" {
			t.Fatalf("label %d: %v %v", i, err, res)
		}
		if err := repo.Put(ctx, RecordOf(res)); err != nil {
			t.Fatal(err)
		}
		// The labeled picture itself is recovered: the test can tell.
		if i == 0 {
			img, _, err := image.Decode(bytes.NewReader(out.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if r, err := label.RecoverPicture(ctx, Resolver(repo), img, label.VerifyOptions{}); err != nil || r.ManifestID != res.Manifest {
				t.Fatalf("the labeled picture is not recovered: %v %+v", err, r)
			}
		}
	}
	rs := Resolver(repo)
	// Unmarked pictures: 100 scenes of other seeds (the same scene kinds), each cut into 100
	// different windows of 256x256 to 384x256.
	bases := make([]*image.NRGBA, 100)
	for i := range bases {
		bases[i] = photos.Sized(768, 576, i, 7)
	}
	var next, recovered, forged, failed atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				sz := [][2]int{{256, 256}, {320, 256}, {256, 320}, {384, 256}}[i%4]
				k := int(i / 100)
				at := image.Pt((k%10)*(768-384)/9, (k/10)*(576-320)/9)
				img := bases[i%100].SubImage(image.Rectangle{Min: at, Max: at.Add(image.Pt(sz[0], sz[1]))})
				r, err := label.RecoverPicture(ctx, rs, img, label.VerifyOptions{})
				switch {
				case err == nil:
					recovered.Add(1)
					t.Errorf("unmarked picture %d: recovered %s", i, r.ManifestID)
				case isForgery(err):
					forged.Add(1)
					t.Errorf("unmarked picture %d: %v", i, err)
				case !errors.Is(err, label.ErrNoMatch):
					failed.Add(1)
					t.Errorf("unmarked picture %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d unmarked pictures: %d recovered, %d possible forgeries, %d errors", n, recovered.Load(), forged.Load(), failed.Load())
}

func isForgery(err error) bool { _, ok := label.IsPossibleForgery(err); return ok }
