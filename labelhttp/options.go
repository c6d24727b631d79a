package labelhttp

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/warning"
)

// param is a request option ParseOptions reads: the query parameter name, else the header.
type param struct {
	name, header string
}

// params are the options ParseOptions reads, in the order it checks them.
var params = [...]param{
	{"model", "AI-Label-Model"},                 // generating model (the action's softwareAgent)
	{"model_version", "AI-Label-Model-Version"}, // its version
	{"source_type", "AI-Label-Source-Type"},     // IPTC digital source type, short name or URI
	{"title", "AI-Label-Title"},                 // the manifest's title
	{"policy", "AI-Label-Policy"},               // kz, eu or cn
	{"lang", "AI-Label-Lang"},                   // warning languages, comma-separated, in order
	{"warning", "AI-Label-Warning"},             // on or off: the human-readable warning
	{"no_training", "AI-Label-No-Training"},     // true or false: reserve against AI training
	{"watermark", "AI-Label-Watermark"},         // on or off: the invisible watermark on images
	{"provider", "AI-Label-Provider"},           // content producer (China's AIGC label)
}

// builtinPolicies parses policy's built-in policies once (parsing them takes about 0.1 ms);
// they are never changed after.
var builtinPolicies = sync.OnceValue(policy.Builtin)

// Limits of ParseOptions.
const (
	maxOption = 1024 // bytes of one value
	maxLangs  = 16   // languages in lang
)

// ParseOptions reads label options from r, each from a query parameter or else a header (the
// query parameter wins):
//
//	model          AI-Label-Model          generating model (the c2pa.created action's softwareAgent)
//	model_version  AI-Label-Model-Version  its version
//	source_type    AI-Label-Source-Type    IPTC digital source type, short name or URI
//	title          AI-Label-Title          the manifest's title
//	policy         AI-Label-Policy         kz, eu or cn (label.Options.Policy)
//	lang           AI-Label-Lang           warning languages in display order, comma-separated
//	warning        AI-Label-Warning        on or off: the human-readable warning (off: NoNotice)
//	no_training    AI-Label-No-Training    true or false: reserve the content against AI training
//	watermark      AI-Label-Watermark      on or off: the invisible watermark on images (off: NoWatermark)
//	provider       AI-Label-Provider       content producer code of China's AIGC label
//
// Values are checked: a known source type, a built-in policy
// (kz, eu, cn, in any case), languages the catalogue cat has a warning in (nil:
// warning.Default()), warning "on" or "off" (off sets NoNotice), no_training a boolean
// (strconv.ParseBool); at most 1024 bytes of printable UTF-8 each, none given twice. Its error is
// an *Error with status 400, CodeBadOption and the parameter's name in Param.
//
// Only trusted callers should choose these: warning=off removes the visible warning. A public
// service uses WithOptions with options of its own choosing instead.
func ParseOptions(r *http.Request, cat *warning.Catalogue) (label.Options, error) {
	var o label.Options
	q := r.URL.Query()
	for _, p := range params {
		var v string
		switch qs, hs := q[p.name], r.Header.Values(p.header); {
		case len(qs) > 1 || (len(qs) == 0 && len(hs) > 1):
			return o, badOption(p.name, "%s is given more than once", p.name)
		case len(qs) == 1:
			v = qs[0]
		case len(hs) == 1:
			v = hs[0]
		}
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if len(v) > maxOption {
			return o, badOption(p.name, "%s is longer than %d bytes", p.name, maxOption)
		}
		if !printable(v) {
			return o, badOption(p.name, "%s holds a control character or invalid UTF-8", p.name)
		}
		if err := setOption(&o, p.name, v, cat); err != nil {
			return o, err
		}
	}
	return o, nil
}

func setOption(o *label.Options, name, v string, cat *warning.Catalogue) error {
	switch name {
	case "model":
		o.Model = v
	case "model_version":
		o.ModelVersion = v
	case "title":
		o.Title = v
	case "provider":
		o.Provider = v
	case "source_type":
		if _, ok := manifest.SourceTypeURI(v); !ok {
			return badOption(name, "unknown source_type %q (one of %s)", v, strings.Join(manifest.SourceTypes, ", "))
		}
		o.SourceType = v
	case "policy":
		var names []string
		for _, p := range builtinPolicies() {
			names = append(names, p.Name)
			if strings.EqualFold(p.Name, v) {
				c := *p // a copy of its own: the parsed policies are shared by every request
				o.Policy = &c
			}
		}
		if o.Policy == nil {
			return badOption(name, "unknown policy %q (one of %s)", v, strings.Join(names, ", "))
		}
	case "lang":
		if cat == nil {
			cat = warning.Default()
		}
		for _, l := range strings.Split(v, ",") {
			l = strings.TrimSpace(l)
			if l == "" {
				return badOption(name, "lang %q has an empty language; give tags separated by commas, e.g. kk,ru,en", v)
			}
			if len(o.Languages) == maxLangs {
				return badOption(name, "lang names more than %d languages", maxLangs)
			}
			if _, ok := cat.Lookup(l); !ok {
				return badOption(name, "no warning text in language %q (the catalogue has %s)", l, strings.Join(cat.Languages(), ", "))
			}
			o.Languages = append(o.Languages, l)
		}
	case "warning":
		switch strings.ToLower(v) {
		case "on":
			o.NoNotice = false
		case "off":
			o.NoNotice = true
		default:
			return badOption(name, "warning is %q; use on or off", v)
		}
	case "watermark":
		switch strings.ToLower(v) {
		case "on":
		case "off":
			o.NoWatermark = true
		default:
			return badOption(name, "watermark is %q; use on or off", v)
		}
	case "no_training":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return badOption(name, "no_training is %q; use true or false", v)
		}
		o.NoTraining = b
	}
	return nil
}

func badOption(param, format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadOption, Param: param, Message: fmt.Sprintf(format, args...)}
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r < 0xa0) {
			return false
		}
	}
	return true
}
