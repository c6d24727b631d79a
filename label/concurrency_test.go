package label_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
)

// Two labelers with different keys live in one process and are used at the same time (run
// under -race in CI); each output verifies with its own certificate and not with the other's.
func TestTwoLabelersConcurrently(t *testing.T) {
	a := newCreds(t, "ailabel org A", sign.KeyP256)
	b := newCreds(t, "ailabel org B", sign.KeyEd25519)
	la, err := label.New(a.signer, label.Options{Model: "model-a"})
	if err != nil {
		t.Fatal(err)
	}
	// B follows China's rules (AIGC label, 「AI生成」 badge), A the default (kz).
	lb, err := label.New(b.signer, label.Options{Model: "model-b", SourceType: "compositeWithTrainedAlgorithmicMedia",
		Policy: mustPolicy(t, "cn"), Provider: providerCode})
	if err != nil {
		t.Fatal(err)
	}
	root := testtool.ModuleRoot(t)
	var inputs [][]byte
	for _, n := range []string{"sample.jpg", "sample.png", "sample.webp"} {
		in, err := os.ReadFile(filepath.Join(root, "testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in)
	}
	type job struct {
		l     *label.Labeler
		own   *creds
		other *creds
		model string
		dst   string
		aigc  bool
	}
	jobs := []job{
		{la, a, b, "model-a", manifest.SourceTrainedAlgorithmicMedia, false},
		{lb, b, a, "model-b", manifest.SourceCompositeWithTrainedAlgorithmic, true},
	}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		for _, j := range jobs {
			for _, in := range inputs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out := labelBytes(t, j.l, in, label.Options{})
					r, err := verifyBytes(t, out, j.own.trust)
					if err != nil || r.State != manifest.StateTrusted || r.Model != j.model || r.DigitalSourceType != j.dst {
						t.Errorf("own trust: %v %s %q %q", err, r.State, r.Model, r.DigitalSourceType)
						return
					}
					if (r.AIGC != nil) != j.aigc {
						t.Errorf("%s: China's AIGC label %+v, want one: %v", j.model, r.AIGC, j.aigc)
					}
					if r, _ := verifyBytes(t, out, j.other.trust); r.State != manifest.StateValid || r.Signer.Trusted {
						t.Errorf("the other labeler's CA trusted this output: %s", r.State)
					}
				}()
			}
		}
	}
	wg.Wait()
}
