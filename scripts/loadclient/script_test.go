package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestLoadScript runs scripts/load.sh itself, small (200 requests over 8 connections): it must
// build, start the server, send and verify every request of its three runs (text as fast as
// answered, text paced, JPEG), judge each against its target and exit 0 when none failed.
func TestLoadScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ailabel and runs a server: not with -short")
	}
	for _, tool := range []string{"bash", "curl", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to run scripts/load.sh: %v", tool, err)
			}
			t.Skipf("%s is not installed: scripts/load.sh not run", tool)
		}
	}
	cmd := exec.Command("bash", filepath.Join("..", "load.sh"), "200", "8")
	cmd.Env = append(os.Environ(), "TARGETS=report", "TEXT_RATE=1000", "WARMUP=16", "SPILL_DIR="+t.TempDir())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("load.sh: %v after %v\n%s", err, time.Since(start), out)
	}
	s := string(out)
	for _, want := range []string{
		`(?m)^1 KB text +200 req .* verified 200 \+16 warm-up .*server CPU \d+ µs/req`,
		`(?m)^  target: throughput \d+ req/s, at least 5000: (met|MISSED)$`,
		`(?m)^1 KB text +200 req .* paced at 1000/s \(sent late by p99 `,
		`(?m)^  target: p99 [0-9.]+(ms|µs|s) \(paced at 1000/s\), under 20ms: (met|MISSED)$`,
		`(?m)^256 KB JPEG +200 req .* verified 200 \+16 warm-up`,
		`(?m)^  target: throughput \d+ req/s, at least 300: (met|MISSED)$`,
		`(?m)^server peak RSS: \d+ kB$`,
	} {
		if !regexp.MustCompile(want).MatchString(s) {
			t.Errorf("load.sh output has no line matching %s:\n%s", want, s)
		}
	}
	if strings.Contains(s, "FAIL") {
		t.Errorf("load.sh reported a failure:\n%s", s)
	}
}
