package manifest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ailabel/ailabel/manifest/jumbf"
)

// ErrMalformed is wrapped by errors about a store that cannot be read at all.
var ErrMalformed = errors.New("malformed manifest store")

// MaxStoreSize bounds a manifest store ailabel reads.
const MaxStoreSize = 256 << 20

// Store is a parsed manifest store.
type Store struct {
	Raw       []byte
	Box       *jumbf.Box
	Manifests []*Manifest // in store order; the active manifest is the last
}

// Active returns the active manifest (the last one), or nil.
func (s *Store) Active() *Manifest {
	if len(s.Manifests) == 0 {
		return nil
	}
	return s.Manifests[len(s.Manifests)-1]
}

// Manifest returns the manifest with the given label.
func (s *Store) Manifest(label string) *Manifest {
	for _, m := range s.Manifests {
		if m.Label == label {
			return m
		}
	}
	return nil
}

// Manifest is one parsed manifest. Problems that do not stop parsing are kept in Problems and
// become validation failures.
type Manifest struct {
	Label      string
	Box        *jumbf.Box
	Assertions []*AssertionBox
	ClaimRaw   []byte // the claim's CBOR, exactly as stored (what the signature covers)
	Claim      *Claim
	Signature  []byte // COSE_Sign1_Tagged
	Problems   []StatusEntry
	Update     bool // an update manifest (c2um)
}

// AssertionBox is one assertion superbox.
type AssertionBox struct {
	Label   string
	Box     *jumbf.Box
	Kind    string // "cbor", "json", "embedded", or the content box type
	Content []byte // the content box's payload (CBOR or JSON)
}

// Assertion returns the assertion with the given label.
func (m *Manifest) Assertion(label string) *AssertionBox {
	for _, a := range m.Assertions {
		if a.Label == label {
			return a
		}
	}
	return nil
}

// ParseStore reads a manifest store. It fails only when the bytes are not a C2PA store at all;
// per-manifest problems are recorded in each Manifest.Problems.
func ParseStore(b []byte) (*Store, error) {
	if len(b) > MaxStoreSize {
		return nil, fmt.Errorf("%w: %d bytes is over the %d-byte limit", ErrMalformed, len(b), MaxStoreSize)
	}
	box, err := jumbf.Parse(b, jumbf.DefaultLimits)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if box.Type != "jumb" || box.Desc == nil || box.Desc.Type != jumbf.TypeManifestStore {
		return nil, fmt.Errorf("%w: the outer box is not a C2PA manifest store", ErrMalformed)
	}
	s := &Store{Raw: box.Raw, Box: box}
	for _, c := range box.Children {
		if c.Desc == nil {
			continue
		}
		switch c.Desc.Type {
		case jumbf.TypeManifest, jumbf.TypeUpdate:
			s.Manifests = append(s.Manifests, parseManifest(c))
		}
	}
	if len(s.Manifests) == 0 {
		return nil, fmt.Errorf("%w: the store holds no manifest", ErrMalformed)
	}
	return s, nil
}

func parseManifest(b *jumbf.Box) *Manifest {
	m := &Manifest{Label: b.Desc.Label, Box: b, Update: b.Desc.Type == jumbf.TypeUpdate}
	if as := b.Child(LabelAssertions); as != nil {
		for _, c := range as.Children {
			if c.Desc == nil {
				continue
			}
			a := &AssertionBox{Label: c.Desc.Label, Box: c}
			switch {
			case c.Desc.Type == jumbf.TypeCBOR:
				a.Kind = "cbor"
				if cb := c.Content("cbor"); cb != nil {
					a.Content = cb.Payload
				}
			case c.Desc.Type == jumbf.TypeJSON:
				a.Kind = "json"
				if cb := c.Content("json"); cb != nil {
					a.Content = cb.Payload
				}
			case c.Desc.Type == jumbf.TypeEmbeddedFile:
				a.Kind = "embedded"
			default:
				if len(c.Children) > 0 {
					a.Kind = c.Children[0].Type
					a.Content = c.Children[0].Payload
				}
			}
			m.Assertions = append(m.Assertions, a)
		}
	}
	var claimBox *jumbf.Box
	for _, c := range b.Children {
		if c.Desc != nil && c.Desc.Type == jumbf.TypeClaim {
			claimBox = c
		}
	}
	if claimBox == nil {
		m.problem("claim.missing", "the manifest has no claim")
	} else if cb := claimBox.Content("cbor"); cb == nil {
		m.problem("claim.missing", "the claim box has no CBOR content")
	} else {
		m.ClaimRaw = cb.Payload
		var c Claim
		if err := decMode.Unmarshal(cb.Payload, &c); err != nil {
			m.problem("claim.cbor.invalid", "the claim is not valid CBOR: "+err.Error())
		} else {
			c.Version = 1
			if claimBox.Desc.Label == LabelClaimV2 {
				c.Version = 2
			}
			m.Claim = &c
		}
	}
	if sb := b.Child(LabelSignature); sb == nil {
		m.problem("claimSignature.missing", "the manifest has no signature box")
	} else if cb := sb.Content("cbor"); cb == nil {
		m.problem("claimSignature.missing", "the signature box has no CBOR content")
	} else {
		m.Signature = cb.Payload
	}
	return m
}

func (m *Manifest) problem(code, why string) {
	m.Problems = append(m.Problems, StatusEntry{Code: code, URL: m.uri(""), Explanation: why})
}

func (m *Manifest) uri(rest string) string {
	u := "self#jumbf=/" + LabelStore + "/" + m.Label
	if rest != "" {
		u += "/" + rest
	}
	return u
}

// resolve finds the box a JUMBF URI names, relative to manifest m (or absolute in the store).
func (s *Store) resolve(m *Manifest, url string) (*jumbf.Box, *Manifest, error) {
	const prefix = "self#jumbf="
	if !strings.HasPrefix(url, prefix) {
		return nil, nil, fmt.Errorf("not a self#jumbf URI: %q", url)
	}
	path := strings.TrimPrefix(url, prefix)
	if strings.Contains(path, "..") {
		return nil, nil, fmt.Errorf("URI with '..' is not allowed: %q", url)
	}
	var parts []string
	cur := m
	if strings.HasPrefix(path, "/") {
		parts = strings.Split(strings.Trim(path, "/"), "/")
		if len(parts) == 0 || parts[0] != LabelStore {
			return nil, nil, fmt.Errorf("absolute URI outside the store: %q", url)
		}
		parts = parts[1:]
		if len(parts) == 0 {
			return s.Box, nil, nil
		}
		cur = s.Manifest(parts[0])
		if cur == nil {
			return nil, nil, fmt.Errorf("no manifest %q in the store", parts[0])
		}
		parts = parts[1:]
	} else {
		parts = strings.Split(strings.Trim(path, "/"), "/")
	}
	box := cur.Box
	for _, p := range parts {
		if p == "" {
			continue
		}
		next := box.Child(p)
		if next == nil {
			return nil, cur, fmt.Errorf("no box %q under %q", p, box.Label())
		}
		box = next
	}
	return box, cur, nil
}
