package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // decode the JPEG answers
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/ailabel/ailabel/label"
)

// maxImageBytes bounds what the self-test reads of one answer.
const maxImageBytes = 32 << 20

// selfTest fetches one image per policy and format from the service at base and checks that
// each is labeled: valid C2PA manifest saying the model made it, an AI-Disclosure header, and a
// visible warning drawn inside the picture.
func selfTest(ctx context.Context, base, model string) error {
	client := &http.Client{Timeout: 30 * time.Second}
	var failed []error
	for _, pol := range []string{"kz", "eu", "cn"} {
		for _, format := range []string{"png", "jpeg"} {
			line, err := fetchAndCheck(ctx, client, base, model, pol, format)
			if err != nil {
				err = fmt.Errorf("policy %s, %s: %w", pol, format, err)
				failed = append(failed, err)
				fmt.Println("FAIL", err)
				continue
			}
			fmt.Printf("ok   policy %s, %s: %s\n", pol, format, line)
		}
	}
	return errors.Join(failed...)
}

func fetchAndCheck(ctx context.Context, client *http.Client, base, model, pol, format string) (string, error) {
	q := url.Values{"prompt": {"a lighthouse at dawn"}, "policy": {pol}, "format": {format}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/image?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxImageBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("status %s: %s", resp.Status, bytes.TrimSpace(body))
	case len(body) > maxImageBytes:
		return "", fmt.Errorf("answer over %d bytes", maxImageBytes)
	case resp.Header.Get("Content-Type") != "image/"+format:
		return "", fmt.Errorf("Content-Type %q, want image/%s", resp.Header.Get("Content-Type"), format)
	}
	d, err := label.ParseDisclosure(resp.Header.Get(label.DisclosureHeader))
	if err != nil || d.Mode != label.ModeAIOriginated || d.Model != model {
		return "", fmt.Errorf("%s header %q: want mode %s, model %q (%v)", label.DisclosureHeader, resp.Header.Get(label.DisclosureHeader), label.ModeAIOriginated, model, err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("the answer does not decode: %w", err)
	}
	var area image.Rectangle
	if _, err := fmt.Sscanf(resp.Header.Get(WarningAreaHeader), "%d,%d,%d,%d", &area.Min.X, &area.Min.Y, &area.Max.X, &area.Max.Y); err != nil || area.Empty() || !area.In(image.Rect(0, 0, cfg.Width, cfg.Height)) {
		return "", fmt.Errorf("%s %q: want the visible warning's rectangle inside the %dx%d picture", WarningAreaHeader, resp.Header.Get(WarningAreaHeader), cfg.Width, cfg.Height)
	}
	rep, err := label.Verify(ctx, bytes.NewReader(body), int64(len(body)), label.VerifyOptions{})
	if err != nil {
		return "", fmt.Errorf("verify: %w", err)
	}
	if rep.Verdict != label.Valid || !rep.AIGenerated || rep.Model != model {
		return "", fmt.Errorf("verify: %s, AI-generated %v, model %q: %s", rep.Verdict, rep.AIGenerated, rep.Model, rep.Summary)
	}
	return fmt.Sprintf("%dx%d, %d bytes, warning at %v, %s", cfg.Width, cfg.Height, len(body), area, rep.Summary), nil
}
