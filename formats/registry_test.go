package formats

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

// withRegistry runs f with an empty registry and restores the real one afterwards.
func withRegistry(t *testing.T, f func()) {
	t.Helper()
	saved := registry.Load()
	var empty []*Format
	registry.Store(&empty)
	defer registry.Store(saved)
	f()
}

func TestRegistry(t *testing.T) {
	withRegistry(t, func() {
		magic := func(m string) func([]byte) bool {
			return func(b []byte) bool { return bytes.HasPrefix(b, []byte(m)) }
		}
		Register(Format{Name: "pear", Match: magic("P")})
		Register(Format{Name: "apple", Match: magic("A")})
		Register(Format{Name: "text", Match: func([]byte) bool { return true }, Fallback: true})
		Register(Format{Name: "mango", Match: magic("M")})

		var names []string
		for _, f := range All() {
			names = append(names, f.Name)
		}
		if want := []string{"apple", "mango", "pear", "text"}; !slices.Equal(names, want) {
			t.Fatalf("All() = %v, want %v", names, want)
		}
		// All returns a copy: changing it leaves the registry alone.
		all := All()
		all[0] = nil
		if f, ok := Lookup("apple"); !ok || f.Name != "apple" {
			t.Fatalf("Lookup(apple) = %v, %v after changing All's slice", f, ok)
		}
		for _, name := range []string{"apple", "mango", "pear", "text"} {
			if f, ok := Lookup(name); !ok || f.Name != name {
				t.Errorf("Lookup(%q) = %v, %v", name, f, ok)
			}
		}
		for _, name := range []string{"", "a", "banana", "zebra"} {
			if f, ok := Lookup(name); ok {
				t.Errorf("Lookup(%q) = %v, want none", name, f.Name)
			}
		}
		for head, want := range map[string]string{"Pxx": "pear", "Axx": "apple", "Mxx": "mango", "xyz": "text"} {
			if f, err := Sniff([]byte(head)); err != nil || f.Name != want {
				t.Errorf("Sniff(%q) = %v, %v; want %s (fallbacks last)", head, f, err, want)
			}
		}

		defer func() {
			r := recover()
			if s, _ := r.(string); !strings.Contains(s, "duplicate registration of mango") {
				t.Fatalf("a second mango: recovered %v, want a panic naming it", r)
			}
		}()
		Register(Format{Name: "mango", Match: magic("X")})
	})
}

// TestRegistryConcurrent reads the registry while formats are registered (go test -race).
func TestRegistryConcurrent(t *testing.T) {
	withRegistry(t, func() {
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range 200 {
				Register(Format{Name: string(rune('a'+i%26)) + strings.Repeat("x", i), Match: func([]byte) bool { return false }})
			}
		}()
		for {
			select {
			case <-done:
				if n := len(All()); n != 200 {
					t.Fatalf("%d formats registered, want 200", n)
				}
				return
			default:
				all := All()
				if !slices.IsSortedFunc(all, func(a, b *Format) int { return strings.Compare(a.Name, b.Name) }) {
					t.Fatal("All() is not sorted while formats are registered")
				}
				Lookup("a")
			}
		}
	})
}
