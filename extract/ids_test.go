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
