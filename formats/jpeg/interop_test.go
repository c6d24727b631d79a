package jpeg

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/manifest/jumbf"
	"github.com/fxamacker/cbor/v2"
)

// c2paCheck returns the path of the c2pa-rs based checker, or skips.
func c2paCheck(t *testing.T) string {
	t.Helper()
	p := filepath.Join(sharedDir(t), "tools", "c2pa-check", "c2pa-check")
	if _, err := os.Stat(p); err != nil {
		missing(t, "c2pa-check is not at %s", p)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node is not installed; c2pa-check needs it")
	}
	return p
}

// bigReferenceStore returns c2pa-rs's manifest store with the COSE "pad" in the unprotected header
// of its signature grown by grow bytes. The unprotected header is not signed and the signature box
// is not hashed by the claim, so the claim signature and the assertion hashes stay valid.
func bigReferenceStore(t *testing.T, grow int) []byte {
	t.Helper()
	store, err := jumbf.Parse(reference(t, "c2pa-rs-manifest.c2pa"), jumbf.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	man := store.Children[0]
	var children [][]byte
	children = append(children, man.DescRaw)
	for _, c := range man.Children {
		if c.Label() != "c2pa.signature" {
			children = append(children, c.Raw)
			continue
		}
		var tag cbor.RawTag
		if err := cbor.Unmarshal(c.Content("cbor").Payload, &tag); err != nil || tag.Number != 18 {
			t.Fatalf("signature is not a COSE_Sign1: %v", err)
		}
		var msg []cbor.RawMessage
		if err := cbor.Unmarshal(tag.Content, &msg); err != nil || len(msg) != 4 {
			t.Fatalf("COSE_Sign1 array: %v", err)
		}
		var unprotected map[string][]byte
		if err := cbor.Unmarshal(msg[1], &unprotected); err != nil {
			t.Fatalf("unprotected header: %v", err)
		}
		unprotected["pad"] = make([]byte, len(unprotected["pad"])+grow)
		if msg[1], err = cbor.Marshal(unprotected); err != nil {
			t.Fatal(err)
		}
		content, err := cbor.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		cose, err := cbor.Marshal(cbor.RawTag{Number: 18, Content: content})
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, jumbf.AppendBox(nil, "jumb", c.DescRaw, jumbf.AppendBox(nil, "cbor", cose)))
	}
	return jumbf.AppendBox(nil, "jumb", store.DescRaw, jumbf.AppendBox(nil, "jumb", children...))
}

type checkReport struct {
	Error             string `json:"error"`
	ValidationResults struct {
		ActiveManifest struct {
			Success []struct{ Code string } `json:"success"`
			Failure []struct{ Code string } `json:"failure"`
		} `json:"activeManifest"`
	} `json:"validation_results"`
}

func runCheck(t *testing.T, tool string, file []byte) (success, failure []string, loadErr string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x.jpg")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "read", path).Output()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("c2pa-check: %v", err)
	}
	var r checkReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("c2pa-check output: %v\n%s", err, out)
	}
	for _, s := range r.ValidationResults.ActiveManifest.Success {
		success = append(success, s.Code)
	}
	for _, s := range r.ValidationResults.ActiveManifest.Failure {
		failure = append(failure, s.Code)
	}
	return success, failure, r.Error
}

// c2pa-rs reassembles a store that Layout split over several APP11 segments: the claim signature
// and the assertion hashes inside it validate. (The data hash cannot match: c2pa-rs's exclusion was
// made for the original 3279-byte run.) As a control, the same store framed without repeating the
// box header in later segments is rejected.
func TestC2PACheckReadsMultiSegmentStore(t *testing.T) {
	tool := c2paCheck(t)
	in := reference(t, "unsigned.jpg")
	st := bigReferenceStore(t, 150000)
	out, l := write(t, openBytes(t, in), in, formats.Edit{StoreLen: len(st)}, st)
	off, n := l.StoreOffset()
	if n < 2*0xFFFF {
		t.Fatalf("store run of %d bytes is not split over three segments", n)
	}
	success, failure, loadErr := runCheck(t, tool, out)
	t.Logf("c2pa-rs on a %d-byte store in %d bytes of APP11: success %v, failure %v", len(st), n, success, failure)
	if loadErr != "" {
		t.Fatalf("c2pa-rs could not load the store: %s", loadErr)
	}
	for _, want := range []string{"claimSignature.validated", "assertion.hashedURI.match"} {
		if !slices.Contains(success, want) {
			t.Errorf("c2pa-rs success codes %v lack %s", success, want)
		}
	}
	for _, f := range failure {
		if f != "signingCredential.untrusted" && f != "assertion.dataHash.mismatch" {
			t.Errorf("unexpected c2pa-rs failure %s (all: %v)", f, failure)
		}
	}

	// Control: later segments without the repeated LBox+TBox.
	var bad []byte
	for _, seg := range frameJP(st, DefaultBoxInstance, 60000) {
		if !bytes.HasSuffix(seg[:12], []byte{0, 0, 0, 1}) {
			seg = append(append([]byte(nil), seg[:12]...), seg[20:]...)
			seg[2], seg[3] = byte((len(seg)-2)>>8), byte(len(seg)-2)
		}
		bad = append(bad, seg...)
	}
	broken := append(append(append([]byte(nil), out[:off]...), bad...), out[off+n:]...)
	success, _, loadErr = runCheck(t, tool, broken)
	t.Logf("control: c2pa-rs error %q, success %v", loadErr, success)
	if loadErr == "" && slices.Contains(success, "claimSignature.validated") {
		t.Fatal("c2pa-rs validated a store whose continuation segments lack the box header; the check proves nothing")
	}
}
