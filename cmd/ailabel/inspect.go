package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/fxamacker/cbor/v2"
)

func labelVersion() string { return label.Version }
func specVersion() string  { return manifest.SpecVersion }

func cmdInspect(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "inspect", "FILE")
	pos, err := parseInterleaved(fs, args)
	if isHelp(err) {
		return exitOK
	}
	if err != nil || len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	var r *label.Report
	if pos[0] == "-" {
		r, err = verifyStdin(ctx, e, label.VerifyOptions{})
	} else {
		r, err = label.VerifyFile(ctx, pos[0], label.VerifyOptions{})
	}
	if err != nil {
		return errorf(e, "%v", err)
	}
	out := map[string]any{"file": pos[0], "format": r.Format, "verdict": r.Verdict, "validation_state": r.State}
	if r.Metadata != nil {
		out["xmp"] = r.Metadata
	}
	if r.Store != nil {
		var ms []any
		for i, m := range r.Store.Manifests {
			mo := map[string]any{"label": m.Label}
			if m.ClaimRaw != nil {
				mo["claim"] = decodeCBOR(m.ClaimRaw)
			}
			as := map[string]any{}
			for _, a := range m.Assertions {
				switch a.Kind {
				case "cbor":
					as[a.Label] = decodeCBOR(a.Content)
				case "json":
					var v any
					if json.Unmarshal(a.Content, &v) == nil {
						as[a.Label] = v
					} else {
						as[a.Label] = string(a.Content)
					}
				default:
					as[a.Label] = fmt.Sprintf("<%s content>", a.Kind)
				}
			}
			mo["assertions"] = as
			if i < len(r.Manifests) {
				s := r.Manifests[i]
				mo["signature"] = map[string]any{"signer": s.Signer, "signed_at": s.SignedAt}
				mo["validation_results"] = s.Status
			}
			ms = append(ms, mo)
		}
		out["active_manifest"] = r.ActiveManifest
		out["manifests"] = ms
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return errorf(e, "%v", err)
	}
	if r.Store == nil {
		return exitNotLabeled
	}
	return exitOK
}

var inspectDec, _ = cbor.DecOptions{MaxNestedLevels: 32, MaxArrayElements: 65536, MaxMapPairs: 4096, DefaultMapType: nil}.DecMode()

// decodeCBOR turns CBOR into JSON-friendly values: byte strings become hex (long zero pads are
// summarised), map keys become strings.
func decodeCBOR(b []byte) any {
	var v any
	if err := inspectDec.Unmarshal(b, &v); err != nil {
		return map[string]any{"cbor_error": err.Error()}
	}
	return jsonable(v)
}

func jsonable(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, val := range x {
			m[fmt.Sprint(k)] = jsonable(val)
		}
		return m
	case []any:
		for i := range x {
			x[i] = jsonable(x[i])
		}
		return x
	case []byte:
		if len(x) > 16 && strings.Count(string(x), "\x00") == len(x) {
			return fmt.Sprintf("<%d zero bytes>", len(x))
		}
		return hex.EncodeToString(x)
	case cbor.Tag:
		return map[string]any{"tag": x.Number, "value": jsonable(x.Content)}
	}
	return v
}
