package text

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/internal/testtool"
)

// hostilePage is a page whose CSS tries every way to hide, shrink, recolor or cover a
// disclaimer: !important rules on div/p/[role=note], a cascade layer, first-child transforms,
// transparent text, and a fixed full-width header above everything at the top of the viewport.
const hostilePage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Hostile page</title>
<style>
@layer base { div, p { display: none !important; } }
* { color: transparent !important; font-size: 1px !important; line-height: 0 !important; letter-spacing: -5px !important; }
div, p, [role=note] { display: none !important; visibility: hidden !important; opacity: 0 !important; }
body > :first-child, body > :last-child { position: absolute !important; left: -9999px !important; transform: scale(0) !important; }
body { margin: 0; padding-top: 0; }
p[lang], div [lang] { clip-path: inset(50%) !important; height: 0 !important; overflow: hidden !important; }
.overlay { position: fixed; top: 0; left: 0; width: 100%; height: 140px; background: rgb(255, 0, 0); z-index: 2147483646; display: block !important; }
main { display: block !important; }
</style>
</head>
<body>
<main>
<h1>Page title</h1>
<section>Generated article text, first paragraph.</section>
<section>Second paragraph with ӘҒҚҢӨҰҮҺІ letters.</section>
</main>
<span class="overlay"></span>
<footer>Footer text.</footer>
</body>
</html>
`

// probeScript measures each disclaimer element in the page and writes the result into the title:
// its box, computed style, and whether the point at its center (scrolled into view) hits it.
const probeScript = `<script>
(function () {
  var out = [];
  var els = document.querySelectorAll('[data-ai-disclosure]');
  for (var i = 0; i < els.length; i++) {
    var el = els[i];
    el.scrollIntoView({block: 'center'});
    var r = el.getBoundingClientRect();
    var cs = getComputedStyle(el);
    var p = el.querySelector('p');
    var pcs = getComputedStyle(p);
    var hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 20));
    out.push({w: r.width, h: r.height, top: r.top, display: cs.display, visibility: cs.visibility,
      opacity: cs.opacity, color: pcs.color, pdisplay: pcs.display, fontSize: pcs.fontSize,
      hit: !!hit && el.contains(hit), text: el.innerText, role: el.getAttribute('role'),
      langs: Array.prototype.map.call(el.querySelectorAll('p[lang]'), function (q) { return q.lang; }).join(',')});
  }
  window.scrollTo(0, 0);
  var clone = document.body.cloneNode(true);
  var rm = clone.querySelectorAll('[data-ai-disclosure], script');
  for (var j = 0; j < rm.length; j++) rm[j].remove();
  document.title = JSON.stringify({notices: out, text: clone.textContent.replace(/\s+/g, ' ').trim()});
})();
</script>`

type probe struct {
	Notices []struct {
		W, H, Top                                     float64
		Display, Visibility, Opacity, Color, Pdisplay string
		FontSize                                      string
		Hit                                           bool
		Text, Role, Langs                             string
	}
	Text string
}

// chromium runs headless Chromium on a file with extra arguments and returns its stdout.
func chromium(t *testing.T, tool, file string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--hide-scrollbars", "--window-size=1000,800", "--virtual-time-budget=3000",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, tool, append(append(base, args...), "file://"+file)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

var titleRE = regexp.MustCompile(`(?s)<title>(.*?)</title>`)

// runProbe loads page with the probe script in Chromium and returns the probe's result and a
// screenshot of the viewport.
func runProbe(t *testing.T, tool, dir, name string, page []byte) (probe, image.Image) {
	t.Helper()
	withProbe := bytes.Replace(page, []byte("</body>"), []byte(probeScript+"\n</body>"), 1)
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, withProbe, 0o644); err != nil {
		t.Fatal(err)
	}
	pngFile := file + ".png"
	dom := chromium(t, tool, file, "--dump-dom", "--screenshot="+pngFile)
	m := titleRE.FindSubmatch(dom)
	if m == nil {
		t.Fatalf("no title in the DOM:\n%s", dom)
	}
	var p probe
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &p); err != nil {
		t.Fatalf("probe result %q: %v", m[1], err)
	}
	f, err := os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return p, img
}

// Done-when 3: in headless Chromium, the disclaimer is rendered visibly, at the top of the page
// and at its end, on a page whose CSS tries to hide it and whose fixed header would cover it;
// the page's own text is otherwise unchanged. A screenshot shows the disclaimer's colors where
// the page's red header would otherwise be.
func TestHTMLNoticeRendersInChromium(t *testing.T) {
	tool := testtool.Require(t, "chromium")
	n := withPlacement(&formats.Notice{Texts: []formats.NoticeText{
		{Lang: "kk", Text: "Жасанды интеллект арқылы жасалған контент"},
		{Lang: "ru", Text: "Контент создан с помощью искусственного интеллекта"},
		{Lang: "en", Text: "AI-generated content"},
	}}, "both")
	labeled, _, _, _ := write(t, []byte(hostilePage), formats.Edit{StoreLen: 300, Notice: n})
	dir := t.TempDir()

	orig, before := runProbe(t, tool, dir, "original.html", []byte(hostilePage))
	got, after := runProbe(t, tool, dir, "labeled.html", labeled)
	if len(orig.Notices) != 0 || len(got.Notices) != 2 {
		t.Fatalf("notices: original %d, labeled %d", len(orig.Notices), len(got.Notices))
	}
	if got.Text != orig.Text {
		t.Errorf("page text changed:\n%q\n%q", got.Text, orig.Text)
	}
	for i, nt := range got.Notices {
		if nt.W < 300 || nt.H < 40 || nt.Display != "block" || nt.Visibility != "visible" || nt.Opacity != "1" ||
			nt.Pdisplay != "block" || nt.Color == "rgba(0, 0, 0, 0)" || nt.FontSize != "16px" {
			t.Errorf("notice %d is not visible: %+v", i, nt)
		}
		if !nt.Hit {
			t.Errorf("notice %d is covered: the point at its center hits another element (%+v)", i, nt)
		}
		if nt.Role != "note" || nt.Langs != "kk,ru,en" {
			t.Errorf("notice %d: role %q langs %q", i, nt.Role, nt.Langs)
		}
		for _, w := range n.Texts {
			if !strings.Contains(nt.Text, w.Text) {
				t.Errorf("notice %d text %q lacks %q", i, nt.Text, w.Text)
			}
		}
	}
	if top := got.Notices[0].Top; top > 200 {
		t.Errorf("the start notice is %vpx down the page", top)
	}

	// Screenshot: the notice's background (#fff4ce) fills the top of the viewport, over the red
	// fixed header; without the notice the top is red.
	count := func(img image.Image, want [3]uint32) int {
		n := 0
		b := img.Bounds()
		for y := b.Min.Y; y < b.Min.Y+60 && y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if r>>8 == want[0] && g>>8 == want[1] && bl>>8 == want[2] {
					n++
				}
			}
		}
		return n
	}
	noticeBG, red := [3]uint32{0xff, 0xf4, 0xce}, [3]uint32{0xff, 0, 0}
	if count(before, red) < 10000 || count(before, noticeBG) != 0 {
		t.Fatalf("original page: %d red and %d notice pixels at the top", count(before, red), count(before, noticeBG))
	}
	if c := count(after, noticeBG); c < 10000 {
		t.Errorf("labeled page: only %d notice pixels at the top (%d red)", c, count(after, red))
	}
}
