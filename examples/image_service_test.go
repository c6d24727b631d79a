package examples_test

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// image-service: one image per policy and format, fetched over HTTP, must verify as
// AI-generated (label.Verify, ailabel verify, c2pa-check), carry the AI-Disclosure header, and
// show its warning: a dark plate drawn inside the rectangle the service names, on a picture
// with no dark pixels of its own.
func TestImageService(t *testing.T) {
	const model = "test-image-model"
	base := startServer(t, "image-service", "-listen", "127.0.0.1:0", "-model", model, "-j", "2")
	dir := t.TempDir()
	for _, c := range []struct{ policy, lang, format string }{
		{"kz", "", "png"},
		{"kz", "kk,ru", "jpeg"},
		{"eu", "de", "png"},
		{"eu", "", "jpeg"},
		{"cn", "", "png"},
		{"cn", "zh", "jpeg"},
	} {
		name := fmt.Sprintf("%s-%s-%s", c.policy, strings.ReplaceAll(c.lang, ",", "+"), c.format)
		t.Run(name, func(t *testing.T) {
			q := url.Values{"prompt": {"a red kite over the steppe"}, "policy": {c.policy}, "format": {c.format}, "w": {"320"}, "h": {"240"}}
			if c.lang != "" {
				q.Set("lang", c.lang)
			}
			resp, body := get(t, base+"/image?"+q.Encode())
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %s: %s", resp.Status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "image/"+c.format {
				t.Errorf("Content-Type %q, want image/%s", ct, c.format)
			}
			checkDisclosure(t, resp.Header.Get("AI-Disclosure"), model)

			img, format, err := image.Decode(bytes.NewReader(body))
			if err != nil || format != c.format || img.Bounds() != image.Rect(0, 0, 320, 240) {
				t.Fatalf("decode: %v, %s %v, want a 320x240 %s", err, format, img.Bounds(), c.format)
			}
			var area image.Rectangle
			if _, err := fmt.Sscanf(resp.Header.Get("AI-Warning-Area"), "%d,%d,%d,%d", &area.Min.X, &area.Min.Y, &area.Max.X, &area.Max.Y); err != nil || area.Empty() {
				t.Fatalf("AI-Warning-Area %q: %v", resp.Header.Get("AI-Warning-Area"), err)
			}
			in, out := darkShare(img, area)
			t.Logf("warning at %v: %.0f%% dark pixels inside, %.2f%% outside", area, in*100, out*100)
			if in < 0.3 || out > 0.005 {
				t.Errorf("no visible warning plate at %v: %.1f%% dark pixels inside (want >= 30%%), %.2f%% outside (want < 0.5%%)", area, in*100, out*100)
			}

			path := filepath.Join(dir, name+"."+c.format)
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			rep := checkLabeled(t, path, model)
			if (c.policy == "cn") != (rep.AIGC != nil) {
				t.Errorf("China's AIGC label: %v, want it under cn only", rep.AIGC)
			}
			c2paCheck(t, path)
		})
	}

	// Bad requests get a 400 that says what is wrong.
	for q, want := range map[string]string{
		"":                                    "prompt is required",
		"prompt=x&policy=us":                  `policy "us"`,
		"prompt=x&lang=xx":                    `"xx"`,
		"prompt=x&format=gif":                 `format "gif"`,
		"prompt=x&w=99999":                    "w=",
		"prompt=" + strings.Repeat("a", 1001): "over 1000",
	} {
		resp, body := get(t, base+"/image?"+q)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), want) {
			t.Errorf("GET /image?%.40s: %s %q, want 400 saying %q", q, resp.Status, body, want)
		}
	}
}

// The one-run mode fetches and verifies an image per policy and format by itself.
func TestImageServiceSelfTest(t *testing.T) {
	code, stdout, stderr := runProgram(t, "image-service", "-selftest")
	if code != 0 || linesStarting(stdout, "ok ") != 6 || linesStarting(stdout, "FAIL") != 0 {
		t.Fatalf("image-service -selftest: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

func get(t *testing.T, u string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	return resp, body
}

// darkShare returns the share of dark pixels (luma below 60 of 255) inside area and outside it.
func darkShare(img image.Image, area image.Rectangle) (in, out float64) {
	var nIn, dIn, nOut, dOut int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			dark := (299*r+587*g+114*bl)/1000 < 60*257
			if image.Pt(x, y).In(area) {
				nIn++
				if dark {
					dIn++
				}
			} else {
				nOut++
				if dark {
					dOut++
				}
			}
		}
	}
	return float64(dIn) / float64(max(nIn, 1)), float64(dOut) / float64(max(nOut, 1))
}
