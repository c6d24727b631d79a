package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/ailabel/ailabel/label"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ailabel/ailabel/sign/tsatest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe runs `ailabel serve` in-process (config file, environment and flags), labels and
// verifies through HTTP, compares /v1/verify with `ailabel verify --json`, and stops it the
// way SIGTERM does (its context ends).
func TestServe(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, dir)
	const tok = "serve-test-token-0123456789"
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("# the test's token\n\n"+tok+"\n"), 0o600)
	cfg := filepath.Join(dir, "serve.json")
	os.WriteFile(cfg, []byte(`{"listen": "127.0.0.1:0", "model": "config-model", "max-inflight": 4, "request-timeout": "20s",
		"key": "`+filepath.Join(keys, "signer.key")+`", "trust": "`+filepath.Join(keys, "ca.pem")+`"}`), 0o600)
	tsa := tsatest.New(t, tsatest.Options{})
	envs := map[string]string{"AILABEL_CONFIG": cfg, "AILABEL_CERT": filepath.Join(keys, "chain.pem"), "AILABEL_MODEL": "env-model", "AILABEL_TSA": tsa.URL}
	base, stderr := startServe(t, envs, "serve", "--tokens-file", tokens)
	post := func(path string, body []byte) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	in, _ := os.ReadFile(sample(t, "sample.jpg"))
	resp, out := post("/v1/label", in)
	if resp.StatusCode != 200 {
		t.Fatalf("label: %d %s", resp.StatusCode, out)
	}
	// The environment wins over the config file.
	if d, err := label.ParseDisclosure(resp.Header.Get("AI-Disclosure")); err != nil || d.Model != "env-model" {
		t.Errorf("AI-Disclosure %q: %v", resp.Header.Get("AI-Disclosure"), err)
	}
	labeled := filepath.Join(dir, "labeled.jpg")
	os.WriteFile(labeled, out, 0o644)
	resp, got := post("/v1/verify", out)
	code, want, _ := cli(t, nil, "verify", "--json", "--trust", filepath.Join(keys, "ca.pem"), labeled)
	if resp.StatusCode != 200 || code != 0 {
		t.Fatalf("verify: %d %s / cli %d", resp.StatusCode, got, code)
	}
	var g, w map[string]any
	json.Unmarshal(got, &g)
	json.Unmarshal([]byte(want), &w)
	delete(w, "file")
	gj, _ := json.Marshal(g)
	wj, _ := json.Marshal(w)
	if !bytes.Equal(gj, wj) || g["validation_state"] != "Trusted" {
		t.Errorf("/v1/verify differs from verify --json:\n http %s\n  cli %s", gj, wj)
	}
	// --tsa (here AILABEL_TSA): the label was time-stamped by the test TSA, which verify does
	// not trust (only the signer's CA is an anchor).
	if ts, _ := g["time_stamp"].(map[string]any); ts == nil || ts["tsa_common_name"] != "ailabel Test TSA" || ts["trusted"] != false || tsa.Requests() != 1 {
		t.Errorf("time_stamp %v after %d TSA requests", g["time_stamp"], tsa.Requests())
	}
	if strings.Contains(stderr.String(), tok) {
		t.Error("the token is in the log")
	}
}

func TestServeUsage(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abc\n"), 0o600)
	good := filepath.Join(dir, "good")
	os.WriteFile(good, []byte("0123456789abcdef0123\n"), 0o600)
	badcfg := filepath.Join(dir, "bad.json")
	os.WriteFile(badcfg, []byte(`{"no-such-flag": 1}`), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--dev"}, "no bearer tokens"},
		{[]string{"serve", "--tokens-file", short, "--dev"}, "shorter than 16"},
		{[]string{"serve", "--tokens-file", filepath.Join(dir, "none")}, "no such file"},
		{[]string{"serve", "--config", badcfg}, "unknown setting"},
		{[]string{"serve", "--tokens-file", good}, "no signing key"},
		{[]string{"serve", "--tokens-file", good, "--dev", "--upstream", "file:///etc"}, "http(s) URL"},
		{[]string{"serve", "--max-body", "lots"}, "not a positive size"},
		{[]string{"serve", "--tokens-file", good, "--dev", "--tsa", "ftp://tsa.example"}, "--tsa"},
	} {
		code, _, errs := cli(t, nil, c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, %q (want %q)", c.args, code, errs, c.want)
		}
	}
	var b byteSize
	for in, want := range map[string]int64{"512M": 512 << 20, "1KiB": 1024, "2g": 2 << 30, "77": 77} {
		if err := b.Set(in); err != nil || int64(b) != want {
			t.Errorf("byteSize %q = %d, %v", in, b, err)
		}
	}
	toks, err := loadTokens("", " aaaaaaaaaaaaaaaaaaaa , bbbbbbbbbbbbbbbbbbbbbb,")
	if err != nil || len(toks) != 2 || toks[1] != "bbbbbbbbbbbbbbbbbbbbbb" {
		t.Errorf("AILABEL_TOKENS: %q %v", toks, err)
	}
}

// startServe runs `ailabel serve` in the test's process with the given environment and
// arguments, waits until it is ready, and stops it (checking its exit code) when the test ends.
func startServe(t *testing.T, envs map[string]string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	return startServeWith(t, http.DefaultClient, "http", envs, args...)
}

// startServeWith is startServe for a server reached with client at scheme://ADDR.
func startServeWith(t *testing.T, client *http.Client, scheme string, envs map[string]string, args ...string) (string, *lockedBuffer) {
	t.Helper()
	stderr := &lockedBuffer{}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, getenv: func(k string) string { return envs[k] }}
	ctx, stop := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- run(ctx, e, args) }()
	t.Cleanup(func() {
		stop()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("serve exited %d: %s", code, stderr.String())
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop")
		}
	})
	addrRE := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)
	var base string
	for i := 0; i < 500 && base == ""; i++ {
		if m := addrRE.FindStringSubmatch(stderr.String()); m != nil {
			base = scheme + "://" + m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("serve did not listen: %s", stderr.String())
	}
	for i := 0; ; i++ {
		resp, err := client.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if i == 500 {
			t.Fatalf("never ready: %v %s", err, stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return base, stderr
}

// TestServeLogFlush: with --log-flush, access lines wait for the interval (or shutdown), while
// every other line (here "listening", which startServe waits for) is written at once.
func TestServeLogFlush(t *testing.T) {
	dir := t.TempDir()
	keys := keygen(t, dir)
	const tok = "log-flush-test-token-0123456789"
	var stderr *lockedBuffer
	const access = `"path":"/v1/label"`
	t.Cleanup(func() { // after serve has stopped: cleanups run last registered first
		if n := strings.Count(stderr.String(), access); n != 3 {
			t.Errorf("after shutdown: %d access lines, want 3:\n%s", n, stderr.String())
		}
	})
	var base string
	base, stderr = startServe(t, map[string]string{"AILABEL_TOKENS": tok}, "serve", "--listen", "127.0.0.1:0",
		"--key", filepath.Join(keys, "signer.key"), "--cert", filepath.Join(keys, "chain.pem"), "--log-flush", "1m")
	for range 3 {
		req, _ := http.NewRequest("POST", base+"/v1/label", strings.NewReader("A generated paragraph.\n"))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("label: %d", resp.StatusCode)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := strings.Count(stderr.String(), access); n != 0 {
		t.Errorf("%d access lines written before the flush interval", n)
	}
}
