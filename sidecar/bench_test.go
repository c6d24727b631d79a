package sidecar_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/sidecar"
)

// BenchmarkLabel measures the handler of POST /v1/label alone (no network), per format.
func BenchmarkLabel(b *testing.B) {
	c := testCreds(b)
	s, err := sidecar.New(sidecar.Config{Tokens: []string{token}, Signer: c.signer, TempDir: b.TempDir(),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	for _, in := range []struct {
		name string
		body []byte
	}{
		{"text-1KB", []byte(strings.Repeat("The quick brown fox jumps over the lazy dog. ", 23))},
		{"jpeg", sample(b, "sample.jpg")},
		{"jpeg-256KB", padJPEG(sample(b, "sample.jpg"), 256<<10)}, // as scripts/load.sh sends
	} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.body)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/v1/label", bytes.NewReader(in.body))
					req.Header.Set("Authorization", "Bearer "+token)
					w := httptest.NewRecorder()
					s.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// padJPEG returns jpg grown to size bytes by COM segments of filler after SOI, as
// scripts/load.sh makes its 256 KB JPEG.
func padJPEG(jpg []byte, size int) []byte {
	out := append([]byte(nil), jpg[:2]...)
	for pad := size - len(jpg); pad > 4; {
		n := min(pad-4, 65533)
		out = append(out, 0xff, 0xfe, byte((n+2)>>8), byte(n+2))
		out = append(out, bytes.Repeat([]byte{'x'}, n)...)
		pad -= n + 4
	}
	return append(out, jpg[2:]...)
}
