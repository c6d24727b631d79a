// Command image-service is an HTTP service that "generates" images and returns them labeled as
// AI-generated: with a signed C2PA manifest, the visible warning of the chosen policy, and the
// AI-Disclosure response header. The picture is drawn with image/draw from the prompt (gradients
// and shapes); in a real service the model's output goes where paint's does.
//
//	go run ./examples/image-service                # serves on 127.0.0.1:8080
//	curl -o kite.png 'http://127.0.0.1:8080/image?prompt=a+red+kite&policy=eu&lang=de'
//	go run ./examples/image-service -selftest      # one run: fetch and verify each policy, exit
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"html"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/warning"
)

// Limits of a request.
const (
	maxPromptRunes = 1000
	minSide        = 64
	maxSide        = 2048
	defaultWidth   = 512
	defaultHeight  = 384
	maxLanguages   = 8
)

// WarningAreaHeader carries the rectangle (x0,y0,x1,y1 in pixels) the visible warning was drawn
// over, so a client can tell where it is without looking for it.
const WarningAreaHeader = "AI-Warning-Area"

// ManifestHeader carries the label (urn:c2pa:…) of the C2PA manifest embedded in the image.
const ManifestHeader = "C2PA-Manifest-ID"

// config is what the flags say.
type config struct {
	listen, model, provider   string
	keyFile, kmsRef, certFile string
	workers                   int
	selftest                  bool
}

func main() {
	var c config
	flag.StringVar(&c.listen, "listen", "127.0.0.1:8080", "address to serve on (port 0 picks a free port)")
	flag.StringVar(&c.model, "model", "demo-image-model", "model name written into the label")
	flag.StringVar(&c.provider, "provider", "", "content producer code for China's AIGC label (policy cn)")
	flag.StringVar(&c.keyFile, "key", "", "signing key (PEM); without -key and -kms the development key is used")
	flag.StringVar(&c.kmsRef, "kms", "", "KMS key reference, e.g. hashivault://name, instead of -key")
	flag.StringVar(&c.certFile, "cert", "", "certificate chain (PEM) of the signing key")
	flag.IntVar(&c.workers, "j", runtime.GOMAXPROCS(0), "images drawn and labeled at once")
	flag.BoolVar(&c.selftest, "selftest", false, "start on a free port, fetch and verify one image per policy and format, exit")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, c); err != nil {
		fmt.Fprintln(os.Stderr, "image-service:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, c config) error {
	signer, err := loadSigner(ctx, c.keyFile, c.kmsRef, c.certFile)
	if err != nil {
		return err
	}
	l, err := label.New(signer, label.Options{Model: c.model, Provider: c.provider})
	if err != nil {
		return fmt.Errorf("making the labeler: %w", err)
	}
	svc := newService(l, c.model, log, c.workers)

	listen := c.listen
	if c.selftest {
		listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", listen, err)
	}
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	base := "http://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	var testErr error
	if c.selftest {
		testErr = selfTest(ctx, base, c.model)
	} else {
		fmt.Printf("listening on %s\n", base)
		fmt.Printf("try %s/image?prompt=a+red+kite&policy=eu&lang=de\n", base)
		select {
		case <-ctx.Done():
		case err := <-served:
			return fmt.Errorf("serving: %w", err)
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	return testErr
}

// loadSigner returns the signer of -key/-cert or -kms/-cert, or the development signer.
func loadSigner(ctx context.Context, keyFile, kmsRef, certFile string) (*sign.Signer, error) {
	switch {
	case keyFile != "" && kmsRef != "":
		return nil, errors.New("-key and -kms both given; choose one")
	case (keyFile != "" || kmsRef != "") && certFile == "":
		return nil, errors.New("-key and -kms need -cert, the certificate chain of the key")
	case keyFile != "":
		return sign.LoadFiles(keyFile, certFile)
	case kmsRef != "":
		return sign.LoadKMS(ctx, kmsRef, certFile)
	}
	fmt.Fprintln(os.Stderr, "image-service: no -key or -kms: signing with the DEVELOPMENT key (not for production)")
	return sign.Dev()
}

// service serves GET /image (a labeled picture) and GET / (a form to try it).
type service struct {
	labeler *label.Labeler
	model   string
	log     *slog.Logger
	slots   chan struct{} // bounds the images drawn and labeled at once
	mux     *http.ServeMux
}

func newService(l *label.Labeler, model string, log *slog.Logger, workers int) *service {
	s := &service{labeler: l, model: model, log: log, slots: make(chan struct{}, max(workers, 1)), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /image", s.image)
	s.mux.HandleFunc("GET /{$}", s.index)
	return s
}

func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// request is what a GET /image asks for.
type request struct {
	prompt        string
	format        string // "png" or "jpeg"
	policy        *policy.Policy
	languages     []string
	width, height int
}

// parseRequest reads and checks the query of GET /image.
func parseRequest(r *http.Request) (request, error) {
	q := r.URL.Query()
	req := request{prompt: strings.TrimSpace(q.Get("prompt")), width: defaultWidth, height: defaultHeight}
	switch {
	case req.prompt == "":
		return req, errors.New("prompt is required: /image?prompt=…")
	case !utf8.ValidString(req.prompt):
		return req, errors.New("prompt is not valid UTF-8")
	case utf8.RuneCountInString(req.prompt) > maxPromptRunes:
		return req, fmt.Errorf("prompt is over %d characters", maxPromptRunes)
	}
	switch f := strings.ToLower(q.Get("format")); f {
	case "", "png":
		req.format = "png"
	case "jpeg", "jpg":
		req.format = "jpeg"
	default:
		return req, fmt.Errorf("format %q: want png or jpeg", f)
	}
	name := q.Get("policy")
	if name == "" {
		name = policy.Default
	}
	pol, err := policy.ByName(name)
	if err != nil {
		return req, fmt.Errorf("policy %q: want kz, eu or cn", name)
	}
	req.policy = pol
	for _, v := range q["lang"] {
		for _, tag := range strings.Split(v, ",") {
			if tag = strings.TrimSpace(tag); tag != "" {
				req.languages = append(req.languages, tag)
			}
		}
	}
	if len(req.languages) > maxLanguages {
		return req, fmt.Errorf("%d languages: at most %d", len(req.languages), maxLanguages)
	}
	if _, err := warning.Default().Messages(req.languages...); err != nil {
		return req, fmt.Errorf("lang: %w", err)
	}
	for _, d := range []struct {
		name string
		into *int
	}{{"w", &req.width}, {"h", &req.height}} {
		v := q.Get(d.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < minSide || n > maxSide {
			return req, fmt.Errorf("%s=%q: want a whole number of pixels from %d to %d", d.name, v, minSide, maxSide)
		}
		*d.into = n
	}
	return req, nil
}

// image draws the picture the prompt asks for, labels it and returns it.
func (s *service) image(w http.ResponseWriter, r *http.Request) {
	req, err := parseRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-r.Context().Done():
		return
	}

	// The "model": a picture drawn from the prompt.
	var raw bytes.Buffer
	img := paint(req.prompt, req.width, req.height)
	if req.format == "jpeg" {
		err = jpeg.Encode(&raw, img, &jpeg.Options{Quality: 90})
	} else {
		err = png.Encode(&raw, img)
	}
	if err != nil {
		s.fail(w, r, "encoding the picture", err)
		return
	}

	// Label it: C2PA manifest, XMP, the visible warning of the policy in its languages.
	var out bytes.Buffer
	res, err := s.labeler.Label(r.Context(), bytes.NewReader(raw.Bytes()), int64(raw.Len()), &out, label.Options{
		Policy:    req.policy,
		Languages: req.languages,
		Title:     "generated." + req.format,
	})
	if err != nil {
		s.fail(w, r, "labeling the picture", err)
		return
	}

	h := w.Header()
	h.Set("Content-Type", res.MIME)
	h.Set("Content-Length", strconv.Itoa(out.Len()))
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": "generated." + req.format}))
	h.Set("Cache-Control", "no-store")
	h.Set(label.DisclosureHeader, label.Disclosure{Mode: label.ModeAIOriginated, Model: s.model, Date: time.Now()}.String())
	h.Set(ManifestHeader, res.Manifest)
	if !res.Drawn.Empty() {
		d := res.Drawn
		h.Set(WarningAreaHeader, fmt.Sprintf("%d,%d,%d,%d", d.Min.X, d.Min.Y, d.Max.X, d.Max.Y))
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		s.log.Debug("writing the response", "err", err)
	}
	s.log.Info("image", "policy", req.policy.Name, "format", res.Format, "bytes", out.Len(), "manifest", res.Manifest)
	for _, warn := range res.Warnings {
		s.log.Warn("label", "policy", req.policy.Name, "warning", warn)
	}
}

func (s *service) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	s.log.Error(what, "err", err)
	http.Error(w, what+" failed", http.StatusInternalServerError)
}

// index serves a form to try the service in a browser.
func (s *service) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html><meta charset="utf-8"><title>image-service</title>
<h1>%s</h1>
<form action="/image">
<input name="prompt" value="a red kite over the steppe" size="40">
<select name="policy"><option>kz</option><option>eu</option><option>cn</option></select>
<select name="format"><option>png</option><option>jpeg</option></select>
<input name="lang" placeholder="languages, e.g. kk,ru" size="16">
<button>Generate</button>
</form>
<p>Every image carries a signed C2PA manifest and a visible warning; check one with <code>ailabel verify</code>.</p>
`, html.EscapeString("image-service ("+s.model+")"))
}

// paint draws a picture seeded by the prompt: a two-colour gradient sky with translucent discs
// and bars. Every colour is light enough that the warning's dark plate stands out.
func paint(prompt string, width, height int) *image.RGBA {
	h := fnv.New64a()
	io.WriteString(h, prompt)
	seed := h.Sum64()
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	img := image.NewRGBA(image.Rect(0, 0, width, height))
	top, bottom := lightColour(rng), lightColour(rng)
	for y := range height {
		t := float64(y) / float64(max(height-1, 1))
		row := image.Rect(0, y, width, y+1)
		draw.Draw(img, row, image.NewUniform(mix(top, bottom, t)), image.Point{}, draw.Src)
	}
	for range 3 + rng.IntN(4) {
		c := lightColour(rng)
		c.A = uint8(140 + rng.IntN(80))
		src := image.NewUniform(c)
		if rng.IntN(3) == 0 {
			x0, y0 := rng.IntN(width), rng.IntN(height)
			bar := image.Rect(x0, y0, x0+width/4+rng.IntN(width/2), y0+height/16+rng.IntN(height/6))
			draw.Draw(img, bar.Intersect(img.Bounds()), src, image.Point{}, draw.Over)
			continue
		}
		d := disc{c: image.Pt(rng.IntN(width), rng.IntN(height)), r: min(width, height)/10 + rng.IntN(min(width, height)/4)}
		draw.DrawMask(img, d.Bounds(), src, image.Point{}, d, d.Bounds().Min, draw.Over)
	}
	return img
}

// lightColour returns an opaque colour whose every channel is at least 110.
func lightColour(rng *rand.Rand) color.NRGBA {
	ch := func() uint8 { return uint8(110 + rng.IntN(146)) }
	return color.NRGBA{ch(), ch(), ch(), 255}
}

func mix(a, b color.NRGBA, t float64) color.NRGBA {
	l := func(x, y uint8) uint8 { return uint8(float64(x)*(1-t) + float64(y)*t + 0.5) }
	return color.NRGBA{l(a.R, b.R), l(a.G, b.G), l(a.B, b.B), 255}
}

// disc is a circular mask.
type disc struct {
	c image.Point
	r int
}

func (d disc) ColorModel() color.Model { return color.AlphaModel }

func (d disc) Bounds() image.Rectangle {
	return image.Rect(d.c.X-d.r, d.c.Y-d.r, d.c.X+d.r, d.c.Y+d.r)
}

func (d disc) At(x, y int) color.Color {
	dx, dy := x-d.c.X, y-d.c.Y
	if dx*dx+dy*dy < d.r*d.r {
		return color.Alpha{A: 255}
	}
	return color.Alpha{}
}
