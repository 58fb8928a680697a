package extract

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// FileSource reads proposal IDs, one per line, from a file or, for path
// "-", from Stdin. The file is streamed, never loaded whole.
type FileSource struct {
	Path  string
	Stdin io.Reader
	f     *os.File
	lines int64
}

// OpenFileSource opens path now, so a missing file is a configuration error
// reported before the run starts. Close it after the run.
func OpenFileSource(path string, stdin io.Reader) (*FileSource, error) {
	s := &FileSource{Path: path, Stdin: stdin}
	if path == "-" {
		return s, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open IDs file: %w", err)
	}
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open IDs file: %s is a directory", path)
	}
	s.f, s.lines = f, -1
	if err == nil && st.Mode().IsRegular() { // a pipe cannot be read twice
		if s.lines, err = countIDLines(f); err != nil {
			f.Close()
			return nil, err
		}
	}
	return s, nil
}

// countIDLines counts the lines of f that may hold an ID (not blank, not a
// comment) in one streaming pass, then rewinds f; -1 when it cannot. A
// file that is CSV with a header is refused here, before the run starts.
func countIDLines(f *os.File) (int64, error) {
	sc := NewIDScanner(f)
	var n int64
	for {
		if _, ok := sc.Next(); !ok {
			break
		}
		n++
	}
	var header *HeaderError
	if errors.As(sc.Err(), &header) {
		return 0, header
	}
	if sc.Err() != nil {
		n = -1
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return -1, nil
	}
	return n, nil
}

// Total is the number of ID lines of the file; -1 for standard input.
func (s *FileSource) Total() int64 {
	if s.f == nil {
		return -1
	}
	return s.lines
}

// IDs streams the IDs to yield.
func (s *FileSource) IDs(ctx context.Context, yield func(Input) error) error {
	var r io.Reader = s.Stdin
	if s.f != nil {
		r = s.f
	}
	sc := NewIDScanner(r)
	for {
		in, ok := sc.Next()
		if !ok {
			return sc.Err()
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := yield(in); err != nil {
			return err
		}
	}
}

// Describe names the source.
func (s *FileSource) Describe() string {
	if s.Path == "-" {
		return "ids-file:stdin"
	}
	return "ids-file:" + s.Path
}

// Close closes the file.
func (s *FileSource) Close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
