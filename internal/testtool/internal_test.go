package testtool

import (
	"slices"
	"strings"
	"testing"
)

func TestParseC2PACheck(t *testing.T) {
	const signed = `{
  "active_manifest": "urn:c2pa:1",
  "manifests": {"urn:c2pa:1": {"assertions": [
    {"label": "c2pa.hash.data", "data": {"exclusions": []}},
    {"label": "c2pa.actions.v2", "data": {"actions": [{"action": "c2pa.opened"},
      {"action": "c2pa.created", "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"}]}}]}},
  "validation_status": [{"code": "ignored.when.results.exist"}],
  "validation_results": {"activeManifest": {
    "success": [{"code": "claimSignature.validated"}],
    "informational": [{"code": "signingCredential.ocsp.skipped"}],
    "failure": [{"code": "signingCredential.untrusted"}]}},
  "validation_state": "Valid"
}`
	v, err := parseC2PACheck("f.jpg", 0, signed, "c2pa-check: valid (untrusted signer) active=urn:c2pa:1 digitalSourceType=x format=image/jpeg\n")
	if err != nil {
		t.Fatal(err)
	}
	if v.Exit != 0 || v.State != "Valid" || v.Format != "image/jpeg" || v.ActiveManifest != "urn:c2pa:1" ||
		!strings.HasSuffix(v.DigitalSourceType, "/trainedAlgorithmicMedia") ||
		!slices.Equal(v.Failures, []string{"signingCredential.untrusted"}) ||
		!slices.Equal(v.Successes, []string{"claimSignature.validated"}) ||
		!slices.Equal(v.Informational, []string{"signingCredential.ocsp.skipped"}) {
		t.Errorf("signed: %+v", v)
	}

	// Without validation_results, the flat list gives the failures.
	v, err = parseC2PACheck("f.png", 1, `{"active_manifest":"m","validation_status":[{"code":"assertion.dataHash.mismatch"}],"validation_state":"Invalid"}`, "")
	if err != nil || !slices.Equal(v.Failures, []string{"assertion.dataHash.mismatch"}) || v.State != "Invalid" {
		t.Errorf("flat status: %+v, %v", v, err)
	}

	v, err = parseC2PACheck("u.png", 3, "{\n  \"error\": \"C2pa(JumbfNotFound)\",\n  \"format\": \"image/png\"\n}\n", "c2pa-check: no manifest format=image/png error=C2pa(JumbfNotFound)\n")
	if err != nil || v.Exit != 3 || v.Error != "C2pa(JumbfNotFound)" || v.Format != "image/png" || v.State != "" {
		t.Errorf("no manifest: %+v, %v", v, err)
	}

	v, err = parseC2PACheck("x", 2, "", "c2pa-check: cannot read x: ENOENT\n")
	if err != nil || v.Exit != 2 || !strings.Contains(v.Error, "cannot read") {
		t.Errorf("usage error: %+v, %v", v, err)
	}

	// A verdict without its JSON, or an exit code outside the convention, is a broken tool.
	if _, err := parseC2PACheck("x", 0, "not json", ""); err == nil {
		t.Error("exit 0 without JSON accepted")
	}
	if _, err := parseC2PACheck("x", 127, "", "node: not found"); err == nil {
		t.Error("exit 127 accepted")
	}
}

func TestParseWasmRead(t *testing.T) {
	line := func(file string, exit int) string {
		return `{"file":"` + file + `","format":"image/png","exit":` + string(rune('0'+exit)) +
			`,"state":null,"failures":[],"successes":[],"informational":[],"active_manifest":null,"digital_source_type":null,"error":"C2pa(JumbfNotFound)"}` + "\n"
	}
	v, err := parseWasmRead([]string{"a", "b"}, 3, line("a", 3)+line("b", 0))
	if err != nil || len(v) != 2 || v[0].Exit != 3 || v[1].Exit != 0 || v[0].Error != "C2pa(JumbfNotFound)" || v[0].Failures == nil {
		t.Fatalf("two files: %+v, %v", v, err)
	}
	bad := []struct {
		name, out string
		files     []string
		code      int
	}{
		{"missing line", line("a", 0), []string{"a", "b"}, 0},
		{"wrong order", line("b", 0) + line("a", 0), []string{"a", "b"}, 0},
		{"process exit is not the largest", line("a", 1), []string{"a"}, 0},
		{"no output", "", []string{"a"}, 2},
		{"not JSON", "oops\n", []string{"a"}, 2},
		{"no exit", `{"file":"a"}` + "\n", []string{"a"}, 0},
	}
	for _, c := range bad {
		if _, err := parseWasmRead(c.files, c.code, c.out); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}

func TestNpmUpToDate(t *testing.T) {
	dir := t.TempDir()
	if npmUpToDate(dir) == nil {
		t.Fatal("empty folder counted as installed")
	}
}
