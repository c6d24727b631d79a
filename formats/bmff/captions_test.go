package bmff

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ailabel/ailabel/formats"
	"github.com/ailabel/ailabel/internal/testtool"
	"github.com/ailabel/ailabel/manifest"
	"github.com/ailabel/ailabel/manifest/bmffhash"
	"github.com/ailabel/ailabel/sign"
)

var warnings = []formats.Caption{
	{Lang: "kk", Text: "Жасанды интеллект арқылы жасалған контент", Duration: 2 * time.Second},
	{Lang: "ru", Text: "Контент создан с помощью искусственного интеллекта", Duration: 2 * time.Second},
	{Lang: "en", Text: "AI-generated content", Duration: 2 * time.Second},
}

var media = &formats.MediaInfo{
	Title:       "AI-generated video (test-model)",
	Comment:     "Жасанды интеллект арқылы жасалған контент / AI-generated content",
	Description: "made by test-model",
}

// makeVideo encodes a small H.264+AAC movie with ffmpeg.
func makeVideo(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	needTool(t, "ffmpeg")
	p := filepath.Join(dir, name)
	base := []string{"-nostdin", "-y", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=440", "-t", "4", "-c:v", "libx264", "-g", "25", "-c:a", "aac",
		"-metadata", "artist=Someone Else"}
	ffmpegOut(t, append(append(base, args...), p)...)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type probed struct {
	Streams []struct {
		CodecType   string            `json:"codec_type"`
		CodecName   string            `json:"codec_name"`
		Tags        map[string]string `json:"tags"`
		Disposition map[string]int    `json:"disposition"`
	} `json:"streams"`
	Format struct {
		Tags     map[string]string `json:"tags"`
		Duration string            `json:"duration"`
	} `json:"format"`
}

func ffprobe(t testing.TB, path string) probed {
	t.Helper()
	needTool(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	return p
}

// avMD5 is the framemd5 listing of the video and audio packets of a file.
func avMD5(t testing.TB, path string) string {
	t.Helper()
	out := ffmpegOut(t, "-nostdin", "-v", "error", "-i", path, "-map", "0:v", "-map", "0:a", "-c", "copy", "-f", "framemd5", "-")
	if strings.Count(out, "\n") < 20 {
		t.Fatalf("almost no packets in %s:\n%s", path, out)
	}
	return out
}

func firstCue(t testing.TB, path, stream string) (start, end time.Duration, text string) {
	t.Helper()
	return testtool.FirstCue(t, path, stream)
}

func TestCaptions(t *testing.T) {
	needTool(t, "ffmpeg")
	needTool(t, "ffprobe")
	for _, v := range []struct {
		name, ext string
		args      []string
		whole     bool // captions for the whole movie (Duration 0)
	}{
		{name: "moov-at-end", ext: "mp4"},
		{name: "faststart", ext: "mp4", args: []string{"-movflags", "+faststart"}, whole: true},
		{name: "mov", ext: "mov"},
	} {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			in := makeVideo(t, dir, "in."+v.ext, v.args...)
			caps := append([]formats.Caption(nil), warnings...)
			if v.whole {
				for i := range caps {
					caps[i].Duration = 0
				}
			}
			xmp := xmpPacket("captions")
			l := labelEdit(t, in, formats.Edit{XMP: xmp, StoreLen: 3000, Captions: caps, Media: media})
			out := filepath.Join(dir, "out."+v.ext)
			if err := os.WriteFile(out, l.out, 0o644); err != nil {
				t.Fatal(err)
			}

			// every original packet is unchanged, and the whole file decodes without a word
			if a, b := avMD5(t, filepath.Join(dir, "in."+v.ext)), avMD5(t, out); a != b {
				t.Fatalf("framemd5 of video and audio differs:\n%s\n---\n%s", a, b)
			}
			if msg := ffmpegOut(t, "-nostdin", "-v", "error", "-i", out, "-f", "null", "-"); msg != "" {
				t.Fatalf("ffmpeg decoding the output said:\n%s", msg)
			}

			p := ffprobe(t, out)
			var langs []string
			for _, s := range p.Streams {
				if s.CodecType != "subtitle" {
					continue
				}
				if s.CodecName != "mov_text" {
					t.Errorf("subtitle codec %q, want mov_text", s.CodecName)
				}
				langs = append(langs, s.Tags["language"])
				def, forced := s.Disposition["default"], s.Disposition["forced"]
				if def != b2i(len(langs) == 1) || forced != b2i(len(langs) == 1) {
					t.Errorf("subtitle stream %d (%s): default=%d forced=%d", len(langs), s.Tags["language"], def, forced)
				}
			}
			if strings.Join(langs, ",") != "kaz,rus,eng" {
				t.Errorf("subtitle languages %v, want kaz,rus,eng", langs)
			}
			tags := p.Format.Tags
			if tags["title"] != media.Title || tags["comment"] != media.Comment {
				t.Errorf("format tags %v: want title %q, comment %q", tags, media.Title, media.Comment)
			}
			if tags["description"] != media.Description {
				t.Errorf("format tags %v: want description %q", tags, media.Description)
			}
			if tags["artist"] != "Someone Else" {
				t.Errorf("format tags %v: the input's artist was lost", tags)
			}

			start, end, text := firstCue(t, out, "0:s:0")
			wantEnd := 2 * time.Second
			if v.whole {
				wantEnd = time.Duration(float64(time.Second)*parseSeconds(t, p.Format.Duration)) / time.Millisecond * time.Millisecond
			}
			if text != warnings[0].Text || start != 0 || end < wantEnd-50*time.Millisecond || end > wantEnd {
				t.Errorf("first Kazakh cue %v --> %v %q, want 0 --> %v %q", start, end, text, wantEnd, warnings[0].Text)
			}
			if _, _, text := firstCue(t, out, "0:s:2"); text != warnings[2].Text {
				t.Errorf("English cue %q", text)
			}

			// labeling again replaces the earlier caption tracks and their mdat, and the title
			again := labelEdit(t, l.out, formats.Edit{StoreLen: 2000, Captions: caps[1:2], Media: &formats.MediaInfo{Title: "second"}})
			out2 := filepath.Join(dir, "again."+v.ext)
			os.WriteFile(out2, again.out, 0o644)
			p2 := ffprobe(t, out2)
			if n := len(p2.Streams); n != len(p.Streams)-2 || p2.Format.Tags["title"] != "second" || p2.Format.Tags["comment"] != media.Comment {
				t.Errorf("relabeled: %d streams (had %d), tags %v", n, len(p.Streams), p2.Format.Tags)
			}
			if s := p2.Streams[len(p2.Streams)-1]; s.Tags["language"] != "rus" || s.Disposition["default"] != 1 || s.Disposition["forced"] != 1 {
				t.Errorf("relabeled caption track: %v %v", s.Tags, s.Disposition)
			}
			// the Kazakh text: once in the comment, once (before) as a caption sample
			if kk := []byte(caps[0].Text); bytes.Count(l.out, kk) != 2 || bytes.Count(again.out, kk) != 1 || bytes.Count(again.out, []byte(caps[1].Text)) != 1 {
				t.Error("the earlier caption samples stayed in the relabeled output")
			}
			if _, _, text := firstCue(t, out2, "0:s:0"); text != warnings[1].Text {
				t.Errorf("relabeled cue %q", text)
			}
			if a, b := avMD5(t, filepath.Join(dir, "in."+v.ext)), avMD5(t, out2); a != b {
				t.Fatal("framemd5 of video and audio differs after relabeling")
			}
		})
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func parseSeconds(t testing.TB, s string) float64 {
	d, err := time.ParseDuration(s + "s")
	if err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return d.Seconds()
}

// TestCaptionsFragmented: fragmented movies refuse captions but take the metadata.
func TestCaptionsFragmented(t *testing.T) {
	dir := t.TempDir()
	in := makeVideo(t, dir, "in.mp4", "-movflags", "frag_keyframe+empty_moov")
	c, err := formats.Open(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.(formats.Writable).Layout(formats.Edit{StoreLen: 100, Captions: warnings})
	if !errors.Is(err, formats.ErrUnsupported) || !strings.Contains(err.Error(), "fragmented") {
		t.Fatalf("captions on a fragmented movie: %v", err)
	}
	l := labelEdit(t, in, formats.Edit{StoreLen: 2000, Media: media})
	out := filepath.Join(dir, "out.mp4")
	os.WriteFile(out, l.out, 0o644)
	if a, b := avMD5(t, filepath.Join(dir, "in.mp4")), avMD5(t, out); a != b {
		t.Fatal("framemd5 differs")
	}
	if tags := ffprobe(t, out).Format.Tags; tags["title"] != media.Title {
		t.Fatalf("tags %v", tags)
	}
}

// TestCaptionsC2PA signs a captioned movie with our own manifest builder, the way the labeler
// does, and has c2pa-rs judge it.
func TestCaptionsC2PA(t *testing.T) {
	dir := t.TempDir()
	in := makeVideo(t, dir, "in.mp4")
	cr, err := sign.Generate("bmff caption test", sign.KeyP256, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := cr.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	signer, err := sign.LoadFiles(filepath.Join(dir, "signer.key"), filepath.Join(dir, "chain.pem"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := manifest.NewDraft(manifest.Spec{
		Title:     "in.mp4",
		Generator: manifest.ClaimGeneratorInfo{Name: "ailabel-test", Version: "0"},
		Actions: []manifest.Action{{Action: manifest.ActionCreated, DigitalSourceType: manifest.SourceTrainedAlgorithmicMedia,
			SoftwareAgent: &manifest.SoftwareAgent{Name: "test-model"}}},
		Binding:        manifest.BindBMFF,
		BMFFExclusions: bmffhash.C2PAExclusions(),
	}, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := formats.Open(bytes.NewReader(in), int64(len(in)))
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.(formats.Writable).Layout(formats.Edit{XMP: xmpPacket("c2pa"), StoreLen: d.Len(), Captions: warnings, Media: media})
	if err != nil {
		t.Fatal(err)
	}
	h, err := bmffhash.NewHasher(sha256.New(), bmffhash.C2PAExclusions())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.WriteTo(h, bytes.NewReader(in), make([]byte, d.Len())); err != nil {
		t.Fatal(err)
	}
	sum, err := h.Sum()
	if err != nil {
		t.Fatal(err)
	}
	store, err := d.FinishBMFF(sum)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := l.WriteTo(&buf, bytes.NewReader(in), store); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "signed.mp4")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	v := testtool.C2PACheck(t, out, ca)
	if v.Exit != 0 || len(v.Failures) != 0 || v.State != "Trusted" {
		t.Fatalf("c2pa-rs: exit %d, state %s, failures %v, error %s", v.Exit, v.State, v.Failures, v.Error)
	}
	// flipping a byte of the caption text breaks the binding
	bad := bytes.Clone(buf.Bytes())
	i := bytes.Index(bad, []byte(warnings[2].Text))
	if i < 0 {
		t.Fatal("caption text not found in the output")
	}
	bad[i] ^= 1
	os.WriteFile(out, bad, 0o644)
	if v := testtool.C2PACheck(t, out, ca); v.Exit != 1 {
		t.Fatalf("c2pa-rs accepted a file whose caption was changed: exit %d %v", v.Exit, v.Failures)
	}
}

func TestLangCode(t *testing.T) {
	for in, want := range map[string]string{"kk": "kaz", "ru-RU": "rus", "en_US": "eng", "zh-Hans": "zho", "fil": "fil", "x": "und", "KAZ": "kaz", "": "und"} {
		if got := langCode(in); got != want {
			t.Errorf("langCode(%q) = %q, want %q", in, got, want)
		}
	}
	if packLang("kaz") != 0x2c3a || packLang("und") != 0x55c4 {
		t.Error("packLang")
	}
}

func TestCaptionPlan(t *testing.T) {
	x := &extras{movieTS: 1000, movieD: 5000}
	err := x.planCaptions([]formats.Caption{
		{Lang: "en", Text: "b", Start: 3 * time.Second, Duration: time.Second},
		{Lang: "kk", Text: "a", Duration: 10 * time.Second},
		{Lang: "en", Text: "a", Start: time.Second, Duration: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(x.tracks) != 2 || x.tracks[0].lang != "eng" || x.tracks[1].lang != "kaz" {
		t.Fatalf("tracks %+v", x.tracks)
	}
	if got := x.tracks[0].durs; len(got) != 5 || got[0] != 1000 || got[1] != 1000 || got[2] != 1000 || got[3] != 1000 || got[4] != 1000 {
		t.Errorf("English durations %v", got)
	}
	if got := x.tracks[1].durs; len(got) != 1 || got[0] != 5000 {
		t.Errorf("Kazakh durations %v (clipped to the movie)", got)
	}
	for _, bad := range [][]formats.Caption{
		{{Lang: "en", Text: "a", Duration: 2 * time.Second}, {Lang: "en", Text: "b", Start: time.Second}},
		{{Lang: "en", Text: strings.Repeat("x", 70000)}},
		{{Lang: "en", Text: "a", Start: -time.Second}},
	} {
		x := &extras{movieTS: 1000, movieD: 5000}
		if err := x.planCaptions(bad); err == nil {
			t.Errorf("planCaptions accepted %d captions starting %v", len(bad), bad[0].Start)
		}
	}
	if err := (&extras{movieTS: 1000}).planCaptions(warnings); !errors.Is(err, formats.ErrUnsupported) {
		t.Errorf("captions in a movie without duration: %v", err)
	}
}

// TestCaptionsHostile: broken movie headers give errors, not panics.
func TestCaptionsHostile(t *testing.T) {
	ftyp := mkbox("ftyp", []byte("isom"), u32s(0x200), []byte("isommp41"))
	mdat := mkbox("mdat", []byte("xxxx"))
	for name, moov := range map[string][]byte{
		"no mvhd":        mkbox("moov", mkbox("trak")),
		"short mvhd":     mkbox("moov", fullbox("mvhd", 0, 0, u32s(0, 0, 1000))),
		"bad child size": append(mkbox("moov", fullbox("mvhd", 0, 0, make([]byte, 96))), 0, 0, 0, 99, 't', 'r', 'a', 'k'),
		"zero timescale": mkbox("moov", fullbox("mvhd", 0, 0, make([]byte, 96))),
	} {
		in := append(append(bytes.Clone(ftyp), mdat...), moov...)
		c, err := formats.Open(bytes.NewReader(in), int64(len(in)))
		if err != nil {
			continue
		}
		if _, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: 100, Captions: warnings, Media: media}); err == nil {
			t.Errorf("%s: Layout accepted it", name)
		}
	}
}

// FuzzCaptions lays out captions and metadata into arbitrary files: no panics, and a layout
// that succeeds describes an output that re-opens.
func FuzzCaptions(f *testing.F) {
	ftyp := mkbox("ftyp", []byte("isom"), u32s(0x200), []byte("isommp41"))
	mvhd := fullbox("mvhd", 0, 0, u32s(0, 0, 1000, 3000), make([]byte, 76), u32s(2))
	tkhd := fullbox("tkhd", 0, 3, u32s(0, 0, 1, 0, 3000), make([]byte, 52), u32s(320<<16, 240<<16))
	moov := mkbox("moov", mvhd, mkbox("trak", tkhd, mkbox("mdia", mkbox("minf", stbl(fullbox("stco", 0, 0, u32s(1, 40)))))),
		mkbox("udta", fullbox("meta", 0, 0, mdirHdlr(), mkbox("ilst", ilstItem("\xa9too", "x")))))
	f.Add(append(append(bytes.Clone(ftyp), mkbox("mdat", []byte("abcd"))...), moov...), true)
	f.Add(append(append(bytes.Clone(ftyp), moov...), mkbox("mdat", []byte("abcd"))...), false)
	// a file that already carries our caption tracks, which a new layout replaces
	seed := append(append(bytes.Clone(ftyp), mkbox("mdat", []byte("abcd"))...), moov...)
	if c, err := formats.Open(bytes.NewReader(seed), int64(len(seed))); err == nil {
		if l, err := c.(formats.Writable).Layout(formats.Edit{StoreLen: 64, Captions: warnings}); err == nil {
			var out bytes.Buffer
			if _, err := l.WriteTo(&out, bytes.NewReader(seed), make([]byte, 64)); err == nil {
				f.Add(out.Bytes(), true)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, captions bool) {
		c, err := formats.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		w, ok := c.(formats.Writable)
		if !ok {
			return
		}
		e := formats.Edit{StoreLen: 64, Media: media}
		if captions {
			e.Captions = warnings
		}
		l, err := w.Layout(e)
		if err != nil {
			return
		}
		var out bytes.Buffer
		if _, err := l.WriteTo(&out, bytes.NewReader(data), make([]byte, 64)); err != nil {
			t.Fatalf("write: %v", err)
		}
		if int64(out.Len()) != l.Size() {
			t.Fatalf("wrote %d bytes, layout says %d", out.Len(), l.Size())
		}
	})
}
