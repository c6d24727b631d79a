package repository

import (
	"bytes"
	"cmp"
	"slices"

	"github.com/ailabel/ailabel/softbinding/iscc"
)

// imageCode returns the first ISCC Image-Code unit (Content-Code, SubType Image) of an ISCC-SEQ
// soft-binding value, or false when value is not a decodable ISCC-SEQ or holds none.
func imageCode(value []byte) (iscc.Code, bool) {
	codes, err := iscc.DecodeSeq(value)
	if err != nil {
		return iscc.Code{}, false
	}
	for _, c := range codes {
		if c.MainType == iscc.MainTypeContent && c.SubType == iscc.SubTypeImage {
			return c, true
		}
	}
	return iscc.Code{}, false
}

// similarity returns ⌊100 × (1 − d / bits)⌋ for two Image-Codes, compared over the shorter
// length, and false when they cannot be compared.
func similarity(a, b iscc.Code) (int, bool) {
	d, err := iscc.Hamming(a, b)
	if err != nil {
		return 0, false
	}
	n := min(a.Bits, b.Bits)
	if n == 0 {
		return 0, false
	}
	return 100 * (n - d) / n, true
}

// candidate is a stored binding seen by a query, in storage order.
type candidate struct {
	manifestID string
	value      []byte
	order      int64
}

// ranker collects matches for one query: exact value matches score 100, ISCC near matches
// score their similarity; one entry per manifest, keeping the best score.
type ranker struct {
	value    []byte
	query    iscc.Code
	hasQuery bool
	minScore int
	best     map[string]scored
}

type scored struct {
	score int
	order int64
}

func newRanker(alg string, value []byte, minScore int) *ranker {
	r := &ranker{value: value, minScore: minScore, best: map[string]scored{}}
	if alg == AlgISCC {
		r.query, r.hasQuery = imageCode(value)
	}
	return r
}

// add scores one stored binding of the queried alg.
func (r *ranker) add(c candidate) {
	score := -1
	if bytes.Equal(c.value, r.value) {
		score = 100
	} else if r.hasQuery {
		if stored, ok := imageCode(c.value); ok {
			if s, ok := similarity(r.query, stored); ok && s >= r.minScore {
				score = s
			}
		}
	}
	if score < 0 {
		return
	}
	if prev, ok := r.best[c.manifestID]; !ok || score > prev.score || (score == prev.score && c.order < prev.order) {
		r.best[c.manifestID] = scored{score: score, order: c.order}
	}
}

// result returns at most maxResults matches, best score first, then storage order.
func (r *ranker) result(maxResults int) []Match {
	type row struct {
		id string
		scored
	}
	rows := make([]row, 0, len(r.best))
	for id, s := range r.best {
		rows = append(rows, row{id, s})
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.order, b.order); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]Match, 0, min(len(rows), maxResults))
	for _, x := range rows[:min(len(rows), maxResults)] {
		out = append(out, Match{ManifestID: x.id, SimilarityScore: x.score})
	}
	return out
}
