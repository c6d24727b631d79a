package testtool

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Verdict is what c2pa-rs says about one file, from c2pa-check or from our interop/c2pa-wasm
// harness. Exit follows c2pa-check: 0 Valid or Trusted, 1 invalid or manifest store refused,
// 2 usage error, unreadable or unsupported file, 3 no manifest.
type Verdict struct {
	// File is the path that was read.
	File string
	// Format is the MIME type the file was read as (sniffed from its bytes).
	Format string
	// Exit is the c2pa-check exit code for the file.
	Exit int
	// State is c2pa-rs' validation_state (Valid, Trusted, Invalid), empty when no store was read.
	State string
	// Failures, Successes and Informational are the status codes of the active manifest.
	Failures, Successes, Informational []string
	// ActiveManifest is the label of the active manifest (urn:c2pa:…).
	ActiveManifest string
	// DigitalSourceType is the first digitalSourceType of an action in the active manifest.
	DigitalSourceType string
	// SoftBindingAlgs are the alg of each c2pa.soft-binding assertion of the active manifest,
	// as c2pa-rs reports them.
	SoftBindingAlgs []string
	// Error is c2pa-rs' error (such as "C2pa(JumbfNotFound)") or the harness' own, when no
	// manifest store was read.
	Error string
}

// Node returns the path of node after checking that it is version 20 or later, as
// @contentauth/c2pa-wasm needs. Otherwise the test skips (fails when CI=true).
func Node(t testing.TB) string {
	t.Helper()
	path := Require(t, "node")
	v, _ := lookups.LoadOrStore("node --version", nodeVersion(path))
	if l := v.(lookup); l.err != nil {
		SkipOrFail(t, "node at %s: %v; install Node.js >= 20 (run .ci/run to install test prerequisites)", path, l.err)
	}
	return path
}

func nodeVersion(path string) lookup {
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		return lookup{err: fmt.Errorf("node --version: %w", err)}
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return lookup{err: fmt.Errorf("cannot read node version %q", v)}
	}
	if n < 20 {
		return lookup{err: fmt.Errorf("node %s is too old, c2pa-wasm needs >= 20", v)}
	}
	return lookup{path: path}
}

// C2PACheck reads file with the reference checker <shared>/tools/c2pa-check/c2pa-check (c2pa-rs
// 0.91.3 through @contentauth/c2pa-wasm) and returns its verdict. trust is at most one PEM file
// of trust anchors (--trust). Without node or the shared folder the test skips (fails when
// CI=true).
func C2PACheck(t testing.TB, file string, trust ...string) Verdict {
	t.Helper()
	if len(trust) > 1 {
		t.Fatalf("testtool.C2PACheck: at most one trust file, got %d", len(trust))
	}
	Node(t)
	tool := filepath.Join(SharedDir(t), "tools", "c2pa-check", "c2pa-check")
	if _, err := os.Stat(tool); err != nil {
		SkipOrFail(t, "c2pa-check not found in the shared folder: %v", err)
	}
	args := []string{"read", file}
	if len(trust) == 1 {
		args = append(args, "--trust", trust[0])
	}
	stdout, stderr, code, err := run(t, nil, tool, args...)
	if err != nil {
		t.Fatalf("c2pa-check read %s: %v", file, err)
	}
	v, err := parseC2PACheck(file, code, stdout, stderr)
	if err != nil {
		t.Fatalf("c2pa-check read %s: %v", file, err)
	}
	return v
}

// c2pa-check's summary line on stderr ends with format=MIME.
var summaryFormat = regexp.MustCompile(`^c2pa-check: .* format=(\S+)`)

// parseC2PACheck turns the output of `c2pa-check read` into a Verdict. stdout is c2pa-rs' reader
// JSON, or {"error", "format"} when no manifest store was read.
func parseC2PACheck(file string, code int, stdout, stderr string) (Verdict, error) {
	v := Verdict{File: file, Exit: code}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		if m := summaryFormat.FindStringSubmatch(sc.Text()); m != nil {
			v.Format = m[1]
		}
	}
	if code < 0 || code > 3 {
		return v, fmt.Errorf("unexpected exit %d: %s", code, strings.TrimSpace(stderr))
	}
	var doc readerJSON
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		if code == 2 { // usage or tool error: nothing on stdout
			v.Error = strings.TrimSpace(stderr)
			return v, nil
		}
		return v, fmt.Errorf("exit %d but stdout is not JSON (%v): %.200q", code, err, stdout)
	}
	if doc.Error != nil {
		v.Error = *doc.Error
		if doc.Format != "" {
			v.Format = doc.Format
		}
		return v, nil
	}
	v.State = doc.ValidationState
	v.ActiveManifest = doc.ActiveManifest
	if am := doc.ValidationResults.ActiveManifest; am != nil {
		v.Failures, v.Successes, v.Informational = codes(am.Failure), codes(am.Success), codes(am.Informational)
	} else {
		v.Failures = codes(doc.ValidationStatus)
	}
	if m, ok := doc.Manifests[doc.ActiveManifest]; ok {
		v.DigitalSourceType = m.digitalSourceType()
		v.SoftBindingAlgs = m.softBindingAlgs()
	}
	return v, nil
}

// readerJSON is the part of c2pa-rs' Reader JSON (and of c2pa-check's error shape) we use.
type readerJSON struct {
	Error             *string                 `json:"error"`
	Format            string                  `json:"format"`
	ActiveManifest    string                  `json:"active_manifest"`
	Manifests         map[string]manifestJSON `json:"manifests"`
	ValidationStatus  []statusJSON            `json:"validation_status"`
	ValidationState   string                  `json:"validation_state"`
	ValidationResults struct {
		ActiveManifest *struct {
			Success       []statusJSON `json:"success"`
			Failure       []statusJSON `json:"failure"`
			Informational []statusJSON `json:"informational"`
		} `json:"activeManifest"`
	} `json:"validation_results"`
}

type statusJSON struct {
	Code string `json:"code"`
}

type manifestJSON struct {
	Assertions []struct {
		Label string          `json:"label"`
		Data  json.RawMessage `json:"data"`
	} `json:"assertions"`
}

func (m manifestJSON) softBindingAlgs() []string {
	var out []string
	for _, a := range m.Assertions {
		if a.Label != "c2pa.soft-binding" && !strings.HasPrefix(a.Label, "c2pa.soft-binding__") {
			continue
		}
		var data struct {
			Alg string `json:"alg"`
		}
		if json.Unmarshal(a.Data, &data) == nil {
			out = append(out, data.Alg)
		}
	}
	return out
}

func (m manifestJSON) digitalSourceType() string {
	for _, a := range m.Assertions {
		if !strings.HasPrefix(a.Label, "c2pa.actions") {
			continue
		}
		var data struct {
			Actions []struct {
				DigitalSourceType string `json:"digitalSourceType"`
				Parameters        struct {
					DigitalSourceType string `json:"digitalSourceType"`
				} `json:"parameters"`
			} `json:"actions"`
		}
		if json.Unmarshal(a.Data, &data) != nil {
			continue
		}
		for _, act := range data.Actions {
			if act.DigitalSourceType != "" {
				return act.DigitalSourceType
			}
			if act.Parameters.DigitalSourceType != "" {
				return act.Parameters.DigitalSourceType
			}
		}
	}
	return ""
}

func codes(list []statusJSON) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s.Code != "" {
			out = append(out, s.Code)
		}
	}
	return out
}

// npmInstalls remembers, per harness folder, whether its npm packages were installed in this
// process.
var npmInstalls sync.Map // dir → *npmInstall

type npmInstall struct {
	once sync.Once
	err  error
}

// WasmRead reads files with our own harness, interop/c2pa-wasm/read.mjs (c2pa-rs 0.91.3 through
// @contentauth/c2pa-wasm 0.13.3), in one node process, and returns one Verdict per file in order.
// trust is a PEM file of trust anchors, or "" for none. The first call in a process installs the
// pinned npm package (npm ci) unless node_modules already matches package-lock.json; installs are
// serialised across processes with a lock file. Without node >= 20 or npm the test skips (fails
// when CI=true).
func WasmRead(t testing.TB, trust string, files ...string) []Verdict {
	t.Helper()
	if len(files) == 0 {
		return nil
	}
	node := Node(t)
	dir := filepath.Join(ModuleRoot(t), "interop", "c2pa-wasm")
	ensureNpm(t, dir)
	args := []string{filepath.Join(dir, "read.mjs")}
	if trust != "" {
		args = append(args, "--trust", trust)
	}
	args = append(append(args, "--"), files...)
	stdout, stderr, code, err := run(t, nil, node, args...)
	if err != nil {
		t.Fatalf("read.mjs: %v", err)
	}
	verdicts, err := parseWasmRead(files, code, stdout)
	if err != nil {
		t.Fatalf("read.mjs: %v (stderr: %s)", err, strings.TrimSpace(stderr))
	}
	return verdicts
}

// parseWasmRead checks read.mjs' output: one JSON line per file, in order, and a process exit
// that is the largest per-file exit.
func parseWasmRead(files []string, code int, stdout string) ([]Verdict, error) {
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if stdout == "" {
		lines = nil
	}
	if len(lines) != len(files) {
		return nil, fmt.Errorf("exit %d, %d output lines for %d files", code, len(lines), len(files))
	}
	out := make([]Verdict, len(files))
	worst := 0
	for i, line := range lines {
		var r struct {
			File              string   `json:"file"`
			Format            *string  `json:"format"`
			Exit              *int     `json:"exit"`
			State             *string  `json:"state"`
			Failures          []string `json:"failures"`
			Successes         []string `json:"successes"`
			Informational     []string `json:"informational"`
			ActiveManifest    *string  `json:"active_manifest"`
			DigitalSourceType *string  `json:"digital_source_type"`
			Error             *string  `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("line %d: %v: %.200q", i+1, err, line)
		}
		if r.File != files[i] || r.Exit == nil || *r.Exit < 0 || *r.Exit > 3 {
			return nil, fmt.Errorf("line %d does not answer for %s with an exit code 0-3: %.200q", i+1, files[i], line)
		}
		str := func(p *string) string {
			if p == nil {
				return ""
			}
			return *p
		}
		out[i] = Verdict{
			File: r.File, Format: str(r.Format), Exit: *r.Exit, State: str(r.State),
			Failures: nonNil(r.Failures), Successes: nonNil(r.Successes), Informational: nonNil(r.Informational),
			ActiveManifest: str(r.ActiveManifest), DigitalSourceType: str(r.DigitalSourceType), Error: str(r.Error),
		}
		worst = max(worst, *r.Exit)
	}
	if code != worst {
		return nil, fmt.Errorf("process exit %d, but the largest per-file exit is %d", code, worst)
	}
	return out, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ensureNpm installs the harness' npm packages once per process, unless they are already
// installed at the versions package-lock.json pins. npm ci deletes node_modules first, so it is
// never run while a matching install exists: another test binary may be running node there.
func ensureNpm(t testing.TB, dir string) {
	t.Helper()
	v, _ := npmInstalls.LoadOrStore(dir, &npmInstall{})
	inst := v.(*npmInstall)
	if npmUpToDate(dir) != nil {
		Require(t, "npm") // outside the Once: a skip must not mark the install done
	}
	inst.once.Do(func() {
		if npmUpToDate(dir) == nil {
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			inst.err = err
			return
		}
		inst.err = withFileLock(filepath.Join(dir, ".install.lock"), func() error {
			if npmUpToDate(dir) == nil {
				return nil
			}
			cmd := exec.CommandContext(t.Context(), npm, "ci", "--no-audit", "--no-fund")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
			}
			return npmUpToDate(dir)
		})
	})
	if inst.err != nil {
		t.Fatalf("installing the c2pa-wasm harness: %v", inst.err)
	}
}

// npmUpToDate reports (as nil) whether dir/node_modules holds a finished install of every package
// dir/package-lock.json pins. npm writes node_modules/.package-lock.json when an install ends.
func npmUpToDate(dir string) error {
	type pkgs struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	var want, have pkgs
	for _, f := range []struct {
		path string
		into *pkgs
	}{{filepath.Join(dir, "package-lock.json"), &want}, {filepath.Join(dir, "node_modules", ".package-lock.json"), &have}} {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, f.into); err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
	}
	for name, p := range want.Packages {
		if !strings.HasPrefix(name, "node_modules/") {
			continue
		}
		if h, ok := have.Packages[name]; !ok || h.Version != p.Version || h.Integrity != p.Integrity {
			return fmt.Errorf("%s: installed %q, locked %q", name, h.Version, p.Version)
		}
		if _, err := os.Stat(filepath.Join(dir, name, "package.json")); err != nil {
			return err
		}
	}
	return nil
}
