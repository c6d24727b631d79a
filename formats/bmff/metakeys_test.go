package bmff

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ailabel/ailabel/formats"
)

func metaKeysOf(t testing.TB, data []byte) []formats.MetaKey {
	t.Helper()
	c, err := formats.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	mr, ok := c.(formats.MetaKeyReader)
	if !ok {
		t.Fatalf("%s does not read metadata keys", c.Format().Name)
	}
	return mr.MetaKeys()
}

// China's TC260 video guide puts the AIGC label in moov/udta/meta as a QuickTime metadata key:
// ffmpeg's reading of ours, and our reading of ffmpeg's, agree.
func TestMetaKeysAIGC(t *testing.T) {
	dir := t.TempDir()
	const aigc = `{"Label":"1","ContentProducer":"001191110102MAD55U9H0F10002","ProduceID":"x"}`
	theirs := makeVideo(t, dir, "ffmpeg.mp4", "-movflags", "use_metadata_tags", "-metadata", "AIGC="+aigc)
	if got := metaKeysOf(t, theirs); !slices.Contains(got, formats.MetaKey{Key: "AIGC", Value: aigc}) {
		t.Fatalf("ffmpeg's AIGC key not read: %+v", got)
	}
	for _, name := range []string{"plain.mp4", "plain.mov"} {
		in := makeVideo(t, dir, name)
		if got := metaKeysOf(t, in); len(got) != 0 {
			t.Fatalf("%s: keys in a file without any: %+v", name, got)
		}
		media := &formats.MediaInfo{Title: "AI-generated video", Comment: "made by a model",
			Keys: []formats.MetaKey{{Key: "AIGC", Value: aigc}}}
		l := labelEdit(t, in, formats.Edit{StoreLen: 2000, Media: media})
		got := metaKeysOf(t, l.out)
		for _, want := range []formats.MetaKey{{Key: "title", Value: media.Title}, {Key: "comment", Value: media.Comment}, {Key: "AIGC", Value: aigc}} {
			if !slices.Contains(got, want) {
				t.Errorf("%s: key %q not read back: %+v", name, want.Key, got)
			}
		}
		out := filepath.Join(dir, "out-"+name)
		if err := os.WriteFile(out, l.out, 0o644); err != nil {
			t.Fatal(err)
		}
		tags := ffprobe(t, out).Format.Tags
		if tags["AIGC"] != aigc || tags["title"] != media.Title || tags["comment"] != media.Comment {
			t.Errorf("%s: ffprobe tags %v", name, tags)
		}
		if tags["artist"] != "Someone Else" {
			t.Errorf("%s: the input's artist is lost: %v", name, tags)
		}
		decodesSame(t, dir, in, l.out)
	}
}

func FuzzMetaKeys(f *testing.F) {
	f.Add(mkFull("meta", 0, 0, mkFull("hdlr", 0, 0, be32(0), []byte("mdta"), be32(0, 0, 0), []byte{0}),
		mkFull("keys", 0, 0, be32(1), mkBox("mdta", []byte("AIGC"))),
		mkBox("ilst", mkBox(string(be32(1)), mkBox("data", be32(1, 0), []byte("{}"))))))
	f.Add([]byte{0, 0, 0, 8, 'm', 'e', 't', 'a'})
	f.Fuzz(func(t *testing.T, meta []byte) {
		// Hostile boxes yield nothing or what they hold: never a panic, never more value bytes than given.
		n := 0
		for _, k := range mdtaKeys(meta) {
			n += len(k.Value) // each value is the payload of a data box of its own
		}
		if n > len(meta) {
			t.Fatalf("%d bytes of keys and values out of a %d-byte box", n, len(meta))
		}
	})
}
