package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/sign"
	"github.com/ailabel/ailabel/softbinding/iscc"
	"github.com/ailabel/ailabel/watermark"
)

// resultWriter prints one result per file.
type resultWriter interface {
	write(r *verifyResult) error
	flush() error
	human() bool // people read it (notes on stderr are welcome)
}

// Reason families of invalid labels, for the summary.
const (
	famContent     = "content changed after signing"
	famSignature   = "bad signature"
	famCertificate = "certificate not acceptable (invalid, expired or untrusted)"
	famManifest    = "manifest altered or damaged"
	famOther       = "other"
)

// families lists the reason families in the order the summary shows them.
var families = []string{famContent, famSignature, famManifest, famCertificate, famOther}

// family sorts an invalid report's failures into one reason family, the most telling first. An
// untrusted signer counts only when nothing else is wrong (c2pa-rs lists it among the failures
// of every file signed by a certificate outside the trust list).
func family(codes []string) string {
	has := func(pred func(string) bool) bool {
		for _, c := range codes {
			if pred(c) {
				return true
			}
		}
		return false
	}
	switch {
	case has(func(c string) bool { return strings.HasSuffix(c, "Hash.mismatch") }):
		return famContent
	case has(func(c string) bool { return strings.HasPrefix(c, "claimSignature.") }):
		return famSignature
	case has(func(c string) bool {
		return strings.HasPrefix(c, "assertion.") || strings.HasPrefix(c, "claim.") || strings.HasPrefix(c, "manifest.") || strings.HasPrefix(c, "ingredient.")
	}):
		return famManifest
	case has(func(c string) bool { return strings.HasPrefix(c, "signingCredential.") }):
		return famCertificate
	}
	return famOther
}

// summary counts the verdicts.
type summary struct {
	valid, invalid, notLabeled, unreadable int
	damaged                                int // unreadable because the content is malformed
	untrusted                              int // valid, but the signer is not on the trust list
	iptcOnly                               int // not labeled, but the XMP carries an IPTC source type
	families                               map[string]int
	walkErrs, symlinks, skipped            int
}

func (s *summary) total() int { return s.valid + s.invalid + s.notLabeled + s.unreadable }

func (s *summary) add(r *verifyResult) {
	if r.err != nil {
		s.unreadable++
		if isDamaged(r.err) {
			s.damaged++
		}
		return
	}
	switch r.report.Verdict {
	case label.Valid:
		s.valid++
		if r.report.Signer != nil && !r.report.Signer.Trusted {
			s.untrusted++
		}
	case label.Invalid:
		s.invalid++
		if s.families == nil {
			s.families = map[string]int{}
		}
		s.families[family(r.report.Failures())]++
	default:
		s.notLabeled++
		if r.report.DigitalSourceType != "" {
			s.iptcOnly++
		}
	}
}

func isDamaged(err error) bool {
	return errors.Is(err, formats.ErrMalformed) || errors.Is(err, formats.ErrTooLarge)
}

// String is the summary in plain words, ending with a newline.
func (s *summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s: %d labeled and valid", s.total(), plural(s.total(), "file", "files"), s.valid)
	if s.valid > 0 && s.untrusted > 0 {
		fmt.Fprintf(&b, " (%d by a signer not on your trust list)", s.untrusted)
	}
	fmt.Fprintf(&b, ", %d labeled but invalid", s.invalid)
	if len(s.families) > 0 {
		var fam []string
		for _, f := range families {
			if n := s.families[f]; n > 0 {
				fam = append(fam, fmt.Sprintf("%d %s", n, f))
			}
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(fam, ", "))
	}
	fmt.Fprintf(&b, ", %d not labeled", s.notLabeled)
	if s.iptcOnly > 0 {
		fmt.Fprintf(&b, " (%d with only an IPTC tag)", s.iptcOnly)
	}
	fmt.Fprintf(&b, ", %d unreadable", s.unreadable)
	if s.damaged > 0 {
		fmt.Fprintf(&b, " (%d damaged)", s.damaged)
	}
	b.WriteString("\n")
	if s.skipped > 0 || s.symlinks > 0 {
		b.WriteString("skipped:")
		sep := " "
		if s.skipped > 0 {
			fmt.Fprintf(&b, " %d %s not media or text", s.skipped, plural(s.skipped, "file", "files"))
			sep = ", "
		}
		if s.symlinks > 0 {
			fmt.Fprintf(&b, "%s%d symbolic %s (not followed)", sep, s.symlinks, plural(s.symlinks, "link", "links"))
		}
		b.WriteString("\n")
	}
	if s.walkErrs > 0 {
		fmt.Fprintf(&b, "%d %s could not be read (see above)\n", s.walkErrs, plural(s.walkErrs, "path", "paths"))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// exitCode is the CLI contract: 1 when anything is invalid or damaged, 2 on I/O errors or when
// nothing was checked, 3 when something is not labeled, 0 when everything is valid.
func (s *summary) exitCode() int {
	switch {
	case s.invalid > 0 || s.damaged > 0:
		return exitInvalid
	case s.unreadable > 0 || s.walkErrs > 0 || s.total() == 0:
		return exitUsage
	case s.notLabeled > 0:
		return exitNotLabeled
	}
	return exitOK
}

// errorText is an unreadable file's reason in plain words.
func errorText(err error) string {
	switch {
	case errors.Is(err, formats.ErrUnsupported):
		return "unsupported format: not an image, video, audio, document or text ailabel reads"
	case isDamaged(err):
		return "damaged file: " + err.Error()
	}
	return err.Error()
}

// mediaNoun names what a content hash covers in a format.
func mediaNoun(format string) string {
	switch format {
	case "jpeg", "png", "webp", "gif", "tiff", "heic", "avif", "jxl", "svg":
		return "pixels"
	case "mp4", "mov", "avi":
		return "video"
	case "m4a", "mp3", "flac", "wav":
		return "audio"
	case "pdf":
		return "document"
	case "text", "markdown", "html":
		return "text"
	}
	return "content"
}

// reasons are an invalid report's failures in a moderator's words.
func reasons(r *label.Report) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range r.Status.Failure {
		if f.Code == sign.CodeCredentialUntrusted && len(r.Status.Failure) > 1 {
			continue // said only when it is the one thing wrong
		}
		var s string
		switch f.Code {
		case manifest.CodeDataHashMismatch, manifest.CodeBMFFHashMismatch:
			s = mediaNoun(r.Format) + " changed after signing"
		case manifest.CodeHashedURIMismatch:
			s = "the manifest was edited after signing (an assertion does not match its hash)"
		case manifest.CodeAssertionMissing:
			s = "the manifest was edited after signing (an assertion is missing)"
		case sign.CodeSignatureMismatch:
			s = "the signature does not match the manifest"
		case sign.CodeSignatureMissing:
			s = "the manifest is not signed"
		case sign.CodeCredentialExpired:
			s = "the signing certificate had expired or was not yet valid at signing time" + certName(r)
			if ts := r.TimeStamp; ts != nil && !ts.Trusted {
				s += "; it was time-stamped at " + ts.Time.UTC().Format(time.RFC3339) + " by " + tsaName(ts) + ", so the certificate was judged now"
			}
		case sign.CodeCredentialInvalid:
			s = "the signing certificate is not acceptable" + certName(r)
			if f.Explanation != "" {
				s += ": " + f.Explanation
			}
		case sign.CodeCredentialUntrusted:
			s = "signed by an untrusted certificate" + certName(r)
		default:
			s = f.Explanation
			if s == "" {
				s = f.Code
			}
		}
		s += " (" + f.Code + ")"
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		out = r.Reasons
	}
	return out
}

// tsaName names the authority of a time-stamp and says whether it is trusted.
func tsaName(ts *label.TimeStampInfo) string {
	who := ts.TSACommonName
	if who == "" {
		who = ts.TSA
	}
	if ts.Trusted {
		return who + " (trusted time-stamp authority)"
	}
	return who + " (time-stamp authority not on your trust list)"
}

func certName(r *label.Report) string {
	if r.Signer == nil || r.Signer.Subject == "" {
		return ""
	}
	return ": " + r.Signer.Subject
}

// verdictWord and line are one result in plain words.
func verdictWord(r *verifyResult) string {
	if r.err != nil {
		return "UNREADABLE"
	}
	switch r.report.Verdict {
	case label.Valid:
		return "VALID"
	case label.Invalid:
		return "INVALID"
	}
	return "NOT LABELED"
}

func lineText(r *verifyResult) string {
	if r.err != nil {
		return errorText(r.err)
	}
	rep := r.report
	switch rep.Verdict {
	case label.Valid:
		s := rep.Summary
		if rep.Signer != nil && !rep.Signer.Trusted && !rep.Signer.Development {
			s = strings.Replace(s, " (signer not on your trust list)", " (untrusted certificate: "+rep.Signer.Subject+")", 1)
		}
		s += softBindingsText(rep.SoftBindings)
		if t := strings.TrimPrefix(s, "labeled and valid: "); t != s {
			return t // the verdict word already says it
		}
		return strings.TrimPrefix(s, "labeled and valid, ")
	case label.Invalid:
		return strings.Join(reasons(rep), "; ")
	}
	return strings.TrimPrefix(rep.Summary, "not labeled: ")
}

// textWriter prints "PATH: VERDICT reason" lines, coloured on a terminal.
type textWriter struct {
	w     io.Writer
	color bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[1;31m"
	ansiGreen  = "\x1b[1;32m"
	ansiYellow = "\x1b[1;33m"
	ansiPurple = "\x1b[1;35m"
)

func (t *textWriter) write(r *verifyResult) error {
	word := verdictWord(r)
	if t.color {
		c := ansiYellow
		switch word {
		case "VALID":
			c = ansiGreen
		case "INVALID":
			c = ansiRed
		case "UNREADABLE":
			c = ansiPurple
		}
		word = c + word + ansiReset
	}
	_, err := fmt.Fprintf(t.w, "%s: %s %s\n", sanitize(r.path), word, sanitize(lineText(r)))
	return err
}

func (t *textWriter) flush() error { return nil }
func (t *textWriter) human() bool  { return true }

// sanitize replaces control characters, which file names and manifests can carry, so that they
// cannot move the cursor or recolour a moderator's terminal.
func sanitize(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// jsonWriter prints one JSON object per file.
type jsonWriter struct{ enc *json.Encoder }

func newJSONWriter(w io.Writer) *jsonWriter { return &jsonWriter{enc: json.NewEncoder(w)} }

func (j *jsonWriter) write(r *verifyResult) error {
	if r.err != nil {
		return j.enc.Encode(map[string]any{"file": r.path, "verdict": "error", "error": errorText(r.err)})
	}
	return j.enc.Encode(r.report)
}

func (j *jsonWriter) flush() error { return nil }
func (j *jsonWriter) human() bool  { return false }

// colorOK reports whether w is a terminal that should get colour: NO_COLOR unset and TERM not dumb.
func colorOK(e *env, w io.Writer) bool {
	if e.getenv("NO_COLOR") != "" || e.getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// isTerminal reports whether w is a character device (a terminal), without a terminal library.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// softBindingsText lists a manifest's soft bindings, and whether each matched the content when
// they were compared (verify --check-soft-bindings).
func softBindingsText(sbs []label.SoftBinding) string {
	if len(sbs) == 0 {
		return ""
	}
	var parts []string
	for _, sb := range sbs {
		name := sb.Alg
		switch sb.Alg {
		case watermark.Alg:
			name = "watermark"
		case iscc.Alg:
			name = "fingerprint"
		case label.MediaAlg:
			name = "media digest"
		}
		p := name + " " + sb.Value
		if len(sb.Value) > 24 {
			p = name + " " + sb.Value[:24] + "…"
		}
		switch {
		case sb.Matches != nil && *sb.Matches:
			p += " (matches)"
		case sb.Matches != nil:
			p += " (DOES NOT MATCH: " + sb.Note + ")"
		case sb.Note != "":
			p += " (" + sb.Note + ")"
		}
		parts = append(parts, p)
	}
	return "; soft bindings: " + strings.Join(parts, ", ")
}
