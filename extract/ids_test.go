package extract

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type scanned struct {
	ID      string
	Line    int64
	Invalid bool
}

func scanAll(t *testing.T, r io.Reader) ([]scanned, error) {
	t.Helper()
	sc := NewIDScanner(r)
	var out []scanned
	for {
		in, ok := sc.Next()
		if !ok {
			return out, sc.Err()
		}
		if in.Err != nil {
			var ie *InvalidIDError
			require.ErrorAs(t, in.Err, &ie)
		}
		out = append(out, scanned{ID: in.ID, Line: sc.line, Invalid: in.Err != nil})
	}
}

func TestIDScanner(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 257)
	huge := strings.Repeat("y", 200_000)
	tests := []struct {
		name string
		in   string
		want []scanned
	}{
		{"empty", "", nil},
		{"one without newline", "abc", []scanned{{"abc", 1, false}}},
		{"crlf and surrounding whitespace trimmed", "  abc \r\n\tdef\t\r\n", []scanned{{"abc", 1, false}, {"def", 2, false}}},
		{"blank and comment lines skipped", "\n   \n# comment\n  # indented comment\nabc\n\r\n", []scanned{{"abc", 5, false}}},
		{"hash inside an id is kept", "a#b\n", []scanned{{"a#b", 1, false}}},
		{"duplicates are the run's job", "a\na\n", []scanned{{"a", 1, false}, {"a", 2, false}}},
		{"slash and unicode ids are valid", "a/b\n提案-1\n", []scanned{{"a/b", 1, false}, {"提案-1", 2, false}}},
		{"exactly 256 bytes valid", strings.Repeat("z", 256) + "\n", []scanned{{strings.Repeat("z", 256), 1, false}}},
		{"257 bytes invalid", long + "\nok\n", []scanned{{long, 1, true}, {"ok", 2, false}}},
		{"inner space invalid", "a b\n", []scanned{{"a b", 1, true}}},
		{"inner tab invalid", "a\tb\n", []scanned{{"a\tb", 1, true}}},
		{"control character invalid", "a\x01b\n", []scanned{{"a\x01b", 1, true}}},
		{"NUL invalid and removed from the record", "a\x00b\n", []scanned{{"ab", 1, true}}},
		{"invalid utf-8 replaced in the record", "a\xffb\n", []scanned{{"a\uFFFDb", 1, true}}},
		{"unicode space invalid", "a\u00a0b\n", []scanned{{"a\u00a0b", 1, true}}},
		{"huge line cut in the record", huge + "\nnext\n", []scanned{{strings.Repeat("y", maxKeptInvalid) + "…", 1, true}, {"next", 2, false}}},
		{"huge leading blanks then a valid id", strings.Repeat(" ", 100_000) + "abc\n", []scanned{{"abc", 1, false}}},
		{"valid id then huge trailing blanks", "abc" + strings.Repeat(" ", 100_000) + "\n", []scanned{{"abc", 1, false}}},
		{"huge comment skipped", "#" + huge + "\nabc", []scanned{{"abc", 2, false}}},
		{"a comma later is a CSV row, not an ID", "p-1\ncm123,Alex R.\n", []scanned{{"p-1", 1, false}, {"cm123,Alex R.", 2, true}}},
		{"quotes and semicolons invalid", "p-1\n\"p-2\"\np;3\n'p4'\n", []scanned{{"p-1", 1, false}, {`"p-2"`, 2, true}, {"p;3", 3, true}, {"'p4'", 4, true}}},
		{"a column name after the first line is an invalid-looking ID, not a header", "p-1\nproposal_id\n", []scanned{{"p-1", 1, false}, {"proposal_id", 2, false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := scanAll(t, strings.NewReader(tt.in))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			// Same answer when the reader hands out one byte at a time.
			got, err = scanAll(t, iotest.OneByteReader(strings.NewReader(tt.in)))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestIDScannerReadError(t *testing.T) {
	t.Parallel()
	r := io.MultiReader(strings.NewReader("a\nb\n"), iotest.ErrReader(errors.New("disk on fire")))
	got, err := scanAll(t, r)
	assert.Equal(t, []scanned{{"a", 1, false}, {"b", 2, false}}, got)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk on fire")
	assert.Contains(t, err.Error(), "line 3")
}

func FuzzIDScanner(f *testing.F) {
	for _, s := range []string{"", "a\nb", " a \r\n", "#x\n\n", "a b", "\xff", "a\x00", strings.Repeat("q", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sc := NewIDScanner(strings.NewReader(in))
		lines := int64(strings.Count(in, "\n") + 1)
		for {
			got, ok := sc.Next()
			if !ok {
				break
			}
			require.True(t, sc.line >= 1 && sc.line <= lines, "line %d out of range 1..%d", sc.line, lines)
			if got.Err == nil {
				require.NoError(t, ValidateID(got.ID), "returned invalid ID %q as valid", got.ID)
				require.True(t, got.ID != "" && got.ID[0] != '#', "returned %q as an ID", got.ID)
				require.Contains(t, in, got.ID, "the ID is in the input")
			} else {
				require.NotContains(t, got.ID, "\x00", "an invalid ID's record keeps no NUL")
			}
		}
		require.NoError(t, sc.Err())
	})
}

func TestRefusedID(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "a\uFFFDb", refusedID("a\x00\xffb"[0:1]+"\xff"+"b"))
	assert.Equal(t, "bad id", refusedID("bad id"))
	long := strings.Repeat("é", 600) // 1,200 bytes
	got := refusedID(long)
	assert.Equal(t, strings.Repeat("é", 512)+"…", got, "cut to 1 KiB on a rune boundary")
}

func TestIDScannerDropsAByteOrderMark(t *testing.T) {
	t.Parallel()
	got, err := scanAll(t, strings.NewReader("\uFEFFp-1\n\uFEFFp-2\n"))
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "p-1", got[0].ID, "the mark at the start is dropped")
	assert.Equal(t, "\uFEFFp-2", got[1].ID, "only the mark that starts the input is dropped")
}

func TestIDScannerRefusesACSVHeader(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"proposal_id\np-1\n", "# export of Monday\n\nproposal_id,name\ncm123,Alex R.\n", "\uFEFFid\np-1\n", "\"Proposal ID\"\np-1\n", "cm123,Alex R.\n"} {
		got, err := scanAll(t, strings.NewReader(in))
		var header *HeaderError
		require.ErrorAs(t, err, &header, "%q", in)
		assert.Empty(t, got, "nothing of a CSV file is an ID: %q", in)
	}
}

func TestCSVSource(t *testing.T) {
	t.Parallel()
	csvText := "name,proposal_id,score\r\n\"Alex, R.\",cm123,8\r\nSam,,7\r\nKim,\"cm 456\",9\r\nLee,cm789\r\n\"broken,cm000,1\n"
	src, err := OpenCSVSource("-", "Proposal_ID", strings.NewReader(csvText))
	require.NoError(t, err)
	defer src.Close()
	var got []Input
	require.NoError(t, src.IDs(t.Context(), func(in Input) error { got = append(got, in); return nil }))
	require.Len(t, got, 4)
	assert.Equal(t, Input{ID: "cm123", Where: "row 2"}, got[0], "a quoted comma is one field; the column is found whatever its case")
	assert.Equal(t, Invalid, got[1].Kind, "an inner space is invalid")
	assert.Equal(t, "row 4", got[1].Where)
	assert.Equal(t, Input{ID: "cm789", Where: "row 5"}, got[2], "a short row still has the column")
	assert.Equal(t, Invalid, got[3].Kind, "a row that is not CSV is refused, with its row")
	assert.Contains(t, got[3].Err.Error(), "not valid CSV")

	_, err = OpenCSVSource("-", "id", strings.NewReader("name,proposal_id\n"))
	var col *ColumnError
	require.ErrorAs(t, err, &col)
	assert.Contains(t, err.Error(), "name, proposal_id")
}
