package extract

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
)

// The column types --ids-query may return: text-like or integer.
var queryColumnTypes = map[uint32]string{
	25: "text", 1043: "varchar", 1042: "char", 19: "name",
	20: "bigint", 23: "integer", 21: "smallint",
}

// QuerySource yields the first column of an SQL query's rows as proposal
// IDs. OpenQuerySource runs the query at once, in a read-only transaction
// with a statement timeout, and spills the IDs to an unlinked temporary file:
// the transaction stays short however slowly the export consumes them, and
// memory stays bounded however many rows there are.
type QuerySource struct {
	f     *os.File
	rows  int64
	nulls int64
}

// OpenQuerySource runs query against databaseURL. It fails before any API
// call when the query does not return exactly one text or integer column,
// tries to write, or runs past timeout.
func OpenQuerySource(ctx context.Context, databaseURL, query string, timeout time.Duration) (*QuerySource, error) {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("--ids-query: connect to the database: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	f, err := os.CreateTemp("", "interview-export-ids-*")
	if err != nil {
		return nil, fmt.Errorf("--ids-query: temporary file: %w", err)
	}
	os.Remove(f.Name()) // gone with the process, whatever happens to it
	s := &QuerySource{f: f}
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT set_config('statement_timeout', $1, true)", strconv.FormatInt(timeout.Milliseconds(), 10)); err != nil {
			return err
		}
		return s.spill(ctx, tx, query)
	})
	if err != nil {
		f.Close()
		return nil, queryError(err, timeout)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("--ids-query: rewind temporary file: %w", err)
	}
	return s, nil
}

func (s *QuerySource) spill(ctx context.Context, tx pgx.Tx, query string) error {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	switch {
	case len(fields) == 0:
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return errors.New("--ids-query returns no column: it must be a SELECT of one column of proposal IDs")
	case len(fields) > 1:
		return fmt.Errorf("--ids-query returns %d columns: select only the proposal ID column", len(fields))
	}
	if _, ok := queryColumnTypes[fields[0].DataTypeOID]; !ok {
		name := strconv.FormatUint(uint64(fields[0].DataTypeOID), 10)
		if t, ok := tx.Conn().TypeMap().TypeForOID(fields[0].DataTypeOID); ok {
			name = t.Name
		}
		return fmt.Errorf("--ids-query returns a column %q of type %s: want text or an integer (cast it, e.g. SELECT %s::text)",
			fields[0].Name, name, fields[0].Name)
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
		case int16, int32, int64:
			id = fmt.Sprint(v)
		default:
			return fmt.Errorf("--ids-query: unexpected value of type %T", v)
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

// queryError turns what PostgreSQL said about the query into advice.
func queryError(err error, timeout time.Duration) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "25006":
			return fmt.Errorf("--ids-query tried to write (%s); it runs read-only and must only SELECT: nothing was changed", pgErr.Message)
		case "57014":
			return fmt.Errorf("--ids-query ran longer than --ids-query-timeout %s: make it cheaper or raise the timeout", timeout)
		}
		return fmt.Errorf("--ids-query: %s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	if strings.HasPrefix(err.Error(), "--ids-query") {
		return err
	}
	return fmt.Errorf("--ids-query: %w", err)
}

// Rows is the number of IDs the query returned; NULLs counts the NULL
// values skipped.
func (s *QuerySource) Rows() (rows, nulls int64) { return s.rows, s.nulls }

// IDs streams the spilled IDs, trimmed and validated like lines of a file.
func (s *QuerySource) IDs(ctx context.Context, yield func(Input) error) error {
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
		in := Input{ID: strings.TrimSpace(string(buf)), Where: fmt.Sprintf("row %d", row)}
		if in.ID == "" {
			in.Err = &InvalidIDError{Reason: "empty"}
		} else if err := ValidateID(in.ID); err != nil {
			in.ID, in.Err = refusedID(in.ID), err
		}
		if err := yield(in); err != nil {
			return err
		}
	}
}

// Describe names the source.
func (s *QuerySource) Describe() string { return "ids-query" }

// Total is the number of non-NULL rows.
func (s *QuerySource) Total() int64 { return s.rows }

// Close removes the spilled IDs.
func (s *QuerySource) Close() error { return s.f.Close() }
