package testtool_test

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
)

// expectation is one row of <shared>/testdata/c2pa-reference/expected.tsv.
type expectation struct {
	file  string
	mime  string
	exit  int
	codes []string // status codes that must appear (failure, success or informational)
}

func readExpected(t *testing.T, path string) []expectation {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("reference list: %v", err)
	}
	defer f.Close()
	var out []expectation
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if line == 1 || strings.TrimSpace(sc.Text()) == "" { // header
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("%s:%d: %d columns, want 4", path, line, len(cols))
		}
		exit, err := strconv.Atoi(cols[2])
		if err != nil {
			t.Fatalf("%s:%d: exit %q: %v", path, line, cols[2], err)
		}
		e := expectation{file: cols[0], mime: cols[1], exit: exit}
		if cols[3] != "" {
			e.codes = strings.Split(cols[3], ",")
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out
}

// codeSet returns the distinct codes, sorted.
func codeSet(codes []string) []string {
	s := slices.Clone(codes)
	slices.Sort(s)
	return slices.Compact(s)
}

// diffVerdicts lists where two readings of the same file by c2pa-rs disagree.
func diffVerdicts(a, b testtool.Verdict) []string {
	var d []string
	check := func(what string, x, y any) {
		if !equalish(x, y) {
			d = append(d, what+": "+strconv.Quote(toString(x))+" vs "+strconv.Quote(toString(y)))
		}
	}
	check("exit", a.Exit, b.Exit)
	check("format", a.Format, b.Format)
	check("state", a.State, b.State)
	check("failures", codeSet(a.Failures), codeSet(b.Failures))
	check("successes", codeSet(a.Successes), codeSet(b.Successes))
	check("informational", codeSet(a.Informational), codeSet(b.Informational))
	check("active manifest", a.ActiveManifest, b.ActiveManifest)
	check("digital source type", a.DigitalSourceType, b.DigitalSourceType)
	check("error", a.Error, b.Error)
	return d
}

func equalish(x, y any) bool {
	if xs, ok := x.([]string); ok {
		return slices.Equal(xs, y.([]string))
	}
	return x == y
}

func toString(x any) string {
	switch v := x.(type) {
	case []string:
		return strings.Join(v, ",")
	case int:
		return strconv.Itoa(v)
	default:
		return v.(string)
	}
}

// missingCodes returns the wanted codes that appear in none of v's lists.
func missingCodes(v testtool.Verdict, want []string) []string {
	var missing []string
	for _, c := range want {
		if !slices.Contains(v.Failures, c) && !slices.Contains(v.Successes, c) && !slices.Contains(v.Informational, c) {
			missing = append(missing, c)
		}
	}
	return missing
}

// TestWasmAgreesWithC2PACheck reads every c2pa-rs reference sample with our harness (one node
// process) and with the reference checker c2pa-check (one process per file), and requires the
// same verdict from both, matching expected.tsv.
func TestWasmAgreesWithC2PACheck(t *testing.T) {
	if testing.Short() {
		t.Skip("runs c2pa-check once per reference sample; skipped with -short")
	}
	testtool.Node(t)
	refDir := filepath.Join(testtool.SharedDir(t), "testdata", "c2pa-reference")
	want := readExpected(t, filepath.Join(refDir, "expected.tsv"))
	if len(want) < 50 {
		t.Fatalf("expected.tsv lists %d files; the reference set has about 60", len(want))
	}
	files := make([]string, len(want))
	for i, e := range want {
		files[i] = filepath.Join(refDir, e.file)
	}
	wasm := testtool.WasmRead(t, "", files...)

	// c2pa-check starts node for every file: run a few at a time.
	const workers = 3
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t.Run(want[i].file, func(t *testing.T) {
					e, w := want[i], wasm[i]
					ref := testtool.C2PACheck(t, files[i])
					if d := diffVerdicts(w, ref); len(d) > 0 {
						t.Errorf("harness and c2pa-check disagree:\n  %s", strings.Join(d, "\n  "))
					}
					for name, v := range map[string]testtool.Verdict{"harness": w, "c2pa-check": ref} {
						if v.Exit != e.exit {
							t.Errorf("%s: exit %d, expected.tsv says %d (state %q, failures %v, error %q)", name, v.Exit, e.exit, v.State, v.Failures, v.Error)
						}
						if v.Format != e.mime {
							t.Errorf("%s: read as %q, expected.tsv says %q", name, v.Format, e.mime)
						}
						if m := missingCodes(v, e.codes); len(m) > 0 {
							t.Errorf("%s: codes %v missing (failures %v, successes %v)", name, m, v.Failures, v.Successes)
						}
					}
				})
			}
		}()
	}
	for i := range want {
		next <- i
	}
	close(next)
	wg.Wait()
}

// TestTrustAnchor checks that --trust reaches c2pa-rs in both readers: the test CA makes the
// reference signer trusted.
func TestTrustAnchor(t *testing.T) {
	testtool.Node(t)
	refDir := filepath.Join(testtool.SharedDir(t), "testdata", "c2pa-reference")
	ca := filepath.Join(refDir, "c2pa-check-test-ca.pem")
	file := filepath.Join(refDir, "c2pa-rs-signed.jpg")
	got := testtool.WasmRead(t, ca, file)
	ref := testtool.C2PACheck(t, file, ca)
	for name, v := range map[string]testtool.Verdict{"harness": got[0], "c2pa-check": ref} {
		if v.Exit != 0 || v.State != "Trusted" || !slices.Contains(v.Successes, "signingCredential.trusted") || len(v.Failures) != 0 {
			t.Errorf("%s with the test CA as anchor: exit %d state %q failures %v successes %v; want 0, Trusted, no failures, signingCredential.trusted",
				name, v.Exit, v.State, v.Failures, v.Successes)
		}
	}
	if d := diffVerdicts(got[0], ref); len(d) > 0 {
		t.Errorf("harness and c2pa-check disagree:\n  %s", strings.Join(d, "\n  "))
	}
	const dst = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
	if got[0].DigitalSourceType != dst || !strings.HasPrefix(got[0].ActiveManifest, "urn:c2pa:") {
		t.Errorf("harness: digital source type %q, active manifest %q", got[0].DigitalSourceType, got[0].ActiveManifest)
	}
}

// TestDiffVerdicts makes sure the agreement test can fail.
func TestDiffVerdicts(t *testing.T) {
	a := testtool.Verdict{Exit: 1, Format: "image/jpeg", State: "Invalid", Failures: []string{"x", "y", "x"}}
	b := a
	b.Failures = []string{"y", "x"}
	if d := diffVerdicts(a, b); len(d) != 0 {
		t.Errorf("same code sets in another order: %v", d)
	}
	b.Failures = []string{"x"}
	b.Exit = 0
	if d := diffVerdicts(a, b); len(d) != 2 {
		t.Errorf("exit and failures differ, got %d differences: %v", len(d), d)
	}
	if m := missingCodes(a, []string{"x", "z"}); !slices.Equal(m, []string{"z"}) {
		t.Errorf("missingCodes = %v, want [z]", m)
	}
}
