package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	_ "image/gif" // thumbnails

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

// Video frames: ffmpeg gets frameTimeout per attempt, and its output (one PNG frame already
// scaled to thumbSide) may be at most maxFrameBytes.
const (
	frameTimeout  = 15 * time.Second
	maxFrameBytes = 2 << 20
	frameAt       = "1" // seconds into the video; shorter videos give their first frame
)

// thumbnail returns a small image of the content in r as a data: URI: a JPEG of the image for
// the formats Go decodes (JPEG, PNG, GIF, WebP, TIFF), a JPEG of a video frame (MP4, MOV, AVI)
// when ffmpeg is on PATH, else a neutral video placeholder (an inline SVG); "" for other formats
// or an image too large or damaged. The page never refers to anything outside itself.
func thumbnail(r io.ReaderAt, size int64, format string) string {
	switch format {
	case "jpeg", "png", "gif", "webp", "tiff":
	case "mp4", "mov", "avi":
		return videoThumbnail(r, format)
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
	return jpegThumb(img)
}

// jpegThumb scales img to fit thumbSide × thumbSide and returns it as a data: URI of a JPEG.
func jpegThumb(img image.Image) string {
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return ""
	}
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

// videoPlaceholder stands for a video whose frame cannot be shown: a play sign on grey.
func videoPlaceholder() string {
	return "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(
		`<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90" viewBox="0 0 160 90">`+
			`<rect width="160" height="90" rx="6" fill="#555"/><path d="M68 27v30l26-15z" fill="#eee"/>`+
			`<text x="80" y="80" font-family="sans-serif" font-size="11" fill="#ddd" text-anchor="middle">video</text></svg>`))
}

// videoThumbnail extracts a frame near frameAt seconds (the first frame of a shorter video)
// with ffmpeg, or returns videoPlaceholder() without ffmpeg or a frame. r must be the open file
// (verify passes its *os.File); ffmpeg reads it by path, with the demuxer of the sniffed format
// forced and only the file protocol allowed, so a crafted file cannot make it fetch anything.
func videoThumbnail(r io.ReaderAt, format string) string {
	f, ok := r.(*os.File)
	if !ok {
		return videoPlaceholder()
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return videoPlaceholder()
	}
	path, err := filepath.Abs(f.Name())
	if err != nil {
		return videoPlaceholder()
	}
	demuxer := "mov" // ffmpeg's mov demuxer reads MP4 too
	if format == "avi" {
		demuxer = "avi"
	}
	for _, at := range []string{frameAt, ""} {
		if img := videoFrame(ffmpeg, path, demuxer, at); img != nil {
			if uri := jpegThumb(img); uri != "" {
				return uri
			}
		}
	}
	return videoPlaceholder()
}

// videoFrame runs ffmpeg for one frame at the given offset ("" for the first), scaled to fit
// thumbSide × thumbSide, and decodes it; nil when there is none.
func videoFrame(ffmpeg, path, demuxer, at string) image.Image {
	ctx, cancel := context.WithTimeout(context.Background(), frameTimeout)
	defer cancel()
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-threads", "1", "-protocol_whitelist", "file", "-f", demuxer}
	if at != "" {
		args = append(args, "-ss", at)
	}
	scale := fmt.Sprintf("scale=w=%d:h=%d:force_original_aspect_ratio=decrease", thumbSide, thumbSide)
	args = append(args, "-i", "file:"+path, "-map", "0:v:0", "-frames:v", "1", "-vf", scale, "-f", "image2pipe", "-c:v", "png", "pipe:1")
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	out := &boundedBuffer{max: maxFrameBytes}
	cmd.Stdout = out
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil || out.over || out.Len() == 0 {
		return nil
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(out.Bytes()))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 4*thumbSide || cfg.Height > 4*thumbSide {
		return nil
	}
	img, err := png.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		return nil
	}
	return img
}

// boundedBuffer keeps at most max bytes and fails the write that would exceed them.
type boundedBuffer struct {
	bytes.Buffer
	max  int
	over bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		b.over = true
		return 0, errors.New("ffmpeg's frame is larger than expected")
	}
	return b.Buffer.Write(p)
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
	Thumb                     template.URL // made by thumbnail: a data: URI of a JPEG we encoded, or our SVG
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
	if ts := rep.TimeStamp; ts != nil {
		add("time-stamped", ts.Time.UTC().Format(time.RFC3339)+" by "+tsaName(ts))
	} else if rep.SignedAt != nil {
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
