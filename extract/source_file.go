package extract

import (
	"context"
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
	if st, err := f.Stat(); err == nil && st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("open IDs file: %s is a directory", path)
	}
	s.f = f
	return s, nil
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
