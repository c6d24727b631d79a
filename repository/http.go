package repository

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/watermark"
)

// Limits of the HTTP layer.
const (
	// MaxValueBase64 is the longest base64 text accepted for a binding value: the padded
	// encoding of MaxValueBytes (5464 characters). Longer GET queries get 414.
	MaxValueBase64 = (MaxValueBytes + 2) / 3 * 4
	// maxQueryBody bounds a POST /matches/byBinding JSON body.
	maxQueryBody = MaxValueBase64 + MaxAlgBytes + 1024
	// maxRawQuery bounds a GET query string (value, alg, maxResults and separators).
	maxRawQuery = 3*MaxValueBase64 + 3*MaxAlgBytes + 256
	// maxBindingParams bounds the softBinding parameters of the write route.
	maxBindingParams = MaxBindingsPerRecord
)

// WellKnownPath is the host-root discovery document of the resolution API.
const WellKnownPath = "/.well-known/c2pa-soft-binding-resolution"

// ContentTypeC2PA is the media type of a C2PA manifest store.
const ContentTypeC2PA = "application/c2pa"

// AuthFunc decides whether a request may proceed; a non-nil error refuses it with 401 (or 403
// when the error wraps ErrForbidden). The error text is not sent to the client.
type AuthFunc func(r *http.Request) error

// ErrForbidden, wrapped by an AuthFunc's error, makes the handler answer 403 instead of 401.
var ErrForbidden = errors.New("repository: forbidden")

// Option configures Handler.
type Option func(*handlerConfig)

type handlerConfig struct {
	basePath     string
	publicURL    string
	specVersion  string
	watermarks   []string
	fingerprints []string
	readAuth     AuthFunc
	writeAuth    AuthFunc
	maxContent   int64
	logger       *slog.Logger
	now          func() time.Time
}

// WithBasePath sets the path prefix of the API routes (default "/v1"; "" serves them at the
// root). The well-known document is always served at WellKnownPath.
func WithBasePath(p string) Option {
	return func(c *handlerConfig) { c.basePath = strings.TrimSuffix(p, "/") }
}

// WithPublicURL sets the absolute API base URL announced by the well-known document (for
// example "https://labels.example.kz/v1"). Without it the URL is derived from the request.
func WithPublicURL(u string) Option {
	return func(c *handlerConfig) { c.publicURL = strings.TrimSuffix(u, "/") }
}

// WithSpecVersion sets the c2paSpecificationVersion announced (default "2.4").
func WithSpecVersion(v string) Option { return func(c *handlerConfig) { c.specVersion = v } }

// WithAlgorithms sets the algorithms listed by /services/supportedAlgorithms (default: no
// watermark, fingerprint "io.iscc.v0").
func WithAlgorithms(watermarks, fingerprints []string) Option {
	return func(c *handlerConfig) {
		c.watermarks = append([]string(nil), watermarks...)
		c.fingerprints = append([]string(nil), fingerprints...)
	}
}

// WithReadAuth requires f to accept every read route (queries, manifests, services). Without it
// reads are anonymous, as the API allows. The well-known document is always public.
func WithReadAuth(f AuthFunc) Option { return func(c *handlerConfig) { c.readAuth = f } }

// WithWriteAuth enables the write route PUT {base}/manifests/{manifestId}, guarded by f. Without
// it the route does not exist (405).
func WithWriteAuth(f AuthFunc) Option { return func(c *handlerConfig) { c.writeAuth = f } }

// WithMaxContentBytes bounds the picture POST /matches/byContent reads (default
// DefaultMaxContentBytes); a larger body gets 413.
func WithMaxContentBytes(n int64) Option {
	return func(c *handlerConfig) {
		if n > 0 {
			c.maxContent = n
		}
	}
}

// DefaultMaxContentBytes is the default limit of a POST /matches/byContent body (64 MiB).
const DefaultMaxContentBytes = 64 << 20

// WithLogger sets the logger for server-side errors (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *handlerConfig) { c.logger = l } }

// withClock replaces the clock of the status route (tests).
func withClock(now func() time.Time) Option { return func(c *handlerConfig) { c.now = now } }

// Pinger is implemented by stores that can report their health; /services/status uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// matchesJSON is the answer of every query route.
type matchesJSON struct {
	Matches []matchJSON `json:"matches"`
}

type matchJSON struct {
	ManifestID      string `json:"manifestId"`
	Endpoint        string `json:"endpoint,omitempty"`
	SimilarityScore int    `json:"similarityScore"`
}

type algJSON struct {
	Alg string `json:"alg"`
}

// errorJSON is the body of every error answer. The OpenAPI document gives error answers no
// schema; this one names the HTTP status and says what was wrong.
type errorJSON struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Handler serves the C2PA Soft Binding Resolution API over s:
//
//	GET  {base}/matches/byBinding?alg=&value=<base64>&maxResults=  → {"matches":[…]}
//	POST {base}/matches/byBinding  {"alg":…,"value":<base64>}       → {"matches":[…]}
//	POST {base}/matches/byContent?alg=&hintAlg=&hintValue=&maxResults= (an image body) → {"matches":[…]}
//	GET  {base}/manifests/{manifestId}?returnActiveManifest=        → application/c2pa
//	PUT  {base}/manifests/{manifestId}?softBinding=<alg>,<base64>…  → 201/204 (WithWriteAuth only)
//	GET  {base}/services/supportedAlgorithms | status | capabilities
//	GET  /.well-known/c2pa-soft-binding-resolution
//
// {base} is "/v1" unless WithBasePath says otherwise. maxResults defaults to 10 and is clamped
// to 100. Errors: 400 malformed input, 401/403 refused by an AuthFunc, 404 unknown manifest,
// 409 conflicting write, 413 body too large, 414 query too long, 415 content not read,
// 500 store failure, 503 (with Retry-After) the database is unavailable.
func Handler(s Store, opts ...Option) http.Handler {
	c := &handlerConfig{
		basePath:     "/v1",
		specVersion:  "2.4",
		watermarks:   []string{watermark.Alg},
		fingerprints: []string{AlgISCC, label.MediaAlg},
		maxContent:   DefaultMaxContentBytes,
		logger:       slog.Default(),
		now:          time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	h := &handler{s: s, c: c}
	mux := http.NewServeMux()
	b := c.basePath
	mux.HandleFunc("GET "+b+"/matches/byBinding", h.read(h.getByBinding))
	mux.HandleFunc("POST "+b+"/matches/byBinding", h.read(h.postByBinding))
	mux.HandleFunc("POST "+b+"/matches/byContent", h.read(h.byContent))
	mux.HandleFunc("GET "+b+"/manifests/{manifestId}", h.read(h.getManifest))
	if c.writeAuth != nil {
		mux.HandleFunc("PUT "+b+"/manifests/{manifestId}", h.auth(c.writeAuth, h.putManifest))
	}
	mux.HandleFunc("GET "+b+"/services/supportedAlgorithms", h.read(h.supportedAlgorithms))
	mux.HandleFunc("GET "+b+"/services/status", h.read(h.status))
	mux.HandleFunc("GET "+b+"/services/capabilities", h.read(h.capabilities))
	mux.HandleFunc("GET "+WellKnownPath, h.wellKnown)
	return mux
}

type handler struct {
	s Store
	c *handlerConfig
}

func (h *handler) read(next http.HandlerFunc) http.HandlerFunc {
	if h.c.readAuth == nil {
		return next
	}
	return h.auth(h.c.readAuth, next)
}

func (h *handler) auth(f AuthFunc, next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := f(r); err != nil {
			if errors.Is(err, ErrForbidden) {
				writeError(w, http.StatusForbidden, "not allowed")
				return
			}
			writeError(w, http.StatusUnauthorized, "authentication required")
			return
		}
		next(w, r)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorJSON{Error: http.StatusText(status), Message: msg})
}

// storeError answers err from the store: client errors with their text, others with 500.
func (h *handler) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "manifest not found")
	case errors.Is(err, ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
	case errors.Is(err, ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrConflict):
		writeError(w, http.StatusConflict, "a different manifest store is already registered under this manifestId")
	case errors.Is(err, ErrUnavailable):
		h.c.logger.WarnContext(r.Context(), "repository: store unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the repository's database is unavailable; retry later")
	default:
		h.c.logger.ErrorContext(r.Context(), "repository: store failure", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "store failure")
	}
}

// httpError is a request error with its status.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, a ...any) error {
	return &httpError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, a...)}
}

func answerError(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.status, he.msg)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// bindingQuery is a parsed byBinding request.
type bindingQuery struct {
	alg        string
	value      []byte
	maxResults int
}

// decodeValue decodes a binding value: standard base64, padded as the API asks; unpadded and
// URL-safe forms are also accepted because clients send them.
func decodeValue(s string) ([]byte, error) {
	if s == "" {
		return nil, badRequest("value is empty")
	}
	if len(s) > MaxValueBase64 {
		return nil, badRequest("value has %d base64 characters, at most %d", len(s), MaxValueBase64)
	}
	// A '+' sent unencoded in a query string arrives as a space; base64 has no spaces.
	s = strings.ReplaceAll(s, " ", "+")
	var (
		b   []byte
		err error
	)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err = enc.Strict().DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, badRequest("value is not base64: %v", err)
	}
	if len(b) == 0 || len(b) > MaxValueBytes {
		return nil, badRequest("value decodes to %d bytes, 1..%d allowed", len(b), MaxValueBytes)
	}
	return b, nil
}

// checkAlg checks an alg parameter.
func checkAlg(alg string) error {
	if alg == "" {
		return badRequest("alg is missing")
	}
	if err := validateAlg(alg); err != nil {
		return badRequest("alg: %v", err)
	}
	return nil
}

// parseMaxResults parses maxResults: absent → 10, 1..∞ clamped to 100, anything else 400.
func parseMaxResults(s string) (int, error) {
	if s == "" {
		return DefaultMaxResults, nil
	}
	if len(s) > 20 {
		return 0, badRequest("maxResults is not an integer")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(s, "-") {
			return MaxResults, nil
		}
		return 0, badRequest("maxResults %q is not an integer", s)
	}
	if n < 1 {
		return 0, badRequest("maxResults %d is below 1", n)
	}
	return int(min(n, MaxResults)), nil
}

// parseGetQuery parses the query string of GET /matches/byBinding.
func parseGetQuery(raw string) (bindingQuery, error) {
	if len(raw) > maxRawQuery {
		return bindingQuery{}, &httpError{status: http.StatusRequestURITooLong,
			msg: fmt.Sprintf("query string of %d bytes, at most %d", len(raw), maxRawQuery)}
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return bindingQuery{}, badRequest("query string: %v", err)
	}
	for _, k := range []string{"alg", "value", "maxResults"} {
		if len(v[k]) > 1 {
			return bindingQuery{}, badRequest("%s given %d times", k, len(v[k]))
		}
	}
	if n := len(v.Get("value")); n > MaxValueBase64 {
		return bindingQuery{}, &httpError{status: http.StatusRequestURITooLong,
			msg: fmt.Sprintf("value has %d base64 characters, at most %d", n, MaxValueBase64)}
	}
	return buildQuery(v.Get("alg"), v.Get("value"), v.Get("maxResults"))
}

func buildQuery(alg, value, maxResults string) (bindingQuery, error) {
	var q bindingQuery
	if err := checkAlg(alg); err != nil {
		return q, err
	}
	b, err := decodeValue(value)
	if err != nil {
		return q, err
	}
	n, err := parseMaxResults(maxResults)
	if err != nil {
		return q, err
	}
	return bindingQuery{alg: alg, value: b, maxResults: n}, nil
}

// parsePostQuery parses the JSON body of POST /matches/byBinding ({"alg", "value"}); maxResults
// comes from the query string.
func parsePostQuery(body []byte, maxResults string) (bindingQuery, error) {
	var in struct {
		Alg   *string `json:"alg"`
		Value *string `json:"value"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&in); err != nil {
		return bindingQuery{}, badRequest("body is not a JSON object {alg, value}: %v", err)
	}
	if dec.More() {
		return bindingQuery{}, badRequest("body has data after the JSON object")
	}
	if in.Alg == nil || in.Value == nil {
		return bindingQuery{}, badRequest("body needs both alg and value")
	}
	return buildQuery(*in.Alg, *in.Value, maxResults)
}

func (h *handler) answerMatches(w http.ResponseWriter, r *http.Request, q bindingQuery) {
	ms, err := h.s.ByBinding(r.Context(), q.alg, q.value, q.maxResults)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	out := matchesJSON{Matches: make([]matchJSON, 0, len(ms))}
	for _, m := range ms {
		out.Matches = append(out.Matches, matchJSON{ManifestID: m.ManifestID, SimilarityScore: m.SimilarityScore})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) getByBinding(w http.ResponseWriter, r *http.Request) {
	q, err := parseGetQuery(r.URL.RawQuery)
	if err != nil {
		answerError(w, err)
		return
	}
	h.answerMatches(w, r, q)
}

func (h *handler) postByBinding(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "body must be application/json")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxQueryBody))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", maxQueryBody))
			return
		}
		writeError(w, http.StatusBadRequest, "reading body failed")
		return
	}
	mr := ""
	if len(r.URL.RawQuery) <= 256 {
		mr = r.URL.Query().Get("maxResults")
	} else {
		writeError(w, http.StatusRequestURITooLong, "query string too long")
		return
	}
	q, err := parsePostQuery(body, mr)
	if err != nil {
		answerError(w, err)
		return
	}
	h.answerMatches(w, r, q)
}

// contentTypes are the media types POST /matches/byContent reads.
var contentTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true}

// byContent is POST /matches/byContent: the body is a picture; its invisible watermark (exact)
// and ISCC fingerprint (similarity) are extracted and looked up, the matches merged (a
// manifest found by both keeps its best score) and returned best first. alg restricts the
// lookup to one algorithm; hintAlg and hintValue (standard base64) add a binding the client
// already knows.
func (h *handler) byContent(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.RawQuery) > maxRawQuery {
		writeError(w, http.StatusRequestURITooLong, "query string too long")
		return
	}
	q := r.URL.Query()
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(r.Header.Get("Content-Type"), ";", 2)[0]))
	if !contentTypes[mt] {
		writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Content-Type %q: this service reads image/jpeg, image/png, image/webp and image/gif", mt))
		return
	}
	maxResults, err := parseMaxResults(q.Get("maxResults"))
	if err != nil {
		answerError(w, err)
		return
	}
	only := q.Get("alg")
	if only != "" {
		if err := checkAlg(only); err != nil {
			answerError(w, err)
			return
		}
	}
	var queries []Binding
	if ha, hv := q.Get("hintAlg"), q.Get("hintValue"); ha != "" || hv != "" {
		bq, err := buildQuery(ha, hv, "")
		if err != nil {
			answerError(w, err)
			return
		}
		queries = append(queries, Binding{Alg: bq.alg, Value: bq.value})
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.c.maxContent))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", h.c.maxContent))
			return
		}
		writeError(w, http.StatusBadRequest, "reading body failed")
		return
	}
	found, err := label.ContentBindings(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		if errors.Is(err, label.ErrUnsupported) {
			writeError(w, http.StatusUnsupportedMediaType, "the body is not a picture this service reads: "+err.Error())
			return
		}
		writeError(w, http.StatusBadRequest, "the picture cannot be read: "+err.Error())
		return
	}
	for _, b := range found {
		queries = append(queries, Binding{Alg: b.Alg, Value: b.Value})
	}
	best := map[string]int{}
	var order []string
	for _, b := range queries {
		if only != "" && b.Alg != only {
			continue
		}
		ms, err := h.s.ByBinding(r.Context(), b.Alg, b.Value, maxResults)
		if err != nil {
			h.storeError(w, r, err)
			return
		}
		for _, m := range ms {
			if old, ok := best[m.ManifestID]; !ok {
				best[m.ManifestID] = m.SimilarityScore
				order = append(order, m.ManifestID)
			} else if m.SimilarityScore > old {
				best[m.ManifestID] = m.SimilarityScore
			}
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return best[order[i]] > best[order[j]] })
	if len(order) > maxResults {
		order = order[:maxResults]
	}
	out := matchesJSON{Matches: make([]matchJSON, 0, len(order))}
	for _, id := range order {
		out.Matches = append(out.Matches, matchJSON{ManifestID: id, SimilarityScore: best[id]})
	}
	writeJSON(w, http.StatusOK, out)
}

func (h *handler) getManifest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("manifestId")
	if err := ValidateManifestID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if s := r.URL.Query().Get("returnActiveManifest"); s != "" {
		active, err := strconv.ParseBool(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("returnActiveManifest %q is not a boolean", s))
			return
		}
		if active {
			writeError(w, http.StatusNotImplemented, "returnActiveManifest=true is not implemented; omit it to get the whole manifest store")
			return
		}
	}
	b, err := h.s.Manifest(r.Context(), id)
	if err != nil {
		h.storeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ContentTypeC2PA)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// parseBindingParams parses the softBinding parameters of the write route: each
// "<alg>,<base64 value>", split at the last comma (base64 has none).
func parseBindingParams(params []string) ([]Binding, error) {
	if len(params) > maxBindingParams {
		return nil, &httpError{status: http.StatusRequestEntityTooLarge,
			msg: fmt.Sprintf("%d softBinding parameters, at most %d", len(params), maxBindingParams)}
	}
	out := make([]Binding, 0, len(params))
	for i, p := range params {
		k := strings.LastIndexByte(p, ',')
		if k < 0 {
			return nil, badRequest("softBinding %d: want <alg>,<base64 value>", i)
		}
		if err := checkAlg(p[:k]); err != nil {
			return nil, badRequest("softBinding %d: %v", i, err)
		}
		v, err := decodeValue(p[k+1:])
		if err != nil {
			return nil, badRequest("softBinding %d: %v", i, err)
		}
		out = append(out, Binding{Alg: p[:k], Value: v})
	}
	return out, nil
}

func (h *handler) putManifest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("manifestId")
	if err := ValidateManifestID(id); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.EqualFold(strings.TrimSpace(strings.Split(ct, ";")[0]), ContentTypeC2PA) {
		writeError(w, http.StatusUnsupportedMediaType, "body must be "+ContentTypeC2PA)
		return
	}
	if len(r.URL.RawQuery) > maxBindingParams*(MaxValueBase64+MaxAlgBytes+32) {
		writeError(w, http.StatusRequestURITooLong, "query string too long")
		return
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "query string: "+err.Error())
		return
	}
	bindings, err := parseBindingParams(q["softBinding"])
	if err != nil {
		answerError(w, err)
		return
	}
	if r.ContentLength > MaxManifestBytes {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("manifest store over %d bytes", MaxManifestBytes))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxManifestBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("manifest store over %d bytes", MaxManifestBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "reading body failed")
		return
	}
	if err := h.s.Put(r.Context(), Record{ManifestID: id, Store: body, Bindings: bindings}); err != nil {
		h.storeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func algList(names []string) []algJSON {
	out := make([]algJSON, 0, len(names))
	for _, n := range names {
		out = append(out, algJSON{Alg: n})
	}
	return out
}

func (h *handler) supportedAlgorithms(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Watermarks   []algJSON `json:"watermarks"`
		Fingerprints []algJSON `json:"fingerprints"`
	}{algList(h.c.watermarks), algList(h.c.fingerprints)})
}

func (h *handler) status(w http.ResponseWriter, r *http.Request) {
	st := "ok"
	if p, ok := h.s.(Pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			h.c.logger.WarnContext(r.Context(), "repository: store ping failed", "err", err)
			st = "down"
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Status    string `json:"status"`
		Timestamp string `json:"timestamp"`
	}{st, h.c.now().UTC().Format(time.RFC3339)})
}

func (h *handler) capabilities(w http.ResponseWriter, r *http.Request) {
	// queryByContent is offered; queryByReference, storeManifests and storeBindings are not
	// (the write route here is not the spec's POST /manifests).
	writeJSON(w, http.StatusOK, struct {
		Spec string   `json:"c2paSpecificationVersion"`
		Caps []string `json:"supportedCapabilities"`
	}{h.c.specVersion, []string{"queryByContent"}})
}

func (h *handler) wellKnown(w http.ResponseWriter, r *http.Request) {
	api := h.c.publicURL
	if api == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		api = scheme + "://" + r.Host + h.c.basePath
	}
	writeJSON(w, http.StatusOK, struct {
		APIEndpoint  string `json:"apiEndpoint"`
		Spec         string `json:"c2paSpecificationVersion"`
		Capabilities string `json:"capabilitiesEndpoint"`
		Status       string `json:"statusEndpoint"`
	}{api, h.c.specVersion, api + "/services/capabilities", api + "/services/status"})
}
