package dct

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/ailabel/ailabel/internal/testtool"
)

// app11 returns the APP11 segments before the first scan, in order.
func app11(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, s := range walkSegments(t, b) {
		if s.marker == 0xEB {
			out = append(out, b[s.start:s.end])
		}
	}
	return out
}

// checkC2PAKept decodes and encodes a C2PA-signed JPEG and checks that its APP11 (JUMBF)
// segments, and every other APPn and COM segment, come out byte for byte and in order.
// (TestStoreStillFound, in package dct_test, reads the store back with formats/jpeg.)
func checkC2PAKept(t *testing.T, in []byte) {
	t.Helper()
	want := app11(t, in)
	if len(want) == 0 {
		t.Fatal("the input has no APP11 segment")
	}
	_, out := roundTrip(t, in) // also compares all APPn/COM segments
	got := app11(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d APP11 segments out, %d in", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("APP11 segment %d differs", i)
		}
	}
}

func TestC2PASegmentsKept(t *testing.T) {
	// The copy in formats/jpeg's test data is always there.
	checkC2PAKept(t, readFile(t, filepath.Join("..", "testdata", "c2pa-rs-signed.jpg")))
}

func TestC2PAReference(t *testing.T) {
	name := filepath.Join(testtool.SharedDir(t), "testdata", "c2pa-reference", "c2pa-rs-signed.jpg")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Skipf("no c2pa-rs reference sample: %v", err)
	}
	checkC2PAKept(t, b)
}
