package sidecar_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/repository"
	"github.com/ailabel/ailabel/repository/pgtest"
	"github.com/ailabel/ailabel/sidecar"
	"github.com/ailabel/ailabel/watermark/photos"
)

// Issue 9, Done-when 3: two sidecar replicas on one PostgreSQL. A picture labeled on one is
// found on the other by its content; 1,000 concurrent labels spread over both lose no
// manifest; stopping the database mid-run gives clean 503s (repository_unavailable, with
// Retry-After, never labeled content whose manifest was not kept) and no half-written rows; once
// the database is back, the replicas label again.
func TestReplicasOnPostgres(t *testing.T) {
	cluster := pgtest.Start(t)
	dsn := cluster.NewDatabase(t)
	ctx := context.Background()
	replica := func() (*testServer, *repository.Postgres) {
		p, err := repository.OpenPostgres(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return start(t, func(c *sidecar.Config) { c.Repository, c.MaxInflight = p, 256 }), p
	}
	a, pa := replica()
	b, _ := replica()

	// Label on A, resolve on B by content (a stripped, re-encoded copy).
	var pj bytes.Buffer
	jpeg.Encode(&pj, photos.Sized(800, 600, 3, 9), &jpeg.Options{Quality: 90})
	resp := a.do(t, "POST", "/v1/label", token, bytes.NewReader(pj.Bytes()))
	labeled := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("label on A: %d %s", resp.StatusCode, labeled)
	}
	id := resp.Header.Get(sidecar.ManifestHeader)
	img, err := jpeg.Decode(bytes.NewReader(labeled))
	if err != nil {
		t.Fatal(err)
	}
	var stripped bytes.Buffer
	jpeg.Encode(&stripped, img, &jpeg.Options{Quality: 70}) // no metadata: the manifest is gone
	resp = b.do(t, "POST", "/v1/matches/byContent", token, bytes.NewReader(stripped.Bytes()), "Content-Type", "image/jpeg")
	if body := readAll(t, resp); resp.StatusCode != 200 || !strings.Contains(string(body), `"manifestId":"`+id+`","similarityScore":100`) {
		t.Fatalf("byContent on B: %d %s", resp.StatusCode, body)
	}
	if resp := b.do(t, "GET", "/v1/manifests/"+url.PathEscape(id), token, nil); resp.StatusCode != 200 {
		t.Fatalf("manifest on B: %d", resp.StatusCode)
	} else {
		readAll(t, resp)
	}

	// 1,000 concurrent labels over both replicas (short texts: the repository is under test).
	const n, workers = 1000, 64
	ids := make([]string, n)
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan string, n)
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				srv := a
				if i%2 == 1 {
					srv = b
				}
				resp := srv.do(t, "POST", "/v1/label", token, strings.NewReader(fmt.Sprintf("generated answer number %d\n", i)), "Content-Type", "text/plain")
				body := readAll(t, resp)
				if resp.StatusCode != 200 {
					errs <- fmt.Sprintf("label %d: %d %s", i, resp.StatusCode, body)
					continue
				}
				ids[i] = resp.Header.Get(sidecar.ManifestHeader)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	for i, id := range ids {
		srv := b // each manifest is asked of the replica that did not label it
		if i%2 == 1 {
			srv = a
		}
		resp := srv.do(t, "GET", "/v1/manifests/"+url.PathEscape(id), token, nil)
		readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("manifest %d (%s): %d on the other replica", i, id, resp.StatusCode)
		}
	}

	// The database stops mid-run: clean 503s, then labels again once it is back.
	var ok200, got503, other atomic.Int64
	stop := make(chan struct{})
	var kept sync.Map // manifest id → labeled picture, for every 200
	small := func(i int) []byte {
		var b bytes.Buffer
		jpeg.Encode(&b, photos.Sized(320, 240, i, 5), &jpeg.Options{Quality: 85})
		return b.Bytes()
	}
	pics := [][]byte{small(1), small(2), small(3), small(4)}
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				srv := a
				if (w+i)%2 == 1 {
					srv = b
				}
				resp := srv.do(t, "POST", "/v1/label", token, bytes.NewReader(pics[(w+i)%len(pics)]), "Content-Type", "image/jpeg")
				body := readAll(t, resp)
				switch resp.StatusCode {
				case 200:
					ok200.Add(1)
					kept.Store(resp.Header.Get(sidecar.ManifestHeader), body)
				case 503:
					var e struct {
						Error struct{ Code string } `json:"error"`
					}
					if json.Unmarshal(body, &e) != nil || e.Error.Code != "repository_unavailable" || resp.Header.Get("Retry-After") == "" {
						other.Add(1)
						t.Errorf("503 %s (Retry-After %q)", body, resp.Header.Get("Retry-After"))
					}
					got503.Add(1)
				default:
					other.Add(1)
					t.Errorf("%d %s", resp.StatusCode, body)
				}
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	before := ok200.Load()
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for got503.Load() < 20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	after := ok200.Load()
	for ok200.Load() < after+20 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("labels: %d before the stop, %d in all; %d clean 503s while the database was down; %d other answers", before, ok200.Load(), got503.Load(), other.Load())
	if before == 0 || got503.Load() < 20 || ok200.Load() < after+20 || other.Load() != 0 {
		t.Fatalf("want labels before, ≥ 20 clean 503s during and ≥ 20 labels after the stop")
	}
	// Every label answered 200 is in the database, and (a sample) with its soft bindings: none
	// half-written.
	n200 := 0
	kept.Range(func(k, v any) bool {
		n200++
		id, pic := k.(string), v.([]byte)
		if _, err := pa.Manifest(ctx, id); err != nil {
			t.Errorf("manifest %s answered 200 but is not kept: %v", id, err)
			return true
		}
		if n200 > 50 {
			return true
		}
		bs, err := label.ContentBindings(bytes.NewReader(pic), int64(len(pic)))
		if err != nil {
			t.Fatal(err)
		}
		for _, sb := range bs {
			ms, err := pa.ByBinding(ctx, sb.Alg, sb.Value, 100)
			found := false
			for _, m := range ms {
				found = found || m.ManifestID == id
			}
			if err != nil || !found {
				t.Errorf("%s: its %s binding does not find it (%v %v): a half-written row", id, sb.Alg, ms, err)
			}
		}
		return true
	})
	if n200 == 0 {
		t.Fatal("no label answered 200")
	}
}
