// Package idquery is the --ids-query source: proposal IDs from the first
// column of an SQL query's rows, run read-only through the database room
// (load.Store is a ReadOnlyQuerier). It owns checking the query's shape and
// spilling its rows; it knows nothing of the API, and package extract,
// which does, imports no database driver.
package idquery

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/interview-export/interview-export/extract"
)

// ErrRefused is wrapped by every error of an ID query that the query
// itself causes (columns, types, a write, the timeout, an SQL error): the
// query must change, not the run's circumstances.
var ErrRefused = errors.New("the ID query was refused")

// RefusedError says why an ID query was refused. It wraps ErrRefused.
type RefusedError struct {
	Reason string
	// Timeout is true when the query ran past its statement timeout.
	Timeout bool
}

func (e *RefusedError) Error() string { return e.Reason }
func (e *RefusedError) Unwrap() error { return ErrRefused }

// ReadOnlyQuerier runs one SQL statement read-only, under a statement
// timeout, and hands its rows to fn; load.Store is one.
type ReadOnlyQuerier interface {
	QueryReadOnly(ctx context.Context, sql string, timeout time.Duration, fn func(pgx.Rows) error) error
}

// The column types an ID query may return: text-like or integer.
var queryColumnTypes = map[uint32]string{
	pgtype.TextOID: "text", pgtype.VarcharOID: "varchar", pgtype.BPCharOID: "char", pgtype.NameOID: "name",
	pgtype.Int8OID: "bigint", pgtype.Int4OID: "integer", pgtype.Int2OID: "smallint",
}

// Source yields the first column of an SQL query's rows as proposal
// IDs. Open runs the query at once and spills the IDs to an
// unlinked temporary file: the transaction stays short however slowly the
// export consumes them, and memory stays bounded however many rows there are.
type Source struct {
	f      *os.File
	rows   int64
	nulls  int64
	blanks int64
}

// Open runs query through db. It fails before any API call, with
// a *RefusedError, when the query does not return exactly one text or
// integer column, tries to write, or runs past timeout.
func Open(ctx context.Context, db ReadOnlyQuerier, query string, timeout time.Duration) (*Source, error) {
	f, err := os.CreateTemp("", "interview-export-ids-*")
	if err != nil {
		return nil, fmt.Errorf("ID query: temporary file: %w", err)
	}
	os.Remove(f.Name()) // gone with the process, whatever happens to it
	s := &Source{f: f}
	if err := db.QueryReadOnly(ctx, query, timeout, s.spill); err != nil {
		f.Close()
		return nil, queryError(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("ID query: rewind temporary file: %w", err)
	}
	return s, nil
}

func (s *Source) spill(rows pgx.Rows) error {
	fields := rows.FieldDescriptions()
	switch {
	case len(fields) == 0:
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return &RefusedError{Reason: "returns no column: it must be a SELECT of one column of proposal IDs"}
	case len(fields) > 1:
		return &RefusedError{Reason: fmt.Sprintf("returns %d columns: select only the proposal ID column", len(fields))}
	}
	if _, ok := queryColumnTypes[fields[0].DataTypeOID]; !ok {
		name := strconv.FormatUint(uint64(fields[0].DataTypeOID), 10)
		if t, ok := rows.Conn().TypeMap().TypeForOID(fields[0].DataTypeOID); ok {
			name = t.Name
		}
		return &RefusedError{Reason: fmt.Sprintf("returns a column %q of type %s: want text or an integer; cast it in the query (SELECT <the expression>::text …)",
			fields[0].Name, name)}
	}
	w := bufio.NewWriter(s.f)
	var lenBuf [binary.MaxVarintLen64]byte
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		var id string
		switch v := vals[0].(type) {
		case nil:
			s.nulls++
			continue
		case string:
			id = v
			if strings.TrimSpace(v) == "" { // as a blank line of a file
				s.blanks++
				continue
			}
		case int16, int32, int64:
			id = fmt.Sprint(v)
		default:
			return fmt.Errorf("unexpected value of type %T", v)
		}
		s.rows++
		n := binary.PutUvarint(lenBuf[:], uint64(len(id)))
		w.Write(lenBuf[:n])
		w.WriteString(id)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return w.Flush()
}

// queryError turns what PostgreSQL said about the query into a reason.
func queryError(err error) error {
	var refused *RefusedError
	if errors.As(err, &refused) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "25006":
			return &RefusedError{Reason: fmt.Sprintf("tried to write (%s); it runs read-only and must only SELECT: nothing was changed", pgErr.Message)}
		case "57014":
			return &RefusedError{Reason: "ran longer than its statement timeout: make it cheaper or raise the timeout", Timeout: true}
		}
		return &RefusedError{Reason: fmt.Sprintf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)}
	}
	return fmt.Errorf("ID query: %w", err)
}

// Rows is the number of IDs the query returned; nulls and blanks count the
// NULL and empty (or all-blank) values skipped.
func (s *Source) Rows() (rows, nulls, blanks int64) { return s.rows, s.nulls, s.blanks }

// IDs streams the spilled IDs, trimmed and validated like lines of a file.
func (s *Source) IDs(ctx context.Context, yield func(extract.Input) error) error {
	r := bufio.NewReader(s.f)
	for row := int64(1); ; row++ {
		n, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read spilled IDs: %w", err)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(r, buf); err != nil {
			return fmt.Errorf("read spilled IDs: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := yield(extract.NewInput(strings.TrimSpace(string(buf)), fmt.Sprintf("row %d", row))); err != nil {
			return err
		}
	}
}

// Describe names the source.
func (s *Source) Describe() string { return "ids-query" }

// Total is the number of non-NULL rows.
func (s *Source) Total() int64 { return s.rows }

// Close removes the spilled IDs.
func (s *Source) Close() error { return s.f.Close() }
