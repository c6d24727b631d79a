package watermark

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestBCHGenerator(t *testing.T) {
	c := newBCH()
	// g(x) must divide x^127 - 1: the encoding of any message has zero
	// syndromes, and the all-zero message encodes to all zero.
	if p := c.parity(0); p != 0 {
		t.Fatalf("parity(0) = %x", p)
	}
	t.Logf("g(x) low 63 bits = %#016x (plus x^63)", c.gen)
	if c.gen&1 != 1 {
		t.Fatalf("g(0) = 0: not a BCH generator")
	}
}

func TestBCHRoundTrip(t *testing.T) {
	c := newBCH()
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		m := rng.Uint64()
		cw := c.encode(m)
		var s [2*bchT + 1]uint8
		if !c.syndromes(&cw, &s) {
			t.Fatalf("codeword of %x has nonzero syndromes", m)
		}
		nerr := trial % (bchT + 1)
		r := cw
		for _, p := range rng.Perm(bchN)[:nerr] {
			r[p] ^= 1
		}
		got, n, err := c.decode(r)
		if err != nil || got != m || n != nerr {
			t.Fatalf("trial %d: %d errors: got %x, %d, %v; want %x", trial, nerr, got, n, err, m)
		}
	}
}

func TestBCHBeyondCapacity(t *testing.T) {
	c := newBCH()
	rng := rand.New(rand.NewPCG(3, 4))
	fails, wrong := 0, 0
	const trials = 3000
	for range trials {
		m := rng.Uint64()
		r := c.encode(m)
		for _, p := range rng.Perm(bchN)[:bchT+1+rng.IntN(20)] {
			r[p] ^= 1
		}
		got, _, err := c.decode(r)
		switch {
		case errors.Is(err, errUncorrectable):
			fails++
		case err != nil:
			t.Fatalf("unexpected error %v", err)
		case got == m:
			t.Fatalf("decoded correctly with more than t errors: impossible for bounded-distance decoding")
		default:
			wrong++
		}
	}
	// Miscorrection into another codeword has probability ≈ 2.5e-5 per word.
	if wrong > 2 {
		t.Fatalf("%d of %d words beyond capacity miscorrected, expected ≈ 0", wrong, trials)
	}
	t.Logf("beyond capacity: %d refused, %d miscorrected of %d", fails, wrong, trials)
}

// TestBCHRandomWords measures how often a uniformly random word decodes:
// the analytical rate is 2^64·V(127,10)/2^127 ≈ 2.48e-5.
func TestBCHRandomWords(t *testing.T) {
	c := newBCH()
	rng := rand.New(rand.NewPCG(5, 6))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	ok := 0
	for range n {
		var r [bchN]uint8
		for i := range r {
			r[i] = uint8(rng.IntN(2))
		}
		if _, _, err := c.decode(r); err == nil {
			ok++
		}
	}
	rate := float64(ok) / float64(n)
	t.Logf("random words decoding: %d of %d (%.2e; bound 2.48e-5)", ok, n, rate)
	if ok > 5+n/10000 {
		t.Fatalf("random words decode too often: %d of %d", ok, n)
	}
}

func FuzzBCHDecode(f *testing.F) {
	c := newBCH()
	cw := c.encode(0x0123456789abcdef)
	f.Add(cw[:])
	f.Add(make([]byte, bchN))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		var r [bchN]uint8
		copy(r[:], data)
		m, n, err := c.decode(r)
		if err != nil {
			return
		}
		if n < 0 || n > bchT {
			t.Fatalf("corrected %d errors", n)
		}
		// The decoded message re-encodes to a word within n bits of r.
		re := c.encode(m)
		d := 0
		for i := range r {
			b := uint8(0)
			if r[i] != 0 {
				b = 1
			}
			if b != re[i] {
				d++
			}
		}
		if d != n {
			t.Fatalf("distance %d, reported %d", d, n)
		}
	})
}
