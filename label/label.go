// Package label puts a signed, machine-readable "AI-generated" label into content and checks
// such labels.
//
// A Labeler is built once with a signer (package sign) and used for any number of files, from
// any number of goroutines. Label reads an asset through an io.ReaderAt, sniffs its container
// from the bytes, writes XMP (IPTC DigitalSourceType) and EXIF fields, and embeds a C2PA 2.x
// manifest store whose c2pa.actions.v2 assertion says the content was created by an AI model,
// with a hard binding over every other byte; the output goes to an io.Writer in one stream.
// Verify reads any C2PA manifest (ailabel's or anyone's), checks its signature, certificate and
// hashes, and returns a Report in plain words and C2PA status codes.
//
// Every container ailabel ships is registered when this package is imported; others can be
// added with formats.Register.
package label

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ailabel/ailabel/formats"
	_ "github.com/ailabel/ailabel/formats/all" // the built-in containers
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/manifest/bmffhash"
	"github.com/ailabel/ailabel/sign"
	"github.com/google/uuid"
)

// Version is ailabel's version, written into every claim's claim_generator_info.
const Version = "0.1.0"

// Errors a caller can test with errors.Is.
var (
	// ErrUnsupported: the content's format is not one ailabel reads (or writes, for Label).
	ErrUnsupported = formats.ErrUnsupported
	// ErrMalformed: the content is damaged or not what its first bytes say.
	ErrMalformed = formats.ErrMalformed
	// ErrTooLarge: something in the content is over a limit.
	ErrTooLarge = formats.ErrTooLarge
)

// Options say what a label claims. The zero value labels content as made by an unnamed AI model.
type Options struct {
	// Model names the generating model (the action's softwareAgent), e.g. "image-gen-3".
	Model string
	// ModelVersion is the model's version, optional.
	ModelVersion string
	// SourceType is the IPTC digital source type, as a URI or its short name
	// ("trainedAlgorithmicMedia" by default, "compositeWithTrainedAlgorithmicMedia", …).
	SourceType string
	// Title is the asset's title, usually its file name.
	Title string
	// Notice is the human-readable warning shown by containers that can show one (a disclaimer
	// in text, Markdown and HTML); nil means DefaultNotice (Kazakh, Russian, English).
	Notice *formats.Notice
	// NoNotice leaves the human-readable warning out.
	NoNotice bool
}

// Labeler labels content with one signer. It holds no global state: any number of labelers
// with different keys can live in one process.
type Labeler struct {
	signer   *sign.Signer
	defaults Options
	now      func() time.Time
}

// New returns a Labeler that signs with s. defaults fill in what a call's Options leave empty.
func New(s *sign.Signer, defaults Options) (*Labeler, error) {
	if s == nil {
		return nil, errors.New("label: a signer is required")
	}
	if defaults.SourceType != "" {
		if _, ok := manifest.SourceTypeURI(defaults.SourceType); !ok {
			return nil, fmt.Errorf("label: unknown digital source type %q", defaults.SourceType)
		}
	}
	return &Labeler{signer: s, defaults: defaults, now: time.Now}, nil
}

// Signer returns the labeler's signer.
func (l *Labeler) Signer() *sign.Signer { return l.signer }

// Result describes a labeled output.
type Result struct {
	Format      string // container name, e.g. "jpeg"
	MIME        string
	Manifest    string // the new manifest's label, urn:c2pa:…
	InstanceID  string
	Size        int64  // bytes written
	Development bool   // signed with the development key
	Parent      string // label of the input's earlier active manifest, now a parentOf ingredient
	Warnings    []string
}

func (l *Labeler) merge(o Options) (Options, string, error) {
	if o.Model == "" {
		o.Model, o.ModelVersion = l.defaults.Model, l.defaults.ModelVersion
	}
	if o.SourceType == "" {
		o.SourceType = l.defaults.SourceType
	}
	if o.SourceType == "" {
		o.SourceType = "trainedAlgorithmicMedia"
	}
	dst, ok := manifest.SourceTypeURI(o.SourceType)
	if !ok {
		return o, "", fmt.Errorf("label: unknown digital source type %q (one of %s)", o.SourceType, strings.Join(manifest.SourceTypes, ", "))
	}
	if o.Title == "" {
		o.Title = l.defaults.Title
	}
	if o.Notice == nil {
		o.Notice = l.defaults.Notice
	}
	o.NoNotice = o.NoNotice || l.defaults.NoNotice
	if o.Notice == nil && !o.NoNotice {
		o.Notice = DefaultNotice()
	}
	if o.NoNotice {
		o.Notice = nil
	}
	return o, dst, nil
}

// Label reads the asset from r (size bytes), and writes it labeled to w. The input is read
// twice (once to hash the output, once to write it) and never held in memory whole.
func (l *Labeler) Label(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, o Options) (*Result, error) {
	return l.label(ctx, r, size, w, nil, o)
}

// label writes the output to w, or, when file is not nil, into file in one pass (file is a
// fresh file of ours, positioned at 0 and not in append mode).
func (l *Labeler) label(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, file *os.File, o Options) (*Result, error) {
	o, dst, err := l.merge(o)
	if err != nil {
		return nil, err
	}
	r = ctxReaderAt{ctx, r}
	c, err := formats.Open(r, size)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	f := c.Format()
	wc, ok := c.(formats.Writable)
	if !ok {
		return nil, fmt.Errorf("label: %s can be verified but not labeled yet: %w", f.Name, ErrUnsupported)
	}
	res := &Result{Format: f.Name, MIME: f.MIME, Development: l.signer.IsDevelopment()}

	// An earlier manifest becomes our parent ingredient; its history stays in the store.
	var parent *manifest.Parent
	if raw, err := c.ManifestStore(); err == nil {
		st, perr := manifest.ParseStore(raw)
		if perr != nil {
			res.Warnings = append(res.Warnings, "the input's C2PA manifest store is unreadable and was replaced: "+perr.Error())
		} else {
			vr := st.Validate(r, size, manifest.Options{Now: l.now()})
			parent = &manifest.Parent{Store: st, Title: o.Title, Format: f.MIME, Results: &vr.Active}
			res.Parent = vr.ActiveManifest
		}
	} else if !errors.Is(err, formats.ErrNoManifest) {
		res.Warnings = append(res.Warnings, "the input's C2PA manifest could not be read and was replaced: "+err.Error())
	}

	instanceID := "xmp.iid:" + uuid.NewString()
	xmpPacket, exifData, warn := l.metadata(c, o, dst, instanceID)
	res.Warnings = append(res.Warnings, warn...)

	agent := &manifest.SoftwareAgent{Name: o.Model, Version: o.ModelVersion}
	if agent.Name == "" {
		agent.Name = "unnamed AI model"
	}
	when := l.now().UTC().Format(time.RFC3339)
	actions := []manifest.Action{{Action: manifest.ActionCreated, When: when, SoftwareAgent: agent, DigitalSourceType: dst}}
	if parent != nil {
		actions = []manifest.Action{
			{Action: manifest.ActionOpened, When: when},
			{Action: manifest.ActionEditedMetadata, When: when, SoftwareAgent: &manifest.SoftwareAgent{Name: "ailabel", Version: Version},
				DigitalSourceType: dst, Description: "labeled as AI-generated by " + agent.Name},
		}
	}
	spec := manifest.Spec{
		Title:      o.Title,
		InstanceID: instanceID,
		Generator:  manifest.ClaimGeneratorInfo{Name: "ailabel", Version: Version},
		Actions:    actions,
		Parent:     parent,
	}
	if f.Binding == formats.BMFFHash {
		spec.Binding = manifest.BindBMFF
		spec.BMFFExclusions = bmffExclusions()
	}
	d, err := manifest.NewDraft(spec, l.signer)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	edit := formats.Edit{XMP: xmpPacket, EXIF: exifData, StoreLen: d.Len(), Notice: o.Notice}
	if f.Binding == formats.BMFFHash && strings.HasPrefix(f.MIME, "video/") {
		edit.Captions, edit.Media = videoWarning(o)
	}
	lay, err := wc.Layout(edit)
	if err != nil && len(edit.Captions) > 0 && errors.Is(err, formats.ErrUnsupported) {
		res.Warnings = append(res.Warnings, "no caption track: "+err.Error()) // fragmented MP4
		edit.Captions = nil
		lay, err = wc.Layout(edit)
	}
	if err != nil {
		return nil, fmt.Errorf("label: %s: %w", f.Name, err)
	}

	n, err := writeLabeled(lay, d, f.Binding, r, w, file)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	res.Manifest, res.InstanceID, res.Size = d.Label(), d.InstanceID(), n
	return res, nil
}

// writeLabeled hashes the layout's output (everything but the store slot for a data hash; the
// whole stream, slot included, for a BMFF hash), finishes and signs the manifest, and writes the
// output. Into a file of ours (LabelFile's temporary file) it takes one pass over the input: the
// output goes out with a zero-filled store while it is hashed, and the signed store is written
// into its slot at the end. Any other writer gets a hashing pass, then a writing pass.
func writeLabeled(lay *formats.Layout, d *manifest.Draft, b formats.Binding, r io.ReaderAt, w io.Writer, file *os.File) (int64, error) {
	placeholder := lay.Frame(make([]byte, d.Len()))
	var hw io.Writer
	var bh *bmffhash.Hasher
	dh := sha256.New()
	if b == formats.BMFFHash {
		var err error
		if bh, err = bmffhash.NewHasher(sha256.New(), bmffExclusions()); err != nil {
			return 0, err
		}
		hw = bh
	} else {
		hw = dh
	}
	finish := func() ([]byte, error) {
		if b == formats.BMFFHash {
			sum, err := bh.Sum()
			if err != nil {
				return nil, fmt.Errorf("hashing the output: %w", err)
			}
			return d.FinishBMFF(sum)
		}
		off, n := lay.StoreOffset()
		return d.FinishDataHash([]manifest.ExclusionRange{{Start: uint64(off), Length: uint64(n)}}, dh.Sum(nil))
	}
	// feed sends every piece to the hash and, when out is not nil, to out; hashing and writing
	// run side by side on two cores.
	var largest int64
	for _, p := range lay.Pieces {
		if p.Kind == formats.Copy {
			largest = max(largest, p.Len)
		}
	}
	feed := func(out io.Writer) error {
		both := hw
		if out != nil && lay.Size() >= 4<<20 { // a second core pays off only on larger outputs
			t := newParallelTee(out, hw)
			defer t.close()
			both = t
		} else if out != nil {
			both = io.MultiWriter(out, hw)
		}
		buf := make([]byte, min(max(largest, 32<<10), 1<<20))
		for _, p := range lay.Pieces {
			var err error
			switch p.Kind {
			case formats.Copy:
				var n int64
				n, err = io.CopyBuffer(both, io.NewSectionReader(r, p.Off, p.Len), buf)
				if err == nil && n != p.Len {
					err = io.ErrUnexpectedEOF
				}
			case formats.Literal:
				_, err = both.Write(p.Data)
			case formats.Store:
				if out != nil {
					if _, err = out.Write(placeholder); err != nil {
						break
					}
				}
				if b == formats.BMFFHash {
					_, err = hw.Write(placeholder)
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	}

	if f := file; f != nil {
		if start, err := f.Seek(0, io.SeekCurrent); err == nil {
			bw := bufio.NewWriterSize(&writeback{f: f, start: start}, 1<<20)
			if err := feed(bw); err != nil {
				return 0, fmt.Errorf("writing the output: %w", err)
			}
			if err := bw.Flush(); err != nil {
				return 0, fmt.Errorf("writing the output: %w", err)
			}
			store, err := finish()
			if err != nil {
				return 0, err
			}
			off, _ := lay.StoreOffset()
			if _, err := f.WriteAt(lay.Frame(store), start+off); err != nil {
				return 0, fmt.Errorf("writing the manifest store: %w", err)
			}
			return lay.Size(), nil
		}
	}
	if err := feed(nil); err != nil {
		return 0, fmt.Errorf("hashing the input: %w", err)
	}
	store, err := finish()
	if err != nil {
		return 0, err
	}
	n, err := lay.WriteTo(w, r, lay.Frame(store))
	if err != nil {
		return n, fmt.Errorf("writing the output: %w", err)
	}
	return n, nil
}

// writeback writes to a file and starts the kernel's writeback of every 64 MiB written.
type writeback struct {
	f           *os.File
	start, done int64 // where the output began; bytes written
	flushedUpTo int64
}

func (w *writeback) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.done += int64(n)
	if w.done-w.flushedUpTo >= 64<<20 {
		startWriteback(w.f, w.start+w.flushedUpTo, w.done-w.flushedUpTo)
		w.flushedUpTo = w.done
	}
	return n, err
}

// parallelTee writes each chunk to out and to h at the same time: h in a goroutine of its own,
// out in the caller's. Write returns once both have the chunk, so the caller may reuse it.
type parallelTee struct {
	out  io.Writer
	req  chan []byte
	done chan error
}

func newParallelTee(out, h io.Writer) *parallelTee {
	t := &parallelTee{out: out, req: make(chan []byte), done: make(chan error)}
	go func() {
		for p := range t.req {
			_, err := h.Write(p)
			t.done <- err
		}
	}()
	return t
}

func (t *parallelTee) Write(p []byte) (int, error) {
	t.req <- p
	n, err := t.out.Write(p)
	if herr := <-t.done; err == nil && herr != nil {
		return n, herr
	}
	return n, err
}

func (t *parallelTee) close() { close(t.req) }

// LabelFile labels the file in and writes the result to out atomically (a temporary file in the
// same folder, renamed into place). out may equal in only when inPlace is true.
func (l *Labeler) LabelFile(ctx context.Context, in, out string, inPlace bool, o Options) (*Result, error) {
	if !inPlace && sameFile(in, out) {
		return nil, fmt.Errorf("label: the output %s is the input; the input is never modified unless you ask for it in place", out)
	}
	f, err := os.Open(in)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("label: %s is not a regular file", in)
	}
	if o.Title == "" {
		o.Title = filepath.Base(in)
	}
	var res *Result
	err = writeFileAtomic(out, 0o644, func(w *os.File) error {
		var err error
		res, err = l.label(ctx, f, st.Size(), nil, w, o) // our own temporary file: one pass
		return err
	})
	return res, err
}

func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// ctxReaderAt stops reads once the context is done.
type ctxReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (c ctxReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.ReadAt(p, off)
}
