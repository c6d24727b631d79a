package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ailabel/ailabel/sidecar"
	"github.com/ailabel/ailabel/sign"
)

const token = "load-client-test-token"

// testServer is a sidecar with a fresh signing key, behind wrap (nil: none); trust holds its CA.
func testServer(t *testing.T, wrap func(http.Handler) http.Handler) (u *url.URL, trust *sign.TrustStore) {
	t.Helper()
	u, trust, _ = testServerDir(t, wrap)
	return u, trust
}

// testServerDir is testServer, and the folder of its keys (ca.pem is the trust anchor).
func testServerDir(t *testing.T, wrap func(http.Handler) http.Handler) (u *url.URL, trust *sign.TrustStore, dir string) {
	t.Helper()
	creds, err := sign.Generate("loadclient test", sign.KeyP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if err := creds.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	sg, err := sign.LoadFiles(filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if trust, err = sign.LoadTrustFile(filepath.Join(dir, "ca.pem")); err != nil {
		t.Fatal(err)
	}
	s, err := sidecar.New(sidecar.Config{Tokens: []string{token}, Signer: sg, TempDir: dir,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = s
	if wrap != nil {
		h = wrap(s)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ = url.Parse(srv.URL + "/v1/label?model=m")
	return u, trust, dir
}

func testConfig(u *url.URL, trust *sign.TrustStore) config {
	return config{URL: u, Token: token, Body: []byte(strings.Repeat("The model wrote this. ", 40)),
		N: 40, C: 4, Warmup: 4, Timeout: 10 * time.Second, Deadline: time.Minute,
		Format: "text", Model: "m", Trust: trust, Keep: 1 << 20, SpillMax: 1 << 20, SpillDir: ""}
}

func TestRunVerifiesEveryResponse(t *testing.T) {
	u, trust := testServer(t, nil)
	for _, tc := range []struct {
		name            string
		keep, spill     int64
		during, spilled bool
	}{
		{"in memory", 1 << 20, 0, false, false},
		{"spill file", 0, 1 << 20, false, true},
		{"during the run", 0, 0, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(u, trust)
			cfg.Keep, cfg.SpillMax, cfg.SpillDir = tc.keep, tc.spill, t.TempDir()
			s, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if s.failed != 0 || s.OK != cfg.N || s.Verified != cfg.N {
				t.Fatalf("%d failed, %d 200s, %d verified of %d: %v", s.failed, s.OK, s.Verified, cfg.N, s.Failures)
			}
			if (s.VerifiedDuring == cfg.N) != tc.during {
				t.Fatalf("%d verified during the run", s.VerifiedDuring)
			}
			if s.P50 <= 0 || s.P99 < s.P50 || s.Max < s.P99 {
				t.Fatalf("latency p50 %v p99 %v max %v", s.P50, s.P99, s.Max)
			}
		})
	}
}

func TestRunFindsMislabeled(t *testing.T) {
	u, trust := testServer(t, nil)
	cfg := testConfig(u, trust)
	cfg.Model = "another model" // the server labels with model m
	s, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.failed != cfg.N+cfg.Warmup || s.Verified != 0 || !strings.Contains(strings.Join(s.Failures, "\n"), `model "m", want "another model"`) {
		t.Fatalf("%d failed, %d verified: %v", s.failed, s.Verified, s.Failures)
	}

	cfg = testConfig(u, trust)
	cfg.Format = "markdown"
	if s, err = run(context.Background(), cfg); err != nil || s.failed != cfg.N+cfg.Warmup {
		t.Fatalf("wrong format: %v, %d failed", err, s.failed)
	}

	cfg = testConfig(u, sign.NewTrustStore()) // nobody trusted
	if s, err = run(context.Background(), cfg); err != nil || s.failed != cfg.N+cfg.Warmup {
		t.Fatalf("untrusted signer: %v, %d failed", err, s.failed)
	}
}

// tamper changes one byte of every seventh labeled body, and answers every eleventh request
// with 503.
func tamper(h http.Handler) http.Handler {
	var n atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		if i%11 == 0 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if i%7 == 0 && len(body) > 100 {
			body = bytes.Clone(body)
			body[50] ^= 0x01
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

func TestRunFindsTamperedAndFailed(t *testing.T) {
	u, trust := testServer(t, tamper)
	cfg := testConfig(u, trust)
	cfg.C, cfg.Warmup, cfg.N = 1, 0, 77 // one connection: requests 1..77 in order
	s, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 7 answered 503 (11, 22, …, 77); of the others, 10 tampered (multiples of 7 but not 77).
	if s.OK != 70 || s.Verified != 60 || s.failed != 17 {
		t.Fatalf("%d 200s, %d verified, %d failed, want 70, 60, 17: %v", s.OK, s.Verified, s.failed, s.Failures)
	}
}

func TestRunCountsRefused(t *testing.T) {
	u, trust := testServer(t, nil)
	cfg := testConfig(u, trust)
	cfg.URL = &url.URL{Scheme: "http", Host: u.Host, Path: "/v1/label", RawQuery: "model=m"}
	cfg.Token = "not the token"
	s, err := run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.OK != 0 || s.failed != cfg.N+cfg.Warmup || !strings.Contains(s.Failures[0], "status 401") {
		t.Fatalf("%d 200s, %d failed: %v", s.OK, s.failed, s.Failures)
	}
}

// stallOnce holds the fifth request it sees for d.
func stallOnce(d time.Duration) func(http.Handler) http.Handler {
	var n atomic.Int64
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 5 {
				time.Sleep(d)
			}
			h.ServeHTTP(w, r)
		})
	}
}

// TestRunPaced: with -rate the timed requests leave at that rate (the run takes about n/rate,
// not less), and a stall counts against every request it held back: one request held 400 ms on
// the only connection at 100 requests a second delays the 30 or so due behind it, so the median
// latency is long; without pacing the same stall is one slow request and the median is short.
func TestRunPaced(t *testing.T) {
	const stall = 400 * time.Millisecond
	for _, tc := range []struct {
		name string
		rate float64
	}{{"paced", 100}, {"not paced", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			u, trust := testServer(t, stallOnce(stall))
			cfg := testConfig(u, trust)
			cfg.C, cfg.Warmup, cfg.N, cfg.Rate = 1, 0, 60, tc.rate
			s, err := run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if s.failed != 0 || s.Verified != cfg.N {
				t.Fatalf("%d failed, %d verified: %v", s.failed, s.Verified, s.Failures)
			}
			if s.Max < stall {
				t.Fatalf("max latency %v, under the %v stall", s.Max, stall)
			}
			if tc.rate > 0 {
				if min := time.Duration(float64(cfg.N-1) / tc.rate * float64(time.Second)); s.Elapsed < min {
					t.Fatalf("%d requests at %v/s took %v, under %v", cfg.N, tc.rate, s.Elapsed, min)
				}
				if s.LateP99 < stall/2 {
					t.Fatalf("paced: sent late by p99 %v, but the one connection was held %v", s.LateP99, stall)
				}
				if s.P50 < 50*time.Millisecond {
					t.Fatalf("paced: median %v; the requests held back by the stall were not counted from when they were due", s.P50)
				}
				if !strings.Contains(s.line("x"), "paced at 100/s (sent late by p99 ") {
					t.Fatalf("result line %q does not say it was paced", s.line("x"))
				}
			} else if s.P50 > 50*time.Millisecond {
				t.Fatalf("not paced: median %v, want only the stalled request slow", s.P50)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	s := &summary{N: 10000, Elapsed: 2 * time.Second, P99: 19 * time.Millisecond} // 5,000/s
	for _, tc := range []struct {
		rate  float64
		p99   time.Duration
		met   bool
		lines []string
	}{
		{0, 0, true, nil},
		{5000, 20 * time.Millisecond, true, []string{
			"throughput 5000 req/s, at least 5000: met",
			"p99 19ms (as fast as answered), under 20ms: met"}},
		{5001, 0, false, []string{"throughput 5000 req/s, at least 5001: MISSED"}},
		{0, 19 * time.Millisecond, false, []string{"p99 19ms (as fast as answered), under 19ms: MISSED"}},
	} {
		lines, met := s.judge(tc.rate, tc.p99)
		if met != tc.met || !slices.Equal(lines, tc.lines) {
			t.Errorf("judge(%v, %v) = %q, %v; want %q, %v", tc.rate, tc.p99, lines, met, tc.lines, tc.met)
		}
	}
	s.Rate = 5000
	if lines, _ := s.judge(0, time.Second); !strings.Contains(lines[0], "(paced at 5000/s)") {
		t.Errorf("paced run judged as %q", lines)
	}
}

// TestTargetExitStatus runs the command: a missed target is exit status 3 and says so; a met one
// is 0.
func TestTargetExitStatus(t *testing.T) {
	u, _, dir := testServerDir(t, nil)
	in := filepath.Join(dir, "in.txt")
	tokens := filepath.Join(dir, "tokens")
	if err := os.WriteFile(in, []byte(strings.Repeat("The model wrote this. ", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokens, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		want   []string
		status int
		says   string
	}{
		{[]string{"-want-rate", "1", "-want-p99", "1m"}, 0, "target: p99 "},
		{[]string{"-want-rate", "1e9"}, 3, "at least 1000000000: MISSED"},
		{[]string{"-want-p99", "1ns"}, 3, "under 1ns: MISSED"},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"-url", u.String(), "-token-file", tokens, "-in", in, "-n", "20", "-c", "2",
			"-warmup", "0", "-format", "text", "-model", "m", "-trust", filepath.Join(dir, "ca.pem"), "-name", "t"}, tc.want...)
		if got := cli(args, &stdout, &stderr); got != tc.status || !strings.Contains(stdout.String(), tc.says) {
			t.Errorf("%v: exit %d, want %d; output %q (stderr %q), want %q in it", tc.want, got, tc.status, stdout.String(), stderr.String(), tc.says)
		}
	}
}
