package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/sign/tsatest"
)

// `ailabel label --tsa URL` time-stamps the signature; verify names the TSA and the time in
// plain text, JSON and the HTML report, and says whether the TSA is trusted.
func TestCLITimeStamp(t *testing.T) {
	tsa := tsatest.New(t, tsatest.Options{})
	dir := t.TempDir()
	keys := keygen(t, dir)
	key, chain, ca := filepath.Join(keys, "signer.key"), filepath.Join(keys, "chain.pem"), filepath.Join(keys, "ca.pem")
	both := filepath.Join(dir, "anchors.pem")
	if err := os.WriteFile(both, append(mustRead(t, ca), tsa.CAPEM()...), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "stamped.jpg")
	if code, _, errs := cli(t, nil, "label", sample(t, "sample.jpg"), "-o", out, "--key", key, "--cert", chain, "--tsa", tsa.URL); code != 0 {
		t.Fatalf("label --tsa: %d %s", code, errs)
	}
	if tsa.Requests() != 1 {
		t.Fatalf("%d TSA requests", tsa.Requests())
	}
	code, stdout, _ := cli(t, nil, "verify", "--trust", both, out)
	if code != 0 || !strings.Contains(stdout, "time-stamped by ailabel Test TSA at ") || strings.Contains(stdout, "not on your trust list") {
		t.Fatalf("verify --trust both: %d %s", code, stdout)
	}
	code, stdout, _ = cli(t, nil, "verify", "--trust", ca, out)
	if code != 0 || !strings.Contains(stdout, "time-stamped by ailabel Test TSA at ") || !strings.Contains(stdout, "(time-stamp authority not on your trust list)") {
		t.Fatalf("verify --trust ca: %d %s", code, stdout)
	}
	report := filepath.Join(dir, "report.html")
	if code, _, errs := cli(t, nil, "verify", "--json", "--trust", both, "--report", report, out); code != 0 {
		t.Fatalf("verify --report: %d %s", code, errs)
	}
	page := string(mustRead(t, report))
	if !strings.Contains(page, "<dt>time-stamped</dt><dd>"+time.Now().UTC().Format("2006-")) || !strings.Contains(page, "by ailabel Test TSA (trusted time-stamp authority)</dd>") {
		t.Fatalf("the report does not show the time-stamp:\n%s", page[strings.Index(page, "<tbody>"):])
	}

	// A bad URL is a usage error; an unreachable TSA fails the label and writes nothing.
	if code, _, errs := cli(t, nil, "label", sample(t, "sample.jpg"), "-o", filepath.Join(dir, "x.jpg"), "--key", key, "--cert", chain, "--tsa", "tsa.example"); code != exitUsage || !strings.Contains(errs, "--tsa") {
		t.Fatalf("--tsa without scheme: %d %s", code, errs)
	}
	gone := tsatest.New(t, tsatest.Options{})
	goneURL := gone.URL
	closed := filepath.Join(dir, "unstamped.jpg")
	gone.Close()
	code, _, errs := cli(t, nil, "label", sample(t, "sample.jpg"), "-o", closed, "--key", key, "--cert", chain, "--tsa", goneURL)
	if code == 0 || !strings.Contains(errs, "time-stamp authority") {
		t.Fatalf("unreachable TSA: %d %s", code, errs)
	}
	if _, err := os.Stat(closed); !os.IsNotExist(err) {
		t.Fatalf("an output was left behind: %v", err)
	}
}
