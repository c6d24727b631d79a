package repository

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
)

// Memory is an in-memory Store for tests and short-lived tools. It holds everything in RAM and
// has no bound on the number of records.
type Memory struct {
	cfg       storeConfig
	mu        sync.RWMutex
	manifests map[string][]byte
	bindings  []memBinding
}

type memBinding struct {
	alg string
	candidate
}

// NewMemory returns an empty in-memory Store.
func NewMemory(opts ...StoreOption) *Memory {
	return &Memory{cfg: newStoreConfig(opts), manifests: map[string][]byte{}}
}

// Put implements Store.
func (m *Memory) Put(ctx context.Context, rec Record) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("repository: put: %w", err)
	}
	if err := validateRecord(rec); err != nil {
		return fmt.Errorf("repository: put: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.manifests[rec.ManifestID]; ok {
		if !bytes.Equal(prev, rec.Store) {
			return fmt.Errorf("repository: put %q: %w", rec.ManifestID, ErrConflict)
		}
	} else {
		m.manifests[rec.ManifestID] = bytes.Clone(rec.Store)
	}
	for _, b := range rec.Bindings {
		dup := slices.ContainsFunc(m.bindings, func(x memBinding) bool {
			return x.manifestID == rec.ManifestID && x.alg == b.Alg && bytes.Equal(x.value, b.Value)
		})
		if dup {
			continue
		}
		m.bindings = append(m.bindings, memBinding{alg: b.Alg, candidate: candidate{
			manifestID: rec.ManifestID, value: bytes.Clone(b.Value), order: int64(len(m.bindings)),
		}})
	}
	return nil
}

// Manifest implements Store.
func (m *Memory) Manifest(ctx context.Context, id string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("repository: manifest: %w", err)
	}
	if err := ValidateManifestID(id); err != nil {
		return nil, fmt.Errorf("repository: manifest: %w", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.manifests[id]
	if !ok {
		return nil, fmt.Errorf("repository: manifest %q: %w", id, ErrNotFound)
	}
	return bytes.Clone(b), nil
}

// ByBinding implements Store.
func (m *Memory) ByBinding(ctx context.Context, alg string, value []byte, maxResults int) ([]Match, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("repository: by binding: %w", err)
	}
	if err := validateQuery(alg, value, maxResults); err != nil {
		return nil, fmt.Errorf("repository: by binding: %w", err)
	}
	r := newRanker(alg, value, m.cfg.minSimilarity)
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, b := range m.bindings {
		if b.alg == alg {
			r.add(b.candidate)
		}
	}
	return r.result(maxResults), nil
}
