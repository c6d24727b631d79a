package exif

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	goexif "github.com/dsoprea/go-exif/v3"
	exifcommon "github.com/dsoprea/go-exif/v3/common"

	"github.com/ailabel/ailabel/formats"
)

const (
	kazakh  = "Жасанды интеллект (ЖИ) арқылы жасалған"
	russian = "Создано с помощью искусственного интеллекта (ИИ)"
	english = "Generated with artificial intelligence (AI)"
	chinese = "由人工智能生成"
)

// needTool returns the path of an external tool, skipping the test when it is missing (failing
// instead when CI=true).
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found (Debian package %s) and CI=true", name, pkg)
		}
		t.Skipf("%s not found; install the Debian package %s to run this test", name, pkg)
	}
	return p
}

func labelFields(comment string) Fields {
	return Fields{
		ImageDescription: comment,
		Software:         "ailabel test model v1.2",
		Artist:           "ailabel",
		UserComment:      comment,
	}
}

func TestRoundTripFresh(t *testing.T) {
	for _, text := range []string{kazakh, russian, english, chinese, "x", "ab", "abc", "abcd", "abcde"} {
		f := labelFields(text)
		out, err := Build(nil, f)
		if err != nil {
			t.Fatalf("Build(%q): %v", text, err)
		}
		if !bytes.HasPrefix(out, []byte("MM\x00*")) {
			t.Fatalf("Build(%q) starts %q, want MM\\0*", text, out[:4])
		}
		got, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Build(%q)): %v", text, err)
		}
		if *got != f {
			t.Errorf("round trip of %q:\n got %+v\nwant %+v", text, *got, f)
		}
		// go-exif must accept what we write.
		if _, _, err := goexif.Collect(stdMapping(t), stdIndex(t), out); err != nil {
			t.Errorf("go-exif cannot read Build(%q): %v", text, err)
		}
	}
}

func TestEmptyFieldsNotWritten(t *testing.T) {
	out, err := Build(nil, Fields{Software: "gen"})
	if err != nil {
		t.Fatal(err)
	}
	tf, _ := parseHeader(out)
	es, _, err := tf.readIFD(tf.ifd0, "IFD0")
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 1 || es[0].tag != tagSoftware {
		t.Fatalf("IFD0 = %+v, want only Software", es)
	}
}

// TestUserCommentBytes pins the on-disk encoding: the uppercase "UNICODE\0" prefix (go-exif
// writes "Unicode\0") and UTF-16 in the TIFF's byte order; "ASCII\0\0\0" for ASCII text.
func TestUserCommentBytes(t *testing.T) {
	for _, bo := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		var existing []byte
		if bo == binary.LittleEndian {
			existing = goexifSample(t, bo)
		}
		for _, text := range []string{kazakh, english, "😀 emoji"} {
			out, err := Build(existing, Fields{UserComment: text})
			if err != nil {
				t.Fatal(err)
			}
			v := rawTag(t, out, true, tagUserComment)
			var want []byte
			if text == english {
				want = append([]byte("ASCII\x00\x00\x00"), english...)
			} else {
				want = []byte("UNICODE\x00")
				for _, u := range utf16.Encode([]rune(text)) {
					want = bo.AppendUint16(want, u)
				}
			}
			if !bytes.Equal(v, want) {
				t.Errorf("%v %q: UserComment bytes\n got % x\nwant % x", bo, text, v, want)
			}
		}
	}
}

func TestDecodeUserComment(t *testing.T) {
	be := binary.BigEndian
	for _, c := range []struct {
		in   string
		want string
	}{
		{"ASCII\x00\x00\x00hello\x00\x00", "hello"},
		{"\x00\x00\x00\x00\x00\x00\x00\x00plain", "plain"},
		{"        spaces", "spaces"},
		{"Unicode\x00\x00h\x00i", "hi"},               // go-exif's prefix
		{"UNICODE\x00\xff\xfeh\x00i\x00", "hi"},       // little-endian with a BOM
		{"UNICODE\x00\x04\x16\x04\x18\x00\x00", "ЖИ"}, // trailing NUL unit
		{"UNICODE\x00\x00h\x00", "h"},                 // odd byte dropped
		{"no prefix here", "no prefix here"},
		{"short", "short"},
	} {
		if got := decodeUserComment([]byte(c.in), be); got != c.want {
			t.Errorf("decodeUserComment(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFieldErrors(t *testing.T) {
	for _, f := range []Fields{
		{Software: "a\x00b"},
		{UserComment: "\xff\xfe"},
		{ImageDescription: strings.Repeat("x", MaxField+1)},
	} {
		if _, err := Build(nil, f); err == nil {
			t.Errorf("Build(%+v) succeeded, want an error", f)
		}
	}
	_, err := Build(nil, Fields{Artist: strings.Repeat("x", MaxField+1)})
	if !errors.Is(err, ErrTooLarge) || !errors.Is(err, formats.ErrTooLarge) {
		t.Errorf("oversized field: %v, want ErrTooLarge", err)
	}
}

func stdMapping(t testing.TB) *exifcommon.IfdMapping {
	im, err := exifcommon.NewIfdMappingWithStandard()
	if err != nil {
		t.Fatal(err)
	}
	return im
}

func stdIndex(t testing.TB) *goexif.TagIndex {
	ti := goexif.NewTagIndex()
	if err := goexif.LoadStandardTags(ti); err != nil {
		t.Fatal(err)
	}
	return ti
}

var (
	makerNote  = []byte("Nikon\x00\x02\x10\x00\x00MM\x00*\x00\x00\x00\x08 maker note with internal offsets")
	deviceSet  = []byte("device settings, an UNDEFINED tag go-exif cannot decode")
	unknownVal = []byte("a private tag no library knows\x00")
	thumbnail  = []byte("\xff\xd8\xff\xd9 fake thumbnail bytes, long enough")
)

const (
	tagUnknown   = 0xC7A1 // not in go-exif's tag index
	tagMakerNote = 0x927C
	tagDeviceSet = 0xA40B
)

// goexifSample makes a camera-like EXIF with go-exif: IFD0 Make/Model/DateTime/Orientation, an
// old description and software, a private tag, a GPS IFD, an Exif IFD with a maker note, an
// UNDEFINED tag go-exif has no decoder for, an old UserComment, and IFD1 with a thumbnail.
func goexifSample(t testing.TB, bo binary.ByteOrder) []byte {
	t.Helper()
	im, ti := stdMapping(t), stdIndex(t)
	ib := goexif.NewIfdBuilder(im, ti, exifcommon.IfdStandardIfdIdentity, bo)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(ib.SetStandardWithName("Make", "Canon"))
	must(ib.SetStandardWithName("Model", "Canon EOS 5D Mark IV"))
	must(ib.SetStandardWithName("DateTime", "2024:05:01 12:34:56"))
	must(ib.SetStandardWithName("Orientation", []uint16{6}))
	must(ib.SetStandardWithName("ImageDescription", "old description"))
	must(ib.SetStandardWithName("Software", "Adobe Photoshop 25.0"))
	must(ib.Add(goexif.NewBuilderTag("IFD", tagUnknown, exifcommon.TypeAscii, goexif.NewIfdBuilderTagValueFromBytes(unknownVal), bo)))

	gps, err := goexif.GetOrCreateIbFromRootIb(ib, "IFD/GPSInfo")
	must(err)
	must(gps.SetStandardWithName("GPSLatitudeRef", "N"))
	must(gps.SetStandardWithName("GPSLatitude", []exifcommon.Rational{{Numerator: 43, Denominator: 1}, {Numerator: 14, Denominator: 1}, {Numerator: 3012, Denominator: 100}}))
	must(gps.SetStandardWithName("GPSLongitudeRef", "E"))
	must(gps.SetStandardWithName("GPSLongitude", []exifcommon.Rational{{Numerator: 76, Denominator: 1}, {Numerator: 53, Denominator: 1}, {Numerator: 4521, Denominator: 100}}))

	ex, err := goexif.GetOrCreateIbFromRootIb(ib, "IFD/Exif")
	must(err)
	must(ex.SetStandardWithName("DateTimeOriginal", "2024:05:01 12:34:56"))
	must(ex.Add(goexif.NewBuilderTag("IFD/Exif", tagMakerNote, exifcommon.TypeUndefined, goexif.NewIfdBuilderTagValueFromBytes(makerNote), bo)))
	must(ex.Add(goexif.NewBuilderTag("IFD/Exif", tagDeviceSet, exifcommon.TypeUndefined, goexif.NewIfdBuilderTagValueFromBytes(deviceSet), bo)))
	must(ex.Add(goexif.NewBuilderTag("IFD/Exif", tagUserComment, exifcommon.TypeUndefined, goexif.NewIfdBuilderTagValueFromBytes([]byte("ASCII\x00\x00\x00old comment")), bo)))

	ib1 := goexif.NewIfdBuilder(im, ti, exifcommon.Ifd1StandardIfdIdentity, bo)
	must(ib1.SetThumbnail(thumbnail))
	must(ib.SetNextIb(ib1))

	b, err := goexif.NewIfdByteEncoder().EncodeToExif(ib)
	must(err)
	return b
}

// rawTag returns the value bytes of a tag in IFD0 (or the Exif IFD) of b, failing if it is not
// there exactly once.
func rawTag(t *testing.T, b []byte, inExif bool, tag uint16) []byte {
	t.Helper()
	vs := rawTags(t, b, inExif, tag)
	if len(vs) != 1 {
		t.Fatalf("tag 0x%04X appears %d times, want once", tag, len(vs))
	}
	return vs[0]
}

func rawTags(t *testing.T, b []byte, inExif bool, tag uint16) [][]byte {
	t.Helper()
	tf, err := parseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	es, _, err := tf.readIFD(tf.ifd0, "IFD0")
	if err != nil {
		t.Fatal(err)
	}
	if inExif {
		var ptr []entry
		for _, e := range es {
			if e.tag == tagExifIFD {
				ptr = append(ptr, e)
			}
		}
		if len(ptr) != 1 {
			t.Fatalf("%d Exif IFD pointers, want 1", len(ptr))
		}
		off, err := tf.ifdPointer(ptr[0], "ptr")
		if err != nil {
			t.Fatal(err)
		}
		if es, _, err = tf.readIFD(off, "Exif IFD"); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < len(es); i++ {
		if es[i].tag < es[i-1].tag {
			t.Errorf("IFD entries out of order: 0x%04X after 0x%04X", es[i].tag, es[i-1].tag)
		}
	}
	var out [][]byte
	for _, e := range es {
		if e.tag == tag {
			v, err := tf.value(e, "tag")
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, v)
		}
	}
	return out
}

func TestMergeKeepsOtherTags(t *testing.T) {
	for _, bo := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		t.Run(bo.String(), func(t *testing.T) {
			existing := goexifSample(t, bo)
			orig := bytes.Clone(existing)
			f := labelFields(kazakh)
			out, err := Build(existing, f)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(existing, orig) {
				t.Fatal("Build modified its input")
			}
			if !bytes.Equal(out[:4], orig[:4]) {
				t.Errorf("byte order changed: %q → %q", orig[:4], out[:4])
			}
			got, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if *got != f {
				t.Errorf("Parse after merge:\n got %+v\nwant %+v", *got, f)
			}
			// Our tags replaced the old ones: exactly one of each.
			for _, tag := range []uint16{tagImageDescription, tagSoftware, tagArtist} {
				rawTag(t, out, false, tag)
			}
			rawTag(t, out, true, tagUserComment)

			// Tags go-exif drops or cannot decode are still there, byte for byte.
			if v := rawTag(t, out, false, tagUnknown); !bytes.Equal(v, unknownVal) {
				t.Errorf("private tag = %q", v)
			}
			if v := rawTag(t, out, true, tagMakerNote); !bytes.Equal(v, makerNote) {
				t.Errorf("maker note = %q", v)
			}
			if v := rawTag(t, out, true, tagDeviceSet); !bytes.Equal(v, deviceSet) {
				t.Errorf("DeviceSettingDescription = %q", v)
			}
			// The maker note did not move, so offsets inside it stay valid.
			if a, b := bytes.Index(orig, makerNote), bytes.Index(out, makerNote); a != b {
				t.Errorf("maker note moved from %d to %d", a, b)
			}

			// Independent check with go-exif: the standard tags, the GPS IFD and the thumbnail.
			_, index, err := goexif.Collect(stdMapping(t), stdIndex(t), out)
			if err != nil {
				t.Fatalf("go-exif cannot read the merged EXIF: %v", err)
			}
			want := map[string]string{
				"Make":             "Canon",
				"Model":            "Canon EOS 5D Mark IV",
				"DateTime":         "2024:05:01 12:34:56",
				"Orientation":      "[6]",
				"ImageDescription": kazakh,
				"Software":         f.Software,
				"Artist":           f.Artist,
			}
			for name, w := range want {
				ites, err := index.RootIfd.FindTagWithName(name)
				if err != nil || len(ites) != 1 {
					t.Errorf("go-exif: IFD0 %s: %d entries, %v", name, len(ites), err)
					continue
				}
				v, err := ites[0].Format()
				if err != nil || v != w {
					t.Errorf("go-exif: IFD0 %s = %q (%v), want %q", name, v, err, w)
				}
			}
			exifIfd, err := index.RootIfd.ChildWithIfdPath(exifcommon.IfdExifStandardIfdIdentity)
			if err != nil {
				t.Fatal(err)
			}
			if ites, err := exifIfd.FindTagWithName("DateTimeOriginal"); err != nil || len(ites) != 1 {
				t.Errorf("go-exif: DateTimeOriginal lost: %v", err)
			}
			gpsIfd, err := index.RootIfd.ChildWithIfdPath(exifcommon.IfdGpsInfoStandardIfdIdentity)
			if err != nil {
				t.Fatal(err)
			}
			gi, err := gpsIfd.GpsInfo()
			if err != nil {
				t.Fatal(err)
			}
			if lat, lon := gi.Latitude.Decimal(), gi.Longitude.Decimal(); lat < 43.2416 || lat > 43.2418 || lon < 76.8958 || lon > 76.8960 {
				t.Errorf("GPS = %v, %v", lat, lon)
			}
			if next := index.RootIfd.NextIfd(); next == nil {
				t.Error("IFD1 lost")
			} else if th, err := next.Thumbnail(); err != nil || !bytes.Equal(th, thumbnail) {
				t.Errorf("thumbnail = %q, %v", th, err)
			}

			// Merging again (relabelling) still gives one of each and the same fields.
			f2 := labelFields(chinese)
			out2, err := Build(out, f2)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := Parse(out2); err != nil || *got != f2 {
				t.Errorf("second merge: %+v, %v", got, err)
			}
			rawTag(t, out2, true, tagUserComment)
			rawTag(t, out2, false, tagUnknown)
			t.Logf("%v: input %d bytes, after one merge %d, after two %d", bo, len(orig), len(out), len(out2))
		})
	}
}

func TestMergePartial(t *testing.T) {
	existing := goexifSample(t, binary.BigEndian)
	// Only Software: the Exif IFD pointer and the old UserComment and description are kept.
	out, err := Build(existing, Fields{Software: "new"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	want := Fields{ImageDescription: "old description", Software: "new", UserComment: "old comment"}
	if *got != want {
		t.Errorf("got %+v, want %+v", *got, want)
	}
	// Nothing to set: the input comes back unchanged (a copy).
	same, err := Build(existing, Fields{})
	if err != nil || !bytes.Equal(same, existing) {
		t.Errorf("empty Fields changed the EXIF (%v)", err)
	}
	// A TIFF without an Exif IFD gets one, with ExifVersion.
	plain, _ := Build(nil, Fields{Software: "a"})
	out, err = Build(plain, Fields{UserComment: "c"})
	if err != nil {
		t.Fatal(err)
	}
	if v := rawTag(t, out, true, tagExifVersion); string(v) != "0232" {
		t.Errorf("ExifVersion = %q", v)
	}
	// An odd-length input: the appended IFDs and values still start at even offsets.
	odd := existing
	if len(odd)%2 == 0 {
		odd = append(bytes.Clone(odd), 0)
	}
	out, err = Build(odd, labelFields(kazakh))
	if err != nil {
		t.Fatal(err)
	}
	tf, _ := parseHeader(out)
	ifd0, _, err := tf.readIFD(tf.ifd0, "IFD0")
	if err != nil {
		t.Fatal(err)
	}
	offsets := []uint32{tf.ifd0}
	for _, e := range ifd0 {
		switch {
		case e.tag == tagExifIFD:
			off, _ := tf.ifdPointer(e, "ptr")
			offsets = append(offsets, off)
			exifIFD, _, err := tf.readIFD(off, "Exif IFD")
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range exifIFD {
				if x.tag == tagUserComment {
					offsets = append(offsets, tf.bo.Uint32(x.field[:]))
				}
			}
		case e.tag == tagImageDescription || e.tag == tagSoftware || e.tag == tagArtist:
			offsets = append(offsets, tf.bo.Uint32(e.field[:]))
		}
	}
	if len(offsets) != 6 {
		t.Errorf("found %d offsets, want 6", len(offsets))
	}
	for _, o := range offsets {
		if o%2 != 0 || o < uint32(len(odd)) {
			t.Errorf("offset %d: odd, or inside the %d-byte input", o, len(odd))
		}
	}
	// The APP1 "Exif\0\0" header is accepted and dropped.
	out, err = Build(append([]byte("Exif\x00\x00"), existing...), Fields{Artist: "me"})
	if err != nil || !bytes.HasPrefix(out, []byte("MM\x00*")) {
		t.Errorf("Exif header: %v, % x", err, out[:4])
	}
}

// jpegWithExif assembles SOI + APP1 Exif + a tiny image from image/jpeg.
func jpegWithExif(t *testing.T, tiff []byte) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 4)
	}
	img.Set(0, 0, color.Gray{Y: 255})
	var enc bytes.Buffer
	if err := jpeg.Encode(&enc, img, nil); err != nil {
		t.Fatal(err)
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	if len(payload)+2 > 0xFFFF {
		t.Fatalf("EXIF too large for one APP1: %d", len(payload))
	}
	out := []byte{0xFF, 0xD8, 0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(payload)+2))
	out = append(out, payload...)
	return append(out, enc.Bytes()[2:]...)
}

// runExiftool writes each JPEG to a file and returns exiftool's JSON for each, and the warnings
// of exiftool -validate for each (two exiftool starts in all: perl is slow to start).
func runExiftool(t *testing.T, exiftool string, jpegs [][]byte, args ...string) ([]map[string]any, [][]string) {
	t.Helper()
	dir := t.TempDir()
	var files []string
	for i, data := range jpegs {
		files = append(files, filepath.Join(dir, fmt.Sprintf("in%d.jpg", i)))
		if err := os.WriteFile(files[i], data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(exiftool, append(append([]string{"-j", "-a", "-G1"}, args...), files...)...).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	var res []map[string]any
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(files) {
		t.Fatalf("exiftool output %s: %v", out, err)
	}
	for i := range res {
		if res[i]["SourceFile"] != files[i] {
			t.Fatalf("exiftool reports %v in place of %s", res[i]["SourceFile"], files[i])
		}
	}
	// Text output: JSON would keep only the first warning of each file.
	out, err = exec.Command(exiftool, append([]string{"-a", "-s", "-s", "-validate", "-warning"}, files...)...).Output()
	if err != nil {
		t.Fatalf("exiftool: %v", err)
	}
	warnings := make([][]string, len(files))
	i := -1
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "======== "); ok {
			i = slices.Index(files, name)
		}
		if w, ok := strings.CutPrefix(line, "Warning: "); ok {
			if i < 0 {
				t.Fatalf("exiftool warning before a file name: %s", out)
			}
			warnings[i] = append(warnings[i], w)
		}
	}
	return res, warnings
}

func TestExiftool(t *testing.T) {
	exiftool := needTool(t, "exiftool", "libimage-exiftool-perl")
	cases := []struct {
		name     string
		existing []byte
		comment  string
	}{
		{"fresh-kazakh", nil, kazakh},
		{"fresh-chinese", nil, chinese},
		{"fresh-ascii", nil, english},
		{"merge-bigendian-russian", goexifSample(t, binary.BigEndian), russian},
		{"merge-littleendian-kazakh", goexifSample(t, binary.LittleEndian), kazakh},
	}
	var jpegs [][]byte
	for _, c := range cases {
		tiff, err := Build(c.existing, labelFields(c.comment))
		if err != nil {
			t.Fatal(err)
		}
		jpegs = append(jpegs, jpegWithExif(t, tiff))
	}
	res, warnings := runExiftool(t, exiftool, jpegs, "-EXIF:all")
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, m := labelFields(c.comment), res[i]
			for tag, want := range map[string]string{
				"IFD0:ImageDescription": f.ImageDescription,
				"IFD0:Software":         f.Software,
				"IFD0:Artist":           f.Artist,
				"ExifIFD:UserComment":   f.UserComment,
			} {
				if got, _ := m[tag].(string); got != want {
					t.Errorf("exiftool %s = %q, want %q", tag, got, want)
				}
			}
			if c.existing != nil {
				for tag, want := range map[string]string{
					"IFD0:Make":                "Canon",
					"IFD0:Model":               "Canon EOS 5D Mark IV",
					"IFD0:ModifyDate":          "2024:05:01 12:34:56",
					"IFD0:Orientation":         "Rotate 90 CW",
					"IFD0:CameraLabel":         strings.TrimSuffix(string(unknownVal), "\x00"), // the "private" tag 0xC7A1
					"ExifIFD:DateTimeOriginal": "2024:05:01 12:34:56",
					"GPS:GPSLatitudeRef":       "North",
					"GPS:GPSLatitude":          "43 deg 14' 30.12\"",
					"GPS:GPSLongitudeRef":      "East",
					"GPS:GPSLongitude":         "76 deg 53' 45.21\"",
				} {
					if got, _ := m[tag].(string); got != want {
						t.Errorf("exiftool %s = %q, want %q", tag, got, want)
					}
				}
				if _, ok := m["IFD1:ThumbnailImage"]; !ok {
					t.Errorf("exiftool sees no thumbnail: %v", m)
				}
			}
			// Warnings from -validate. The input's own defects (go-exif writes values at odd
			// offsets and a bad IFD1 ThumbnailOffset) and the JPEG-required tags we cannot know
			// (resolution, pixel dimensions) are not ours; anything about what we wrote is.
			for _, w := range warnings[i] {
				switch {
				case strings.Contains(w, "text encoding"), strings.Contains(w, "byte order"),
					strings.Contains(w, "out of order"), strings.Contains(w, "out of sequence"),
					strings.Contains(w, "UserComment"), strings.Contains(w, "ImageDescription"),
					strings.Contains(w, "Software"), strings.Contains(w, "Artist"),
					strings.Contains(w, "ExifVersion"), strings.Contains(w, "directory") && !strings.Contains(w, "MakerNotes"):
					t.Errorf("exiftool warns: %s", w)
				}
			}
			if len(warnings[i]) == 0 {
				t.Error("no -validate warnings at all: is the warning parsing broken?")
			}
			t.Logf("%d exiftool -validate warnings, none about our tags", len(warnings[i]))
		})
	}
}

func TestHostile(t *testing.T) {
	good, err := Build(goexifSample(t, binary.LittleEndian), labelFields(kazakh))
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation either parses or errors; none panics (a recovered panic is errInternal).
	for n := 0; n < len(good); n++ {
		if _, err := Parse(good[:n]); errors.Is(err, errInternal) {
			t.Fatalf("Parse(good[:%d]): %v", n, err)
		}
		if _, err := Build(good[:n], labelFields("x")); errors.Is(err, errInternal) {
			t.Fatalf("Build(good[:%d]): %v", n, err)
		}
	}
	be := binary.BigEndian
	ifd := func(entries ...[]byte) []byte {
		b := []byte("MM\x00*\x00\x00\x00\x08")
		b = be.AppendUint16(b, uint16(len(entries)))
		for _, e := range entries {
			b = append(b, e...)
		}
		return be.AppendUint32(b, 0)
	}
	ent := func(tag, typ uint16, count, val uint32) []byte {
		b := be.AppendUint16(nil, tag)
		b = be.AppendUint16(b, typ)
		b = be.AppendUint32(b, count)
		return be.AppendUint32(b, val)
	}
	for name, in := range map[string][]byte{
		"short":             []byte("MM\x00*"),
		"bad magic":         []byte("XX\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"),
		"bigtiff":           []byte("II+\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"),
		"ifd0 past end":     []byte("MM\x00*\x00\x00\xff\xff"),
		"ifd0 in header":    []byte("MM\x00*\x00\x00\x00\x04\x00\x00\x00\x00"),
		"count past end":    []byte("MM\x00*\x00\x00\x00\x08\xff\xff\x00\x00"),
		"value past end":    ifd(ent(tagSoftware, typeASCII, 100, 8)),
		"huge count":        ifd(ent(tagSoftware, typeASCII, 0xFFFFFFFF, 8)),
		"exif ptr bad type": ifd(ent(tagExifIFD, typeASCII, 1, 8)),
		"exif ptr past end": ifd(ent(tagExifIFD, typeLong, 1, 0xFFFFFF00)),
		"exif uc past end":  append(ifd(ent(tagExifIFD, typeLong, 1, 26)), ifd(ent(tagUserComment, typeUndefined, 1000, 8))[8:]...),
	} {
		_, perr := Parse(in)
		_, berr := Build(in, labelFields("x"))
		for _, err := range []error{perr, berr} {
			if err == nil || !errors.Is(err, ErrMalformed) || !errors.Is(err, formats.ErrMalformed) {
				t.Errorf("%s: %v, want ErrMalformed", name, err)
			}
		}
	}
	// A value offset past the end would point into the appended IFD; Build must refuse it even
	// where Parse (which does not read that tag) succeeds.
	for _, in := range [][]byte{ifd(ent(0x011A, 5, 1, 0x100)), ifd(ent(0x011A, 5, 0xFFFFFFFF, 8))} {
		if _, err := Build(in, Fields{Software: "a"}); !errors.Is(err, ErrMalformed) {
			t.Errorf("out-of-range XResolution: %v", err)
		}
	}
	// Empty input: Parse fails, Build writes a fresh structure.
	if _, err := Parse(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("Parse(nil): %v", err)
	}
	// Too large.
	if _, err := Parse(make([]byte, MaxInput+1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized input: %v", err)
	}
	// A cycle (the Exif IFD pointing at IFD0) and a next-IFD loop are harmless: only IFD0 and
	// the first Exif IFD are read.
	loop := ifd(ent(tagExifIFD, typeLong, 1, 8))
	be.PutUint32(loop[len(loop)-4:], 8)
	if _, err := Parse(loop); err != nil {
		t.Errorf("loop: %v", err)
	}
	if _, err := Build(loop, labelFields("x")); err != nil {
		t.Errorf("loop: %v", err)
	}
}

// TestManyPointersIsLinear: an IFD0 of 65535 Exif IFD pointers, each to a 65535-entry IFD, must
// not be walked 65535² times.
func TestManyPointersIsLinear(t *testing.T) {
	be := binary.BigEndian
	const n = 0xFFFF
	b := []byte("MM\x00*\x00\x00\x00\x08")
	b = be.AppendUint16(b, n)
	for range n {
		b = be.AppendUint16(b, tagExifIFD)
		b = be.AppendUint16(b, typeLong)
		b = be.AppendUint32(b, 1)
		b = be.AppendUint32(b, 8)
	}
	b = be.AppendUint32(b, 0)
	start := time.Now()
	if _, err := Parse(b); err != nil {
		t.Fatal(err)
	}
	out, err := Build(b, labelFields("x"))
	if err != nil {
		t.Fatal(err)
	}
	// Linear work takes well under a second (a few seconds on a loaded machine); walking the
	// 65535 pointed-to IFDs of 65535 entries each would read 4.3e9 entries and take minutes.
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("took %v", d)
	}
	if len(rawTags(t, out, false, tagExifIFD)) != 1 {
		t.Error("the stale Exif IFD pointers were kept")
	}
}

func fuzzSeeds(f *testing.F) [][]byte {
	var seeds [][]byte
	for _, bo := range []byteOrder{binary.BigEndian, binary.LittleEndian} {
		s := goexifSample(f, bo)
		seeds = append(seeds, s)
		if b, err := Build(s, labelFields(kazakh)); err == nil {
			seeds = append(seeds, b)
		}
	}
	fresh, err := Build(nil, labelFields(chinese))
	if err != nil {
		f.Fatal(err)
	}
	return append(seeds, fresh, []byte("II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"), nil)
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := Parse(b); errors.Is(err, errInternal) {
			t.Fatal(err)
		}
	})
}

// FuzzBuild merges fuzzed fields into fuzzed EXIF; when Build succeeds, Parse must read back
// every non-empty field, and the input must be unchanged.
func FuzzBuild(f *testing.F) {
	for i, s := range fuzzSeeds(f) {
		f.Add(s, []string{kazakh, "", english}[i%3], "model", chinese)
	}
	f.Fuzz(func(t *testing.T, existing []byte, desc, software, comment string) {
		orig := bytes.Clone(existing)
		in := Fields{ImageDescription: desc, Software: software, UserComment: comment}
		out, err := Build(existing, in)
		if !bytes.Equal(existing, orig) {
			t.Fatal("Build modified its input")
		}
		if err != nil {
			if errors.Is(err, errInternal) {
				t.Fatal(err)
			}
			return
		}
		got, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse(Build()) failed: %v", err)
		}
		for _, c := range [][2]string{{in.ImageDescription, got.ImageDescription}, {in.Software, got.Software}, {in.UserComment, got.UserComment}} {
			if c[0] != "" && c[0] != c[1] {
				t.Fatalf("field %q read back as %q", c[0], c[1])
			}
		}
	})
}
