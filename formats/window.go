package formats

import (
	"errors"
	"fmt"
	"io"
)

// WindowSize is how much a WindowReader reads at a time.
const WindowSize = 32 << 10

// WindowReader serves small reads at increasing offsets from a window of the input, so a
// container walking many chunk or box headers makes one ReadAt per window, not one per header.
// Container packages use it in Open.
type WindowReader struct {
	r    io.ReaderAt
	size int64
	name string // container name for errors
	buf  []byte
	off  int64 // input offset of buf[0]
}

// NewWindowReader reads from r, which holds size bytes; name goes into errors ("PNG", "WebP").
func NewWindowReader(r io.ReaderAt, size int64, name string) *WindowReader {
	return &WindowReader{r: r, size: size, name: name}
}

// At returns n bytes (n ≤ WindowSize) at off; the caller has checked off+n ≤ size. The result
// is valid until the next call.
func (b *WindowReader) At(off int64, n int) ([]byte, error) {
	if n > WindowSize {
		return nil, fmt.Errorf("%s: a %d-byte read is larger than the %d-byte window", b.name, n, WindowSize)
	}
	if off >= b.off && off+int64(n) <= b.off+int64(len(b.buf)) {
		i := off - b.off
		return b.buf[i : i+int64(n)], nil
	}
	if b.buf == nil {
		b.buf = make([]byte, WindowSize)
	}
	m := int64(WindowSize)
	if m > b.size-off {
		m = b.size - off
	}
	b.buf = b.buf[:cap(b.buf)]
	k, err := b.r.ReadAt(b.buf[:m], off)
	if k < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		b.buf = b.buf[:0]
		return nil, fmt.Errorf("%s reading %d bytes at offset %d: %w", b.name, n, off, err)
	}
	b.buf, b.off = b.buf[:k], off
	return b.buf[:n], nil
}
