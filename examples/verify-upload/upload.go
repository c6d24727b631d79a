package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/sign"
)

// multipartSlack is what a multipart form may add around the file itself.
const multipartSlack = 64 << 10

// uploads handles POST /upload: it stores the upload in a temporary file (never whole in
// memory), verifies it and answers with the verdict.
type uploads struct {
	maxBytes int64
	trust    *sign.TrustStore
	tmpDir   string
	log      *slog.Logger
}

// Answer is the verdict on one upload, as the JSON answer carries it.
type Answer struct {
	File   string `json:"file,omitempty"`
	Size   int64  `json:"size"`
	Format string `json:"format"`
	// Verdict is valid, invalid or not_labeled.
	Verdict string `json:"verdict"`
	// Labeled: the file carries a C2PA label, valid or not.
	Labeled bool `json:"labeled"`
	// Tampered: the file or its label changed after it was signed.
	Tampered bool `json:"tampered"`
	// AIGenerated: the content says AI made it; AISource says what says so (a valid signed
	// label, a label that failed its checks, or unsigned metadata).
	AIGenerated bool   `json:"ai_generated"`
	AISource    string `json:"ai_source,omitempty"`
	Model       string `json:"model,omitempty"`
	// SignedBy names the organisation that signed the label.
	SignedBy    string     `json:"signed_by,omitempty"`
	Trusted     bool       `json:"trusted"`
	Development bool       `json:"development,omitempty"`
	SignedAt    *time.Time `json:"signed_at,omitempty"`
	Summary     string     `json:"summary"`
	Reasons     []string   `json:"reasons,omitempty"`
	LabelKinds  []string   `json:"label_kinds,omitempty"`
}

// problem is an upload that could not be checked.
type problem struct {
	status int
	msg    string
}

func (u *uploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	wantJSON := r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json")
	a, p := u.check(w, r)
	if p != nil {
		if wantJSON {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(p.status)
			json.NewEncoder(w).Encode(map[string]string{"error": p.msg})
			return
		}
		http.Error(w, p.msg, p.status)
		return
	}
	u.log.Info("upload", "file", a.File, "bytes", a.Size, "format", a.Format, "verdict", a.Verdict, "signed_by", a.SignedBy)
	if wantJSON {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(a)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(w, a); err != nil {
		u.log.Error("writing the page", "err", err)
	}
}

// check stores and verifies the upload of r.
func (u *uploads) check(w http.ResponseWriter, r *http.Request) (*Answer, *problem) {
	r.Body = http.MaxBytesReader(w, r.Body, u.maxBytes+multipartSlack)
	body, name := io.Reader(r.Body), ""
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, &problem{http.StatusBadRequest, fmt.Sprintf("reading the form: %v", err)}
		}
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, &problem{http.StatusBadRequest, `the form has no field "file"`}
			}
			if err != nil {
				return nil, u.readProblem("reading the form", err)
			}
			if part.FormName() == "file" {
				body, name = part, part.FileName()
				break
			}
		}
	}

	f, err := os.CreateTemp(u.tmpDir, "upload-*")
	if err != nil {
		u.log.Error("temporary file", "err", err)
		return nil, &problem{http.StatusInternalServerError, "cannot store the upload"}
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	n, err := io.Copy(f, io.LimitReader(body, u.maxBytes+1))
	switch {
	case err != nil:
		return nil, u.readProblem("reading the upload", err)
	case n > u.maxBytes:
		return nil, &problem{http.StatusRequestEntityTooLarge, fmt.Sprintf("the upload is over %d MB", u.maxBytes>>20)}
	case n == 0:
		return nil, &problem{http.StatusBadRequest, "the upload is empty"}
	}

	rep, err := label.Verify(r.Context(), f, n, label.VerifyOptions{Trust: u.trust})
	switch {
	case errors.Is(err, label.ErrUnsupported):
		return nil, &problem{http.StatusUnsupportedMediaType, fmt.Sprintf("not a format that can carry a label here: %v", err)}
	case errors.Is(err, label.ErrTooLarge):
		return nil, &problem{http.StatusRequestEntityTooLarge, fmt.Sprintf("the file is over a limit: %v", err)}
	case errors.Is(err, label.ErrMalformed):
		return nil, &problem{http.StatusUnprocessableEntity, fmt.Sprintf("the file is damaged: %v", err)}
	case err != nil:
		if r.Context().Err() == nil {
			u.log.Error("verify", "err", err)
		}
		return nil, &problem{http.StatusInternalServerError, "the upload could not be checked"}
	}
	return answer(rep, name, n), nil
}

func (u *uploads) readProblem(what string, err error) *problem {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &problem{http.StatusRequestEntityTooLarge, fmt.Sprintf("the upload is over %d MB", u.maxBytes>>20)}
	}
	return &problem{http.StatusBadRequest, fmt.Sprintf("%s: %v", what, err)}
}

// answer turns a verify report into the verdict shown to the user.
func answer(rep *label.Report, name string, size int64) *Answer {
	a := &Answer{
		File: name, Size: size, Format: rep.Format, Verdict: string(rep.Verdict),
		Labeled:     rep.Verdict != label.NotLabeled,
		AIGenerated: rep.AIGenerated, Model: rep.Model,
		SignedAt: rep.SignedAt, Summary: rep.Summary, Reasons: rep.Reasons, LabelKinds: rep.LabelKinds,
	}
	if rep.Verdict == label.Invalid {
		for _, code := range rep.Failures() {
			// A hash or signature that no longer matches: the bytes changed after signing.
			if strings.HasSuffix(code, ".mismatch") {
				a.Tampered = true
			}
		}
	}
	if a.AIGenerated {
		switch rep.Verdict {
		case label.Valid:
			a.AISource = "signed label"
		case label.Invalid:
			a.AISource = "label, which failed its checks"
		default:
			a.AISource = "unsigned metadata"
		}
	}
	if s := rep.Signer; s != nil {
		a.SignedBy = s.Organization
		if a.SignedBy == "" {
			a.SignedBy = s.CommonName
		}
		a.Trusted, a.Development = s.Trusted, s.Development
	}
	return a
}

// form is the upload page.
func form(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	io.WriteString(w, `<!doctype html><meta charset="utf-8"><title>Upload</title>
<h1>Upload a picture or video</h1>
<form method="post" action="/upload" enctype="multipart/form-data">
<input type="file" name="file"> <button>Check</button>
</form>
`)
}

var page = template.Must(template.New("verdict").Parse(`<!doctype html><meta charset="utf-8"><title>{{.Verdict}}</title>
<style>body{font-family:sans-serif;max-width:40em;margin:2em auto} .valid{color:#060} .invalid{color:#a00} .not_labeled{color:#555}</style>
<h1 class="{{.Verdict}}">{{if eq .Verdict "valid"}}Labeled{{else if .Tampered}}Tampered{{else if eq .Verdict "invalid"}}Invalid label{{else}}Not labeled{{end}}</h1>
<p>{{.Summary}}</p>
<table>
<tr><th align="left">File</th><td>{{if .File}}{{.File}}, {{end}}{{.Format}}, {{.Size}} bytes</td></tr>
<tr><th align="left">AI-generated</th><td>{{if .AIGenerated}}yes, says the {{.AISource}}{{if .Model}} (model: {{.Model}}){{end}}{{else}}no AI label found (that does not prove a person made it){{end}}</td></tr>
{{if .SignedBy}}<tr><th align="left">Signed by</th><td>{{.SignedBy}}{{if .Trusted}} (trusted){{else}} (not on this site's trust list){{end}}{{if .Development}} — development key{{end}}</td></tr>{{end}}
{{if .Labeled}}<tr><th align="left">Tampered</th><td>{{if .Tampered}}yes: changed after it was signed{{else}}no{{end}}</td></tr>{{end}}
</table>
{{with .Reasons}}<ul>{{range .}}<li>{{.}}</li>{{end}}</ul>{{end}}
<p><a href="/">Check another file</a></p>
`))
