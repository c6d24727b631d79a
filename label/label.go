// Package label puts a signed, machine-readable "AI-generated" label and a warning people see
// into content, and checks such labels.
//
// A Labeler is built once with a signer (package sign) and default Options, and used for any
// number of files, from any number of goroutines; labelers with different keys can live side by
// side. Label reads an asset through an io.ReaderAt and sniffs its container from the bytes. It
// follows a policy (package policy: kz, the default, eu or cn): it draws the visible warning onto
// images (badge, caption or EU icon from package warning's catalogue, in the policy's languages),
// adds caption tracks to video and a disclaimer to text, writes XMP (IPTC DigitalSourceType) and
// EXIF fields (and China's AIGC label under cn), and embeds a C2PA 2.x manifest store whose
// c2pa.actions.v2 assertion says an AI model created the content, with a hard binding over every
// other byte; the output goes to an io.Writer in one stream. LabelFile does the same file to
// file, atomically; NewTextStream and LabelChatStream label text as it is generated.
//
// Verify reads any C2PA manifest (ailabel's or anyone's), checks its signature, certificate and
// hashes, and returns a Report in plain words and C2PA status codes; Report.Err turns a verdict
// into an error that errors.Is can test (ErrNotLabeled, ErrInvalid).
//
// Every container ailabel ships is registered when this package is imported; others can be
// added with formats.Register.
package label

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ailabel/ailabel/formats"
	_ "github.com/ailabel/ailabel/formats/all" // the built-in containers
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/manifest/bmffhash"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/softbinding/iscc"
	"github.com/ailabel/ailabel/warning"
	"github.com/ailabel/ailabel/watermark"
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
	// ErrNotLabeled: Report.Err of content that carries no C2PA manifest.
	ErrNotLabeled = errors.New("label: not labeled")
	// ErrInvalid: Report.Err of content whose label is invalid (tampered, bad signature, …).
	ErrInvalid = errors.New("label: invalid label")
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
	// Policy is the jurisdiction's rules the label follows: policy.ByName("kz"), "eu", "cn", or a
	// caller's own. nil means the labeler's default, else kz (policy.Default).
	Policy *policy.Policy
	// Languages are the human-readable warning's languages, in display order (BCP 47 tags of
	// the message catalogue); empty means the policy's.
	Languages []string
	// Messages is the catalogue of warning texts; nil means warning.Default().
	Messages *warning.Catalogue
	// Notice replaces the disclaimer texts of text, Markdown and HTML and the caption texts of
	// video; nil means the policy's, from the catalogue.
	Notice *formats.Notice
	// NoNotice leaves out every human-readable warning: image badge, video captions, text
	// disclaimer. The machine-readable label is still written.
	NoNotice bool
	// Provider identifies the content producer in China's AIGC label (the 27-character code of
	// TC260-PG-20252A, or a name); used when the policy writes that label.
	Provider string
	// NoTraining reserves the content against AI training (Kazakhstan's Law on AI, Art. 23): a
	// cawg.training-mining assertion with AI training notAllowed, and XMP plus:DataMining.
	NoTraining bool
	// Fingerprint adds the picture's ISCC Image-Code (a perceptual fingerprint that survives
	// resizing and re-encoding) as a c2pa.soft-binding assertion. It is written anyway with the
	// watermark (a watermark alone could be lifted onto another picture; its fingerprint shows
	// whether it belongs), and when the policy asks for it (eu).
	Fingerprint bool
	// NoWatermark leaves out the invisible watermark. By default a picture gets one (see
	// package watermark): a random 64-bit identifier, signed into the manifest as a
	// c2pa.soft-binding assertion with a c2pa.watermarked.bound action, that survives
	// stripping, re-encoding, resizing and cropping, so that a manifest repository can find
	// the manifest again. It changes every pixel's luma by a little (PSNR above 40 dB).
	NoWatermark bool

	// InPlace lets LabelFile replace its input (out equal to in). Without it, LabelFile refuses
	// to touch the input.
	InPlace bool
	// NoSync makes LabelFile skip the fsync before it renames the finished output into place.
	// The rename stays atomic for readers, but after a power failure the output may be empty or
	// missing. Faster on large files; for pipelines that consume the output at once.
	NoSync bool
}

// Labeler labels content with one signer. It holds no global state: any number of labelers
// with different keys can live in one process.
type Labeler struct {
	signer   *sign.Signer
	defaults Options
	now      func() time.Time
	resolved resolveCache // what resolve makes of the defaults
	overlays overlayCache // visible warnings last drawn
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
	// Fingerprint is the ISCC Image-Code written as a soft binding, in text form (its value as
	// signed, an ISCC-SEQ of the Image-Code and the content's Instance-Code, is in Bindings).
	Fingerprint string
	// Bindings are the soft bindings signed into the manifest (c2pa.soft-binding assertions),
	// each an algorithm and its value: what a manifest repository keys the manifest by so that
	// a copy that lost it can be traced back.
	Bindings []Binding
	// Watermark is the invisible watermark's identifier (hex), and Marked how it was added;
	// both empty when the picture got none (see Warnings for why).
	Watermark string
	Marked    string
	// Store is the signed C2PA manifest store embedded in the output, e.g. for a repository
	// that finds it again by the fingerprint once the content has lost it.
	Store []byte
	// Visible lists the human-readable warnings drawn into the content (image badges).
	Visible []string
	// Drawn is the rectangle of pixels the visible warning may have changed (for JPEG, whole
	// 8x8 blocks); every pixel outside it decodes as in the input. Empty when none was drawn.
	Drawn    image.Rectangle
	Warnings []string
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
	if o.Policy == nil {
		o.Policy = l.defaults.Policy
	}
	if len(o.Languages) == 0 {
		o.Languages = l.defaults.Languages
	}
	if o.Messages == nil {
		o.Messages = l.defaults.Messages
	}
	if o.Provider == "" {
		o.Provider = l.defaults.Provider
	}
	o.NoNotice = o.NoNotice || l.defaults.NoNotice
	o.NoTraining = o.NoTraining || l.defaults.NoTraining
	o.Fingerprint = o.Fingerprint || l.defaults.Fingerprint
	if o.NoNotice {
		o.Notice = nil
	}
	return o, dst, nil
}

// Label reads the asset from r (size bytes), and writes it labeled to w. The input is read
// twice (once to hash the output, once to write it) and never held in memory whole.
func (l *Labeler) Label(ctx context.Context, r io.ReaderAt, size int64, w io.Writer, o Options) (*Result, error) {
	return l.label(ctx, r, size, sink{w: w}, o)
}

// sink is an output: a writer, or a fresh file of ours (positioned at 0, not in append mode)
// that label writes in one pass; writeback starts the kernel's writeback as it goes.
type sink struct {
	w         io.Writer
	file      *os.File
	writeback bool
}

// label writes the input, labeled, to out.
func (l *Labeler) label(ctx context.Context, r io.ReaderAt, size int64, out sink, o Options) (*Result, error) {
	o, dst, err := l.merge(o)
	if err != nil {
		return nil, err
	}
	rv, err := l.resolve(o, dst)
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

	// The visible warning is drawn first, so that the signed pixels are the badged ones; the
	// invisible watermark goes over the badged picture. Where the container can, both are made
	// in one pass, which also fingerprints the pixels written.
	var wmID *watermark.ID
	var edited *pictureEdit
	isPicture := strings.HasPrefix(f.MIME, "image/")
	if pe, ok := c.(formats.PictureEditor); ok && isPicture && (rv.badge != nil || !o.NoWatermark) {
		// A watermarked picture's label carries its fingerprint too (see below).
		ed, err := editPicture(ctx, pe, size, rv.badge, &l.overlays, !o.NoWatermark, !o.NoWatermark || o.Fingerprint || rv.pol.Machine.Fingerprint)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("label: editing the picture: %w", ctx.Err())
		case errors.Is(err, ErrMalformed):
			return nil, damaged(err)
		case err == nil:
			// Otherwise the separate steps below say what went wrong, or manage it.
			edited = ed
		}
	}
	if edited != nil {
		if r, size, c, wc, err = reopen(edited.out, "edited"); err != nil {
			return nil, err
		}
		if b := edited.badge; b != nil {
			if b.note != "" {
				res.Warnings = append(res.Warnings, b.note)
			}
			if info := edited.info.Overlay; !info.Changed.Empty() {
				res.Visible = append(res.Visible, drawnNote(b.used, rv.badge.Style, info))
				res.Drawn = info.Changed
			}
		}
		if edited.markNote != "" {
			res.Warnings = append(res.Warnings, edited.markNote)
		}
		if edited.marked {
			id := edited.id
			wmID, res.Watermark = &id, id.String()
			res.Marked = edited.info.Luma.Method
		}
	}
	if edited == nil && rv.badge != nil && isPicture {
		painted, info, used, note, err := paint(c, rv.badge, &l.overlays)
		if note != "" {
			res.Warnings = append(res.Warnings, note)
		}
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("label: drawing the visible warning: %w", ctx.Err())
		case errors.Is(err, ErrMalformed):
			return nil, damaged(err)
		case err != nil:
			// The machine-readable label is still written; the caller learns why there is no
			// visible one (an image too large to redraw, a container that cannot be drawn on).
			res.Warnings = append(res.Warnings, "no visible warning drawn: "+err.Error())
		default:
			if r, size, c, wc, err = reopen(painted, "badged"); err != nil {
				return nil, err
			}
			res.Visible = append(res.Visible, drawnNote(used, rv.badge.Style, info))
			res.Drawn = info.Changed
		}
	}
	if edited == nil && !o.NoWatermark && isPicture {
		marked, id, info, note, err := addWatermark(ctx, c)
		if err != nil {
			return nil, damaged(err)
		}
		if note != "" {
			res.Warnings = append(res.Warnings, note)
		}
		if marked != nil {
			if r, size, c, wc, err = reopen(marked, "watermarked"); err != nil {
				return nil, err
			}
			wmID, res.Watermark = &id, id.String()
			res.Marked = info.Method
		}
	}

	instanceID := "xmp.iid:" + uuid.NewString()
	var aigc string
	if rv.pol.Machine.AIGC {
		aigc = aigcJSON(o.Provider, strings.TrimPrefix(instanceID, "xmp.iid:"))
		if o.Provider == "" {
			res.Warnings = append(res.Warnings, "China's AIGC label names no content producer: set a provider code")
		}
	}
	xmpPacket, exifData, warn := l.metadata(c, o, rv, dst, instanceID, aigc)
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
	if len(res.Visible) > 0 {
		actions = append(actions, manifest.Action{Action: manifest.ActionEdited, When: when,
			SoftwareAgent: &manifest.SoftwareAgent{Name: "ailabel", Version: Version}, DigitalSourceType: dst,
			Description: "a visible warning that the content is AI-generated was drawn onto it"})
	}
	spec := manifest.Spec{
		Title:      o.Title,
		InstanceID: instanceID,
		Generator:  manifest.ClaimGeneratorInfo{Name: "ailabel", Version: Version},
		Actions:    actions,
		Parent:     parent,
	}
	if o.NoTraining {
		spec.Assertions = append(spec.Assertions, trainingReservation())
	}
	if wmID != nil {
		spec.Assertions = append(spec.Assertions, watermarkAssertion(*wmID))
		res.Bindings = append(res.Bindings, Binding{Alg: watermark.Alg, Value: wmID.Value()})
		actions = append(actions, manifest.Action{Action: ActionWatermarkedBound, When: when,
			SoftwareAgent: &manifest.SoftwareAgent{Name: "ailabel", Version: Version},
			Description:   "an invisible watermark (" + watermark.Alg + ") carrying an identifier bound to this manifest was added"})
		spec.Actions = actions
	}
	if (wmID != nil || o.Fingerprint || rv.pol.Machine.Fingerprint) && isPicture {
		var code iscc.Code
		if edited != nil && edited.fingerprinted {
			code, err = edited.code, edited.codeErr // made from the pixels written
		} else {
			code, err = fingerprint(r, size) // the pixels being signed, badge included
		}
		if err == nil {
			var a manifest.Assertion
			var seq []byte
			if a, seq, err = softBindingAssertion(code, r, size); err == nil {
				spec.Assertions = append(spec.Assertions, a)
				res.Fingerprint = code.String()
				res.Bindings = append(res.Bindings, Binding{Alg: iscc.Alg, Value: seq})
			}
		}
		if err != nil {
			res.Warnings = append(res.Warnings, "no fingerprint: "+err.Error())
		}
	}
	if (o.Fingerprint || rv.pol.Machine.Fingerprint) && f.Binding == formats.BMFFHash && !strings.HasPrefix(f.MIME, "image/") {
		// Video and audio: the digest of the samples, which survives stripping and remuxing.
		if md, ok := c.(formats.MediaDigester); ok {
			if d, err := md.MediaDigest(); err == nil {
				spec.Assertions = append(spec.Assertions, mediaAssertion(d))
				res.Bindings = append(res.Bindings, Binding{Alg: MediaAlg, Value: d})
			} else {
				res.Warnings = append(res.Warnings, "no media digest: "+err.Error())
			}
		}
	}
	numberSoftBindings(spec.Assertions)
	if f.Binding == formats.BMFFHash {
		spec.Binding = manifest.BindBMFF
		spec.BMFFExclusions = bmffExclusions()
	}
	d, err := manifest.NewDraft(spec, l.signer)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	edit := formats.Edit{XMP: xmpPacket, EXIF: exifData, StoreLen: d.Len(), Notice: rv.notice}
	if f.Binding == formats.BMFFHash && strings.HasPrefix(f.MIME, "video/") {
		edit.Captions, edit.Media = rv.videoWarning(o, aigc)
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
	if len(edit.Captions) > 0 {
		var langs []string
		for _, c := range edit.Captions {
			langs = append(langs, c.Lang)
		}
		when := "throughout"
		if d := edit.Captions[0].Duration; d > 0 {
			when = fmt.Sprintf("for the opening %v", d)
		}
		res.Visible = append(res.Visible, fmt.Sprintf("caption tracks (%s), default and forced, %s", strings.Join(langs, ", "), when))
	}
	if rv.notice != nil && len(rv.notice.Texts) > 0 && strings.HasPrefix(f.MIME, "text/") {
		var langs []string
		for _, t := range rv.notice.Texts {
			langs = append(langs, t.Lang)
		}
		res.Visible = append(res.Visible, fmt.Sprintf("disclaimer at the %s (%s)", rv.notice.Placement, strings.Join(langs, ", ")))
	}

	n, store, err := writeLabeled(lay, d, f.Binding, r, out)
	if err != nil {
		return nil, fmt.Errorf("label: %w", err)
	}
	res.Manifest, res.InstanceID, res.Size, res.Store = d.Label(), d.InstanceID(), n, store
	return res, nil
}

// damaged is the error of a picture whose image data is cut off or corrupt (err wraps
// ErrMalformed). Such a picture is refused rather than labeled: the label would sign a broken
// file, and it would go out without its visible warning and watermark.
func damaged(err error) error {
	return fmt.Errorf("label: the picture cannot be decoded: %w", err)
}

// reopen opens the bytes a step of labeling wrote (the badged or watermarked image) as the
// container the next steps work on.
func reopen(b []byte, what string) (*memReader, int64, formats.Container, formats.Writable, error) {
	r := &memReader{bytes.NewReader(b), b}
	c, err := formats.Open(r, int64(len(b)))
	if err != nil {
		return nil, 0, nil, nil, fmt.Errorf("label: reopening the %s image: %w", what, err)
	}
	wc, ok := c.(formats.Writable)
	if !ok {
		return nil, 0, nil, nil, fmt.Errorf("label: the %s %s image cannot be labeled: %w", what, c.Format().Name, ErrUnsupported)
	}
	return r, int64(len(b)), c, wc, nil
}

// memReader is content held in memory (a picture ailabel edited): a ReaderAt whose bytes the
// hashing passes take in place, without copying them through a buffer.
type memReader struct {
	*bytes.Reader
	b []byte
}

// span returns the n bytes at off, or false when they are not all there.
func (m *memReader) span(off, n int64) ([]byte, bool) {
	if off < 0 || n < 0 || off > int64(len(m.b)) || n > int64(len(m.b))-off {
		return nil, false
	}
	return m.b[off : off+n], true
}

// writeLabeled hashes the layout's output (everything but the store slot for a data hash; the
// whole stream, slot included, for a BMFF hash), finishes and signs the manifest, and writes the
// output. Into a file of ours (LabelFile's temporary file) it takes one pass over the input: the
// output goes out with a zero-filled store while it is hashed, and the signed store is written
// into its slot at the end. Any other writer gets a hashing pass, then a writing pass.
func writeLabeled(lay *formats.Layout, d *manifest.Draft, b formats.Binding, r io.ReaderAt, out sink) (int64, []byte, error) {
	// The store's slot holds zeros while the output is hashed (a BMFF hash covers it; a data
	// hash excludes it) or written ahead of the signature; a data hash into a plain writer
	// never needs them.
	var placeholder []byte
	if b == formats.BMFFHash || out.file != nil {
		placeholder = lay.Frame(make([]byte, d.Len()))
	}
	var hw io.Writer
	var bh *bmffhash.Hasher
	dh := sha256.New()
	if b == formats.BMFFHash {
		var err error
		if bh, err = bmffhash.NewHasher(sha256.New(), bmffExclusions()); err != nil {
			return 0, nil, err
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
		if out != nil {
			both = io.MultiWriter(out, hw)
		}
		mem, _ := r.(*memReader)
		var buf []byte
		if mem == nil {
			buf = make([]byte, min(max(largest, 512), 1<<20)) // a small input's pieces fit whole
		}
		for _, p := range lay.Pieces {
			var err error
			switch p.Kind {
			case formats.Copy:
				if mem != nil {
					if b, ok := mem.span(p.Off, p.Len); ok {
						_, err = both.Write(b)
					} else {
						err = io.ErrUnexpectedEOF
					}
					break
				}
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

	if f := out.file; f != nil {
		if start, err := f.Seek(0, io.SeekCurrent); err == nil {
			var fw io.Writer = f
			if out.writeback {
				fw = &writeback{f: f, start: start}
			}
			var err error
			if lay.Size() >= 4<<20 { // a second core pays off only on larger outputs
				err = feedPipelined(lay, r, fw, hw, placeholder, b == formats.BMFFHash)
			} else {
				bw := bufio.NewWriterSize(fw, 1<<20)
				if err = feed(bw); err == nil {
					err = bw.Flush()
				}
			}
			if err != nil {
				return 0, nil, fmt.Errorf("writing the output: %w", err)
			}
			store, err := finish()
			if err != nil {
				return 0, nil, err
			}
			off, _ := lay.StoreOffset()
			if _, err := f.WriteAt(lay.Frame(store), start+off); err != nil {
				return 0, nil, fmt.Errorf("writing the manifest store: %w", err)
			}
			return lay.Size(), store, nil
		}
	}
	if err := feed(nil); err != nil {
		return 0, nil, fmt.Errorf("hashing the input: %w", err)
	}
	store, err := finish()
	if err != nil {
		return 0, nil, err
	}
	n, err := lay.WriteTo(out.w, r, store)
	if err != nil {
		return n, nil, fmt.Errorf("writing the output: %w", err)
	}
	return n, store, nil
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

// feedPipelined writes the layout's output to out and hashes it into h (the store slot too when
// hashStore), with reading and writing in the caller's goroutine and hashing in another, so
// that the two overlap: the hasher may lag behind by a few chunks of the ring. Chunks are small
// enough to stay in the processor's cache between being read, written and hashed (256 KiB
// labels a 2 GB file in 1.5 s where 1 MiB takes 2.5 s), and go to out without another copy.
func feedPipelined(lay *formats.Layout, r io.ReaderAt, out, h io.Writer, placeholder []byte, hashStore bool) (err error) {
	const chunk, ring = 256 << 10, 8
	small := bufio.NewWriterSize(out, 64<<10) // for the layout's literal pieces
	free := make(chan []byte, ring)
	for range ring {
		free <- make([]byte, chunk)
	}
	type item struct {
		p       []byte
		recycle bool
	}
	todo := make(chan item, ring)
	hashed := make(chan error, 1)
	go func() {
		var herr error
		for it := range todo {
			if herr == nil {
				_, herr = h.Write(it.p)
			}
			if it.recycle {
				free <- it.p[:cap(it.p)]
			}
		}
		hashed <- herr
	}()
	defer func() {
		close(todo)
		if herr := <-hashed; err == nil && herr != nil {
			err = fmt.Errorf("hashing the output: %w", herr)
		}
	}()
	for _, p := range lay.Pieces {
		switch p.Kind {
		case formats.Copy:
			for off, end := p.Off, p.Off+p.Len; off < end; {
				b := <-free
				k := min(int64(len(b)), end-off)
				n, err := r.ReadAt(b[:k], off)
				if int64(n) < k {
					free <- b
					if err == nil || err == io.EOF {
						err = io.ErrUnexpectedEOF
					}
					return err
				}
				todo <- item{b[:k], true}
				if err := small.Flush(); err != nil {
					return err
				}
				if _, err := out.Write(b[:k]); err != nil {
					return err
				}
				off += k
			}
		case formats.Literal:
			todo <- item{p: p.Data}
			if _, err := small.Write(p.Data); err != nil {
				return err
			}
		case formats.Store:
			if hashStore {
				todo <- item{p: placeholder}
			}
			if _, err := small.Write(placeholder); err != nil {
				return err
			}
		}
	}
	return small.Flush()
}

// LabelFile labels the file in and writes the result to out atomically: into a temporary file in
// the same folder, synced to disk (unless o.NoSync), then renamed into place. out may equal in
// only when o.InPlace is set. The input is read once, mapped into memory when it is large.
func (l *Labeler) LabelFile(ctx context.Context, in, out string, o Options) (*Result, error) {
	if !o.InPlace && sameFile(in, out) {
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
	err = writeFileAtomic(out, 0o644, !o.NoSync, func(w *os.File) error {
		var err error
		res, err = l.label(ctx, f, st.Size(), sink{file: w, writeback: !o.NoSync}, o) // our own temporary file: one pass
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
