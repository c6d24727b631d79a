package sidecar_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ailabel/ailabel/repository"
	"github.com/ailabel/ailabel/sidecar"
	"github.com/ailabel/ailabel/watermark"
)

// photoPNG is a 640x480 picture with texture, large enough to carry the watermark.
func photoPNG(t testing.TB, seed int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 640, 480))
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			v := uint8((x*seed/3 + y*(7-seed)/5 + (x*y)%23) % 256)
			m.SetNRGBA(x, y, color.NRGBA{v, uint8(x / 3), uint8(y/2) ^ v, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// oaDoc is the part of an OpenAPI 3 document the contract test reads.
type oaDoc struct {
	Paths      map[string]map[string]oaOp `json:"paths"`
	Components struct {
		Schemas    map[string]json.RawMessage `json:"schemas"`
		Responses  map[string]oaResp          `json:"responses"`
		Parameters map[string]oaParam         `json:"parameters"`
	} `json:"components"`
}

type oaOp struct {
	Security    []map[string][]string `json:"security"`
	Parameters  []oaParam             `json:"parameters"`
	RequestBody *struct {
		Content map[string]json.RawMessage `json:"content"`
	} `json:"requestBody"`
	Responses map[string]oaResp `json:"responses"`
}

type oaParam struct {
	Ref      string `json:"$ref"`
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
}

type oaResp struct {
	Ref     string `json:"$ref"`
	Content map[string]struct {
		Schema json.RawMessage `json:"schema"`
	} `json:"content"`
}

// TestOpenAPIContract walks GET /openapi.json: every operation it lists is called on a sidecar
// with a repository (the resolution API included), with a token and good input, and must answer
// a status the document lists, with a body of the media type and JSON schema it gives; an
// operation that needs a token must answer 401 without one. Labeled responses carry
// Link: <…>; rel="c2pa-manifest", which serves the manifest store.
func TestOpenAPIContract(t *testing.T) {
	repo := repository.NewMemory()
	ts := start(t, func(c *sidecar.Config) { c.Repository = repo })

	var doc oaDoc
	if err := json.Unmarshal(readAll(t, ts.do(t, "GET", "/openapi.json", "", nil)), &doc); err != nil {
		t.Fatal(err)
	}
	pic := photoPNG(t, 2)

	// Label first: the manifest and its bindings are what the resolution routes are asked for.
	resp := ts.do(t, "POST", "/v1/label", token, bytes.NewReader(pic), "Content-Type", "image/png")
	labeled := readAll(t, resp)
	if resp.StatusCode != 200 {
		t.Fatalf("label: %d %s", resp.StatusCode, labeled)
	}
	id := resp.Header.Get(sidecar.ManifestHeader)
	wantLink := "</v1/manifests/" + url.PathEscape(id) + `>; rel="c2pa-manifest"`
	if got := resp.Header.Get("Link"); got != wantLink {
		t.Fatalf("Link %q, want %q", got, wantLink)
	}
	store := readAll(t, ts.do(t, "GET", "/v1/manifests/"+url.PathEscape(id), token, nil))
	if rep := verifyBytes(t, labeled, testCreds(t).trust); rep.ActiveManifest != id || len(store) < 1000 {
		t.Fatalf("the Link's manifest: %d bytes; the labeled content's active manifest %s, want %s", len(store), rep.ActiveManifest, id)
	}
	var wmValue []byte
	for _, sb := range verifyBytes(t, labeled, testCreds(t).trust).SoftBindings {
		if sb.Alg == watermark.Alg {
			var raw []byte
			fmt.Sscanf(sb.Value, "%x", &raw)
			var wid watermark.ID
			copy(wid[:], raw)
			wmValue = wid.Value()
		}
	}
	if wmValue == nil {
		t.Fatal("the labeled picture has no watermark binding")
	}

	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	var ops []string
	for p, methods := range doc.Paths {
		for m := range methods {
			ops = append(ops, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(ops)
	for _, opName := range ops {
		method, p, _ := strings.Cut(opName, " ")
		op := doc.Paths[p][strings.ToLower(method)]
		t.Run(opName, func(t *testing.T) {
			path := pathParam.ReplaceAllStringFunc(p, func(string) string { return url.PathEscape(id) })
			q := url.Values{}
			for _, prm := range op.Parameters {
				if prm.Ref != "" {
					prm = doc.Components.Parameters[strings.TrimPrefix(prm.Ref, "#/components/parameters/")]
				}
				if prm.In == "query" && prm.Required {
					switch prm.Name {
					case "alg":
						q.Set("alg", watermark.Alg)
					case "value":
						q.Set("value", base64.StdEncoding.EncodeToString(wmValue))
					default:
						t.Fatalf("no test value for required parameter %q", prm.Name)
					}
				}
			}
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			var body []byte
			var ctype string
			if op.RequestBody != nil {
				switch {
				case op.RequestBody.Content["application/json"] != nil:
					ctype = "application/json"
					body, _ = json.Marshal(map[string]string{"alg": watermark.Alg, "value": base64.StdEncoding.EncodeToString(wmValue)})
				case op.RequestBody.Content["image/png"] != nil || op.RequestBody.Content["*/*"] != nil:
					ctype, body = "image/png", pic
				default:
					t.Fatalf("no test body for %v", op.RequestBody.Content)
				}
			}
			if len(op.Security) > 0 {
				resp := ts.do(t, method, path, "", bytes.NewReader(body), "Content-Type", ctype)
				b := readAll(t, resp)
				if resp.StatusCode != 401 || op.Responses["401"].Ref == "" && op.Responses["401"].Content == nil {
					t.Errorf("without a token: %d %s (the document lists %v)", resp.StatusCode, b, keys(op.Responses))
				}
			}
			resp := ts.do(t, method, path, token, bytes.NewReader(body), "Content-Type", ctype)
			b := readAll(t, resp)
			code := fmt.Sprint(resp.StatusCode)
			r, ok := op.Responses[code]
			if !ok {
				t.Fatalf("status %s is not in the document's %v: %s", code, keys(op.Responses), b)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %s with good input: %s", code, b)
			}
			if r.Ref != "" {
				r = doc.Components.Responses[strings.TrimPrefix(r.Ref, "#/components/responses/")]
			}
			if len(r.Content) == 0 {
				return
			}
			mt := strings.TrimSpace(strings.SplitN(resp.Header.Get("Content-Type"), ";", 2)[0])
			c, ok := r.Content[mt]
			if !ok {
				c, ok = r.Content["*/*"]
			}
			if !ok {
				t.Fatalf("Content-Type %q is not in the document's %v", mt, keys(r.Content))
			}
			if mt != "application/json" || c.Schema == nil {
				return
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatalf("not JSON: %v: %s", err, b)
			}
			if err := checkSchema(doc, c.Schema, v, "$"); err != nil {
				t.Fatalf("%v\nbody: %s", err, b)
			}
			if strings.HasPrefix(p, "/v1/matches/") {
				if !bytes.Contains(b, []byte(id)) {
					t.Errorf("the match does not name %s: %s", id, b)
				}
			}
		})
	}
	for _, want := range []string{"POST /v1/matches/byContent", "GET /v1/matches/byBinding", "POST /v1/matches/byBinding", "GET /v1/manifests/{manifestId}",
		"GET /v1/services/supportedAlgorithms", "GET /v1/services/status", "GET /v1/services/capabilities", "GET /.well-known/c2pa-soft-binding-resolution"} {
		if sort.SearchStrings(ops, want) == len(ops) || ops[sort.SearchStrings(ops, want)] != want {
			t.Errorf("the document lacks %s", want)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSchema checks v against the subset of JSON Schema the document uses: $ref, type,
// required, properties, items, enum, minimum, maximum, maxItems.
func checkSchema(doc oaDoc, raw json.RawMessage, v any, at string) error {
	var s struct {
		Ref        string                     `json:"$ref"`
		Type       string                     `json:"type"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
		Items      json.RawMessage            `json:"items"`
		Enum       []any                      `json:"enum"`
		Minimum    *float64                   `json:"minimum"`
		Maximum    *float64                   `json:"maximum"`
		MaxItems   *int                       `json:"maxItems"`
		Nullable   bool                       `json:"nullable"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("%s: bad schema: %v", at, err)
	}
	if s.Ref != "" {
		sub, ok := doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		if !ok {
			return fmt.Errorf("%s: unknown $ref %s", at, s.Ref)
		}
		return checkSchema(doc, sub, v, at)
	}
	if v == nil && (s.Nullable || s.Type == "") {
		return nil
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an object", at, v)
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				return fmt.Errorf("%s: required member %q missing", at, r)
			}
		}
		for k, sub := range s.Properties {
			if mv, ok := m[k]; ok {
				if err := checkSchema(doc, sub, mv, at+"."+k); err != nil {
					return err
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T, want an array", at, v)
		}
		if s.MaxItems != nil && len(a) > *s.MaxItems {
			return fmt.Errorf("%s: %d items, at most %d", at, len(a), *s.MaxItems)
		}
		if s.Items != nil {
			for i, e := range a {
				if err := checkSchema(doc, s.Items, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: %T, want a string", at, v)
		}
	case "integer", "number":
		f, ok := v.(float64)
		if !ok || s.Type == "integer" && f != float64(int64(f)) {
			return fmt.Errorf("%s: %v, want an %s", at, v, s.Type)
		}
		if s.Minimum != nil && f < *s.Minimum || s.Maximum != nil && f > *s.Maximum {
			return fmt.Errorf("%s: %v out of range", at, f)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %T, want a boolean", at, v)
		}
	}
	if len(s.Enum) > 0 {
		for _, e := range s.Enum {
			if fmt.Sprint(e) == fmt.Sprint(v) {
				return nil
			}
		}
		return fmt.Errorf("%s: %v is not one of %v", at, v, s.Enum)
	}
	return nil
}
