package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"io"
	"os"
	"strings"
	"time"

	_ "image/gif" // thumbnails
	_ "image/png"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"golang.org/x/image/draw"
	_ "golang.org/x/image/tiff"
	_ "golang.org/x/image/webp"
)

// Thumbnail limits: images larger than maxThumbPixels are not decoded (a decode holds the whole
// bitmap in memory), and thumbnails fit in thumbSide × thumbSide.
const (
	maxThumbPixels = 40 << 20
	thumbSide      = 160
)

// thumbnail returns a small JPEG of the image in r as a data: URI, or "" when the format is not
// one Go decodes (JPEG, PNG, GIF, WebP, TIFF) or the image is too large or damaged.
func thumbnail(r io.ReaderAt, size int64, format string) string {
	switch format {
	case "jpeg", "png", "gif", "webp", "tiff":
	default:
		return ""
	}
	cfg, _, err := image.DecodeConfig(io.NewSectionReader(r, 0, size))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxThumbPixels {
		return ""
	}
	img, _, err := image.Decode(bufio.NewReader(io.NewSectionReader(r, 0, size)))
	if err != nil {
		return ""
	}
	b := img.Bounds()
	w, h := thumbSide, thumbSide
	if b.Dx() >= b.Dy() {
		h = max(1, b.Dy()*thumbSide/b.Dx())
	} else {
		w = max(1, b.Dx()*thumbSide/b.Dy())
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 70}); err != nil {
		return ""
	}
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// htmlWriter streams a self-contained HTML page, one table row per file, so that memory does not
// grow with the number of files. It is written beside the main output.
type htmlWriter struct {
	f   *os.File
	w   *bufio.Writer
	sum summary
}

func newHTMLWriter(path string, now time.Time) (*htmlWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the report: %w", err)
	}
	h := &htmlWriter{f: f, w: bufio.NewWriter(f)}
	if err := htmlHead.Execute(h.w, now.UTC().Format(time.RFC3339)); err != nil {
		f.Close()
		return nil, err
	}
	return h, nil
}

// htmlRow is one file in the report.
type htmlRow struct {
	Path, Class, Word, Reason string
	Thumb                     template.URL // made by thumbnail: a data: URI of a JPEG we encoded
	Claims                    [][2]string
}

func verdictClass(r *verifyResult) string {
	if r.err != nil {
		return "unreadable"
	}
	switch r.report.Verdict {
	case label.Valid:
		return "valid"
	case label.Invalid:
		return "invalid"
	}
	return "not_labeled"
}

func claims(rep *label.Report) [][2]string {
	var c [][2]string
	add := func(k, v string) {
		if v != "" {
			c = append(c, [2]string{k, v})
		}
	}
	add("format", rep.Format)
	if rep.DigitalSourceType != "" {
		add("source type", strings.TrimPrefix(rep.DigitalSourceType, manifest.IPTCPrefix))
	}
	if rep.Verdict != label.NotLabeled {
		add("AI-generated", fmt.Sprint(rep.AIGenerated))
	}
	add("model", rep.Model)
	if s := rep.Signer; s != nil {
		add("signer", s.Subject)
		add("issuer", s.Issuer)
		add("trusted", fmt.Sprint(s.Trusted))
	}
	if rep.SignedAt != nil {
		add("signed at", rep.SignedAt.UTC().Format(time.RFC3339))
	} else if rep.ClaimedAt != nil {
		add("claimed time", rep.ClaimedAt.UTC().Format(time.RFC3339))
	}
	if n := len(rep.Manifests); n > 0 {
		m := rep.Manifests[n-1]
		add("claim generator", m.Generator)
		var acts []string
		for _, a := range m.Actions {
			acts = append(acts, a.Action)
		}
		add("actions", strings.Join(acts, ", "))
		if len(m.Ingredients) > 0 {
			add("ingredients", fmt.Sprint(len(m.Ingredients)))
		}
	}
	add("failure codes", strings.Join(rep.Failures(), ", "))
	return c
}

func (h *htmlWriter) write(r *verifyResult) error {
	h.sum.add(r)
	row := htmlRow{Path: r.path, Class: verdictClass(r), Word: verdictWord(r), Reason: lineText(r), Thumb: template.URL(r.thumb)}
	if r.report != nil {
		row.Claims = claims(r.report)
	}
	return htmlRowT.Execute(h.w, row)
}

// close ends the page with the summary and closes the file.
func (h *htmlWriter) close() error {
	err := htmlFoot.Execute(h.w, map[string]any{
		"Summary": h.sum.String(),
		"Counts":  map[string]int{"all": h.sum.total(), "valid": h.sum.valid, "invalid": h.sum.invalid, "not_labeled": h.sum.notLabeled, "unreadable": h.sum.unreadable},
	})
	if ferr := h.w.Flush(); err == nil {
		err = ferr
	}
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	return err
}

var htmlHead = template.Must(template.New("head").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>ailabel verify report</title>
<style>
body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top;text-align:left}
.badge{display:inline-block;padding:.15em .6em;border-radius:1em;color:#fff;font-weight:bold;white-space:nowrap}
.valid .badge{background:#1a7f37}.invalid .badge{background:#cf222e}.not_labeled .badge{background:#9a6700}.unreadable .badge{background:#8250df}
img{max-width:160px;max-height:160px}dl{margin:0;display:grid;grid-template-columns:max-content auto;gap:0 .8em;font-size:12px}dt{color:#666}dd{margin:0;word-break:break-all}
.path{font-family:monospace;word-break:break-all;width:25%}td:last-child{width:35%}nav button{margin-right:.4em}nav button.on{font-weight:bold}
</style></head><body>
<h1>ailabel verify report</h1><p>Made {{.}} by ailabel ` + label.Version + `.</p>
<nav id="filter"></nav>
<table><thead><tr><th>Preview</th><th>File</th><th>Verdict</th><th>Claims</th></tr></thead><tbody>
`))

var htmlRowT = template.Must(template.New("row").Parse(`<tr class="{{.Class}}" data-verdict="{{.Class}}"><td>{{if .Thumb}}<img alt="" src="{{.Thumb}}">{{end}}</td>` +
	`<td class="path">{{.Path}}</td><td><span class="badge">{{.Word}}</span><div>{{.Reason}}</div></td>` +
	`<td>{{if .Claims}}<dl>{{range .Claims}}<dt>{{index . 0}}</dt><dd>{{index . 1}}</dd>{{end}}</dl>{{end}}</td></tr>
`))

var htmlFoot = template.Must(template.New("foot").Parse(`</tbody></table>
<pre id="summary">{{.Summary}}</pre>
<script>
(function(){
var counts={{.Counts}};
var names={all:"All",valid:"Valid",invalid:"Invalid",not_labeled:"Not labeled",unreadable:"Unreadable"};
var nav=document.getElementById("filter");
Object.keys(names).forEach(function(k){
 var b=document.createElement("button");b.textContent=names[k]+" ("+counts[k]+")";b.dataset.filter=k;
 if(k==="all")b.className="on";
 b.onclick=function(){
  nav.querySelectorAll("button").forEach(function(x){x.className=x===b?"on":"";});
  document.querySelectorAll("tbody tr").forEach(function(tr){tr.style.display=(k==="all"||tr.dataset.verdict===k)?"":"none";});
 };
 nav.appendChild(b);
});
})();
</script>
</body></html>
`))
