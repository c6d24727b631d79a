package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
)

// cli runs the command in-process and returns its exit code, stdout and stderr.
func cli(t *testing.T, stdin []byte, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: bytes.NewReader(stdin), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

// keygen writes test keys (signer.key, chain.pem, ca.pem) to dir/keys and returns that folder.
func keygen(t *testing.T, dir string) string {
	t.Helper()
	keys := filepath.Join(dir, "keys")
	if code, _, errs := cli(t, nil, "keygen", "-o", keys); code != 0 {
		t.Fatalf("keygen: %s", errs)
	}
	return keys
}

func sample(t *testing.T, name string) string {
	return filepath.Join(testtool.ModuleRoot(t), "testdata", name)
}

func TestCLIContract(t *testing.T) {
	dir := t.TempDir()
	keys := filepath.Join(dir, "keys")
	if code, out, errs := cli(t, nil, "keygen", "-o", keys); code != 0 || !strings.Contains(out, "TEST CA") {
		t.Fatalf("keygen: %d %s %s", code, out, errs)
	}
	key, chain, ca := filepath.Join(keys, "signer.key"), filepath.Join(keys, "chain.pem"), filepath.Join(keys, "ca.pem")
	in := sample(t, "sample.jpg")
	orig, _ := os.ReadFile(in)
	out := filepath.Join(dir, "out.jpg")

	// label IN -o OUT with flags after the positional argument.
	if code, _, errs := cli(t, nil, "label", in, "-o", out, "--key", key, "--cert", chain, "--model", "cli-model"); code != 0 {
		t.Fatalf("label: %d %s", code, errs)
	}
	if now, _ := os.ReadFile(in); !bytes.Equal(now, orig) {
		t.Fatal("the input was modified")
	}
	// verify: valid, exit 0; with the CA trusted.
	code, stdout, _ := cli(t, nil, "verify", out)
	if code != 0 || !strings.Contains(stdout, "VALID") || !strings.Contains(stdout, "cli-model") {
		t.Fatalf("verify: %d %s", code, stdout)
	}
	code, stdout, _ = cli(t, nil, "verify", "--json", "--trust", ca, out)
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || code != 0 || rep["validation_state"] != "Trusted" || rep["ai_generated"] != true {
		t.Fatalf("verify --json --trust: %d %v %s", code, err, stdout)
	}
	// Not labeled: exit 3. Invalid: exit 1. Mixed sets take the most serious.
	if code, stdout, _ = cli(t, nil, "verify", in); code != 3 || !strings.Contains(stdout, "NOT LABELED") {
		t.Fatalf("unlabeled: %d %s", code, stdout)
	}
	tampered := filepath.Join(dir, "tampered.jpg")
	b, _ := os.ReadFile(out)
	b[len(b)-200] ^= 0x10
	os.WriteFile(tampered, b, 0o644)
	if code, stdout, _ = cli(t, nil, "verify", tampered); code != 1 || !strings.Contains(stdout, "changed after signing") {
		t.Fatalf("tampered: %d %s", code, stdout)
	}
	if code, _, _ = cli(t, nil, "verify", out, in); code != 3 {
		t.Fatalf("valid+unlabeled: %d, want 3", code)
	}
	if code, _, _ = cli(t, nil, "verify", out, in, tampered); code != 1 {
		t.Fatalf("valid+unlabeled+invalid: %d, want 1", code)
	}
	// A folder: walked recursively, with a summary.
	sub := filepath.Join(dir, "folder", "deeper")
	os.MkdirAll(sub, 0o755)
	os.WriteFile(filepath.Join(sub, "a.jpg"), mustRead(t, out), 0o644)
	if code, stdout, _ = cli(t, nil, "verify", filepath.Join(dir, "folder")); code != 0 || !strings.Contains(stdout, "a.jpg: VALID") {
		t.Fatalf("folder: %d %s", code, stdout)
	}
	// Usage and I/O errors: exit 2.
	for _, args := range [][]string{{}, {"nope"}, {"verify"}, {"verify", filepath.Join(dir, "missing.jpg")}, {"label", in}, {"label", in, "-o", in, "--key", key, "--cert", chain}} {
		if code, _, _ := cli(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if now, _ := os.ReadFile(in); !bytes.Equal(now, orig) {
		t.Fatal("label -o IN modified the input without --in-place")
	}
	// stdin to stdout.
	code, stdout, errs := cli(t, orig, "label", "-", "-o", "-", "--key", key, "--cert", chain, "-q")
	if code != 0 || errs != "" {
		t.Fatalf("label - -o -: %d %q", code, errs)
	}
	if code, vout, _ := cli(t, []byte(stdout), "verify", "-"); code != 0 {
		t.Fatalf("verify - of the piped output: %d %s", code, vout)
	}
	// inspect prints the store.
	code, stdout, _ = cli(t, nil, "inspect", out)
	if code != 0 || !strings.Contains(stdout, `"c2pa.actions.v2"`) || !strings.Contains(stdout, "trainedAlgorithmicMedia") {
		t.Fatalf("inspect: %d %.400s", code, stdout)
	}
}

// Without a configured key the development key is made once, and every output says so.
func TestCLIDevelopmentKey(t *testing.T) {
	t.Setenv("AILABEL_DEV_DIR", filepath.Join(t.TempDir(), "dev"))
	out := filepath.Join(t.TempDir(), "out.png")
	code, _, errs := cli(t, nil, "label", sample(t, "sample.png"), "-o", out)
	if code != 0 || !strings.Contains(errs, "DEVELOPMENT key") || !strings.Contains(errs, "[DEVELOPMENT signature]") {
		t.Fatalf("label with the dev key: %d %s", code, errs)
	}
	code, stdout, _ := cli(t, nil, "verify", out)
	if code != 0 || !strings.Contains(stdout, "DEVELOPMENT") {
		t.Fatalf("verify of a dev-signed file: %d %s", code, stdout)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
