package extract

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// CSVSource reads proposal IDs from one column of a CSV file (RFC 4180,
// with a header row that names the column), or of Stdin for path "-".
// The file is streamed, never loaded whole. Blank cells are skipped; a
// cell that is not a valid ID is an Invalid input located by its row.
type CSVSource struct {
	Path   string
	Column string
	r      *csv.Reader
	f      *os.File
	index  int
}

// ColumnError is a CSV file whose header has no column of the name asked.
type ColumnError struct {
	Column string
	Header []string
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("the CSV header has no column %q (its columns: %s)", e.Column, strings.Join(e.Header, ", "))
}

// OpenCSVSource opens path (or takes stdin for "-") and reads its header
// now, so that a missing file or column is reported before the run
// starts. Close it after the run.
func OpenCSVSource(path, column string, stdin io.Reader) (*CSVSource, error) {
	s := &CSVSource{Path: path, Column: column}
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open IDs file: %w", err)
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, fmt.Errorf("open IDs file: %s is a directory", path)
		}
		s.f, r = f, f
	}
	s.r = csv.NewReader(r)
	s.r.ReuseRecord = true
	header, err := s.r.Read()
	if err != nil {
		s.Close()
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the CSV file is empty: its first row names the columns")
		}
		return nil, fmt.Errorf("read the CSV header: %w", err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\uFEFF") // a spreadsheet's byte-order mark
	}
	s.index = slices.IndexFunc(header, func(h string) bool { return strings.TrimSpace(h) == column })
	if s.index < 0 {
		s.index = slices.IndexFunc(header, func(h string) bool { return strings.EqualFold(strings.TrimSpace(h), column) })
	}
	if s.index < 0 {
		s.Close()
		return nil, &ColumnError{Column: column, Header: slices.Clone(header)}
	}
	return s, nil
}

// IDs streams the column's IDs to yield. A row that is not valid CSV is
// refused with its row number, and the rows after it are still read.
func (s *CSVSource) IDs(ctx context.Context, yield func(Input) error) error {
	for {
		rec, err := s.r.Read()
		var parse *csv.ParseError
		switch {
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &parse) && !errors.Is(err, csv.ErrFieldCount):
			if err := yield(refused(fmt.Sprintf("(row %d)", parse.StartLine), fmt.Sprintf("row %d", parse.StartLine),
				&InvalidIDError{Reason: "not valid CSV: " + parse.Err.Error()})); err != nil {
				return err
			}
			continue
		case err != nil && !errors.Is(err, csv.ErrFieldCount):
			return fmt.Errorf("read IDs: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		row, _ := s.r.FieldPos(0) // a record read has a field
		where := fmt.Sprintf("row %d", row)
		if s.index >= len(rec) {
			if err := yield(refused(fmt.Sprintf("(row %d)", row), where,
				&InvalidIDError{Reason: fmt.Sprintf("has %d fields, no column %q", len(rec), s.Column)})); err != nil {
				return err
			}
			continue
		}
		id := strings.TrimSpace(rec[s.index])
		if id == "" {
			continue
		}
		if err := yield(NewInput(id, where)); err != nil {
			return err
		}
	}
}

// Describe names the source.
func (s *CSVSource) Describe() string {
	path := s.Path
	if path == "-" {
		path = "stdin"
	}
	return fmt.Sprintf("ids-file:%s#%s", path, s.Column)
}

// Close closes the file.
func (s *CSVSource) Close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
