package label_test

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/label"
)

// readableByAilabel lists the containers whose reference files ailabel must judge as c2pa-rs
// does. Issue 7 extends it to every container c2pa-rs signs.
var readableByAilabel = map[string]bool{
	"image/jpeg": true, "image/png": true, "image/webp": true,
	"video/mp4": true, "video/quicktime": true, "audio/mp4": true, "image/heic": true, "image/avif": true,
	"image/gif": true, "image/tiff": true, "image/jxl": true, "image/svg+xml": true, "application/pdf": true,
	"video/avi": true, "audio/wav": true, "audio/mpeg": true, "audio/flac": true,
}

// Issue 2, done-when 4: ailabel verify gives c2pa-rs's verdict (exit code and failure codes) on
// the reference files c2pa-rs signed and tampered.
func TestVerifyAgreesWithC2PARSOnReferenceFiles(t *testing.T) {
	dir := filepath.Join(testtool.SharedDir(t), "testdata", "c2pa-reference")
	f, err := os.Open(filepath.Join(dir, "expected.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type row struct {
		file, mime string
		exit       int
		codes      []string
	}
	var rows []row
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 3 || !readableByAilabel[cols[1]] {
			continue
		}
		r := row{file: cols[0], mime: cols[1], exit: int(cols[2][0] - '0')}
		if len(cols) > 3 && cols[3] != "" {
			r.codes = strings.Split(cols[3], ",")
		}
		rows = append(rows, r)
	}
	if len(rows) < 20 {
		t.Fatalf("only %d reference rows for the formats ailabel reads", len(rows))
	}
	var paths []string
	for _, r := range rows {
		paths = append(paths, filepath.Join(dir, r.file))
	}
	// c2pa-rs's full verdicts, in one process (the harness agrees with c2pa-check on every
	// reference file: internal/testtool's agreement test).
	ref := testtool.WasmRead(t, "", paths...)
	for i, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			rep, err := label.VerifyFile(t.Context(), paths[i], label.VerifyOptions{})
			got := exitOf(rep, err)
			if got != r.exit || got != ref[i].Exit {
				t.Fatalf("ailabel exit %d (%v), c2pa-rs %d, expected.tsv %d", got, err, ref[i].Exit, r.exit)
			}
			if rep == nil {
				if ref[i].State != "" {
					t.Fatalf("c2pa-rs read the store (%s %v) but ailabel could not: %v", ref[i].State, ref[i].Failures, err)
				}
				return
			}
			if rep.Verdict != label.NotLabeled {
				ours, theirs := failureSet(rep.Failures()), failureSet(ref[i].Failures)
				if !reflect.DeepEqual(ours, theirs) {
					t.Fatalf("failure codes: ailabel %v, c2pa-rs %v", ours, theirs)
				}
			}
			all := map[string]bool{}
			for _, c := range rep.Status.Success {
				all[c.Code] = true
			}
			for _, c := range rep.Status.Failure {
				all[c.Code] = true
			}
			for _, c := range r.codes {
				if !all[c] {
					t.Errorf("expected.tsv wants %s; ailabel reported %v / %v", c, rep.Status.Success, rep.Status.Failure)
				}
			}
		})
	}
}
