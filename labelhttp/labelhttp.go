// Package labelhttp labels AI-generated HTTP responses as they leave a Go service: net/http
// middleware (Middleware) for handlers that serve generated content, and a
// httputil.ReverseProxy.ModifyResponse hook (ModifyResponse) for a proxy in front of a generator.
// Both run the same code; ailabel's sidecar (`ailabel serve --upstream`) is built on the second.
//
// What a wrapped handler answers decides what happens, by its status and Content-Type:
//
//   - image/*, video/*, audio/*, and the other types ailabel writes (text/plain, text/markdown,
//     text/html, application/pdf): the body is buffered (in memory up to 1 MiB, then in a
//     temporary file; at most the MaxBody limit) and labeled with label.Labeler.Label; the
//     labeled bytes go out with a new Content-Length and Content-Type.
//   - application/octet-stream, or no Content-Type: the first bytes are sniffed; a format
//     ailabel writes (JPEG, PNG, MP4…) is labeled as above, anything else passes untouched.
//   - application/json (and +json) in the OpenAI images shape (data[].b64_json) or the
//     chat-completions shape (choices[].message.content): each image or message is labeled;
//     other JSON passes unchanged.
//   - text/event-stream (an OpenAI chat-completions stream): labeled event by event as it is
//     written, with label.Labeler.LabelChatStream, never buffered whole.
//   - anything else, and every HEAD, 1xx, 204, 205, 3xx (304 included), 4xx and 5xx response:
//     untouched.
//
// Labeled responses carry the AI-Disclosure header (IETF draft-abaris-aicdh) and, except streams
// (whose manifest is only known at their end), C2PA-Manifest-ID with the manifest's label.
// ETag, Content-MD5, Digest, Content-Digest, Repr-Digest and Accept-Ranges are dropped, since the
// bytes changed. The middleware asks its handler for whole, unencoded bodies: it removes Range,
// If-Range and Accept-Encoding from the request the handler sees (compress outside it); a gzip
// body is decoded before labeling, another Content-Encoding is an error.
//
// Wrap the handlers that serve generated content, not a whole site: an HTML page or text file
// served through the middleware gets a disclaimer and a manifest like any generated text.
//
// Per-request label options (model, policy, warning languages…) come from WithOptions;
// ParseOptions reads them from query parameters and AI-Label-* headers the way the sidecar does,
// for services whose callers are trusted to choose them. A chat completion or images response
// whose JSON (or whose first stream event) names a "model" is labeled with that model when the
// request's options name none.
package labelhttp

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/ailabel/ailabel/label"
)

// Response headers of labeled content.
const (
	// DisclosureHeader says the content is AI-made (label.Disclosure's value).
	DisclosureHeader = label.DisclosureHeader
	// ManifestHeader carries the label (urn:c2pa:…) of the C2PA manifest embedded in the content;
	// a JSON response with several labeled items lists them, ", "-separated, in order.
	ManifestHeader = "C2PA-Manifest-ID"
)

// DefaultMaxBody is the default limit of a buffered body (WithMaxBody).
const DefaultMaxBody = 512 << 20

// Error codes of Error.
const (
	CodeBadOption   = "bad_option"  // a request option is invalid (status 400)
	CodeTooLarge    = "too_large"   // the body to label is over the MaxBody limit
	CodeMalformed   = "malformed"   // a JSON item is not what its shape says (b64_json not base64)
	CodeUnlabelable = "unlabelable" // the content cannot be labeled (damaged, unsupported encoding…)
	CodeNotKept     = "not_kept"    // the WithRegister function failed: the labeled content is not sent (503)
)

// Error is a request option the middleware refused or a response it could not label. The
// middleware answers it (WithErrorHandler); ModifyResponse returns it to the proxy's
// ErrorHandler.
type Error struct {
	// Status is the HTTP status to answer: 400 for a bad option; for a response that cannot be
	// labeled 500 from Middleware and 502 from ModifyResponse.
	Status int
	// Code is one of the Code… constants.
	Code string
	// Param names the request parameter at fault (CodeBadOption), e.g. "policy".
	Param string
	// Message says what is wrong, in words a caller can act on.
	Message string
	// Err is the cause, if any.
	Err error
}

func (e *Error) Error() string { return "labelhttp: " + e.Message }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Outcome tells an observer (WithObserver) what was done with one response that was a candidate
// for labeling (a 2xx answer to a request other than HEAD).
type Outcome struct {
	// Action is "labeled", "labeled_stream" (an event stream, labeled as it passes; reported
	// when it starts) or "passed_through" (content ailabel does not label, sent unchanged).
	Action string
	// Format names what was labeled: the container ("jpeg", "mp4", "text"…), "chat" for a chat
	// completion, "sse" for an event stream; empty when passed through.
	Format string
	// Labeled lists the format of each item labeled: one for a body or stream, one per image or
	// message of a JSON response.
	Labeled []string
	// Manifests are the labels (urn:c2pa:…) of the manifests written, in order; none for a
	// stream.
	Manifests []string
}

// Option configures Middleware and ModifyResponse.
type Option func(*config)

type config struct {
	options  func(*http.Request) (label.Options, error)
	disc     label.Disclosure
	maxBody  int64
	tempDir  string
	onError  func(http.ResponseWriter, *http.Request, error)
	observe  func(*http.Request, Outcome)
	register func(*http.Request, *label.Result) error
	log      *slog.Logger
	limit    func(ctx context.Context, size int64) (release func(), err error)
	failCode int // status of a response that cannot be labeled
}

// WithOptions sets the function that gives each request's label options (nil: the labeler's
// defaults for every request). Its error, best an *Error naming the parameter, is answered as a
// 400 by Middleware before the handler runs, and returned by ModifyResponse. ParseOptions is one
// such function, for trusted callers.
func WithOptions(f func(*http.Request) (label.Options, error)) Option {
	return func(c *config) { c.options = f }
}

// WithDisclosure sets the AI-Disclosure header's members: Mode (ai-originated when empty),
// Provider, ReviewedBy, and the Model named when neither the request's options nor the response
// name one (set it to the labeler's default model). Date is ignored: each response is dated
// when it is labeled.
func WithDisclosure(d label.Disclosure) Option {
	return func(c *config) { c.disc = d }
}

// WithMaxBody bounds a buffered body (and every JSON body), in bytes; DefaultMaxBody when n <= 0.
// A body over it is an Error with CodeTooLarge: the client gets an error, never unlabeled
// content.
func WithMaxBody(n int64) Option {
	return func(c *config) { c.maxBody = n }
}

// WithTempDir sets the folder where bodies over 1 MiB are spooled ("" means os.TempDir()).
// Temporary files are removed when the response has been sent.
func WithTempDir(dir string) Option {
	return func(c *config) { c.tempDir = dir }
}

// WithErrorHandler sets how Middleware answers a bad option or a response it cannot label.
// The default writes a JSON error, {"error":{"code":…,"message":…,"param":…}}, with the
// *Error's status (500 for other errors, 503 when the request's context ended). The handler's
// headers are not sent with it.
func WithErrorHandler(f func(w http.ResponseWriter, r *http.Request, err error)) Option {
	return func(c *config) { c.onError = f }
}

// WithObserver sets a function told what was done with each candidate response, for logs and
// metrics. It is called before the response's body is sent: on the request's goroutine (for
// ModifyResponse, the proxy's), except for an event stream behind Middleware, where it is called
// from the stream's labeling goroutine while the handler runs (Middleware returns after it).
func WithObserver(f func(r *http.Request, o Outcome)) Option {
	return func(c *config) { c.observe = f }
}

// WithRegister sets a function called with each label.Result before the labeled response is
// sent: a body, each image of an OpenAI images response, each message of a chat completion (not
// an event stream, whose manifest is only known at its end). A manifest repository keeps the
// manifest there. When it fails, the labeled content is not sent: the response is an Error with
// CodeNotKept and status 503, so the caller retries.
func WithRegister(f func(r *http.Request, res *label.Result) error) Option {
	return func(c *config) { c.register = f }
}

// WithLimiter sets a function called before each whole body, and each image of an OpenAI images
// response, is labeled, with its size in bytes: labeling waits until it returns and calls
// release when done. It bounds how much labeling runs at once (a pool of workers). Its error,
// normally the context's when the request's time ran out while it waited, fails the response as
// a labeling error would. Event streams and chat messages are labeled as they come, without it.
func WithLimiter(f func(ctx context.Context, size int64) (release func(), err error)) Option {
	return func(c *config) { c.limit = f }
}

// WithLogger sets where failures that cannot be answered are logged: an event stream whose
// labeling fails after it has started (the client sees the stream cut). nil (the default)
// logs to slog.Default().
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.log = l }
}

func newEngine(l *label.Labeler, failCode int, opts []Option) *engine {
	if l == nil {
		panic("labelhttp: nil *label.Labeler")
	}
	c := config{failCode: failCode}
	for _, o := range opts {
		o(&c)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBody
	}
	if c.onError == nil {
		c.onError = WriteError
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return &engine{l: l, cfg: c}
}

// WriteError is the default error handler of Middleware: a JSON body
// {"error":{"code":…,"message":…,"param":…}} with the *Error's status; 503 "timeout" or
// "canceled" when the request's context ended; 500 "internal" otherwise.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Param   string `json:"param,omitempty"`
		} `json:"error"`
	}
	status := http.StatusInternalServerError
	e := &body.Error
	var le *Error
	switch {
	case errors.As(err, &le):
		status, e.Code, e.Message, e.Param = le.Status, le.Code, le.Message, le.Param
	case errors.Is(err, context.DeadlineExceeded):
		status, e.Code, e.Message = http.StatusServiceUnavailable, "timeout", "labeling the response took longer than the request's time limit"
	case errors.Is(err, context.Canceled):
		status, e.Code, e.Message = http.StatusServiceUnavailable, "canceled", "the request was canceled"
	default:
		e.Code, e.Message = "internal", "labeling the response failed"
	}
	b, _ := json.Marshal(body)
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b)
}

// engine is the labeling shared by Middleware and ModifyResponse.
type engine struct {
	l   *label.Labeler
	cfg config
}

// requestOptions returns r's label options; its errors are *Error.
func (e *engine) requestOptions(r *http.Request) (label.Options, error) {
	if e.cfg.options == nil {
		return label.Options{}, nil
	}
	o, err := e.cfg.options(r)
	if err != nil {
		var le *Error
		if errors.As(err, &le) {
			return o, err
		}
		return o, &Error{Status: http.StatusBadRequest, Code: CodeBadOption, Message: err.Error(), Err: err}
	}
	return o, nil
}

// disclosure is the AI-Disclosure value for content made by model.
func (e *engine) disclosure(model string) string {
	d := e.cfg.disc
	if model != "" {
		d.Model = model
	}
	if d.Mode == "" {
		d.Mode = label.ModeAIOriginated
	}
	d.Date = time.Now()
	return d.String()
}

func (e *engine) observe(r *http.Request, o Outcome) {
	if e.cfg.observe != nil {
		e.cfg.observe(r, o)
	}
}
