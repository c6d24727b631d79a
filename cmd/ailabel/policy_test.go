package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/policy"
)

// Issue 5: `ailabel policies` prints each policy's table; --policy takes a name or a file;
// --no-training and the cn policy's AIGC label show in verify; `ailabel disclosure` prints the
// header and the notice.
func TestCLIPolicies(t *testing.T) {
	code, out, _ := cli(t, nil, "policies")
	for _, want := range []string{"kz — Kazakhstan", "eu — European Union", "cn — China", "REQUIREMENT", "SOURCE", "WHAT AILABEL DOES",
		"Law 230-VIII Art. 21 p.2", "GB 45438-2025 §5.4", "AI Act Art. 50(2)", "text ≥ 5% of the shortest side"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("policies: exit %d, no %q in:\n%s", code, want, out)
		}
	}
	code, out, _ = cli(t, nil, "policies", "--json", "cn")
	var ps []*policy.Policy
	if err := json.Unmarshal([]byte(out), &ps); code != 0 || err != nil || len(ps) != 1 || ps[0].Name != "cn" {
		t.Fatalf("policies --json cn: %d %v %s", code, err, out)
	}

	dir := t.TempDir()
	t.Setenv("AILABEL_DEV_DIR", filepath.Join(dir, "dev"))
	// A policy of one's own, from a file: cn's rules with Russian and English warnings.
	ps[0].Name, ps[0].Languages = "acme", []string{"ru", "en"}
	pb, _ := json.Marshal(ps[0])
	pfile := filepath.Join(dir, "acme.json")
	if err := os.WriteFile(pfile, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	in := sample(t, "sample.png")
	out1 := filepath.Join(dir, "acme.png")
	if code, _, errs := cli(t, nil, "label", in, "-o", out1, "--policy", pfile, "--provider", "001191110102MAD55U9H0F10002", "--no-training"); code != 0 {
		t.Fatalf("label --policy FILE: %d %s", code, errs)
	}
	code, out, _ = cli(t, nil, "verify", "--json", out1)
	var rep struct {
		AIGC *struct {
			Label           string `json:"label"`
			ContentProducer string `json:"content_producer"`
		} `json:"aigc"`
		Reservations []struct{ Reserved bool } `json:"reservations"`
		LabelKinds   []string                  `json:"label_kinds"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.AIGC == nil || len(rep.Reservations) != 2 {
		t.Fatalf("verify --json: %d %v %s", code, err, out)
	}
	if code, out, _ = cli(t, nil, "verify", out1); code != 0 || !strings.Contains(out, "reserved against") {
		t.Fatalf("verify: %d %s", code, out)
	}
	for _, args := range [][]string{
		{"label", in, "-o", filepath.Join(dir, "x.png"), "--policy", "mars"},
		{"label", in, "-o", filepath.Join(dir, "x.png"), "--lang", "tlh"},
		{"label", in, "-o", filepath.Join(dir, "x.png"), "--badge", "huge"},
		{"label", in, "-o", filepath.Join(dir, "x.png"), "--policy", filepath.Join(dir, "missing.json")},
	} {
		if code, _, errs := cli(t, nil, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d (%q), want 2 and a message", args[4:], code, errs)
		}
		if _, err := os.Stat(filepath.Join(dir, "x.png")); err == nil {
			t.Errorf("%v left an output behind", args[4:])
		}
	}

	code, out, _ = cli(t, nil, "disclosure", "--model", "gpt-x", "--lang", "ru,en")
	if code != 0 || !strings.HasPrefix(out, `AI-Disclosure: mode=ai-originated; model="gpt-x"`) ||
		!strings.Contains(out, "ru: Этот сервис использует искусственный интеллект") || !strings.Contains(out, "en: This service uses artificial intelligence") {
		t.Fatalf("disclosure: %d %s", code, out)
	}
}
