package text

import (
	"fmt"
	"strings"
	"testing"
)

// TestOneLineCache: oneLine gives what makeOneLine gives, the first time and from the cache,
// and past the cache's capacity.
func TestOneLineCache(t *testing.T) {
	cases := map[string]string{
		"AI-generated content":   "AI-generated content",
		"  two\tlines\nin one  ": "two lines in one",
		"\ufeffwrapper mark":     "wrapper mark",
		"Cafe\u0301":             "Café",
		"Жасанды интеллект  жасаған": "Жасанды интеллект жасаған",
		"\x00\x01": "",
	}
	for in, want := range cases {
		for i := range 2 {
			if got := oneLine(in); got != want {
				t.Errorf("oneLine(%q) call %d = %q, want %q", in, i+1, got, want)
			}
		}
	}
	for i := range 2 * maxCachedNotices {
		in := fmt.Sprintf(" text\t%d  e\u0301 ", i)
		want := fmt.Sprintf("text %d é", i)
		if a, b := oneLine(in), oneLine(in); a != want || b != want {
			t.Fatalf("oneLine(%q) = %q then %q, want %q", in, a, b, want)
		}
	}
	long := strings.Repeat("x ", maxCachedNotice)
	if got := oneLine(long); got != strings.TrimSpace(long) {
		t.Errorf("a long text: got %d bytes, want %d", len(got), len(strings.TrimSpace(long)))
	}
	if _, ok := oneLineCache.m.Load(long); ok {
		t.Error("a text over maxCachedNotice bytes was cached")
	}
	n := 0
	oneLineCache.m.Range(func(_, _ any) bool { n++; return true })
	if n > maxCachedNotices {
		t.Errorf("the cache holds %d texts, at most %d wanted", n, maxCachedNotices)
	}
}
