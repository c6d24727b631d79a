package labelhttp

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
)

// kind is what the middleware does with a response.
type kind int

const (
	skip    kind = iota // not a candidate (status, method): untouched, not observed
	pass                // a Content-Type ailabel does not label: untouched
	media               // image, video, audio: labeled; failing to is an error
	doc                 // another type ailabel writes (text, PDF): labeled; content it does not read passes
	sniff               // octet-stream or no type: labeled when the first bytes are a format ailabel writes
	jsonDoc             // JSON: the OpenAI images and chat-completions shapes are labeled
	stream              // text/event-stream: labeled as it passes
)

// classify decides by the request's method, the response's status and its Content-Type.
func classify(method string, status int, h http.Header) (kind, string) {
	if method == http.MethodHead || status < 200 || status > 299 || status == http.StatusNoContent || status == http.StatusResetContent {
		return skip, ""
	}
	ct := h.Get("Content-Type")
	if ct == "" {
		return sniff, ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return sniff, ""
	}
	switch {
	case mt == "text/event-stream":
		return stream, mt
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return jsonDoc, mt
	case strings.HasPrefix(mt, "image/") || strings.HasPrefix(mt, "video/") || strings.HasPrefix(mt, "audio/"):
		return media, mt
	case mt == "application/octet-stream":
		return sniff, mt
	}
	for _, f := range formats.All() {
		if f.MIME == mt {
			return doc, mt
		}
	}
	if mt == "text/x-markdown" || mt == "application/xhtml+xml" {
		return doc, mt
	}
	return pass, mt
}

// sniffed reports whether head (the first formats.SniffLen bytes, or the whole body when
// shorter) starts a format ailabel writes that has magic bytes (not plain text).
func sniffed(head []byte) bool {
	f, err := formats.Sniff(head)
	return err == nil && !f.Fallback
}

// decoder returns a function that undoes h's Content-Encoding: nil for none, gzip's reader for
// gzip, an error for any other.
func decoder(h http.Header, failStatus int) (func(io.Reader) (io.Reader, error), error) {
	switch ce := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))); ce {
	case "", "identity":
		return nil, nil
	case "gzip", "x-gzip":
		return func(r io.Reader) (io.Reader, error) {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return nil, &Error{Status: failStatus, Code: CodeUnlabelable, Message: "the gzip-encoded body cannot be decoded: " + err.Error(), Err: err}
			}
			return zr, nil
		}, nil
	default:
		return nil, &Error{Status: failStatus, Code: CodeUnlabelable, Message: fmt.Sprintf("a body with Content-Encoding %q cannot be labeled; only gzip is decoded", ce)}
	}
}

// output is a response body to send, with its size.
type output struct {
	r     io.Reader
	size  int64
	close func()
}

func (o *output) Close() {
	if o.close != nil {
		o.close()
	}
}

// label labels in (size bytes) into out, within the limiter's bounds when there is one.
func (e *engine) label(ctx context.Context, in io.ReaderAt, size int64, out io.Writer, o label.Options) (*label.Result, error) {
	if e.cfg.limit != nil {
		release, err := e.cfg.limit(ctx, size)
		if err != nil {
			return nil, err
		}
		defer release()
	}
	return e.l.Label(ctx, in, size, out, o)
}

// tooLarge is the Error of a body over the limit.
func (e *engine) tooLarge() error {
	return &Error{Status: e.cfg.failCode, Code: CodeTooLarge, Message: fmt.Sprintf("the body to label is over the limit of %d bytes", e.cfg.maxBody)}
}

// labelBuffered labels a body held in in (which it does not close), of kind k and media type mt,
// and sets the headers h of the labeled response; the output is closed by the caller.
func (e *engine) labelBuffered(ctx context.Context, r *http.Request, o label.Options, h http.Header, k kind, mt string, in *spool) (*output, error) {
	if in.err != nil {
		return nil, in.err
	}
	if in.over {
		return nil, e.tooLarge()
	}
	dec, err := decoder(h, e.cfg.failCode)
	if err != nil {
		return nil, err
	}
	if dec != nil {
		zr, err := dec(in.reader())
		if err != nil {
			return nil, err
		}
		plain := e.newSpool(e.cfg.maxBody)
		if _, err := io.Copy(plain, zr); err != nil {
			plain.Close()
			return nil, &Error{Status: e.cfg.failCode, Code: CodeUnlabelable, Message: "the gzip-encoded body cannot be decoded: " + err.Error(), Err: err}
		}
		if plain.err != nil || plain.over {
			plain.Close()
			if plain.err != nil {
				return nil, plain.err
			}
			return nil, e.tooLarge()
		}
		h.Del("Content-Encoding")
		out, err := e.labelBuffered(ctx, r, o, h, k, mt, plain)
		if err != nil {
			plain.Close()
			return nil, err
		}
		prev := out.close
		out.close = func() {
			if prev != nil {
				prev()
			}
			plain.Close()
		}
		return out, nil
	}
	if k == jsonDoc {
		return e.labelJSON(ctx, r, o, h, in)
	}
	if in.n == 0 { // nothing to label
		e.observe(r, Outcome{Action: "passed_through"})
		return &output{r: in.reader(), size: 0}, nil
	}
	out := e.newSpool(-1)
	res, err := e.label(ctx, in.readerAt(), in.n, out, o)
	if err == nil && out.err != nil {
		err = out.err
	}
	if err != nil {
		out.Close()
		if errors.Is(err, label.ErrUnsupported) && k != media {
			// Not content ailabel labels: it passes unchanged, without a disclosure.
			e.observe(r, Outcome{Action: "passed_through"})
			h.Set("Content-Length", strconv.FormatInt(in.n, 10))
			return &output{r: in.reader(), size: in.n}, nil
		}
		if ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			return nil, err
		}
		what := mt
		if what == "" {
			what = "sniffed"
		}
		return nil, &Error{Status: e.cfg.failCode, Code: CodeUnlabelable, Message: fmt.Sprintf("the %s content cannot be labeled: %v", what, err), Err: err}
	}
	if err := e.register(r, res); err != nil {
		out.Close()
		return nil, err
	}
	ct := res.MIME
	if strings.HasPrefix(ct, "text/") {
		ct += "; charset=utf-8"
	}
	e.labeledHeaders(h, res.Size, o.Model, res.Manifest)
	h.Set("Content-Type", ct)
	e.observe(r, Outcome{Action: "labeled", Format: res.Format, Labeled: []string{res.Format}, Manifests: []string{res.Manifest}})
	return &output{r: out.reader(), size: res.Size, close: func() { out.Close() }}, nil
}

// register hands a labeled result to the WithRegister function, if any.
func (e *engine) register(r *http.Request, res *label.Result) error {
	if e.cfg.register == nil {
		return nil
	}
	if err := e.cfg.register(r, res); err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeNotKept,
			Message: "the manifest " + res.Manifest + " could not be kept, so the labeled content is not sent; retry later", Err: err}
	}
	return nil
}

// labeledHeaders sets the headers of a labeled body of size bytes (size < 0: streamed).
func (e *engine) labeledHeaders(h http.Header, size int64, model string, manifests ...string) {
	for _, k := range []string{"Content-Encoding", "Content-Length", "ETag", "Content-MD5", "Digest", "Content-Digest", "Repr-Digest", "Accept-Ranges", "Content-Range"} {
		h.Del(k)
	}
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	h.Set(DisclosureHeader, e.disclosure(model))
	if len(manifests) > 0 {
		h.Set(ManifestHeader, strings.Join(manifests, ", "))
	} else {
		h.Del(ManifestHeader)
	}
}

// maxItems bounds the images or messages labeled in one JSON response.
const maxItems = 1024

// maxModel bounds a model name taken from a response.
const maxModel = 1024

// modelOf returns the "model" member of a JSON object, "" when it has none usable.
func modelOf(v json.RawMessage) string {
	var m string
	if json.Unmarshal(v, &m) != nil || len(m) > maxModel {
		return ""
	}
	return m
}

// labelJSON labels the images of an OpenAI images response (data[].b64_json) and the messages
// of a chat completion (choices[].message.content); other JSON passes through unchanged.
func (e *engine) labelJSON(ctx context.Context, r *http.Request, o label.Options, h http.Header, in *spool) (*output, error) {
	raw, err := in.bytes()
	if err != nil {
		return nil, err
	}
	passed := func() (*output, error) {
		e.observe(r, Outcome{Action: "passed_through"})
		h.Set("Content-Length", strconv.Itoa(len(raw)))
		return &output{r: bytes.NewReader(raw), size: int64(len(raw))}, nil
	}
	var doc map[string]json.RawMessage
	if json.Unmarshal(raw, &doc) != nil {
		return passed()
	}
	if o.Model == "" {
		o.Model = modelOf(doc["model"])
	}
	fail := func(code, msg string, err error) error {
		if ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			return err
		}
		return &Error{Status: e.cfg.failCode, Code: code, Message: msg, Err: err}
	}
	var ids, formats []string
	what := ""
	if data, ok := doc["data"]; ok {
		var items []map[string]json.RawMessage
		if json.Unmarshal(data, &items) == nil {
			for i, it := range items {
				var b64 string
				if json.Unmarshal(it["b64_json"], &b64) != nil || b64 == "" {
					continue
				}
				if len(ids) == maxItems {
					return nil, fail(CodeTooLarge, fmt.Sprintf("the response holds more than %d images", maxItems), nil)
				}
				img, err := base64.StdEncoding.DecodeString(b64)
				if err != nil {
					return nil, fail(CodeMalformed, fmt.Sprintf("data[%d].b64_json is not base64", i), err)
				}
				var out bytes.Buffer
				res, err := e.label(ctx, bytes.NewReader(img), int64(len(img)), &out, o)
				if err != nil {
					return nil, fail(CodeUnlabelable, fmt.Sprintf("data[%d].b64_json cannot be labeled: %v", i, err), err)
				}
				if err := e.register(r, res); err != nil {
					return nil, err
				}
				it["b64_json"], _ = json.Marshal(base64.StdEncoding.EncodeToString(out.Bytes()))
				ids = append(ids, res.Manifest)
				formats = append(formats, res.Format)
				what = res.Format
			}
			if len(ids) > 0 {
				doc["data"], _ = json.Marshal(items)
			}
		}
	}
	if choices, ok := doc["choices"]; ok && len(ids) == 0 {
		var items []map[string]json.RawMessage
		if json.Unmarshal(choices, &items) == nil {
			for i, it := range items {
				var msg map[string]json.RawMessage
				if json.Unmarshal(it["message"], &msg) != nil {
					continue
				}
				var content string
				if json.Unmarshal(msg["content"], &content) != nil || content == "" {
					continue
				}
				if len(ids) == maxItems {
					return nil, fail(CodeTooLarge, fmt.Sprintf("the response holds more than %d messages", maxItems), nil)
				}
				var out bytes.Buffer
				ts, err := e.l.NewTextStream(&out, o)
				if err == nil {
					_, err = ts.WriteString(content)
				}
				if err == nil {
					err = ts.Close()
				}
				if err != nil {
					return nil, fail(CodeUnlabelable, fmt.Sprintf("choices[%d].message.content cannot be labeled: %v", i, err), err)
				}
				if err := e.register(r, ts.Result()); err != nil {
					return nil, err
				}
				msg["content"], _ = json.Marshal(out.String())
				it["message"], _ = json.Marshal(msg)
				ids = append(ids, ts.Result().Manifest)
				formats = append(formats, "text")
				what = "chat"
			}
			if len(ids) > 0 {
				doc["choices"], _ = json.Marshal(items)
			}
		}
	}
	if len(ids) == 0 {
		return passed()
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("labelhttp: encoding the labeled JSON: %w", err)
	}
	e.labeledHeaders(h, int64(len(b)), o.Model, ids...)
	e.observe(r, Outcome{Action: "labeled", Format: what, Labeled: formats, Manifests: ids})
	return &output{r: bytes.NewReader(b), size: int64(len(b))}, nil
}

// maxPeek bounds what is read of an event stream to find its model before labeling starts.
const maxPeek = 64 << 10

// prepareStream readies an event stream for labeling: it decodes gzip, finds the model in the
// first event when the options name none, and sets the headers h of the labeled stream. It
// returns the options and the stream to label (what it read, then the rest of src).
func (e *engine) prepareStream(ctx context.Context, r *http.Request, o label.Options, h http.Header, src io.Reader) (label.Options, io.Reader, error) {
	dec, err := decoder(h, e.cfg.failCode)
	if err != nil {
		return o, nil, err
	}
	if dec != nil {
		if src, err = dec(src); err != nil {
			return o, nil, err
		}
		h.Del("Content-Encoding")
	}
	if o.Model == "" {
		var peeked []byte
		peeked, o.Model = peekModel(src)
		src = io.MultiReader(bytes.NewReader(peeked), src)
	}
	e.labeledHeaders(h, -1, o.Model)
	e.observe(r, Outcome{Action: "labeled_stream", Format: "sse", Labeled: []string{"sse"}})
	return o, src, nil
}

// peekModel reads src up to the end of its first "data:" line (at most maxPeek bytes) and
// returns what it read and the "model" of that event's JSON, if any. Read errors are left for
// the labeler to meet again.
func peekModel(src io.Reader) ([]byte, string) {
	var got []byte
	buf := make([]byte, 4096)
	for len(got) < maxPeek {
		n, err := src.Read(buf[:min(len(buf), maxPeek-len(got))])
		got = append(got, buf[:n]...)
		// Look at every complete line read so far.
		rest := got
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			line := bytes.TrimRight(rest[:i], "\r")
			rest = rest[i+1:]
			if data, ok := bytes.CutPrefix(line, []byte("data:")); ok {
				var ev struct {
					Model json.RawMessage `json:"model"`
				}
				if json.Unmarshal(bytes.TrimSpace(data), &ev) == nil {
					return got, modelOf(ev.Model)
				}
				return got, ""
			}
		}
		if err != nil {
			return got, ""
		}
	}
	return got, ""
}

// runStream labels the event stream src into dst, flushing after each event.
func (e *engine) runStream(ctx context.Context, r *http.Request, o label.Options, src io.Reader, dst io.Writer) error {
	err := e.l.LabelChatStream(ctx, src, dst, o)
	if err != nil && ctx.Err() == nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, errAborted) {
		// The response has started: all that can be done is to cut it (the client sees a
		// stream without its final event) and log why.
		e.cfg.log.Warn("labelhttp: labeling the event stream failed", "path", r.URL.Path, "err", err.Error())
	}
	return err
}

// errAborted ends a stream whose handler panicked.
var errAborted = errors.New("labelhttp: the handler did not finish")
