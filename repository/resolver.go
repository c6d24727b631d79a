package repository

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ailabel/ailabel/label"
)

// Resolver makes a Store a label.Resolver: the best match's manifest store.
func Resolver(s Store) label.Resolver { return storeResolver{s} }

type storeResolver struct{ s Store }

func (r storeResolver) Resolve(ctx context.Context, alg string, value []byte) (string, []byte, error) {
	ms, err := r.s.ByBinding(ctx, alg, value, 1)
	if err != nil {
		return "", nil, fmt.Errorf("repository: %w", err)
	}
	if len(ms) == 0 {
		return "", nil, label.ErrNoMatch
	}
	b, err := r.s.Manifest(ctx, ms[0].ManifestID)
	if err != nil {
		return "", nil, fmt.Errorf("repository: manifest %s: %w", ms[0].ManifestID, err)
	}
	return ms[0].ManifestID, b, nil
}

// Client is a label.Resolver over the soft-binding resolution API of a repository at BaseURL
// (ending in /v1): GET /matches/byBinding, then GET /manifests/{id}. It trusts nothing it is
// sent: label.Verify checks the manifest's signature and that its fingerprint matches.
type Client struct {
	BaseURL string
	Token   string       // sent as a bearer token when not empty
	HTTP    *http.Client // nil: http.DefaultClient
}

// Resolve asks the repository for the best match of alg and value.
func (c *Client) Resolve(ctx context.Context, alg string, value []byte) (string, []byte, error) {
	base := strings.TrimRight(c.BaseURL, "/")
	q := url.Values{"alg": {alg}, "value": {base64.StdEncoding.EncodeToString(value)}, "maxResults": {"1"}}
	body, err := c.get(ctx, base+"/matches/byBinding?"+q.Encode(), 1<<20)
	if err != nil {
		return "", nil, err
	}
	var res struct {
		Matches []Match `json:"matches"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return "", nil, fmt.Errorf("repository: matches from %s: %w", base, err)
	}
	if len(res.Matches) == 0 {
		return "", nil, label.ErrNoMatch
	}
	id := res.Matches[0].ManifestID
	if err := ValidateManifestID(id); err != nil {
		return "", nil, fmt.Errorf("repository: %s answered a bad manifest id: %w", base, err)
	}
	store, err := c.get(ctx, base+"/manifests/"+url.PathEscape(id), MaxManifestBytes)
	if err != nil {
		return "", nil, err
	}
	return id, store, nil
}

func (c *Client) get(ctx context.Context, u string, limit int64) ([]byte, error) {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil, label.ErrNoMatch
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("repository: %s: HTTP %s", u, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("repository: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, errors.New("repository: the answer is over its size limit")
	}
	return b, nil
}

// RecordOf is the Record that keeps a labeled result: its manifest store under every soft
// binding the labeler signed into it (label.Result.Bindings).
func RecordOf(res *label.Result) Record {
	rec := Record{ManifestID: res.Manifest, Store: res.Store}
	for _, b := range res.Bindings {
		rec.Bindings = append(rec.Bindings, Binding{Alg: b.Alg, Value: b.Value})
	}
	return rec
}
