package labelhttp

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// memBody is the largest body kept in memory; a larger one goes to a temporary file.
const memBody = 1 << 20

// spool collects a body: in memory up to memBody bytes, then in a temporary file. Write never
// fails: past max bytes (max < 0: no limit) the rest is dropped and over is set, and a failure of
// the file is kept in err; callers check both once the body is in. Close removes the file.
type spool struct {
	dir  string
	max  int64
	buf  bytes.Buffer
	f    *os.File
	n    int64
	over bool
	err  error
}

func (e *engine) newSpool(max int64) *spool { return &spool{dir: e.cfg.tempDir, max: max} }

func (s *spool) Write(p []byte) (int, error) {
	n := len(p)
	if s.over || s.err != nil {
		return n, nil
	}
	if s.max >= 0 && s.n+int64(len(p)) > s.max {
		s.over = true
		return n, nil
	}
	if s.f == nil && s.buf.Len()+len(p) > memBody {
		f, err := os.CreateTemp(s.dir, "ailabel-http-*")
		if err != nil {
			s.err = fmt.Errorf("labelhttp: spooling a body: %w", err)
			return n, nil
		}
		s.f = f
		if _, err := f.Write(s.buf.Bytes()); err != nil {
			s.err = fmt.Errorf("labelhttp: spooling a body: %w", err)
			return n, nil
		}
		s.buf = bytes.Buffer{}
	}
	if s.f != nil {
		if _, err := s.f.Write(p); err != nil {
			s.err = fmt.Errorf("labelhttp: spooling a body: %w", err)
			return n, nil
		}
	} else {
		s.buf.Write(p)
	}
	s.n += int64(len(p))
	return n, nil
}

// readerAt reads what was written.
func (s *spool) readerAt() io.ReaderAt {
	if s.f != nil {
		return s.f
	}
	return bytes.NewReader(s.buf.Bytes())
}

// reader reads what was written from the start.
func (s *spool) reader() io.Reader { return io.NewSectionReader(s.readerAt(), 0, s.n) }

// bytes returns what was written, read from the file when it was spooled.
func (s *spool) bytes() ([]byte, error) {
	if s.f == nil {
		return s.buf.Bytes(), nil
	}
	b := make([]byte, s.n)
	if _, err := s.f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("labelhttp: reading a spooled body: %w", err)
	}
	return b, nil
}

// Close removes the temporary file, if any.
func (s *spool) Close() error {
	s.buf = bytes.Buffer{}
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	os.Remove(s.f.Name())
	s.f = nil
	return err
}
