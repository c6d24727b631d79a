package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/ailabel/ailabel/label"
	"github.com/ailabel/ailabel/policy"
	"github.com/ailabel/ailabel/warning"
)

// policyFlags are the flags that choose the rules a label follows and the warning it shows.
type policyFlags struct {
	policy, langs, messages, style, placement, provider string
	noWarning, noTraining, fingerprint, noWatermark     bool
}

func (p *policyFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&p.policy, "policy", or(e.getenv("AILABEL_POLICY"), policy.Default),
		"rules to follow: kz, eu, cn, or a policy JSON file (see `ailabel policies`) (env AILABEL_POLICY)")
	fs.StringVar(&p.langs, "lang", e.getenv("AILABEL_LANG"), "warning languages in order, e.g. kk,ru,en (default: the policy's) (env AILABEL_LANG)")
	fs.StringVar(&p.messages, "messages", e.getenv("AILABEL_MESSAGES"), "JSON file of warning texts that add to or override the catalogue (env AILABEL_MESSAGES)")
	fs.StringVar(&p.style, "badge", "", "visible warning on images: badge, caption, eu-icon or none (default: the policy's)")
	fs.StringVar(&p.placement, "placement", "", "where on the image: top-left, top-right, bottom-left, bottom-right, top, bottom")
	fs.StringVar(&p.provider, "provider", e.getenv("AILABEL_PROVIDER"), "content producer code for China's AIGC label (env AILABEL_PROVIDER)")
	fs.BoolVar(&p.noWarning, "no-warning", false, "no human-readable warning (badge, captions, disclaimer); the machine-readable label stays")
	fs.BoolVar(&p.fingerprint, "fingerprint", false, "images: add the ISCC Image-Code as a signed soft binding (written anyway with the watermark, and by the eu policy)")
	fs.BoolVar(&p.noWatermark, "no-watermark", false, "images: no invisible watermark (by default one carries an identifier bound to the manifest, see docs/watermark.md)")
	fs.BoolVar(&p.noTraining, "no-training", false, "reserve the content against AI training (cawg.training-mining notAllowed, plus:DataMining)")
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// apply sets the options the flags choose.
func (p *policyFlags) apply(o *label.Options) error {
	pol, err := loadPolicy(p.policy)
	if err != nil {
		return err
	}
	if p.style != "" {
		if _, err := warning.ParseStyle(p.style); err != nil && p.style != "none" {
			return fmt.Errorf("--badge: %w", err)
		}
		pol.Image.Style = p.style
	}
	if p.placement != "" {
		if _, err := warning.ParsePlacement(p.placement); err != nil {
			return fmt.Errorf("--placement: %w", err)
		}
		pol.Image.Placement = p.placement
	}
	o.Policy = pol
	if p.langs != "" {
		for _, l := range strings.Split(p.langs, ",") {
			if l = strings.TrimSpace(l); l != "" {
				o.Languages = append(o.Languages, l)
			}
		}
	}
	if p.messages != "" {
		f, err := os.Open(p.messages)
		if err != nil {
			return fmt.Errorf("--messages: %w", err)
		}
		defer f.Close()
		msgs, err := warning.Parse(f)
		if err != nil {
			return fmt.Errorf("--messages %s: %w", p.messages, err)
		}
		o.Messages = warning.Default().With(msgs...)
	}
	o.Provider, o.NoNotice, o.NoTraining, o.Fingerprint, o.NoWatermark = p.provider, p.noWarning, p.noTraining, p.fingerprint, p.noWatermark
	return nil
}

// loadPolicy returns a built-in policy by name, or the one policy in a JSON file.
func loadPolicy(v string) (*policy.Policy, error) {
	if !strings.ContainsAny(v, "./\\") {
		return policy.ByName(v)
	}
	f, err := os.Open(v)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	defer f.Close()
	ps, err := policy.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("--policy %s: %w", v, err)
	}
	if len(ps) != 1 {
		return nil, fmt.Errorf("--policy %s: the file holds %d policies; give it one", v, len(ps))
	}
	return ps[0], nil
}

// cmdPolicies prints each policy as a table: requirement, source, what ailabel does.
func cmdPolicies(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "policies", "[NAME|FILE...] [flags]")
	asJSON := fs.Bool("json", false, "print the policies as JSON (the form --policy FILE reads)")
	pos, err := parseInterleaved(fs, args)
	if isHelp(err) {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	ps := policy.Builtin()
	if len(pos) > 0 {
		ps = nil
		for _, name := range pos {
			p, err := loadPolicy(name)
			if err != nil {
				return errorf(e, "%v", err)
			}
			ps = append(ps, p)
		}
	}
	if *asJSON {
		return writeJSON(e, ps)
	}
	for i, p := range ps {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		printPolicy(e.stdout, p)
	}
	return exitOK
}

func printPolicy(w io.Writer, p *policy.Policy) {
	fmt.Fprintf(w, "%s — %s (in force %s)\n", p.Name, p.Title, p.InForce)
	fmt.Fprintf(w, "  warning languages: %s; images: %s", strings.Join(p.Languages, ", "), p.Image.Style)
	if p.Image.Placement != "" {
		fmt.Fprintf(w, " at %s", p.Image.Placement)
	}
	if p.Image.MinTextHeight > 0 {
		fmt.Fprintf(w, ", text ≥ %g%% of the shortest side", p.Image.MinTextHeight*100)
	}
	switch {
	case !p.Video.Captions:
		fmt.Fprint(w, "; video: no captions")
	case p.Video.Seconds == 0:
		fmt.Fprint(w, "; video: captions throughout")
	default:
		fmt.Fprintf(w, "; video: captions for the first %g s", p.Video.Seconds)
	}
	fmt.Fprintf(w, "; text: disclaimer at %s\n", p.Text.Placement)
	marks := []string{"C2PA"}
	if p.Machine.IPTC {
		marks = append(marks, "IPTC XMP")
	}
	if p.Machine.EXIF {
		marks = append(marks, "EXIF")
	}
	if p.Machine.AIGC {
		marks = append(marks, "AIGC (TC260)")
	}
	fmt.Fprintf(w, "  machine-readable: %s\n\n", strings.Join(marks, ", "))
	rows := [][3]string{{"REQUIREMENT", "SOURCE", "WHAT AILABEL DOES"}}
	for _, r := range p.Requirements {
		rows = append(rows, [3]string{r.Requirement, r.Source, r.Does})
	}
	printTable(w, rows, [3]int{36, 28, 56})
}

// printTable prints rows in three columns of the given widths, each cell word-wrapped.
func printTable(w io.Writer, rows [][3]string, widths [3]int) {
	for _, row := range rows {
		var cells [3][]string
		lines := 0
		for i, c := range row {
			cells[i] = wrap(c, widths[i])
			lines = max(lines, len(cells[i]))
		}
		for l := range lines {
			var b strings.Builder
			b.WriteString("  ")
			for i := range cells {
				var c string
				if l < len(cells[i]) {
					c = cells[i][l]
				}
				if i < 2 {
					c += strings.Repeat(" ", max(0, widths[i]-utf8.RuneCountInString(c))+2)
				}
				b.WriteString(c)
			}
			fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		}
	}
}

// wrap breaks s into lines of at most width runes, at spaces where it can.
func wrap(s string, width int) []string {
	var lines []string
	var cur []rune
	for _, word := range strings.Fields(s) {
		wr := []rune(word)
		if len(cur) > 0 && len(cur)+1+len(wr) > width {
			lines = append(lines, string(cur))
			cur = nil
		}
		for len(wr) > width {
			lines = append(lines, string(wr[:width]))
			wr = wr[width:]
		}
		if len(cur) > 0 {
			cur = append(cur, ' ')
		}
		cur = append(cur, wr...)
	}
	if len(cur) > 0 || len(lines) == 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// writeJSON prints v as indented JSON.
func writeJSON(e *env, v any) int {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return errorf(e, "%v", err)
	}
	return exitOK
}

// cmdDisclosure prints what a product shows to say it uses AI: the AI-Disclosure header value
// and the notice (Kazakhstan, Law on AI Art. 21 p.1) in the warning languages.
func cmdDisclosure(_ context.Context, e *env, args []string) int {
	fs := newFlagSet(e, "disclosure", "[flags]")
	model := fs.String("model", e.getenv("AILABEL_MODEL"), "name of the AI model (env AILABEL_MODEL)")
	mode := fs.String("mode", label.ModeAIOriginated, "ai-originated, ai-modified, machine-generated or none")
	var pf policyFlags
	pf.register(fs, e)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseInterleaved(fs, args); err != nil {
		if isHelp(err) {
			return exitOK
		}
		return exitUsage
	}
	switch *mode {
	case label.ModeAIOriginated, label.ModeAIModified, label.ModeMachineGenerated, label.ModeNone:
	default:
		return errorf(e, "--mode %q: one of ai-originated, ai-modified, machine-generated, none", *mode)
	}
	var o label.Options
	if err := pf.apply(&o); err != nil {
		return errorf(e, "%v", err)
	}
	langs := o.Languages
	if len(langs) == 0 {
		langs = o.Policy.Languages
	}
	notice, err := label.DisclosureNotice(o.Messages, langs...)
	if err != nil {
		return errorf(e, "%v", err)
	}
	header := label.Disclosure{Mode: *mode, Model: *model, Provider: pf.provider}.String()
	if *asJSON {
		return writeJSON(e, map[string]any{"header": label.DisclosureHeader + ": " + header, "notice": notice})
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", label.DisclosureHeader, header)
	for _, n := range notice {
		fmt.Fprintf(e.stdout, "%s: %s\n", n.Lang, n.Text)
	}
	return exitOK
}
